"""EDF frames and the NeXus/HDF5 stack read back through fabio and h5py (+hdf5plugin)."""

from __future__ import annotations

import fabio
import h5py
import hdf5plugin  # noqa: F401  (registers the bitshuffle filter for h5py)
import numpy as np
import pytest

from saxs_mc.simulate import NEXUS_DATA_PATH, read_nexus_stack, render_frame_truth, write_edf, write_nexus_stack
from saxs_mc.simulate.geometry import load_geometry, read_mask, write_calibration

ID02_KEYS = (
    "Dummy",
    "DDummy",
    "Center_1",
    "Center_2",
    "PSize_1",
    "PSize_2",
    "SampleDistance",
    "WaveLength",
    "ExposureTime",
    "Intensity0UnCor",
    "Intensity0ShutCor",
    "Intensity1UnCor",
    "Intensity1ShutCor",
    "Title",
    "SampleTemperature_C",
    "NucleationTemperature_C",
    "GrowthTemperature_C",
    "ReactionTime_s",
    "SampleThickness_cm",
)


@pytest.fixture(scope="module")
def frames(geom, sample_condition):
    return [render_frame_truth(sample_condition, geom, i, 100 + i) for i in range(3)]


def test_edf_roundtrip_with_id02_header(tmp_path, geom, frames):
    data, header, mon = frames[0]
    path = write_edf(tmp_path / "s_00000.edf", data, header)
    img = fabio.open(str(path))
    np.testing.assert_array_equal(img.data, data)
    assert img.data.dtype == np.int32
    for key in ID02_KEYS:
        assert key in img.header, key
    h = img.header
    assert float(h["Intensity1ShutCor"]) == mon.i1 and float(h["Intensity0ShutCor"]) == mon.i0
    assert float(h["Intensity1UnCor"]) > float(h["Intensity1ShutCor"])  # UnCor counts the shutter overhead too
    # ID02 geometry: poni1 = Center_2 * PSize_2, poni2 = Center_1 * PSize_1 (no tilt here)
    ai = geom.ai
    assert float(h["Center_2"]) * float(h["PSize_2"]) == pytest.approx(ai.poni1, rel=1e-9)
    assert float(h["Center_1"]) * float(h["PSize_1"]) == pytest.approx(ai.poni2, rel=1e-9)
    assert float(h["SampleDistance"]) == pytest.approx(ai.dist, rel=1e-9)
    assert float(h["WaveLength"]) == pytest.approx(ai.wavelength, rel=1e-9)
    assert float(h["NucleationTemperature_C"]) == 250.0 and float(h["GrowthTemperature_C"]) == 230.0
    # dummy pixels are exactly the module gaps
    dummy, ddummy = float(h["Dummy"]), float(h["DDummy"])
    np.testing.assert_array_equal(np.abs(img.data - dummy) <= ddummy, geom.gaps)


def test_nexus_stack_equals_edf_content(tmp_path, geom, frames):
    paths = [write_edf(tmp_path / f"s_{i:05d}.edf", d, h) for i, (d, h, _) in enumerate(frames)]
    nx = write_nexus_stack(
        tmp_path / "s.h5",
        [f[0] for f in frames],
        [f[1] for f in frames],
        mask=geom.mask,
        gaps=geom.gaps,
        poni_text="x",
        sample_name="s",
    )
    with h5py.File(nx, "r") as f:
        ds = f[NEXUS_DATA_PATH]
        assert ds.shape == (3, *geom.shape)
        # bitshuffle filter id 32008, LZ4 inside
        plist = ds.id.get_create_plist()
        assert [plist.get_filter(k)[0] for k in range(plist.get_nfilters())] == [32008]
        stack = ds[()]
        assert f["/entry"].attrs["NX_class"] == "NXentry"
        assert f["/entry/instrument/detector"].attrs["NX_class"] == "NXdetector"
        np.testing.assert_array_equal(f["/entry/data/data"][()], stack)
        i1 = f["/entry/monitor_i1/data"][()]
        pm = f["/entry/instrument/detector/pixel_mask"][()]
        np.testing.assert_array_equal(pm != 0, geom.mask)
        np.testing.assert_array_equal(pm == 1, geom.gaps)
    for k, p in enumerate(paths):
        img = fabio.open(str(p))
        np.testing.assert_array_equal(stack[k], img.data)
        assert i1[k] == float(img.header["Intensity1ShutCor"])
    data, headers = read_nexus_stack(nx)
    np.testing.assert_array_equal(data, stack)
    for k, (_, h, _) in enumerate(frames):
        assert set(headers[k]) == set(h)
        for key, val in h.items():
            try:
                assert float(headers[k][key]) == pytest.approx(float(val), rel=1e-12)
            except ValueError:
                assert headers[k][key] == val


def test_nexus_stack_is_compressed(tmp_path, geom, frames):
    nx = write_nexus_stack(tmp_path / "s.h5", [f[0] for f in frames], [f[1] for f in frames])
    raw = 3 * frames[0][0].nbytes
    assert nx.stat().st_size < 0.6 * raw


def test_calibration_files_read_back(tmp_path, setup):
    ai, mask, _ = setup
    poni, mpath = write_calibration(tmp_path)
    geom = load_geometry(poni, mpath)
    assert geom.shape == mask.shape
    np.testing.assert_array_equal(read_mask(mpath), mask != 0)
    assert geom.ai.dist == pytest.approx(ai.dist) and geom.ai.poni1 == pytest.approx(ai.poni1)
    q_lo, q_hi = geom.q_range_nm()
    # the agreed coverage: below the broad maximum (0.2-0.3) and beyond the 3.69 1/nm peak
    assert 0.08 < q_lo < 0.15 and q_hi > 6.5
    # byte-identical regeneration (no date stamp in the PONI)
    poni2, mpath2 = write_calibration(tmp_path / "again")
    assert poni.read_bytes() == poni2.read_bytes() and mpath.read_bytes() == mpath2.read_bytes()
