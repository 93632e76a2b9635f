"""One way to expose the API: ``lazy_loader.attach_stub`` with ``__init__.pyi`` stubs everywhere (issue 14 item 5).

Names are real functions with real signatures, listed by ``dir()`` (tab completion), and ``import saxs_mc``
stays light: it must not import numba, pyFAI or lmfit.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import inspect
import subprocess
import sys
from pathlib import Path

import pytest

import saxs_mc

PACKAGE_DIR = Path(saxs_mc.__file__).parent
#: subpackages whose public names are declared in an ``__init__.pyi`` and loaded by ``lazy_loader.attach_stub``
STUB_PACKAGES = [
    "saxs_mc",
    "saxs_mc.fit",
    "saxs_mc.io",
    "saxs_mc.models",
    "saxs_mc.reduce",
    "saxs_mc.simulate",
    "saxs_mc.families",
    "saxs_mc.optical",
    "saxs_mc.series",
    "saxs_mc.geometry",
    "saxs_mc.pipeline",
    "saxs_mc.peaks",
    "saxs_mc.watch",
]
HEAVY = ("numba", "pyFAI", "lmfit", "fabio", "scipy", "matplotlib")


def _stub_names(package: str) -> dict[str, str]:
    """``{public name: submodule}`` read from the package's ``__init__.pyi``."""
    stub = Path(importlib.util.find_spec(package).origin).with_suffix(".pyi")
    names: dict[str, str] = {}
    for node in ast.parse(stub.read_text()).body:
        if isinstance(node, ast.ImportFrom):
            for alias in node.names:
                names[alias.name] = node.module or alias.name
    return names


@pytest.mark.parametrize("package", STUB_PACKAGES)
def test_every_stub_name_resolves_and_is_listed_by_dir(package):
    mod = importlib.import_module(package)
    names = _stub_names(package)
    assert names, f"{package}/__init__.pyi declares no names"
    listed = set(dir(mod))
    missing = sorted(set(names) - listed)
    assert not missing, f"{package}: dir() does not list {missing}"
    assert set(names) <= set(mod.__all__)
    for name in names:
        obj = getattr(mod, name)  # raises if the stub names something that does not exist
        assert obj is not None, f"{package}.{name}"


@pytest.mark.parametrize("package", STUB_PACKAGES)
def test_public_functions_have_real_signatures(package):
    mod = importlib.import_module(package)
    for name in _stub_names(package):
        obj = getattr(mod, name)
        if inspect.isfunction(obj):
            params = inspect.signature(obj).parameters
            kinds = [p.kind for p in params.values()]
            assert kinds != [inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD], (
                f"{package}.{name} hides its signature behind (*args, **kwargs)"
            )
            assert obj.__module__.startswith(package), f"{package}.{name} comes from {obj.__module__}"


def test_fit_signatures_name_the_data_arguments():
    assert list(inspect.signature(saxs_mc.fit_arrays).parameters)[:3] == ["q", "intensity", "sigma"]
    params = inspect.signature(saxs_mc.fit_curve).parameters
    assert list(params)[0] == "curve" and {"contrast", "seed", "r_range_nm", "repetitions"} <= set(params)
    assert not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    # the signature shown is the one accepted: every option of fit_arrays, the curve's unit/title by default
    assert set(params) - {"curve"} == set(inspect.signature(saxs_mc.fit_arrays).parameters) - {
        "q",
        "intensity",
        "sigma",
    }
    assert inspect.signature(saxs_mc.read_curve).parameters["path"].kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
    assert not callable(saxs_mc.fit), "saxs_mc.fit is the subpackage; call saxs_mc.fit_curve or saxs_mc.fit_arrays"


def test_each_init_uses_attach_stub_only():
    for package in STUB_PACKAGES:
        init = Path(importlib.util.find_spec(package).origin)
        text = init.read_text()
        assert "lazy_loader.attach_stub(__name__, __file__)" in text, init
        tree = ast.parse(text)
        eager = [ast.unparse(n) for n in tree.body if isinstance(n, ast.ImportFrom) and n.module != "__future__"]
        assert not eager, f"{init} imports eagerly: {eager}"


def _modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys\nprint('\\n'.join(sys.modules))"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return set(out.stdout.split())


@pytest.mark.parametrize(
    "code",
    [
        "import saxs_mc",
        "import saxs_mc; dir(saxs_mc); saxs_mc.__version__",
        "import saxs_mc.cli; saxs_mc.cli.build_parser()",
    ],
)
def test_import_and_cli_parser_do_not_load_heavy_libraries(code):
    loaded = _modules_after(code)
    heavy = sorted(m for m in HEAVY if m in loaded)
    assert not heavy, f"{code!r} imported {heavy}"


def test_attribute_access_loads_the_submodule_on_demand():
    loaded = _modules_after("import saxs_mc\nsaxs_mc.fit_curve")
    assert "numba" in loaded and "saxs_mc.fit.mc" in loaded
