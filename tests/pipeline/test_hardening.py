"""Issue 13: files in an output folder are data (no pickle, no links, no paths outside), the cache
cannot serve stale science, and configuration problems are all reported before work starts."""

from __future__ import annotations

import json
import logging
import os
import pickle
from pathlib import Path

import numpy as np
import pytest

from saxs_mc.cli import main
from saxs_mc.pipeline.config import ConfigError, load_config
from saxs_mc.pipeline.run import plan_steps, run_pipeline
from saxs_mc.pipeline.safety import UnsafeOutputError, resolve_inside
from saxs_mc.pipeline.tasks import StepContext

from .fakes import FAKE_FUNCS, make_experiment


def run(cfg_path: Path, **kw):
    return run_pipeline(load_config(cfg_path), step_funcs=FAKE_FUNCS, **kw)


def statuses(res) -> dict[str, str]:
    return {k: o.status for k, o in res.outcomes.items()}


# ----------------------------------------------------------------------
# item 1: no code from data (pickle), manifest paths stay inside the output folder
class _Exploit:
    """Unpickling this runs code: it writes the file ``marker``."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (exec, (f"open({self.marker!r}, 'w').write('pwned')",))


def _lamellar_curve(seed: int, amplitude: float):
    from saxs_mc.io.curves import Curve

    rng = np.random.default_rng(seed)
    q = np.linspace(0.5, 5.0, 400)
    i = 50.0 * q**-2.0 + 0.5
    for q0, a in ((1.84, amplitude), (3.68, 0.4 * amplitude)):
        i = i + a * np.exp(-0.5 * ((q - q0) / 0.02) ** 2)
    s = 0.01 * i + 0.01
    return Curve(q, i + s * rng.standard_normal(q.size), s, "1/cm", f"blank{seed}", {})


@pytest.fixture(scope="module")
def peaks_docs(tmp_path_factory):
    """Real ``<name>_peaks.json`` documents of two blanks (peaks at 25 C, none at 100 C)."""
    from saxs_mc.peaks import find_peaks_curve, write_peak_outputs

    d = tmp_path_factory.mktemp("peaks")
    out = {}
    for name, amp in (("blank_025C", 40.0), ("blank_100C", 0.0)):
        pk = find_peaks_curve(_lamellar_curve(1, amp))
        out[name] = (pk, write_peak_outputs(d / "steps" / "peaks" / name, name, pk, plot=False)["json"])
    return d, out


def _mesophase_ctx(root: Path, upstream: dict) -> StepContext:
    from saxs_mc.pipeline.steps import mesophase_step
    from saxs_mc.pipeline.tasks import Step

    step = Step(
        id="mesophase/series",
        kind="mesophase",
        target="series",
        func=mesophase_step,
        settings={"blanks": ["blank_025C", "blank_100C"], "temperatures_C": [25.0, 100.0]},
        deps=("peaks/blank_025C", "peaks/blank_100C"),
    )
    outdir = root / "steps" / "mesophase" / "series"
    outdir.mkdir(parents=True, exist_ok=True)
    return StepContext(step=step, key="k", root=root, outdir=outdir, upstream=upstream)


def test_peaks_json_reader_round_trips_the_peak_results(peaks_docs):
    from saxs_mc.pipeline.steps import read_peaks_json

    _, docs = peaks_docs
    pk, path = docs["blank_025C"]
    back = read_peaks_json(path)
    assert len(pk.peaks) == 2 and [p.q_nm for p in back.peaks] == [p.q_nm for p in pk.peaks]
    assert back.peaks[0].q_nm == pytest.approx(1.84, abs=0.01)
    assert back.phase.phase == pk.phase.phase == "lamellar"
    assert back.phase.lattice_nm == pk.phase.lattice_nm
    assert [p.area_err for p in back.peaks] == [p.area_err for p in pk.peaks]
    bad = path.with_name("bad.json")
    doc = json.loads(path.read_text())
    doc["peaks"][0]["area"] = "__import__('os')"
    bad.write_text(json.dumps(doc))
    with pytest.raises(ValueError, match=r"bad.json: peaks\[0\]: area = .* is not a number"):
        read_peaks_json(bad)


def test_mesophase_never_unpickles_a_crafted_file(peaks_docs, tmp_path):
    from saxs_mc.pipeline.steps import mesophase_step

    root, docs = peaks_docs
    marker = tmp_path / "code_ran"
    upstream = {}
    for name, (_, js) in docs.items():
        pkl = js.with_name(f"{name}_peaks.pkl")  # the file the old peaks step wrote and mesophase loaded
        pkl.write_bytes(pickle.dumps(_Exploit(marker)))
        upstream[f"peaks/{name}"] = {
            "outputs": {"json": str(js.relative_to(root)), "pickle": str(pkl.relative_to(root))}
        }
    res = mesophase_step(_mesophase_ctx(root, upstream))
    assert not marker.exists(), "a pickle from the output folder was loaded"
    assert res["melting_temperature_C"] == pytest.approx(62.5)  # peaks at 25 C, none at 100 C


@pytest.mark.parametrize("where", ["absolute", "dotdot"])
def test_manifest_paths_outside_the_output_folder_are_refused(peaks_docs, tmp_path, where):
    from saxs_mc.pipeline.steps import mesophase_step

    root, docs = peaks_docs
    outside = tmp_path / "elsewhere_peaks.json"
    outside.write_text(docs["blank_025C"][1].read_text())
    rel = str(outside) if where == "absolute" else os.path.relpath(outside, root)
    upstream = {
        "peaks/blank_025C": {"outputs": {"json": rel}},
        "peaks/blank_100C": {"outputs": {"json": str(docs["blank_100C"][1].relative_to(root))}},
    }
    with pytest.raises(UnsafeOutputError, match="points outside the output folder") as ei:
        mesophase_step(_mesophase_ctx(root, upstream))
    assert rel in str(ei.value)


def test_a_manifest_pointing_outside_is_not_a_cache_hit(tmp_path, caplog):
    cfg_path = make_experiment(tmp_path, series=[(190, 0.87, 0.02)], blanks=(230,))
    r1 = run(cfg_path)
    assert r1.ok
    victim = tmp_path / "victim.json"
    victim.write_text("{}")
    man = r1.root / "steps" / "reduce" / "nuc190C" / "manifest.json"
    m = json.loads(man.read_text())
    m["result"]["outputs"]["pickle"] = str(victim)  # absolute path outside the folder
    man.write_text(json.dumps(m))
    with caplog.at_level(logging.WARNING, logger="saxs_mc.pipeline"):
        r2 = run(cfg_path)
    assert r2.ok and statuses(r2)["reduce/nuc190C"] == "done"
    assert "points outside the output folder" in caplog.text and str(victim) in caplog.text
    assert victim.read_text() == "{}"
    with pytest.raises(UnsafeOutputError):
        resolve_inside(r1.root, "../victim.json")


# ----------------------------------------------------------------------
# item 2: symbolic links inside the output tree are never followed
def test_lock_file_symlink_is_refused_and_its_target_untouched(tmp_path, capsys):
    cfg_path = make_experiment(tmp_path, series=[(190, 0.87, 0.02)], blanks=(230,))
    cfg = load_config(cfg_path)
    victim = tmp_path / "precious.txt"
    victim.write_text("precious data\n")
    (cfg.output.dir / ".saxs_mc").mkdir(parents=True)
    (cfg.output.dir / ".saxs_mc" / "lock").symlink_to(victim)
    with pytest.raises(UnsafeOutputError, match=r"\.saxs_mc/lock is a symbolic link"):
        run(cfg_path)
    assert victim.read_text() == "precious data\n"
    # the CLI: one line, exit code 2, before any work
    assert main(["run", str(cfg_path), "--no-progress"]) == 2
    assert not (cfg.output.dir / "steps").exists()


def test_lock_refuses_a_symlink_even_when_the_tree_check_is_bypassed(tmp_path):
    from saxs_mc.pipeline.run import output_lock

    victim = tmp_path / "precious.txt"
    victim.write_text("precious\n")
    (tmp_path / "out" / ".saxs_mc").mkdir(parents=True)
    (tmp_path / "out" / ".saxs_mc" / "lock").symlink_to(victim)
    with pytest.raises(UnsafeOutputError, match="symbolic link"):
        with output_lock(tmp_path / "out"):
            pass
    assert victim.read_text() == "precious\n"


@pytest.mark.parametrize("link", ["steps/fit/nuc190C", "steps", "samples"])
def test_symlinked_output_folders_are_refused(tmp_path, link):
    cfg_path = make_experiment(tmp_path, series=[(190, 0.87, 0.02)], blanks=(230,))
    root = load_config(cfg_path).output.dir
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "nuc190C_digest.json").write_text("existing file")
    p = root / link
    p.parent.mkdir(parents=True, exist_ok=True)
    p.symlink_to(outside, target_is_directory=True)
    with pytest.raises(UnsafeOutputError) as ei:
        run(cfg_path)
    assert str(p) in str(ei.value)
    assert sorted(x.name for x in outside.iterdir()) == ["nuc190C_digest.json"]
    assert (outside / "nuc190C_digest.json").read_text() == "existing file"


def test_run_step_refuses_a_link_created_after_the_tree_check(tmp_path):
    from saxs_mc.pipeline.tasks import run_step

    cfg = load_config(make_experiment(tmp_path, series=[(190, 0.87, 0.02)], blanks=(230,)))
    step = next(s for s in plan_steps(cfg, FAKE_FUNCS) if s.id == "reduce/blank_230C")
    outside = tmp_path / "outside"
    outside.mkdir()
    (cfg.output.dir / "steps" / "reduce").mkdir(parents=True)
    (cfg.output.dir / "steps" / "reduce" / "blank_230C").symlink_to(outside)
    with pytest.raises(UnsafeOutputError, match="symbolic link"):
        run_step(step, "k", str(cfg.output.dir), {})
    assert list(outside.iterdir()) == []


# ----------------------------------------------------------------------
# items 4 and 5: cache integrity
def test_frames_rewritten_with_same_size_and_mtime_are_not_served_from_cache(tmp_path):
    cfg_path = make_experiment(tmp_path, series=[(190, 0.87, 0.02)], blanks=(230,))
    r1 = run(cfg_path)
    assert r1.ok
    r_before = json.loads((r1.root / "summary.json").read_text())
    for f in sorted((tmp_path / "data" / "nuc190C").glob("*.edf")):
        st = f.stat()
        text = f.read_text()
        new = text.replace("radius_nm=0.87", "radius_nm=1.56")
        assert len(new) == len(text)
        f.write_text(new)
        os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))  # touch -r: same size, same mtime
    r2 = run(cfg_path)
    st2 = statuses(r2)
    assert st2["reduce/nuc190C"] == st2["fit/nuc190C"] == "done"
    assert st2["reduce/blank_230C"] == "cached"
    digest = json.loads((r2.root / "steps" / "fit" / "nuc190C" / "nuc190C_digest.json").read_text())
    c, vf = np.array(digest["radius_centers_nm"]), np.array(digest["volume_fraction"])
    assert c[np.argmax(vf)] == pytest.approx(1.56, rel=0.05)  # the new data, not the cached 0.87 nm
    assert json.loads((r2.root / "summary.json").read_text()) != r_before


@pytest.mark.parametrize("damage", ["empty", "truncated", "replaced"])
def test_damaged_outputs_are_redone_and_the_log_says_why(tmp_path, caplog, damage):
    cfg_path = make_experiment(tmp_path, series=[(190, 0.87, 0.02)], blanks=(230,))
    r1 = run(cfg_path)
    assert r1.ok
    out = r1.root / "steps" / "subtract" / "nuc190C" / "nuc190C_sub.dat"
    good = out.read_bytes()
    out.write_bytes({"empty": b"", "truncated": good[: len(good) // 2], "replaced": good.replace(b"1", b"2")}[damage])
    with caplog.at_level(logging.WARNING, logger="saxs_mc.pipeline"):
        r2 = run(cfg_path)
    st = statuses(r2)
    assert st["subtract/nuc190C"] == "done" and st["reduce/nuc190C"] == "cached"
    assert "subtract/nuc190C: not taken from the cache" in caplog.text and "nuc190C_sub.dat differs" in caplog.text
    assert out.read_bytes() == good
    man = json.loads((r2.root / "steps" / "subtract" / "nuc190C" / "manifest.json").read_text())
    import hashlib

    assert man["output_sha256"]["curve"] == hashlib.sha256(good).hexdigest()


# ----------------------------------------------------------------------
# item 11: everything validated before work starts, all problems in one message
def _h5_stack(path: Path, n: int) -> None:
    import h5py

    with h5py.File(path, "w") as fh:
        fh["entry/data/data"] = np.zeros((n, 4, 4), dtype=np.float32)


def test_config_reports_every_problem_at_once(tmp_path):
    _h5_stack(tmp_path / "stack.h5", 3)
    extra = "\n".join(
        [
            "[[samples]]",
            'name = "bad\\u0000name"',
            'frames = "data/nuc190C/*.edf"',
            "nucleation_temperature_C = 191",
            "growth_temperature_C = 230",
            "[[samples]]",
            f'name = "{"x" * 240}"',
            'frames = "data/nuc190C/*.edf"',
            "nucleation_temperature_C = 192",
            "growth_temperature_C = 230",
            "[[samples]]",
            'name = "h5sample"',
            'frames = "stack.h5::/entry/data/data[7]"',
            "nucleation_temperature_C = 193",
            "growth_temperature_C = 230",
            "[peaks]",
            'profile = "triangle"',
            "[reduction]",
            "npt = 100000",
        ]
    )
    cfg_path = make_experiment(tmp_path, series=[(190, 0.87, 0.02)], blanks=(230,), extra=extra)
    with pytest.raises(ConfigError) as ei:
        load_config(cfg_path)
    msg = str(ei.value)
    assert msg.startswith("5 problems in the configuration")
    assert "peaks.profile: 'triangle': use one of ['pseudo_voigt', 'gaussian', 'lorentzian']" in msg
    assert "reduction.npt: 100000: must be in 10..10000" in msg
    assert "samples[1].name" in msg and "control character" in msg
    assert "samples[2].name" in msg and "240 characters long; use at most 100" in msg
    assert "samples[3].frames" in msg and "frame index 7 is out of range for 3 frame(s)" in msg
    assert main(["run", str(cfg_path), "--no-progress"]) == 2  # before any work
    assert not (tmp_path / "out").exists()


def test_in_range_hdf5_selection_passes(tmp_path):
    _h5_stack(tmp_path / "stack.h5", 3)
    extra = "\n".join(
        [
            "[[samples]]",
            'name = "h5sample"',
            'frames = "stack.h5::/entry/data/data[0:2]"',
            "nucleation_temperature_C = 193",
            "growth_temperature_C = 230",
        ]
    )
    cfg = load_config(make_experiment(tmp_path, series=[(190, 0.87, 0.02)], blanks=(230,), extra=extra))
    assert cfg.samples[-1].sources[0].endswith("stack.h5::/entry/data/data[0:2]")


def test_changed_monitor_table_changes_the_reduce_keys(tmp_path):
    """A per-frame monitor table normalises every frame: its content is part of the reduce steps' cache key."""
    from saxs_mc.pipeline import cache
    from saxs_mc.pipeline.run import compute_keys

    table = tmp_path / "monitors.csv"
    table.write_text("frame,I1\nnuc190C_00000.edf,1000\n")
    cfg_path = make_experiment(
        tmp_path, series=((190, 0.87, 0.02),), blanks=(230,), extra='[normalization]\nmonitor_table = "monitors.csv"\n'
    )

    def reduce_keys():
        steps = plan_steps(load_config(cfg_path))
        keys = compute_keys(steps, cache.FileHashCache())
        return {k: v for k, v in keys.items() if k.startswith(("reduce/", "calibrate/"))}

    before = reduce_keys()
    stat = table.stat()
    table.write_text("frame,I1\nnuc190C_00000.edf,2000\n")  # same size, other monitor
    os.utime(table, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    after = reduce_keys()
    assert before and all(before[k] != after[k] for k in before)
