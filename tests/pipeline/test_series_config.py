"""Series configuration (saxs_mc.pipeline.series_config): conditions, blank matching on any key, stacks,
series axis, material, and the plan built from them (saxs_mc.pipeline.plan)."""

from __future__ import annotations

import dataclasses
import json
import logging
import re
from pathlib import Path

import h5py
import numpy as np
import pytest

from saxs_mc.cli import main
from saxs_mc.peaks.settings import PeakSearchSettings
from saxs_mc.pipeline.config import ConfigError, OutputConfig, load_config
from saxs_mc.pipeline.plan import plan_steps
from saxs_mc.pipeline.tasks import func_name

ROOT = Path(__file__).resolve().parents[2]
CAL = ROOT / "calibration"
DATA = ROOT / "sample_data" / "cdse_series"
GROWTH = ROOT / "sample_data" / "growth_stack"
STACK = f"{GROWTH / 'growth_230C.h5'}::/entry/instrument/detector/data"

pytestmark = pytest.mark.skipif(
    not (DATA / "nuc190C").is_dir() or not GROWTH.is_dir(), reason="shipped sample series not present"
)


def write(tmp: Path, body: str, *, poni: str = "id02_sim.poni", blanks: str | None = None) -> Path:
    """A minimal config: geometry, the given sections, and (default) the 230 C blank with temperature_C."""
    if blanks is None:
        blanks = f'[[blanks]]\nname = "blank_230C"\nframes = "{DATA}/blank_230C/*.edf"\ntemperature_C = 230\n'
    p = tmp / "exp" / "series.toml"
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(f'schema_version = 1\nname = "exp"\n[geometry]\nponi = "{CAL / poni}"\n{body}\n{blanks}')
    return p


def sample(name: str, frames: str = "nuc190C/*.edf", **extra: str) -> str:
    lines = [f'[[samples]]\nname = "{name}"\nframes = "{DATA / frames}"'] + [f"{k} = {v}" for k, v in extra.items()]
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------
# conditions
def test_conditions_inline_table_and_legacy_keys(tmp_path):
    body = (
        sample("a", conditions='{ flow_rate_ml_min = 2, solvent = "toluene" }')
        + sample("b", nucleation_temperature_C="250", growth_temperature_C="230")
        + '[[samples]]\nname = "c"\nframes = "'
        + str(DATA / "nuc200C/*.edf")
        + '"\n'
        + "[samples.conditions]\nflow_rate_ml_min = 4.5\n"
    )
    cfg = load_config(write(tmp_path, body))
    a, b, c = cfg.samples
    assert a.conditions == {"flow_rate_ml_min": 2.0, "solvent": "toluene"}
    assert isinstance(a.conditions["flow_rate_ml_min"], float)
    assert b.conditions == {"nucleation_temperature_C": 250.0, "growth_temperature_C": 230.0}
    assert b.nucleation_temperature_C == 250.0 and a.nucleation_temperature_C is None  # legacy read-only view
    assert c.conditions == {"flow_rate_ml_min": 4.5}
    assert cfg.blanks[0].conditions == {"temperature_C": 230.0} and cfg.blanks[0].temperature_C == 230.0
    assert all(cfg.blank_for(s).name == "blank_230C" for s in cfg.samples)  # the only blank, nothing said


def test_bad_conditions_are_all_reported(tmp_path):
    body = sample("a", conditions='{ ok_C = 1, flag = true, kind = "x", "bad key" = 2 }') + sample(
        "b", conditions="{ growth_temperature_C = 220 }", growth_temperature_C="230"
    )
    with pytest.raises(ConfigError) as e:
        load_config(write(tmp_path, body))
    msg = str(e.value)
    assert "samples[0].conditions.flag: True: a condition is a number or a string" in msg
    assert "samples[0].conditions.kind: 'kind' is reserved" in msg
    assert "samples[0].conditions.bad key: a condition name must be letters" in msg
    assert "samples[1].growth_temperature_C: given twice with different values (230 and conditions." in msg


def test_mistyped_keys_get_the_right_suggestion_and_all_are_listed(tmp_path):
    # the old guess for a missing nucleation_temperature_C was the sample's growth_temperature_C
    body = (
        sample("a", nucleation_temperatur_C="190", growth_temperature_C="230")
        + sample("b", flow_rate_ml_min="2.0")
        + sample("c", thicknes_cm="0.1")
    )
    with pytest.raises(ConfigError) as e:
        load_config(write(tmp_path, body))
    msg = str(e.value)
    assert "3 problems" in msg
    assert "samples[0].nucleation_temperatur_C: unknown key (did you mean 'nucleation_temperature_C'?)" in msg
    assert "samples[1].flow_rate_ml_min: unknown key; free conditions go into the entry's conditions table" in msg
    assert "samples[2].thicknes_cm: unknown key (did you mean 'thickness_cm'?)" in msg
    assert "growth_temperature_C'?" not in msg


def test_condition_key_typo_in_one_sample_is_named(tmp_path):
    body = "".join(
        sample(n, conditions=f"{{ {k} = {v} }}")
        for n, k, v in [("a", "flow_rate_ml_min", 1), ("b", "flow_rate_ml_min", 2), ("c", "flow_rat_ml_min", 3)]
    )
    with pytest.raises(
        ConfigError,
        match=r"samples 'c': condition 'flow_rat_ml_min' but every other entry has "
        r"'flow_rate_ml_min'.*did you mean 'flow_rate_ml_min'\?",
    ):
        load_config(write(tmp_path, body))


# ----------------------------------------------------------------------
# blank matching
TWO_SOLVENT_BLANKS = "".join(
    f'[[blanks]]\nname = "blank_{s}"\nframes = "{DATA}/blank_{t}/*.edf"\nconditions = {{ solvent = "{s}", '
    f"temperature_C = {int(t[:3])} }}\n"
    for s, t in (("toluene", "230C"), ("hexane", "025C"))
)


def test_blank_matching_on_any_condition_key(tmp_path):
    body = (
        sample("a", conditions='{ solvent = "hexane" }')
        + sample("b", conditions='{ solvent = "toluene" }')
        + '[blank_matching]\nby = "condition"\nsample_key = "solvent"\n'
    )
    cfg = load_config(write(tmp_path, body, blanks=TWO_SOLVENT_BLANKS))
    assert [cfg.blank_for(s).name for s in cfg.samples] == ["blank_hexane", "blank_toluene"]
    # numeric keys within the tolerance, blank key named differently
    body = (
        sample("a", conditions="{ cell_T_C = 229.8 }")
        + sample("b", conditions="{ cell_T_C = 25.3 }")
        + '[blank_matching]\nby = "condition"\nsample_key = "cell_T_C"\nblank_key = "temperature_C"\n'
        + "tolerance = 0.5\n"
    )
    cfg = load_config(write(tmp_path / "n", body, blanks=TWO_SOLVENT_BLANKS))
    assert [cfg.blank_for(s).name for s in cfg.samples] == ["blank_toluene", "blank_hexane"]
    assert cfg.blank_matching.tolerance_C == 0.5  # the legacy attribute name still reads


def test_blank_matching_problems_are_listed_together(tmp_path):
    body = (
        sample("a", conditions='{ solvnt = "hexane" }')
        + sample("b", conditions='{ solvent = "water" }')
        + sample("c", conditions='{ solvent = "toluene" }')
        + '[blank_matching]\nby = "condition"\nsample_key = "solvent"\n'
    )
    with pytest.raises(ConfigError) as e:
        load_config(write(tmp_path, body, blanks=TWO_SOLVENT_BLANKS))
    msg = str(e.value)
    assert "3 problems" in msg
    assert "samples 'a': condition 'solvnt' but every other entry has 'solvent'" in msg
    assert "samples 'a' has no condition 'solvent', which [blank_matching] matches on (did you mean 'solvnt'?)" in msg
    assert "samples 'b': no blank for solvent = 'water'" in msg and "blanks exist at ['hexane', 'toluene']" in msg


def test_several_blanks_need_a_rule(tmp_path):
    body = sample("a", conditions="{ flow_rate_ml_min = 1 }")
    with pytest.raises(ConfigError, match=r"samples 'a': 2 blanks and no rule to choose one: set blank = "):
        load_config(write(tmp_path, body, blanks=TWO_SOLVENT_BLANKS))
    cfg = load_config(write(tmp_path / "x", sample("a", blank='"blank_hexane"'), blanks=TWO_SOLVENT_BLANKS))
    assert cfg.blank_for(cfg.samples[0]).name == "blank_hexane"
    with pytest.raises(ConfigError, match=r"has no 'blank' key but blank_matching.by = 'explicit'"):
        load_config(write(tmp_path / "y", sample("a") + '[blank_matching]\nby = "explicit"\n'))


# ----------------------------------------------------------------------
# series axis
def test_series_axis_default_and_explicit(tmp_path):
    body = sample("a", conditions="{ flow_rate_ml_min = 1, growth_temperature_C = 230 }") + sample(
        "b", conditions="{ flow_rate_ml_min = 3, growth_temperature_C = 230 }"
    )
    cfg = load_config(write(tmp_path, body))
    assert (cfg.series.axis, cfg.series.label, cfg.series.unit) == ("flow_rate_ml_min", "flow rate", "ml/min")
    cfg = load_config(write(tmp_path / "i", sample("a") + sample("b")))
    assert cfg.series.axis == "index"
    cfg = load_config(write(tmp_path / "l", body + '[series]\naxis = "growth_temperature_C"\nlabel = "T"\n'))
    assert (cfg.series.axis, cfg.series.label, cfg.series.unit) == ("growth_temperature_C", "T", "°C")
    with pytest.raises(
        ConfigError,
        match=r"series\.axis: 'flow_rate_ml_mn': 2 sample\(s\) lack this condition "
        r"\(a, b\); did you mean 'flow_rate_ml_min'\?",
    ):
        load_config(write(tmp_path / "e", body + '[series]\naxis = "flow_rate_ml_mn"\n'))


# ----------------------------------------------------------------------
# material
def test_material_presets_formula_and_number(tmp_path):
    from saxs_mc.models.materials import contrast

    cfg = load_config(write(tmp_path, sample("a") + '[material]\nparticle = "CdSe"\nsolvent = "octadecene"\n'))
    ref = contrast("CdSe", "octadecene", wavelength_nm=0.1)  # id02_sim.poni: 0.1 nm
    assert cfg.fit.contrast_1e6_A2 == pytest.approx(ref.contrast_1e6_A2, rel=1e-12) == cfg.material.contrast_1e6_A2
    assert cfg.material.source == "preset" and cfg.material.details["particle"]["density_g_cm3"] == 5.82
    json.dumps(cfg.material.summary(), allow_nan=False)
    cfg = load_config(
        write(
            tmp_path / "f",
            sample("a") + '[material]\nparticle_formula = "Cu2S"\n'
            'particle_density_g_cm3 = 5.6\nsolvent = "toluene"\nenergy_keV = 8.04\n',
        )
    )
    ref = contrast({"formula": "Cu2S", "density_g_cm3": 5.6}, "toluene", energy_keV=8.04)
    assert cfg.fit.contrast_1e6_A2 == pytest.approx(ref.contrast_1e6_A2) and cfg.material.source == "formula"
    cfg = load_config(write(tmp_path / "n", sample("a") + "[material]\ncontrast_1e6_A2 = 12.5\n"))
    assert cfg.fit.contrast_1e6_A2 == 12.5 and cfg.material.source == "number"
    cfg = load_config(write(tmp_path / "l", sample("a") + "[fit]\ncontrast_1e6_A2 = 30.0\n"))
    assert cfg.material is None and cfg.fit.contrast_1e6_A2 == 30.0  # the legacy way
    with pytest.raises(ConfigError, match=r"contrast is given twice"):
        load_config(
            write(tmp_path / "t", sample("a") + "[material]\ncontrast_1e6_A2 = 12.5\n[fit]\ncontrast_1e6_A2 = 30.0\n")
        )


# ----------------------------------------------------------------------
# stacks
def _no_frame_reads(monkeypatch):
    import saxs_mc.io.frames as frames_mod

    def boom(*a, **k):
        raise AssertionError("a frame was read")

    monkeypatch.setattr(frames_mod, "iter_frames", boom)
    monkeypatch.setattr(frames_mod, "read_frame", boom)
    real = h5py.Dataset.__getitem__

    def guarded(self, key):
        if self.ndim == 3:
            raise AssertionError(f"frame data of {self.name} was read")
        return real(self, key)

    monkeypatch.setattr(h5py.Dataset, "__getitem__", guarded)


def test_stack_moving_time_windows_from_the_sidecar_without_reading_frames(tmp_path, monkeypatch):
    _no_frame_reads(monkeypatch)
    body = (
        f'[[stacks]]\nname = "run"\nframes = "{STACK}"\nwindow_s = 6.0\nstep_s = 3.0\norigin_s = 0.0\n'
        f'timestamps = "{GROWTH / "growth_230C_frames.csv"}::time_s"\nconditions = {{ growth_temperature_C = 230 }}\n'
    )
    cfg = load_config(
        write(
            tmp_path,
            body,
            poni="eiger_growth.poni",
            blanks=f'[[blanks]]\nname = "b"\nframes = "{GROWTH / "blank_230C.h5"}::/entry/instrument/detector/data"\n',
        )
    )
    # 60 s run, 6 s windows every 3 s, only windows inside the run: starts 0, 3, ..., 54
    assert len(cfg.samples) == 19 and cfg.samples[0].name == "run_t000" and cfg.samples[-1].name == "run_t018"
    assert [s.conditions["time_s"] for s in cfg.samples[:3]] == pytest.approx([3.0, 6.0, 9.0])
    assert all(s.n_frames == 30 for s in cfg.samples) and cfg.samples[1].time_point["frame_range"] == [15, 45]
    assert cfg.series.axis == "time_s" and cfg.stacks[0].n_time_points == 19 and cfg.stacks[0].n_frames == 300
    steps = {s.id: s for s in plan_steps(cfg)}
    md = steps["reduce/run_t002"].settings["metadata"]
    assert md["kind"] == "sample" and md["time_s"] == pytest.approx(9.0) and md["stack"] == "run"
    assert md["time_point"]["frame_range"] == [30, 60] and md["conditions"]["growth_temperature_C"] == 230.0
    assert steps["reduce/run_t002"].settings["sources"] == [
        f"{GROWTH.resolve() / 'growth_230C.h5'}::/entry/instrument/detector/data[30:60]"
    ]
    assert "mesophase/series" not in steps and not any(k.startswith(("families/", "optical/")) for k in steps)


def test_numbered_file_sequence_without_timestamps(tmp_path):
    body = f'[[stacks]]\nname = "seq"\nframes = "{DATA}/nuc190C/nuc190C_*.edf"\nevery = 1\n'
    cfg = load_config(write(tmp_path, body))
    assert [s.name for s in cfg.samples] == ["seq_t000", "seq_t001", "seq_t002"]
    assert [s.conditions["frame_index"] for s in cfg.samples] == [0.0, 1.0, 2.0]
    assert cfg.series.axis == "frame_index" and cfg.samples[2].files == (DATA / "nuc190C" / "nuc190C_00002.edf",)


def _stack_without_times(path: Path, n: int = 12) -> str:
    with h5py.File(path, "w") as f:
        f.create_dataset("entry/data/data", data=np.ones((n, 4, 4), dtype=np.int32))
    return f"{path}::/entry/data/data"


def test_every_bad_input_in_one_message_and_exit_2(tmp_path):
    """Empty time points, missing timestamps, unknown formula, a matching key a sample lacks, a mistyped key."""
    gap = tmp_path / "gap.h5"
    src = _stack_without_times(gap)
    times = np.r_[np.arange(6) * 0.5, 10.0 + np.arange(6) * 0.5]  # a 7 s gap
    (tmp_path / "gap_frames.csv").write_text("frame,time_s\n" + "".join(f"{i},{t}\n" for i, t in enumerate(times)))
    body = (
        f'[[stacks]]\nname = "gappy"\nframes = "{src}"\nwindow_s = 2.0\n'
        f'timestamps = "{tmp_path / "gap_frames.csv"}::time_s"\nblank = "blank_toluene"\n'
        f'[[stacks]]\nname = "untimed"\nframes = "{_stack_without_times(tmp_path / "plain.h5")}"\n'
        'window_s = 2.0\nblank = "blank_toluene"\n'
        + sample("a", conditions='{ solvent = "toluene" }')
        + sample("b", conditions="{ flow_rate_ml_min = 1 }")
        + sample("c", conditions='{ solvent = "hexane" }', reaction_tme_s="1.5")
        + '[blank_matching]\nby = "condition"\nsample_key = "solvent"\n'
        + '[material]\nparticle_formula = "Qx2O3"\nparticle_density_g_cm3 = 3.0\nsolvent = "water"\n'
    )
    cfg_path = write(tmp_path, body, blanks=TWO_SOLVENT_BLANKS)
    with pytest.raises(ConfigError) as e:
        load_config(cfg_path)
    msg = str(e.value)
    assert re.match(r"\d+ problems in the configuration", msg), msg
    assert "stacks[0]: stack 'gappy'" in msg and "time window(s) hold no frame: [4, 6) s, [6, 8) s" in msg
    assert "stacks[1]: stack 'untimed'" in msg and "window_s=2 needs per-frame timestamps, but none were found" in msg
    assert "material.particle_formula: 'Qx2O3' is neither a preset" in msg and "(unknown element Qx)" in msg
    assert "samples 'b' has no condition 'solvent', which [blank_matching] matches on" in msg
    assert "samples[2].reaction_tme_s: unknown key (did you mean 'reaction_time_s'?)" in msg
    assert main(["run", str(cfg_path), "--dry-run", "--no-progress"]) == 2


def test_output_dir_defaults_beside_the_config(tmp_path):
    cfg = load_config(write(tmp_path, sample("a")))
    assert cfg.output.dir == (tmp_path / "exp" / "results" / "exp").resolve()


# ----------------------------------------------------------------------
# the shipped CdSe config: same plan as before the series work (only metadata keys added)
def _rel(x):
    if isinstance(x, str):
        return x.replace(str(ROOT), "<repo>")
    if isinstance(x, dict):
        return {k: _rel(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_rel(v) for v in x]
    return x


def test_cdse_plan_settings_unchanged_but_for_added_metadata():
    before = json.loads((Path(__file__).parent / "data" / "cdse_plan_before_series.json").read_text())
    cfg = load_config(ROOT / "pipelines" / "cdse_nucleation_series.toml")
    steps = plan_steps(cfg)
    assert [s.id for s in steps] == list(before)
    for s in steps:
        old = before[s.id]
        new = _rel(
            {
                "kind": s.kind,
                "target": s.target,
                "func": func_name(s.func),
                "deps": list(s.deps),
                "inputs": list(s.inputs),
                "n_frames": s.n_frames,
                "settings": s.settings,
            }
        )
        new = json.loads(json.dumps(new))  # tuples -> lists, as stored
        md_old, md_new = old["settings"].pop("metadata", None), new["settings"].pop("metadata", None)
        if s.kind == "peaks" and old["settings"].get("min_significance", 0) is None:
            # None meant "the library default"; the one declaration (PeakSearchSettings) now writes it out
            old["settings"]["min_significance"] = PeakSearchSettings().min_significance
        assert new == old, s.id
        if md_old is not None:
            assert {k: md_new[k] for k in md_old} == md_old, s.id  # every old key, same value
            assert md_new["series_axis"] == "nucleation_temperature_C"
            assert md_new["conditions"] == {k: v for k, v in md_old.items() if k != "kind"}
            assert md_new["stack"] is None and md_new["time_point"] is None


# ----------------------------------------------------------------------
# a made-up axis from the template: no families, no populations, one blank; it runs
def _from_template(tmp: Path) -> Path:
    text = (ROOT / "pipelines" / "template.toml").read_text().replace('"../', f'"{ROOT}/')
    text = text[: text.index("# =====")]  # the README: delete the CdSe families part, from its banner to the end
    text = re.sub(r"^spectrum = .*$", "", text, flags=re.M)
    text = re.sub(
        r"^conditions = \{ nucleation_temperature_C = 190.*\}$",
        "conditions = { flow_rate_ml_min = 0.5 }",
        text,
        flags=re.M,
    )
    text = re.sub(
        r"^\[samples\.conditions\][^\n]*\n(?:\w+ = .*\n)+",
        "[samples.conditions]\nflow_rate_ml_min = 2.0\n",
        text,
        flags=re.M,
    )
    text = re.sub(r'^axis = "nucleation_temperature_C"', 'axis = "flow_rate_ml_min"', text, flags=re.M)
    text = re.sub(r"^contributions = \d+", "contributions = 40", text, flags=re.M)
    text = re.sub(r"^repetitions = \d+", "repetitions = 2", text, flags=re.M)
    text = re.sub(r"nuc(190|250)C_\*\.edf", r"nuc\1C_00000.edf", text)  # one frame per sample
    assert "flow_rate_ml_min = 2.0" in text and "fit.populations" not in text and "\n[families]" not in text
    p = tmp / "flow.toml"
    p.write_text(text)
    return p


def test_made_up_axis_from_the_template_plans_and_runs(tmp_path):
    from saxs_mc.reduce import read_reduced

    cfg = load_config(_from_template(tmp_path))
    assert cfg.series.axis == "flow_rate_ml_min" and (cfg.series.label, cfg.series.unit) == ("flow rate", "ml/min")
    assert cfg.fit.populations == () and cfg.families is None and len(cfg.blanks) == 1
    assert [s.conditions for s in cfg.samples] == [{"flow_rate_ml_min": 0.5}, {"flow_rate_ml_min": 2.0}]
    steps = plan_steps(cfg)
    assert {s.kind for s in steps} == {"reduce", "subtract", "fit", "peaks"}  # no families, optical, mesophase
    assert not any("families" in s.settings or "populations" in s.settings for s in steps)
    cfg = dataclasses.replace(cfg, output=OutputConfig(tmp_path / "out", figures=False))
    from saxs_mc.pipeline.run import run_pipeline

    res = run_pipeline(cfg, n_workers=2, make_report=False)  # the report side is tested with the report
    assert res.ok, {k: o.error for k, o in res.outcomes.items() if o.error}
    for s, flow in zip(cfg.samples, (0.5, 2.0)):
        md = read_reduced(res.root / "steps" / "reduce" / s.name / f"{s.name}.h5").curve.metadata
        assert md["flow_rate_ml_min"] == flow and md["series_axis"] == "flow_rate_ml_min"
        assert md["conditions"] == {"flow_rate_ml_min": flow} and md["kind"] == "sample"
        assert (res.root / "steps" / "fit" / s.name / f"{s.name}_digest.json").is_file()


def test_time_resolved_stack_from_the_template_plans(tmp_path):
    """The README's stack route: the template with its [[stacks]] example instead of the samples."""
    text = (ROOT / "pipelines" / "template.toml").read_text().replace('"../', f'"{ROOT}/')
    text = re.sub(r"^\[\[samples\]\].*?(?=^# A time-resolved run)", "", text, flags=re.S | re.M)
    block = re.search(r"^# \[\[stacks\]\]\n(?:# .*\n)+", text, flags=re.M).group(0)
    stack = "\n".join(line[2:] for line in block.splitlines() if re.match(r"# (name|frames|every|conditions) ", line))
    text = text.replace(block, "[[stacks]]\n" + stack + "\n")
    text = re.sub(
        r"^\[\[blanks\]\]\nname = .*\nframes = .*\n",
        f'[[blanks]]\nname = "blank_230C"\nframes = "{GROWTH}/blank_230C.h5::/entry/instrument/detector/data"\n',
        text,
        flags=re.M,
    )
    text = re.sub(r"^poni = .*$", f'poni = "{CAL}/eiger_growth.poni"', text, count=1, flags=re.M)
    text = re.sub(r"^mask = .*$", f'mask = "{CAL}/eiger_growth_mask.edf"', text, count=1, flags=re.M)
    text = re.sub(r'^axis = "nucleation_temperature_C"', 'axis = "time_s"', text, flags=re.M)
    p = tmp_path / "stack.toml"
    p.write_text(text)
    cfg = load_config(p)
    assert [s.name for s in cfg.samples] == [f"growth_t{k:03d}" for k in range(10)]
    assert cfg.series.axis == "time_s" and {cfg.blank_for(s).name for s in cfg.samples} == {"blank_230C"}
    steps = plan_steps(cfg)
    assert sum(s.kind == "fit" for s in steps) == 10 and not any(s.kind == "optical" for s in steps)


def test_unknown_keys_in_series_sections_are_listed_with_the_rest(tmp_path):
    body = (
        sample("a", conditions="{ x_mm = 1 }")
        + sample("b", conditions="{ x_mm = 2 }", blnk='"b"')
        + '[series]\naxs = "x_mm"\n[material]\nparticle = "Au"\nsolvant = "water"\n'
        + "[blank_matching]\ntolerence = 1.0\n"
    )
    with pytest.raises(ConfigError) as e:
        load_config(write(tmp_path, body))
    msg = str(e.value)
    for key, fix in (
        ("samples[1].blnk", "blank"),
        ("series.axs", "axis"),
        ("material.solvant", "solvent"),
        ("blank_matching.tolerence", "tolerance"),
    ):
        assert f"{key}: unknown key (did you mean '{fix}'?)" in msg, msg


# ----------------------------------------------------------------------
# first use (issue 10): messages a new user meets, each naming the key, the value and the fix
def test_condition_like_key_is_pointed_to_conditions_not_to_a_cdse_key(tmp_path):
    """``temperature_C`` on a sample used to get "did you mean 'growth_temperature_C'?" (a different quantity)."""
    body = (
        sample("a", temperature_C="230")
        + sample("b", reaction_temperature_C="230")
        + sample("c", nucleation_temperatur_C="190")
    )
    with pytest.raises(ConfigError) as e:
        load_config(write(tmp_path, body))
    msg = str(e.value)
    for i, key in ((0, "temperature_C"), (1, "reaction_temperature_C")):
        assert (
            f"samples[{i}].{key}: unknown key; free conditions go into the entry's conditions table: "
            f"conditions = {{ {key} = ... }} (or a [samples.conditions] section); valid keys here: blank, "
            "conditions, frames, name, spectrum, thickness_cm"
        ) in msg
    assert "samples[2].nucleation_temperatur_C: unknown key (did you mean 'nucleation_temperature_C'?)" in msg
    assert "did you mean 'growth_temperature_C'" not in msg


@pytest.mark.parametrize(
    "material, key, expected",
    [
        (
            'particle = "Cu2S"\nsolvent = "water"',
            "material.particle",
            "'Cu2S' is not a preset (CdSe, CdS, PbS, Au, SiO2, Fe3O4, ZnO, TiO2), so it is read as a chemical formula and "
            "needs its mass density: add particle_density_g_cm3 = <g/cm3>",
        ),
        (
            'particle = "Au"\nsolvent_formula = "C2H6O2"',
            "material.solvent_formula",
            "'C2H6O2' is given without its mass density: add solvent_density_g_cm3 = <g/cm3>",
        ),
        (
            'particle = "Au"\nsolvent = "glycol"',
            "material.solvent",
            "'glycol' is neither a preset (octadecene, toluene, hexane, water) nor a chemical formula; use a preset, or "
            'solvent_formula = "<element symbols and counts, e.g. Cu2S>" with solvent_density_g_cm3 = <g/cm3>',
        ),
    ],
)
def test_material_problems_name_their_config_key(tmp_path, material, key, expected):
    """The library's wording ("give density_g_cm3") used to stand under the bare key path 'material'."""
    with pytest.raises(ConfigError) as e:
        load_config(write(tmp_path, sample("a") + f"[material]\n{material}\n"))
    assert f"{key}: {expected}" in str(e.value)


def test_a_negative_density_is_one_problem(tmp_path):
    body = sample("a") + '[material]\nparticle = "CdSe"\nparticle_density_g_cm3 = -1\nsolvent = "toluene"\n'
    with pytest.raises(ConfigError) as e:
        load_config(write(tmp_path, body))
    assert str(e.value).endswith("material.particle_density_g_cm3: -1.0: must be > 0")


def test_missing_poni_mask_and_frames_are_listed_together(tmp_path):
    """A copied template with stale relative paths: every path is named in one message (was: the PONI only)."""
    body = sample("a", frames="nowhere/*.edf") + '[material]\nparticle = "Au"\nsolvent = "water"\n'
    p = write(tmp_path, body, poni="missing.poni")
    p.write_text(p.read_text().replace("[geometry]\n", '[geometry]\nmask = "cal/mask.edf"\n'))
    with pytest.raises(ConfigError) as e:
        load_config(p)
    msg = str(e.value)
    assert msg.startswith("3 problems in the configuration")
    assert "geometry.poni: PONI file" in msg and "geometry.mask: mask file 'cal/mask.edf'" in msg
    assert f"samples[0].frames: pattern '{DATA / 'nowhere/*.edf'}'" in msg


@pytest.mark.parametrize(
    "frames, expected",
    [
        (
            f"{GROWTH / 'growth_230C.h5'}::/entry/instrument/detector",
            "'/entry/instrument/detector' in {file} is a group, not a dataset; a stack is a 3D dataset (frames, rows, "
            "columns); 3D datasets in the file: ['/entry/data/data'] (h5ls -r growth_230C.h5)",
        ),
        (
            f"{GROWTH / 'growth_230C_frames.csv'}::/entry/data",
            "'{file}' is not an HDF5 file, and '::/entry/data' names a dataset inside an HDF5/NeXus file; for numbered "
            "frame files give a glob without '::' ('frames/run_*.edf')",
        ),
        (f"{GROWTH / 'growth_230c.h5'}::/entry/data/data", "HDF5 file '{file}' (resolved to {file}) does not exist"),
    ],
)
def test_stack_path_errors_say_what_the_path_is(tmp_path, frames, expected):
    """These used to read "... growth_230C_frames.csv::/entry/data does not exist" or "dataset not found"."""
    body = f'[[stacks]]\nname = "run"\nframes = "{frames}"\nevery = 30\n'
    with pytest.raises(ConfigError) as e:
        load_config(write(tmp_path, body, poni="eiger_growth.poni"))
    assert f"stacks[0].frames: stack 'run': {expected.format(file=frames.split('::')[0])}" in str(e.value)


def test_hdf5_sample_with_a_wrong_dataset_lists_the_datasets(tmp_path):
    body = sample("a", frames="eiger/*.h5::/entry/instrument/detector")
    with pytest.raises(
        ConfigError,
        match=r"samples\[0\]\.frames: .* has no 2D/3D dataset '/entry/instrument/detector'; "
        r"2D/3D datasets in the file: \['/entry/data/data'.*\] \(h5ls -r ",
    ):
        load_config(write(tmp_path, body))


def test_two_varying_conditions_without_an_axis_warn_and_name_both(tmp_path, caplog, monkeypatch):
    body = "".join(
        sample(n, conditions=f"{{ flow_rate_ml_min = {f}, position_mm = {x} }}")
        for n, f, x in (("a", 1, 0), ("b", 2, 5))
    )
    monkeypatch.setattr(logging.getLogger("saxs_mc"), "propagate", True)  # the CLI may have switched it off
    with caplog.at_level("WARNING", logger="saxs_mc.pipeline"):
        cfg = load_config(write(tmp_path, body))
    assert cfg.series.axis == "index"
    assert (
        "[series] axis is not set and 2 numeric conditions vary (flow_rate_ml_min, position_mm): the report "
        'plots against the sample order; set [series] axis = "flow_rate_ml_min"'
    ) in caplog.text
    one = "".join(
        sample(n, conditions=f"{{ flow_rate_ml_min = {f}, position_mm = 0 }}") for n, f in (("a", 1), ("b", 2))
    )
    caplog.clear()
    with caplog.at_level("WARNING", logger="saxs_mc.pipeline"):
        assert load_config(write(tmp_path / "one", one)).series.axis == "flow_rate_ml_min"
    assert "axis is not set" not in caplog.text
