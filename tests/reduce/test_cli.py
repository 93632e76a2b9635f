"""`saxs-mc reduce` end to end."""

from __future__ import annotations

import pytest

from saxs_mc.cli import main
from saxs_mc.io.curves import read_curve
from tests.reduce import conftest as C
from tests.reduce.helpers import binned_truth, chi2_r


@pytest.fixture(scope="module")
def frames(sim):
    particles = lambda q: C.sphere_truth(q) - C.BACKGROUND_1_CM  # noqa: E731
    solvent = C.flat_truth(0.06)
    s = sim.write_series("cli_sample", lambda q: particles(q) + solvent(q), n=4, seed=61, bubble=2)
    b = sim.write_series("cli_blank", solvent, n=3, seed=62)
    return s, b, particles


def test_reduce_with_blank(sim, frames, tmp_path, capsys):
    s, b, particles = frames
    out = tmp_path / "res" / "nuc.h5"
    rc = main(
        [
            "reduce",
            str(sim.root / "cli_sample" / "*.edf"),
            "--poni",
            str(sim.poni),
            "--mask",
            str(sim.mask),
            "--blank",
            *map(str, b),
            "-o",
            str(out),
            "--npt",
            "90",
            "--title",
            "nuc240C",
        ]
    )
    assert rc == 0
    cap = capsys.readouterr()
    assert cap.out.strip() == str(out)
    c = read_curve(out)
    assert c.title == "nuc240C" and c.intensity_unit == "1/cm"
    truth = binned_truth(sim, particles, c, npt=90)
    assert 0.5 < chi2_r(c.intensity, truth, c.sigma) < 1.6
    assert (tmp_path / "res" / "nuc.dat").is_file()
    assert str(s[2]) in cap.err and "rejected" in cap.err
    assert c.metadata["provenance"]["rejected_frames"] == [str(s[2])]


def test_failure_gives_nonzero_exit_and_summary(sim, frames, tmp_path, capsys):
    s, b, _ = frames
    bad = tmp_path / "broken.edf"
    bad.write_bytes(s[0].read_bytes()[:5000])
    out = tmp_path / "x.h5"
    rc = main(["reduce", str(s[0]), "--poni", str(sim.poni), "--blank", str(bad), "-o", str(out), "--npt", "50"])
    assert rc == 2
    err = capsys.readouterr().err
    assert "blank of 'x'" in err and "broken.edf" in err and "nothing written" in err
    assert not out.exists()


def test_cli_options(sim, frames, tmp_path):
    s, _, _ = frames
    out = tmp_path / "a.h5"
    rc = main(
        [
            "-q",
            "reduce",
            *map(str, s),
            "--poni",
            str(sim.poni),
            "-o",
            str(out),
            "--npt",
            "50",
            "--q-unit",
            "1/A",
            "--no-reject",
            "--thickness-cm",
            "0.2",
            "--no-ascii",
            "--header-key",
            "incident_monitor=None",
        ]
    )
    assert rc == 0 and not (tmp_path / "a.dat").exists()
    c = read_curve(out)
    assert c.metadata["provenance"]["settings"]["q_unit"] == "1/A"
    assert c.metadata["n_accepted"] == 4 and c.metadata["transmission"] is None
    assert main(["reduce", str(s[0]), "-o", str(out), "--header-key", "nonsense"]) == 2


def test_water_option_calibrates(sim, frames, tmp_path):
    s, _, _ = frames
    w = sim.write_series("cli_water", C.flat_truth(0.5 * 0.0163), n=2, seed=63, i0=2e11)  # detector counts half
    out = tmp_path / "w.h5"
    assert (
        main(
            [
                "reduce",
                *map(str, s[:2]),
                "--poni",
                str(sim.poni),
                "--mask",
                str(sim.mask),
                "--water",
                *map(str, w),
                "-o",
                str(out),
                "--npt",
                "50",
            ]
        )
        == 0
    )
    factor = read_curve(out).metadata["provenance"]["settings"]["calibration_factor"]
    assert factor == pytest.approx(2.0, rel=0.03)
    assert main(["reduce", str(s[0]), "--water-empty", str(w[0]), "-o", str(out)]) == 2


def test_water_and_empty_cell_use_the_water_thickness_not_the_samples(sim, frames, tmp_path):
    """--thickness-cm is the sample's; water (header 0.1 cm) and its empty cell are normalized with the water's."""
    s, _, _ = frames
    cell = 0.1 * 0.0163
    w = sim.write_series("cli_water_cell", C.flat_truth(0.5 * 0.0163 + cell), n=2, seed=64, i0=2e11)
    # the empty cell's own header claims 0.5 cm: it must be normalized with the water's 0.1 cm instead
    e = sim.write_series(
        "cli_empty_cell", C.flat_truth(cell), n=2, seed=65, i0=2e11, header_extra={"SampleThickness_cm": "0.5"}
    )
    out = tmp_path / "w.h5"
    assert (
        main(
            [
                "reduce",
                *map(str, s[:2]),
                "--poni",
                str(sim.poni),
                "--mask",
                str(sim.mask),
                "--thickness-cm",
                "0.2",
                "--water",
                *map(str, w),
                "--water-empty",
                *map(str, e),
                "-o",
                str(out),
                "--npt",
                "50",
            ]
        )
        == 0
    )
    prov = read_curve(out).metadata["provenance"]
    factor, sigma = prov["settings"]["calibration_factor"], prov["settings"]["calibration_factor_sigma"]
    assert factor == pytest.approx(2.0, rel=0.03)
    assert 0 < sigma < 0.03 * factor and abs(factor - 2.0) < 5 * sigma + 0.01
    cal = prov["water_calibration"]
    assert cal["factor"] == factor and cal["factor_sigma"] == sigma and cal["water_thickness_cm"] == pytest.approx(0.1)
    assert read_curve(out).metadata["calibration_factor_sigma"] == sigma
    # an explicit water thickness overrides the header: half the thickness -> twice I/thickness -> half the factor
    out2 = tmp_path / "w2.h5"
    assert (
        main(
            [
                "reduce",
                *map(str, s[:2]),
                "--poni",
                str(sim.poni),
                "--mask",
                str(sim.mask),
                "--water",
                *map(str, w),
                "--water-empty",
                *map(str, e),
                "--water-thickness-cm",
                "0.05",
                "-o",
                str(out2),
                "--npt",
                "50",
            ]
        )
        == 0
    )
    f2 = read_curve(out2).metadata["provenance"]["settings"]["calibration_factor"]
    assert f2 == pytest.approx(factor / 2.0, rel=1e-6)
    assert main(["reduce", str(s[0]), "--water-thickness-cm", "0.1", "-o", str(out2)]) == 2


def test_reduce_logs_frame_progress_without_a_terminal(sim, frames, tmp_path, capsys, monkeypatch):
    from saxs_mc import _progress

    monkeypatch.setattr(_progress, "LOG_INTERVAL_S", 0.0)  # a line per frame
    out = tmp_path / "p" / "nuc.h5"
    rc = main(
        [
            "reduce",
            str(sim.root / "cli_sample" / "*.edf"),
            "--poni",
            str(sim.poni),
            "--mask",
            str(sim.mask),
            "-o",
            str(out),
            "--npt",
            "60",
            "--title",
            "prog",
        ]
    )
    assert rc == 0
    err = capsys.readouterr().err
    assert "prog: 1/4 frames (25 %)" in err and "prog: 4/4 frames (100 %)" in err
    rc = main(
        [
            "reduce",
            str(sim.root / "cli_sample" / "*.edf"),
            "--poni",
            str(sim.poni),
            "--mask",
            str(sim.mask),
            "-o",
            str(tmp_path / "q" / "nuc.h5"),
            "--npt",
            "60",
            "--title",
            "quiet",
            "-q",
        ]
    )
    assert rc == 0 and "frames (" not in capsys.readouterr().err
