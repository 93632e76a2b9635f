"""Curve I/O: ASCII and NXcanSAS round trips, atomic writes."""

import numpy as np
import pytest

from saxs_mc.io.atomic import atomic_path
from saxs_mc.io.curves import Curve, read_curve, write_curve_ascii
from saxs_mc.io.nxcansas import write_nxcansas


def _curve():
    q = np.linspace(0.1, 5, 40)
    return Curve(
        q=q, intensity=np.exp(-q), sigma=0.01 + 0 * q, intensity_unit="1/cm", title="s1", metadata={"T_C": 25.0}
    )


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


def test_curve_repr_is_one_short_line_whatever_the_size():
    n = 5000
    meta = {"frames": [{"header": "x" * 200, "i": i} for i in range(100)]}
    c = Curve(np.geomspace(0.05, 7.0, n), np.ones(n), 0.1 * np.ones(n), "1/cm", "nuc190C", meta)
    text = repr(c)
    assert len(text) < 150 and "\n" not in text
    assert text.startswith("Curve('nuc190C', n_q=5000") and "0.05-7 1/nm" in text and "'1/cm'" in text


def test_curve_plot_returns_log_axes_with_the_data_and_clipped_error_bars():
    from matplotlib.axes import Axes

    q = np.array([0.1, 0.2, 0.4, 0.8])
    i = np.array([10.0, 5.0, -1.0, 1.0])  # a negative point cannot be shown on log axes
    s = np.array([0.5, 10.0, 0.1, 0.1])  # an error bar larger than the value
    ax = Curve(q, i, s, "1/cm", "demo").plot()
    assert isinstance(ax, Axes) and ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert ax.get_ylabel() == "I (1/cm)" and ax.get_title() == "demo"
    line = ax.lines[0]
    np.testing.assert_array_equal(line.get_xdata(), [0.1, 0.2, 0.8])
    np.testing.assert_array_equal(line.get_ydata(), [10.0, 5.0, 1.0])
    segs = ax.collections[0].get_segments()  # vertical error bars: (x, y - lower), (x, y + upper)
    lows = [seg[0][1] for seg in segs]
    assert min(lows) > 0 and lows[0] == pytest.approx(9.5) and lows[1] == pytest.approx(5.0 * 0.001)
    # drawing onto given axes returns them
    ax2 = Curve(q[:2], i[:2], s[:2]).plot(ax=ax, errorbars=False, color="k")
    assert ax2 is ax and len(ax.lines) == 2
