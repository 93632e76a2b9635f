"""The series part of a pipeline configuration: samples, blanks, stacks, blank matching, series axis, material.

Parsed by :func:`parse_series` from :func:`saxs_mc.pipeline.config.load_config`.

- ``[[samples]]``: ``name``, ``frames``, optional ``blank``, ``thickness_cm``, ``spectrum`` and free
  ``conditions`` (``[samples.conditions]`` or ``conditions = { flow_rate_ml_min = 2.0 }``; units in the key
  names).  The legacy keys ``nucleation_temperature_C``, ``growth_temperature_C`` and ``reaction_time_s``
  are still accepted beside them and land in ``conditions``.
- ``[[blanks]]``: ``name``, ``frames``, ``thickness_cm``, ``conditions`` (legacy ``temperature_C``).
- ``[[stacks]]``: one HDF5 stack (``"run.h5::/entry/data/data"``) or numbered file sequence (a glob)
  grouped into time points by :mod:`saxs_mc.series.grouping` (``every``/``step`` in frames, or
  ``window_s``/``step_s`` in seconds on ``timestamps``); each time point becomes a sample
  ``<stack>_t<NNN>`` with ``conditions["time_s"]`` (window centre; ``frame_index`` without timestamps).
  Only shapes and timestamps are read: no frame is loaded to plan.
- ``[blank_matching]``: ``by = "auto"`` (default: a sample's ``blank``, else the only blank, else
  growth_temperature_C <-> temperature_C), ``"condition"`` (``sample_key``, ``blank_key``, ``tolerance``),
  ``"temperature"`` (legacy) or ``"explicit"``.
- ``[series]``: ``axis`` (a condition key or ``"index"``), ``label``, ``unit``.
- ``[material]``: ``contrast_1e6_A2`` or ``particle``/``solvent`` (presets or formulas with densities) at
  the beam energy of the PONI file (:mod:`saxs_mc.models.materials`).

Every problem (in all samples, stacks and sections) is collected and reported together.
"""

from __future__ import annotations

import dataclasses
import difflib
import glob
import logging
import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .config import (
    BlankConfig,
    BlankMatchingConfig,
    ConfigError,
    FitConfig,
    MaterialConfig,
    PipelineConfig,
    SampleConfig,
    SeriesConfig,
    StackConfig,
    _expand_frames,
    _name_check,
    _non_negative,
    _positive,
    _resolve,
    _spectrum_path,
    _Table,
)

#: legacy top-level condition keys of a [[samples]] / [[stacks]] entry (folded into its conditions)
LEGACY_SAMPLE_KEYS = ("nucleation_temperature_C", "growth_temperature_C", "reaction_time_s")
#: legacy top-level condition key of a [[blanks]] entry
LEGACY_BLANK_KEYS = ("temperature_C",)
SAMPLE_KEYS = ("name", "frames", "blank", "thickness_cm", "spectrum", "conditions", *LEGACY_SAMPLE_KEYS)
BLANK_KEYS = ("name", "frames", "thickness_cm", "conditions", *LEGACY_BLANK_KEYS)
STACK_KEYS = (
    "name",
    "frames",
    "every",
    "step",
    "window_s",
    "step_s",
    "origin_s",
    "drop_partial",
    "timestamps",
    "blank",
    "thickness_cm",
    "conditions",
    *LEGACY_SAMPLE_KEYS,
)
#: names a condition may not have (keys of the reduce steps' metadata, see saxs_mc.pipeline.plan)
RESERVED_CONDITIONS = ("kind", "conditions", "series_axis", "stack", "time_point", "title", "sources")
MATCH_MODES = ("auto", "condition", "temperature", "explicit")
#: the legacy temperature rule: sample growth temperature <-> blank temperature
TEMPERATURE_KEYS = ("growth_temperature_C", "temperature_C")
#: unit suffixes of condition keys -> unit shown on axes (longest first)
UNIT_SUFFIXES = (
    ("_ml_min", "ml/min"),
    ("_ul_min", "µl/min"),
    ("_ml_h", "ml/h"),
    ("_percent", "%"),
    ("_pct", "%"),
    ("_min", "min"),
    ("_bar", "bar"),
    ("_keV", "keV"),
    ("_mM", "mM"),
    ("_nm", "nm"),
    ("_um", "µm"),
    ("_mm", "mm"),
    ("_ms", "ms"),
    ("_C", "°C"),
    ("_K", "K"),
    ("_s", "s"),
    ("_h", "h"),
    ("_M", "M"),
)
_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
log = logging.getLogger("saxs_mc.pipeline")


@dataclasses.dataclass(frozen=True)
class SeriesSections:
    """What :func:`parse_series` read (``fit`` is applied by :meth:`apply_material`)."""

    samples: tuple[SampleConfig, ...]
    blanks: tuple[BlankConfig, ...]
    stacks: tuple[StackConfig, ...]
    blank_matching: BlankMatchingConfig
    series: SeriesConfig
    material: MaterialConfig | None

    def apply_material(self, fit: FitConfig, fit_table: dict[str, Any], top: _Table) -> FitConfig:
        """``fit`` with the contrast of ``[material]`` (a contrast in both places is a problem)."""
        if self.material is None:
            return fit
        if "contrast_1e6_A2" in fit_table:
            top.problems.append(
                top.error(
                    "the contrast is given twice: [material] and [fit] contrast_1e6_A2; "
                    "keep one (drop [fit] contrast_1e6_A2)",
                    "fit.contrast_1e6_A2",
                )
            )
        return dataclasses.replace(fit, contrast_1e6_A2=self.material.contrast_1e6_A2)


def parse_series(top: _Table, base: Path, poni: Path) -> SeriesSections:
    """Read the samples, blanks, stacks, blank matching, series axis and material of a config.

    Problems are appended to ``top.problems`` (all reported together by ``load_config``).
    """
    blanks = tuple(_parse_entries(top, "blanks", base, _blank))
    samples = list(_parse_entries(top, "samples", base, _sample))
    stacks: list[StackConfig] = []
    for t in top.array_of_tables("stacks", required=False):
        stack, points = _guard(t, lambda t=t: _stack(t, base)) or (None, [])
        if stack is not None:
            stacks.append(stack)
            samples.extend(points)
    if "samples" not in top.table and "stacks" not in top.table:
        raise top.error("no [[samples]] and no [[stacks]]: add at least one (see pipelines/template.toml)")
    names = [s.name for s in samples] + [b.name for b in blanks]
    dup = sorted({x for x in names if names.count(x) > 1})
    if dup:
        top.problems.append(
            ConfigError(
                f"{top.source}: samples/blanks/stacks: names must be unique (they name "
                f"output folders; a stack's time points are <stack>_tNNN); duplicated: {dup}"
            )
        )
    top.problems.extend(_condition_typos(samples, top.source, "samples"))
    return SeriesSections(
        samples=tuple(samples),
        blanks=blanks,
        stacks=tuple(stacks),
        blank_matching=_parse_matching(top),
        series=_parse_axis(top, samples),
        material=_parse_material(top, poni),
    )


# ----------------------------------------------------------------------
# entries
def _guard(t: _Table, parse: Any) -> Any:
    """Run ``parse``; a ConfigError becomes a problem (the other entries are still read)."""
    try:
        return parse()
    except ConfigError as exc:
        t.problems.append(exc)
        return None


def _parse_entries(top: _Table, key: str, base: Path, one: Any) -> list[Any]:
    out = []
    for t in top.array_of_tables(key, required=False):
        item = _guard(t, lambda t=t: one(t, base))
        if item is not None:
            out.append(item)
    return out


def _sample(t: _Table, base: Path) -> SampleConfig:
    _unknown_keys(t, SAMPLE_KEYS)
    name = t.get("name", str, check=_name_check)
    pats, files, srcs = _expand_frames(t, "frames", base)
    out = SampleConfig(
        name=name,
        frames=pats,
        files=files,
        sources=srcs,
        blank=t.get("blank", str, default=None),
        thickness_cm=t.get("thickness_cm", float, default=None, check=_positive),
        spectrum=_spectrum_path(t, base),
        conditions=_conditions(t, LEGACY_SAMPLE_KEYS),
    )
    return out


def _blank(t: _Table, base: Path) -> BlankConfig:
    _unknown_keys(t, BLANK_KEYS)
    name = t.get("name", str, check=_name_check)
    pats, files, srcs = _expand_frames(t, "frames", base)
    out = BlankConfig(
        name=name,
        frames=pats,
        files=files,
        sources=srcs,
        thickness_cm=t.get("thickness_cm", float, default=None, check=_positive),
        conditions=_conditions(t, LEGACY_BLANK_KEYS),
    )
    return out


def _conditions(t: _Table, legacy: Sequence[str]) -> dict[str, float | str]:
    """``conditions`` (table or inline) plus the legacy top-level keys; numbers become floats."""
    raw = t.get(
        "conditions",
        dict,
        default={},
        hint="give a table of condition = value, e.g. "
        "conditions = { flow_rate_ml_min = 2.0, growth_temperature_C = 230 }",
    )
    out: dict[str, float | str] = {}
    for k, v in raw.items():
        where = f"conditions.{k}"
        if k in RESERVED_CONDITIONS:
            t.problems.append(
                t.error(
                    f"'{k}' is reserved (it names step metadata); call the condition otherwise, e.g. '{k}_value'", where
                )
            )
        elif not _KEY_RE.match(k):
            t.problems.append(
                t.error(
                    "a condition name must be letters, digits and '_' with the unit at the end, e.g. flow_rate_ml_min",
                    where,
                )
            )
        elif isinstance(v, bool) or not isinstance(v, (int, float, str)):
            t.problems.append(t.error(f"{v!r}: a condition is a number or a string (unit in the key name)", where))
        elif isinstance(v, float) and not math.isfinite(v):
            t.problems.append(t.error(f"{v!r} is not finite", where))
        elif isinstance(v, str) and not v.strip():
            t.problems.append(t.error("an empty string is not a condition value", where))
        else:
            out[k] = float(v) if isinstance(v, (int, float)) else v
    for k in legacy:
        v = t.get(k, float, default=None, check=_positive if k == "reaction_time_s" else None)
        if v is None:
            continue
        if k in out and out[k] != v:
            t.problems.append(
                t.error(f"given twice with different values ({v:g} and conditions.{k} = {out[k]!r}); keep one", k)
            )
        out[k] = v
    return out


def _unknown_keys(t: _Table, keys: Sequence[str]) -> None:
    """Every unknown key of an entry is a problem, with a "did you mean" among the valid keys.

    In an entry with ``conditions`` an unknown key that is not a typo of one of its keys is taken for a
    condition: the fix is the conditions table.  A legacy CdSe key is suggested only for a near spelling
    (``nucleation_temperatur_C``), never ``growth_temperature_C`` for ``temperature_C``.
    """
    t.known.extend(keys)
    legacy = [k for k in keys if k in LEGACY_SAMPLE_KEYS + LEGACY_BLANK_KEYS]
    own = [k for k in keys if k not in legacy]
    for k in t.table:
        if k in t.known:
            continue
        close = difflib.get_close_matches(k, own, n=1, cutoff=0.75) or difflib.get_close_matches(
            k, legacy, n=1, cutoff=0.9
        )
        if close:
            hint = f" (did you mean '{close[0]}'?)"
        elif "conditions" in keys:
            hint = (
                f"; free conditions go into the entry's conditions table: conditions = {{ {k} = ... }} "
                f"(or a [{t.path.split('[')[0]}.conditions] section)"
            )
        else:
            hint = ""
        t.problems.append(t.error(f"unknown key{hint}; valid keys here: {', '.join(sorted(set(own)))}", k))


def _condition_typos(items: Sequence[Any], source: Path, what: str) -> list[ConfigError]:
    """A condition key that only some samples have, close to one all the others have: a typo."""
    if len(items) < 3:
        return []
    count: dict[str, int] = {}
    for it in items:
        for k in it.conditions:
            count[k] = count.get(k, 0) + 1
    out = []
    for it in items:
        for k in it.conditions:
            others = [c for c, n in count.items() if c not in it.conditions and n == len(items) - 1]
            close = difflib.get_close_matches(k, others, n=1, cutoff=0.85) if count[k] == 1 else []
            if close:
                out.append(
                    ConfigError(
                        f"{source}: {what} '{it.name}': condition '{k}' but every other entry has "
                        f"'{close[0]}' (and this one has not): did you mean '{close[0]}'?"
                    )
                )
    return out


# ----------------------------------------------------------------------
# stacks
def _stack_source(base: Path, frames: str) -> str:
    file_part, sep, ds = frames.partition("::")
    return f"{_resolve(base, file_part).resolve()}{sep}{ds}" if sep else str(_resolve(base, file_part))


def _timestamps(base: Path, raw: str | None) -> str | None:
    if raw is None or raw.startswith("header:"):
        return raw
    file_part, sep, sub = raw.partition("::")
    return f"{_resolve(base, file_part).resolve()}{sep}{sub}"


def _stack(t: _Table, base: Path) -> tuple[StackConfig, list[SampleConfig]] | None:
    from saxs_mc.series.grouping import Grouping, GroupingError, group_frames

    _unknown_keys(t, STACK_KEYS)
    name = t.get("name", str, check=_name_check)
    frames = t.get(
        "frames",
        str,
        hint="one HDF5 stack 'run.h5::/entry/instrument/detector/data' or a glob of "
        "numbered frame files 'frames/run_*.edf'",
    )
    kw = {
        "every": t.get("every", int, default=None),
        "window_s": t.get("window_s", float, default=None),
        "step": t.get("step", int, default=None),
        "step_s": t.get("step_s", float, default=None),
        "origin_s": t.get("origin_s", float, default=None),
        "drop_partial": t.get("drop_partial", bool, default=False),
    }
    ts_raw = t.get(
        "timestamps",
        str,
        default=None,
        hint="'run.h5::/entry/data/time', 'run_frames.csv::time_s' "
        "or 'header:<key>'; default: the stack's NeXus time axis",
    )
    blank = t.get("blank", str, default=None)
    thickness = t.get("thickness_cm", float, default=None, check=_positive)
    conditions = _conditions(t, LEGACY_SAMPLE_KEYS)
    path_problem = _stack_path_problem(base, frames)
    if path_problem:
        t.problems.append(t.error(f"stack '{name}': {path_problem}", "frames"))
        return None
    try:
        grouping = Grouping(**kw)
        sg = group_frames(_stack_source(base, frames), grouping, timestamps=_timestamps(base, ts_raw))
    except GroupingError as exc:
        for p in exc.problems:
            t.problems.append(t.error(f"stack '{name}' ({frames}): {p}"))
        return None
    width = max(3, len(str(len(sg) - 1)))
    points = [
        _time_point_sample(name, k, tp, sg.stack, frames, width, blank, thickness, conditions)
        for k, tp in enumerate(sg)
    ]
    stack = StackConfig(
        name=name,
        frames=frames,
        source=sg.stack.source,
        blank=blank,
        conditions=conditions,
        grouping={**grouping.to_dict(), "timestamps": sg.timestamps_source},
        n_frames=sg.stack.n_frames,
        n_time_points=len(sg),
    )
    return stack, points


def datasets_in(fh: Any, min_ndim: int, max_ndim: int = 3) -> list[str]:
    """Paths of the datasets of an open HDF5 file with ``min_ndim``..``max_ndim`` dimensions (for error messages)."""
    import h5py

    out: list[str] = []
    fh.visititems(
        lambda n, o: out.append("/" + n) if isinstance(o, h5py.Dataset) and min_ndim <= o.ndim <= max_ndim else None
    )
    return out[:8]


def _stack_path_problem(base: Path, frames: str) -> str | None:
    """What is wrong with the ``frames`` path of a stack, in terms of the config (None: the path is fine)."""
    import h5py

    file_part, sep, ds = frames.partition("::")
    full = _resolve(base, file_part)
    where = f"paths are relative to the config file's folder {base}"
    if not sep:
        if not glob.glob(str(full)):
            return (
                f"frames = {frames!r} (resolved to {full}) matches no file; {where}; give one HDF5 stack "
                "'run.h5::/entry/instrument/detector/data' or a glob of numbered frame files 'frames/run_*.edf'"
            )
        return None
    if not full.is_file():
        return f"HDF5 file {file_part!r} (resolved to {full.resolve()}) does not exist; {where}"
    if not h5py.is_hdf5(full):
        return (
            f"{file_part!r} is not an HDF5 file, and '::{ds}' names a dataset inside an HDF5/NeXus file; "
            "for numbered frame files give a glob without '::' ('frames/run_*.edf')"
        )
    dset = ds.split("[", 1)[0]
    with h5py.File(full, "r") as fh:
        obj = fh.get(dset) if dset else None
        if isinstance(obj, h5py.Dataset) and obj.ndim == 3:
            return None
        stacks = datasets_in(fh, 3)
        what = (
            f"is a {obj.ndim}D dataset"
            if isinstance(obj, h5py.Dataset)
            else "is a group, not a dataset"
            if isinstance(obj, h5py.Group)
            else "does not exist"
        )
    return (
        f"'{dset}' in {file_part} {what}; a stack is a 3D dataset (frames, rows, columns); "
        f"3D datasets in the file: {stacks if stacks else 'none'} (h5ls -r {full.name})"
    )


def _time_point_sample(
    stack: str,
    k: int,
    tp: Any,
    fs: Any,
    frames: str,
    width: int,
    blank: str | None,
    thickness: float | None,
    conditions: dict[str, float | str],
) -> SampleConfig:
    cond = dict(conditions)
    if tp.time_s is not None:
        cond["time_s"] = round(float(tp.time_s), 9)
    else:  # no timestamps: the centre frame of the group
        cond["frame_index"] = float(sum(tp.frames)) / len(tp.frames)
    files = (fs.path.resolve(),) if fs.is_hdf5 else tuple(Path(f).resolve() for f in tp.sources)
    return SampleConfig(
        name=f"{stack}_t{k:0{width}d}",
        frames=(frames,),
        files=files,
        sources=tuple(tp.sources),
        blank=blank,
        thickness_cm=thickness,
        spectrum=None,
        conditions=cond,
        stack=stack,
        time_point=tp.summary(),
    )


# ----------------------------------------------------------------------
# blank matching
def _parse_matching(top: _Table) -> BlankMatchingConfig:
    bm = top.sub("blank_matching")
    by = bm.get(
        "by",
        str,
        default="auto",
        check=lambda v: (
            None
            if v in MATCH_MODES
            else "use 'condition' (with sample_key, blank_key), 'auto', 'temperature' or 'explicit'"
        ),
    )
    sk = bm.get("sample_key", str, default=None, hint="the sample condition to match, e.g. 'growth_temperature_C'")
    bk = bm.get("blank_key", str, default=None, hint="the blank condition it is matched to; default: sample_key")
    tol = bm.get("tolerance", float, default=None, check=_non_negative)
    tol_c = bm.get("tolerance_C", float, default=None, check=_non_negative)
    scale = bm.get("scale", float, default=1.0, check=_positive)
    _unknown_keys(bm, list(bm.known))  # noted, not raised: the other problems are still found
    if tol is not None and tol_c is not None:
        bm.problems.append(bm.error("give tolerance (or its legacy name tolerance_C), not both", "tolerance_C"))
    if by == "condition" and sk is None:
        bm.problems.append(
            bm.error(
                "by = 'condition' needs sample_key = '<condition of the samples>' (and "
                "blank_key if the blanks name it differently)",
                "sample_key",
            )
        )
    if by != "condition" and (sk is not None or bk is not None):
        bm.problems.append(bm.error(f"sample_key/blank_key go with by = 'condition' (by = {by!r} here)", "by"))
    if by == "temperature":
        sk, bk = TEMPERATURE_KEYS
    tolerance = tol if tol is not None else (tol_c if tol_c is not None else 0.5)
    return BlankMatchingConfig(by=by, tolerance=tolerance, scale=scale, sample_key=sk, blank_key=bk or sk)


def _rule(cfg: PipelineConfig, sample: SampleConfig) -> tuple[str, str] | None:
    """The (sample_key, blank_key) used for ``sample``; None: the only blank."""
    bm = cfg.blank_matching
    if bm.by in ("condition", "temperature"):
        return bm.sample_key, bm.blank_key  # type: ignore[return-value]
    if len(cfg.blanks) == 1:
        return None
    if TEMPERATURE_KEYS[0] in sample.conditions and any(TEMPERATURE_KEYS[1] in b.conditions for b in cfg.blanks):
        return TEMPERATURE_KEYS
    raise ConfigError(
        f"{cfg.source}: samples '{sample.name}': {len(cfg.blanks)} blanks and no rule to choose one: set blank = "
        f'"<name>" on the sample (or stack), or [blank_matching] by = "condition" with sample_key and blank_key '
        f"(condition keys of the samples: {sorted(sample.conditions)})"
    )


def _same(a: float | str, b: float | str, tol: float) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return abs(a - b) <= tol
    return a == b


def match_blank(cfg: PipelineConfig, sample: SampleConfig) -> BlankConfig:
    """The blank subtracted from ``sample`` (see :class:`~saxs_mc.pipeline.config.BlankMatchingConfig`).

    Raises
    ------
    ConfigError
        Naming the sample, the rule and the fix.
    """
    if sample.blank is not None:
        try:
            return cfg.blank_by_name(sample.blank)
        except KeyError:
            raise ConfigError(
                f"{cfg.source}: samples '{sample.name}'.blank = {sample.blank!r} names no [[blanks]] "
                f"entry; known blanks: {[b.name for b in cfg.blanks]}"
            ) from None
    if not cfg.blanks:
        raise ConfigError(
            f"{cfg.source}: no [[blanks]]: add the blank (solvent/precursor without particles) "
            "that is subtracted from the samples"
        )
    if cfg.blank_matching.by == "explicit":
        raise ConfigError(
            f"{cfg.source}: samples '{sample.name}' has no 'blank' key but blank_matching.by = "
            "'explicit'; add blank = \"<name of a [[blanks]] entry>\" to the sample"
        )
    rule = _rule(cfg, sample)
    if rule is None:
        return cfg.blanks[0]
    sk, bk = rule
    if sk not in sample.conditions:
        close = difflib.get_close_matches(sk, list(sample.conditions), n=1, cutoff=0.75)
        raise ConfigError(
            f"{cfg.source}: samples '{sample.name}' has no condition '{sk}', which [blank_matching] matches on"
            f"{f' (did you mean {close[0]!r}?)' if close else ''}; its conditions: {sorted(sample.conditions)}; add "
            f'{sk} = <value> to its conditions, or set blank = "<name>" on the sample'
        )
    value, tol = sample.conditions[sk], cfg.blank_matching.tolerance
    cands = [b for b in cfg.blanks if bk in b.conditions and _same(b.conditions[bk], value, tol)]
    if len(cands) == 1:
        return cands[0]
    if cands:
        raise ConfigError(
            f"{cfg.source}: samples '{sample.name}': several blanks match {sk} = {value!r}: "
            f'{[b.name for b in cands]}; set blank = "<name>" on the sample'
        )
    have = sorted(
        {b.conditions[bk] for b in cfg.blanks if bk in b.conditions},
        key=lambda v: (isinstance(v, str), v if isinstance(v, float) else 0.0, str(v)),
    )
    shown = f"{value:g}" if isinstance(value, float) else repr(value)
    raise ConfigError(
        f"{cfg.source}: samples '{sample.name}': no blank for {sk} = {shown} (within blank_matching.tolerance = "
        f"{tol:g}); blanks exist at {have if have else 'no value'} ({bk}). Add a [[blanks]] entry "
        f'with {bk} = {shown}, or set blank = "<name>" on the sample'
    )


def series_problems(cfg: PipelineConfig) -> list[ConfigError]:
    """Problems that need the whole configuration: blank matching, Bragg-peak exclusion without peak search."""
    out = blank_problems(cfg)
    if cfg.fit.exclude_bragg_peaks and not cfg.peaks.samples:
        out.append(
            ConfigError(
                f"{cfg.source}: fit.exclude_bragg_peaks = true leaves out the Bragg peaks found in "
                "each sample, but [peaks] samples = false searches none; set samples = true or drop "
                "exclude_bragg_peaks"
            )
        )
    return out


def blank_problems(cfg: PipelineConfig) -> list[ConfigError]:
    """Every sample without exactly one blank (one message per stack, not per time point)."""
    out: dict[str, ConfigError] = {}
    seen_stacks: set[str] = set()
    for s in cfg.samples:
        if s.stack is not None:
            if s.stack in seen_stacks:
                continue
            seen_stacks.add(s.stack)
        try:
            match_blank(cfg, s)
        except ConfigError as exc:
            msg = str(exc)
            if s.stack is not None:
                msg = msg.replace(f"samples '{s.name}'", f"stacks '{s.stack}' (time point {s.name})")
            out.setdefault(msg, ConfigError(msg))
    return list(out.values())


# ----------------------------------------------------------------------
# series axis
def axis_label(key: str) -> tuple[str, str]:
    """(label, unit) of a condition key: ``flow_rate_ml_min`` -> ("flow rate", "ml/min")."""
    if key == "index":
        return "sample", ""
    if key == "time_s":
        return "time", "s"
    for suffix, unit in UNIT_SUFFIXES:
        if key.endswith(suffix) and len(key) > len(suffix):
            return key[: -len(suffix)].replace("_", " "), unit
    return key.replace("_", " "), ""


def default_axis(samples: Sequence[SampleConfig]) -> str:
    """``time_s`` for stacks, else nucleation_temperature_C, else the shared numeric key that varies."""
    if not samples:
        return "index"
    shared = [
        k
        for k, v in samples[0].conditions.items()
        if isinstance(v, float) and all(isinstance(s.conditions.get(k), float) for s in samples)
    ]
    for key in ("time_s", "frame_index", "nucleation_temperature_C"):
        if key in shared:
            return key
    varying = [k for k in shared if len({s.conditions[k] for s in samples}) > 1]
    if len(varying) == 1:
        return varying[0]
    return shared[0] if len(shared) == 1 else "index"


def _varying_numeric(samples: Sequence[SampleConfig]) -> list[str]:
    """Numeric condition keys every sample has, whose values differ between samples."""
    if not samples:
        return []
    keys = [
        k
        for k, v in samples[0].conditions.items()
        if isinstance(v, float) and all(isinstance(s.conditions.get(k), float) for s in samples)
    ]
    return [k for k in keys if len({s.conditions[k] for s in samples}) > 1]


def _parse_axis(top: _Table, samples: Sequence[SampleConfig]) -> SeriesConfig:
    st = top.sub("series")
    axis = st.get(
        "axis",
        str,
        default=None,
        hint="a condition key of the samples, e.g. 'flow_rate_ml_min', or 'index' (sample order)",
    )
    label = st.get("label", str, default=None)
    unit = st.get("unit", str, default=None)
    _unknown_keys(st, list(st.known))  # noted, not raised: the other problems are still found
    if axis is None:
        axis = default_axis(samples)
        varying = _varying_numeric(samples)
        if axis == "index" and len(varying) > 1:
            log.warning(
                "%s: [series] axis is not set and %d numeric conditions vary (%s): the report plots against "
                'the sample order; set [series] axis = "%s" (or another of them)',
                top.source,
                len(varying),
                ", ".join(varying),
                varying[0],
            )
    elif axis != "index":
        lacking = [s.name for s in samples if not isinstance(s.conditions.get(axis), (float, str))]
        if lacking:
            keys = sorted({k for s in samples for k in s.conditions})
            close = difflib.get_close_matches(axis, keys, n=1, cutoff=0.75)
            st.problems.append(
                st.error(
                    f"{axis!r}: {len(lacking)} sample(s) lack this condition ({', '.join(lacking[:5])}"
                    f"{', ...' if len(lacking) > 5 else ''}){f'; did you mean {close[0]!r}?' if close else ''}; "
                    f"condition keys: {keys}, or 'index'",
                    "axis",
                )
            )
    auto_label, auto_unit = axis_label(axis)
    return SeriesConfig(
        axis=axis, label=auto_label if label is None else label, unit=auto_unit if unit is None else unit
    )


# ----------------------------------------------------------------------
# material
def poni_energy_keV(poni: Path) -> float | None:
    """Beam energy from a PONI file's ``Wavelength`` (m); None when it has none."""
    from saxs_mc.models.materials import HC_KEV_NM

    for line in poni.read_text(errors="replace").splitlines():
        key, sep, val = line.partition(":")
        if sep and key.strip().lower() == "wavelength":
            try:
                w_nm = float(val.strip()) * 1e9
            except ValueError:
                return None
            return HC_KEV_NM / w_nm if w_nm > 0 else None
    return None


def _material_spec(mt: _Table, role: str) -> tuple[str | dict[str, Any] | None, float | None]:
    name = mt.get(role, str, default=None, hint=f"a preset name or a chemical formula of the {role}")
    formula = mt.get(f"{role}_formula", str, default=None)
    density = mt.get(f"{role}_density_g_cm3", float, default=None, check=_positive)
    if name is not None and formula is not None:
        mt.problems.append(
            mt.error(f"give {role} (preset) or {role}_formula (with {role}_density_g_cm3), not both", f"{role}_formula")
        )
    return (name if name is not None else formula), density


def _parse_material(top: _Table, poni: Path) -> MaterialConfig | None:
    from saxs_mc.models.materials import PRESETS, MaterialError, contrast

    present = "material" in top.table
    mt = top.sub("material")
    number = mt.get("contrast_1e6_A2", float, default=None, check=_positive)
    (p, pd), (s, sd) = _material_spec(mt, "particle"), _material_spec(mt, "solvent")
    energy = mt.get("energy_keV", float, default=None, check=_positive)
    _unknown_keys(mt, list(mt.known))  # noted, not raised: the other problems are still found
    if not present:
        return None
    if number is not None:
        if p is not None or s is not None:
            mt.problems.append(mt.error("give contrast_1e6_A2 or particle/solvent, not both", "contrast_1e6_A2"))
        return MaterialConfig(number, None, None, energy, "number")
    if p is None or s is None:
        mt.problems.append(
            mt.error(
                f"give contrast_1e6_A2 = <number>, or particle and solvent (presets: "
                f"{', '.join(PRESETS)}; or particle_formula + particle_density_g_cm3, ...)"
            )
        )
        return None
    if energy is None:
        if not poni.is_file():
            return None  # the missing PONI file is already a problem
        energy = poni_energy_keV(poni)
        if energy is None:
            mt.problems.append(mt.error(f"the PONI file {poni} gives no wavelength: set energy_keV", "energy_keV"))
            return None
    bad = [_material_problem(mt, role, spec, dens) for role, spec, dens in (("particle", p, pd), ("solvent", s, sd))]
    if any(bad) or any(d is not None and not d > 0 for d in (pd, sd)):  # a bad density is noted by its check
        mt.problems.extend(b for b in bad if b is not None)
        return None
    try:
        c = contrast(p, s, energy_keV=energy, particle_density_g_cm3=pd, solvent_density_g_cm3=sd)
    except MaterialError as exc:
        mt.problems.append(mt.error(str(exc)))
        return None
    preset = c.particle in PRESETS.values() and c.solvent in PRESETS.values()  # unchanged presets
    return MaterialConfig(
        c.contrast_1e6_A2, c.particle.name, c.solvent.name, c.energy_keV, "preset" if preset else "formula", c.summary()
    )


def _material_problem(mt: _Table, role: str, spec: Any, density: float | None) -> ConfigError | None:
    """A problem of ``[material] <role>`` named by its config key (``particle_formula``, ``particle_density_g_cm3``)."""
    from saxs_mc.models.materials import PARTICLES, SOLVENTS, MaterialError, resolve_material

    key = role if role in mt.table else f"{role}_formula"
    presets = ", ".join(PARTICLES if role == "particle" else SOLVENTS)
    if density is not None and not density > 0:
        return None  # already noted by the key's check
    try:
        resolve_material(spec, density_g_cm3=density, role=role)
    except MaterialError as exc:
        msg = str(exc)
        if "needs a density" in msg and key.endswith("_formula"):
            return mt.error(f"{spec!r} is given without its mass density: add {role}_density_g_cm3 = <g/cm3>", key)
        if "needs a density" in msg:
            return mt.error(
                f"{spec!r} is not a preset ({presets}), so it is read as a chemical formula and needs its "
                f"mass density: add {role}_density_g_cm3 = <g/cm3>",
                key,
            )
        if "not understood" in msg or "holds no atoms" in msg:
            elem = re.search(r"unknown element (\w+)", msg)
            why = f" (unknown element {elem.group(1)})" if elem else ""
            return mt.error(
                f"{spec!r} is neither a preset ({presets}) nor a chemical formula{why}; use a preset, or "
                f'{role}_formula = "<element symbols and counts, e.g. Cu2S>" with '
                f"{role}_density_g_cm3 = <g/cm3>",
                key,
            )
        return mt.error(msg, f"{role}_density_g_cm3" if density is not None else key)
    return None
