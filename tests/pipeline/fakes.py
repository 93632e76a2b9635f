"""Fake step functions and a fake experiment for testing the engine without physics.

A fake "frame" is a small text file ``radius_nm=<r> width_nm=<w> [FAIL]``.
The fake steps follow the real steps' result schemas (see
:mod:`saxs_mc.pipeline.report`): the fit writes a volume-weighted
histogram (Gaussian around the mean frame radius, plus seeded noise, so
results depend on the per-sample seed) so that the report and read-out run
on it.  ``SAXS_MC_FAKE_DELAY`` (seconds) slows every step down (kill tests);
a frame containing ``FAIL`` makes the reduce step raise.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np

from saxs_mc.io.atomic import write_json_atomic
from saxs_mc.io.curves import Curve, read_curve, write_curve_ascii
from saxs_mc.pipeline.config import DEFAULT_POPULATIONS
from saxs_mc.pipeline.tasks import StepContext

Q = np.linspace(0.2, 5.0, 60)


def _delay() -> None:
    d = float(os.environ.get("SAXS_MC_FAKE_DELAY", "0") or 0)
    if d > 0:
        time.sleep(d)


def _maybe_die(ctx: StepContext) -> None:
    """``SAXS_MC_FAKE_KILL=<step id>:once|always``: that step kills its own worker (SIGKILL), once or every time."""
    spec = os.environ.get("SAXS_MC_FAKE_KILL", "")
    sid, _, mode = spec.partition(":")
    if sid != ctx.step.id:
        return
    marker = ctx.root.parent / f"killed-{ctx.step.kind}-{ctx.step.target}"
    if mode == "once" and marker.exists():
        return
    marker.write_text(str(os.getpid()))
    (ctx.outdir / "half_written.dat").write_text("partial")  # left in the staging folder by the death
    os.kill(os.getpid(), 9)


def _parse(path: str) -> dict[str, float]:
    text = Path(path).read_text()
    if "FAIL" in text:
        raise RuntimeError(f"fake reduction failure in {Path(path).name}")
    out = {}
    for tok in text.split():
        if "=" in tok:
            k, v = tok.split("=")
            out[k] = float(v)
    return out


def reduce_step(ctx: StepContext) -> dict:
    _delay()
    s = ctx.settings
    frames = [_parse(p) for p in s["sources"]]
    r = float(np.mean([f.get("radius_nm", 0.0) for f in frames]))
    w = float(np.mean([f.get("width_nm", 0.1) for f in frames]))
    inten = 1.0 + r * np.exp(-((Q * w) ** 2))
    curve = Curve(Q, inten, 0.01 * inten, "1/cm", s["title"], {"radius_nm": r, "width_nm": w})
    dat = write_curve_ascii(ctx.outdir / f"{s['title']}.dat", curve)
    js = write_json_atomic(ctx.outdir / f"{s['title']}.json", {"radius_nm": r, "width_nm": w})
    return {
        "outputs": {"curve": dat, "pickle": js},
        "n_frames": len(frames),
        "n_rejected": 0,
        "rejected": [],
        "intensity_unit": "1/cm",
        "pid": os.getpid(),
    }


def subtract_step(ctx: StepContext) -> dict:
    _delay()
    s = ctx.settings
    smp = read_curve(ctx.upstream_output(f"reduce/{s['sample']}", "curve"))
    blk = read_curve(ctx.upstream_output(f"reduce/{s['blank']}", "curve"))
    params = json.loads(ctx.upstream_output(f"reduce/{s['sample']}", "pickle").read_text())
    sub = Curve(smp.q, smp.intensity - s["scale"] * blk.intensity + 1.0, smp.sigma, "1/cm", s["sample"])
    dat = write_curve_ascii(ctx.outdir / f"{s['sample']}_sub.dat", sub)
    js = write_json_atomic(ctx.outdir / f"{s['sample']}_sub.json", params)
    return {"outputs": {"curve": dat, "pickle": js}}


def fit_step(ctx: StepContext) -> dict:
    _delay()
    _maybe_die(ctx)
    s = ctx.settings
    params = json.loads(ctx.upstream_output(f"subtract/{s['sample']}", "pickle").read_text())
    r0, w = params["radius_nm"], params["width_nm"]
    edges = np.geomspace(0.4, 4.0, 61)
    c = np.sqrt(edges[1:] * edges[:-1])
    rng = np.random.default_rng(s["seed"])
    vf = np.exp(-0.5 * ((c - r0) / w) ** 2) * (1 + 0.02 * rng.standard_normal(c.size))
    vf = np.clip(vf, 0, None)
    vf /= vf.sum()
    q = Q
    model = 1.0 + r0 * np.exp(-((q * w) ** 2))
    digest = {
        "radius_edges_nm": edges.tolist(),
        "radius_centers_nm": c.tolist(),
        "volume_fraction": vf.tolist(),
        "volume_fraction_std": (0.02 * vf).tolist(),
        "bin_scale": "log",
        "q_nm": q.tolist(),
        "intensity": model.tolist(),
        "sigma": (0.01 * model).tolist(),
        "model": model.tolist(),
        "chi2_r": float(1.0 + 0.01 * rng.random()),
        "seed": s["seed"],
        "intensity_unit": "1/cm",
    }
    d = write_json_atomic(ctx.outdir / f"{s['sample']}_digest.json", digest)
    return {"outputs": {"digest": d}, "chi2_r": digest["chi2_r"], "pid": os.getpid()}


def peaks_step(ctx: StepContext) -> dict:
    _delay()
    s = ctx.settings
    peaks = []
    if s["role"] == "blank" and s.get("temperature_C", 999) < 75:
        peaks = [
            {
                "q_nm": 1.84,
                "d_nm": 2 * np.pi / 1.84,
                "fwhm": 0.08,
                "area": 1.0 / (1 + s["temperature_C"]),
                "significance": 50.0,
            }
        ]
    out = write_json_atomic(ctx.outdir / f"{s['name']}_peaks.json", {"peaks": peaks})
    return {
        "outputs": {"json": out},
        "peaks": peaks,
        "phase": {"name": "lamellar" if peaks else "none", "lattice_nm": 3.41 if peaks else None},
    }


def mesophase_step(ctx: StepContext) -> dict:
    s = ctx.settings
    areas = []
    for b in s["blanks"]:
        doc = json.loads(ctx.upstream_output(f"peaks/{b}", "json").read_text())
        areas.append(sum(p["area"] for p in doc["peaks"]))
    t = s["temperatures_C"]
    tm = next((0.5 * (t[i - 1] + t[i]) for i in range(1, len(t)) if areas[i] == 0 and areas[i - 1] > 0), None)
    out = write_json_atomic(ctx.outdir / "mesophase.json", {"areas": areas})
    return {"outputs": {"json": out}, "temperatures_C": t, "intensity": areas, "melting_temperature_C": tm}


#: relative one-sigma uncertainty of the fake decomposition's shares (plus an absolute 0.01)
FAKE_SHARE_REL_STD = 0.05


def _fake_terms(families: list[dict], r0: float, w: float) -> list[dict]:
    """Decomposition terms of the fake series: a broad sample (w >= 0.05 nm) is all continuous; a narrow one at
    r0 is split linearly between the two families around it (r0 = 0.96 nm: 75 % at 0.94 nm, 25 % at 1.02 nm)."""
    radii = [f["radius_nm"] for f in families]
    shares = [0.0] * len(radii)
    cont = 1.0 if w >= 0.05 else 0.0
    if not cont:
        k = int(np.searchsorted(radii, r0))
        if k == 0 or k == len(radii):
            shares[min(k, len(radii) - 1)] = 1.0
        else:
            t = (r0 - radii[k - 1]) / (radii[k] - radii[k - 1])
            shares[k - 1], shares[k] = 1.0 - t, t
    terms = [
        {
            "name": f["name"],
            "kind": "family",
            "status": "present" if x > 0.005 else "absent",
            "share": x if x > 0.005 else 0.0,
            "share_std": FAKE_SHARE_REL_STD * x + 0.01,
            "share_upper": None if x > 0.005 else 0.03,
        }
        for f, x in zip(families, shares)
    ]
    terms.append(
        {
            "name": "continuous",
            "kind": "continuous",
            "status": "present" if cont else "absent",
            "share": cont,
            "share_std": 0.01,
            "share_upper": None,
        }
    )
    return terms


def families_step(ctx: StepContext) -> dict:
    """Fake family decomposition (schema of saxs_mc.pipeline.steps.families_step)."""
    _delay()
    s = ctx.settings
    params = json.loads(ctx.upstream_output(f"subtract/{s['sample']}", "pickle").read_text())
    terms = _fake_terms(s["families"], params["radius_nm"], params["width_nm"])
    out = write_json_atomic(ctx.outdir / f"{s['sample']}_families.json", {"terms": terms})
    return {"outputs": {"json": out}, "terms": terms, "resolvable_radius_nm": 0.42, "chi2_r": 1.0, "warnings": []}


#: the sample whose fake decomposition / spectrum read-out fails in :func:`failing_families_step` / ...
FAILING_SAMPLE = "nuc220C"


def failing_families_step(ctx: StepContext) -> dict:
    """:func:`families_step`, except that the decomposition of :data:`FAILING_SAMPLE` raises."""
    if ctx.settings["sample"] == FAILING_SAMPLE:
        raise RuntimeError(f"fake decomposition failure for {FAILING_SAMPLE}")
    return families_step(ctx)


def failing_optical_step(ctx: StepContext) -> dict:
    """:func:`optical_step`, except that the spectrum of :data:`FAILING_SAMPLE` raises."""
    if ctx.settings["sample"] == FAILING_SAMPLE:
        raise RuntimeError(f"fake spectrum failure for {FAILING_SAMPLE}")
    return optical_step(ctx)


def optical_step(ctx: StepContext) -> dict:
    """Fake absorbance read-out: the spectrum file holds ``family=<name> nm=<wavelength> height=<h>`` lines."""
    s = ctx.settings
    peaks = []
    for line in Path(s["spectrum"]).read_text().splitlines():
        kv = dict(tok.split("=", 1) for tok in line.split() if "=" in tok)
        if "nm" in kv:
            peaks.append(
                {
                    "wavelength_nm": float(kv["nm"]),
                    "height": float(kv.get("height", 0.1)),
                    "family": kv.get("family"),
                    "diameter_nm": float(kv["d"]) if "d" in kv else None,
                }
            )
    out = write_json_atomic(ctx.outdir / f"{s['sample']}_optical.json", {"peaks": peaks})
    return {"outputs": {"json": out}, "spectrum": s["sample"], "peaks": peaks, "warnings": []}


#: the fake step functions by kind (top-level functions: they pickle by reference to spawned and dask workers)
FAKE_FUNCS = {
    "reduce": reduce_step,
    "subtract": subtract_step,
    "fit": fit_step,
    "peaks": peaks_step,
    "mesophase": mesophase_step,
    "families": families_step,
    "optical": optical_step,
}


# ----------------------------------------------------------------------
#: (nucleation T, mean radius, width): quantized families at low T, broad growth at high T
SERIES = [
    (190, 0.87, 0.02),
    (200, 0.94, 0.02),
    (210, 0.94, 0.02),
    (220, 0.94, 0.02),
    (240, 1.02, 0.02),
    (250, 1.15, 0.12),
    (260, 1.28, 0.13),
    (280, 1.60, 0.15),
]


#: the reference study's population windows (MSC families and regular NCs), as the shipped CdSe config writes them
CDSE_POPULATIONS_TOML = "".join(
    f'[[fit.populations]]\nname = "{w.name}"\nr_min_nm = {w.r_min_nm}\n'
    + (f"r_max_nm = {w.r_max_nm}\n" if w.r_max_nm != float("inf") else "")
    + (
        f'family_radius_nm = {w.family_radius_nm}\nlabel = "{w.label}"\nabsorption_nm = {w.absorption_nm}\n'
        if w.family_radius_nm is not None
        else ""
    )
    for w in DEFAULT_POPULATIONS
)


def make_experiment(
    tmp: Path,
    *,
    series=SERIES,
    n_frames: int = 2,
    fail: tuple[str, ...] = (),
    extra: str = "",
    blanks=(230, 25, 100),
    populations: bool = True,
) -> Path:
    """Write fake frames, calibration files and a config (with the CdSe population windows unless
    ``populations=False``); return the config path."""
    data = tmp / "data"
    (tmp / "cal").mkdir(parents=True, exist_ok=True)
    (tmp / "cal" / "geom.poni").write_text("Distance: 0.55\n")
    (tmp / "cal" / "mask.edf").write_text("mask")
    lines = [
        "schema_version = 1",
        'name = "fake_series"',
        "[geometry]",
        'poni = "cal/geom.poni"',
        'mask = "cal/mask.edf"',
        "[fit]",
        "contributions = 10",
        "repetitions = 2",
        "seed = 7",
        CDSE_POPULATIONS_TOML if populations else "",
        "[output]",
        'dir = "out"',
        "figures = false",  # the engine tests do not need matplotlib
        "[execution]",
        "n_workers = 1",
    ]
    for t, r, w in series:
        name = f"nuc{t}C"
        d = data / name
        d.mkdir(parents=True, exist_ok=True)
        for i in range(n_frames):
            (d / f"{name}_{i:05d}.edf").write_text(
                f"radius_nm={r} width_nm={w} frame={i}" + (" FAIL" if name in fail and i == 0 else "")
            )
        lines += [
            "[[samples]]",
            f'name = "{name}"',
            f'frames = "data/{name}/*.edf"',
            f"nucleation_temperature_C = {t}",
            "growth_temperature_C = 230",
            "reaction_time_s = 1.5",
        ]
    for t in blanks:
        name = f"blank_{t:03d}C"
        d = data / name
        d.mkdir(parents=True, exist_ok=True)
        for i in range(n_frames):
            (d / f"{name}_{i:05d}.edf").write_text(f"radius_nm=0.1 width_nm=1.0 frame={i}")
        lines += ["[[blanks]]", f'name = "{name}"', f'frames = "data/{name}/*.edf"', f"temperature_C = {t}"]
    cfg = tmp / "pipeline.toml"
    text = "\n".join(lines) + "\n" + extra
    cfg.write_text(text)
    return cfg
