"""The engine with fake steps: content-hash cache, dry run, failures, parallel executors."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from saxs_mc.cli import main
from saxs_mc.pipeline.cache import FileHashCache
from saxs_mc.pipeline.config import load_config
from saxs_mc.pipeline.run import plan_steps, run_pipeline
from saxs_mc.pipeline.tasks import derive_seed

from .fakes import FAKE_FUNCS, make_experiment


def run(cfg_path: Path, **kw):
    return run_pipeline(load_config(cfg_path), step_funcs=FAKE_FUNCS, **kw)


def statuses(res) -> dict[str, str]:
    return {k: o.status for k, o in res.outcomes.items()}


def comparable(root: Path) -> dict:
    d = json.loads((root / "summary.json").read_text())
    return {k: d[k] for k in ("samples", "blanks", "readout", "mesophase", "failures")}


def test_plan_and_seeds(tmp_path):
    cfg = load_config(make_experiment(tmp_path))
    steps = plan_steps(cfg, FAKE_FUNCS)
    ids = [s.id for s in steps]
    assert ids.index("reduce/blank_230C") < ids.index("subtract/nuc190C") < ids.index("fit/nuc190C")
    assert ids[-1] == "mesophase/series"
    fit = {s.target: s for s in steps if s.kind == "fit"}
    # seeds depend on the config seed and the sample name only
    assert fit["nuc190C"].settings["seed"] == derive_seed(7, "nuc190C") != derive_seed(7, "nuc200C")
    assert derive_seed(7, "nuc190C") != derive_seed(8, "nuc190C")


def test_file_hash_cache_memo_is_per_run(tmp_path):
    import blake3

    f = tmp_path / "a.txt"
    f.write_text("one")
    c = FileHashCache()
    h1 = c.digest(f)
    assert h1 == blake3.blake3(b"one").hexdigest()
    assert c.digest(f) == h1 and c.n_hashed == 1  # within a run: hashed once
    st = f.stat()
    f.write_text("two")  # same size, mtime restored (touch -r)
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert FileHashCache().digest(f) == blake3.blake3(b"two").hexdigest()  # a new run hashes content


def test_rerun_skips_then_redoes_exactly_what_changed(tmp_path):
    cfg_path = make_experiment(tmp_path)
    r1 = run(cfg_path)
    assert r1.ok and set(statuses(r1).values()) == {"done"}
    first = comparable(r1.root)
    assert first["readout"]["continuous_from_C"] == 250
    r2 = run(cfg_path)
    assert set(statuses(r2).values()) == {"cached"}
    assert comparable(r2.root) == first
    # change the content of one frame of one sample: its chain is redone, nothing else
    frame = tmp_path / "data" / "nuc210C" / "nuc210C_00001.edf"
    frame.write_text(frame.read_text() + " ")
    r3 = run(cfg_path)
    done = {k for k, v in statuses(r3).items() if v == "done"}
    assert done == {"reduce/nuc210C", "subtract/nuc210C", "fit/nuc210C", "peaks/nuc210C"}
    # same physics content -> same numbers
    assert comparable(r3.root) == first
    # a fit setting change redoes only the fits
    text = cfg_path.read_text().replace("contributions = 10", "contributions = 11")
    cfg_path.write_text(text)
    dry = run(cfg_path, dry_run=True)
    would = {k for k, v in statuses(dry).items() if v == "would run"}
    assert would == {
        f"fit/{s}" for s in ("nuc190C", "nuc200C", "nuc210C", "nuc220C", "nuc240C", "nuc250C", "nuc260C", "nuc280C")
    }
    r4 = run(cfg_path)
    assert {k for k, v in statuses(r4).items() if v == "done"} == would
    # the blank changes -> every subtraction (and downstream) is redone
    blank = tmp_path / "data" / "blank_230C" / "blank_230C_00000.edf"
    blank.write_text(blank.read_text() + " ")
    r5 = run(cfg_path)
    done5 = {k for k, v in statuses(r5).items() if v == "done"}
    assert "reduce/blank_230C" in done5 and all(f"subtract/{s}" in done5 for s in ("nuc190C", "nuc280C"))
    assert "reduce/nuc190C" not in done5 and "peaks/blank_025C" not in done5


def test_missing_output_or_torn_manifest_redoes_step(tmp_path):
    cfg_path = make_experiment(tmp_path)
    r1 = run(cfg_path)
    digest = r1.root / r1.outcomes["fit/nuc200C"].result["outputs"]["digest"]
    digest.unlink()
    (r1.root / "steps" / "reduce" / "nuc190C" / "manifest.json").write_text('{"key": "tru')
    r2 = run(cfg_path)
    done = {k for k, v in statuses(r2).items() if v == "done"}
    assert done == {"fit/nuc200C", "reduce/nuc190C"}  # nuc190C's key is unchanged, so downstream stays cached
    assert comparable(r2.root) == comparable(r1.root)


def test_dry_run_lists_work_without_writing(tmp_path, capsys):
    cfg_path = make_experiment(tmp_path)
    res = run(cfg_path, dry_run=True)
    assert set(statuses(res).values()) == {"would run"} and not (tmp_path / "out").exists()
    assert main(["run", str(cfg_path), "--dry-run"]) == 0  # the CLI listing (default step functions)
    out = capsys.readouterr().out
    assert "reduce/nuc190C" in out and "would run" in out and not (tmp_path / "out").exists()


def test_failing_sample_others_finish_and_exit_code(tmp_path, monkeypatch):
    cfg_path = make_experiment(tmp_path, fail=("nuc220C",))
    res = run(cfg_path)
    st = statuses(res)
    assert st["reduce/nuc220C"] == "failed" and st["fit/nuc220C"] == "skipped"
    assert st["fit/nuc210C"] == "done" and st["fit/nuc280C"] == "done"
    assert not res.ok and res.report_path is not None
    summ = json.loads((res.root / "summary.json").read_text())
    row = {r["sample"]: r for r in summ["samples"]}
    assert row["nuc220C"]["status"] == "failed" and "fake reduction failure" in row["nuc220C"]["error"]
    assert row["nuc210C"]["status"] == "ok" and row["nuc210C"]["growth"] == "quantized"
    assert "fake reduction failure" in res.report_path.read_text()
    # CLI: non-zero exit, report path still printed (fake steps injected through the planner)
    from saxs_mc.pipeline import registry

    with registry.registered(FAKE_FUNCS):
        assert main(["run", str(cfg_path), "--no-progress"]) == 1
    # fixing the frame: only the failed chain runs
    f = tmp_path / "data" / "nuc220C" / "nuc220C_00000.edf"
    f.write_text(f.read_text().replace(" FAIL", ""))
    res2 = run(cfg_path)
    assert res2.ok and {k for k, v in statuses(res2).items() if v == "done"} == {
        "reduce/nuc220C",
        "subtract/nuc220C",
        "fit/nuc220C",
        "peaks/nuc220C",
    }


def test_process_pool_matches_serial(tmp_path):
    serial = run(make_experiment(tmp_path / "s"), n_workers=1)
    par = run(make_experiment(tmp_path / "p"), n_workers=2)
    assert par.executor == "processes" and par.ok
    pids = {o.result.get("pid") for o in par.outcomes.values() if o.kind == "fit"}
    assert os.getpid() not in pids
    assert comparable(par.root) == comparable(serial.root)


def test_dask_local_cluster_matches_serial(tmp_path):
    distributed = pytest.importorskip("distributed")
    serial = run(make_experiment(tmp_path / "s"), n_workers=1)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cl:
        # through the scheduler address (what --scheduler / [execution] scheduler give), no default client
        by_address = run(make_experiment(tmp_path / "a"), scheduler=cl.scheduler_address)
        assert by_address.executor == "dask" and comparable(by_address.root) == comparable(serial.root)
        with distributed.Client(cl) as client:
            res = run(make_experiment(tmp_path / "d"), scheduler=client)
            assert res.executor == "dask" and res.ok
            worker_pids = set(client.run(os.getpid).values())
    pids = {o.result.get("pid") for o in res.outcomes.values() if o.kind in ("fit", "reduce")}
    assert pids <= worker_pids and len(pids) >= 1
    assert comparable(res.root) == comparable(serial.root)
    # the dask run's manifests are what a serial run expects: nothing left to do
    again = run(make_experiment(tmp_path / "d"), dry_run=True)
    assert set(statuses(again).values()) == {"cached"}


def test_second_run_on_same_output_is_refused(tmp_path, capsys):
    from saxs_mc.pipeline.run import OutputLockedError, output_lock

    cfg_path = make_experiment(tmp_path)
    out = tmp_path / "out"
    with output_lock(out):
        with pytest.raises(OutputLockedError, match="in use by another saxs-mc run"):
            run(cfg_path)
        assert run(cfg_path, dry_run=True).dry_run  # listing is allowed meanwhile
    assert run(cfg_path).ok


def test_unreachable_scheduler_is_a_clear_error(tmp_path, monkeypatch):
    pytest.importorskip("distributed")
    import saxs_mc.pipeline.executors as executors

    monkeypatch.setattr(executors, "DASK_CONNECT_TIMEOUT", "1s")
    with pytest.raises(ValueError, match=r"cannot connect to the dask scheduler 'tcp://127.0.0.1:9'"):
        run(make_experiment(tmp_path), scheduler="tcp://127.0.0.1:9")


def test_code_change_redoes_the_steps_that_run_it(tmp_path, monkeypatch):
    import importlib

    from saxs_mc.pipeline import keys as keysmod
    from saxs_mc.pipeline import steps

    # the digest follows the source of the step function's module
    mod = tmp_path / "mysteps_for_digest.py"
    mod.write_text("def f(ctx):\n    return {}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    f = importlib.import_module("mysteps_for_digest").f
    d1 = keysmod.code_digest(f)
    mod.write_text("def f(ctx):\n    return {'x': 100}\n")
    assert keysmod.code_digest(f) != d1
    assert keysmod.code_digest(steps.fit_step) != keysmod.code_digest(steps.peaks_step)  # other libraries
    # a changed fit implementation redoes the fits only
    cfg_path = make_experiment(tmp_path / "exp")
    assert run(cfg_path).ok
    real = keysmod.code_digest
    monkeypatch.setattr(keysmod, "code_digest", lambda fn: real(fn) + ("new" if fn.__name__ == "fit_step" else ""))
    res = run(cfg_path)
    assert {k for k, v in statuses(res).items() if v == "done"} == {k for k in res.outcomes if k.startswith("fit/")}
