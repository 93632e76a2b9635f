"""Fit2D geometry -> pyFAI PONI (issue 9 item 4): the refinement log, values, round trips, the CLI."""

from __future__ import annotations

import numpy as np
import pytest

from saxs_mc.cli import main
from saxs_mc.geometry.fit2d import Fit2DGeometry, fit2d_to_poni, integrator_from_fit2d, parse_fit2d_values, read_fit2d
from tests.conftest import ELETTRA as REAL
from tests.conftest import needs_elettra as needs_real

LOG = """INFO: Number of function calls =       7
INFO: Refined Beam centre =      387.772     808.370 (pixels)
INFO: Refined Beam centre =       66.697     139.040 (mm)
INFO: Refined sample to detector distance =     1031.657 mm
INFO: Refined wavelength =      1.54000 Angstroms
INFO: Refined tilt plane rotation angle =       73.569 degrees
INFO: Refined tilt angle =       -0.560 degrees
"""


def test_log_is_parsed_with_pixel_size_from_the_mm_line(tmp_path):
    p = tmp_path / "fit2d.txt"
    p.write_text("INFO: Beam centre = 1 2 (pixels)\nINFO: tilt angle = 9\n" + LOG)  # the last refinement wins
    g = read_fit2d(p)
    assert (g.center_x, g.center_y, g.dist_mm, g.wavelength_A) == (387.772, 808.370, 1031.657, 1.54)
    assert (g.tilt_deg, g.tilt_plane_deg) == (-0.56, 73.569)
    assert g.pixel_x_um == pytest.approx(172.0, rel=1e-4) and g.pixel_y_um == pytest.approx(172.0, rel=1e-4)


@pytest.mark.parametrize("tilt, plane", [(0.0, 0.0), (-0.56, 73.569), (3.0, -120.0)])
def test_setfit2d_round_trip_gives_the_direct_beam_back(tilt, plane):
    g = Fit2DGeometry(
        dist_mm=1031.657, center_x=387.772, center_y=808.37, tilt_deg=tilt, tilt_plane_deg=plane, wavelength_A=1.54
    )
    ai = integrator_from_fit2d(g, "Pilatus1M")
    back = ai.getFit2D()
    assert back["centerX"] == pytest.approx(g.center_x, abs=1e-6) and back["centerY"] == pytest.approx(
        g.center_y, abs=1e-6
    )
    assert back["directDist"] == pytest.approx(g.dist_mm, rel=1e-9)
    assert abs(back["tilt"]) == pytest.approx(abs(tilt), abs=1e-6)  # (tilt, plane) == (-tilt, plane + 180)
    again = integrator_from_fit2d(
        Fit2DGeometry(
            dist_mm=back["directDist"],
            center_x=back["centerX"],
            center_y=back["centerY"],
            tilt_deg=back["tilt"],
            tilt_plane_deg=back["tiltPlanRotation"],
            wavelength_A=1.54,
        ),
        "Pilatus1M",
    )
    rows, cols = np.array([0.0, 500.0, 1042.0]), np.array([0.0, 700.0, 980.0])
    np.testing.assert_allclose(again.tth(rows, cols), ai.tth(rows, cols), rtol=1e-9)
    # the direct beam (2theta = 0) sits at the Fit2D centre: pixel centre (x, y) = (center - 0.5) in index units
    tth = ai.tth(np.array([g.center_y - 0.5]), np.array([g.center_x - 0.5]))
    assert float(tth[0]) == pytest.approx(0.0, abs=1e-9)


def test_values_string_and_all_problems_at_once():
    g = parse_fit2d_values(
        "dist_mm=1031.657, center_x=387.772, center_y=808.37, tilt=-0.56, tilt_plane=73.569, "
        "wavelength_A=1.54, pixel_um=172"
    )
    assert g.pixel_x_um == g.pixel_y_um == 172.0 and g.tilt_plane_deg == 73.569
    with pytest.raises(ValueError) as exc:
        parse_fit2d_values("dist_mm=abc, bogus=1, tilt=0")
    msg = str(exc.value)
    assert "'abc' is not a number" in msg and "'bogus=1'" in msg and "center_x is missing" in msg and "center_y" in msg


def test_wrong_detector_and_pixel_size_are_named():
    g = Fit2DGeometry(dist_mm=1000, center_x=10, center_y=10, wavelength_A=1.0, pixel_x_um=75, pixel_y_um=75)
    with pytest.raises(ValueError, match=r"pixel size 75 x 75 um differs from the Pilatus1M's 172 x 172 um"):
        integrator_from_fit2d(g, "Pilatus1M")
    with pytest.raises(ValueError, match="'NoSuchDetector' is not a pyFAI detector name"):
        integrator_from_fit2d(g, "NoSuchDetector")


def test_cli_writes_a_poni_that_pyfai_loads(tmp_path, capsys):
    import pyFAI

    log = tmp_path / "fit2d.txt"
    log.write_text(LOG)
    out = tmp_path / "el.poni"
    assert main(["geometry", "--from-fit2d", str(log), "--detector", "Pilatus1M", "-o", str(out)]) == 0
    ai = pyFAI.load(str(out))
    f2d = ai.getFit2D()
    assert f2d["centerX"] == pytest.approx(387.772, abs=1e-6) and f2d["directDist"] == pytest.approx(1031.657)
    assert tuple(ai.detector.max_shape) == (1043, 981) and ai.wavelength == pytest.approx(1.54e-10)
    assert "--flip ud" in out.read_text()


def test_cli_reports_every_problem_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "no_such_dir" / "x.poni"
    rc = main(
        ["geometry", "--from-fit2d", "dist_mm=-1,center_x=1,center_y=2", "--detector", "Pilatus1M", "-o", str(out)]
    )
    assert rc == 2
    err = capsys.readouterr().err
    assert "distance -1.0 mm must be > 0" in err and "no_such_dir" in err and "nothing written" in err
    assert not out.exists()


@needs_real
def test_real_fit2d_log():
    g = read_fit2d(REAL / "calibration_fit2d.txt")
    assert (g.center_x, g.center_y, g.dist_mm, g.tilt_deg, g.tilt_plane_deg) == (
        387.772,
        808.370,
        1031.657,
        -0.56,
        73.569,
    )
    assert fit2d_to_poni  # used by the reduction test in tests/reduce/test_beamline_frames.py
