"""NXcanSAS + ASCII output: values read back by SasView's loader (sasdata), provenance, atomic writes."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest
from sasdata.dataloader.loader import Loader

from saxs_mc.io.curves import read_curve
from saxs_mc.provenance import file_sha256
from saxs_mc.reduce import Reducer, ReductionSettings, write_reduced
from tests.reduce import conftest as C


@pytest.fixture(scope="module")
def reduced(sim):
    r = Reducer(poni=sim.poni, mask=sim.mask, settings=ReductionSettings(npt=80))
    s = r.reduce(sim.write_series("out_sample", C.sphere_truth, n=4, seed=51, bubble=1), title="CdSe nuc240C")
    b = r.reduce(sim.write_series("out_blank", C.flat_truth(C.BACKGROUND_1_CM), n=3, seed=52), title="blank_230C")
    return s.subtract(b)


def _load(path):
    data = Loader().load(str(path))
    assert len(data) == 1
    return data[0]


def test_nxcansas_round_trip_through_sasdata(tmp_path, reduced):
    out = write_reduced(tmp_path / "s.h5", reduced)
    d = _load(out)
    c = reduced.curve
    # sasdata converts Q to 1/A (from our @units = 1/nm) and keeps I in 1/cm
    assert d._xunit.replace("{", "").replace("}", "") in ("A^-1", "1/A")
    np.testing.assert_allclose(d.x, c.q / 10.0, rtol=1e-12)
    np.testing.assert_allclose(d.y, c.intensity, rtol=1e-12)
    np.testing.assert_allclose(d.dy, c.sigma, rtol=1e-12)
    assert d._yunit.replace("{", "").replace("}", "") in ("cm^-1", "1/cm")
    assert d.title == "CdSe nuc240C"
    assert d.sample.thickness == pytest.approx(C.THICKNESS_CM * 10)  # mm
    assert d.sample.transmission == pytest.approx(np.exp(-C.MU_T), rel=1e-6)
    assert d.source.wavelength == pytest.approx(C.WAVELENGTH_M * 1e10)
    assert d.detector[0].distance == pytest.approx(C.DIST_M * 1000)
    assert not d.errors
    # and our own reader agrees
    back = read_curve(out)
    np.testing.assert_allclose(back.q, c.q, rtol=1e-12)
    np.testing.assert_allclose(back.intensity, c.intensity, rtol=1e-12)


def test_q_in_inverse_angstrom_files(tmp_path, reduced):
    out = write_reduced(tmp_path / "a.h5", reduced, q_unit="1/A")
    d = _load(out)
    np.testing.assert_allclose(d.x, reduced.curve.q / 10.0, rtol=1e-12)
    # sasdata's ASCII reader assumes 1/A: a 1/A ASCII file is read with the right q
    a = _load(tmp_path / "a.dat")
    np.testing.assert_allclose(a.x, reduced.curve.q / 10.0, rtol=1e-9)
    np.testing.assert_allclose(a.y, reduced.curve.intensity, rtol=1e-9)
    np.testing.assert_allclose(a.dy, reduced.curve.sigma, rtol=1e-9)
    np.testing.assert_allclose(read_curve(tmp_path / "a.dat").q, reduced.curve.q, rtol=1e-9)


def test_ascii_has_units_and_reads_back(tmp_path, reduced):
    write_reduced(tmp_path / "s.h5", reduced)
    text = (tmp_path / "s.dat").read_text()
    assert "q_unit = 1/nm" in text and "intensity_unit = 1/cm" in text and "Q (1/nm)  I (1/cm)  Idev (1/cm)" in text
    c = read_curve(tmp_path / "s.dat")
    np.testing.assert_allclose(c.intensity, reduced.curve.intensity, rtol=1e-9)
    assert c.intensity_unit == "1/cm"


def test_provenance_group(tmp_path, reduced):
    out = write_reduced(tmp_path / "p.h5", reduced)
    with h5py.File(out, "r") as fh:
        ent = fh["sasentry01"]
        assert ent.attrs["canSAS_class"] == "SASentry" and ent["sasdata01"].attrs["signal"] == "I"
        assert ent["sasdata01/Q"].attrs["units"] == "1/nm" and ent["sasdata01/I"].attrs["units"] == "1/cm"
        prov = json.loads(ent["sasprocess01/provenance"][()])
    bad = [f for f in reduced.frames if f.rejected]
    assert prov["rejected_frames"] == [bad[0].name]
    first = prov["inputs"][0]
    assert first["sha256"] == file_sha256(first["file"])
    assert prov["poni"]["sha256"] == file_sha256(prov["poni"]["file"])
    assert prov["geometry"]["dist_m"] == pytest.approx(C.DIST_M)
    assert prov["settings"]["npt"] == 80 and prov["settings"]["header"]["transmitted_monitor"] == "Intensity1ShutCor"
    assert "pyFAI" in prov["versions"] and "fabio" in prov["versions"]
    assert prov["blank"]["title"] == "blank_230C" and len(prov["blank"]["inputs"]) == 3
    assert len(prov["frames"]) == 4 and prov["frames"][1]["rejected"] is True


def test_interrupted_write_leaves_no_file(tmp_path, reduced, monkeypatch):
    import saxs_mc.io.nxcansas as nx

    def boom(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(nx, "_write_instrument", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        write_reduced(tmp_path / "x.h5", reduced)
    assert list(tmp_path.iterdir()) == []


def test_write_reduced_rejects_wrong_type(tmp_path):
    with pytest.raises(TypeError, match="ReductionResult or Curve"):
        write_reduced(tmp_path / "x.h5", {"q": [1]})
