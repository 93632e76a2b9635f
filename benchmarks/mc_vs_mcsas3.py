"""Benchmark: saxs_mc's numba Monte Carlo fit against McSAS3 on the same simulated curve.

Usage (from the repository root)::

    .venv/bin/python benchmarks/mc_vs_mcsas3.py [--mcsas3-repetitions 4] [--max-iter 100000] [--json out.json]

McSAS3 (>= 1.4) needs Python >= 3.12, so this script creates its own virtual
environment ``.bench_venv_mcsas3/`` (gitignored) with a Python 3.12+ interpreter
found on PATH (``python3.12``/``python3.13``, working pyenv shims), in pyenv's
version directory, or given with ``--python`` / ``$MCSAS3_PYTHON``, installs
``mcsas3`` there with pip, and runs McSAS3 in a subprocess.

Both programs fit the same curve: two populations of CdSe spheres in
octadecene (absolute dSigma/dOmega in 1/cm from ``saxs_mc.models``), a flat
background, 220 q points 0.15-6 1/nm, 1 % Gaussian noise; 300 contributions,
the same radius range (pi/q_max .. pi/q_min) sampled log-uniformly, a flat
background fitted.  McSAS3 gets the intensities in 1/m (x 100), the unit
its absolute volume fractions assume.  McSAS3 uses its built-in sphere model (``mcsas_sphere``),
its default convergence criterion (chi2/n_q <= 1) and ``--max-iter`` as the
iteration cap (as in issue 4: 100 000).  Both are timed on ONE core (McSAS3
repetitions run one after another in one process; saxs_mc with
``numba.set_num_threads(1)``); saxs_mc is also timed on all cores, and once
more on one core with ``chi2_k=0`` (stop at chi2_r <= 1 like McSAS3).  Reported:
time per iteration and per repetition, their ratios, and the recovered
populations (volume-weighted mean radius, standard deviation, volume share,
absolute volume fraction; mean +- std over repetitions) next to the truth.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
CONTRAST = 34.65  # CdSe in octadecene, 1e-6 A^-2
POPULATIONS = [
    {
        "kind": "gaussian",
        "mean_nm": 1.2,
        "sd_nm": 0.06,
        "volume_fraction": 6e-4,
        "label": "small",
        "range_nm": (0.8, 2.0),
    },
    {
        "kind": "gaussian",
        "mean_nm": 4.0,
        "sd_nm": 0.2,
        "volume_fraction": 4e-4,
        "label": "large",
        "range_nm": (3.0, 5.5),
    },
]
BACKGROUND = 0.01  # 1/cm

WORKER = textwrap.dedent(
    r"""
    import json, sys, time, logging
    import numpy as np, pandas
    logging.disable(logging.WARNING)
    from mcsas3 import prepare_1d_processing_data, selected_bundle_from_processing, __version__
    from mcsas3.mc_core import McCore
    from mcsas3.mc_model import McModel
    from mcsas3.mc_opt import McOpt

    cfg = json.load(open(sys.argv[1]))
    d = np.load(cfg["data"])
    # McSAS3 works in SI-like units: I in 1/(m sr) for absolute volume fractions, so 1/cm x 100
    df = pandas.DataFrame({"Q": d["q"], "I": d["i"] * 100.0, "ISigma": d["sigma"] * 100.0})
    processing = prepare_1d_processing_data(df, nbins=0)  # no rebinning: fit exactly these points
    bundle = selected_bundle_from_processing(processing)
    out = {"version": __version__, "repetitions": []}
    for rep in range(cfg["repetitions"]):
        model = McModel(modelName="mcsas_sphere", nContrib=cfg["contributions"],
                        fitParameterLimits={"radius": tuple(cfg["r_range_nm"])},
                        staticParameters={"sld": cfg["contrast"], "sld_solvent": 0.0},
                        seed=cfg["seed"] + rep, logRandom=True)
        opt = McOpt(maxIter=cfg["max_iter"], maxAccept=cfg["max_iter"], convCrit=cfg["conv_crit"])
        opt.repetition = rep
        t0 = time.perf_counter()
        core = McCore(bundle, model=model, opt=opt)
        core.optimize()
        el = time.perf_counter() - t0
        out["repetitions"].append({
            "seconds": el, "steps": int(opt.step), "accepted": int(opt.accepted), "gof": float(opt.gof),
            "scaling": float(opt.x0[0]), "background": float(opt.x0[1]) / 100.0,
            "radii_nm": np.asarray(model.parameterSet["radius"], dtype=float).tolist(),
            "vf_factor": float(model.volume_fraction_correction_factor()),
        })
        print(f"McSAS3 repetition {rep}: {el:.1f} s, {opt.step} iterations, chi2/n {opt.gof:.4f}", file=sys.stderr, flush=True)
    json.dump(out, open(cfg["out"], "w"))
    """
)


# ---------------------------------------------------------------- environment
def find_python312(explicit: str | None) -> str:
    """A Python >= 3.12 interpreter, found portably (see module docstring)."""
    candidates = []
    if explicit:
        candidates.append(explicit)
    if os.environ.get("MCSAS3_PYTHON"):
        candidates.append(os.environ["MCSAS3_PYTHON"])
    for name in ("python3.12", "python3.13", "python3.14"):
        if p := shutil.which(name):
            candidates.append(p)
    pyenv_root = (
        os.environ.get("PYENV_ROOT")
        or (
            subprocess.run(["pyenv", "root"], capture_output=True, text=True).stdout.strip()
            if shutil.which("pyenv")
            else ""
        )
        or str(Path.home() / ".pyenv")
    )
    candidates += sorted(glob.glob(os.path.join(pyenv_root, "versions", "3.1[2-9]*", "bin", "python3")))
    for c in candidates:
        try:
            r = subprocess.run(
                [c, "-c", "import sys; print(sys.version_info >= (3, 12))"], capture_output=True, text=True, timeout=30
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
        if r.returncode == 0 and r.stdout.strip() == "True":
            return c
    raise SystemExit(
        "no Python >= 3.12 found for McSAS3: install one (e.g. pyenv install 3.12) or pass --python /path/to/python3.12"
    )


def ensure_venv(venv: Path, python: str) -> Path:
    """Create ``venv`` with McSAS3 installed if needed; return its python."""
    vpy = venv / "bin" / "python"
    if not vpy.exists():
        print(f"creating {venv} with {python}", file=sys.stderr)
        subprocess.run([python, "-m", "venv", str(venv)], check=True)
    if subprocess.run([str(vpy), "-c", "import mcsas3"], capture_output=True).returncode != 0:
        print("installing mcsas3>=1.4 into the benchmark venv", file=sys.stderr)
        subprocess.run([str(vpy), "-m", "pip", "install", "-q", "mcsas3>=1.4"], check=True)
    return vpy


# ---------------------------------------------------------------- data and statistics
def simulate(n_q: int, seed: int):
    from saxs_mc.models.distributions import make_distribution

    q = np.geomspace(0.15, 6.0, n_q)
    i_true = BACKGROUND + sum(
        make_distribution({k: v for k, v in p.items() if k != "range_nm"}).dsigma(q, CONTRAST) for p in POPULATIONS
    )
    sigma = 0.01 * i_true
    return q, i_true + np.random.default_rng(seed).normal(0, sigma), sigma


def population_stats(radii: np.ndarray, phi_k: np.ndarray) -> list[dict]:
    """Per population: volume-weighted mean, sd, volume share and absolute volume fraction (mean, std over reps)."""
    out = []
    for p in POPULATIONS:
        lo, hi = p["range_nm"]
        per = []
        for r, ph in zip(radii, phi_k):
            sel = r[(r >= lo) & (r <= hi)]
            per.append(
                [
                    sel.mean() if sel.size else np.nan,
                    sel.std() if sel.size > 1 else np.nan,
                    sel.size / r.size,
                    sel.size * ph,
                ]
            )
        per = np.array(per)
        m = np.nanmean(per, axis=0)
        s = np.nanstd(per, axis=0, ddof=1) if len(per) > 1 else np.full(4, np.nan)
        out.append(
            {
                "mean_nm": m[0],
                "mean_nm_std": s[0],
                "sd_nm": m[1],
                "sd_nm_std": s[1],
                "share": m[2],
                "share_std": s[2],
                "volume_fraction": m[3],
                "volume_fraction_std": s[3],
            }
        )
    return out


def truth_stats() -> list[dict]:
    from saxs_mc.models.distributions import make_distribution

    total = sum(p["volume_fraction"] for p in POPULATIONS)
    out = []
    for p in POPULATIONS:
        mom = make_distribution({k: v for k, v in p.items() if k != "range_nm"}).moments()
        out.append(
            {
                "mean_nm": mom["mean_nm"],
                "sd_nm": mom["sd_nm"],
                "share": p["volume_fraction"] / total,
                "volume_fraction": p["volume_fraction"],
            }
        )
    return out


# ---------------------------------------------------------------- runs
def run_mcsas3(vpy: Path, q, i, sigma, r_range, args, tmp: Path) -> dict:
    np.savez(tmp / "curve.npz", q=q, i=i, sigma=sigma)
    (tmp / "worker.py").write_text(WORKER)
    cfg = {
        "data": str(tmp / "curve.npz"),
        "out": str(tmp / "mcsas3.json"),
        "repetitions": args.mcsas3_repetitions,
        "contributions": args.contributions,
        "r_range_nm": list(r_range),
        "contrast": CONTRAST,
        "seed": args.seed,
        "max_iter": args.max_iter,
        "conv_crit": 1.0,
    }
    (tmp / "cfg.json").write_text(json.dumps(cfg))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    subprocess.run([str(vpy), str(tmp / "worker.py"), str(tmp / "cfg.json")], check=True, env=env)
    res = json.loads((tmp / "mcsas3.json").read_text())
    reps = res["repetitions"]
    radii = np.array([r["radii_nm"] for r in reps])
    # McSAS3's own absolute scaling (McModelHistogrammer): each contribution carries scaling * vf_factor
    phi_k = np.array([r["scaling"] * r["vf_factor"] for r in reps])
    secs = np.array([r["seconds"] for r in reps])
    steps = np.array([r["steps"] for r in reps])
    return {
        "name": f"McSAS3 {res['version']}",
        "sec_per_rep": secs.mean(),
        "sec_per_iter": secs.sum() / steps.sum(),
        "iterations": steps.mean(),
        "chi2_r": np.mean([r["gof"] for r in reps]) * len(q) / (len(q) - 2),
        "converged": f"{sum(r['gof'] <= 1.0 for r in reps)}/{len(reps)} (chi2/n <= 1)",
        "repetitions": len(reps),
        "populations": population_stats(radii, phi_k),
    }


def run_saxs_mc(q, i, sigma, r_range, args) -> list[dict]:
    """saxs_mc on 1 thread and on all threads with its default convergence (run each repetition
    to its chi2 plateau, ``chi2_k=None``), and on 1 thread with ``chi2_k=0`` (stop at
    chi2_r <= 1, McSAS3's criterion)."""
    import warnings

    import numba

    from saxs_mc.fit import FitWarning, fit_arrays

    warnings.simplefilter("ignore", FitWarning)  # non-converged repetitions are counted in the table
    kw = dict(
        r_range_nm=r_range,
        contributions=args.contributions,
        contrast=CONTRAST,
        intensity_unit="1/cm",
        seed=args.seed,
        radius_sampling="log",
        max_iterations=args.max_iter,
    )
    fit_arrays(q, i, sigma, **{**kw, "repetitions": 2})  # compile / load the kernel cache
    before = numba.get_num_threads()
    out = []
    for threads, k in ((1, None), (before, None), (1, 0.0)):
        numba.set_num_threads(threads)
        t0 = time.perf_counter()
        res = fit_arrays(q, i, sigma, **{**kw, "repetitions": args.saxs_mc_repetitions, "chi2_k": k})
        wall = time.perf_counter() - t0
        rule = "plateau (default)" if k is None else f"chi2_k={k:g}"
        out.append(
            {
                "name": f"saxs_mc ({threads} thread{'s' if threads > 1 else ''}, {rule})",
                "threads": threads,
                "chi2_k": k,
                "sec_per_rep": res.elapsed_s / res.n_repetitions,
                "sec_per_iter": res.time_per_iteration_s,
                "wall_s": wall,
                "iterations": float(res.iterations.mean()),
                "chi2_r": float(res.chi2_r.mean()),
                "converged": f"{int(res.converged.sum())}/{res.n_repetitions}"
                + (" (plateau)" if k is None else f" (chi2_r <= {res.chi2_r_target:.3f})"),
                "repetitions": res.n_repetitions,
                "populations": population_stats(np.asarray(res.radii_nm), np.asarray(res.phi_per_contribution)),
            }
        )
    numba.set_num_threads(before)
    return out


def fmt_pop(p: dict, truth: dict | None = None) -> str:
    if truth is not None:
        return (
            f"{p['mean_nm']:.4f} ({100 * (p['mean_nm'] / truth['mean_nm'] - 1):+.2f}%) | {p['sd_nm']:.4f} | "
            f"{p['share']:.4f} | {p['volume_fraction']:.3e} ({100 * (p['volume_fraction'] / truth['volume_fraction'] - 1):+.1f}%)"
        )
    return f"{p['mean_nm']:.4f} | {p['sd_nm']:.4f} | {p['share']:.4f} | {p['volume_fraction']:.3e}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--python", help="Python >= 3.12 for the McSAS3 venv")
    ap.add_argument("--venv", type=Path, default=REPO / ".bench_venv_mcsas3")
    ap.add_argument("--n-q", type=int, default=220)
    ap.add_argument("--contributions", type=int, default=300)
    ap.add_argument("--mcsas3-repetitions", type=int, default=4)
    ap.add_argument("--saxs-mc-repetitions", type=int, default=10)
    ap.add_argument("--max-iter", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", type=Path, help="also write the results as JSON")
    args = ap.parse_args(argv)

    q, i, sigma = simulate(args.n_q, args.seed)
    r_range = (float(np.pi / q.max()), float(np.pi / q.min()))
    vpy = ensure_venv(args.venv, find_python312(args.python))
    with tempfile.TemporaryDirectory() as tmp:
        mc3 = run_mcsas3(vpy, q, i, sigma, r_range, args, Path(tmp))
    s1, sn, s0 = run_saxs_mc(q, i, sigma, r_range, args)
    truth = truth_stats()

    lines = [
        f"Curve: {args.n_q} q points {q.min():.3g}-{q.max():.3g} 1/nm, 1 % noise; {args.contributions} contributions; "
        f"radius range {r_range[0]:.3f}-{r_range[1]:.2f} nm (log-uniform); iteration cap {args.max_iter}",
        "",
        "| program | reps | iterations/rep | time/iteration | time/repetition | chi2_r | converged |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in (mc3, s1, sn, s0):
        lines.append(
            f"| {r['name']} | {r['repetitions']} | {r['iterations']:.0f} | {r['sec_per_iter'] * 1e6:.3f} us | "
            f"{r['sec_per_rep']:.4g} s | {r['chi2_r']:.3f} | {r['converged']} |"
        )
    lines += [
        "",
        f"Ratio McSAS3 / saxs_mc (1 core): time per iteration {mc3['sec_per_iter'] / s1['sec_per_iter']:.0f}x, "
        f"time per repetition {mc3['sec_per_rep'] / s1['sec_per_rep']:.0f}x; "
        f"with {sn['threads']} threads: per repetition {mc3['sec_per_rep'] / sn['sec_per_rep']:.0f}x; "
        f"1 core with McSAS3's target (chi2_k=0): per repetition {mc3['sec_per_rep'] / s0['sec_per_rep']:.0f}x",
        "",
        "| population | source | mean r (nm) (error) | sd r (nm) | volume share | volume fraction (error) |",
        "|---|---|---|---|---|---|",
    ]
    for k, p in enumerate(POPULATIONS):
        t = truth[k]
        lines.append(f"| {p['label']} {p['range_nm'][0]}-{p['range_nm'][1]} nm | truth | {fmt_pop(t)} |")
        for r in (mc3, s1, s0):
            lines.append(f"| | {r['name']} | {fmt_pop(r['populations'][k], t)} |")
    text = "\n".join(lines)
    print(text)
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "mcsas3": mc3,
                    "saxs_mc_1thread": s1,
                    "saxs_mc_all": sn,
                    "saxs_mc_1thread_k0": s0,
                    "truth": truth,
                    "table": text,
                },
                indent=2,
                default=float,
            )
        )
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    sys.exit(main())
