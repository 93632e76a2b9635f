"""Live mode: ``saxs-mc watch`` follows frame globs, uses only complete frames and keeps the
pipeline outputs (same cache as ``saxs-mc run``) and a self-refreshing live page up to date."""

from .complete import Check, check_file, edf_layout, hdf5_committed_frames
from .session import WatchSession
from .settings import WatchSettings

__all__ = ["Check", "WatchSession", "WatchSettings", "check_file", "edf_layout", "hdf5_committed_frames"]
