"""The docstring Examples of the main public functions run as tests (issue 14 item 6).

``read_curve``/``Curve``, ``Reducer.reduce``, ``fit_curve``/``fit_arrays``, ``contrast``/``xray_sld``,
``read_spectra``, ``group_frames``, ``decompose``, ``find_peaks``/``index_peaks`` and the progress helper.
Each module's examples run in one doctest session; a failure shows doctest's report (expected vs got).
"""

from __future__ import annotations

import doctest
import importlib
import io
from contextlib import redirect_stdout
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

#: modules whose Examples are run
DOCTEST_MODULES = [
    "saxs_mc",
    "saxs_mc._frozen",
    "saxs_mc._progress",
    "saxs_mc.io.curves",
    "saxs_mc.io.atomic",
    "saxs_mc.reduce.reducer",
    "saxs_mc.fit.mc",
    "saxs_mc.fit.resolution",
    "saxs_mc.models.materials",
    "saxs_mc.models.optical",
    "saxs_mc.optical.spectra",
    "saxs_mc.optical.analysis",
    "saxs_mc.series.grouping",
    "saxs_mc.families.decompose",
    "saxs_mc.peaks.detect",
    "saxs_mc.peaks.index",
]
#: examples that read the shipped sample data
NEEDS_SAMPLE_DATA = {"saxs_mc.reduce.reducer"}


@pytest.mark.parametrize("name", DOCTEST_MODULES)
def test_docstring_examples(name, tmp_path, monkeypatch):
    if name in NEEDS_SAMPLE_DATA and not (REPO / "sample_data" / "cdse_series").is_dir():
        pytest.skip("sample_data/cdse_series is not in this checkout")
    monkeypatch.chdir(tmp_path)  # examples that write files stay out of the repository
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    tests = [t for t in finder.find(module, name) if t.examples]
    assert tests, f"{name} has no docstring examples"
    out = io.StringIO()
    with redirect_stdout(out):
        for t in tests:
            runner.run(t, out=out.write)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, out.getvalue()
