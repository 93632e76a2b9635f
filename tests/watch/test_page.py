"""The live page: escaped text from the output folder, and serving it on 127.0.0.1 only."""

from __future__ import annotations

import json
import urllib.request

from saxs_mc.pipeline.config import allow_unmatched_globs, load_config
from saxs_mc.watch import WatchSession, WatchSettings
from saxs_mc.watch.cli import _serve
from saxs_mc.watch.page import write_live_page


def test_rejected_file_names_and_reasons_are_escaped(live_setup):
    cfg_path, frames, out = live_setup
    with allow_unmatched_globs():
        cfg = load_config(cfg_path)
    s = WatchSession(cfg, WatchSettings(corrupt_timeout_s=1.0))
    (frames / "nuc190C").mkdir()
    evil = frames / "nuc190C" / "nuc190C_<script>alert(1)<.edf"
    evil.write_bytes(b"<img src=x onerror=alert(2)>")
    s.scan(now=0.0)
    s.scan(now=2.0)
    assert s.frames[evil].state == "rejected"
    page = write_live_page(out, cfg.name, s.status(), s.status_line(), None).read_text()
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;.edf" in page
    assert "onerror" not in page or "&lt;img" in page
    status = json.loads((out / "live" / "status.json").read_text())
    assert status["counts"]["rejected"] == 1 and status["rejected"][0]["file"] == str(evil)


def test_serve_binds_to_localhost_and_serves_the_page(tmp_path):
    (tmp_path / "live").mkdir()
    (tmp_path / "live" / "index.html").write_text("<p>hello</p>")
    httpd = _serve(tmp_path, 0)
    try:
        host, port = httpd.server_address[:2]
        assert host == "127.0.0.1"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/live/index.html", timeout=10) as r:
            assert r.read() == b"<p>hello</p>"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_status_with_nan_is_written_as_null(live_setup):
    """A live sample whose re-fit test had no usable points carries NaN: status.json must still be written
    (it used to raise 'Out of range float values are not JSON compliant' and end the watch with exit 2)."""
    cfg_path, frames, out = live_setup
    with allow_unmatched_globs():
        cfg = load_config(cfg_path)
    s = WatchSession(cfg, WatchSettings(corrupt_timeout_s=1.0))
    status = s.status()
    status["samples"] = {"nuc190C": {"refit_test": {"chi2": float("nan"), "threshold": float("inf"), "n": 0}}}
    write_live_page(out, cfg.name, status, s.status_line(), None)
    written = json.loads((out / "live" / "status.json").read_text())
    assert written["samples"]["nuc190C"]["refit_test"] == {"chi2": None, "threshold": None, "n": 0}


def test_live_trend_runs_along_the_configured_axis():
    import types

    from saxs_mc.watch.page import _axis_value

    s = types.SimpleNamespace(conditions={"flow_rate_ml_min": 2.5, "nucleation_temperature_C": 190})
    assert _axis_value(s, 3, "flow_rate_ml_min") == 2.5
    assert _axis_value(s, 3, "index") == 3
    assert _axis_value(s, 3, "time_s") is None
