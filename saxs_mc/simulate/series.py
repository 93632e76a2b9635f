"""Simulated measurement series with a truth file, and the CdSe nucleation series.

Regenerate the shipped data with::

    saxs-mc simulate --series cdse-nucleation -o sample_data/cdse_series --calibration calibration
    # or: python -m saxs_mc.simulate
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from saxs_mc.io.atomic import atomic_path, jsonable, write_json_atomic
from saxs_mc.models.distributions import SizeDistribution
from saxs_mc.provenance import file_sha256, package_versions, utc_now
from saxs_mc.simulate import components as C
from saxs_mc.simulate.condition import GasBubble, MeasurementCondition
from saxs_mc.simulate.geometry import PixelGeometry, load_geometry, write_calibration
from saxs_mc.simulate.model import dsigma_components
from saxs_mc.simulate.render import N_Q_GRID, pixel_dsigma, render_frame_truth
from saxs_mc.simulate.writers import NEXUS_DATA_PATH, NEXUS_HEADERS_PATH, write_edf, write_nexus_stack

log = logging.getLogger(__name__)

#: default seed of the shipped series
CDSE_SERIES_SEED = 20201122
TRUTH_SCHEMA_VERSION = 1


def _gauss(mean: float, sd: float, phi: float, label: str) -> SizeDistribution:
    return SizeDistribution("gaussian", {"mean_nm": mean, "sd_nm": sd}, phi, label)


def _lognorm(median: float, sigma: float, phi: float, label: str) -> SizeDistribution:
    return SizeDistribution("lognormal", {"median_nm": median, "sigma": sigma}, phi, label)


def cdse_nucleation_conditions(
    *,
    n_frames: int = 3,
    growth_C: float = 230.0,
    reaction_time_s: float = 1.5,
    faulty: tuple[str, int, float] = ("nuc260C", 2, 0.55),
) -> list[MeasurementCondition]:
    """The conditions of the CdSe flow-reactor series (Palencia et al., Nanoscale 2020).

    Nucleation 190-280 C (10 C steps), growth 230 C, 1.5 s; magic-size clusters
    r = 0.87 nm (190 C) -> 0.94 nm (200-220 C) -> 0.94 + shoulder at 1.02 nm
    (230 C) -> 1.02 nm dominant (240 C), then continuous growth of regular
    nanocrystals (lognormal, 250-280 C).  Plus the precursor blank at 230 C,
    precursor blanks at 25/50/100 C, the empty cell and water.

    ``faulty`` = (condition, frame, gas fraction): the one frame with a gas bubble;
    that condition gets one extra frame so it keeps ``n_frames`` good ones.
    """
    msc = {
        190: [_gauss(0.87, 0.025, 2.0e-4, "MSC r=0.87 nm (CdSe-403)")],
        200: [_gauss(0.94, 0.025, 3.0e-4, "MSC r=0.94 nm (CdSe-437)")],
        210: [_gauss(0.94, 0.025, 3.5e-4, "MSC r=0.94 nm (CdSe-437)")],
        220: [_gauss(0.94, 0.025, 4.0e-4, "MSC r=0.94 nm (CdSe-437)")],
        230: [
            _gauss(0.94, 0.025, 3.5e-4, "MSC r=0.94 nm (CdSe-437)"),
            _gauss(1.02, 0.025, 1.5e-4, "MSC r=1.02 nm (CdSe-465) shoulder"),
        ],
        240: [
            _gauss(0.94, 0.025, 1.5e-4, "MSC r=0.94 nm (CdSe-437)"),
            _gauss(1.02, 0.025, 4.5e-4, "MSC r=1.02 nm (CdSe-465)"),
        ],
        250: [_lognorm(1.15, 0.12, 6.0e-4, "regular NC")],
        260: [_lognorm(1.28, 0.13, 7.0e-4, "regular NC")],
        270: [_lognorm(1.43, 0.14, 8.0e-4, "regular NC")],
        280: [_lognorm(1.60, 0.15, 9.0e-4, "regular NC")],
    }
    conds = []
    for t_nuc, dists in msc.items():
        name = f"nuc{t_nuc}C"
        bubbles: tuple[GasBubble, ...] = ()
        nf = n_frames
        if faulty and faulty[0] == name:
            bubbles = (GasBubble(frame=int(faulty[1]), gas_fraction=float(faulty[2])),)
            nf = max(n_frames + 1, int(faulty[1]) + 1)
        conds.append(
            MeasurementCondition(
                name=name,
                kind="sample",
                distributions=tuple(dists),
                temperature_C=growth_C,
                nucleation_temperature_C=float(t_nuc),
                growth_temperature_C=growth_C,
                reaction_time_s=reaction_time_s,
                n_frames=nf,
                gas_bubbles=bubbles,
                title=f"CdSe nucleation {t_nuc} C, growth {growth_C:g} C, {reaction_time_s:g} s",
            )
        )
    conds.append(
        MeasurementCondition(
            name="blank_230C",
            kind="blank",
            temperature_C=growth_C,
            n_frames=n_frames,
            title=f"Cd/Se precursor blank at {growth_C:g} C (no nucleation)",
        )
    )
    for t in (25, 50, 100):
        conds.append(
            MeasurementCondition(
                name=f"blank_{t:03d}C",
                kind="blank",
                temperature_C=float(t),
                n_frames=n_frames,
                title=f"Cd precursor blank at {t} C (mesophase)",
            )
        )
    conds.append(
        MeasurementCondition(
            name="empty_cell", kind="empty_cell", temperature_C=25.0, n_frames=n_frames, title="empty quartz flow cell"
        )
    )
    conds.append(
        MeasurementCondition(
            name="water",
            kind="water",
            temperature_C=20.0,
            n_frames=n_frames,
            title="water reference 20 C (0.0163 1/cm)",
        )
    )
    return conds


@dataclasses.dataclass(frozen=True)
class SeriesResult:
    """What :func:`simulate_series` wrote."""

    outdir: Path
    truth_path: Path
    conditions: tuple[str, ...]
    n_frames: int
    faulty_frames: tuple[str, ...]
    nexus_path: Path | None
    seed: int

    def summary(self) -> dict[str, Any]:
        return jsonable(dataclasses.asdict(self))

    def report(self) -> str:
        lines = [
            f"simulated series in {self.outdir} (seed {self.seed})",
            f"  {len(self.conditions)} conditions, {self.n_frames} frames: {', '.join(self.conditions)}",
            f"  faulty frames: {', '.join(self.faulty_frames) or 'none'}",
            f"  truth: {self.truth_path}",
        ]
        if self.nexus_path:
            lines.append(f"  NeXus/HDF5 stack: {self.nexus_path}::{NEXUS_DATA_PATH}")
        return "\n".join(lines)


def _condition_seeds(seed: int, names: Sequence[str]) -> dict[str, int]:
    # one independent stream per condition, keyed by its name so adding a condition changes no other
    out = {}
    for name in names:
        key = [int(b) for b in name.encode()]
        ss = np.random.SeedSequence([int(seed), *key])
        out[name] = int(ss.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))
    return out


def write_truth_curve(path: Path, q_nm: np.ndarray, condition: MeasurementCondition) -> Path:
    """Noiseless dSigma/dOmega (1/cm), total and per component, as a commented text table."""
    comps = dsigma_components(q_nm, condition)
    total = sum(comps.values())
    names = list(comps)
    cols = np.column_stack([q_nm, total, *[comps[k] for k in names]])
    header = (
        f"saxs_mc.simulate truth for {condition.name} ({condition.kind}); q in 1/nm, dSigma/dOmega in 1/cm "
        f"(per nominal thickness {condition.thickness_cm} cm, good frames)\ncolumns: q_nm total " + " ".join(names)
    )
    with atomic_path(path) as tmp:
        np.savetxt(tmp, cols, header=header, fmt="%.8e")
    return path


def simulate_series(
    conditions: Sequence[MeasurementCondition],
    outdir: str | Path,
    poni: str | Path,
    mask: str | Path | None,
    seed: int = CDSE_SERIES_SEED,
    *,
    nexus_condition: str | None = None,
    series_name: str = "",
    description: str = "",
) -> SeriesResult:
    """Render every condition into ``outdir/<condition>/<condition>_<NNNNN>.edf`` and write ``truth.json``.

    Parameters
    ----------
    conditions : sequence of MeasurementCondition
        Unique names.
    outdir : path
    poni, mask : path
        Geometry and mask (shapes must agree).
    seed : int
        Master seed; each condition gets its own stream derived from (seed, name).
    nexus_condition : str or None
        Also write this condition's frames as ``outdir/eiger/<name>.h5`` (bitshuffle-LZ4).
    """
    names = _check_series_args(conditions, poni, mask, seed, nexus_condition)
    outdir = Path(outdir)
    geom: PixelGeometry = load_geometry(poni, mask)
    seeds = _condition_seeds(int(seed), names)
    q_lo, q_hi = geom.q_range_nm()
    q_truth = np.geomspace(q_lo, q_hi, 600)
    truth_conditions: dict[str, Any] = {}
    nexus_path = None
    for cond in conditions:
        log.info("rendering %s (%d frames)", cond.name, cond.n_frames)
        cdir = outdir / cond.name
        cdir.mkdir(parents=True, exist_ok=True)
        frames, headers, frame_info = _render_condition(cond, geom, cdir, seeds[cond.name], mask)
        curve_path = write_truth_curve(cdir / f"{cond.name}_truth.dat", q_truth, cond)
        truth_conditions[cond.name] = _condition_truth(cond, frame_info, curve_path)
        if cond.name == nexus_condition:
            nexus_path = outdir / "eiger" / f"{cond.name}.h5"
            poni_text = Path(poni).read_text()
            write_nexus_stack(
                nexus_path, frames, headers, mask=geom.mask, gaps=geom.gaps, poni_text=poni_text, sample_name=cond.name
            )
    faulty = [f for entry in truth_conditions.values() for f in entry["faulty_frames"]]
    n_total = sum(len(entry["frames"]) for entry in truth_conditions.values())
    truth = {
        "schema_version": TRUTH_SCHEMA_VERSION,
        "series": series_name,
        "description": description,
        "created": utc_now(),
        "generator": "saxs_mc.simulate.series.simulate_series",
        "seed": int(seed),
        "units": {"q": "1/nm", "dsigma": "1/cm", "radius": "nm", "temperature": "C", "thickness": "cm"},
        "absolute_scale_convention": (
            "counts_p = Intensity1ShutCor * SampleThickness_cm * dSigma/dOmega(q_p) [1/cm] "
            "* dOmega_p [sr, absolute, pyFAI solidAngleArray(absolute=True)] * pol_p "
            "[pyFAI polarization(factor=PolarizationFactor)]; no dark current; calibration_factor = 1"
        ),
        "geometry": _geometry_truth(geom, poni, mask),
        "contrast_1e6_A2": conditions[0].contrast_1e6_A2 if conditions else None,
        "mesophase": {
            "phase": "lamellar",
            "d_nm": C.MESOPHASE_D_NM,
            "peaks": [dict(p) for p in C.MESOPHASE_PEAKS],
            "strength_vs_temperature": "1 at <= 25 C, 0.35 at 50 C, 0.06 at 75 C, 0 at >= 100 C (linear between)",
        },
        "nexus": (
            {
                "file": str(nexus_path.relative_to(outdir)),
                "condition": nexus_condition,
                "data_path": NEXUS_DATA_PATH,
                "headers_path": NEXUS_HEADERS_PATH,
                "compression": "bitshuffle-LZ4 (hdf5plugin)",
            }
            if nexus_path
            else None
        ),
        "faulty_frames": faulty,
        "conditions": truth_conditions,
        "n_q_grid": N_Q_GRID,
        "versions": package_versions(),
    }
    truth_path = write_json_atomic(outdir / "truth.json", jsonable(truth))
    return SeriesResult(
        outdir=outdir,
        truth_path=truth_path,
        conditions=tuple(names),
        n_frames=n_total,
        faulty_frames=tuple(faulty),
        nexus_path=nexus_path,
        seed=int(seed),
    )


def _check_series_args(
    conditions: Sequence[MeasurementCondition], poni: Any, mask: Any, seed: Any, nexus_condition: str | None
) -> list[str]:
    """The condition names; ValueError/TypeError naming the bad argument and the fix."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed={seed!r} must be an int >= 0 so the series is reproducible")
    names = [c.name for c in conditions]
    if len(set(names)) != len(names):
        raise ValueError(f"condition names must be unique, got {names}")
    if nexus_condition is not None and nexus_condition not in names:
        raise ValueError(f"nexus_condition={nexus_condition!r} is not one of the conditions {names}")
    if not isinstance(poni, (str, Path)):
        raise TypeError(f"poni={poni!r}: simulate_series needs the PONI file path (it is hashed into truth.json)")
    if mask is not None and not isinstance(mask, (str, Path)):
        raise TypeError(f"mask={type(mask).__name__}: simulate_series needs the mask file path or None")
    return names


def _render_condition(
    cond: MeasurementCondition, geom: PixelGeometry, cdir: Path, seed: int, mask: str | Path | None
) -> tuple[list[np.ndarray], list[dict[str, Any]], list[dict[str, Any]]]:
    """Render and write the frames of one condition: (frames, headers, truth record per frame)."""
    dsig = pixel_dsigma(geom, cond)
    rng = np.random.default_rng(seed)
    frames, headers, frame_info = [], [], []
    for i, fname in enumerate(cond.frame_names()):
        data, header, mon = render_frame_truth(
            cond,
            geom,
            i,
            rng,
            dsigma=dsig,
            header_extra={"SimulationSeed": seed, "MaskFileName": Path(mask).name if mask else ""},
        )
        write_edf(cdir / fname, data, header)
        frames.append(data)
        headers.append(header)
        frame_info.append(
            {
                "file": f"{cond.name}/{fname}",
                "frame": i,
                "Intensity0ShutCor": mon.i0,
                "Intensity1ShutCor": mon.i1,
                "transmission": mon.transmission,
                "faulty": mon.faulty,
                "reason": f"gas bubble: {mon.gas_fraction:.0%} of the liquid path is gas "
                f"(higher transmission, {mon.gas_fraction:.0%} less liquid scattering)"
                if mon.faulty
                else None,
                "gas_fraction": mon.gas_fraction,
            }
        )
    return frames, headers, frame_info


def _condition_truth(cond: MeasurementCondition, frame_info: list[dict[str, Any]], curve_path: Path) -> dict[str, Any]:
    """The ``truth.json`` entry of one condition: its settings, the precursor's true peaks and the frames."""
    precursor = "precursor" in cond.components
    entry = cond.to_dict()
    entry.update(
        {
            "mesophase_strength": (
                C.mesophase_strength(cond.temperature_C) if cond.mesophase_strength is None else cond.mesophase_strength
            )
            if precursor
            else 0.0,
            "peaks": C.true_peaks(cond.temperature_C, cond.mesophase_strength) if precursor else [],
            "broad_maximum": (
                {
                    "q_nm": C.BROAD_MAX_Q_NM,
                    "sigma_nm": C.BROAD_MAX_WIDTH_NM,
                    "height_cm": C.broad_maximum_height(cond.temperature_C),
                }
                if precursor
                else None
            ),
            "distribution_moments": [d.moments() for d in cond.distributions],
            "liquid_transmission": cond.liquid_transmission(),
            "frames": frame_info,
            "faulty_frames": [f["file"] for f in frame_info if f["faulty"]],
            "truth_curve": f"{cond.name}/{curve_path.name}",
            "subtract_blank": "blank_230C" if cond.kind == "sample" else None,
        }
    )
    return entry


def _geometry_truth(geom: PixelGeometry, poni: str | Path, mask: str | Path | None) -> dict[str, Any]:
    """The ``truth.json`` geometry: file names and hashes, detector shape, header geometry and q range."""
    q_lo, q_hi = geom.q_range_nm()
    return {
        "poni": Path(str(poni)).name,
        "mask": Path(mask).name if mask else None,
        "poni_sha256": file_sha256(poni),
        "mask_sha256": file_sha256(mask) if mask else None,
        "shape": list(geom.shape),
        **geom.header_geometry(),
        "q_range_nm": [q_lo, q_hi],
        "polarization_factor": geom.polarization_factor,
        "dummy": -1,
        "ddummy": 0.1,
    }


def make_cdse_series(
    outdir: str | Path = "sample_data/cdse_series",
    calibration_dir: str | Path = "calibration",
    *,
    seed: int = CDSE_SERIES_SEED,
    n_frames: int = 3,
    spectra: bool = True,
) -> SeriesResult:
    """Write the calibration files and the CdSe nucleation series (the shipped sample data).

    With ``spectra`` also the matching synthetic absorbance spectra into ``outdir/spectra``
    (:func:`saxs_mc.simulate.spectra.write_spectra`; they do not change the frames).
    """
    poni, mask = write_calibration(calibration_dir)
    conditions = cdse_nucleation_conditions(n_frames=n_frames)
    if spectra:
        from saxs_mc.simulate.spectra import write_spectra

        write_spectra(Path(outdir) / "spectra", conditions, seed)
    return simulate_series(
        conditions,
        outdir,
        poni,
        mask,
        seed,
        nexus_condition="nuc230C",
        series_name="cdse-nucleation",
        description=(
            "CdSe nanocrystals from a flow reactor, in situ SAXS (simulated after Palencia et al., "
            "Nanoscale 2020, 12, 22928): nucleation 190-280 C, growth 230 C, 1.5 s; precursor blanks at "
            "230/25/50/100 C, empty cell, water"
        ),
    )
