"""``saxs-mc --help`` (issue 14 item 8): examples in every subcommand's help, help text and defaults on every option."""

from __future__ import annotations

import argparse

import pytest

from saxs_mc.cli import HelpFormatter, build_parser

#: subcommands whose cli.py is being edited on another branch; the lead removes them from here after merging
PENDING: dict[str, str] = {}
LOGGING = {"-v", "-q"}


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


SUBCOMMANDS = sorted(_subparsers())


def test_top_level_help_has_examples():
    text = build_parser().format_help()
    assert "examples:" in text and "saxs-mc fit" in text and "saxs-mc run" in text


@pytest.mark.parametrize("name", SUBCOMMANDS)
def test_subcommand_help_has_examples_of_itself(name):
    if name in PENDING:
        pytest.skip(PENDING[name])
    sp = _subparsers()[name]
    text = sp.format_help()
    assert "examples:" in text.lower(), f"saxs-mc {name} --help has no examples"
    assert f"saxs-mc {name} " in text.split("xamples:", 1)[1], f"saxs-mc {name} --help: examples do not call it"


@pytest.mark.parametrize("name", SUBCOMMANDS)
def test_every_option_has_help_and_shows_its_default(name):
    if name in PENDING:
        pytest.skip(PENDING[name])
    sp = _subparsers()[name]
    formatter = sp._get_formatter()
    assert isinstance(formatter, HelpFormatter)
    problems = []
    for action in sp._actions:
        if isinstance(action, argparse._HelpAction) or set(action.option_strings) & LOGGING:
            continue
        if not action.help:
            problems.append(f"{action.option_strings or action.dest}: no help text")
            continue
        shown = formatter._expand_help(action) if action.help else ""
        trivial = action.default in (None, False, argparse.SUPPRESS) or action.default == [] or action.nargs == 0
        if action.option_strings and not trivial and "default" not in shown:
            problems.append(f"{action.option_strings}: default {action.default!r} not shown")
    assert not problems, f"saxs-mc {name}: " + "; ".join(problems)


def test_formatter_appends_the_default_once_and_keeps_examples_as_written():
    p = argparse.ArgumentParser(prog="x", formatter_class=HelpFormatter, epilog="examples:\n  x --n 3   # three\n")
    p.add_argument("--n", type=int, default=5, help="how many")
    p.add_argument("--m", type=int, default=7, help="how many more (default 7)")
    p.add_argument("--flag", action="store_true", help="a switch")
    text = p.format_help()
    assert "how many (default: 5)" in text
    assert "(default 7)" in text and "(default: 7)" not in text
    assert "a switch (default" not in text
    assert "  x --n 3   # three" in text
