"""Config validation: every problem is reported before any work, naming the key/file and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from saxs_mc.cli import main
from saxs_mc.pipeline.config import ConfigError, load_config

from .fakes import make_experiment

REPO = Path(__file__).resolve().parents[2]


def edit(cfg: Path, old: str, new: str) -> Path:
    text = cfg.read_text()
    assert old in text
    cfg.write_text(text.replace(old, new, 1))
    return cfg


def test_valid_fake_config(tmp_path):
    cfg = load_config(make_experiment(tmp_path))
    assert [s.name for s in cfg.samples][:2] == ["nuc190C", "nuc200C"]
    assert all(cfg.blank_for(s).name == "blank_230C" for s in cfg.samples)
    assert cfg.output.dir == (tmp_path / "out").resolve()  # relative to the config file
    assert cfg.samples[0].files[0].parent == (tmp_path / "data" / "nuc190C").resolve()
    assert cfg.fit.contributions == 10 and cfg.fit.populations[1].family_radius_nm == 0.94


def test_shipped_configs_are_valid():
    cfg = load_config(REPO / "pipelines" / "cdse_nucleation_series.toml")
    assert [s.nucleation_temperature_C for s in cfg.samples] == list(range(190, 290, 10))
    assert {cfg.blank_for(s).name for s in cfg.samples} == {"blank_230C"}
    tpl = load_config(REPO / "pipelines" / "template.toml")
    assert tpl.name == "template"
    # MSC families named by their absorption peak (Yu et al. 2003 via the reference study), same as the defaults
    for c in (cfg, tpl):
        fams = [(w.family_radius_nm, w.label, w.absorption_nm) for w in c.fit.populations if w.family_radius_nm]
        assert fams == [(0.87, "CdSe-403", 403.0), (0.94, "CdSe-437", 437.0), (1.02, "CdSe-465", 465.0)]


def test_population_labels_and_absorption_are_checked(tmp_path):
    from saxs_mc.pipeline.config import DEFAULT_POPULATIONS

    pops = (
        '\n[[fit.populations]]\nname = "small"\nlabel = "CdSe-382"\nr_min_nm = 0.6\nr_max_nm = 0.8\n'
        "family_radius_nm = 0.7\nabsorption_nm = 382\n"
    )
    cfg = make_experiment(tmp_path, populations=False)
    cfg.write_text(
        cfg.read_text().replace("[readout]", pops + "[readout]")
        if "[readout]" in cfg.read_text()
        else cfg.read_text() + pops
    )
    c = load_config(cfg)
    assert [(w.label, w.absorption_nm, w.display) for w in c.fit.populations] == [("CdSe-382", 382.0, "CdSe-382")]
    assert DEFAULT_POPULATIONS[-1].display == "regular NCs (r>1.06 nm)"
    edit(cfg, "absorption_nm = 382", "absorption_nm = 720")
    with pytest.raises(ConfigError, match=r"absorption_nm.*720.*380-660 nm"):
        load_config(cfg)
    edit(cfg, "absorption_nm = 720\n", "")
    edit(cfg, "family_radius_nm = 0.7", "absorption_nm = 400")
    with pytest.raises(ConfigError, match=r"absorption_nm=400.0 given for a window without family_radius_nm"):
        load_config(cfg)


def test_typo_key_names_path_suggestion_and_valid_keys(tmp_path):
    cfg = edit(make_experiment(tmp_path), "contributions = 10", "contributons = 10")
    with pytest.raises(ConfigError) as e:
        load_config(cfg)
    msg = str(e.value)
    assert "fit.contributons" in msg and "did you mean 'contributions'" in msg and "repetitions" in msg


def test_typo_in_array_of_tables_and_top_level(tmp_path):
    cfg = edit(make_experiment(tmp_path), "nucleation_temperature_C = 200", "nucleation_temperatur_C = 200")
    with pytest.raises(
        ConfigError,
        match=r"samples\[1\]\.nucleation_temperatur_C: unknown key "
        r"\(did you mean 'nucleation_temperature_C'\?\)",
    ):
        load_config(cfg)
    cfg = edit(make_experiment(tmp_path / "b"), "[output]", "[outptu]")
    with pytest.raises(ConfigError, match=r"outptu: unknown key \(did you mean 'output'\?\)"):
        load_config(cfg)


def test_glob_matching_nothing(tmp_path):
    cfg = edit(make_experiment(tmp_path), 'frames = "data/nuc200C/*.edf"', 'frames = "data/nuc200C/*.cbf"')
    with pytest.raises(ConfigError, match=r"samples\[1\]\.frames: pattern 'data/nuc200C/\*\.cbf' .* matches no file"):
        load_config(cfg)


def test_missing_blank_for_growth_temperature(tmp_path):
    cfg = make_experiment(tmp_path, blanks=(25, 100))
    with pytest.raises(
        ConfigError,
        match=r"no blank for growth_temperature_C = 230 .* blanks exist at \[25\.0, 100\.0\].*"
        r"Add a \[\[blanks\]\] entry with temperature_C = 230",
    ):
        load_config(cfg)


def test_missing_poni_and_mask(tmp_path):
    cfg = make_experiment(tmp_path)
    (tmp_path / "cal" / "geom.poni").unlink()
    with pytest.raises(ConfigError, match=r"geometry\.poni: PONI file 'cal/geom.poni' .* does not exist"):
        load_config(cfg)
    cfg = make_experiment(tmp_path / "m")
    (tmp_path / "m" / "cal" / "mask.edf").unlink()
    with pytest.raises(ConfigError, match=r"geometry\.mask: mask file"):
        load_config(cfg)


@pytest.mark.parametrize(
    "old,new,match",
    [
        ("contributions = 10", "contributions = 0", r"fit\.contributions: 0: must be >= 2"),
        ("contributions = 10", 'contributions = "many"', r"fit\.contributions: expected int, got str"),
        ("seed = 7", "seed = 7\nq_range_nm = [2.0, 1.0]", r"fit\.q_range_nm: .*0 <= min < max"),
        ("schema_version = 1", "schema_version = 2", r"schema_version = 2 is not supported"),
        ('name = "fake_series"', 'name = "a/b"', r"name: 'a/b': must be a non-empty name"),
        (
            "[execution]",
            '[blank_matching]\nby = "nearest"\n[execution]',
            r"blank_matching\.by: 'nearest': use 'condition'.* 'temperature' or 'explicit'",
        ),
    ],
)
def test_bad_values(tmp_path, old, new, match):
    with pytest.raises(ConfigError, match=match):
        load_config(edit(make_experiment(tmp_path), old, new))


def test_explicit_blank_must_exist(tmp_path):
    cfg = edit(make_experiment(tmp_path), 'name = "nuc190C"', 'name = "nuc190C"\nblank = "blank_999C"')
    with pytest.raises(ConfigError, match=r"'nuc190C'\.blank = 'blank_999C' names no \[\[blanks\]\] entry"):
        load_config(cfg)


def test_cli_reports_config_error_before_any_work(tmp_path, capsys):
    cfg = edit(make_experiment(tmp_path), "contributions = 10", "contributons = 10")
    assert main(["run", str(cfg)]) == 2
    assert not (tmp_path / "out").exists()
    assert capsys.readouterr().out == ""
    assert main(["run", str(tmp_path / "nope.toml")]) == 2


def _toml(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return '"' + v + '"'
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml(x) for x in v) + "]"
    return repr(v)


def test_every_declared_key_at_its_default_changes_nothing(tmp_path):
    """The keys the template is tested against (declared_settings) are the keys the parser reads, with the same
    defaults: a config giving every one of them its declared default equals one giving none of them."""
    import dataclasses

    from saxs_mc.pipeline.config import FamiliesConfig, declared_settings

    path = make_experiment(tmp_path, populations=False)
    text = path.read_text()
    base = load_config(path)
    given = {"fit": {"contributions", "repetitions", "seed"}, "output": {"dir", "figures"}, "execution": {"n_workers"}}
    blocks = {}
    for table, settings in declared_settings().items():
        if table == "normalization.water":  # needs frames; its two keys are read like every other table's
            continue
        lines = [
            f"{k} = {_toml(d.default)}"
            for k, d in settings.items()
            if d.default is not None
            and d.default is not dataclasses.MISSING
            and d.default != ()
            and k not in given.get(table, ())
        ]
        blocks[table] = "\n".join(lines)
    pops = '[[fit.populations]]\nname = "MSC r=0.94 nm"\nr_min_nm = 0.905\nr_max_nm = 0.98\nfamily_radius_nm = 0.94\n'
    for table in ("geometry", "fit", "output", "execution"):
        text = text.replace(f"[{table}]\n", f"[{table}]\n{blocks.pop(table)}\n", 1)
    text = text.replace("[output]\n", pops + "[output]\n", 1)
    head, sep, rest = text.partition("[geometry]\n")
    text = head + "".join(f"[{t}]\n{b}\n" for t, b in blocks.items()) + sep + rest
    path.write_text(text)
    full = load_config(path)
    for section in ("header", "normalization", "reduction", "readout", "peaks", "output", "execution", "geometry"):
        assert getattr(full, section) == getattr(base, section), section
    assert dataclasses.replace(full.fit, populations=()) == dataclasses.replace(base.fit, populations=())
    assert base.families is None and full.families == FamiliesConfig(
        **{k: d.default for k, d in declared_settings()["families"].items() if k != "enabled"}
    )


def test_false_means_none_for_optional_settings_and_type_errors_are_collected(tmp_path):
    cfg = edit(
        make_experiment(tmp_path),
        "[fit]",
        "[reduction]\npolarization_factor = false\n"
        "[normalization]\ncalibration_factor = false\n[fit]\ncontrast_1e6_A2 = false",
    )
    c = load_config(cfg)
    assert c.reduction.polarization_factor is None and c.normalization.calibration_factor is None
    assert c.fit.contrast_1e6_A2 is None  # relative volume fractions
    assert load_config(make_experiment(tmp_path / "d")).fit.contrast_1e6_A2 == 34.65  # the pipeline's default
    edit(cfg, "polarization_factor = false", 'polarization_factor = "0.99"\nnpt = 5\nbad_frames = "skip"')
    edit(cfg, "calibration_factor = false", "calibration_factor = true")
    with pytest.raises(ConfigError) as e:
        load_config(cfg)
    msg = str(e.value)
    assert msg.startswith("4 problems")
    assert "reduction.polarization_factor: expected float, got str '0.99'; false: no polarization correction" in msg
    assert "reduction.npt: 5: must be in 10..10000" in msg and "reduction.bad_frames: 'skip': use one of" in msg
    assert "normalization.calibration_factor: expected float, got bool True; false: arbitrary units" in msg
