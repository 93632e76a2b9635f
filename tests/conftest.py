"""Shared test configuration."""

from __future__ import annotations

import os

# Keep numba and BLAS thread pools small and deterministic on the 2-core CI machine.
os.environ.setdefault("NUMBA_NUM_THREADS", "2")
