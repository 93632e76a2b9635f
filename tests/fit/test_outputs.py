"""Output files and the ``saxs-mc fit`` CLI."""

from __future__ import annotations

import csv
import json

import h5py
import numpy as np
import pytest

from saxs_mc.cli import main
from saxs_mc.fit import fit_arrays, fit_curve, write_fit_outputs
from saxs_mc.io.curves import Curve, read_curve, write_curve_ascii
from saxs_mc.io.nxcansas import write_nxcansas
from saxs_mc.models.distributions import make_distribution
from saxs_mc.models.sphere import CONTRAST_CDSE_ODE
from saxs_mc.provenance import file_sha256

Q = np.geomspace(0.15, 6.0, 150)
SPEC = {"kind": "gaussian", "mean_nm": 1.2, "sd_nm": 0.08, "volume_fraction": 1e-3}


@pytest.fixture
def curve():
    i_true = make_distribution(SPEC).dsigma(Q, CONTRAST_CDSE_ODE) + 0.02
    sigma = 0.01 * i_true
    return Curve(Q, i_true + np.random.default_rng(0).normal(0, sigma), sigma, "1/cm", "cdse")


def _read_csv(path):
    rows = [r for r in csv.reader(line for line in path.read_text().splitlines() if not line.startswith("#"))]
    return rows[0], np.array(rows[1:], dtype=float)


def test_csv_and_json_outputs(tmp_path, curve):
    res = fit_curve(curve, contrast=CONTRAST_CDSE_ODE, contributions=150, repetitions=4, seed=3, ranges_nm=[(0.8, 2.0)])
    paths = write_fit_outputs(tmp_path, "s1", res)
    assert set(paths) == {"distribution", "fitcurve", "json", "plot"}
    assert paths["plot"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    cols, data = _read_csv(tmp_path / "s1_distribution.csv")
    assert cols == [
        "r_lo_nm",
        "r_hi_nm",
        "volume_fraction",
        "volume_fraction_std",
        "min_visibility",
        "volume_fraction_resolved",
    ]
    np.testing.assert_allclose(data[:, 2], res.volume_fraction, rtol=1e-9)
    np.testing.assert_allclose(data[:, 0], res.bin_edges_nm[:-1], rtol=1e-9)
    assert data[:, 2].sum() == pytest.approx(1e-3, rel=0.1)  # absolute volume fraction of the truth
    cols, fc = _read_csv(tmp_path / "s1_fitcurve.csv")
    assert cols == ["q_nm", "intensity", "sigma", "model_mean", "model_std"]
    assert np.mean(((fc[:, 1] - fc[:, 3]) / fc[:, 2]) ** 2) < 1.5  # the curve fits the data
    doc = json.loads((tmp_path / "s1_fit.json").read_text())
    assert doc["schema"] == "saxs_mc.fit/1"
    assert doc["seed"] == 3 and len(doc["repetition_seeds"]) == 4
    assert doc["volume_fraction_kind"] == "absolute"
    assert doc["settings"]["contributions"] == 150
    assert doc["ranges"][1]["mean_nm"] == pytest.approx(1.2, rel=0.02)  # volume-weighted truth
    assert "numba" in doc["versions"]
    assert len(doc["convergence"]["repetitions"]) == 4
    assert doc["source"] is None


def test_csvs_load_in_pandas_with_default_options(tmp_path, curve):
    # issue 14 item 7: the distribution CSV failed pandas.read_csv without comment='#'
    pd = pytest.importorskip("pandas")
    res = fit_curve(curve, contrast=CONTRAST_CDSE_ODE, contributions=100, repetitions=3, seed=2)
    paths = write_fit_outputs(tmp_path, "p", res, plot=False)
    assert "plot" not in paths
    dist = pd.read_csv(paths["distribution"])
    assert list(dist.columns)[:5] == ["r_lo_nm", "r_hi_nm", "volume_fraction", "volume_fraction_std", "min_visibility"]
    assert len(dist) == res.volume_fraction.size and dist.dtypes.map(lambda d: d.kind == "f").all()
    np.testing.assert_allclose(dist["volume_fraction"], res.volume_fraction, rtol=1e-9)
    np.testing.assert_allclose(dist["volume_fraction_resolved"], res.volume_fraction_resolved, rtol=1e-9, atol=1e-300)
    fc = pd.read_csv(paths["fitcurve"])
    assert list(fc.columns) == ["q_nm", "intensity", "sigma", "model_mean", "model_std"] and len(fc) == res.q_nm.size


def test_relative_distribution_sums_to_one(tmp_path, curve):
    res = fit_arrays(curve.q, curve.intensity, curve.sigma, contributions=100, repetitions=3, seed=1)
    write_fit_outputs(tmp_path, "rel", res)
    _, data = _read_csv(tmp_path / "rel_distribution.csv")
    assert data[:, 2].sum() == pytest.approx(1.0, rel=1e-9)
    with pytest.raises(ValueError, match="stem"):
        write_fit_outputs(tmp_path, "a/b", res)


def test_nxcansas_copy_gets_analysis_group_and_input_is_untouched(tmp_path, curve):
    src = write_nxcansas(tmp_path / "in.h5", curve)
    sha = file_sha256(src)
    res = fit_curve(read_curve(src), contrast=CONTRAST_CDSE_ODE, contributions=100, repetitions=3, seed=2)
    paths = write_fit_outputs(tmp_path / "out", "in", res, source=src)
    assert file_sha256(src) == sha
    out = paths["nxcansas"]
    assert out.name == "in_fit.h5"
    with h5py.File(out, "r") as fh:
        assert fh.attrs["file_name"] == "in_fit.h5"  # issue 14 item 7: named the input file before
        dist = fh["sasentry01/mcfit/distribution"]
        np.testing.assert_allclose(dist["volume_fraction"][()], res.volume_fraction)
        # dimensionless fractions carry no @units (no valid NXcanSAS unit string), radii do
        assert "units" not in dist["volume_fraction"].attrs and "units" not in dist["number_fraction"].attrs
        assert "absolute" in dist["volume_fraction"].attrs["long_name"]
        assert dist["r_nm"].attrs["units"] == "nm"
        np.testing.assert_allclose(dist["r_nm"][()], res.bin_centers_nm)
        assert fh["sasentry01/sasprocess_mcfit"].attrs["canSAS_class"] == "SASprocess"
        summary = json.loads(fh["sasentry01/mcfit/summary_json"][()])
        assert summary["source"]["sha256"] == sha
        np.testing.assert_allclose(fh["sasentry01/mcfit/fit_curve/I_model"][()], res.model_mean)
    back = read_curve(out)  # still a valid NXcanSAS file with the same data
    np.testing.assert_allclose(back.intensity, curve.intensity)
    from sasdata.dataloader.loader import Loader

    data = Loader().load(str(out))
    np.testing.assert_allclose(np.asarray(data[0].y), curve.intensity, rtol=1e-12)


def test_cli_fit_on_nxcansas_and_ascii(tmp_path, curve, capsys):
    src = write_nxcansas(tmp_path / "c.h5", curve)
    rc = main(
        [
            "fit",
            str(src),
            "-o",
            str(tmp_path / "o1"),
            "--seed",
            "4",
            "--contrast",
            str(CONTRAST_CDSE_ODE),
            "--repetitions",
            "3",
            "--contributions",
            "120",
            "--range",
            "0.8",
            "2.0",
            "--bins",
            "25",
            "--no-progress",
        ]
    )
    assert rc == 0
    printed = capsys.readouterr().out.strip()
    assert printed.endswith("c_fit.json")
    doc = json.loads((tmp_path / "o1" / "c_fit.json").read_text())
    assert doc["settings"]["n_bins"] == 25 and doc["ranges"][1]["r_lo_nm"] == 0.8
    assert (tmp_path / "o1" / "c_fit.h5").exists()
    asc = write_curve_ascii(tmp_path / "c.dat", curve)
    rc = main(
        [
            "fit",
            str(asc),
            "-o",
            str(tmp_path / "o2"),
            "--seed",
            "4",
            "--repetitions",
            "2",
            "--q-range",
            "0.2",
            "5.0",
            "--r-range",
            "0.6",
            "10",
            "--no-progress",
        ]
    )
    assert rc == 0
    doc = json.loads((tmp_path / "o2" / "c_fit.json").read_text())
    assert doc["settings"]["q_fitted_nm"][0] >= 0.2 and doc["settings"]["r_range_nm"] == [0.6, 10.0]
    assert not (tmp_path / "o2" / "c_fit.h5").exists()


def test_cli_bad_input_exit_code(tmp_path, curve):
    bad = Curve(curve.q, curve.intensity, np.where(np.arange(curve.q.size) == 5, 0.0, curve.sigma), "1/cm", "bad")
    src = write_curve_ascii(tmp_path / "bad.dat", bad)
    assert main(["fit", str(src), "-o", str(tmp_path / "o"), "--no-progress"]) == 2
    assert main(["fit", str(tmp_path / "missing.h5"), "-o", str(tmp_path / "o"), "--no-progress"]) == 2


def test_cli_strict_flags_non_convergence(tmp_path, curve):
    src = write_curve_ascii(tmp_path / "c.dat", curve)
    with pytest.warns(Warning) as rec:
        rc = main(
            [
                "fit",
                str(src),
                "-o",
                str(tmp_path / "o"),
                "--repetitions",
                "2",
                "--max-iterations",
                "20",
                "--strict",
                "--no-progress",
            ]
        )
    assert any("did not converge" in str(w.message) for w in rec)
    assert rc == 3
    doc = json.loads((tmp_path / "o" / "c_fit.json").read_text())
    assert doc["convergence"]["all_converged"] is False
    assert {r["reason"] for r in doc["convergence"]["repetitions"]} == {"cap"}


def test_cli_background_option_and_no_progress_bar_without_tty(tmp_path, curve, capsys):
    src = write_curve_ascii(tmp_path / "c.dat", curve)
    rc = main(
        [
            "fit",
            str(src),
            "-o",
            str(tmp_path / "o"),
            "--seed",
            "5",
            "--repetitions",
            "2",
            "--contributions",
            "100",
            "--background",
            "flat",
        ]
    )
    assert rc == 0
    err = capsys.readouterr().err
    assert "MC repetitions" not in err and "rep/s" not in err  # stderr is not a terminal under pytest
    doc = json.loads((tmp_path / "o" / "c_fit.json").read_text())
    assert doc["settings"]["background"] == "flat" and doc["settings"]["stop_rule"] == "plateau"
    assert doc["seed"] == 5 and doc["settings"]["seed_source"] == "user"
    assert main(["fit", str(src), "-o", str(tmp_path / "o2"), "--no-background", "--background", "flat"]) == 2


def test_cli_headerless_ascii_needs_q_unit(tmp_path):
    import numpy as np

    from saxs_mc.cli import main
    from saxs_mc.models import sphere_dsigma

    q_a = np.linspace(0.02, 0.5, 120)  # 1/A
    i = sphere_dsigma(q_a * 10, np.array([1.5]), np.array([1e-3]), 34.65)
    src = tmp_path / "plain.dat"
    np.savetxt(src, np.column_stack([q_a, i, 0.01 * i + 1e-4]))
    # without a unit the file is refused (SasView would assume 1/A, we do not guess)
    assert main(["fit", str(src), "-o", str(tmp_path / "no"), "--repetitions", "2", "--no-progress"]) == 2
    assert (
        main(
            [
                "fit",
                str(src),
                "-o",
                str(tmp_path / "ok"),
                "--q-unit",
                "1/A",
                "--repetitions",
                "2",
                "--contributions",
                "50",
                "--seed",
                "1",
                "--no-progress",
            ]
        )
        == 0
    )
    import json

    summary = json.loads(next((tmp_path / "ok").glob("*_fit.json")).read_text())
    # q converted from 1/A to 1/nm: q_max 5 1/nm
    assert abs(max(summary["settings"]["q_fitted_nm"]) - 5.0) < 1e-6


def test_cli_intensity_unit_for_ascii_stats_range_spellings_and_plot(tmp_path, curve):
    bare = Curve(curve.q, curve.intensity, curve.sigma, "arbitrary", "bare")
    src = write_curve_ascii(tmp_path / "bare.dat", bare)
    rc = main(
        [
            "fit",
            str(src),
            "-o",
            str(tmp_path / "o"),
            "--seed",
            "2",
            "--repetitions",
            "2",
            "--contributions",
            "100",
            "--intensity-unit",
            "1/cm",
            "--contrast",
            "34.65",
            "--stats-range",
            "0.8",
            "2.0",
            "--range",
            "2.0",
            "3.0",
            "--no-progress",
        ]
    )
    assert rc == 0
    doc = json.loads((tmp_path / "o" / "bare_fit.json").read_text())
    assert doc["volume_fraction_kind"] == "absolute" and doc["data"]["intensity_unit"] == "1/cm"
    assert doc["settings"]["ranges_nm"][1:] == [[0.8, 2.0], [2.0, 3.0]]  # new and old spelling both work
    assert doc["total_volume_fraction"] == pytest.approx(1e-3, rel=0.1)
    assert (tmp_path / "o" / "bare_fit.png").stat().st_size > 1000  # the CLI writes a plot, as peaks does
    # a file that states 1/cm cannot be declared arbitrary on the command line
    src2 = write_curve_ascii(tmp_path / "abs.dat", curve)
    assert main(["fit", str(src2), "-o", str(tmp_path / "o2"), "--intensity-unit", "arbitrary", "--no-progress"]) == 2


def test_cli_help_shows_examples_defaults_and_contrast_meaning(capsys):
    with pytest.raises(SystemExit):
        main(["fit", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "examples:" in out and "saxs-mc fit" in out
    assert "relative and sum to 1" in out  # --contrast: omitting it gives relative fractions
    assert "--stats-range" in out and "--intensity-unit" in out and "(default 300)" in out
