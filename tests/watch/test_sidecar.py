"""A monitor table growing line by line: frames wait for their row; a bad line is reported and waited on."""

from __future__ import annotations

import logging
import shutil

from saxs_mc.pipeline.config import allow_unmatched_globs, load_config
from saxs_mc.watch import WatchSession, WatchSettings

from .conftest import DATA

HEADER = "frame,I0,I1,exposure\n"


def _session(cfg_path, table):
    text = cfg_path.read_text().replace("[normalization]\n", f'[normalization]\nmonitor_table = "{table}"\n')
    cfg_path.write_text(text)
    with allow_unmatched_globs():
        cfg = load_config(cfg_path)
    assert cfg.reduction.monitor_table == str(table)
    return WatchSession(cfg, WatchSettings(corrupt_timeout_s=10.0))


def _frame(frames, name):
    cond = name.rsplit("_", 1)[0]
    (frames / cond).mkdir(exist_ok=True)
    shutil.copy(DATA / cond / name, frames / cond / name)
    return frames / cond / name


def test_a_frame_waits_for_its_row_and_a_half_written_row_is_not_read(live_setup):
    cfg_path, frames, _ = live_setup
    table = frames / "monitors.csv"
    table.write_text(HEADER)
    s = _session(cfg_path, table)
    f = _frame(frames, "nuc190C_00000.edf")
    assert s.scan(now=0.0) is False
    assert s.frames[f].state == "pending" and "waiting for its row" in s.frames[f].reason
    with open(table, "a") as fh:
        fh.write("nuc190C_00000.edf,1.0,0.7")  # the line is still being written (no newline yet)
    assert s.scan(now=1.0) is False and s.frames[f].state == "pending"
    with open(table, "a") as fh:
        fh.write(",0.1\n")
    assert s.scan(now=2.0) is True and s.frames[f].state == "complete"


def test_a_line_that_does_not_parse_is_reported_once_and_frames_wait_not_rejected(live_setup, caplog):
    cfg_path, frames, _ = live_setup
    table = frames / "monitors.csv"
    table.write_text(HEADER + "nuc190C_00000.edf,1.0\n")  # a row with too few cells
    s = _session(cfg_path, table)
    f = _frame(frames, "nuc190C_00000.edf")
    with caplog.at_level(logging.WARNING, logger="saxs_mc.watch"):
        s.scan(now=0.0)
        s.scan(now=5.0)
    msgs = [
        r.getMessage()
        for r in caplog.records
        if "does not parse" in r.getMessage() or "monitor table" in r.getMessage()
    ]
    assert len(msgs) == 1 and "data row 1" in msgs[0] and str(table) in msgs[0]
    assert s.frames[f].state == "pending" and "does not parse" in s.frames[f].reason
    s.scan(now=11.0)  # still broken and unchanged after the timeout: rejected, listed
    assert s.frames[f].state == "rejected"
    table.write_text(HEADER + "nuc190C_00000.edf,1.0,0.7,0.1\n")  # fixed: examined again
    assert s.scan(now=12.0) is True and s.frames[f].state == "complete"
