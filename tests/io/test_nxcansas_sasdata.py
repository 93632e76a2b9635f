"""saxs_mc.io.nxcansas files as SasView's loader (sasdata) reads them."""

from __future__ import annotations

import numpy as np
import pytest
from sasdata.dataloader.loader import Loader

from saxs_mc.io.curves import Curve
from saxs_mc.io.nxcansas import read_nxcansas, write_nxcansas


def _curve(unit="1/cm"):
    q = np.geomspace(0.1, 7.0, 60)
    i = 2.0 / (1 + (q * 1.5) ** 2) ** 2 + 0.01
    return Curve(q, i, 0.02 * i, unit, "test curve", {"temperature_C": 230.0})


@pytest.mark.parametrize("q_unit, factor", [("1/nm", 0.1), ("1/A", 0.1)])
def test_sasdata_reads_q_i_idev_with_units(tmp_path, q_unit, factor):
    c = _curve()
    p = write_nxcansas(
        tmp_path / "c.h5",
        c,
        provenance={"x": 1},
        q_unit=q_unit,
        sample={"name": "s", "thickness_cm": 0.15, "transmission": 0.68, "temperature_C": 230.0},
        instrument={"wavelength_m": 1e-10, "sdd_m": 0.55, "pixel_size_m": (172e-6, 172e-6)},
    )
    (d,) = Loader().load(str(p))
    np.testing.assert_allclose(d.x, c.q * factor, rtol=1e-12)  # sasdata works in 1/A
    np.testing.assert_allclose(d.y, c.intensity, rtol=1e-12)
    np.testing.assert_allclose(d.dy, c.sigma, rtol=1e-12)
    assert d.title == "test curve"
    assert d.sample.thickness == pytest.approx(1.5) and d.sample.transmission == pytest.approx(0.68)
    assert d.sample.temperature == pytest.approx(230.0)
    assert d.source.wavelength == pytest.approx(1.0)
    assert d.detector[0].distance == pytest.approx(550.0)
    back = read_nxcansas(p)
    np.testing.assert_allclose(back.q, c.q, rtol=1e-12)
    assert back.metadata["temperature_C"] == 230.0


def test_bad_q_unit_is_refused(tmp_path):
    with pytest.raises(ValueError, match="q unit"):
        write_nxcansas(tmp_path / "c.h5", _curve(), q_unit="1/m")
    assert not (tmp_path / "c.h5").exists()


def _edit(p, **attrs):
    import h5py

    with h5py.File(p, "r+") as fh:
        for dname, value in attrs.items():
            ds = fh[f"sasentry01/sasdata01/{dname}"]
            if value is None:
                del ds.attrs["units"]
            else:
                ds.attrs["units"] = value


def test_q_without_units_is_an_error_unless_the_unit_is_given(tmp_path):
    from saxs_mc.io.curves import read_curve

    c = _curve()
    p = write_nxcansas(tmp_path / "c.h5", c, q_unit="1/A")
    _edit(p, Q=None)
    with pytest.raises(ValueError, match=r"c\.h5:/sasentry01/sasdata01/Q: the Q dataset has no @units.*q_unit="):
        read_nxcansas(p)
    np.testing.assert_allclose(read_curve(p, q_unit="1/A").q, c.q, rtol=1e-12)


@pytest.mark.parametrize("unit", ["1/m", "m^-1"])
def test_intensity_in_inverse_metre_is_converted_to_inverse_cm(tmp_path, unit):
    c = _curve()
    p = write_nxcansas(tmp_path / "c.h5", c)
    _edit(p, I=unit)
    back = read_nxcansas(p)
    assert back.intensity_unit == "1/cm"
    np.testing.assert_allclose(back.intensity, c.intensity * 0.01, rtol=1e-12)  # 1 m^-1 = 0.01 cm^-1
    np.testing.assert_allclose(back.sigma, c.sigma * 0.01, rtol=1e-12)


def test_unknown_intensity_unit_is_arbitrary_with_a_warning(tmp_path, caplog):
    c = _curve()
    p = write_nxcansas(tmp_path / "c.h5", c)
    _edit(p, I="barn/sr")
    with caplog.at_level("WARNING", logger="saxs_mc.io.nxcansas"):
        back = read_nxcansas(p)
    assert back.intensity_unit == "arbitrary"
    np.testing.assert_allclose(back.intensity, c.intensity, rtol=1e-12)
    assert "'barn/sr'" in caplog.text and "arbitrary" in caplog.text
    caplog.clear()
    _edit(p, I="a.u.")
    with caplog.at_level("WARNING", logger="saxs_mc.io.nxcansas"):
        assert read_nxcansas(p).intensity_unit == "arbitrary"
    assert caplog.text == ""


def test_sasdata_reads_direct_beam_centre_sdd_and_the_normalisation_statement(tmp_path):
    """Issue 9 item 5: beam_center_x/y and SDD are the direct-beam values the writer is given (getFit2D's)."""
    c = _curve("arbitrary")
    p = write_nxcansas(
        tmp_path / "g.h5",
        c,
        instrument={
            "wavelength_m": 1.54e-10,
            "sdd_m": 1.031657,
            "pixel_size_m": (172e-6, 172e-6),
            "beam_center_px": (387.772, 808.37),
        },
        description="intensity divided by exposure time; arbitrary units",
    )
    (d,) = Loader().load(str(p))
    det = d.detector[0]
    assert det.distance == pytest.approx(1031.657) and det.distance_unit == "mm"
    assert (det.beam_center.x, det.beam_center.y) == pytest.approx((387.772, 808.37))
    assert d.process[0].description == "intensity divided by exposure time; arbitrary units"
