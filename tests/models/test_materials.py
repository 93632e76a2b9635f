"""X-ray contrast from formula and density (saxs_mc.models.materials, via periodictable)."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from saxs_mc.models.materials import (
    PARTICLES,
    PRESETS,
    SOLVENTS,
    Contrast,
    MaterialError,
    contrast,
    resolve_material,
    xray_sld,
)

#: CODATA: classical electron radius (A) and Avogadro's number; standard atomic weights (IUPAC)
R_E_A = 2.8179403262e-5
N_A = 6.02214076e23
M_H, M_O, M_C, M_SI = 1.008, 15.999, 12.011, 28.085


def _electron_sld(electrons: int, molar_mass: float, density: float) -> float:
    """Electron-density SLD (1e-6 A^-2): n_e [1/A^3] * r_e, with no anomalous dispersion."""
    n_e = density * N_A / molar_mass * electrons / 1e24  # electrons per A^3
    return n_e * R_E_A * 1e6


def test_cdse_in_octadecene_at_12p4_keV_is_the_reference_value():
    c = contrast("CdSe", "octadecene", energy_keV=12.4)
    assert c.sld_particle_1e6_A2 == pytest.approx(40.41, abs=0.05)
    assert c.sld_solvent_1e6_A2 == pytest.approx(7.64, abs=0.05)
    assert c.contrast_1e6_A2 == pytest.approx(32.76, abs=0.05)
    # the Se K edge (12.66 keV) lowers f1 of Se: 5 % below the electron-density estimate 34.65
    assert c.contrast_1e6_A2 < 0.96 * 34.65


def test_wavelength_and_energy_agree():
    a = contrast("CdSe", "ODE", wavelength_nm=0.1)
    b = contrast("CdSe", "octadecene", energy_keV=12.398419843)
    assert a.energy_keV == pytest.approx(12.3984, abs=1e-3)
    assert a.contrast_1e6_A2 == pytest.approx(b.contrast_1e6_A2, rel=1e-9)


def test_water_sld_equals_electron_density_times_r_e():
    expected = _electron_sld(10, 2 * M_H + M_O, 0.997)  # 9.39: oxygen's f' at 12.4 keV is < 0.5 % of Z
    re, im = xray_sld("water", energy_keV=12.4)
    assert re == pytest.approx(expected, rel=0.005)
    assert 0 < im < 0.01 * re


@pytest.mark.parametrize(
    "name, electrons, molar_mass",
    [
        ("octadecene", 18 * 6 + 36, 18 * M_C + 36 * M_H),
        ("toluene", 7 * 6 + 8, 7 * M_C + 8 * M_H),
        ("hexane", 6 * 6 + 14, 6 * M_C + 14 * M_H),
        ("SiO2", 14 + 16, M_SI + 2 * M_O),
    ],
)
def test_light_materials_follow_their_electron_density(name, electrons, molar_mass):
    mat = PRESETS[name]
    re, _ = xray_sld(name, energy_keV=17.0)
    assert re == pytest.approx(_electron_sld(electrons, molar_mass, mat.density_g_cm3), rel=0.01)


def test_every_preset_is_usable_and_documented():
    assert set(PARTICLES) == {"CdSe", "CdS", "PbS", "Au", "SiO2", "Fe3O4", "ZnO", "TiO2"}
    assert set(SOLVENTS) == {"octadecene", "toluene", "hexane", "water"}
    for p in PARTICLES:
        c = contrast(p, "toluene", energy_keV=12.4)
        assert c.contrast_1e6_A2 > 5, c  # every inorganic particle is denser in electrons than toluene
    # densest in electrons first: gold > PbS > CdSe > SiO2
    order = [contrast(p, "hexane", energy_keV=10.0).contrast_1e6_A2 for p in ("Au", "PbS", "CdSe", "SiO2")]
    assert order == sorted(order, reverse=True)


def test_density_scales_the_sld_linearly():
    a = xray_sld("CdSe", energy_keV=12.4)[0]
    b = xray_sld("CdSe", energy_keV=12.4, density_g_cm3=5.82 / 2)[0]
    assert b == pytest.approx(a / 2, rel=1e-12)
    hot = contrast("CdSe", "octadecene", energy_keV=12.4, solvent_density_g_cm3=0.62)
    assert hot.solvent.density_g_cm3 == 0.62 and hot.contrast_1e6_A2 > 32.76


def test_formula_with_density_and_mapping_forms():
    c = contrast(
        {"formula": "InP", "density_g_cm3": 4.81, "name": "InP"}, "C7H8", energy_keV=12.4, solvent_density_g_cm3=0.867
    )
    assert c.particle.name == "InP" and c.solvent.formula == "C7H8"
    assert c.sld_solvent_1e6_A2 == pytest.approx(xray_sld("toluene", energy_keV=12.4)[0], rel=1e-9)


def test_provenance_records_formula_density_energy_and_both_slds():
    c = contrast("PbS", "hexane", energy_keV=15.0)
    s = json.loads(json.dumps(c.summary()))
    assert s["energy_keV"] == 15.0
    assert s["particle"]["formula"] == "PbS" and s["particle"]["density_g_cm3"] == 7.60
    assert s["solvent"]["formula"] == "C6H14"
    assert s["contrast_1e6_A2"] == pytest.approx(s["particle"]["sld_1e6_A2"] - s["solvent"]["sld_1e6_A2"])
    assert "periodictable" in s["source"]
    assert "PbS" in repr(c) and "15 keV" in repr(c) and len(repr(c)) < 120
    assert "contrast" in c.report().lower()
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.energy_keV = 1.0  # type: ignore[misc]


def test_plot_returns_axes_with_the_edge():
    c = contrast("CdSe", "octadecene", energy_keV=12.4)
    ax = c.plot(energies_keV=(11.0, 14.0))
    x, y = ax.lines[0].get_data()
    # crossing the Se K edge (12.66 keV) lowers the contrast: minimum just below the edge
    assert 12.3 < x[np.argmin(y)] < 12.7


def test_unknown_formula_is_named_and_all_problems_are_listed():
    with pytest.raises(MaterialError) as err:
        contrast("CdSee", "Xx2O", energy_keV=-1)
    msg = str(err.value)
    assert "'CdSee'" in msg and "'Xx2O'" in msg and "energy_keV=-1" in msg
    assert "particle" in msg and "solvent" in msg


def test_formula_without_density_and_bad_density_are_errors():
    with pytest.raises(MaterialError, match="needs a density"):
        resolve_material("InP")
    with pytest.raises(MaterialError, match="density_g_cm3=-2"):
        resolve_material("CdSe", density_g_cm3=-2)
    with pytest.raises(MaterialError, match="exactly one"):
        contrast("CdSe", "water", energy_keV=12.4, wavelength_nm=0.1)
    assert isinstance(contrast("Au", "water", energy_keV=12.4), Contrast)
