"""Files in an output folder are data: paths from manifests stay inside, links are never followed.

An output folder may be shared, copied or tampered with, so the pipeline
treats everything in it as untrusted data:

- every path read from a manifest (a step's outputs, handed to the steps
  downstream) must be relative and resolve inside the output folder
  (:func:`resolve_inside`);
- no folder or file the pipeline writes or reads inside the output tree may
  be a symbolic link (:func:`ensure_folder`, :func:`find_links`), so no link
  can redirect outputs (or the lock file) to a file elsewhere;
- nothing in it is unpickled (peak results pass as JSON, read by a typed
  reader: :func:`saxs_mc.pipeline.steps.read_peaks_json`).

Violations raise :class:`UnsafeOutputError` naming the offending path.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["UnsafeOutputError", "resolve_inside", "ensure_folder", "find_links", "open_lock_file"]


class UnsafeOutputError(ValueError):
    """A path in the output folder is a symbolic link or points outside the folder."""


def _link_error(link: Path, root: Path) -> UnsafeOutputError:
    try:
        to = os.readlink(link)
    except OSError:
        to = "?"
    return UnsafeOutputError(
        f"{link} is a symbolic link (to {to}) inside the output folder {root}; saxs-mc never follows links "
        f"there (outputs could land outside it): remove the link, or choose another [output] dir"
    )


def _check_components(root: Path, rel: Path) -> None:
    """Refuse if any existing component of ``root/rel`` below ``root`` is a symbolic link."""
    p = root
    for part in rel.parts:
        p = p / part
        if p.is_symlink():
            raise _link_error(p, root)


def resolve_inside(root: str | Path, rel: str | Path, what: str = "path") -> Path:
    """The absolute path of ``rel`` (from a manifest) if it lies inside ``root``; else raise.

    Parameters
    ----------
    root : path
        The output folder.
    rel : path
        A path relative to ``root`` as recorded in a manifest.
    what : str
        What the path is (named in the message), e.g. ``"output 'curve' of reduce/nuc190C"``.

    Raises
    ------
    UnsafeOutputError
        ``rel`` is absolute, climbs out with ``..``, or passes through a symbolic link.

    Examples
    --------
    >>> resolve_inside("/data/out", "steps/fit/a/a_fit.json").as_posix()
    '/data/out/steps/fit/a/a_fit.json'
    """
    root = Path(root)
    if not isinstance(rel, (str, Path)) or not str(rel) or "\x00" in str(rel):
        raise UnsafeOutputError(
            f"{what}: {rel!r} in a manifest under {root} is not a file name; delete that "
            f"manifest (or the step folder) and run again"
        )
    r = Path(rel)
    if r.is_absolute() or ".." in r.parts:
        raise UnsafeOutputError(
            f"{what}: {rel} in a manifest under {root} points outside the output folder; "
            f"refused (manifests may only name files inside it); delete that manifest and run again"
        )
    _check_components(root, r)
    full = root / r
    if not full.resolve().is_relative_to(root.resolve()):  # pragma: no cover - excluded by the checks above
        raise UnsafeOutputError(f"{what}: {rel} resolves outside the output folder {root}; refused")
    return full


def ensure_folder(root: str | Path, rel: str | Path) -> Path:
    """Create ``root/rel`` (and its parents below ``root``) without following any symbolic link."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    p = root
    for part in Path(rel).parts:
        if part in ("", ".", "..") or os.sep in part:
            raise UnsafeOutputError(f"{rel}: not a plain folder path inside {root}")
        p = p / part
        try:
            os.mkdir(p)
        except FileExistsError:
            pass
        if p.is_symlink():
            raise _link_error(p, root)
        if not p.is_dir():
            raise UnsafeOutputError(
                f"{p} inside the output folder {root} is a file where saxs-mc needs a folder; "
                f"move it away or choose another [output] dir"
            )
    return p


def find_links(root: str | Path) -> list[Path]:
    """Symbolic links anywhere below ``root`` (``root`` itself may be one), not following any."""
    root = Path(root)
    links: list[Path] = []
    stack = [root]
    while stack:
        d = stack.pop()
        try:
            entries = list(os.scandir(d))
        except (FileNotFoundError, NotADirectoryError):
            continue
        for e in entries:
            if e.is_symlink():
                links.append(Path(e.path))
            elif e.is_dir(follow_symlinks=False):
                stack.append(Path(e.path))
    return sorted(links)


def check_tree(root: str | Path) -> None:
    """Refuse an output folder holding any symbolic link (before any work starts)."""
    links = find_links(root)
    if links:
        root = Path(root)
        more = f" (and {len(links) - 1} more: {', '.join(str(p) for p in links[1:4])})" if len(links) > 1 else ""
        raise UnsafeOutputError(str(_link_error(links[0], root)) + more)


def open_lock_file(path: Path) -> int:
    """Open (creating) the lock file for writing without following a link; return the descriptor."""
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags, 0o644)
    except OSError as exc:
        if path.is_symlink():
            raise _link_error(path, path.parent.parent) from None
        raise exc
    import stat

    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode) or st.st_nlink != 1:
        os.close(fd)
        what = (
            "is not a regular file" if not stat.S_ISREG(st.st_mode) else "has other hard links (to a file elsewhere?)"
        )
        raise UnsafeOutputError(f"{path} {what}; saxs-mc would overwrite it: remove it and run again")
    return fd
