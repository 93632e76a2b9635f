"""Every bad input gets its specific, actionable error."""

from __future__ import annotations

import numpy as np
import pytest
from fabio.edfimage import EdfImage

from saxs_mc.io.frames import FrameError
from saxs_mc.reduce import HeaderMap, Reducer, ReductionSettings
from tests.reduce import conftest as C


@pytest.fixture(scope="module")
def good(sim):
    return sim.write_series("good", C.sphere_truth, n=3, seed=41)


@pytest.fixture(scope="module")
def reducer(sim):
    return Reducer(poni=sim.poni, mask=sim.mask, settings=ReductionSettings(npt=60))


def _write(path, data, **hkw):
    h = C.header(1e9, 2e9, title="x")
    h.update(hkw.pop("extra", {}))
    for k in hkw.pop("drop", []):
        h.pop(k)
    EdfImage(data=data, header=h).write(str(path))
    return path


def test_truncated_frame(tmp_path, reducer, good):
    raw = good[0].read_bytes()
    p = tmp_path / "trunc.edf"
    p.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(FrameError, match=r"trunc\.edf: truncated file.*re-copy or exclude"):
        reducer.reduce([p], title="t")


def test_corrupt_frame(tmp_path, reducer):
    p = tmp_path / "corrupt.edf"
    p.write_bytes(b"this is not an image" * 20)
    with pytest.raises(FrameError, match=r"corrupt\.edf: fabio cannot read.*truncated or corrupt"):
        reducer.reduce([p], title="c")


def test_bad_frame_can_be_rejected_instead(tmp_path, sim, good):
    p = tmp_path / "corrupt.edf"
    p.write_bytes(b"garbage" * 50)
    r = Reducer(poni=sim.poni, mask=sim.mask, settings=ReductionSettings(npt=60, bad_frames="reject"))
    res = r.reduce([good[0], p, good[1]], title="mixed")
    assert res.rejected == (str(p),) and res.n_accepted == 2
    assert "unreadable" in res.frames[1].reason


def test_missing_monitor_key(tmp_path, reducer):
    p = _write(tmp_path / "nomon.edf", np.ones(C.SHAPE, np.int32), drop=["Intensity1ShutCor"])
    with pytest.raises(
        ValueError,
        match=r"nomon\.edf: header key 'Intensity1ShutCor' \(transmitted monitor\) is missing; "
        r"map .*transmitted_monitor",
    ):
        reducer.reduce([p], title="m")


def test_missing_incident_monitor_is_an_error_not_a_silent_loss_of_transmission(tmp_path, reducer, sim):
    data = np.random.default_rng(2).poisson(100, C.SHAPE).astype(np.int32)
    p = _write(tmp_path / "noi0.edf", data, drop=["Intensity0ShutCor"])
    with pytest.raises(
        ValueError,
        match=r"noi0\.edf: header key 'Intensity0ShutCor' \(incident monitor.*is missing; "
        r"map .*incident_monitor=.*opt out explicitly with HeaderMap\(incident_monitor=None\)",
    ):
        reducer.reduce([p], title="m")
    # the explicit opt-out still works: no transmission, everything else reduced
    hm = HeaderMap.from_pairs({"incident_monitor": "None"})
    res = Reducer(poni=sim.poni, mask=sim.mask, settings=ReductionSettings(npt=60, header=hm)).reduce([p], title="m")
    assert res.frames[0].transmission is None and res.frames[0].monitor == 1e9


def test_monitor_key_can_be_mapped(tmp_path, sim):
    data = np.random.default_rng(1).poisson(100, C.SHAPE).astype(np.int32)
    p = _write(tmp_path / "mon2.edf", data, drop=["Intensity1ShutCor"], extra={"mon2": "1e9"})
    hm = HeaderMap.from_pairs({"transmitted_monitor": "mon2"})
    res = Reducer(poni=sim.poni, mask=sim.mask, settings=ReductionSettings(npt=60, header=hm)).reduce([p], title="m")
    assert res.frames[0].monitor == 1e9


def test_non_numeric_monitor(tmp_path, reducer):
    p = _write(tmp_path / "txt.edf", np.ones(C.SHAPE, np.int32), extra={"Intensity1ShutCor": "n/a"})
    with pytest.raises(ValueError, match=r"'Intensity1ShutCor' .* = 'n/a' is not a number"):
        reducer.reduce([p], title="m")


def test_shape_mismatch_with_poni(tmp_path, reducer, sim):
    p = _write(tmp_path / "small.edf", np.ones((100, 100), np.int32))
    with pytest.raises(
        ValueError,
        match=r"small\.edf: frame shape \(100, 100\) does not match the detector shape "
        r"\(150, 180\) of the PONI file .*sim\.poni",
    ):
        reducer.reduce([p], title="s")


def test_all_masked_frame(tmp_path, reducer):
    p = _write(tmp_path / "dummy.edf", np.full(C.SHAPE, -10, np.int32))  # every pixel == Dummy
    with pytest.raises(ValueError, match=r"dummy\.edf: every pixel is masked.*Dummy=-10"):
        reducer.reduce([p], title="d")


def test_nan_pixels(tmp_path, sim, reducer):
    data = np.full(C.SHAPE, 100.0, np.float32)
    data[70, 150] = np.nan
    p = _write(tmp_path / "nan.edf", data)
    with pytest.raises(
        ValueError, match=r"nan\.edf: 1 unmasked pixel\(s\) are NaN/inf \(first at row, col \(70, 150\)\).*nan_policy"
    ):
        reducer.reduce([p], title="n")
    # NaNs in masked pixels are fine; and nan_policy='mask' ignores them
    data2 = data.copy()
    data2[70, 150] = 100.0
    data2[sim.mask_arr] = np.nan
    reducer.reduce([_write(tmp_path / "nan_masked.edf", data2)], title="ok")
    r = Reducer(poni=sim.poni, mask=sim.mask, settings=ReductionSettings(npt=60, nan_policy="mask"))
    assert r.reduce([p], title="n").curve.n_q > 0


def test_missing_thickness(tmp_path, sim):
    p = _write(tmp_path / "thick.edf", np.ones(C.SHAPE, np.int32), drop=["SampleThickness_cm"])
    with pytest.raises(ValueError, match=r"thick\.edf: sample thickness unknown.*--thickness-cm"):
        Reducer(poni=sim.poni, settings=ReductionSettings(npt=60)).reduce([p], title="t")


def test_missing_geometry_key_without_poni(tmp_path):
    p = _write(tmp_path / "nogeo.edf", np.ones(C.SHAPE, np.int32), drop=["SampleDistance"])
    with pytest.raises(ValueError, match=r"nogeo\.edf: header key 'SampleDistance'.*missing.*PONI"):
        Reducer(poni=None, settings=ReductionSettings(npt=60)).reduce([p], title="g")


def test_geometry_change_within_a_series(tmp_path, good):
    p = _write(tmp_path / "moved.edf", np.ones(C.SHAPE, np.int32), extra={"Center_1": "60.0"})
    with pytest.raises(ValueError, match=r"moved\.edf: header geometry .* differs from the first frame"):
        Reducer(poni=None, settings=ReductionSettings(npt=60)).reduce([good[0], p], title="g")


def test_missing_files_and_globs(tmp_path, reducer):
    with pytest.raises(FrameError, match="does not exist"):
        reducer.reduce([tmp_path / "nope.edf"], title="x")
    with pytest.raises(FrameError, match="glob pattern matches no file"):
        reducer.reduce([str(tmp_path / "*.cbf")], title="x")


def test_bad_poni_and_mask(tmp_path, sim):
    with pytest.raises(ValueError, match="PONI file .* does not exist"):
        Reducer(poni=tmp_path / "missing.poni")
    bad = tmp_path / "bad.poni"
    bad.write_text("Distance: banana\n")
    with pytest.raises(ValueError, match="bad.poni"):
        Reducer(poni=bad)
    m = tmp_path / "m.npy"
    np.save(m, np.zeros((10, 10)))
    with pytest.raises(ValueError, match=r"mask shape \(10, 10\) differs from the detector shape \(150, 180\)"):
        Reducer(poni=sim.poni, mask=m)
    np.save(m, np.ones(C.SHAPE))
    with pytest.raises(ValueError, match="every pixel is masked"):
        Reducer(poni=sim.poni, mask=m)


def test_shutter_fault_frame_is_rejected_not_fatal(tmp_path, sim, good):
    data = np.zeros(C.SHAPE, np.int32)
    p = _write(tmp_path / "shutter.edf", data, extra={"Intensity1ShutCor": "0"})
    res = Reducer(poni=sim.poni, mask=sim.mask, settings=ReductionSettings(npt=60)).reduce([*good, p], title="s")
    assert res.rejected == (str(p),) and "shutter" in res.frames[-1].reason


def test_settings_validation():
    with pytest.raises(ValueError, match="npt"):
        ReductionSettings(npt=1)
    with pytest.raises(ValueError, match="q_unit"):
        ReductionSettings(q_unit="1/m")
    with pytest.raises(ValueError, match="thickness_cm"):
        ReductionSettings(thickness_cm=-1)
    with pytest.raises(ValueError, match="unknown field"):
        HeaderMap.from_pairs({"monitor": "x"})
    with pytest.raises(TypeError, match="title"):
        Reducer(settings=ReductionSettings()).reduce(["x"], title=3)  # type: ignore[arg-type]
