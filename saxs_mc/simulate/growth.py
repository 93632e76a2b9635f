"""A simulated time-resolved growth run: one Eiger-like HDF5 stack of continuously growing nanocrystals.

Regenerate the shipped sample data (deterministic) with::

    saxs-mc simulate --series growth-stack -o sample_data/growth_stack --calibration calibration

What is simulated (all on the absolute scale of :mod:`saxs_mc.simulate.render`):

* CdSe nanocrystals in octadecene at 230 C growing for 60 s: volume-weighted mean
  radius ``r_v(t) = (r0^3 + (r1^3 - r0^3) t / T)^(1/3)`` from 1.0 to 2.5 nm (cube law of
  diffusion-limited coarsening), log-normal with a width ``sigma(t)`` narrowing from
  0.15 to 0.12, total volume fraction ``phi(t) = phi_inf (1 - exp(-(t + t0) / tau))``
  rising from 2.2e-4 to 1.15e-3;
* the Cd-precursor mesophase (lamellar Bragg peaks at 1.84 and 3.69 1/nm) melting
  early: strength ``s0 (1 - t / t_melt)^2`` (s0 = 0.15 of its room-temperature strength) for
  ``t < t_melt = 8 s``, 0 afterwards;
* the molten precursor, solvent and capillary at 230 C (exactly what the blank stack holds).

Each frame is rendered with the truth at its mid-exposure time.  The particle/solvent
contrast is computed with :func:`saxs_mc.models.materials.contrast` (CdSe 5.82 g/cm3 in
1-octadecene 0.789 g/cm3) at the beam energy of the geometry.

The detector is an Eiger-like crop (160 x 160 pixels of 75 um, 0.18 m, 0.1 nm,
q 0.16-5.2 1/nm) at an attenuated flux (1e10 ph/s, 0.2 s frames), so that 300 frames
plus a 30-frame blank stay near 7 MB as bitshuffle-LZ4 HDF5.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import logging
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from saxs_mc.io.atomic import atomic_path, jsonable, write_json_atomic, write_text_atomic
from saxs_mc.models.distributions import SizeDistribution
from saxs_mc.provenance import file_sha256, package_versions, utc_now
from saxs_mc.simulate import components as C
from saxs_mc.simulate.condition import CELL_TRANSMISSION, MeasurementCondition
from saxs_mc.simulate.geometry import PixelGeometry, load_geometry, make_geometry, write_mask, write_poni
from saxs_mc.simulate.render import N_Q_GRID, FrameTruth, pixel_dsigma, render_frame_truth
from saxs_mc.simulate.writers import NEXUS_DATA_PATH, NEXUS_HEADERS_PATH, write_nexus_stack

log = logging.getLogger(__name__)

#: default seed of the shipped growth stack
GROWTH_SEED = 20260060
TRUTH_SCHEMA_VERSION = 1
#: per-frame reaction time (s, mid-exposure) inside the NeXus file: the NXdata axis of the stack
NEXUS_TIME_PATH = "/entry/data/time"
#: the Eiger-like crop of the growth run (see :func:`saxs_mc.simulate.geometry.make_geometry`)
EIGER_GROWTH = {
    "shape": (160, 160),
    "pixel_m": 75e-6,
    "distance_m": 0.18,
    "wavelength_m": 1.0e-10,
    "center_1_px": 18.6,
    "center_2_px": 20.3,
    "beamstop_radius_px": 6.0,
    "beamstop_arm_halfwidth_px": 2.0,
    "dead_pixels": ((120, 150), (77, 43), (33, 97)),
}
CALIBRATION_STEM = "eiger_growth"


@dataclasses.dataclass(frozen=True)
class GrowthKinetics:
    """True time dependence of the growth run (times in s from the start of the stack).

    Attributes
    ----------
    duration_s : float
        T: the mean radius reaches ``r_end_nm`` at ``t = T``.
    r_start_nm, r_end_nm : float
        Volume-weighted mean radius at t = 0 and t = T (cube law in between).
    sigma_start, sigma_end : float
        Log-normal width (std of ln r), linear in t.
    phi_inf, phi_tau_s, phi_t0_s : float
        Total volume fraction ``phi_inf (1 - exp(-(t + t0) / tau))``.
    mesophase_strength0, mesophase_melt_s : float
        Mesophase strength ``s0 (1 - t / t_melt)^2`` before ``t_melt``, 0 after.
    temperature_C : float
        Reaction temperature (sample and blank).
    """

    duration_s: float = 60.0
    r_start_nm: float = 1.0
    r_end_nm: float = 2.5
    sigma_start: float = 0.15
    sigma_end: float = 0.12
    phi_inf: float = 1.2e-3
    phi_tau_s: float = 20.0
    phi_t0_s: float = 4.0
    mesophase_strength0: float = 0.15
    mesophase_melt_s: float = 8.0
    temperature_C: float = 230.0

    def __post_init__(self) -> None:
        bad = [
            f"{f.name}={getattr(self, f.name)!r}"
            for f in dataclasses.fields(self)
            if f.name != "temperature_C"
            and not (
                isinstance(getattr(self, f.name), (int, float))
                and math.isfinite(getattr(self, f.name))
                and getattr(self, f.name) > 0
            )
        ]
        if bad:
            raise ValueError(f"GrowthKinetics: {', '.join(bad)} must be positive finite numbers")

    def _t(self, t_s: float | np.ndarray) -> np.ndarray:
        return np.clip(np.asarray(t_s, dtype=float), 0.0, None)

    def mean_radius_nm(self, t_s: float | np.ndarray) -> np.ndarray:
        """Volume-weighted mean radius (nm) at ``t_s``."""
        r0, r1 = self.r_start_nm, self.r_end_nm
        return (r0**3 + (r1**3 - r0**3) * self._t(t_s) / self.duration_s) ** (1.0 / 3.0)

    def sigma(self, t_s: float | np.ndarray) -> np.ndarray:
        """Log-normal width (std of ln r) at ``t_s``."""
        f = np.clip(self._t(t_s) / self.duration_s, 0.0, 1.0)
        return self.sigma_start + (self.sigma_end - self.sigma_start) * f

    def volume_fraction(self, t_s: float | np.ndarray) -> np.ndarray:
        """Total particle volume fraction at ``t_s``."""
        return self.phi_inf * (1.0 - np.exp(-(self._t(t_s) + self.phi_t0_s) / self.phi_tau_s))

    def mesophase_strength(self, t_s: float | np.ndarray) -> np.ndarray:
        """Relative mesophase strength (1 = as at 25 C) at ``t_s``."""
        x = np.clip(1.0 - self._t(t_s) / self.mesophase_melt_s, 0.0, None)
        return self.mesophase_strength0 * x**2

    def distribution(self, t_s: float) -> SizeDistribution:
        """The volume-weighted log-normal at ``t_s`` (median = r_v exp(-sigma^2 / 2))."""
        s = float(self.sigma(t_s))
        median = float(self.mean_radius_nm(t_s)) * math.exp(-0.5 * s * s)
        return SizeDistribution(
            "lognormal",
            {"median_nm": median, "sigma": s},
            float(self.volume_fraction(t_s)),
            "CdSe nanocrystals (growing)",
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            **dataclasses.asdict(self),
            "formulas": {
                "mean_radius_nm": "(r_start^3 + (r_end^3 - r_start^3) t / duration)^(1/3)  (volume-weighted mean)",
                "sigma": "sigma_start + (sigma_end - sigma_start) min(t / duration, 1)  (log-normal, std of ln r)",
                "median_nm": "mean_radius_nm * exp(-sigma^2 / 2)",
                "volume_fraction": "phi_inf (1 - exp(-(t + phi_t0) / phi_tau))",
                "mesophase_strength": "mesophase_strength0 max(1 - t / mesophase_melt, 0)^2",
            },
        }


@dataclasses.dataclass(frozen=True)
class GrowthAcquisition:
    """How the run was measured: frames, timing, flux, blank."""

    n_frames: int = 300
    frame_period_s: float = 0.2
    exposure_s: float = 0.2
    flux_ph_s: float = 1.0e10
    flux_jitter: float = 0.01
    thickness_cm: float = 0.15
    n_blank_frames: int = 30
    time_points: int = 10

    def __post_init__(self) -> None:
        for name in ("n_frames", "n_blank_frames", "time_points"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"GrowthAcquisition.{name}={v!r} must be an int >= 1")
        if self.time_points > self.n_frames:
            raise ValueError(f"GrowthAcquisition.time_points={self.time_points} exceeds n_frames={self.n_frames}")
        if not (0 < self.exposure_s <= self.frame_period_s):
            raise ValueError(
                f"GrowthAcquisition.exposure_s={self.exposure_s} must be in (0, frame_period_s={self.frame_period_s}]"
            )

    def frame_times(self, i: int) -> tuple[float, float, float]:
        """(start, mid, end) of frame ``i`` in s."""
        t0 = i * self.frame_period_s
        return t0, t0 + 0.5 * self.exposure_s, t0 + self.exposure_s


@dataclasses.dataclass(frozen=True)
class GrowthStackResult:
    """What :func:`simulate_growth_stack` wrote (paths as written, under ``outdir``)."""

    outdir: Path
    truth_path: Path
    stack_path: Path
    blank_path: Path
    sidecar_path: Path
    n_frames: int
    n_blank_frames: int
    seed: int
    contrast_1e6_A2: float

    def summary(self) -> dict[str, Any]:
        return jsonable(dataclasses.asdict(self))

    def report(self) -> str:
        return "\n".join(
            [
                f"simulated growth stack in {self.outdir} (seed {self.seed})",
                f"  sample: {self.stack_path}::{NEXUS_DATA_PATH} ({self.n_frames} frames, times {NEXUS_TIME_PATH})",
                f"  blank:  {self.blank_path}::{NEXUS_DATA_PATH} ({self.n_blank_frames} frames)",
                f"  sidecar: {self.sidecar_path}; contrast {self.contrast_1e6_A2:.4g}e-6 A^-2",
                f"  truth: {self.truth_path}",
            ]
        )

    def plot(self, ax: Any = None) -> Any:
        """True mean radius and volume fraction against time (from truth.json); returns the axes."""
        import json

        if ax is None:
            from matplotlib.figure import Figure

            ax = Figure(figsize=(5, 3.2)).add_subplot()
        fr = json.loads(self.truth_path.read_text())["frames"]
        t = [f["time_s"] for f in fr]
        ax.plot(t, [f["mean_radius_nm"] for f in fr], color="C0", label="mean radius (nm)")
        ax.set_xlabel("reaction time (s)")
        ax.set_ylabel("mean radius (nm)")
        ax2 = ax.twinx()
        ax2.plot(t, [f["volume_fraction"] * 1e3 for f in fr], color="C1", label="volume fraction (1e-3)")
        ax2.set_ylabel("volume fraction (1e-3)")
        return ax


def write_growth_calibration(outdir: str | Path, *, stem: str = CALIBRATION_STEM) -> tuple[Path, Path]:
    """Write ``<stem>.poni`` and ``<stem>_mask.edf`` of the Eiger-like growth geometry into ``outdir``."""
    outdir = Path(outdir)
    ai, mask, _ = make_geometry(EIGER_GROWTH)
    return (
        write_poni(outdir / f"{stem}.poni", ai),
        write_mask(outdir / f"{stem}_mask.edf", mask, title="saxs_mc simulated Eiger-like growth-run mask"),
    )


def _stream_seeds(seed: int) -> dict[str, int]:
    ss = np.random.SeedSequence([int(seed), 7100])
    a, b = ss.spawn(2)
    return {
        "sample": int(a.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1)),
        "blank": int(b.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1)),
    }


def _frame_condition(
    kin: GrowthKinetics, acq: GrowthAcquisition, t_mid: float, contrast: float
) -> MeasurementCondition:
    return MeasurementCondition(
        name="growth_230C",
        kind="sample",
        distributions=(kin.distribution(t_mid),),
        temperature_C=kin.temperature_C,
        growth_temperature_C=kin.temperature_C,
        reaction_time_s=round(t_mid, 6),
        mesophase_strength=float(kin.mesophase_strength(t_mid)),
        thickness_cm=acq.thickness_cm,
        flux_ph_s=acq.flux_ph_s,
        exposure_s=acq.exposure_s,
        n_frames=1,
        flux_jitter=acq.flux_jitter,
        contrast_1e6_A2=contrast,
        title=f"CdSe growth at {kin.temperature_C:g} C (simulated time-resolved run)",
    )


def _blank_condition(kin: GrowthKinetics, acq: GrowthAcquisition, contrast: float) -> MeasurementCondition:
    return MeasurementCondition(
        name="blank_230C",
        kind="blank",
        temperature_C=kin.temperature_C,
        mesophase_strength=0.0,
        thickness_cm=acq.thickness_cm,
        flux_ph_s=acq.flux_ph_s,
        exposure_s=acq.exposure_s,
        n_frames=acq.n_blank_frames,
        flux_jitter=acq.flux_jitter,
        contrast_1e6_A2=contrast,
        title=f"Cd/Se precursor blank at {kin.temperature_C:g} C (molten, no particles)",
    )


def _frame_truth(kin: GrowthKinetics, acq: GrowthAcquisition, i: int, mon: FrameTruth) -> dict[str, Any]:
    t0, tm, t1 = acq.frame_times(i)
    d = kin.distribution(tm)
    mom = d.moments()
    return {
        "frame": i,
        "time_s": tm,
        "time_start_s": t0,
        "time_end_s": t1,
        "mean_radius_nm": float(kin.mean_radius_nm(tm)),
        "mean_radius_discrete_nm": mom["mean_nm"],
        "sd_nm": mom["sd_nm"],
        "median_nm": d.params["median_nm"],
        "sigma": d.params["sigma"],
        "volume_fraction": d.volume_fraction,
        "mesophase_strength": float(kin.mesophase_strength(tm)),
        "Intensity0ShutCor": mon.i0,
        "Intensity1ShutCor": mon.i1,
        "transmission": mon.transmission,
    }


def window_truth(frames: Sequence[dict[str, Any]]) -> dict[str, float]:
    """Truth of a group of frames reduced together (the reduction sums counts and monitors).

    The averaged curve is the I1-weighted mean of the frames' scattering, so the
    group's volume fraction is the I1-weighted mean of the frames', and its
    volume-weighted mean radius and width are those of the I1 x phi weighted mixture.

    Parameters
    ----------
    frames : sequence of dict
        Entries of ``truth.json["frames"]``.
    """
    if not frames:
        raise ValueError("window_truth needs at least one frame")
    w = np.array([f["Intensity1ShutCor"] for f in frames], dtype=float)
    phi = np.array([f["volume_fraction"] for f in frames], dtype=float)
    mean = np.array([f["mean_radius_discrete_nm"] for f in frames], dtype=float)
    sd = np.array([f["sd_nm"] for f in frames], dtype=float)
    wv = w * phi
    m = float(np.sum(wv * mean) / wv.sum())
    second = float(np.sum(wv * (sd**2 + mean**2)) / wv.sum())
    return {
        "time_s": float(np.sum(w * [f["time_s"] for f in frames]) / w.sum()),
        "time_start_s": float(frames[0]["time_start_s"]),
        "time_end_s": float(frames[-1]["time_end_s"]),
        "mean_radius_nm": m,
        "sd_nm": math.sqrt(max(second - m * m, 0.0)),
        "volume_fraction": float(np.sum(w * phi) / w.sum()),
        "mesophase_strength": float(np.sum(w * [f["mesophase_strength"] for f in frames]) / w.sum()),
    }


def _render_stack(
    conds: Sequence[MeasurementCondition],
    frame_idx: Sequence[int],
    geom: PixelGeometry,
    rng: np.random.Generator,
    extra: dict[str, Any],
    dsigma: dict[str, np.ndarray] | None = None,
) -> tuple[list[np.ndarray], list[dict[str, str]], list[FrameTruth]]:
    frames, headers, mons = [], [], []
    for cond, i in zip(conds, frame_idx):
        dsig = dsigma if dsigma is not None else pixel_dsigma(geom, cond)
        data, header, mon = render_frame_truth(
            cond, geom, 0 if cond.n_frames == 1 else i, rng, dsigma=dsig, header_extra={**extra, "FrameIndex": i}
        )
        frames.append(data)
        headers.append(header)
        mons.append(mon)
    return frames, headers, mons


def _write_stack(
    path: Path,
    frames: list[np.ndarray],
    headers: list[dict[str, str]],
    geom: PixelGeometry,
    poni_text: str,
    name: str,
    times: np.ndarray,
) -> Path:
    """The NeXus stack of :func:`write_nexus_stack` plus the per-frame time axis at :data:`NEXUS_TIME_PATH`."""
    import h5py

    with atomic_path(path) as tmp:
        write_nexus_stack(tmp, frames, headers, mask=geom.mask, gaps=geom.gaps, poni_text=poni_text, sample_name=name)
        with h5py.File(tmp, "r+") as f:
            ds = f.create_dataset(NEXUS_TIME_PATH, data=np.asarray(times, dtype=float))
            ds.attrs["units"] = "s"
            ds.attrs["long_name"] = "reaction time at mid-exposure"
            nxdata = f["/entry/data"]
            nxdata.attrs["axes"] = np.array(["time", ".", "."], dtype=h5py.string_dtype())
            nxdata.attrs["time_indices"] = 0
    return path


def _write_sidecar(path: Path, rows: Sequence[dict[str, Any]]) -> Path:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["frame", "time_s", "time_start_s", "time_end_s", "I0", "I1"])
    for r in rows:
        w.writerow(
            [
                r["frame"],
                f"{r['time_s']:.6f}",
                f"{r['time_start_s']:.6f}",
                f"{r['time_end_s']:.6f}",
                f"{r['Intensity0ShutCor']:.10g}",
                f"{r['Intensity1ShutCor']:.10g}",
            ]
        )
    return write_text_atomic(path, buf.getvalue())


def _contrast_for(geom: PixelGeometry):
    from saxs_mc.models.materials import contrast

    return contrast("CdSe", "octadecene", wavelength_nm=float(geom.ai.wavelength) * 1e9)


def _time_points(frames: Sequence[dict[str, Any]], n_points: int) -> list[dict[str, Any]]:
    edges = np.linspace(0, len(frames), n_points + 1).round().astype(int)
    out = []
    for k, (a, b) in enumerate(zip(edges[:-1], edges[1:])):
        out.append({"index": k, "frames": [int(a), int(b)], **window_truth(frames[a:b])})
    return out


def simulate_growth_stack(
    outdir: str | Path,
    poni: str | Path,
    mask: str | Path | None,
    seed: int = GROWTH_SEED,
    *,
    kinetics: GrowthKinetics | None = None,
    acquisition: GrowthAcquisition | None = None,
) -> GrowthStackResult:
    """Render the growth run and its blank as NeXus stacks with sidecar CSVs and ``truth.json``.

    Parameters
    ----------
    outdir : path
        Receives ``growth_230C.h5``, ``blank_230C.h5``, ``*_frames.csv`` and ``truth.json``.
    poni, mask : path
        Geometry (e.g. ``calibration/eiger_growth.poni``) and mask.
    seed : int
        Master seed; the sample and blank stacks get independent streams.
    kinetics : GrowthKinetics or None
    acquisition : GrowthAcquisition or None

    Returns
    -------
    GrowthStackResult
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed={seed!r} must be an int >= 0 so the stack is reproducible")
    kin = GrowthKinetics() if kinetics is None else kinetics
    acq = GrowthAcquisition() if acquisition is None else acquisition
    outdir = Path(outdir)
    geom = load_geometry(poni, mask)
    con = _contrast_for(geom)
    seeds = _stream_seeds(int(seed))
    poni_text = Path(poni).read_text()
    extra = {"MaskFileName": Path(mask).name if mask else "", "SimulationSeed": int(seed)}
    mids = [acq.frame_times(i)[1] for i in range(acq.n_frames)]
    conds = [_frame_condition(kin, acq, t, con.contrast_1e6_A2) for t in mids]
    log.info("rendering the growth stack (%d frames)", acq.n_frames)
    frames, headers, mons = _render_stack(
        conds, range(acq.n_frames), geom, np.random.default_rng(seeds["sample"]), extra
    )
    truth_frames = [_frame_truth(kin, acq, i, m) for i, m in enumerate(mons)]
    stack = _write_stack(outdir / "growth_230C.h5", frames, headers, geom, poni_text, "growth_230C", np.array(mids))
    sidecar = _write_sidecar(outdir / "growth_230C_frames.csv", truth_frames)
    del frames
    bcond = _blank_condition(kin, acq, con.contrast_1e6_A2)
    bframes, bheaders, bmons = _render_stack(
        [bcond] * acq.n_blank_frames,
        range(acq.n_blank_frames),
        geom,
        np.random.default_rng(seeds["blank"]),
        extra,
        pixel_dsigma(geom, bcond),
    )
    bt = [acq.frame_times(i) for i in range(acq.n_blank_frames)]
    blank = _write_stack(
        outdir / "blank_230C.h5", bframes, bheaders, geom, poni_text, "blank_230C", np.array([t[1] for t in bt])
    )
    _write_sidecar(
        outdir / "blank_230C_frames.csv",
        [
            {
                "frame": i,
                "time_s": t[1],
                "time_start_s": t[0],
                "time_end_s": t[2],
                "Intensity0ShutCor": m.i0,
                "Intensity1ShutCor": m.i1,
            }
            for i, (t, m) in enumerate(zip(bt, bmons))
        ],
    )
    truth = _truth_document(outdir, poni, mask, geom, int(seed), kin, acq, con, truth_frames, stack, blank, sidecar)
    truth_path = write_json_atomic(outdir / "truth.json", jsonable(truth))
    return GrowthStackResult(
        outdir=outdir,
        truth_path=truth_path,
        stack_path=stack,
        blank_path=blank,
        sidecar_path=sidecar,
        n_frames=acq.n_frames,
        n_blank_frames=acq.n_blank_frames,
        seed=int(seed),
        contrast_1e6_A2=con.contrast_1e6_A2,
    )


def _truth_document(
    outdir: Path,
    poni: str | Path,
    mask: str | Path | None,
    geom: PixelGeometry,
    seed: int,
    kin: GrowthKinetics,
    acq: GrowthAcquisition,
    con: Any,
    frames: list[dict[str, Any]],
    stack: Path,
    blank: Path,
    sidecar: Path,
) -> dict[str, Any]:
    q_lo, q_hi = geom.q_range_nm()
    return {
        "schema_version": TRUTH_SCHEMA_VERSION,
        "series": "growth-stack",
        "description": (
            "simulated time-resolved growth run: CdSe nanocrystals in octadecene at 230 C, mean radius "
            "1.0 -> 2.5 nm over 60 s, precursor mesophase melting within 8 s; one Eiger-like "
            "bitshuffle-LZ4 NeXus stack + a precursor blank stack"
        ),
        "created": utc_now(),
        "generator": "saxs_mc.simulate.growth.simulate_growth_stack",
        "seed": seed,
        "units": {"q": "1/nm", "dsigma": "1/cm", "radius": "nm", "time": "s", "temperature": "C", "thickness": "cm"},
        "absolute_scale_convention": (
            "counts_p = Intensity1ShutCor * SampleThickness_cm * dSigma/dOmega(q_p) [1/cm] "
            "* dOmega_p [sr, absolute] * pol_p [pyFAI polarization(factor="
            "PolarizationFactor)]; no dark current; calibration_factor = 1"
        ),
        "geometry": {
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
        },
        "contrast_1e6_A2": con.contrast_1e6_A2,
        "contrast": con.summary(),
        "kinetics": kin.to_dict(),
        "acquisition": dataclasses.asdict(acq),
        "transmission": {"cell": CELL_TRANSMISSION, "note": "liquid exp(-2.0/cm * thickness), flux jitter in monitors"},
        "mesophase": {
            "phase": "lamellar",
            "d_nm": C.MESOPHASE_D_NM,
            "peaks": [dict(p) for p in C.MESOPHASE_PEAKS],
            "strength_vs_time": "mesophase_strength0 (1 - t / mesophase_melt_s)^2 before melting, then 0",
        },
        "stack": {
            "file": stack.relative_to(outdir).as_posix(),
            "data_path": NEXUS_DATA_PATH,
            "time_path": NEXUS_TIME_PATH,
            "headers_path": NEXUS_HEADERS_PATH,
            "monitor_i0_path": "/entry/monitor_i0/data",
            "monitor_i1_path": "/entry/monitor_i1/data",
            "sidecar": sidecar.relative_to(outdir).as_posix(),
            "n_frames": acq.n_frames,
            "compression": "bitshuffle-LZ4 (hdf5plugin)",
            "subtract_blank": "blank_230C",
        },
        "blank": {
            "file": blank.relative_to(outdir).as_posix(),
            "data_path": NEXUS_DATA_PATH,
            "sidecar": "blank_230C_frames.csv",
            "n_frames": acq.n_blank_frames,
            "temperature_C": kin.temperature_C,
            "mesophase_strength": 0.0,
            "broad_maximum": {
                "q_nm": C.BROAD_MAX_Q_NM,
                "sigma_nm": C.BROAD_MAX_WIDTH_NM,
                "height_cm": C.broad_maximum_height(kin.temperature_C),
            },
        },
        "frames": frames,
        "time_points": {
            "grouping": f"{acq.time_points} equal groups of consecutive frames",
            "points": _time_points(frames, acq.time_points),
        },
        "n_q_grid": N_Q_GRID,
        "versions": package_versions(),
    }


def make_growth_stack(
    outdir: str | Path = "sample_data/growth_stack",
    calibration_dir: str | Path = "calibration",
    *,
    seed: int = GROWTH_SEED,
) -> GrowthStackResult:
    """Write the growth-run calibration files and the shipped growth stack."""
    poni, mask = write_growth_calibration(calibration_dir)
    return simulate_growth_stack(outdir, poni, mask, seed)
