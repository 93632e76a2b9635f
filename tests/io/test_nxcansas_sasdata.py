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
    p = write_nxcansas(tmp_path / "c.h5", c, provenance={"x": 1}, q_unit=q_unit,
                       sample={"name": "s", "thickness_cm": 0.15, "transmission": 0.68, "temperature_C": 230.0},
                       instrument={"wavelength_m": 1e-10, "sdd_m": 0.55, "pixel_size_m": (172e-6, 172e-6)})
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
