"""The shared -v/-q options work before and after the subcommand (README: all subcommands share them)."""

from __future__ import annotations

import logging

import pytest

from saxs_mc.cli import main


@pytest.mark.parametrize(
    ("argv_tail", "argv_head", "level"),
    [
        (["-vv"], [], logging.DEBUG),
        (["-q"], [], logging.WARNING),
        ([], ["-q"], logging.WARNING),
        ([], ["-vv"], logging.DEBUG),
        ([], [], logging.INFO),
    ],
)
def test_logging_options_before_or_after_subcommand(tmp_path, argv_tail, argv_head, level):
    missing = tmp_path / "missing.dat"
    code = main([*argv_head, "fit", str(missing), "-o", str(tmp_path / "out"), *argv_tail])
    assert code == 2  # the missing input is a clear error, not a parse failure of -v/-q
    assert logging.getLogger("saxs_mc").level == level


def test_subcommand_help_lists_logging_options(capsys):
    with pytest.raises(SystemExit):
        main(["peaks", "--help"])
    out = capsys.readouterr().out
    assert "--verbose" in out and "--quiet" in out
