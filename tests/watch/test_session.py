"""WatchSession without the loop: waiting, partial files, corrupt and wrong-shape frames (fake clock)."""

from __future__ import annotations

import logging
import shutil
import time

import fabio
import numpy as np
import pytest

from saxs_mc.pipeline.config import ConfigError, allow_unmatched_globs, load_config
from saxs_mc.watch import WatchSession, WatchSettings

from .conftest import DATA


def _session(cfg_path, **kw):
    with allow_unmatched_globs():
        cfg = load_config(cfg_path)
    return WatchSession(cfg, WatchSettings(corrupt_timeout_s=10.0, **kw))


def test_unmatched_globs_are_refused_by_run_but_accepted_in_watch_mode(live_setup):
    cfg_path, _, _ = live_setup
    with pytest.raises(ConfigError, match="matches no file"):
        load_config(cfg_path)
    with allow_unmatched_globs():
        cfg = load_config(cfg_path)
    assert [s.n_frames for s in cfg.samples] == [0, 0]
    with pytest.raises(ConfigError, match="matches no file"):  # the option does not leak out of the block
        load_config(cfg_path)


def test_a_glob_matching_nothing_waits_and_says_so_once(live_setup, caplog):
    cfg_path, frames, _ = live_setup
    s = _session(cfg_path)
    with caplog.at_level(logging.INFO, logger="saxs_mc.watch"):
        assert s.scan(now=0.0) is False
        s.scan(now=1.0)
    waits = [r.getMessage() for r in caplog.records if "waiting, no file matches" in r.getMessage()]
    assert len(waits) == 3 and any("nuc190C" in w for w in waits)
    assert s.live_config() is None


def test_partial_edf_waits_then_is_accepted_never_rejected_for_being_early(live_setup):
    cfg_path, frames, _ = live_setup
    s = _session(cfg_path)
    src = DATA / "nuc190C" / "nuc190C_00000.edf"
    dst = frames / "nuc190C" / src.name
    dst.parent.mkdir()
    data = src.read_bytes()
    dst.write_bytes(data[:1000])
    assert s.scan(now=0.0) is False
    rec = s.frames[dst]
    assert rec.state == "pending" and "truncated" in rec.reason
    with open(dst, "ab") as fh:  # the writer goes on after a long pause: it changed, so not rejected
        fh.write(data[1000:5000])
    assert s.scan(now=9.0) is False and rec.state == "pending"
    with open(dst, "ab") as fh:
        fh.write(data[5000:])
    assert s.scan(now=18.0) is True
    assert rec.state == "complete" and rec.handed_size == len(data)
    # a sample waits for its blank
    assert s.live_config() is None


def test_a_frame_that_stays_truncated_is_rejected_after_the_timeout_and_listed(live_setup, caplog):
    cfg_path, frames, _ = live_setup
    s = _session(cfg_path)
    (frames / "nuc190C").mkdir()
    bad = frames / "nuc190C" / "nuc190C_00007.edf"
    bad.write_bytes((DATA / "nuc190C" / "nuc190C_00000.edf").read_bytes()[:3000])
    junk = frames / "nuc190C" / "nuc190C_00008.edf"
    junk.write_bytes(b"not an EDF file at all\n" * 10)
    s.scan(now=0.0)
    s.scan(now=5.0)
    assert s.frames[bad].state == "pending"
    with caplog.at_level(logging.WARNING, logger="saxs_mc.watch"):
        s.scan(now=10.5)
    assert s.frames[bad].state == "rejected" and "truncated EDF" in s.frames[bad].reason
    assert s.frames[junk].state == "rejected" and "EDF header" in s.frames[junk].reason
    assert sum("rejected" in r.getMessage() for r in caplog.records) == 2
    s.scan(now=100.0)  # not retried: still rejected, no new warning
    assert sum("rejected" in r.getMessage() for r in caplog.records) == 2
    listed = {r["file"]: r["reason"] for r in s.status()["rejected"]}
    assert set(listed) == {str(bad), str(junk)}
    assert s.counts()["rejected"] == 2


def test_a_frame_of_the_wrong_shape_is_rejected_with_its_reason(live_setup):
    cfg_path, frames, _ = live_setup
    s = _session(cfg_path)
    (frames / "nuc190C").mkdir()
    good = frames / "nuc190C" / "nuc190C_00000.edf"
    shutil.copy(DATA / "nuc190C" / good.name, good)
    wrong = frames / "nuc190C" / "nuc190C_00001.edf"
    fabio.edfimage.EdfImage(data=np.ones((100, 120), np.int32)).write(str(wrong))
    assert s.scan(now=0.0) is True
    assert s.frames[good].state == "complete"
    rec = s.frames[wrong]
    assert rec.state == "rejected" and "(100, 120)" in rec.reason and str(s.shape) in rec.reason
    assert s.complete_files("nuc190C") == (good,)


def test_a_file_that_disappears_is_forgotten_and_the_set_changes(live_setup, caplog):
    cfg_path, frames, _ = live_setup
    s = _session(cfg_path)
    (frames / "nuc190C").mkdir()
    f = frames / "nuc190C" / "nuc190C_00000.edf"
    shutil.copy(DATA / "nuc190C" / f.name, f)
    assert s.scan(now=0.0) is True
    f.unlink()
    with caplog.at_level(logging.WARNING, logger="saxs_mc.watch"):
        assert s.scan(now=1.0) is True
    assert f not in s.frames and "disappeared" in caplog.text
    assert s.complete_files("nuc190C") == ()


def _inline(fn, *args):
    """A submit() that runs the task here and returns its finished future."""
    import concurrent.futures

    fut = concurrent.futures.Future()
    try:
        fut.set_result(fn(*args))
    except Exception as exc:
        fut.set_exception(exc)
    return fut


def test_a_sync_while_run_holds_the_output_folder_is_retried_later(live_setup, caplog):
    from saxs_mc.pipeline.run import output_lock

    cfg_path, frames, out = live_setup
    s = _session(cfg_path, sync_idle_s=0.1)
    for c in ("blank_230C", "nuc190C"):
        (frames / c).mkdir()
        shutil.copy(DATA / c / f"{c}_00000.edf", frames / c)
    assert s.scan(now=0.0) is True
    assert s.update_curves() == ["nuc190C"]  # the curve path does not need the lock
    assert s.samples["nuc190C"].curve is not None
    s.last_activity -= 1.0
    now = time.time()
    assert s.sync_due(now)
    with output_lock(out), caplog.at_level(logging.WARNING, logger="saxs_mc.watch"):
        s.start_sync(_inline)
        s.collect_sync()
    assert "trying again" in caplog.text and s.runs == 0 and s.synced_keys == {}
    assert not s.sync_due(now)  # not hammered: retried after a pause
    assert s.sync_due(now + s.settings.status_every_s + 1)


def test_cli_refuses_bad_settings_before_watching(live_setup, tmp_path, capsys):
    from saxs_mc.cli import main

    cfg_path, _, _ = live_setup
    assert main(["watch", str(cfg_path), "--poll", "0"]) == 2
    assert "poll_s=0.0 must be > 0" in capsys.readouterr().err


def test_an_update_that_raises_is_logged_and_retried_not_fatal(live_setup, caplog, monkeypatch):
    from saxs_mc.watch.loop import _curves

    cfg_path, _, _ = live_setup
    s = _session(cfg_path)

    def boom():
        raise FileNotFoundError("frame x.edf vanished")

    monkeypatch.setattr(s, "update_curves", boom)
    with caplog.at_level(logging.ERROR, logger="saxs_mc.watch"):
        _curves(s)
    assert "update failed: frame x.edf vanished" in caplog.text and s.dirty_since is not None
