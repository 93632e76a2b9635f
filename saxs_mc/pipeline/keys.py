"""Cache keys of the planned steps, and the digest of the code each step runs.

A step's key (:func:`saxs_mc.pipeline.cache.step_key`) chains its function's
name, its settings (their JSON form), its input file contents, its upstream
keys and a digest of the saxs_mc source code the step function runs
(:func:`code_digest`).  That code is found from the imports themselves, so it
cannot go stale when a module starts importing another one:

- the step function's own module file is always hashed, with every import at
  its top level;
- inside that module, only the step function and the top-level names it uses
  (transitively) are followed, so ``fit_step`` and ``optical_step`` living in
  one file do not depend on each other's libraries;
- every saxs_mc module reached is followed whole: all its ``import`` and
  ``from ... import`` statements, at any depth (function-local imports too),
  transitively; packages bring their ``__init__.py`` (run on import), and a
  name taken from a lazily loaded package (``lazy_loader.attach_stub``) is
  resolved through the package's ``__init__.pyi`` to the module defining it;
- a plain ``import saxs_mc.<package>`` (any attribute may be used later) and
  a name the stub cannot place bring the whole package.

Parsed imports and file hashes are cached per process by path, size and
modification time (:func:`clear_cache` empties the cache).

Examples
--------
>>> from saxs_mc.pipeline.keys import step_closure
>>> from saxs_mc.pipeline.steps import fit_step, optical_step
>>> "saxs_mc/fit/mc.py" in step_closure(fit_step), "saxs_mc/optical/analysis.py" in step_closure(fit_step)
(True, False)
"""

from __future__ import annotations

import ast
import hashlib
import os
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from saxs_mc import __version__

from . import cache
from .tasks import Step, func_name

__all__ = ["clear_cache", "code_digest", "compute_keys", "module_closure", "step_closure"]

PACKAGE = "saxs_mc"
_ROOT = Path(__file__).resolve().parents[2]  # the folder holding the saxs_mc package

_lock = threading.Lock()
_PARSED: dict[Path, tuple[tuple[int, int], ast.Module]] = {}
_IMPORT_NODES: dict[Path, tuple[tuple[int, int], list[ast.Import | ast.ImportFrom]]] = {}
_FUNC_NODES: dict[tuple[Path, str], tuple[tuple[int, int], list[ast.Import | ast.ImportFrom]]] = {}
_HASHES: dict[Path, tuple[tuple[int, int], str]] = {}


def clear_cache() -> None:
    """Forget the parsed imports and source hashes of this process."""
    with _lock:
        _PARSED.clear()
        _IMPORT_NODES.clear()
        _FUNC_NODES.clear()
        _HASHES.clear()


def _read_source(path: Path) -> bytes:
    """The bytes of a source file (the one place this module reads files)."""
    return path.read_bytes()


def _stamp(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_size, st.st_mtime_ns


def _parse(path: Path) -> ast.Module:
    stamp = _stamp(path)
    with _lock:
        hit = _PARSED.get(path)
    if hit is not None and hit[0] == stamp:
        return hit[1]
    tree = ast.parse(_read_source(path), filename=str(path))
    with _lock:
        _PARSED[path] = (stamp, tree)
    return tree


def _import_statements(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """The import statements in ``node`` at any depth (statements only: an import is never inside an expression)."""
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        yield node
        return
    for field in ("body", "orelse", "finalbody", "handlers", "cases"):
        for child in getattr(node, field, None) or ():
            if isinstance(child, (ast.stmt, ast.excepthandler, ast.match_case)):
                yield from _import_statements(child)


def _import_nodes(path: Path) -> list[ast.Import | ast.ImportFrom]:
    """Every import statement of a file, at any depth (walked once per version of the file)."""
    stamp = _stamp(path)
    with _lock:
        hit = _IMPORT_NODES.get(path)
    if hit is not None and hit[0] == stamp:
        return hit[1]
    nodes = list(_import_statements(_parse(path)))
    with _lock:
        _IMPORT_NODES[path] = (stamp, nodes)
    return nodes


def _source_hash(path: Path) -> str:
    stamp = _stamp(path)
    with _lock:
        hit = _HASHES.get(path)
    if hit is not None and hit[0] == stamp:
        return hit[1]
    h = hashlib.sha256(_read_source(path)).hexdigest()
    with _lock:
        _HASHES[path] = (stamp, h)
    return h


# ----------------------------------------------------------------------
# module names and files
def _module_file(name: str) -> Path | None:
    """The source file of saxs_mc module ``name`` (``__init__.py`` for a package), or None."""
    base = _ROOT.joinpath(*name.split("."))
    for p in (base.with_suffix(".py"), base / "__init__.py"):
        if p.is_file():
            return p
    return None


def _is_package(name: str) -> bool:
    return (_ROOT.joinpath(*name.split(".")) / "__init__.py").is_file()


def _package_modules(name: str) -> set[str]:
    """Every module of package ``name`` (the conservative answer when a name cannot be placed)."""
    folder = _ROOT.joinpath(*name.split("."))
    out = {name}
    for p in folder.rglob("*.py"):
        rel = p.relative_to(_ROOT).with_suffix("")
        parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
        out.add(".".join(parts))
    return out


def _ancestors(name: str) -> list[str]:
    """The packages run on ``import name``: ``saxs_mc``, ``saxs_mc.fit`` for ``saxs_mc.fit.mc``."""
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def _absolute(module: str | None, level: int, importer: str) -> str:
    """The absolute module of ``from <level dots><module> import ...`` written in module ``importer``."""
    if level == 0:
        return module or ""
    base = importer.split(".") if _is_package(importer) else importer.split(".")[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join(base + ([module] if module else []))


def _stub_source(package: str, attr: str) -> str | None:
    """The module a lazily loaded package takes ``attr`` from (its ``__init__.pyi``), or None."""
    stub = _ROOT.joinpath(*package.split(".")) / "__init__.pyi"
    if not stub.is_file():
        return None
    for node in _parse(stub).body:
        if isinstance(node, ast.ImportFrom) and any((a.asname or a.name) == attr for a in node.names):
            return _absolute(node.module, node.level, package)
    return None


def _bound_names(node: ast.stmt) -> list[str]:
    """Names a top-level statement defines (functions, classes, assignments; imports with their alias)."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [node.name]
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return [a.asname or a.name for a in node.names]
    if isinstance(node, (ast.Assign, ast.AnnAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return [t.id for t in targets if isinstance(t, ast.Name)]
    return []


def _defined_in(path: Path, attr: str) -> bool:
    """Whether ``attr`` is defined or imported eagerly at the top level of ``path``."""
    return any(attr in _bound_names(node) for node in _parse(path).body)


def _from_import(base: str, attr: str) -> set[str]:
    """The saxs_mc modules ``from base import attr`` runs."""
    sub = f"{base}.{attr}"
    if _module_file(sub) is not None:
        return {base, sub}
    if not _is_package(base):
        return {base}
    src = _stub_source(base, attr)
    if src is not None and _module_file(src) is not None:
        return {base, src}
    init = _module_file(base)
    if init is not None and _defined_in(init, attr):
        return {base}
    return _package_modules(base)  # cannot place the name: depend on the whole package


def _ours(name: str) -> bool:
    return name == PACKAGE or name.startswith(PACKAGE + ".")


def _import_targets(node: ast.Import | ast.ImportFrom, importer: str) -> set[str]:
    """The saxs_mc modules one import statement runs."""
    out: set[str] = set()
    if isinstance(node, ast.Import):
        for a in (a for a in node.names if _ours(a.name)):
            out |= _package_modules(a.name) if _is_package(a.name) else {a.name}
        return out
    base = _absolute(node.module, node.level, importer)
    if _ours(base):
        for a in node.names:
            out |= _from_import(base, a.name)
    return out


def _imports(nodes: Iterable[ast.Import | ast.ImportFrom], importer: str) -> set[str]:
    """saxs_mc modules the import statements ``nodes`` run (``importer``: the module they are written in)."""
    out: set[str] = set()
    for node in nodes:
        out |= _import_targets(node, importer)
    return {m for m in out if _module_file(m) is not None}


# ----------------------------------------------------------------------
# closures
def module_closure(roots: Iterable[str]) -> set[str]:
    """The saxs_mc modules that importing ``roots`` runs (transitively, with their packages)."""
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        path = _module_file(name)
        if path is None:
            continue
        todo.extend(_ancestors(name))
        todo.extend(_imports(_import_nodes(path), name))
    return {m for m in seen if _module_file(m) is not None}


def _used_names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _top_level(tree: ast.Module) -> tuple[dict[str, ast.AST], list[ast.AST]]:
    """Top-level definitions by name, and the import statements that run with the module."""
    defs: dict[str, ast.AST] = {}
    top_imports: list[ast.AST] = []
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            top_imports.append(node)
        elif _bound_names(node):
            defs.update(dict.fromkeys(_bound_names(node), node))
        else:  # if/try blocks at the top level (e.g. TYPE_CHECKING): imports in them run with the module
            top_imports.extend(_import_statements(node))
    return defs, top_imports


def _function_import_nodes(path: Path, func: str) -> list[ast.Import | ast.ImportFrom]:
    """Import statements at the top of a module plus those inside ``func`` and the top-level names it uses."""
    stamp = _stamp(path)
    with _lock:
        hit = _FUNC_NODES.get((path, func))
    if hit is not None and hit[0] == stamp:
        return hit[1]
    tree = _parse(path)
    defs, top_imports = _top_level(tree)
    if func not in defs:  # not found by name (e.g. decorated away): the whole module
        nodes = _import_nodes(path)
    else:
        used, todo = set(), [func]
        while todo:
            name = todo.pop()
            if name in used or name not in defs:
                continue
            used.add(name)
            todo.extend(_used_names(defs[name]))
        nodes = [n for top in top_imports + [defs[n] for n in used] for n in _import_statements(top)]
    with _lock:
        _FUNC_NODES[(path, func)] = (stamp, nodes)
    return nodes


def step_closure(fn: Callable[..., Any]) -> dict[str, str]:
    """Source files a step function runs: ``{path relative to the package's parent: SHA-256}``.

    Parameters
    ----------
    fn : callable
        A top-level step function (its module need not belong to saxs_mc: test fakes).

    Returns
    -------
    dict
        Sorted by path.
    """
    module = fn.__module__
    mod = sys.modules.get(module)
    path = Path(getattr(mod, "__file__", "") or "")
    if not path.is_file():
        spec_file = _module_file(module)
        if spec_file is None:
            raise ValueError(f"step function {func_name(fn)}: source file of module {module!r} not found")
        path = spec_file
    path = path.resolve()
    own = path.relative_to(_ROOT).as_posix() if path.is_relative_to(_ROOT) else path.name
    files = {own: _source_hash(path)}
    roots = _imports(_function_import_nodes(path, fn.__name__), module)
    if module.startswith(PACKAGE + "."):
        roots |= set(_ancestors(module))
    for m in sorted(module_closure(roots)):
        p = _module_file(m)
        assert p is not None
        files[p.relative_to(_ROOT).as_posix()] = _source_hash(p)
    return dict(sorted(files.items()))


def code_digest(fn: Callable[..., Any]) -> str:
    """SHA-256 of the sources a step function runs (:func:`step_closure`); part of every step key.

    A changed implementation (an upgraded or edited saxs_mc) redoes the steps
    that run it, and only those, even without a version bump.
    """
    return cache.digest(step_closure(fn))


def _hash_inputs(steps: list[Step], hashes: cache.FileHashCache) -> None:
    """Digest every input once, in threads (BLAKE3 releases the GIL: frames are hashed in parallel); the
    frame references of a stack's time points are digested together (:meth:`FileHashCache.digest_all`)."""
    hashes.digest_all((p for s in steps for p in s.inputs), threads=max(1, min(4, os.cpu_count() or 1)))


def compute_keys(steps: list[Step], hashes: cache.FileHashCache) -> dict[str, str]:
    """Cache key of every step (steps must be in topological order)."""
    keys: dict[str, str] = {}
    codes: dict[Any, str] = {}
    _hash_inputs(steps, hashes)
    for s in steps:
        missing = [d for d in s.deps if d not in keys]
        if missing:
            raise ValueError(f"step {s.id}: upstream {missing} not planned before it")
        code = codes.get(s.func)
        if code is None:
            code = codes[s.func] = code_digest(s.func)
        keys[s.id] = cache.step_key(
            func=func_name(s.func),
            settings=s.settings,
            input_digests={p: hashes.digest(p) for p in s.inputs},
            upstream_keys={d: keys[d] for d in s.deps},
            version=f"{__version__}+{code}",
        )
    return keys
