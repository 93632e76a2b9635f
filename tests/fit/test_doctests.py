"""The Examples sections of the fit's public docstrings run and give what they show."""

from __future__ import annotations

import doctest
import warnings

import pytest

import saxs_mc.fit.mc
import saxs_mc.fit.resolution


@pytest.mark.parametrize("module", [saxs_mc.fit.resolution, saxs_mc.fit.mc])
def test_docstring_examples(module):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
