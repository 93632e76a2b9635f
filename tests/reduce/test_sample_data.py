"""The shipped simulated CdSe series (sample_data/cdse_series, from saxs_mc.simulate) reduces to its truth.

Uses only the files and the documented truth.json/_truth.dat schema, not the simulator's API.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from saxs_mc.reduce import Reducer, ReductionSettings

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "sample_data" / "cdse_series"
PONI = ROOT / "calibration" / "id02_sim.poni"
MASK = ROOT / "calibration" / "id02_sim_mask.edf"


@pytest.fixture(scope="module")
def truth():
    if not (DATA / "truth.json").is_file():
        pytest.fail(
            "sample_data/cdse_series/truth.json is missing; regenerate with 'saxs-mc simulate --series cdse-nucleation'"
        )
    return json.loads((DATA / "truth.json").read_text())


@pytest.fixture(scope="module")
def reducer():
    return Reducer(poni=PONI, mask=MASK, settings=ReductionSettings(npt=200, polarization_factor=0.99))


def test_the_faulty_frame_of_the_series_is_rejected_by_name(truth, reducer):
    (faulty,) = truth["faulty_frames"]
    cond = faulty.split("/")[0]
    res = reducer.reduce([str(DATA / cond / "*.edf")], title=cond)
    assert [Path(r).relative_to(DATA).as_posix() for r in res.rejected] == [faulty]
    for f in res.frames:
        tf = next(
            x for x in truth["conditions"][cond]["frames"] if x["file"] == Path(f.file).relative_to(DATA).as_posix()
        )
        assert f.transmission == pytest.approx(tf["transmission"], rel=1e-6)


def test_sample_minus_blank_is_the_true_particle_scattering(truth, reducer):
    blank = reducer.reduce([str(DATA / "blank_230C" / "*.edf")], title="blank_230C")
    for cond in ("nuc190C", "nuc260C"):
        sub = reducer.reduce([str(DATA / cond / "*.edf")], title=cond).subtract(blank).curve
        tr = np.loadtxt(DATA / cond / f"{cond}_truth.dat")
        # particles are smooth: interpolating the truth at the bin centres is accurate
        p = np.interp(sub.q, tr[:, 0], tr[:, 2])
        chi2 = np.mean(((sub.intensity - p) / sub.sigma) ** 2)
        assert 0.5 < chi2 < 1.6, (cond, chi2)


def test_eiger_hdf5_stack_equals_the_edf_frames(truth, reducer):
    nx = truth["nexus"]
    h5 = reducer.reduce([f"{DATA / nx['file']}::{nx['data_path']}"], title="h5")
    edf = reducer.reduce([str(DATA / nx["condition"] / "*.edf")], title="edf")
    np.testing.assert_allclose(h5.curve.intensity, edf.curve.intensity, rtol=1e-12)
    np.testing.assert_allclose(h5.curve.sigma, edf.curve.sigma, rtol=1e-12)
    assert [f.monitor for f in h5.frames] == [f.monitor for f in edf.frames]
    sub = reducer.reduce([f"{DATA / nx['file']}::{nx['data_path']}[1:]"], title="h5")
    assert [f.index for f in sub.frames] == [1, 2][: len(sub.frames)]


def test_water_calibration_of_the_shipped_series_is_unity(reducer):
    """The simulator renders on absolute scale (calibration factor 1): water must say so."""
    from saxs_mc.reduce import water_calibration

    w = reducer.reduce([str(DATA / "water" / "*.edf")], title="water").curve
    e = reducer.reduce([str(DATA / "empty_cell" / "*.edf")], title="empty_cell").curve
    cal = water_calibration(w, e)
    assert abs(cal.factor - 1.0) < 3 * cal.factor_sigma + 1e-3
    assert 0.5 < cal.chi2_r_flat < 1.6
