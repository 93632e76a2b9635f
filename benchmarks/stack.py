"""Benchmark: a time-resolved HDF5 stack, frames -> time points -> reduced, blank-subtracted, fitted.

Data: a 1000-frame 1 Mpx (1024 x 1024) Eiger-like stack (int32 counts, bitshuffle-LZ4 via hdf5plugin,
one frame per chunk) of the simulated growth run of :mod:`saxs_mc.simulate.growth` (its kinetics,
components and renderer on a larger detector at 1.3 m), plus a blank stack.  Generated once, frame by
frame (never the whole stack in memory), and cached under ``--data`` (default /tmp/saxs_stack_bench).

Each run (one fresh process per (frames, workers) pair, so that its peak RSS is its own):

* grouping: :func:`saxs_mc.series.group_frames` with ``Grouping(every=10)`` -> time points;
* reduction, side by side on the same frames:
  - chain = ``Reducer.reduce(tp.sources)`` (streams frames from the HDF5 file, normalizes, rejects,
    sums) ``.subtract(blank)`` per time point, the blank stack reduced once;
  - bare = h5py ``ds[i]`` + ``AzimuthalIntegrator.integrate1d`` with the same npt, method, unit,
    error model, mask, dummy and polarization;
* fit: :func:`saxs_mc.fit.fit_curve` of every time point (300 contributions x 10 repetitions).

With ``--workers 2`` every phase runs its time points in a spawn process pool of 2 (each worker builds its
integrator / Reducer once and warms up numba before timing); with 1 worker everything runs in-process.
Peak RSS: the largest simultaneous RSS of the process and its children (psutil, sampled every 20 ms) and
``resource.getrusage`` maxrss of self and children.

Usage::

    python benchmarks/stack.py                      # 250 and 1000 frames, 1 and 2 workers (slow: ~10-20 min)
    python benchmarks/stack.py --frames 1000 --workers 2
    python benchmarks/stack.py --quick              # 128 x 128, 40 frames, small fits: a smoke run (seconds)
    python benchmarks/stack.py --hash               # also time hashing the stack (BLAKE3, SHA-256, per time point)
    python benchmarks/stack.py --pipeline           # the same through run_pipeline (see below)
    python benchmarks/stack.py --pipeline --quick   # smoke run of the pipeline mode

``--pipeline``: the same stacks through the pipeline: a ``[[stacks]]`` config (``every = 10``, npt, mask, fit
300 x 10, peak search off as in the library mode, no figures) is written into ``<data>/pipe_<frames>f_<w>w``
beside a copy of the first ``frames`` frames of the stack (raw chunks copied, no decompression; the frame
and header datasets are made growable), and per (frames, workers), in a fresh process:

* cold run: ``load_config`` (grouping) + ``plan_steps``, ``compute_keys`` (input digests: per time point,
  the stack's raw chunks of its frames and their header values), then ``run_pipeline`` (which plans and
  hashes again); processing = run wall - planning - hashing; the HTML report is timed on its own;
* re-run on the unchanged stack: every step cached; the wall of planning, hashing and key checking;
* after appending 10 frames (one time point) to the stack: the steps run (the new time point only)
  and the wall;
* peak RSS of the process and its children over the whole sequence.

Threads: OMP_NUM_THREADS defaults to 1 (one core per process); NUMBA_NUM_THREADS to cores // workers.
Results: a table on stdout and a JSON document (``--json``, default ``<data>/stack_bench.json``).
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import concurrent.futures  # noqa: E402
import json  # noqa: E402
import multiprocessing  # noqa: E402
import resource  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

DATA_PATH = "/entry/data/data"
SEED = 20261130
FRAMES_PER_POINT = 10
#: full-size and --quick problem sizes
FULL = {"size": 1024, "n_frames": 1000, "n_blank": 40, "npt": 500, "contributions": 300, "repetitions": 10}
QUICK = {"size": 128, "n_frames": 40, "n_blank": 10, "npt": 100, "contributions": 50, "repetitions": 2}
GEOMETRY_VERSION = 1


# ---------------------------------------------------------------- data
def _setup(size: int) -> dict:
    """The growth run's Eiger-like geometry scaled to ``size`` px: beam near a corner, q ~0.05-5 1/nm."""
    from saxs_mc.simulate.growth import EIGER_GROWTH

    f = size / 1024
    return {
        **EIGER_GROWTH,
        "shape": (size, size),
        "distance_m": 1.3 * f,
        "center_1_px": 40.6 * f,
        "center_2_px": 45.3 * f,
        "beamstop_radius_px": max(4.0, 14.0 * f),
        "beamstop_arm_halfwidth_px": max(2.0, 4.0 * f),
        "dead_pixels": ((int(700 * f), int(900 * f)), (int(300 * f), int(500 * f))),
    }


def _write_headers(f, headers: list[dict]) -> None:
    import h5py

    grp = f.create_group("/entry/id02_headers")
    grp.attrs["NX_class"] = "NXcollection"
    for k in headers[0]:
        grp[k] = np.array([h[k] for h in headers], dtype=h5py.string_dtype())


def _render_to_h5(path: Path, conds: list, geom, rng, poni_text: str) -> None:
    """Render one frame at a time into a chunked bitshuffle-LZ4 dataset (memory: one frame + one dsigma)."""
    import h5py
    import hdf5plugin

    from saxs_mc.simulate.render import pixel_dsigma, render_frame_truth

    n = len(conds)
    tmp = path.with_suffix(".part")
    headers, dsig, last = [], None, None
    with h5py.File(tmp, "w") as f:
        f.attrs["default"] = "entry"
        entry = f.create_group("entry")
        entry.attrs["NX_class"] = "NXentry"
        entry.attrs["default"] = "data"
        nxdata = entry.create_group("data")
        nxdata.attrs["NX_class"] = "NXdata"
        nxdata.attrs["signal"] = "data"
        ds = nxdata.create_dataset(
            "data",
            shape=(n, *geom.shape),
            dtype=np.int32,
            chunks=(1, *geom.shape),
            **hdf5plugin.Bitshuffle(cname="lz4"),
        )
        for i, cond in enumerate(conds):
            if cond is not last:  # one dsigma per time point (the truth changes between groups)
                dsig, last = pixel_dsigma(geom, cond), cond
            data, header, _ = render_frame_truth(cond, geom, 0, rng, dsigma=dsig, header_extra={"FrameIndex": i})
            ds[i] = data
            headers.append(header)
        _write_headers(f, headers)
        entry["poni"] = poni_text
    tmp.replace(path)


def make_data(root: Path, size: int, n_frames: int, n_blank: int, seed: int = SEED) -> dict:
    """Write (once) the PONI, mask, sample stack and blank stack; returns their paths."""
    from saxs_mc.simulate.geometry import load_geometry, make_geometry, write_mask, write_poni
    from saxs_mc.simulate.growth import (
        GrowthAcquisition,
        GrowthKinetics,
        _blank_condition,
        _contrast_for,
        _frame_condition,
    )

    d = root / f"stack_{size}px_{n_frames}f_{n_blank}b_seed{seed}_v{GEOMETRY_VERSION}"
    out = {
        "dir": d,
        "poni": d / "bench.poni",
        "mask": d / "bench_mask.edf",
        "stack": d / "growth.h5",
        "blank": d / "blank.h5",
    }
    if (d / "done.json").is_file():
        return out
    d.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    ai, mask, _ = make_geometry(_setup(size))
    write_poni(out["poni"], ai)
    write_mask(out["mask"], mask)
    geom = load_geometry(out["poni"], out["mask"])
    kin = GrowthKinetics()
    period = kin.duration_s / n_frames
    # flux: about the counts per pixel of the shipped 160 px crop (0.18 m, 1e10 ph/s, 0.2 s frames)
    flux = 1e10 * 0.2 / period * (1.3 * size / 1024 / 0.18) ** 2
    acq = GrowthAcquisition(
        n_frames=n_frames,
        frame_period_s=period,
        exposure_s=period,
        flux_ph_s=flux,
        n_blank_frames=n_blank,
        time_points=max(1, n_frames // FRAMES_PER_POINT),
    )
    con = _contrast_for(geom).contrast_1e6_A2
    rng = np.random.default_rng(seed)
    conds = []
    for g in range(0, n_frames, FRAMES_PER_POINT):
        t_mid = (g + min(FRAMES_PER_POINT, n_frames - g) / 2) * period
        c = _frame_condition(kin, acq, t_mid, con)
        conds += [c] * min(FRAMES_PER_POINT, n_frames - g)
    poni_text = out["poni"].read_text()
    _render_to_h5(out["stack"], conds, geom, rng, poni_text)
    _render_to_h5(out["blank"], [_blank_condition(kin, acq, con)] * n_blank, geom, rng, poni_text)
    times = [(g + min(FRAMES_PER_POINT, n_frames - g) / 2) * period for g in range(0, n_frames, FRAMES_PER_POINT)]
    truth = {
        "contrast_1e6_A2": con,
        "time_points": [
            {
                "time_s": t,
                "mean_radius_nm": float(kin.mean_radius_nm(t)),
                "volume_fraction": float(kin.volume_fraction(t)),
            }
            for t in times
        ],
        "seconds_to_generate": time.perf_counter() - t0,
    }
    (d / "done.json").write_text(json.dumps(truth))
    return out


# ---------------------------------------------------------------- memory
class PeakRSS:
    """Largest simultaneous RSS (bytes) of this process plus all its children, sampled in a thread."""

    def __init__(self, interval: float = 0.02) -> None:
        import psutil

        self._proc = psutil.Process()
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(interval,), daemon=True)

    def sample(self) -> int:
        import psutil

        total = self._proc.memory_info().rss
        for c in self._proc.children(recursive=True):
            try:
                total += c.memory_info().rss
            except psutil.Error:
                pass
        self.peak = max(self.peak, total)
        return total

    def _run(self, interval: float) -> None:
        while not self._stop.wait(interval):
            self.sample()

    def __enter__(self) -> PeakRSS:
        self.sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()


def _maxrss_mb(who: int) -> float:
    kb = resource.getrusage(who).ru_maxrss  # KiB on Linux
    return kb / 1024


# ---------------------------------------------------------------- workers (one state per process)
_W: dict = {}


def _init(kind: str, paths: dict, npt: int, fit_opts: dict, threads: int, blank=None) -> None:
    """Build this process's tools once and warm them up (engine build, numba) before anything is timed."""
    os.environ["NUMBA_NUM_THREADS"] = str(threads)
    _W.clear()
    _W.update(kind=kind, paths=paths, npt=npt, fit_opts=fit_opts, blank=blank)
    if kind == "chain":
        from saxs_mc.reduce import Reducer, ReductionSettings

        _W["reducer"] = Reducer(poni=paths["poni"], mask=paths["mask"], settings=ReductionSettings(npt=npt))
        _W["reducer"].reduce(f"{paths['blank']}::{DATA_PATH}[0:3]", title="warm-up")
    elif kind == "bare":
        import h5py
        import hdf5plugin  # noqa: F401
        import pyFAI

        from saxs_mc.io.frames import read_mask

        _W["ai"] = pyFAI.load(str(paths["poni"]))
        _W["mask"] = read_mask(paths["mask"]).astype(np.int8)
        _W["h5"] = h5py.File(paths["stack"], "r")
        _bare_frames([0])
    elif kind == "fit":
        from saxs_mc.fit import fit_curve
        from saxs_mc.io.curves import Curve
        from saxs_mc.models.distributions import make_distribution

        q = np.geomspace(0.2, 5.0, 60)
        i = make_distribution({"kind": "gaussian", "mean_nm": 1.5, "sd_nm": 0.1, "volume_fraction": 1e-3}).dsigma(
            q, 30.0
        )
        fit_curve(
            Curve(q=q, intensity=i + 0.01, sigma=0.02 * i + 1e-3, intensity_unit="1/cm", title="warm-up"),
            contrast=30.0,
            seed=1,
            contributions=20,
            repetitions=2,
        )


def _bare_frames(indices: list[int]) -> int:
    ai, mask, ds = _W["ai"], _W["mask"], _W["h5"][DATA_PATH]
    for i in indices:
        ai.integrate1d(
            ds[i],
            _W["npt"],
            unit="q_nm^-1",
            method=("full", "csr", "cython"),
            error_model="poisson",
            mask=mask,
            dummy=-1.0,
            delta_dummy=0.1,
            polarization_factor=0.99,
            normalization_factor=1.0,
        )
    return len(indices)


def _chain_point(k: int, sources: tuple[str, ...]):
    res = _W["reducer"].reduce(sources, title=f"tp{k:04d}")
    return res.subtract(_W["blank"]).curve


def _fit_point(k: int, curve) -> dict:
    from saxs_mc.fit import fit_curve

    o = _W["fit_opts"]
    res = fit_curve(
        curve,
        contrast=o["contrast"],
        seed=1000 + k,
        contributions=o["contributions"],
        repetitions=o["repetitions"],
        q_range_nm=o["q_range_nm"],
    )
    r = res.ranges[0]
    return {"mean_nm": r.mean_nm, "volume_fraction": r.volume_fraction}


def _pid_after(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


def _call(fn_name: str, *args):  # a module-level trampoline so the pool pickles names, not closures
    return globals()[fn_name](*args)


def _cpu_s(children: bool) -> float:
    """CPU seconds (user + system) of this process, or of its live children (the pool workers)."""
    import psutil

    procs = psutil.Process().children(recursive=True) if children else [psutil.Process()]
    total = 0.0
    for p in procs:
        try:
            c = p.cpu_times()
            total += c.user + c.system
        except psutil.Error:
            pass
    return total


def _run_phase(
    kind: str, init_args: tuple, fn_name: str, tasks: list[tuple], workers: int
) -> tuple[float, float, list]:
    """Run ``tasks`` (time points) through ``fn_name``.

    Returns (wall seconds, CPU seconds of the processes doing the work, results in order), both after warm-up.
    CPU time is far less sensitive than wall time to other jobs sharing the cores.
    """
    if workers == 1:
        _init(kind, *init_args)
        t, c = time.perf_counter(), _cpu_s(False)
        out = [_call(fn_name, *a) for a in tasks]
        return time.perf_counter() - t, _cpu_s(False) - c, out
    ctx = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(
        workers, mp_context=ctx, initializer=_init, initargs=(kind, *init_args)
    ) as pool:
        seen: set[int] = set()  # a task runs only after its worker's initializer: wait until every worker ran one
        while len(seen) < workers:
            seen |= set(pool.map(_pid_after, [0.3] * workers))
        t, c = time.perf_counter(), _cpu_s(True)
        futs = [pool.submit(_call, fn_name, *a) for a in tasks]
        out = [f.result() for f in futs]
        return time.perf_counter() - t, _cpu_s(True) - c, out


# ---------------------------------------------------------------- one run
def run_one(paths: dict, n_frames: int, workers: int, sizes: dict) -> dict:
    """Reduce (chain and bare), subtract and fit the first ``n_frames`` frames on ``workers`` processes."""
    from saxs_mc.reduce import Reducer, ReductionSettings
    from saxs_mc.series import Grouping, group_frames

    truth = json.loads((Path(paths["dir"]) / "done.json").read_text())
    threads = max(1, (os.cpu_count() or 1) // workers)
    fit_opts = {
        "contrast": truth["contrast_1e6_A2"],
        "contributions": sizes["contributions"],
        "repetitions": sizes["repetitions"],
        "q_range_nm": (0.15, 5.0),
    }
    with PeakRSS() as mem:
        t0 = time.perf_counter()
        tps = list(group_frames(f"{paths['stack']}::{DATA_PATH}", Grouping(every=FRAMES_PER_POINT)))
        tps = [tp for tp in tps if tp.frames[-1] < n_frames]
        t_group = time.perf_counter() - t0
        with Reducer(poni=paths["poni"], mask=paths["mask"], settings=ReductionSettings(npt=sizes["npt"])) as red:
            t0 = time.perf_counter()
            blank = red.reduce(f"{paths['blank']}::{DATA_PATH}", title="blank")
            t_blank = time.perf_counter() - t0
        init = (paths, sizes["npt"], fit_opts, threads)
        t_bare, c_bare, _ = _run_phase("bare", init, "_bare_frames", [([i for i in tp.frames],) for tp in tps], workers)
        t_chain, c_chain, curves = _run_phase(
            "chain", (*init, blank), "_chain_point", [(tp.index, tp.sources) for tp in tps], workers
        )
        t_fit, c_fit, fits = _run_phase("fit", init, "_fit_point", list(enumerate(curves)), workers)
    nf = sum(tp.n_frames for tp in tps)
    tr = truth["time_points"][: len(tps)]
    dr = [abs(f["mean_nm"] / t["mean_radius_nm"] - 1) for f, t in zip(fits, tr)]
    dphi = [abs(f["volume_fraction"] / t["volume_fraction"] - 1) for f, t in zip(fits, tr)]
    total = t_group + t_blank + t_chain + t_fit
    return {
        "frames": nf,
        "time_points": len(tps),
        "workers": workers,
        "numba_threads_per_worker": threads,
        "grouping_s": t_group,
        "blank_reduction_s": t_blank,
        "reduce": {
            "chain_s": t_chain,
            "bare_s": t_bare,
            "chain_over_bare": t_chain / t_bare,
            "chain_frames_per_s": nf / t_chain,
            "bare_frames_per_s": nf / t_bare,
            "chain_cpu_s": c_chain,
            "bare_cpu_s": c_bare,
            "chain_over_bare_cpu": c_chain / c_bare,
        },
        "fit": {"s": t_fit, "cpu_s": c_fit, "time_points_per_s": len(tps) / t_fit},
        "end_to_end": {"s": total, "frames_per_s": nf / total, "time_points_per_s": len(tps) / total},
        "memory_mb": {
            "peak_rss_tree": mem.peak / 2**20,
            "maxrss_self": _maxrss_mb(resource.RUSAGE_SELF),
            "maxrss_children": _maxrss_mb(resource.RUSAGE_CHILDREN),
        },
        "truth_check": {
            "median_rel_err_mean_radius": float(np.median(dr)),
            "median_rel_err_volume_fraction": float(np.median(dphi)),
        },
    }


def time_hashing(path: Path) -> dict:
    """Seconds to hash ``path`` as the pipeline (BLAKE3) and the reduction provenance (SHA-256) do."""
    from saxs_mc.pipeline.cache import file_digest
    from saxs_mc.provenance import file_sha256

    size = path.stat().st_size
    out = {"file": str(path), "bytes": size}
    for name, fn in (("blake3", file_digest), ("sha256", file_sha256)):
        t = time.perf_counter()
        fn(path)
        dt = time.perf_counter() - t
        out[name] = {"s": dt, "GB_per_s": size / dt / 1e9}
    out["per_time_point"] = _time_frame_digests(path)
    return out


def _time_frame_digests(path: Path) -> dict:
    """Seconds for the pipeline's per-time-point digests (raw chunks + header values) of every time point."""
    import h5py

    from saxs_mc.pipeline.digests import frame_ref_digest

    with h5py.File(path, "r") as f:
        n = f[DATA_PATH].shape[0]
    refs = [f"{path}::{DATA_PATH}[{a}:{min(n, a + FRAMES_PER_POINT)}]" for a in range(0, n, FRAMES_PER_POINT)]
    t = time.perf_counter()
    for r in refs:
        frame_ref_digest(r)
    dt = time.perf_counter() - t
    return {"time_points": len(refs), "s": dt, "s_per_time_point": dt / len(refs)}


# ---------------------------------------------------------------- --pipeline
PIPE_CONFIG = """schema_version = 1
name = "stack_bench"
[geometry]
poni = "{poni}"
mask = "{mask}"
[normalization]
calibration_factor = 1.0
[reduction]
npt = {npt}
[[stacks]]
name = "growth"
frames = "growth.h5::{dset}"
every = {every}
[[blanks]]
name = "blank"
frames = "blank.h5::{dset}"
[peaks]
samples = false
[fit]
contrast_1e6_A2 = {contrast}
contributions = {contributions}
repetitions = {repetitions}
q_range_nm = [0.15, 5.0]
seed = 1
[output]
dir = "out"
figures = false
"""


def _copy_frames(src: Path, dst: Path, frames: range) -> None:
    """Copy ``frames`` of ``src`` to the end of ``dst`` (created growable if absent): raw chunks, and their headers."""
    import h5py
    import hdf5plugin

    with h5py.File(src, "r") as fs, h5py.File(dst, "a") as fd:
        ds = fs[DATA_PATH]
        if DATA_PATH not in fd:
            fd.attrs["default"] = "entry"
            fd.require_group("entry").attrs.update({"NX_class": "NXentry", "default": "data"})
            fd.require_group("entry/data").attrs.update({"NX_class": "NXdata", "signal": "data"})
            fd.create_dataset(
                DATA_PATH,
                shape=(0, *ds.shape[1:]),
                maxshape=(None, *ds.shape[1:]),
                dtype=ds.dtype,
                chunks=ds.chunks,
                **hdf5plugin.Bitshuffle(cname="lz4"),
            )
            for h in fs["/entry/id02_headers"].values():
                fd.create_dataset(h.name, shape=(0,), maxshape=(None,), dtype=h.dtype, chunks=(256,))
        out = fd[DATA_PATH]
        n0 = out.shape[0]
        out.resize(n0 + len(frames), axis=0)
        for j, i in enumerate(frames):
            mask, raw = ds.id.read_direct_chunk((i, 0, 0))
            out.id.write_direct_chunk((n0 + j, 0, 0), raw, mask)
        for h in fs["/entry/id02_headers"].values():
            hd = fd[h.name]
            hd.resize((n0 + len(frames),))
            hd[n0:] = h[frames.start : frames.stop]


def _pipe_setup(paths: dict, n_frames: int, workers: int, sizes: dict) -> Path:
    """A fresh bench folder with the first ``n_frames`` frames, the blank and the config; returns the config."""
    import shutil

    d = Path(paths["dir"]).parent / f"pipe_{n_frames}f_{workers}w"
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    _copy_frames(paths["stack"], d / "growth.h5", range(n_frames))
    _copy_frames(paths["blank"], d / "blank.h5", range(sizes["n_blank"]))
    truth = json.loads((Path(paths["dir"]) / "done.json").read_text())
    cfg = d / "stack_bench.toml"
    cfg.write_text(
        PIPE_CONFIG.format(
            poni=Path(paths["poni"]).as_posix(),
            mask=Path(paths["mask"]).as_posix(),
            npt=sizes["npt"],
            dset=DATA_PATH,
            every=FRAMES_PER_POINT,
            contrast=truth["contrast_1e6_A2"],
            contributions=sizes["contributions"],
            repetitions=sizes["repetitions"],
        )
    )
    return cfg


def _plan_and_hash(cfg_path: Path) -> tuple[dict, dict]:
    """Seconds to load the config (grouping), plan and compute every key (hashing the inputs); digest counts."""
    from saxs_mc.pipeline.cache import FileHashCache
    from saxs_mc.pipeline.config import load_config
    from saxs_mc.pipeline.keys import compute_keys
    from saxs_mc.pipeline.plan import plan_steps

    t0 = time.perf_counter()
    steps = plan_steps(load_config(cfg_path))
    t1 = time.perf_counter()
    hashes = FileHashCache()
    keys = compute_keys(steps, hashes)
    t2 = time.perf_counter()
    return {
        "plan_s": t1 - t0,
        "hash_and_keys_s": t2 - t1,
        "inputs_digested": hashes.n_hashed,
        "steps": len(steps),
    }, keys


def _pipe_run(cfg_path: Path, workers: int) -> dict:
    """One ``run_pipeline`` (no report): wall, steps by status, and the planning/hashing part timed alone."""
    from saxs_mc.pipeline.config import load_config
    from saxs_mc.pipeline.run import run_pipeline

    pre, keys = _plan_and_hash(cfg_path)
    t0 = time.perf_counter()
    cfg = load_config(cfg_path)
    res = run_pipeline(cfg, n_workers=workers, make_report=False, progress=False)
    wall = time.perf_counter() - t0
    if not res.ok:
        raise RuntimeError(f"pipeline failed: {[(o.id, o.error) for o in res.failed][:3]}")
    ran = sorted(k for k, o in res.outcomes.items() if o.status == "done")
    return {
        **pre,
        "run_wall_s": wall,
        "processing_s": max(0.0, wall - pre["plan_s"] - pre["hash_and_keys_s"]),
        "counts": res.counts(),
        "ran": ran if len(ran) <= 8 else len(ran),
        "_cfg": cfg,
        "_res": res,
    }


def _step_seconds(root: Path) -> dict:
    """Seconds spent inside the step functions, summed by kind (``elapsed_s`` of the manifests)."""
    out: dict = {}
    for m in root.glob("steps/*/*/manifest.json"):
        doc = json.loads(m.read_text())
        kind = doc["step"].split("/")[0]
        out[kind] = out.get(kind, 0.0) + float(doc["elapsed_s"])
    return out


def run_pipeline_one(paths: dict, n_frames: int, workers: int, sizes: dict) -> dict:
    """Cold run, all-cached re-run and re-run after appending one time point, through ``run_pipeline``."""
    from saxs_mc.pipeline.report import write_report

    cfg_path = _pipe_setup(paths, n_frames, workers, sizes)
    n_tp = n_frames // FRAMES_PER_POINT
    with PeakRSS() as mem:
        cold = _pipe_run(cfg_path, workers)
        cold["step_s_by_kind"] = _step_seconds(cfg_path.parent / "out")
        t0 = time.perf_counter()
        write_report(cold["_cfg"], cold["_res"].outcomes, cold["_cfg"].output.dir)
        report_s = time.perf_counter() - t0
        cached = _pipe_run(cfg_path, workers)
        _copy_frames(
            paths["stack"],
            cfg_path.parent / "growth.h5",
            range(sizes["n_frames"] - FRAMES_PER_POINT, sizes["n_frames"]),
        )
        appended = _pipe_run(cfg_path, workers)
    for r in (cold, cached, appended):
        del r["_cfg"], r["_res"]
    w = cold["processing_s"]
    return {
        "mode": "pipeline",
        "frames": n_frames,
        "time_points": n_tp,
        "workers": workers,
        "stack_bytes": (cfg_path.parent / "growth.h5").stat().st_size,
        "cold": {
            **cold,
            "frames_per_s": n_frames / cold["run_wall_s"],
            "time_points_per_s": n_tp / cold["run_wall_s"],
            "processing_frames_per_s": n_frames / w if w else None,
            "report_s": report_s,
            # frames (stack + blank) per second inside the reduce steps (per worker, summed over workers)
            "reduce_step_frames_per_s": (n_frames + sizes["n_blank"]) / cold["step_s_by_kind"]["reduce"],
        },
        "cached": cached,
        "appended": appended,
        "memory_mb": {
            "peak_rss_tree": mem.peak / 2**20,
            "maxrss_self": _maxrss_mb(resource.RUSAGE_SELF),
            "maxrss_children": _maxrss_mb(resource.RUSAGE_CHILDREN),
        },
    }


def _print_pipeline_table(doc: dict) -> None:
    print(
        f"\nsaxs_mc stack benchmark through run_pipeline: {doc['sizes']['size']}^2 px, npt={doc['sizes']['npt']}, fit "
        f"{doc['sizes']['contributions']}x{doc['sizes']['repetitions']}; load before "
        f"{doc['contention_before']['loadavg_1_5_15']}, after {doc['contention_after']['loadavg_1_5_15']} "
        f"on {doc['contention_before']['cpu_count']} cores"
    )
    print(
        f"{'frames':>6} {'wkr':>3} {'plan s':>7} {'hash s':>7} {'run s':>7} {'fr/s':>6} {'tp/s':>6} {'report s':>8} "
        f"{'red fr/s':>8} {'cached: hash s':>14} {'run s':>6} {'append: ran':>11} {'run s':>6} {'peak RSS MB':>11}"
    )
    for r in doc["runs"]:
        c, k, a = r["cold"], r["cached"], r["appended"]
        print(
            f"{r['frames']:>6d} {r['workers']:>3d} {c['plan_s']:>7.2f} {c['hash_and_keys_s']:>7.2f} "
            f"{c['run_wall_s']:>7.1f} {c['frames_per_s']:>6.2f} {c['time_points_per_s']:>6.3f} {c['report_s']:>8.1f} "
            f"{c['reduce_step_frames_per_s']:>8.2f} {k['hash_and_keys_s']:>14.2f} {k['run_wall_s']:>6.2f} {a['counts'].get('done', 0):>11d} "
            f"{a['run_wall_s']:>6.1f} {r['memory_mb']['peak_rss_tree']:>11.0f}"
        )
    print(
        "red fr/s: frames per second inside the reduce steps (one worker's rate); cached: re-run on the unchanged "
        "stack; append: steps run after 10 frames were appended (the new time point only)"
    )


# ---------------------------------------------------------------- driver
def _contention() -> dict:
    load = os.getloadavg()
    return {"cpu_count": os.cpu_count(), "loadavg_1_5_15": [round(x, 2) for x in load]}


def _print_table(doc: dict) -> None:
    print(
        f"\nsaxs_mc stack benchmark: {doc['sizes']['size']}^2 px, npt={doc['sizes']['npt']}, fit "
        f"{doc['sizes']['contributions']}x{doc['sizes']['repetitions']}, {FRAMES_PER_POINT} frames/time point; "
        f"load before {doc['contention_before']['loadavg_1_5_15']} on {doc['contention_before']['cpu_count']} cores"
    )
    print(
        f"{'frames':>6} {'wkr':>3} {'bare fr/s':>9} {'chain fr/s':>10} {'chain/bare':>10} {'(cpu)':>6} {'fit tp/s':>8} "
        f"{'e2e fr/s':>8} {'e2e tp/s':>8} {'peak RSS MB':>11}"
    )
    for r in doc["runs"]:
        print(
            f"{r['frames']:>6d} {r['workers']:>3d} {r['reduce']['bare_frames_per_s']:>9.2f} "
            f"{r['reduce']['chain_frames_per_s']:>10.2f} {r['reduce']['chain_over_bare']:>10.3f} "
            f"{r['reduce']['chain_over_bare_cpu']:>6.3f} "
            f"{r['fit']['time_points_per_s']:>8.3f} {r['end_to_end']['frames_per_s']:>8.2f} "
            f"{r['end_to_end']['time_points_per_s']:>8.3f} {r['memory_mb']['peak_rss_tree']:>11.0f}"
        )
    print(
        "goals: chain/bare <= 1.3 (wall; '(cpu)': the same in CPU seconds, robust to other jobs on the cores); "
        "peak RSS < 1500 MB and flat from 250 to 1000 frames"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "--frames",
        type=int,
        nargs="+",
        default=None,
        help=f"frames per run (prefix of the stack; multiple of {FRAMES_PER_POINT}); default 250 1000 (quick: 20 40)",
    )
    ap.add_argument("--workers", type=int, nargs="+", default=None, help="processes per run; default 1 2 (quick: 1)")
    ap.add_argument("--points", type=int, default=None, help="time points (= frames / 10); overrides --frames")
    ap.add_argument("--quick", action="store_true", help="small sizes for a smoke run")
    ap.add_argument("--data", default="/tmp/saxs_stack_bench", help="cache folder of the generated stacks")
    ap.add_argument("--json", default=None, help="write the results here (default <data>/stack_bench.json)")
    ap.add_argument(
        "--hash",
        action="store_true",
        help="also time hashing the stack file (BLAKE3, SHA-256) and the per-time-point digests of all its time points",
    )
    ap.add_argument(
        "--pipeline",
        action="store_true",
        help="measure through run_pipeline ([[stacks]] config, "
        "cold / all-cached / after appending frames) instead of the library calls",
    )
    ap.add_argument("--one", action="store_true", help=argparse.SUPPRESS)  # internal: one run, JSON on stdout
    args = ap.parse_args(argv)
    sizes = dict(QUICK if args.quick else FULL)
    frames = (
        [args.points * FRAMES_PER_POINT] if args.points else (args.frames or ([20, 40] if args.quick else [250, 1000]))
    )
    workers = args.workers or ([1] if args.quick else [1, 2])
    bad = [f for f in frames if f < FRAMES_PER_POINT or f > sizes["n_frames"]]
    if bad:
        ap.error(f"--frames {bad}: give {FRAMES_PER_POINT}..{sizes['n_frames']} frames")
    paths = make_data(Path(args.data), sizes["size"], sizes["n_frames"], sizes["n_blank"])
    if args.one:
        one = run_pipeline_one if args.pipeline else run_one
        print(json.dumps(one(paths, frames[0], workers[0], sizes), default=str))
        return 0
    doc = {
        "sizes": sizes,
        "frames_per_point": FRAMES_PER_POINT,
        "data": {k: str(v) for k, v in paths.items()},
        "stack_bytes": paths["stack"].stat().st_size,
        "contention_before": _contention(),
        "env": {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "NUMBA_NUM_THREADS")},
        "runs": [],
    }
    for w in workers:
        for f in frames:  # a fresh process per run: its peak RSS is its own
            cmd = [sys.executable, __file__, "--one", "--frames", str(f), "--workers", str(w), "--data", args.data]
            cmd += ["--quick"] if args.quick else []
            cmd += ["--pipeline"] if args.pipeline else []
            print(f"# run: {f} frames, {w} worker(s)", file=sys.stderr, flush=True)
            proc = subprocess.run(cmd, check=True, capture_output=True, text=True)
            doc["runs"].append(json.loads(proc.stdout.strip().splitlines()[-1]))
            print(f"# done: {json.dumps(doc['runs'][-1], default=str)}", file=sys.stderr, flush=True)
    if args.hash:
        doc["hashing"] = time_hashing(paths["stack"])
    doc["contention_after"] = _contention()
    name = "stack_bench_pipeline.json" if args.pipeline else "stack_bench.json"
    out = Path(args.json) if args.json else Path(args.data) / name
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=2, default=str) + "\n")
    (_print_pipeline_table if args.pipeline else _print_table)(doc)
    print(f"results: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
