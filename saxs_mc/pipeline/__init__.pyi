"""Type stub of :mod:`saxs_mc.pipeline`: the public names, loaded lazily at run time (``lazy_loader.attach_stub``)."""

from .config import (
    ConfigError as ConfigError,
)
from .config import (
    PipelineConfig as PipelineConfig,
)
from .config import (
    load_config as load_config,
)
from .run import (
    OutputLockedError as OutputLockedError,
)
from .run import (
    RunResult as RunResult,
)
from .run import (
    StepOutcome as StepOutcome,
)
from .run import (
    plan_steps as plan_steps,
)
from .run import (
    run_pipeline as run_pipeline,
)

__all__ = [
    "ConfigError",
    "PipelineConfig",
    "load_config",
    "run_pipeline",
    "plan_steps",
    "RunResult",
    "StepOutcome",
    "OutputLockedError",
]
