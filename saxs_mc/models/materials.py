"""X-ray scattering-length-density contrast of particle and solvent from chemical formula and density.

The SLDs come from :func:`periodictable.xray_sld` (Henke/NIST-style anomalous
scattering factors f1 + i f2 at the beam energy), so contrasts near an
absorption edge are right: at 12.4 keV (Se K edge 12.66 keV) CdSe (5.82 g/cm3)
has 40.41e-6 A^-2 and 1-octadecene (0.789 g/cm3) 7.64e-6 A^-2, a contrast of
32.76e-6 A^-2, not the 34.65 of an electron-density-only estimate (volume
fractions scale as 1/contrast^2: 12 %).

Examples
--------
>>> from saxs_mc.models.materials import contrast
>>> c = contrast("CdSe", "octadecene", energy_keV=12.4)
>>> round(c.contrast_1e6_A2, 2)
32.76
>>> contrast("PbS", {"formula": "C7H8", "density_g_cm3": 0.80}, wavelength_nm=0.1).solvent.formula
'C7H8'

Preset densities are room-temperature handbook values; a solvent at a
reaction temperature of 200-300 C is 15-25 % less dense, so pass its density
explicitly (``{"formula": "C18H36", "density_g_cm3": 0.62}``) when that matters.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

#: h c in keV nm (CODATA 2018): E[keV] = HC_KEV_NM / lambda[nm]
HC_KEV_NM = 1.239841984


@dataclasses.dataclass(frozen=True)
class Material:
    """A named material: chemical formula and mass density (g/cm3)."""

    name: str
    formula: str
    density_g_cm3: float
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _m(name: str, formula: str, density: float, note: str) -> tuple[str, Material]:
    return name, Material(name, formula, density, note)


#: Particle presets (room-temperature bulk densities).
PARTICLES: dict[str, Material] = dict(
    [
        # CRC Handbook of Chemistry and Physics, "Physical Constants of Inorganic Compounds": CdSe 5.81;
        # 5.82 g/cm3 is the wurtzite X-ray density used for CdSe nanocrystals (REFERENCE.md)
        _m("CdSe", "CdSe", 5.82, "wurtzite, X-ray density"),
        # CRC Handbook: CdS (greenockite, wurtzite) 4.82
        _m("CdS", "CdS", 4.82, "wurtzite (greenockite)"),
        # CRC Handbook: PbS (galena, rock salt) 7.60
        _m("PbS", "PbS", 7.60, "rock salt (galena)"),
        # CRC Handbook: gold 19.3 (19.32 at 20 C)
        _m("Au", "Au", 19.32, "fcc metal, 20 C"),
        # CRC Handbook: fused (amorphous) silica 2.20; Stoeber silica is porous and lighter (~1.9-2.0): pass it explicitly
        _m("SiO2", "SiO2", 2.20, "amorphous (fused) silica"),
        # CRC Handbook: Fe3O4 (magnetite) 5.17
        _m("Fe3O4", "Fe3O4", 5.17, "magnetite (spinel)"),
        # CRC Handbook: ZnO (zincite, wurtzite) 5.61
        _m("ZnO", "ZnO", 5.61, "wurtzite (zincite)"),
        # CRC Handbook: TiO2 anatase 3.9 (rutile 4.17-4.25): nanoparticles are mostly anatase
        _m("TiO2", "TiO2", 3.90, "anatase (rutile: 4.23)"),
    ]
)

#: Solvent presets (liquid densities at 20-25 C).
SOLVENTS: dict[str, Material] = dict(
    [
        # 1-octadecene: 0.789 g/mL at 25 C (Sigma-Aldrich product specification, technical grade 90 %)
        _m("octadecene", "C18H36", 0.789, "1-octadecene, 25 C"),
        # toluene: 0.8668 g/cm3 at 20 C (CRC Handbook, "Physical Constants of Organic Compounds")
        _m("toluene", "C7H8", 0.867, "20 C"),
        # n-hexane: 0.6606 g/cm3 at 20 C (CRC Handbook; 0.655 at 25 C)
        _m("hexane", "C6H14", 0.661, "n-hexane, 20 C"),
        # water: 0.99705 g/cm3 at 25 C (CRC Handbook, "Properties of Water in the Range 0-100 C"; 0.99820 at 20 C)
        _m("water", "H2O", 0.997, "25 C"),
    ]
)

#: Other names accepted for presets (lower case)
ALIASES: dict[str, str] = {
    "ode": "octadecene",
    "1-octadecene": "octadecene",
    "n-hexane": "hexane",
    "h2o": "water",
    "gold": "Au",
    "silica": "SiO2",
    "magnetite": "Fe3O4",
    "titania": "TiO2",
    "anatase": "TiO2",
}

PRESETS: dict[str, Material] = {**PARTICLES, **SOLVENTS}


class MaterialError(ValueError):
    """A material or contrast specification is invalid; the message lists every problem."""


def _lookup(name: str) -> Material | None:
    key = ALIASES.get(name.strip().lower(), name.strip())
    for k, m in PRESETS.items():
        if k.lower() == key.lower():
            return m
    return None


def _parse_formula(formula: str) -> Any:
    import periodictable

    try:
        f = periodictable.formula(formula)
    except Exception as exc:  # periodictable raises ValueError or pyparsing's ParseException
        raise MaterialError(
            f"chemical formula {formula!r} is not understood ({exc}); write it with element symbols "
            f"and counts, e.g. 'CdSe', 'C18H36', 'Fe3O4', or use a preset: {', '.join(PRESETS)}"
        ) from None
    if not f.atoms or f.mass <= 0:
        raise MaterialError(f"chemical formula {formula!r} holds no atoms; write e.g. 'CdSe' or 'C18H36'")
    return f


def resolve_material(
    spec: str | Material | Mapping[str, Any], *, density_g_cm3: float | None = None, role: str = "material"
) -> Material:
    """A :class:`Material` from a preset name, a formula (with ``density_g_cm3``) or a mapping.

    Parameters
    ----------
    spec : str, Material or mapping
        A preset name (``"CdSe"``, ``"octadecene"``, aliases such as ``"ODE"``), a chemical formula
        (needs a density), or ``{"formula": ..., "density_g_cm3": ..., "name": ...}``.
    density_g_cm3 : float or None
        Overrides the preset density (g/cm3).
    role : str
        ``"particle"`` or ``"solvent"``: named in error messages.

    Raises
    ------
    MaterialError
        Unknown name/formula, missing or non-positive density.
    """
    if isinstance(spec, Material):
        mat = spec
    elif isinstance(spec, Mapping):
        unknown = sorted(set(spec) - {"name", "formula", "density_g_cm3", "note"})
        if unknown or "formula" not in spec:
            raise MaterialError(
                f"{role} {dict(spec)!r}: give keys 'formula' and 'density_g_cm3' (optional 'name'); "
                f"unknown keys: {unknown}"
            )
        dens = spec.get("density_g_cm3")
        mat = Material(
            str(spec.get("name", spec["formula"])),
            str(spec["formula"]),
            float("nan") if dens is None else dens,
            str(spec.get("note", "")),
        )
    elif isinstance(spec, str):
        preset = _lookup(spec)
        mat = preset if preset is not None else Material(spec.strip(), spec.strip(), float("nan"), "formula")
    else:
        raise MaterialError(f"{role} {spec!r} ({type(spec).__name__}): give a preset name, a formula or a mapping")
    if density_g_cm3 is not None:
        mat = dataclasses.replace(mat, density_g_cm3=density_g_cm3, note=(mat.note + "; density given").lstrip("; "))
    _parse_formula(mat.formula)
    d = mat.density_g_cm3
    if isinstance(d, bool) or not isinstance(d, (int, float)) or not math.isfinite(d) or d <= 0:
        if isinstance(d, float) and math.isnan(d):
            raise MaterialError(
                f"{role} {mat.name!r} is not a preset, so it needs a density: give density_g_cm3 "
                f"(mass density in g/cm3) with the formula, or use a preset: {', '.join(PRESETS)}"
            )
        raise MaterialError(
            f"{role} {mat.name!r} ({mat.formula}): density_g_cm3={d!r} is not a positive number; "
            "give the mass density in g/cm3"
        )
    return dataclasses.replace(mat, density_g_cm3=float(d))


def beam_energy_keV(*, energy_keV: float | None = None, wavelength_nm: float | None = None) -> float:
    """Beam energy in keV from exactly one of ``energy_keV`` or ``wavelength_nm``."""
    if (energy_keV is None) == (wavelength_nm is None):
        raise MaterialError(
            "give exactly one of energy_keV or wavelength_nm (the beam energy of the data, "
            "e.g. wavelength_nm=0.1 for 12.4 keV)"
        )
    val: float | None
    if energy_keV is not None:
        e = float(energy_keV)
        name, val = "energy_keV", energy_keV
    else:
        w = float(wavelength_nm)  # type: ignore[arg-type]
        e = HC_KEV_NM / w if w > 0 else float("nan")
        name, val = "wavelength_nm", wavelength_nm
    if not (math.isfinite(e) and 0.03 <= e <= 1000):
        raise MaterialError(
            f"{name}={val!r} gives a beam energy of {e:g} keV; X-ray SLDs need 0.03-1000 keV "
            "(wavelength_nm is in nm: 0.1 nm = 12.4 keV)"
        )
    return e


def xray_sld(
    material: str | Material | Mapping[str, Any],
    *,
    energy_keV: float | None = None,
    wavelength_nm: float | None = None,
    density_g_cm3: float | None = None,
) -> tuple[float, float]:
    """Real and imaginary X-ray SLD (1e-6 A^-2) of one material at the beam energy.

    Parameters
    ----------
    material : preset name, formula, Material or mapping (see :func:`resolve_material`)
    energy_keV, wavelength_nm : float
        Exactly one: the beam energy.
    density_g_cm3 : float or None
        Mass density (required for a bare formula; overrides a preset's).

    Returns
    -------
    (real, imag) : tuple of float
        SLD in 1e-6 A^-2 (anomalous dispersion included).

    Examples
    --------
    >>> round(xray_sld("water", energy_keV=12.4)[0], 2)
    9.41
    """
    import periodictable

    mat = resolve_material(material, density_g_cm3=density_g_cm3)
    e = beam_energy_keV(energy_keV=energy_keV, wavelength_nm=wavelength_nm)
    re, im = periodictable.xray_sld(mat.formula, density=mat.density_g_cm3, energy=e)
    return float(re), float(im)


@dataclasses.dataclass(frozen=True)
class Contrast:
    """X-ray SLD contrast of particles in a solvent at one beam energy (with its provenance).

    Attributes
    ----------
    particle, solvent : Material
        Formula and density used.
    energy_keV : float
        Beam energy.
    sld_particle_1e6_A2, sld_solvent_1e6_A2 : float
        Real parts of the SLDs (1e-6 A^-2).
    sld_particle_imag_1e6_A2, sld_solvent_imag_1e6_A2 : float
        Imaginary (absorption) parts.
    source : str
        How the SLDs were computed.
    """

    particle: Material
    solvent: Material
    energy_keV: float
    sld_particle_1e6_A2: float
    sld_solvent_1e6_A2: float
    sld_particle_imag_1e6_A2: float = 0.0
    sld_solvent_imag_1e6_A2: float = 0.0
    source: str = "periodictable.xray_sld"

    @property
    def contrast_1e6_A2(self) -> float:
        """SLD difference particle - solvent (1e-6 A^-2); what the sphere model and the fit take."""
        return self.sld_particle_1e6_A2 - self.sld_solvent_1e6_A2

    def __repr__(self) -> str:
        return (
            f"Contrast({self.particle.formula} {self.particle.density_g_cm3:g} g/cm3 in {self.solvent.formula} "
            f"{self.solvent.density_g_cm3:g} g/cm3 at {self.energy_keV:.4g} keV: {self.contrast_1e6_A2:.4g}e-6 A^-2)"
        )

    def summary(self) -> dict[str, Any]:
        """JSON-safe record for provenance."""
        import periodictable

        return {
            "contrast_1e6_A2": self.contrast_1e6_A2,
            "energy_keV": self.energy_keV,
            "particle": {
                **self.particle.to_dict(),
                "sld_1e6_A2": self.sld_particle_1e6_A2,
                "sld_imag_1e6_A2": self.sld_particle_imag_1e6_A2,
            },
            "solvent": {
                **self.solvent.to_dict(),
                "sld_1e6_A2": self.sld_solvent_1e6_A2,
                "sld_imag_1e6_A2": self.sld_solvent_imag_1e6_A2,
            },
            "source": f"{self.source} (periodictable {periodictable.__version__})",
        }

    def report(self) -> str:
        """Text for logs and reports."""
        p, s = self.particle, self.solvent
        return "\n".join(
            [
                f"X-ray contrast at {self.energy_keV:.4g} keV ({HC_KEV_NM / self.energy_keV:.5g} nm): "
                f"{self.contrast_1e6_A2:.4g}e-6 A^-2",
                f"  particle {p.name} ({p.formula}, {p.density_g_cm3:g} g/cm3): SLD {self.sld_particle_1e6_A2:.4g}e-6 A^-2",
                f"  solvent  {s.name} ({s.formula}, {s.density_g_cm3:g} g/cm3): SLD {self.sld_solvent_1e6_A2:.4g}e-6 A^-2",
                f"  source: {self.source}",
            ]
        )

    def plot(self, ax: Any = None, *, energies_keV: tuple[float, float] = (5.0, 30.0)) -> Any:
        """Contrast against beam energy (edges show as jumps), the used energy marked; returns the axes."""
        import numpy as np

        if ax is None:
            from matplotlib.figure import Figure

            ax = Figure(figsize=(5, 3.2)).add_subplot()
        e = np.linspace(energies_keV[0], energies_keV[1], 400)
        vals = [contrast(self.particle, self.solvent, energy_keV=float(x)).contrast_1e6_A2 for x in e]
        ax.plot(e, vals, color="C0", label=f"{self.particle.formula} in {self.solvent.formula}")
        ax.axvline(self.energy_keV, color="C3", lw=0.8, ls="--", label=f"beam {self.energy_keV:.4g} keV")
        ax.set_xlabel("energy (keV)")
        ax.set_ylabel("contrast (1e-6 A$^{-2}$)")
        ax.legend(fontsize=8)
        return ax


def contrast(
    particle: str | Material | Mapping[str, Any],
    solvent: str | Material | Mapping[str, Any],
    *,
    energy_keV: float | None = None,
    wavelength_nm: float | None = None,
    particle_density_g_cm3: float | None = None,
    solvent_density_g_cm3: float | None = None,
) -> Contrast:
    """X-ray SLD contrast of ``particle`` in ``solvent`` at the beam energy.

    Parameters
    ----------
    particle, solvent : str, Material or mapping
        Preset names (:data:`PARTICLES`, :data:`SOLVENTS`; any preset works in either role),
        chemical formulas (then give the density) or ``{"formula", "density_g_cm3"}`` mappings.
    energy_keV, wavelength_nm : float
        Exactly one: the beam energy of the data.
    particle_density_g_cm3, solvent_density_g_cm3 : float or None
        Override or supply the densities (g/cm3).

    Returns
    -------
    Contrast

    Raises
    ------
    MaterialError
        Listing every problem (unknown formula, missing density, bad energy) at once.
    """
    problems: list[str] = []
    mats: list[Material] = []
    for role, spec, dens in (
        ("particle", particle, particle_density_g_cm3),
        ("solvent", solvent, solvent_density_g_cm3),
    ):
        try:
            mats.append(resolve_material(spec, density_g_cm3=dens, role=role))
        except MaterialError as exc:
            problems.append(f"{role}: {exc}")
    try:
        e = beam_energy_keV(energy_keV=energy_keV, wavelength_nm=wavelength_nm)
    except MaterialError as exc:
        problems.append(str(exc))
    if problems:
        raise MaterialError("invalid contrast specification:\n  " + "\n  ".join(problems))
    p, s = mats
    import periodictable

    pre, pim = periodictable.xray_sld(p.formula, density=p.density_g_cm3, energy=e)
    sre, sim = periodictable.xray_sld(s.formula, density=s.density_g_cm3, energy=e)
    return Contrast(
        particle=p,
        solvent=s,
        energy_keV=e,
        sld_particle_1e6_A2=float(pre),
        sld_solvent_1e6_A2=float(sre),
        sld_particle_imag_1e6_A2=float(pim),
        sld_solvent_imag_1e6_A2=float(sim),
    )
