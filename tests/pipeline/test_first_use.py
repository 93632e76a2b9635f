"""The README's "Start your own series" walk-through, done as a new user does it (issue 10).

Each test copies ``pipelines/template.toml`` into a folder of its own, makes exactly the edits the README
lists (paths, description, samples or one ``[[stacks]]`` entry, the blank's frames, ``[material]``, and
deleting the CdSe families part from its banner to the end) and runs ``saxs-mc run`` through
:func:`saxs_mc.cli.main`.  One edit round: the first run must succeed.  The only other change is a smaller
fit (contributions, repetitions) and fewer frames, so that the tests are quick; it is not a README step.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
from pathlib import Path

import pytest

from saxs_mc.cli import main

ROOT = Path(__file__).resolve().parents[2]
CAL = ROOT / "calibration"
DATA = ROOT / "sample_data" / "cdse_series"
GROWTH = ROOT / "sample_data" / "growth_stack"
STACK = f"{GROWTH / 'growth_230C.h5'}::/entry/instrument/detector/data"
BLANK_STACK = f"{GROWTH / 'blank_230C.h5'}::/entry/instrument/detector/data"

pytestmark = pytest.mark.skipif(
    not (DATA / "nuc190C").is_dir() or not GROWTH.is_dir(),
    reason="shipped sample data (sample_data/cdse_series, growth_stack) not present",
)

#: what only a CdSe magic-size series may show (tests/pipeline/test_report_series.py uses the same markers)
CDSE_SECTIONS = (
    "Magic-size families",
    "Family fractions",
    "Series read-out",
    "λ<sub>Yu</sub>",
    "Mesophase melting",
    "Precursor blanks and mesophase",
    "quantized",
)


def _sub(text: str, pattern: str, new: str, flags: int = 0) -> str:
    out, n = re.subn(pattern, new, text, count=1, flags=re.M | flags)
    assert n == 1, f"the template no longer has {pattern!r}: update the README walk-through and this test"
    return out


def readme_edits(
    folder: Path,
    *,
    poni: str,
    mask: str,
    description: str,
    entries: str,
    blank_frames: str,
    particle: str,
    solvent: str,
) -> Path:
    """The README's steps on a copy of the template in ``folder``; returns the copy."""
    folder.mkdir(parents=True, exist_ok=True)
    cfg = folder / f"{folder.name}.toml"
    shutil.copy(ROOT / "pipelines" / "template.toml", cfg)
    text = cfg.read_text()
    # 1. paths are relative to the copy: poni, mask; the description
    text = _sub(text, r"^poni = .*$", f'poni = "{poni}"')
    text = _sub(text, r"^mask = .*$", f'mask = "{mask}"')
    text = _sub(text, r"^description = .*$", f'description = "{description}"')
    # 2. the samples (or one [[stacks]] entry) instead of the template's two [[samples]]
    text = _sub(text, r"^\[\[samples\]\]\n.*?(?=^# A time-resolved run)", entries, re.S)
    # 3. the blank's frames
    text = _sub(text, r"^(\[\[blanks\]\]\nname = .*\n)frames = .*$", rf'\g<1>frames = "{blank_frames}"')
    # 4. [material]
    text = _sub(text, r'^particle = "CdSe"', f'particle = "{particle}"')
    text = _sub(text, r'^solvent = "octadecene"', f'solvent = "{solvent}"')
    # 5. delete the CdSe magic-size families part, from its banner to the end
    text = text[: text.index("# =====")]
    # not a README step: a small fit, so that the test is quick
    text = _sub(text, r"^contributions = \d+", "contributions = 40")
    text = _sub(text, r"^repetitions = \d+", "repetitions = 2")
    cfg.write_text(text)
    return cfg


def _run(cfg: Path) -> int:
    return main(["run", str(cfg), "--workers", "1", "--no-progress"])


def _report_body(root: Path) -> str:
    return (root / "report.html").read_text(encoding="utf-8").split("<body>", 1)[1]


def _sample_rows(root: Path) -> list[dict[str, str]]:
    with open(root / "summary.csv", newline="") as fh:
        return [r for r in csv.DictReader(fh) if r["kind"] == "sample"]


def test_flow_rate_series_from_the_template_in_one_round(tmp_path):
    """README (a): a made-up axis, no families, one blank, PbS in toluene; the first run succeeds."""
    flows = {"f05": ("nuc190C", 0.5), "f20": ("nuc250C", 2.0)}
    entries = "".join(
        f'[[samples]]\nname = "{n}"\nframes = "{DATA / src / (src + "_00000.edf")}"\n'
        f"conditions = {{ flow_rate_ml_min = {f} }}\n\n"
        for n, (src, f) in flows.items()
    )
    cfg = readme_edits(
        tmp_path / "flow",
        poni=str(CAL / "id02_sim.poni"),
        mask=str(CAL / "id02_sim_mask.edf"),
        description="flow-rate series",
        entries=entries,
        blank_frames=str(DATA / "blank_230C" / "blank_230C_0000[01].edf"),
        particle="PbS",
        solvent="toluene",
    )
    assert _run(cfg) == 0
    root = tmp_path / "flow" / "results" / "flow"  # default output folder: results/<name> beside the config
    html = _report_body(root)
    for cdse in (*CDSE_SECTIONS, "CdSe"):
        assert cdse not in html, cdse
    assert "Series: size distributions and trends against flow rate" in html and "flow rate (ml/min)" in html
    assert "PbS in toluene" in html  # the contrast used, from [material]
    rows = _sample_rows(root)
    assert {r["name"]: float(r["flow_rate_ml_min"]) for r in rows} == {n: f for n, (_, f) in flows.items()}
    assert all(r["series_axis"] == "flow_rate_ml_min" and r["status"] == "ok" for r in rows)
    assert not [k for k in rows[0] if "yu" in k.lower() or k.startswith(("family_", "optical_"))]
    doc = json.loads((root / "summary.json").read_text())
    assert doc["series_axis"]["key"] == "flow_rate_ml_min" and doc["families"] == []


def _stack_config(tmp_path: Path, grouping: str) -> Path:
    entries = f'[[stacks]]\nname = "run1"\nframes = "{STACK}"\n{grouping}\n\n'
    return readme_edits(
        tmp_path / "stack",
        poni=str(CAL / "eiger_growth.poni"),
        mask=str(CAL / "eiger_growth_mask.edf"),
        description="growth run",
        entries=entries,
        blank_frames=BLANK_STACK,
        particle="CdSe",
        solvent="octadecene",
    )


def test_time_resolved_stack_from_the_template_in_one_round(tmp_path):
    """README (b): the shipped growth stack as one [[stacks]] entry in time windows from the sidecar's times."""
    cfg = _stack_config(tmp_path, f'window_s = 30.0\ntimestamps = "{GROWTH / "growth_230C_frames.csv"}::time_s"')
    assert _run(cfg) == 0
    root = tmp_path / "stack" / "results" / "stack"
    html = _report_body(root)
    for cdse in CDSE_SECTIONS:
        assert cdse not in html, cdse
    assert "Series: size distributions and trends against time" in html and "<img" in html
    rows = _sample_rows(root)
    assert [r["name"] for r in rows] == ["run1_t000", "run1_t001"]
    assert [float(r["time_s"]) for r in rows] == pytest.approx([15.0, 45.0], abs=0.2)  # window centres, s
    assert all(r["series_axis"] == "time_s" and r["status"] == "ok" for r in rows)


def test_stack_grouped_every_n_frames_from_the_template(tmp_path, capsys):
    """README (b) with every = N instead of time windows: no timestamps needed; the same plan, checked dry."""
    from saxs_mc.pipeline.config import load_config

    cfg = _stack_config(tmp_path, "every = 150")
    loaded = load_config(cfg)
    assert [s.n_frames for s in loaded.samples] == [150, 150] and loaded.series.axis == "time_s"
    assert [s.conditions["time_s"] for s in loaded.samples] == pytest.approx([15.0, 45.0], abs=0.2)
    assert main(["run", str(cfg), "--dry-run"]) == 0
    assert "run1_t001" in capsys.readouterr().out


def test_every_bad_input_of_the_issue_in_one_message_exit_2(tmp_path, capfd):
    """Empty time points, missing timestamps, an unknown formula and a matching key a sample lacks: one
    message names them all, before any work (exit code 2, no output folder)."""
    entries = (
        f'[[stacks]]\nname = "gappy"\nframes = "{STACK}"\nwindow_s = 0.1\n'  # frames come every 0.2 s
        'conditions = { solvent = "ODE" }\n\n'
        f'[[stacks]]\nname = "untimed"\nframes = "{DATA / "nuc190C" / "*.edf"}"\nwindow_s = 6.0\n'
        'conditions = { solvent = "ODE" }\n\n'
        f'[[samples]]\nname = "s1"\nframes = "{DATA / "nuc200C" / "*.edf"}"\n'
        "conditions = { flow_rate_ml_min = 1.0 }\n\n"
    )
    cfg = readme_edits(
        tmp_path / "bad",
        poni=str(CAL / "eiger_growth.poni"),
        mask=str(CAL / "eiger_growth_mask.edf"),
        description="bad",
        entries=entries,
        blank_frames=BLANK_STACK,
        particle="CdSeX",
        solvent="octadecene",
    )
    text = cfg.read_text().replace("conditions = { temperature_C = 230 }", 'conditions = { solvent = "ODE" }')
    text = _sub(text, r'^by = "auto"', 'by = "condition"\nsample_key = "solvent"')
    cfg.write_text(text)
    assert _run(cfg) == 2
    msg = capfd.readouterr().err  # the CLI logs the one message to stderr
    assert re.search(r"4 problems in the configuration", msg), msg
    assert f"{cfg}: stacks[0]: stack 'gappy'" in msg and "time window(s) hold no frame" in msg
    assert "widen window_s, or use every=N" in msg
    assert f"{cfg}: stacks[1]: stack 'untimed'" in msg and "window_s=6 needs per-frame timestamps" in msg
    assert 'timestamps = "run.h5::/entry/data/time"' in msg and "every = N instead of window_s" in msg
    assert f"{cfg}: material.particle: 'CdSeX' is neither a preset" in msg and "(unknown element X)" in msg
    assert "samples 's1' has no condition 'solvent', which [blank_matching] matches on" in msg
    assert "add solvent = <value> to its conditions" in msg
    assert not (tmp_path / "bad" / "results").exists()
