"""The seam between planner and steps: registry of callables, typed step settings, code digest, failed extras."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest

from saxs_mc import __version__
from saxs_mc.pipeline import cache, keys, registry, steps
from saxs_mc.pipeline.config import load_config
from saxs_mc.pipeline.run import plan_steps, run_pipeline
from saxs_mc.pipeline.step_settings import (
    STEP_SETTINGS,
    FitStepSettings,
    PeaksStepSettings,
    StepSettingsError,
)

from . import fakes
from .fakes import FAKE_FUNCS, make_experiment

REPO = Path(__file__).resolve().parents[2]
SHIPPED = sorted((REPO / "pipelines").glob("*.toml"))

#: the "module:function" strings of the former DEFAULT_FUNCS table: the names hashed into the keys before
OLD_FUNC_NAMES = {
    k: f"saxs_mc.pipeline.steps:{k}_step"
    for k in ("calibrate", "reduce", "subtract", "fit", "peaks", "mesophase", "families", "optical")
}


# ----------------------------------------------------------------------
# registry
def test_registry_holds_top_level_callables_that_pickle_by_reference():
    assert set(registry.DEFAULT_FUNCS) == set(OLD_FUNC_NAMES) == set(STEP_SETTINGS)
    for kind, fn in registry.DEFAULT_FUNCS.items():
        registry.check_step_function(kind, fn)
        assert registry.func_name(fn) == OLD_FUNC_NAMES[kind]
        assert pickle.loads(pickle.dumps(fn)) is fn
    cfg = load_config(SHIPPED[0])
    step = next(s for s in plan_steps(cfg) if s.kind == "fit")
    assert step.func is steps.fit_step and pickle.loads(pickle.dumps(step)).func is steps.fit_step
    with pytest.raises(TypeError):
        registry.DEFAULT_FUNCS["fit"] = fakes.fit_step  # read-only view


def test_unusable_step_functions_are_refused_all_at_once():
    def local(ctx):
        return {}

    with pytest.raises(ValueError) as ei:
        registry.check_overrides(
            {"fit": "tests.pipeline.fakes:fit_step", "peaks": lambda ctx: {}, "reduce": local, "fitt": fakes.fit_step}
        )
    msg = str(ei.value)
    assert "unknown kinds ['fitt']" in msg and "callables now" in msg
    assert "<lambda>" in msg and "test_unusable_step_functions_are_refused_all_at_once.<locals>.local" in msg
    assert "define it at the top level" in msg


def test_registered_swaps_the_planners_functions_for_a_block_only(tmp_path):
    cfg = load_config(make_experiment(tmp_path, series=[(190, 0.87, 0.02)], blanks=(230,)))
    with registry.registered(FAKE_FUNCS):
        assert {s.func for s in plan_steps(cfg)} <= set(FAKE_FUNCS.values())
    assert all(s.func is registry.DEFAULT_FUNCS[s.kind] for s in plan_steps(cfg))
    assert registry.DEFAULT_FUNCS["fit"] is steps.fit_step
    with pytest.raises(ValueError, match="callables now"), registry.registered({"fit": "x:y"}):
        pass  # pragma: no cover
    assert registry.DEFAULT_FUNCS["fit"] is steps.fit_step


# ----------------------------------------------------------------------
# typed settings
@pytest.mark.parametrize("cfg_path", SHIPPED, ids=lambda p: p.name)
def test_shipped_configs_keys_are_unchanged_by_the_typed_seam(cfg_path):
    """The key document of every step is what it was with "module:function" strings and dict settings."""
    cfg = load_config(cfg_path)
    plan = plan_steps(cfg)
    hashes = cache.FileHashCache()
    got = keys.compute_keys(plan, hashes)
    for s in plan:
        typed = STEP_SETTINGS[s.kind].from_json(s.settings)
        assert cache.canonical_json(typed.to_json()) == cache.canonical_json(s.settings), s.id
        old = cache.step_key(
            func=OLD_FUNC_NAMES[s.kind],
            settings=s.settings,
            input_digests={p: hashes.digest(p) for p in s.inputs},
            upstream_keys={d: got[d] for d in s.deps},
            version=f"{__version__}+{keys.code_digest(s.func)}",
        )
        assert got[s.id] == old, s.id


def test_settings_refuse_unknown_and_missing_keys_naming_them():
    good = {
        "sample": "s",
        "contributions": 10,
        "repetitions": 2,
        "seed": 1,
        "q_range_nm": None,
        "r_range_nm": [0.3, 3.0],
        "contrast_1e6_A2": 34.65,
        "bins": 40,
        "bin_scale": "log",
    }
    s = FitStepSettings.from_json(good)
    assert s.r_range_nm == (0.3, 3.0) and s.exclude_bragg_peaks is False and s.to_json() == good
    with pytest.raises(StepSettingsError) as ei:
        FitStepSettings.from_json({**{k: v for k, v in good.items() if k != "seed"}, "binz": 3})
    assert str(ei.value).startswith("FitStepSettings: unknown key(s) ['binz']") and "missing key(s) ['seed']" in str(
        ei.value
    )
    with pytest.raises(dataclasses_frozen_error()):
        s.seed = 3  # frozen
    # an optional key given at its default stays in the JSON form; one left out stays out
    blank = {
        "name": "b",
        "role": "blank",
        "q_range_nm": None,
        "profile": "gaussian",
        "min_significance": None,
        "temperature_C": None,
    }
    assert PeaksStepSettings.from_json(blank).to_json() == blank
    del blank["temperature_C"]
    assert PeaksStepSettings.from_json(blank).to_json() == blank


def dataclasses_frozen_error():
    import dataclasses

    return dataclasses.FrozenInstanceError


def test_a_step_refuses_settings_of_another_shape(tmp_path):
    from saxs_mc.pipeline.tasks import Step, run_step

    step = Step(
        id="subtract/s",
        kind="subtract",
        target="s",
        func=steps.subtract_step,
        settings={"sample": "s", "blank": "b", "factor": 1.0},
    )
    with pytest.raises(
        StepSettingsError,
        match=r"SubtractSettings: unknown key\(s\) \['factor'\].*missing key\(s\) "
        r"\['scale'\]",
    ):
        run_step(step, "k", str(tmp_path), {})


# ----------------------------------------------------------------------
# code digest
@pytest.fixture()
def edited_sources(monkeypatch):
    """Pretend some saxs_mc files were edited: ``edit[relative path] = text appended to the source``."""
    edits: dict[str, bytes] = {}
    real = keys._read_source

    def read(path: Path) -> bytes:
        rel = (
            Path(path).resolve().relative_to(keys._ROOT).as_posix()
            if Path(path).resolve().is_relative_to(keys._ROOT)
            else str(path)
        )
        return real(path) + edits.get(rel, b"")

    monkeypatch.setattr(keys, "_read_source", read)
    keys.clear_cache()
    yield edits
    keys.clear_cache()


def _keys(cfg) -> dict[str, str]:
    keys.clear_cache()
    return keys.compute_keys(plan_steps(cfg), cache.FileHashCache())


def _changed(a: dict[str, str], b: dict[str, str]) -> set[str]:
    return {k for k in a if a[k] != b[k]}


def test_editing_a_module_a_step_imports_changes_that_steps_key_only(tmp_path, edited_sources):
    cfg_path = make_experiment(
        tmp_path, series=[(190, 0.87, 0.02), (250, 1.15, 0.12)], blanks=(25, 230), extra="[families]\n"
    )
    (tmp_path / "s.csv").write_text("nm,nuc190C\n400,0.1\n")
    cfg_path.write_text(
        cfg_path.read_text().replace(
            'frames = "data/nuc190C/*.edf"', 'frames = "data/nuc190C/*.edf"\nspectrum = "s.csv"'
        )
    )
    cfg = load_config(cfg_path)
    before = _keys(cfg)
    assert _keys(cfg) == before  # stable
    edited_sources["saxs_mc/optical/spectra.py"] = b"\n# edited\n"  # imported by optical/analysis.py
    assert _changed(before, _keys(cfg)) == {"optical/nuc190C"}
    edited_sources.clear()
    edited_sources["saxs_mc/fit/_kernels.py"] = b"\n# edited\n"  # fit_step -> saxs_mc.fit.mc -> _kernels
    assert _changed(before, _keys(cfg)) == {"fit/nuc190C", "fit/nuc250C"}
    edited_sources.clear()
    edited_sources["saxs_mc/peaks/index.py"] = b"\n# edited\n"  # the fit reads peaks (exclude_bragg_peaks)
    assert _changed(before, _keys(cfg)) == {s for s in before if s.startswith(("peaks/", "mesophase/", "fit/"))}
    edited_sources.clear()
    edited_sources["saxs_mc/families/_basis.py"] = b"\n# edited\n"
    assert _changed(before, _keys(cfg)) == {"families/nuc190C", "families/nuc250C"}
    edited_sources.clear()
    # a reduction change redoes everything downstream of the reductions (keys chain), but not the spectra
    edited_sources["saxs_mc/reduce/rejection.py"] = b"\n# edited\n"
    assert _changed(before, _keys(cfg)) == set(before) - {"optical/nuc190C"}


def test_a_new_function_local_import_is_followed(edited_sources):
    """No table to forget: a module that starts importing another one (inside a function) brings it in."""
    from saxs_mc.pipeline.steps import fit_step

    assert "saxs_mc/optical/spectra.py" not in keys.step_closure(fit_step)
    edited_sources["saxs_mc/fit/result.py"] = b"\n\ndef _later():\n    from saxs_mc.optical.spectra import x\n"
    keys.clear_cache()
    closure = keys.step_closure(fit_step)
    assert "saxs_mc/optical/spectra.py" in closure and "saxs_mc/optical/__init__.py" in closure
    d1 = keys.code_digest(fit_step)
    edited_sources["saxs_mc/optical/spectra.py"] = b"\n# edited\n"
    keys.clear_cache()
    assert keys.code_digest(fit_step) != d1


def test_closure_follows_lazy_package_stubs_and_function_scope():
    from saxs_mc.pipeline.steps import families_step, fit_step, mesophase_step, reduce_step

    fit = keys.step_closure(fit_step)
    # "from saxs_mc.fit import fit_curve" is resolved through saxs_mc/fit/__init__.pyi to saxs_mc/fit/mc.py
    assert {
        "saxs_mc/fit/mc.py",
        "saxs_mc/fit/__init__.py",
        "saxs_mc/__init__.py",
        "saxs_mc/_numba.py",
        "saxs_mc/pipeline/steps.py",
        "saxs_mc/pipeline/tasks.py",
    } <= set(fit)
    assert not any(p.startswith(("saxs_mc/optical/", "saxs_mc/families/")) for p in fit)
    assert "saxs_mc/peaks/detect.py" in fit  # fit_step -> _fit_exclusions -> read_peaks_json -> saxs_mc.peaks.detect
    assert not any(p.startswith(("saxs_mc/fit/", "saxs_mc/peaks/")) for p in keys.step_closure(reduce_step))
    assert "saxs_mc/peaks/index.py" in keys.step_closure(mesophase_step)  # via read_peaks_json, a helper it calls
    fam = keys.step_closure(families_step)
    assert "saxs_mc/fit/resolution.py" in fam and "saxs_mc/fit/mc.py" not in fam


# ----------------------------------------------------------------------
# issue 12: a failed families / optical step fails its sample, not the others
@pytest.mark.parametrize("kind", ["families", "optical"])
def test_failed_families_or_optical_step_fails_its_sample_only(tmp_path, kind):
    series = [(190, 0.87, 0.02), (220, 0.94, 0.02), (250, 1.15, 0.12)]
    cfg_path = make_experiment(tmp_path, series=series, blanks=(230,), extra="[families]\n")
    text = cfg_path.read_text()
    for name in ("nuc190C", fakes.FAILING_SAMPLE):
        (tmp_path / f"{name}.csv").write_text("family=CdSe-437 nm=437 height=0.21 d=1.85\n")
        text = text.replace(f'frames = "data/{name}/*.edf"', f'frames = "data/{name}/*.edf"\nspectrum = "{name}.csv"')
    cfg_path.write_text(text)
    failing = {"families": fakes.failing_families_step, "optical": fakes.failing_optical_step}[kind]
    res = run_pipeline(load_config(cfg_path), step_funcs={**FAKE_FUNCS, kind: failing})
    bad = f"{kind}/{fakes.FAILING_SAMPLE}"
    st = {k: o.status for k, o in res.outcomes.items()}
    assert st[bad] == "failed" and "fake" in res.outcomes[bad].error
    assert not res.ok and [o.id for o in res.failed] == [bad]
    assert st[f"fit/{fakes.FAILING_SAMPLE}"] == "done" and st[f"{kind}/nuc190C"] == "done"
    assert res.report_path is not None and res.report_path.exists()
    rows = {r["sample"]: r for r in json.loads((res.root / "summary.json").read_text())["samples"]}
    row = rows[fakes.FAILING_SAMPLE]
    assert row["status"] == "failed" and row["error"].startswith(f"{bad}: RuntimeError: fake")
    assert rows["nuc190C"]["status"] == "ok" and rows["nuc250C"]["status"] == "ok"
    assert rows["nuc190C"]["error"] is None
