"""One declaration per setting (issue 14 item 2): the declarations, the library signatures, the CLIs and the
pipeline template all agree with them."""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import math
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from saxs_mc._settings import (
    add_option,
    at_least,
    between,
    declarations,
    declared,
    defaults,
    did_you_mean,
    one_of,
    pair,
    problems,
    setting,
    validate,
)

REPO = Path(__file__).resolve().parents[1]


@dataclasses.dataclass(frozen=True)
class _Demo:
    bins: int = setting(40, kind=int, check=at_least(2), doc="histogram bins")
    scale: str = setting("log", kind=str, check=one_of("log", "linear"), doc="bin spacing")
    q_range: tuple[float, float] | None = setting(None, kind=tuple, check=pair, doc="q range; none: all")
    factor: float | None = setting(1.0, kind=float, check=between(0, 1), optional=True, hint="false: none")


@dataclasses.dataclass(frozen=True)
class _Reuse:
    n: int = dataclasses.field(metadata=declared(_Demo, "bins"))


# ----------------------------------------------------------------------
# the mechanism
def test_declarations_hold_default_check_and_doc():
    d = declarations(_Demo)
    assert list(d) == ["bins", "scale", "q_range", "factor"]
    assert defaults(_Demo) == {"bins": 40, "scale": "log", "q_range": None, "factor": 1.0}
    assert _Demo().bins == 40 and d["q_range"].optional and not d["bins"].optional
    assert declarations(_Reuse)["n"] is d["bins"]  # re-used, not copied
    with pytest.raises(TypeError):  # a re-used declaration carries no default of its own
        _Reuse()  # type: ignore[call-arg]


def test_problems_name_every_bad_value_at_once():
    bad = _Demo(bins=1, scale="cubic", q_range=(3.0, 1.0), factor=float("nan"))
    msgs = problems(bad)
    assert msgs == [
        "_Demo.bins=1: must be >= 2",
        "_Demo.scale='cubic': use one of ['log', 'linear']",
        "_Demo.q_range=(3.0, 1.0): must satisfy 0 <= min < max (finite)",
        "_Demo.factor=nan: is not finite",
    ]
    assert problems(_Demo(bins=True)) == ["_Demo.bins=True: expected int, got bool"]  # bool is not an int here
    assert problems(_Demo(factor=2, q_range=[0.1, 1])) == ["_Demo.factor=2: must be in [0, 1]"]  # int for float ok
    assert problems(_Demo(factor="x")) == ["_Demo.factor='x': expected float, got str; false: none"]
    with pytest.raises(ValueError, match="bins=1.*; _Demo.scale"):
        validate(_Demo(bins=1, scale="x"))
    assert problems(_Demo()) == [] and problems(_Demo(factor=None)) == []


def test_did_you_mean():
    assert did_you_mean("contributons", ["contributions", "repetitions"]) == " (did you mean 'contributions'?)"
    assert did_you_mean("zzz", ["contributions"]) == ""


def test_add_option_takes_default_choices_check_and_help(capsys):
    p = argparse.ArgumentParser(prog="demo")
    d = declarations(_Demo)
    add_option(p, "--bins", decl=d["bins"])
    add_option(p, "--scale", decl=d["scale"])
    add_option(p, "--q-range", decl=d["q_range"])
    add_option(p, "--factor", decl=d["factor"], unset=True)
    ns = p.parse_args([])
    assert (ns.bins, ns.scale, ns.q_range, ns.factor) == (40, "log", None, None)
    assert p.parse_args(["--q-range", "0.1", "2"]).q_range == [0.1, 2.0]
    text = " ".join(p.format_help().split())
    assert "histogram bins (default 40)" in text and "{log,linear}" in text and "q range; none: all" in text
    assert "(default 1.0)" in text  # unset: the help still shows the declared default
    for argv, msg in (
        (["--bins", "1"], "--bins: 1: must be >= 2"),
        (["--bins", "x"], "'x' is not an int"),
        (["--scale", "cubic"], "invalid choice"),
    ):
        with pytest.raises(SystemExit) as e:
            p.parse_args(argv)
        assert e.value.code == 2 and msg in capsys.readouterr().err


# ----------------------------------------------------------------------
# the library functions use the declared defaults
def _signature_defaults(func) -> dict:
    return {
        k: v.default for k, v in inspect.signature(func).parameters.items() if v.default is not inspect.Parameter.empty
    }


def test_fit_arrays_defaults_are_the_declared_ones():
    from saxs_mc.fit import fit_arrays
    from saxs_mc.fit.mc import BACKGROUND_MODES
    from saxs_mc.fit.settings import BACKGROUND_MODES as DECLARED_MODES
    from saxs_mc.fit.settings import FitSettings

    sig = _signature_defaults(fit_arrays)
    for name, default in defaults(FitSettings).items():
        assert sig[name] == default, f"fit_arrays({name}={sig[name]!r}) but FitSettings declares {default!r}"
    assert set(BACKGROUND_MODES) == set(DECLARED_MODES)


def test_find_peaks_defaults_are_the_declared_ones():
    from saxs_mc.peaks import PeakSearchSettings, find_peaks

    sig = _signature_defaults(find_peaks)
    for name, default in defaults(PeakSearchSettings).items():
        assert sig[name] == default, name
    with pytest.raises(ValueError, match=r"min_significance must be a positive finite number, got 0"):
        PeakSearchSettings(min_significance=0)


def test_decompose_defaults_are_the_declared_ones():
    from saxs_mc.families import Family, decompose
    from saxs_mc.families.spec import BACKGROUNDS, SELECTIONS, DecomposeSettings

    sig = _signature_defaults(decompose)
    declared_defaults = defaults(DecomposeSettings)
    assert declared_defaults.pop("sd_nm") == Family("x", 1.0).sd_nm  # the family's own default
    for name, default in declared_defaults.items():
        assert sig[name] == default, name
    d = declarations(DecomposeSettings)
    assert d["background"].check.choices == BACKGROUNDS and d["selection"].check.choices == SELECTIONS


def test_water_calibration_defaults_are_the_declared_ones():
    from saxs_mc.reduce.calibration import water_calibration
    from saxs_mc.reduce.settings import WaterReferenceSettings

    sig, decl = _signature_defaults(water_calibration), defaults(WaterReferenceSettings)
    assert sig["q_range_nm"] == decl["q_range_nm"] and sig["reference_1_cm"] == decl["dsigma_1_cm"]


def test_reduction_settings_validate_with_their_declarations():
    from saxs_mc.reduce import HeaderMap, ReductionSettings

    assert defaults(HeaderMap) == HeaderMap().to_dict()
    with pytest.raises(ValueError) as e:
        ReductionSettings(npt=5, bad_frames="skip", polarization_factor=2.0)
    msg = str(e.value)
    assert "ReductionSettings.npt=5: must be in 10..10000" in msg and "bad_frames='skip'" in msg
    assert "polarization_factor=2.0: must be in [-1, 1]" in msg


# ----------------------------------------------------------------------
# the command-line interfaces take their defaults from the declarations
@pytest.mark.parametrize(
    "argv,cls,mapping",
    [
        (
            ["fit", "x", "-o", "o"],
            "saxs_mc.fit.settings:FitSettings",
            {
                "contributions": "contributions",
                "repetitions": "repetitions",
                "seed": "seed",
                "contrast": "contrast",
                "n_bins": "bins",
                "bin_scale": "bin_scale",
                "radius_sampling": "sampling",
                "background": "background",
                "power_law_exponent": "power_law",
                "max_iterations": "max_iterations",
                "chi2_k": "chi2_k",
                "q_range_nm": "q_range",
                "r_range_nm": "r_range",
                "background_bounds": "background_bounds",
            },
        ),
        (
            ["peaks", "x", "-o", "o"],
            "saxs_mc.peaks.settings:PeakSearchSettings",
            {"profile": "profile", "min_significance": "min_significance"},
        ),
        (
            ["reduce", "x", "-o", "o.h5"],
            "saxs_mc.reduce.settings:ReductionSettings",
            {
                "npt": "npt",
                "q_range": "q_range",
                "q_unit": "q_unit",
                "error_model": "error_model",
                "polarization_factor": "polarization_factor",
                "normalization": "normalization",
                "saturation": "saturation",
                "thickness_cm": "thickness_cm",
                "empty_cell_transmission": "empty_cell_transmission",
                "reject_mad_threshold": "reject_threshold",
                "flip": "flip",
                "mask_flip": "mask_flip",
            },
        ),
    ],
)
def test_cli_defaults_are_the_declared_ones(argv, cls, mapping):
    import importlib

    from saxs_mc.cli import build_parser

    module, _, name = cls.partition(":")
    decl = declarations(getattr(importlib.import_module(module), name))
    ns = build_parser().parse_args(argv)
    for field, dest in mapping.items():
        assert getattr(ns, dest) == decl[field].default, f"saxs-mc {argv[0]} --{dest}: not the declared default"


def test_families_cli_leaves_unset_options_to_the_config_file():
    from saxs_mc.cli import build_parser
    from saxs_mc.families.spec import DecomposeSettings

    ns = build_parser().parse_args(["families", "x"])
    assert (ns.background, ns.selection, ns.contrast, ns.continuous) == (
        None,
        None,
        None,
        defaults(DecomposeSettings)["continuous"],
    )


def test_cli_start_up_imports_no_heavy_library():
    code = (
        "import sys, saxs_mc.cli as c; c.build_parser().format_help(); "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'numpy', 'lmfit', 'numba', 'pyFAI', 'scipy'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# ----------------------------------------------------------------------
# pipelines/template.toml is tested against the declarations (not generated: its comments are written by hand)
_SECTION = re.compile(r"^#?\s*\[([A-Za-z_.]+)\]\s*(#.*)?$")  # a commented table header counts too
_KEY = re.compile(r"^#?\s*([A-Za-z_][A-Za-z0-9_]*)\s*=")


def _template_entries() -> dict[str, dict[str, list[tuple[object, str]]]]:
    """``{table: {key: [(value, comment), ...]}}`` of every key line of the template, commented or not."""
    out: dict[str, dict[str, list[tuple[object, str]]]] = {}
    table = ""
    for raw in (REPO / "pipelines" / "template.toml").read_text().splitlines():
        m = _SECTION.match(raw)
        if m:
            table = m.group(1)
            continue
        if raw.startswith("[["):
            table = raw.strip("[] ")
            continue
        if not _KEY.match(raw):
            continue
        line = raw.lstrip("#").strip()
        try:
            ((key, value),) = tomllib.loads(line).items()
        except (tomllib.TOMLDecodeError, ValueError):
            continue  # prose in a comment
        comment = line.split("#", 1)[1] if "#" in line.split("=", 1)[1] else ""
        out.setdefault(table, {}).setdefault(key, []).append((value, comment))
    return out


def _toml_literal(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return f'"{v}"'
    return str(v)


def _same(a: object, b: object) -> bool:
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(a, b)
    return a == b


def test_template_shows_every_declared_setting_with_its_default():
    from saxs_mc.pipeline.config import declared_settings

    entries = _template_entries()
    missing, wrong = [], []
    for table, settings in declared_settings().items():
        for key, decl in settings.items():
            lines = entries.get(table, {}).get(key)
            if not lines:
                missing.append(f"[{table}] {key}")
                continue
            d = decl.default
            if d is None or d is dataclasses.MISSING or d == ():
                continue  # not a TOML value: presence is enough
            lit = _toml_literal(list(d) if isinstance(d, tuple) else d).replace("'", '"')
            if not any(_same(v, d) or ("default" in c and lit in c) for v, c in lines):
                wrong.append(
                    f"[{table}] {key} = {lines[0][0]!r}: the declared default is {lit} "
                    "(show it, or say 'default {lit}' in the comment)"
                )
    assert not missing, "pipelines/template.toml lacks declared settings: " + ", ".join(missing)
    assert not wrong, "pipelines/template.toml: " + "; ".join(wrong)


def test_template_check_finds_a_wrong_default(monkeypatch):
    from saxs_mc.pipeline import config

    real = config.declared_settings
    changed = real()
    changed["fit"] = {**changed["fit"], "repetitions": dataclasses.replace(changed["fit"]["repetitions"], default=11)}
    monkeypatch.setattr(config, "declared_settings", lambda: changed)
    with pytest.raises(AssertionError, match=r"\[fit\] repetitions = 10: the declared default is 11"):
        test_template_shows_every_declared_setting_with_its_default()


def test_template_loads():
    from saxs_mc.pipeline.config import load_config

    cfg = load_config(REPO / "pipelines" / "template.toml")
    assert cfg.reduction.bad_frames == "reject" and cfg.fit.bins == 60 and cfg.families.continuous


@pytest.mark.parametrize("name", ["saxs_mc._settings", "saxs_mc.fit.settings", "saxs_mc.peaks.settings"])
def test_docstring_examples(name):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
