"""Result type (repr, report, JSON-safe summary, plot) and the ``saxs-mc families`` CLI."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from saxs_mc.cli import main
from saxs_mc.families import decompose
from saxs_mc.io.curves import write_curve_ascii
from tests.families.helpers import CONTRAST, gauss, noisy_curves


@pytest.fixture(scope="module")
def curve():
    return noisy_curves([gauss(0.94, 3.5e-4), gauss(1.02, 1.5e-4)], [7])[0]


def test_result_is_frozen_and_reports(curve):
    res = decompose(curve, contrast_1e6_A2=CONTRAST, continuous=True)
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.chi2 = 0
    with pytest.raises(ValueError):
        res.model[0] = 1
    assert len(repr(res)) < 200 and "CdSe-437=0.7" in repr(res)
    text = res.report()
    assert "CdSe-403" in text and "absent" in text and "< " in text
    doc = json.loads(json.dumps(res.summary(), allow_nan=False))
    terms = {t["name"]: t for t in doc["terms"]}
    assert terms["CdSe-403"]["status"] == "absent" and terms["CdSe-403"]["share_upper"] > 0
    assert terms["continuous"]["status"] == "absent"
    assert doc["settings"]["selection_rule"].startswith("lowest BIC")
    assert sum(t["share"] for t in doc["terms"] if t["share"] is not None) == pytest.approx(1.0)


def test_plot_returns_axes(curve):
    import matplotlib

    matplotlib.use("Agg")
    res = decompose(curve, contrast_1e6_A2=CONTRAST)
    ax = res.plot()
    assert ax.get_xscale() == "log" and len(ax.get_lines()) >= 3
    ax2 = res.plot(residuals=True)
    assert ax2.get_ylabel().startswith("(I - model)")


def test_cli_ascii_and_outputs(tmp_path, curve, capsys):
    data = write_curve_ascii(tmp_path / "mix.dat", curve)
    rc = main(
        [
            "-q",
            "families",
            str(data),
            "-o",
            str(tmp_path / "out"),
            "--contrast",
            "34.65",
            "--family",
            "A:0.87",
            "--family",
            "B:0.94",
            "--family",
            "C:1.02",
        ]
    )
    assert rc == 0
    out = tmp_path / "out"
    doc = json.loads((out / "mix_families.json").read_text())
    assert doc["schema"] == "saxs_mc.families/1" and len(doc["source"]["sha256"]) == 64
    shares = {t["name"]: t["share"] for t in doc["terms"]}
    assert shares["B"] == pytest.approx(0.7, abs=0.03) and shares["A"] == 0
    import csv

    lines = (out / "mix_families.csv").read_text().splitlines()
    rows = list(csv.DictReader(line for line in lines if not line.startswith("#")))
    assert [r["name"] for r in rows] == ["A", "B", "C"] and [r["status"] for r in rows] == [
        "absent",
        "present",
        "present",
    ]
    assert float(rows[1]["share"]) == pytest.approx(shares["B"], rel=1e-5) and rows[0]["share_std"] == ""
    fit = np.loadtxt(out / "mix_families_curve.csv", delimiter=",")
    assert fit.shape[1] == 4 + 3  # q, I, sigma, model + B, C, background
    assert (out / "mix_families.png").stat().st_size > 1000
    assert capsys.readouterr().out.strip().endswith("mix_families.json")


def test_cli_overlapping_families_exit_2(tmp_path, curve, capsys):
    data = write_curve_ascii(tmp_path / "mix.dat", curve)
    rc = main(
        ["families", str(data), "-o", str(tmp_path), "--family", "A:0.94:0.025:0.05", "--family", "B:1.0:0.025:0.05"]
    )
    assert rc == 2
    err = capsys.readouterr().err
    assert "A (window 0.89-0.99 nm) and B (window 0.95-1.05 nm) overlap" in err
    assert not list(tmp_path.glob("*_families.json"))


def test_cli_config_file(tmp_path, curve):
    data = write_curve_ascii(tmp_path / "mix.dat", curve)
    cfg = tmp_path / "f.toml"
    cfg.write_text(
        'contrast_1e6_A2 = 34.65\nq_range_nm = [0.3, 6.0]\n[[family]]\nname = "X"\nradius_nm = 0.94\n'
        '[[family]]\nname = "Y"\nradius_nm = 1.02\n'
    )
    assert main(["-q", "families", str(data), "-o", str(tmp_path), "--config", str(cfg), "--no-plot"]) == 0
    doc = json.loads((tmp_path / "mix_families.json").read_text())
    assert doc["data"]["q_max_nm"] <= 6.0 and doc["volume_fraction_kind"] == "absolute"
    assert not (tmp_path / "mix_families.png").exists()
    assert main(["families", str(data), "--config", str(cfg), "--family", "Z:1.0"]) == 2
