"""Optical sizing: reading spectra, exciton peaks on a scattering background, families, Yu diameters."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from saxs_mc.cli import main
from saxs_mc.models.optical import yu_diameter_nm
from saxs_mc.optical import OpticalFamily, analyse_spectra, read_spectra
from saxs_mc.simulate.series import CDSE_SERIES_SEED, cdse_nucleation_conditions
from saxs_mc.simulate.spectra import WAVELENGTH_NM, absorbance_spectrum, write_spectra

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "sample_data" / "cdse_series" / "spectra"


def _write(path, wl, cols, header="wavelength_nm,absorbance", sep=","):
    rows = [sep.join(f"{v:.6g}" for v in r) for r in np.column_stack([wl, *cols])]
    path.write_text((header + "\n" if header else "") + "\n".join(rows) + "\n")
    return path


@pytest.mark.parametrize("name, lam, d", [("nuc190C", 403, 1.58), ("nuc220C", 437, 1.85), ("nuc240C", 465, 2.06)])
def test_shipped_spectra_give_the_study_yu_diameters(name, lam, d):
    res = analyse_spectra(SHIPPED / f"{name}.csv")
    fam = f"CdSe-{lam}"
    peak = next(p for p in res.spectra[0].peaks if p.family == fam)
    assert peak.diameter_nm == pytest.approx(d, abs=0.02)
    assert peak.wavelength_nm == pytest.approx(lam, abs=1.0)


def test_shoulder_family_found_next_to_the_main_one():
    # nuc230C: CdSe-437 (0.21) with a CdSe-465 shoulder (0.09), both resolved with their heights
    res = analyse_spectra(SHIPPED / "nuc230C.csv")
    s = res.spectra[0]
    assert [p.family for p in s.peaks] == ["CdSe-465", "CdSe-437"]
    assert s.first_exciton.family == "CdSe-465"
    h = s.family_heights()
    assert h["CdSe-437"] == pytest.approx(0.21, abs=0.01) and h["CdSe-465"] == pytest.approx(0.09, abs=0.01)


def test_seeded_spectra_recover_positions_within_their_uncertainty():
    # 20 noise seeds of a three-family spectrum on a strong scattering tail: |error| <= 3 sigma and D within 0.02 nm
    peaks = [{"wavelength_nm": lam, "fwhm_nm": 12.0, "height": h} for lam, h in ((403, 0.08), (437, 0.15), (465, 0.1))]
    clean = absorbance_spectrum(WAVELENGTH_NM, peaks, 8e-4) + 0.3 * (WAVELENGTH_NM / 400) ** -4
    from saxs_mc.optical.spectra import Spectra

    rng = np.random.default_rng(3)
    a = clean + 0.0008 * rng.standard_normal((20, WAVELENGTH_NM.size))
    res = analyse_spectra(Spectra(WAVELENGTH_NM, a, tuple(f"s{k}" for k in range(20)), "seeded"))
    z, dd = [], []
    for s in res.spectra:
        got = {p.family: p for p in s.peaks}
        assert set(got) == {"CdSe-403", "CdSe-437", "CdSe-465"}
        for p, lam in ((got["CdSe-403"], 403), (got["CdSe-437"], 437), (got["CdSe-465"], 465)):
            z.append(abs(p.wavelength_nm - lam) / p.wavelength_std_nm)
            dd.append(abs(p.diameter_nm - yu_diameter_nm(lam)))
    assert np.mean(np.array(z) <= 2) >= 0.9 and max(dd) <= 0.02


def test_spectrum_without_peak_and_peak_outside_yu_range(tmp_path):
    wl = np.arange(300.0, 800.0)
    flat = 0.05 + 0.1 * (wl / 400) ** -4 + 0.0008 * np.random.default_rng(0).standard_normal(wl.size)
    red = flat + 0.2 * np.exp(-0.5 * ((wl - 680) / 12) ** 2)
    res = analyse_spectra(_write(tmp_path / "two.csv", wl, [flat, red], header="wavelength_nm,flat,red"))
    assert res.spectrum("flat").peaks == ()
    p = res.spectrum("red").peaks[0]
    assert p.wavelength_nm == pytest.approx(680, abs=1) and p.diameter_nm is None
    assert any("outside the 380-660 nm range" in w for w in res.warnings)


def test_spectrum_outside_sizing_range_warns(tmp_path):
    wl = np.arange(750.0, 1000.0)
    res = analyse_spectra(_write(tmp_path / "nir.csv", wl, [0.1 + 0.0 * wl]))
    assert res.spectra[0].peaks == () and "outside the 380-700 nm sizing range" in res.warnings[0]


def test_reader_columns_separators_and_order(tmp_path):
    wl = np.arange(300.0, 800.0)
    a1, a2 = np.exp(-wl / 200), np.exp(-wl / 300)
    # wavelength found by its name in the last column; tab separated
    sp = read_spectra(_write(tmp_path / "t.txt", a1, [a2, wl], header="# comment\nA1\tA2\tWavelength (nm)", sep="\t"))
    assert sp.names == ("A1", "A2") and np.all(np.diff(sp.wavelength_nm) > 0)
    np.testing.assert_allclose(sp.absorbance[1], a2[np.argsort(wl)], rtol=1e-5)
    sp2 = read_spectra(_write(tmp_path / "u.csv", wl[::-1], [a1[::-1]], header=None, sep=" "))
    assert sp2.names == ("u",) and sp2.wavelength_nm[0] == 300


@pytest.mark.parametrize(
    "header, first, msg",
    [
        ("energy_eV,absorbance", None, r"photon energy \(eV\)"),
        (None, "ev", "photon energy in eV"),
        (None, "random", "no wavelength column"),
        (None, "big", "not a UV-Vis wavelength in nm"),
    ],
)
def test_reader_errors_say_what_is_wrong(tmp_path, header, first, msg):
    n = 100
    x = {
        "ev": np.linspace(1.5, 3.5, n),
        "random": np.random.default_rng(1).random(n),
        "big": np.linspace(5e3, 9e3, n),
        None: np.linspace(400, 700, n),
    }[first]
    path = _write(tmp_path / "bad.csv", x, [np.ones(n)], header=header)
    with pytest.raises(ValueError, match=msg) as exc:
        read_spectra(path)
    assert str(path) in str(exc.value)


def test_write_spectra_is_deterministic_and_matches_shipped(tmp_path):
    paths = write_spectra(tmp_path, cdse_nucleation_conditions(), CDSE_SERIES_SEED)
    assert len(paths) == 11
    for p in paths:
        assert p.read_bytes() == (SHIPPED / p.name).read_bytes(), p.name
    truth = json.loads((tmp_path / "truth.json").read_text())
    assert [pk["wavelength_nm"] for pk in truth["conditions"]["nuc240C"]["peaks"]] == [437.0, 465.0]


def test_cli_optical(tmp_path, capsys):
    rc = main(
        [
            "-q",
            "optical",
            str(SHIPPED / "nuc230C.csv"),
            str(SHIPPED / "nuc280C.csv"),
            "-o",
            str(tmp_path),
            "--family",
            "A:437:5",
            "--family",
            "B:465:5",
        ]
    )
    assert rc == 0
    doc = json.loads((tmp_path / "nuc230C_optical.json").read_text())
    assert [p["family"] for p in doc["spectra"][0]["peaks"]] == ["B", "A"] and len(doc["input"]["sha256"]) == 64
    nc = json.loads((tmp_path / "nuc280C_optical.json").read_text())["spectra"][0]
    assert nc["peaks"][0]["family"] is None and nc["peaks"][0]["diameter_nm"] == pytest.approx(3.24, abs=0.05)
    assert (tmp_path / "nuc230C_optical.png").stat().st_size > 1000
    assert len(capsys.readouterr().out.strip().splitlines()) == 2


def test_cli_reports_all_bad_inputs_at_once(tmp_path, capsys):
    bad = _write(tmp_path / "ev.csv", np.linspace(1.5, 3.5, 50), [np.ones(50)], header=None)
    rc = main(["optical", str(bad), str(tmp_path / "missing.csv"), "--family", "X:400:20", "--family", "Y:420:20"])
    err = capsys.readouterr().err
    assert rc == 2 and "eV" in err and "missing.csv" in err and not list(tmp_path.glob("*.json"))


def test_overlapping_optical_families_rejected():
    with pytest.raises(ValueError, match="overlap"):
        analyse_spectra(SHIPPED / "nuc230C.csv", [OpticalFamily("a", 437, 15), OpticalFamily("b", 450, 15)])
