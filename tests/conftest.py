"""Shared test configuration."""

from __future__ import annotations

import os

# Keep numba and BLAS thread pools small and deterministic on the 2-core CI machine.
os.environ.setdefault("NUMBA_NUM_THREADS", "2")


import logging  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

#: real Pilatus 1M frames from the Elettra SAXS beamline, beside the project (never copied into it; see its README)
ELETTRA = Path(__file__).resolve().parents[1].parent / "shared" / "realdata" / "elettra_pilatus1m"
needs_elettra = pytest.mark.skipif(
    not ELETTRA.is_dir(), reason="real Elettra frames (../shared/realdata) are not available in this checkout"
)


@pytest.fixture(autouse=True)
def _restore_saxs_mc_logging():
    """Undo ``saxs_mc.cli.setup_logging`` after each test.

    ``main()`` binds a handler to the sys.stderr of that moment (pytest's capture file); a later test
    in the same worker that logs would write to the closed file and print '--- Logging error ---' into
    its own captured stderr (seen in tests/reduce/test_reducer.py::test_progress_bar_only_on_a_terminal).
    """
    logger = logging.getLogger("saxs_mc")
    saved = (logger.handlers[:], logger.level, logger.propagate)
    yield
    logger.handlers[:], logger.level, logger.propagate = saved[0], saved[1], saved[2]


#: long validation suites (known truth recovered from simulated or shipped data): marked ``slow``.  They are part
#: of the default run; ``-m "not slow"`` skips them for a quick edit-test loop.
SLOW_VALIDATION_MODULES = (
    "tests/fit/test_validation.py",
    "tests/fit/test_shipped_data.py",
    "tests/families/test_recovery.py",
    "tests/pipeline/test_end_to_end.py",
    "tests/reduce/test_sample_data.py",
    "tests/simulate/test_growth_recovery.py",
)


def pytest_itemcollected(item):
    """Mark the slow validation suites (listed above) as each item is collected."""
    if item.nodeid.split("::", 1)[0] in SLOW_VALIDATION_MODULES:
        item.add_marker(pytest.mark.slow)
