"""NXcanSAS + ASCII output: values read back by SasView's loader (sasdata), provenance, atomic writes."""

from __future__ import annotations

import dataclasses
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
    assert text.splitlines()[0] == "Q (1/A),I (1/cm),Idev (1/cm)"
    c = read_curve(tmp_path / "s.dat")
    np.testing.assert_allclose(c.q, reduced.curve.q, rtol=1e-9)
    np.testing.assert_allclose(c.intensity, reduced.curve.intensity, rtol=1e-9)


def test_ascii_loads_in_pandas_and_sasview_with_defaults(tmp_path, reduced):
    """Issue 14 item 7: default pandas.read_csv and SasView's loader read the .dat with the right q scale."""
    import pandas as pd
    from sasdata.dataloader.loader import Loader

    write_reduced(tmp_path / "s.h5", reduced)
    df = pd.read_csv(tmp_path / "s.dat")
    assert list(df.columns) == ["Q (1/A)", "I (1/cm)", "Idev (1/cm)"]
    np.testing.assert_allclose(df["Q (1/A)"], reduced.curve.q / 10.0, rtol=1e-9)
    np.testing.assert_allclose(df["I (1/cm)"], reduced.curve.intensity, rtol=1e-9)
    (d,) = Loader().load(str(tmp_path / "s.dat"))
    assert d.x_unit in ("1/A", "A^{-1}") or "A" in str(d.x_unit)
    # sasdata works in 1/A: the q of a Guinier radius Rg=3 nm (qRg = 1) is 1/30 A^-1 in both
    np.testing.assert_allclose(d.x, reduced.curve.q / 10.0, rtol=1e-9)
    np.testing.assert_allclose(d.y, reduced.curve.intensity, rtol=1e-9)
    np.testing.assert_allclose(d.dy, reduced.curve.sigma, rtol=1e-9)


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


def _same_curve(a, b, rtol=0.0):
    np.testing.assert_allclose(a.q, b.q, rtol=rtol)
    np.testing.assert_allclose(a.intensity, b.intensity, rtol=rtol)
    np.testing.assert_allclose(a.sigma, b.sigma, rtol=rtol)
    assert (a.intensity_unit, a.title) == (b.intensity_unit, b.title)


def _same_result(back, res, rtol=0.0):
    from saxs_mc.io.atomic import jsonable

    _same_curve(back.curve, res.curve, rtol)
    assert back.curve.metadata == jsonable(res.curve.metadata)
    assert back.frames == res.frames and back.rejected == res.rejected
    assert back.settings == res.settings and back.geometry == jsonable(res.geometry)
    assert (back.inputs, back.poni, back.mask) == (res.inputs, res.poni, res.mask)
    sb, sr = back.summary(), res.summary()
    np.testing.assert_allclose(sb.pop("q_range_nm"), sr.pop("q_range_nm"), rtol=rtol)
    assert back.n_accepted == res.n_accepted and sb == sr


@pytest.mark.parametrize("q_unit", [None, "1/A"])
def test_read_reduced_rebuilds_the_result(tmp_path, reduced, q_unit):
    from saxs_mc.reduce import read_reduced

    rtol = 0.0 if q_unit is None else 1e-14  # 1/A files: q divided and multiplied by 10
    out = write_reduced(tmp_path / "s.h5", reduced, q_unit=q_unit, provenance={"extra": 1})
    back = read_reduced(out)
    _same_result(back, reduced, rtol)
    assert back.blank is not None and back.blank_scale == reduced.blank_scale
    _same_result(back.blank, reduced.blank)
    assert reduced.rejected and back.rejected == reduced.rejected  # the bubble frame stays named
    # the rebuilt sample and blank redo the subtraction exactly
    unsub = read_reduced(
        write_reduced(tmp_path / "raw.h5", dataclasses.replace(reduced, curve=_unsubtracted(reduced), blank=None))
    )
    again = unsub.subtract(back.blank, scale=back.blank_scale)
    np.testing.assert_allclose(again.curve.intensity, reduced.curve.intensity, rtol=1e-12, atol=0)
    np.testing.assert_allclose(again.curve.sigma, reduced.curve.sigma, rtol=1e-12)


def _unsubtracted(res):
    """Sample curve before blank subtraction (I + scale * I_blank, sigma from quadrature)."""
    b = res.blank.curve
    c = res.curve
    meta = {k: v for k, v in c.metadata.items() if k not in ("negative_points", "blank")}
    return dataclasses.replace(
        c,
        intensity=c.intensity + res.blank_scale * b.intensity,
        sigma=np.sqrt(np.maximum(c.sigma**2 - (res.blank_scale * b.sigma) ** 2, 0.0)),
        metadata=meta,
    )


def test_read_reduced_refuses_a_bare_curve_file(tmp_path, reduced):
    from saxs_mc.reduce import read_reduced

    out = write_reduced(tmp_path / "c.h5", reduced.curve)
    with pytest.raises(ValueError, match=r"c\.h5: the provenance lacks .*read_curve"):
        read_reduced(out)
    with pytest.raises(ValueError, match="does not exist"):
        read_reduced(tmp_path / "nope.h5")
