"""PeakResult for notebooks and reports: short repr, report(), JSON-safe summary(), plot() returning axes."""

from __future__ import annotations

import dataclasses
import itertools
import json

import numpy as np
import pytest

from saxs_mc.peaks import find_peaks
from saxs_mc.peaks.output import LABEL_GID
from tests.peaks.simulated import lamellar_curve, noisy, precursor_background, q_grid

pytest.importorskip("matplotlib")


@pytest.fixture(scope="module")
def lamellar():
    return find_peaks(*lamellar_curve(seed=1), title="blank_025C")


@pytest.fixture(scope="module")
def featureless():
    q = q_grid(400)
    return find_peaks(q, *noisy(q, precursor_background(q), seed=5), title="blank_100C")


def test_short_repr(lamellar, featureless):
    r = repr(lamellar)
    assert len(r) < 200 and "\n" not in r
    assert r.startswith("PeakResult('blank_025C': 2 Bragg peaks at q = 1.840, 3.690 1/nm; lamellar d = 3.41")
    assert "700 points" in r
    assert repr(featureless).startswith("PeakResult('blank_100C': no Bragg peaks")
    assert len(repr(lamellar.peaks[0])) < 160 and "d=3.41" in repr(lamellar.peaks[0])


def test_report_and_summary(lamellar):
    text = lamellar.report()
    assert "q = 1.840" in text and "(001)" in text and "phase: lamellar" in text
    doc = lamellar.summary()
    json.dumps(doc, allow_nan=False)
    assert doc["phase"]["max_score"] == 4.0 and doc["phase"]["hint"] is None
    assert [round(p["q_nm^-1"], 2) for p in doc["peaks"]] == [1.84, 3.69]


def test_plot_returns_axes_with_d_labels(lamellar):
    from matplotlib.axes import Axes

    ax = lamellar.plot()
    assert isinstance(ax, Axes)
    labels = [t.get_text() for t in ax.texts if t.get_gid() == LABEL_GID]
    assert labels == ["(001) d=3.41 nm", "(002) d=1.70 nm"]
    assert "lamellar" in ax.get_title()
    assert not any("no Bragg peaks" in t.get_text() for t in ax.texts)


def test_plot_says_no_peaks_found(featureless):
    ax = featureless.plot()
    assert any(t.get_text().startswith("no Bragg peaks found") for t in ax.texts)
    assert not [t for t in ax.texts if t.get_gid() == LABEL_GID]


def test_plot_into_given_axes(lamellar):
    from matplotlib.figure import Figure

    fig = Figure()
    ax0, ax1 = fig.subplots(1, 2)
    assert lamellar.plot(ax=ax1) is ax1 and not ax0.lines


def test_close_peak_labels_do_not_overlap(lamellar):
    """Six Bragg peaks within 0.25 1/nm: their d labels are stacked, not overlapping."""
    p0 = lamellar.peaks[0]
    close = tuple(
        dataclasses.replace(p0, q_nm=q, d_nm=2 * np.pi / q, order="") for q in (1.70, 1.74, 1.78, 1.82, 1.88, 1.95)
    )
    pk = dataclasses.replace(lamellar, peaks=close)
    ax = pk.plot()
    fig = ax.figure
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in ax.texts if t.get_gid() == LABEL_GID]
    assert len(boxes) == 6
    for a, b in itertools.combinations(boxes, 2):
        assert not a.overlaps(b)
    axes_box = ax.get_window_extent(renderer)
    assert all(axes_box.y0 <= b.y0 and b.y1 <= axes_box.y1 + 1 for b in boxes)  # inside the axes


@pytest.mark.parametrize("module", ["saxs_mc.peaks.detect", "saxs_mc.peaks.index"])
def test_docstring_examples(module):
    import doctest
    import importlib

    res = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert res.attempted > 0 and res.failed == 0
