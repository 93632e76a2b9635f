"""Settings declared once: each with its default, accepted types, check, hint and doc.

A settings dataclass declares every field with :func:`setting`; the metadata
travels in ``dataclasses.field(metadata=...)``, so the library's own type is
the one place a default lives.  The pipeline configuration
(:mod:`saxs_mc.pipeline.config`) reads the declarations for its defaults,
type and range checks and hints, the command-line interfaces read them for
their defaults and help, and ``tests/test_settings.py`` checks
``pipelines/template.toml`` against them.

This module is imported at CLI start-up: it must stay light (standard
library only).

Examples
--------
>>> import dataclasses
>>> @dataclasses.dataclass(frozen=True)
... class Demo:
...     bins: int = setting(40, kind=int, check=at_least(2), doc="histogram bins")
...     scale: str = setting("log", kind=str, check=one_of("log", "linear"), doc="bin spacing")
>>> declarations(Demo)["bins"].default
40
>>> for line in problems(Demo(bins=1, scale="cubic")):
...     print(line)
Demo.bins=1: must be >= 2
Demo.scale='cubic': use one of ['log', 'linear']
>>> did_you_mean("bnis", ["bins", "scale"]).strip()
"(did you mean 'bins'?)"
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any, cast

#: a check returns None when the value is fine, else what is wrong and how to fix it
Check = Callable[[Any], "str | None"]

_META_KEY = "saxs_mc.setting"


@dataclasses.dataclass(frozen=True)
class Setting:
    """The declaration of one setting (the metadata of its dataclass field).

    Attributes
    ----------
    default : object
        The default value (``dataclasses.MISSING`` if the setting is required).
    kind : tuple of type
        Accepted value types (an ``int`` is accepted where ``float`` is, a ``bool`` only where ``bool`` is;
        a ``list`` where ``tuple`` is).
    check : callable or None
        ``check(value) -> str | None``: what is wrong with a value of the right type.
    hint : str
        How to write a good value (added to type errors and to the CLI help).
    doc : str
        One line saying what the setting means (CLI help, template comments).
    optional : bool
        None is a valid value ("not set"); ``false`` stands for it in TOML.
    expect : str
        If given, every problem is stated as ``"must be <expect>"`` (e.g. "a positive int").
    """

    default: Any
    kind: tuple[type, ...]
    check: Check | None = None
    hint: str = ""
    doc: str = ""
    optional: bool = False
    expect: str = ""

    def problem(self, value: Any) -> str | None:
        """What is wrong with ``value`` (type, finiteness, then the check), or None."""
        msg = self._problem(value)
        return f"must be {self.expect}" if msg and self.expect else msg

    def _problem(self, value: Any) -> str | None:
        if value is None:
            return None if self.optional else "is required (None is not allowed)"
        kinds = self.kind
        if isinstance(value, bool) and bool not in kinds:
            return f"expected {_names(kinds)}, got bool"
        ok = (
            isinstance(value, kinds)
            or (float in kinds and isinstance(value, int))
            or (tuple in kinds and isinstance(value, list))
        )
        if not ok:
            return f"expected {_names(kinds)}, got {type(value).__name__}"
        if isinstance(value, float) and not math.isfinite(value):
            return "is not finite"
        return self.check(value) if self.check is not None else None

    def help(self, default: Any = dataclasses.MISSING, extra: str = "") -> str:
        """``doc`` (and ``extra``) with the default, for argparse help; ``default`` overrides the declared one."""
        d = self.default if default is dataclasses.MISSING else default
        shown = "none" if d is None else (" ".join(str(x) for x in d) if isinstance(d, tuple) else str(d))
        text = "; ".join(x for x in (self.doc, extra) if x)
        if d is None and "none:" in text:  # the doc already says what no value means
            return text.replace("%", "%%")
        return f"{text} (default {shown})".replace("%", "%%")


def _names(kinds: tuple[type, ...]) -> str:
    return " or ".join(t.__name__ for t in kinds)


def setting(
    default: Any = dataclasses.MISSING,
    *,
    kind: type | tuple[type, ...],
    check: Check | None = None,
    hint: str = "",
    doc: str = "",
    optional: bool | None = None,
    expect: str = "",
) -> Any:
    """A dataclass field carrying its :class:`Setting` declaration.

    Parameters
    ----------
    default : object, optional
        The default (immutable: tuples, not lists).  Omit for a required setting.
    kind : type or tuple of type
        Accepted types.
    check : callable, optional
        ``check(value) -> str | None`` (see :func:`one_of`, :func:`at_least`, :func:`between`, :func:`pair`).
    hint, doc : str
        How to fix a bad value; what the setting means.
    optional : bool, optional
        None is allowed (default: True when ``default`` is None).
    expect : str, optional
        State every problem as "must be <expect>".
    """
    kinds = kind if isinstance(kind, tuple) else (kind,)
    opt = (default is None) if optional is None else optional
    meta = Setting(default, kinds, check, hint, doc, opt, expect)
    return dataclasses.field(default=default, metadata={_META_KEY: meta})


def declared(source: Any, name: str | None = None) -> dict[str, Setting]:
    """Field metadata re-using a declaration made elsewhere: ``dataclasses.field(metadata=declared(...))``.

    ``declared(FitSettings, "n_bins")`` or ``declared(some_setting)``: the field carries the same
    :class:`Setting`, so a configuration type re-uses the library's declaration instead of repeating
    it.  Such a field has no default: whoever builds the instance reads it from the declaration.
    """
    decl = source if isinstance(source, Setting) else declaration(source, cast(str, name))
    return {_META_KEY: decl}


def declarations(cls: Any) -> dict[str, Setting]:
    """The declared settings of a dataclass (or instance), by field name, in field order."""
    return {f.name: f.metadata[_META_KEY] for f in dataclasses.fields(cls) if _META_KEY in f.metadata}


def declaration(cls: Any, name: str) -> Setting:
    """The declaration of one field (KeyError naming the declared fields if it has none)."""
    decl = declarations(cls)
    if name not in decl:
        raise KeyError(f"{getattr(cls, '__name__', cls)!s} declares no setting {name!r}; declared: {sorted(decl)}")
    return decl[name]


def defaults(cls: Any) -> dict[str, Any]:
    """Declared defaults by field name (required settings left out)."""
    return {k: d.default for k, d in declarations(cls).items() if d.default is not dataclasses.MISSING}


def problem_items(obj: Any) -> list[tuple[str, Any, str]]:
    """``(field, value, problem)`` for every declared field of ``obj`` whose value fails its declaration."""
    out = []
    for name, decl in declarations(obj).items():
        value = getattr(obj, name)
        msg = decl.problem(value)
        if msg:
            hint = f"; {decl.hint}" if decl.hint and msg.startswith("expected") else ""
            out.append((name, value, msg + hint))
    return out


def problems(obj: Any, prefix: str | None = None) -> list[str]:
    """Every declared field of ``obj`` whose value fails its declaration: ``"<Class>.<field>=<value>: <problem>"``."""
    where = prefix if prefix is not None else type(obj).__name__
    return [f"{where}.{name}={value!r}: {msg}" for name, value, msg in problem_items(obj)]


def validate(obj: Any) -> None:
    """Raise one ValueError listing every problem of ``obj`` (see :func:`problems`)."""
    found = problems(obj)
    if found:
        raise ValueError("; ".join(found))


def did_you_mean(key: str, known: Iterable[str]) -> str:
    """``" (did you mean 'x'?)"`` for the closest known key, or ``""``."""
    import difflib  # not at CLI start-up

    close = difflib.get_close_matches(key, [str(k) for k in known], n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def unknown_keys(given: Mapping[str, Any] | Iterable[str], known: Iterable[str]) -> list[str]:
    """One message per unknown key, with a "did you mean" and the valid keys."""
    known = sorted(set(known))
    return [
        f"unknown key {k!r}{did_you_mean(k, known)}; valid keys: {', '.join(known)}" for k in given if k not in known
    ]


# ----------------------------------------------------------------------
# command-line options
def add_option(parser: Any, *flags: str, decl: Setting, extra: str = "", unset: bool = False, **kwargs: Any) -> Any:
    """``parser.add_argument`` for a declared setting: its default, choices, type check and help.

    Pairs (``kind`` tuple) take ``nargs=2`` floats; a value failing the declaration is an argparse
    error (exit code 2) naming the option.  ``extra`` is appended to the declared doc in the help;
    ``unset``: the option's value is None when not given (another source, e.g. a file, may set it),
    the help still shows the declared default.  Keyword arguments override what is derived.
    """
    choices = getattr(decl.check, "choices", None)
    if tuple in decl.kind:
        kwargs.setdefault("nargs", 2)
        kwargs.setdefault("type", float)
    elif choices is not None:
        kwargs.setdefault("choices", choices)
    else:
        kwargs.setdefault("type", _option_type(decl))
    kwargs.setdefault("help", decl.help(kwargs.get("default", decl.default), extra))
    kwargs.setdefault("default", None if unset else decl.default)
    return parser.add_argument(*flags, **kwargs)


def _option_type(decl: Setting) -> Callable[[str], Any]:
    base = next(t for t in decl.kind if t in (int, float, str))

    def convert(text: str) -> Any:
        import argparse

        try:
            value = base(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not {'an' if base is int else 'a'} {base.__name__}"
            ) from None
        msg = decl.problem(value)
        if msg:
            raise argparse.ArgumentTypeError(f"{text}: {msg}")
        return value

    convert.__name__ = base.__name__
    return convert


# ----------------------------------------------------------------------
# checks (each returns None or the problem with its fix)
def one_of(*choices: Any) -> Check:
    """The value is one of ``choices`` (kept as ``check.choices`` for argparse)."""

    def check(v: Any) -> str | None:
        return None if v in choices else f"use one of {list(choices)}"

    check.choices = choices  # type: ignore[attr-defined]
    return check


def at_least(lo: float, note: str = "") -> Check:
    """``v >= lo``."""

    def check(v: Any) -> str | None:
        return None if v >= lo else f"must be >= {lo:g}{note}"

    return check


def positive(v: Any) -> str | None:
    """``v > 0``."""
    return None if v > 0 else "must be > 0"


def non_negative(v: Any) -> str | None:
    """``v >= 0``."""
    return None if v >= 0 else "must be >= 0"


def between(lo: float, hi: float, *, open_lo: bool = False, note: str = "", integer: bool = False) -> Check:
    """``lo <= v <= hi`` (``lo < v`` with ``open_lo``); the message names the interval (``lo..hi`` for integers)."""

    def check(v: Any) -> str | None:
        ok = (lo < v if open_lo else lo <= v) and v <= hi
        if ok:
            return None
        if integer:
            return f"must be in {lo:g}..{hi:g}{note}"
        return f"must be in {'(' if open_lo else '['}{lo:g}, {hi:g}]{note}"

    return check


def pair(v: Any) -> str | None:
    """A range ``[min, max]`` of numbers with ``0 <= min < max`` (finite)."""
    if len(v) != 2 or not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in v):
        return "must be a pair of numbers [min, max]"
    lo, hi = float(v[0]), float(v[1])
    if not (math.isfinite(lo) and math.isfinite(hi)) or lo < 0 or lo >= hi:
        return "must satisfy 0 <= min < max (finite)"
    return None


def strings(n: int, example: str) -> Check:
    """A sequence of ``n`` strings."""

    def check(v: Any) -> str | None:
        ok = len(v) == n and all(isinstance(x, str) for x in v)
        return None if ok else f"must be {n} strings, e.g. {example}"

    return check
