"""saxs_mc.pipeline: batch pipelines (``saxs-mc run CONFIG.toml``) and series reports.

::

    from saxs_mc.pipeline import load_config, run_pipeline
    res = run_pipeline(load_config("pipelines/cdse_nucleation_series.toml"))
    print(res.report(), res.report_path)

Modules: :mod:`~saxs_mc.pipeline.config` (typed TOML config), :mod:`~saxs_mc.pipeline.run`
(planning, content-hash cache, serial / process / dask execution), :mod:`~saxs_mc.pipeline.steps`
(the physics steps), :mod:`~saxs_mc.pipeline.readout` (quantized vs continuous growth rule),
:mod:`~saxs_mc.pipeline.report` (HTML report, summary.csv / summary.json).
"""

from saxs_mc.pipeline.config import ConfigError, PipelineConfig, load_config
from saxs_mc.pipeline.run import OutputLockedError, RunResult, StepOutcome, plan_steps, run_pipeline

__all__ = ["ConfigError", "PipelineConfig", "load_config", "run_pipeline", "plan_steps", "RunResult",
           "StepOutcome", "OutputLockedError"]
