"""Type stub of :mod:`saxs_mc.series`: the public names, loaded lazily at run time (``lazy_loader.attach_stub``)."""

from .grouping import (
    FrameStack as FrameStack,
)
from .grouping import (
    Grouping as Grouping,
)
from .grouping import (
    GroupingError as GroupingError,
)
from .grouping import (
    StackGrouping as StackGrouping,
)
from .grouping import (
    TimePoint as TimePoint,
)
from .grouping import (
    group_frames as group_frames,
)
from .grouping import (
    open_stack as open_stack,
)
from .grouping import (
    read_timestamps as read_timestamps,
)

__all__ = [
    "FrameStack",
    "Grouping",
    "GroupingError",
    "StackGrouping",
    "TimePoint",
    "group_frames",
    "open_stack",
    "read_timestamps",
]
