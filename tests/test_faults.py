"""Fault injection (issue 13 items 6-9): disk full, file-size limit, read-only folder, dead workers, Ctrl-C.

Every scenario is deterministic: a file-size limit is set with ``RLIMIT_FSIZE`` in a child
process; a full disk and a read-only folder are a small tmpfs mounted in a private mount
namespace (``unshare -rm``, skipped where user namespaces are unavailable); workers are killed
by the fake step itself (``SAXS_MC_FAKE_KILL``) or by the test at a known point.  Each test
asserts that nothing good is lost (previous outputs, manifests, summary and report are
byte-identical, no temporary file is left) and that the cause is named in one line.
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from saxs_mc.pipeline.config import load_config
from saxs_mc.pipeline.run import run_pipeline
from tests.pipeline.fakes import FAKE_FUNCS, make_experiment

REPO = Path(__file__).resolve().parents[1]
PY = sys.executable
ONE_SAMPLE = [(190, 0.87, 0.02), (250, 1.15, 0.12)]


def snapshot(root: Path) -> dict[str, str]:
    """SHA-256 of every file of an output folder except lock and manifests' timestamps."""
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_file() and ".saxs_mc" not in p.parts:
            out[str(p.relative_to(root))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def leftovers(root: Path) -> list[str]:
    return sorted(str(p) for p in root.rglob("*") if p.name.endswith(".part") or p.name.startswith(".staging-"))


def _limit_fsize(nbytes: int):
    def set_limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (nbytes, nbytes))

    return set_limit


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


RUN_FAKES = """
import json, sys
from saxs_mc.cli import setup_logging
from saxs_mc.pipeline.cli import run_until_interrupted
from saxs_mc.pipeline.config import load_config
from saxs_mc.pipeline.run import run_pipeline
from tests.pipeline.fakes import FAKE_FUNCS
setup_logging()
res = run_until_interrupted(lambda: run_pipeline(load_config(sys.argv[1]), step_funcs=FAKE_FUNCS,
                                                 n_workers=int(sys.argv[2]), force=len(sys.argv) > 3))
if res is None:  # as saxs-mc run does
    sys.exit(130)
print(json.dumps({k: [o.status, o.error, o.cause] for k, o in res.outcomes.items()}))
"""


# ----------------------------------------------------------------------
# EFBIG: file-size limit (RLIMIT_FSIZE in a child process)
@pytest.fixture(scope="module")
def nxcansas_curve(tmp_path_factory):
    """A small NXcanSAS curve of spheres (r = 1.5 nm), and a fit of it written without limits."""
    from saxs_mc.io.curves import Curve
    from saxs_mc.models.sphere import sphere_form_factor
    from saxs_mc.reduce import write_reduced

    d = tmp_path_factory.mktemp("fitdata")
    q = np.geomspace(0.3, 6.0, 200)
    i = 1e3 * np.asarray(sphere_form_factor(q, 1.5), dtype=float).reshape(q.shape) + 1e-2
    curve = Curve(q=q, intensity=i, sigma=0.03 * i, intensity_unit="1/cm", title="spheres", metadata={})
    src = write_reduced(d / "spheres.h5", curve)
    args = ["fit", str(src), "--repetitions", "2", "--contributions", "50", "--max-iterations", "2000", "--no-progress"]
    good = d / "good"
    proc = subprocess.run(
        [PY, "-m", "saxs_mc.cli", *args, "-o", str(good)], capture_output=True, text=True, env=_env(), timeout=600
    )
    assert proc.returncode == 0, proc.stderr
    return src, args, good


def test_fit_under_a_file_size_limit_fails_cleanly_and_keeps_good_outputs(nxcansas_curve):
    """Was: segmentation fault (exit 139) in h5py after a failed HDF5 write, CSVs without JSON/.h5."""
    src, args, good = nxcansas_curve
    before = snapshot(good)
    assert {Path(k).suffix for k in before} == {".csv", ".h5", ".json", ".png"}
    proc = subprocess.run(
        [PY, "-m", "saxs_mc.cli", *args, "-o", str(good)],
        capture_output=True,
        text=True,
        env=_env(),
        preexec_fn=_limit_fsize(30_000),
        timeout=600,
    )
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr and "Segmentation" not in proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert "EFBIG: file too large for the file-size limit" in last
    assert snapshot(good) == before  # the good fit is untouched (no partial CSV set)
    assert leftovers(good) == []


def test_fit_under_a_file_size_limit_leaves_no_partial_set(nxcansas_curve, tmp_path):
    src, args, _ = nxcansas_curve
    out = tmp_path / "new"
    proc = subprocess.run(
        [PY, "-m", "saxs_mc.cli", *args, "-o", str(out)],
        capture_output=True,
        text=True,
        env=_env(),
        preexec_fn=_limit_fsize(30_000),
        timeout=600,
    )
    assert proc.returncode == 1 and "EFBIG" in proc.stderr.strip().splitlines()[-1]
    assert sorted(p.name for p in out.iterdir()) == []  # all outputs or none: none, no temporary file


def test_pipeline_under_a_file_size_limit_names_efbig_and_resumes(tmp_path):
    cfg = make_experiment(tmp_path, series=ONE_SAMPLE, blanks=(230, 25, 100))
    proc = subprocess.run(
        [PY, "-c", RUN_FAKES, str(cfg), "1"],
        capture_output=True,
        text=True,
        env=_env(),
        preexec_fn=_limit_fsize(8_000),
        timeout=600,
        cwd=REPO,
    )
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    # the fake fit writes an 11 kB digest: every fit fails with EFBIG, everything else is done
    for sid, (status, err, cause) in out.items():
        if sid.startswith("fit/"):
            assert status == "failed" and cause == "EFBIG" and err.startswith("EFBIG: file too large")
            assert "\n" not in err
        elif sid != "report":
            assert status == "done", (sid, err)
    root = tmp_path / "out"
    assert leftovers(root) == []
    assert not list((root / "steps" / "fit").glob("*/manifest.json"))
    res = run_pipeline(load_config(cfg), step_funcs=FAKE_FUNCS)  # no limit: only the fits run
    st = {k: o.status for k, o in res.outcomes.items()}
    assert res.ok and {k for k, v in st.items() if v == "done"} == {"fit/nuc190C", "fit/nuc250C"}


# ----------------------------------------------------------------------
# ENOSPC and EROFS: a small tmpfs in a private mount namespace
def _have_unshare() -> bool:
    if shutil.which("unshare") is None:
        return False
    p = subprocess.run(
        [
            "unshare",
            "-rm",
            "sh",
            "-c",
            "mount -t tmpfs -o size=64k tmpfs /mnt 2>/dev/null || mount -t tmpfs -o size=64k tmpfs /tmp",
        ],
        capture_output=True,
    )
    return p.returncode == 0


needs_mount_ns = pytest.mark.skipif(
    not _have_unshare(), reason="needs unshare -rm (user + mount namespaces) to mount a small tmpfs"
)

SCENARIO = """
import errno, hashlib, json, os, subprocess, sys
from pathlib import Path
from saxs_mc.pipeline.config import load_config
from saxs_mc.pipeline.run import run_pipeline
from tests.pipeline.fakes import FAKE_FUNCS
cfg, root, mode = sys.argv[1], Path(sys.argv[2]), sys.argv[3]

def snap():
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and ".saxs_mc" not in p.parts
            and p.name != "manifest.json"}

def manifests():
    return {str(p.relative_to(root)): json.loads(p.read_text())["key"] for p in root.rglob("manifest.json")}

r1 = run_pipeline(load_config(cfg), step_funcs=FAKE_FUNCS)
assert r1.ok, r1.report()
before, man_before = snap(), manifests()
if mode == "enospc":
    fill, i = root.parent / "filler", 0
    fill.mkdir()
    try:
        while True:
            (fill / str(i)).write_bytes(b"x" * 4096)
            i += 1
    except OSError as exc:
        assert exc.errno == errno.ENOSPC
    for k in range(int(sys.argv[4])):  # leave a few pages: some writes succeed, then the disk is full
        (fill / str(k)).unlink()
    if len(sys.argv) > 5:  # the CLI: refused before any work
        proc = subprocess.run([sys.executable, "-m", "saxs_mc.cli", "run", cfg, "--force", "--no-progress"],
                              capture_output=True, text=True)
        out = {"rc": proc.returncode, "stderr": proc.stderr}
    else:
        res = run_pipeline(load_config(cfg), step_funcs=FAKE_FUNCS, force=True)
        out = {k: [o.status, o.error, o.cause] for k, o in res.outcomes.items()}
else:
    subprocess.run(["mount", "-o", "remount,ro", str(root.parent)], check=True)
    proc = subprocess.run([sys.executable, "-m", "saxs_mc.cli", "run", cfg, "--force", "--no-progress"],
                          capture_output=True, text=True)
    out = {"rc": proc.returncode, "stderr": proc.stderr}
left = sorted(str(p) for p in root.rglob("*") if p.name.endswith(".part") or p.name.startswith(".staging-"))
print(json.dumps({"out": out, "same_files": snap() == before, "same_manifests": manifests() == man_before,
                  "n_files": len(before), "leftovers": left}))
"""


def _in_tmpfs(tmp_path: Path, mode: str, *extra: str) -> dict:
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    cfg = make_experiment(tmp_path, series=ONE_SAMPLE, blanks=(230, 25, 100))
    text = cfg.read_text().replace('dir = "out"', f'dir = "{mnt / "out"}"')
    cfg.write_text(text)
    script = tmp_path / "scenario.py"
    script.write_text(SCENARIO)
    inner = f"mount -t tmpfs -o size=2m tmpfs {mnt} && exec {PY} {script} {cfg} {mnt / 'out'} {mode} " + " ".join(extra)
    proc = subprocess.run(
        ["unshare", "-rm", "sh", "-c", inner], capture_output=True, text=True, env=_env(), cwd=REPO, timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@needs_mount_ns
def test_full_disk_keeps_good_results_summary_and_report(tmp_path):
    r = _in_tmpfs(tmp_path, "enospc", "1")
    out = r["out"]
    failed = {k: v for k, v in out.items() if v[0] == "failed"}
    assert failed, out
    for _status, err, cause in failed.values():
        assert cause == "ENOSPC" and err.startswith("ENOSPC: no space left on the device") and "\n" not in err
    assert out["report"][0] == "skipped" and "previous report kept" in out["report"][1]
    assert r["same_files"], "a good output, summary.csv or report.html was replaced"
    assert r["same_manifests"], "a manifest of a good step was lost"
    assert r["leftovers"] == []


@needs_mount_ns
def test_full_disk_is_refused_by_the_cli_before_work(tmp_path):
    r = _in_tmpfs(tmp_path, "enospc", "1", "cli")
    assert r["out"]["rc"] == 2
    lines = [ln for ln in r["out"]["stderr"].splitlines() if ln.strip()]
    assert len(lines) == 1 and "ENOSPC: no space left on the device" in lines[0]
    assert r["same_files"] and r["same_manifests"] and r["leftovers"] == []


@needs_mount_ns
def test_read_only_output_folder_is_refused_before_work(tmp_path):
    r = _in_tmpfs(tmp_path, "erofs")
    assert r["out"]["rc"] == 2
    lines = [ln for ln in r["out"]["stderr"].splitlines() if ln.strip()]
    assert len(lines) == 1 and "EROFS: read-only file system" in lines[0] and "Traceback" not in lines[0]
    assert r["same_files"] and r["same_manifests"] and r["leftovers"] == []


# ----------------------------------------------------------------------
# item 8: the output location is checked before computing (exit 2, one line)
@pytest.mark.parametrize("cmd", ["fit", "peaks", "reduce"])
def test_bad_output_location_is_refused_before_computing(tmp_path, cmd, capsys, monkeypatch):
    import saxs_mc.fit.mc
    import saxs_mc.peaks.detect
    import saxs_mc.reduce.reducer
    from saxs_mc.cli import main

    def computed(*a, **k):
        raise AssertionError("computed before checking the output location")

    monkeypatch.setattr(saxs_mc.fit.mc, "fit_curve", computed)
    monkeypatch.setattr(saxs_mc.peaks.detect, "find_peaks_curve", computed)
    monkeypatch.setattr(saxs_mc.reduce.reducer.Reducer, "reduce", computed)

    afile = tmp_path / "existing_file"
    afile.write_text("keep me")
    data = tmp_path / "curve.dat"
    q = np.linspace(0.2, 5, 100)
    np.savetxt(data, np.c_[q, 1 / q, 0.01 / q], header="q_nm^-1 I sigma")
    frame = REPO / "sample_data" / "cdse_series" / "nuc190C" / "nuc190C_00000.edf"
    argv = {
        "fit": ["fit", str(data), "-o", str(afile)],
        "peaks": ["peaks", str(data), "-o", str(afile)],
        "reduce": [
            "reduce",
            str(frame),
            "--poni",
            str(REPO / "calibration" / "id02_sim.poni"),
            "-q",
            "-o",
            str(tmp_path),
        ],
    }
    assert main(argv[cmd]) == 2
    err = [line for line in capsys.readouterr().err.strip().splitlines() if line.strip()]
    if cmd == "reduce":  # reduce lists every input problem at once: here the output location is the only one
        assert err[0].startswith("reduce: 1 problem(s)") or "1 problem(s)" in err[0], err
        err = err[1:]
    assert len(err) == 1 and ("is an existing file" in err[0] or "is an existing folder" in err[0]), err
    assert afile.read_text() == "keep me"


def test_run_refuses_an_output_dir_that_is_a_file(tmp_path, capsys):
    from saxs_mc.cli import main

    cfg = make_experiment(tmp_path, series=ONE_SAMPLE, blanks=(230,))
    (tmp_path / "out").write_text("not a folder")
    assert main(["run", str(cfg), "--no-progress"]) == 2
    assert "[output] dir" in capsys.readouterr().err and (tmp_path / "out").read_text() == "not a folder"


# ----------------------------------------------------------------------
# item 6: a dead worker is replaced; its step is retried once, alone, or failed with the cause
@pytest.mark.parametrize("mode", ["once", "always"])
def test_worker_killed_mid_step(tmp_path, monkeypatch, caplog, mode):
    cfg = make_experiment(tmp_path, blanks=(230, 25, 100))
    monkeypatch.setenv("SAXS_MC_FAKE_KILL", f"fit/nuc210C:{mode}")
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    res = run_pipeline(load_config(cfg), step_funcs=FAKE_FUNCS, n_workers=2)
    st = {k: o.status for k, o in res.outcomes.items()}
    assert (tmp_path / "killed-fit-nuc210C").exists()
    assert "worker process killed by SIGKILL" in caplog.text
    others = {k: v for k, v in st.items() if k not in ("fit/nuc210C", "report")}
    assert set(others.values()) == {"done"}, others  # no other sample is reported failed
    fit = res.outcomes["fit/nuc210C"]
    if mode == "once":
        assert fit.status == "done" and res.ok
    else:
        assert fit.status == "failed" and fit.cause == "worker died"
        assert fit.error.startswith("RuntimeError: worker process killed by SIGKILL") and "\n" not in fit.error
    assert leftovers(res.root) == []  # the dead worker's staging folder was removed


def test_dead_worker_signal_named_when_the_pool_thread_reaps_it_first():
    """Regression (flaky under load): the pool's manager thread and the driver both ``waitpid`` a dead worker.

    If the pool's thread reaps it first, the driver's ``waitpid`` fails (ECHILD) and ``Process.exitcode`` stays
    ``None`` until that thread stores the status: the worker was not counted dead and the log said "a worker
    process died" instead of naming SIGKILL.  Here a thread reaps the worker and publishes its status late.
    """
    import multiprocessing
    import threading

    from saxs_mc.pipeline.run import _ProcessExecutor

    ex = _ProcessExecutor(1)
    p = multiprocessing.get_context("spawn").Process(target=time.sleep, args=(60,), daemon=True)
    p.start()
    ex._known = {p.pid: p}  # as remembered at submit
    reaped = threading.Event()

    def pool_thread() -> None:  # what Popen.poll does in the pool's thread, slowed down between its two lines
        _, sts = os.waitpid(p.pid, 0)
        reaped.set()
        time.sleep(0.3)
        p._popen.returncode = os.waitstatus_to_exitcode(sts)

    t = threading.Thread(target=pool_thread)
    t.start()
    os.kill(p.pid, signal.SIGKILL)
    assert reaped.wait(30)
    try:
        assert ex.dead_workers() == {p.pid: -signal.SIGKILL}
    finally:
        t.join()
        ex.close()


# ----------------------------------------------------------------------
# item 9: Ctrl-C within 1 s, no traceback on a second one; workers die with their parent
def _children(pid: int) -> list[int]:
    kids = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                kids.append(int(d.name))
    return kids


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def _start_slow_run(tmp_path: Path) -> tuple[subprocess.Popen, Path, list[int]]:
    cfg = make_experiment(tmp_path, blanks=(230, 25, 100))
    proc = subprocess.Popen(
        [PY, "-c", RUN_FAKES, str(cfg), "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(SAXS_MC_FAKE_DELAY="20"),
        cwd=REPO,
    )
    root = tmp_path / "out"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # until both workers are inside a step
        if len(list(root.glob("steps/*/*/.staging-*"))) >= 2:
            break
        time.sleep(0.05)
    else:
        proc.kill()
        pytest.fail("the workers never started a step")
    workers = [p for p in _children(proc.pid) if "python" in Path(f"/proc/{p}/cmdline").read_text()]
    return proc, root, workers


def test_ctrl_c_stops_within_a_second_and_keeps_only_completed_steps(tmp_path):
    proc, root, workers = _start_slow_run(tmp_path)
    assert len(workers) >= 2
    t0 = time.monotonic()
    proc.send_signal(signal.SIGINT)
    time.sleep(0.1)
    proc.send_signal(signal.SIGINT)  # a second Ctrl-C: no traceback either
    _, err = proc.communicate(timeout=30)
    elapsed = time.monotonic() - t0
    assert proc.returncode == 130, err
    assert elapsed < 1.0, f"Ctrl-C took {elapsed:.2f} s"
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert list(root.glob("steps/*/*/manifest.json")) == []  # no step completed: no cache entry
    time.sleep(0.5)
    assert not [p for p in workers if _alive(p)]


def test_kill_9_of_the_driver_takes_its_workers_down(tmp_path):
    proc, _, workers = _start_slow_run(tmp_path)
    assert workers and all(_alive(p) for p in workers)
    proc.kill()
    proc.communicate(timeout=30)
    deadline = time.monotonic() + 3.0
    while time.monotonic() < deadline and any(_alive(p) for p in workers):
        time.sleep(0.05)
    assert not [p for p in workers if _alive(p)], "workers outlived their parent"


def test_resume_after_interrupt_gives_identical_results(tmp_path):
    proc, root, _ = _start_slow_run(tmp_path)
    proc.kill()  # kill -9: the workers die with it and leave their staging folders
    proc.communicate(timeout=30)
    time.sleep(1.0)
    stale = root / ".summary.0123456789ab.json.part"  # as left by a write interrupted by kill -9
    stale.write_text("{")
    assert leftovers(root)
    res = run_pipeline(load_config(tmp_path / "pipeline.toml"), step_funcs=FAKE_FUNCS)
    assert res.ok and leftovers(root) == []
    ref = make_experiment(tmp_path / "ref", blanks=(230, 25, 100))
    r2 = run_pipeline(load_config(ref), step_funcs=FAKE_FUNCS)
    a = json.loads((root / "summary.json").read_text())
    b = json.loads((r2.root / "summary.json").read_text())
    assert {k: a[k] for k in ("samples", "readout")} == {k: b[k] for k in ("samples", "readout")}
