"""Curve I/O: ASCII and NXcanSAS round trips, atomic writes."""

import numpy as np
import pytest

from saxs_mc.io.atomic import atomic_path
from saxs_mc.io.curves import Curve, read_curve, write_curve_ascii
from saxs_mc.io.nxcansas import write_nxcansas


def _curve():
    q = np.linspace(0.1, 5, 40)
    return Curve(q=q, intensity=np.exp(-q), sigma=0.01 + 0 * q, intensity_unit="1/cm", title="s1", metadata={"T_C": 25.0})


def test_ascii_round_trip(tmp_path):
    c = _curve()
    p = write_curve_ascii(tmp_path / "c.dat", c)
    back = read_curve(p)
    np.testing.assert_allclose(back.q, c.q, rtol=1e-9)
    np.testing.assert_allclose(back.intensity, c.intensity, rtol=1e-9)
    assert back.intensity_unit == "1/cm"
    assert back.metadata["T_C"] == 25.0


def test_ascii_in_inverse_angstrom_is_converted(tmp_path):
    p = tmp_path / "a.txt"
    p.write_text("# Q (1/A) I Idev\n0.01 1 0.1\n0.02 2 0.1\n")
    c = read_curve(p)
    np.testing.assert_allclose(c.q, [0.1, 0.2])


def test_nxcansas_round_trip(tmp_path):
    c = _curve()
    p = write_nxcansas(tmp_path / "c.h5", c, provenance={"seed": 3, "value": float("nan")})
    back = read_curve(p)
    np.testing.assert_allclose(back.q, c.q)
    np.testing.assert_allclose(back.sigma, c.sigma)
    assert back.title == "s1"
    assert back.metadata["provenance"] == {"seed": 3, "value": None}


def test_atomic_path_leaves_nothing_on_error(tmp_path):
    target = tmp_path / "x.txt"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed")
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []


def test_curve_rejects_shape_mismatch():
    with pytest.raises(ValueError, match="equal length"):
        Curve(q=np.ones(3), intensity=np.ones(2), sigma=np.ones(3))


def test_q_range_empty_overlap_is_an_error():
    with pytest.raises(ValueError, match="no point in q range"):
        _curve().q_range(10.0, 20.0)


def test_atomic_files_get_umask_permissions_not_0600(tmp_path):
    import os

    from saxs_mc.io.atomic import write_text_atomic

    for umask, mode in ((0o022, 0o644), (0o077, 0o600)):
        old = os.umask(umask)
        try:
            target = write_text_atomic(tmp_path / f"perm{umask:o}.txt", "x")
        finally:
            os.umask(old)
        assert (target.stat().st_mode & 0o777) == mode


def test_headerless_ascii_needs_a_q_unit(tmp_path):
    p = tmp_path / "bare.dat"
    p.write_text("0.01 1 0.1\n0.02 2 0.1\n")
    with pytest.raises(ValueError, match=r"bare\.dat: the q unit is not stated.*q_unit=.*--q-unit.*# q_unit = 1/nm"):
        read_curve(p)
    np.testing.assert_allclose(read_curve(p, q_unit="1/A").q, [0.1, 0.2])  # SasView's convention, now explicit
    np.testing.assert_allclose(read_curve(p, q_unit="1/nm").q, [0.01, 0.02])
    p.write_text("# q_unit = 1/nm\n0.01 1 0.1\n0.02 2 0.1\n")
    np.testing.assert_allclose(read_curve(p).q, [0.01, 0.02])


def test_ascii_written_in_inverse_angstrom_round_trips(tmp_path):
    c = _curve()
    p = write_curve_ascii(tmp_path / "a.dat", c, q_unit="1/A", exclude_metadata=("T_C",))
    text = p.read_text()
    assert "# q_unit = 1/A" in text and "T_C" not in text
    np.testing.assert_allclose(np.loadtxt(p)[:, 0], c.q / 10.0, rtol=1e-9)  # the file holds 1/A
    np.testing.assert_allclose(read_curve(p).q, c.q, rtol=1e-9)  # read back in 1/nm
