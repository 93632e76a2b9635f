"""The 1D curve type shared by reduction, fitting, peaks and the pipeline.

A :class:`Curve` holds q in 1/nm, an intensity (1/cm when absolutely
calibrated, otherwise ``"arbitrary"``) and its one-sigma uncertainty.
Readers: NXcanSAS HDF5 (``.h5``, ``.hdf5``, ``.nxs``, ``.nx``) and
3-column ASCII with the q unit in its header.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from saxs_mc.io.atomic import atomic_path, jsonable

#: intensity units understood by saxs_mc
INTENSITY_UNITS = ("1/cm", "arbitrary")
_Q_FACTORS_TO_NM = {"1/nm": 1.0, "nm^-1": 1.0, "1/a": 10.0, "a^-1": 10.0, "1/angstrom": 10.0, "1/å": 10.0, "å^-1": 10.0}
#: file suffixes read as HDF5/NeXus (curves and frame stacks)
HDF5_SUFFIXES = (".h5", ".hdf5", ".nxs", ".nx", ".hdf")


def q_factor_to_nm(unit: str, *, source: str = "q unit") -> float:
    """Multiplier that converts q given in ``unit`` to 1/nm."""
    key = unit.strip().lower().replace(" ", "")
    if key not in _Q_FACTORS_TO_NM:
        raise ValueError(f"{source}: q unit {unit!r} is not understood; use '1/nm' or '1/A'")
    return _Q_FACTORS_TO_NM[key]


@dataclasses.dataclass(frozen=True)
class Curve:
    """A reduced 1D SAXS curve.

    Attributes
    ----------
    q : ndarray of shape (n_q,)
        Scattering vector in 1/nm, strictly increasing.
    intensity : ndarray of shape (n_q,)
        Intensity (1/cm if ``intensity_unit == "1/cm"``).
    sigma : ndarray of shape (n_q,)
        One-standard-deviation uncertainty of ``intensity``.
    intensity_unit : str
        ``"1/cm"`` (absolute) or ``"arbitrary"``.
    title : str
        Sample name.
    metadata : dict
        JSON-safe metadata and provenance.
    """

    q: np.ndarray
    intensity: np.ndarray
    sigma: np.ndarray
    intensity_unit: str = "arbitrary"
    title: str = ""
    metadata: dict[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        q = np.array(self.q, dtype=float)
        i = np.array(self.intensity, dtype=float)
        s = np.array(self.sigma, dtype=float)
        if q.ndim != 1 or i.shape != q.shape or s.shape != q.shape:
            raise ValueError(
                f"curve {self.title!r}: q, intensity and sigma must be 1D of equal length, "
                f"got shapes {q.shape}, {i.shape}, {s.shape}"
            )
        if self.intensity_unit not in INTENSITY_UNITS:
            raise ValueError(
                f"curve {self.title!r}: intensity_unit={self.intensity_unit!r}; use one of {INTENSITY_UNITS}"
            )
        for arr in (q, i, s):
            arr.flags.writeable = False
        object.__setattr__(self, "q", q)
        object.__setattr__(self, "intensity", i)
        object.__setattr__(self, "sigma", s)

    @property
    def n_q(self) -> int:
        return int(self.q.size)

    def __repr__(self) -> str:
        """One line: title, number of points, q range and unit (never the arrays themselves)."""
        q = self.q[np.isfinite(self.q)]
        rng = f"q={q.min():.4g}-{q.max():.4g} 1/nm" if q.size else "q=empty"
        meta = f", metadata keys={len(self.metadata)}" if self.metadata else ""
        return f"Curve({self.title!r}, n_q={self.n_q}, {rng}, intensity_unit={self.intensity_unit!r}{meta})"

    def plot(self, ax: Any = None, *, errorbars: bool = True, **kwargs: Any) -> Any:
        """Plot I(q) on log-log axes with one-sigma error bars; return the matplotlib axes.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, optional
            Axes to draw on; a new figure (on an Agg canvas, no pyplot state) is made otherwise.
        errorbars : bool
            Draw ``sigma`` as error bars (clipped above zero for the log scale).
        **kwargs
            Passed to :meth:`~matplotlib.axes.Axes.errorbar` (e.g. ``color``, ``label``).

        Returns
        -------
        matplotlib.axes.Axes

        Examples
        --------
        >>> c = Curve(q=[0.1, 0.2, 0.4], intensity=[10.0, 5.0, 1.0], sigma=[0.1, 0.1, 0.1], title="demo")
        >>> ax = c.plot()
        >>> ax.get_xlabel(), ax.get_yscale()
        ('q (1/nm)', 'log')
        """
        if ax is None:
            from matplotlib.backends.backend_agg import FigureCanvasAgg
            from matplotlib.figure import Figure

            fig = Figure(figsize=(6.0, 4.0), layout="constrained")
            FigureCanvasAgg(fig)
            ax = fig.add_subplot()
        ok = np.isfinite(self.q) & np.isfinite(self.intensity) & (self.intensity > 0)
        y = self.intensity[ok]
        yerr = None
        if errorbars:
            s = np.where(np.isfinite(self.sigma[ok]), self.sigma[ok], 0.0)
            yerr = np.vstack([np.minimum(s, 0.999 * y), s])
        kwargs.setdefault("fmt", ".")
        kwargs.setdefault("ms", 3)
        kwargs.setdefault("lw", 0.6)
        kwargs.setdefault("label", self.title or None)
        ax.errorbar(self.q[ok], y, yerr=yerr, **kwargs)
        ax.set_xscale("log")
        if ok.any():
            ax.set_yscale("log")
        ax.set_xlabel("q (1/nm)")
        ax.set_ylabel(f"I ({self.intensity_unit})")
        if self.title:
            ax.set_title(self.title)
        return ax

    def select(self, mask: np.ndarray) -> Curve:
        """A new curve with only the points where ``mask`` is True."""
        return dataclasses.replace(self, q=self.q[mask], intensity=self.intensity[mask], sigma=self.sigma[mask])

    def q_range(self, q_min: float | None = None, q_max: float | None = None) -> Curve:
        """A new curve restricted to q_min <= q <= q_max (1/nm); errors if nothing is left."""
        lo = -np.inf if q_min is None else q_min
        hi = np.inf if q_max is None else q_max
        if lo >= hi:
            raise ValueError(f"q range [{q_min}, {q_max}] 1/nm is empty: q_min must be < q_max")
        m = (self.q >= lo) & (self.q <= hi)
        if not m.any():
            raise ValueError(
                f"curve {self.title!r}: no point in q range [{q_min}, {q_max}] 1/nm; "
                f"the data cover {self.q.min():.4g} - {self.q.max():.4g} 1/nm"
            )
        return self.select(m)

    def finite(self) -> Curve:
        """A new curve without points whose q, intensity or sigma is NaN/inf."""
        return self.select(np.isfinite(self.q) & np.isfinite(self.intensity) & np.isfinite(self.sigma))


# ----------------------------------------------------------------------
# ASCII
def write_curve_ascii(
    path: str | Path, curve: Curve, *, q_unit: str = "1/nm", exclude_metadata: Iterable[str] = ()
) -> Path:
    """Write a 3-column ASCII file (Q, I, Idev) with units in a commented header, atomically.

    Parameters
    ----------
    path : str or Path
    curve : Curve
        q in 1/nm.
    q_unit : {"1/nm", "1/A"}
        Unit of the written Q column (named in the header).  SasView's ASCII reader
        assumes 1/A for headerless files: write ``q_unit="1/A"`` for older SasView versions.
    exclude_metadata : iterable of str
        Metadata keys not written into the header line (e.g. bulky frame headers).

    Readable by :func:`read_curve` (which honours the ``q_unit`` header line).
    """
    path = Path(path)
    fac = 1.0 / q_factor_to_nm(q_unit, source=f"{path}: write_curve_ascii q_unit")
    unit = "1/nm" if fac == 1.0 else "1/A"
    skip = set(exclude_metadata)
    meta = {k: v for k, v in curve.metadata.items() if k not in skip}
    header = [
        f"saxs_mc reduced curve: {curve.title}",
        f"q_unit = {unit}",
        f"intensity_unit = {curve.intensity_unit}",
        "metadata = " + json.dumps(jsonable(meta), allow_nan=False, separators=(",", ":")),
        f"columns: Q ({unit})  I ({curve.intensity_unit})  Idev ({curve.intensity_unit})",
    ]
    with atomic_path(path) as tmp:
        np.savetxt(
            tmp, np.column_stack([curve.q * fac, curve.intensity, curve.sigma]), header="\n".join(header), fmt="%.10e"
        )
    return path


def read_curve_ascii(path: str | Path, *, q_unit: str | None = None) -> Curve:
    """Read a 2- or 3-column ASCII curve.

    The q unit comes from a ``q_unit = ...`` header line or a column label
    such as ``Q (1/A)``; ``q_unit`` overrides it.  Without either a ValueError
    is raised: a bare 3-column file is ambiguous (SasView assumes 1/A, many
    beamline tools write 1/nm), and guessing wrong scales every size by 10.
    A 2-column file gets sigma = NaN (fitting will then refuse it).

    Raises
    ------
    ValueError
        Unreadable or non-numeric file, fewer than 2 columns, no q unit in the
        file and none given, or an unknown q unit.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise ValueError(f"{path}: cannot read curve file ({exc})") from exc
    rows, hdr = _ascii_rows(path, text)
    data = _ascii_columns(path, rows)
    unit = q_unit or hdr.q_unit
    if unit is None:
        raise ValueError(
            f"{path}: the q unit is not stated in the file (SasView would assume 1/A, saxs_mc refuses to guess); "
            "pass q_unit='1/nm' or '1/A' (CLI: --q-unit), or add a header line '# q_unit = 1/nm' (or 1/A)"
        )
    q = data[:, 0] * q_factor_to_nm(unit, source=str(path))
    sigma = data[:, 2] if data.shape[1] >= 3 else np.full(len(q), np.nan)
    order = np.argsort(q, kind="stable")
    return Curve(
        q=q[order],
        intensity=data[order, 1],
        sigma=sigma[order],
        intensity_unit=hdr.intensity_unit,
        title=hdr.title,
        metadata={**hdr.metadata, "source_file": str(path)},
    )


@dataclasses.dataclass
class _AsciiHeader:
    """What the comment lines (and a text column header) of an ASCII curve state."""

    title: str
    q_unit: str | None = None
    intensity_unit: str = "arbitrary"
    metadata: dict[str, Any] = dataclasses.field(default_factory=dict)


#: a q unit in a comment line, e.g. ``# Q (1/A)``
_COMMENT_Q_UNIT = re.compile(r"q\s*[\(\[]\s*(1/a|1/nm|a\^-1|nm\^-1|1/å|å\^-1)\s*[\)\]]", re.I)
#: a q unit in a text column header line before the data, e.g. ``Q (1/nm)  I  Idev``
_COLUMN_Q_UNIT = re.compile(r"q\s*[\(\[]\s*(1/a|1/nm|a\^-1|nm\^-1)\s*[\)\]]", re.I)


def _read_comment(body: str, hdr: _AsciiHeader) -> None:
    """Take what one comment line (without its comment marks) says into ``hdr``."""
    if m := re.match(r"q_unit\s*=\s*(\S+)", body):
        hdr.q_unit = m.group(1)
    elif m := re.match(r"intensity_unit\s*=\s*(\S+)", body):
        hdr.intensity_unit = m.group(1) if m.group(1) in INTENSITY_UNITS else "arbitrary"
    elif m := re.match(r"metadata\s*=\s*(\{.*\})\s*$", body):
        try:
            hdr.metadata = json.loads(m.group(1))
        except json.JSONDecodeError:
            hdr.metadata = {}
    elif body.startswith("saxs_mc reduced curve:"):
        hdr.title = body.split(":", 1)[1].strip() or hdr.title
    elif hdr.q_unit is None and (m := _COMMENT_Q_UNIT.search(body)):
        hdr.q_unit = m.group(1)


def _numbers(line: str) -> list[float] | None:
    """The numbers of a data line (split at white space, commas, semicolons); None if one is not a number."""
    try:
        return [float(x) for x in re.split(r"[\s,;]+", line) if x]
    except ValueError:
        return None


def _ascii_rows(path: Path, text: str) -> tuple[list[list[float]], _AsciiHeader]:
    """Numeric rows and header of an ASCII curve; ValueError on a non-numeric line after the data starts."""
    hdr = _AsciiHeader(title=path.stem)
    rows: list[list[float]] = []
    for line in text.splitlines():
        s = line.strip()
        if not s:
            continue
        if s[0] in "#%;":
            _read_comment(s.lstrip("#%; "), hdr)
            continue
        vals = _numbers(s)
        if vals is not None:
            rows.append(vals)
        elif rows:
            raise ValueError(f"{path}: line {line!r} is not numeric; fix or comment it with '#'")
        elif m := _COLUMN_Q_UNIT.search(s):  # a text column header line
            hdr.q_unit = m.group(1)
    return rows, hdr


def _ascii_columns(path: Path, rows: list[list[float]]) -> np.ndarray:
    """The (n, 2) or (n, 3) array of q, I[, Idev]; ValueError without data or with fewer than 2 columns."""
    if not rows:
        raise ValueError(f"{path}: no numeric data found; expected columns q, I, Idev")
    ncol = min(len(r) for r in rows)
    if ncol < 2:
        raise ValueError(f"{path}: needs at least 2 columns (q, I), found {ncol}")
    return np.array([r[:3] if ncol >= 3 else r[:2] for r in rows], dtype=float)


def read_curve(path: str | Path, *, entry: str | None = None, q_unit: str | None = None) -> Curve:
    """Read a curve from NXcanSAS HDF5 or ASCII, chosen by file suffix.

    Parameters
    ----------
    path : str or Path
    entry : str, optional
        NXcanSAS entry name (default: the file's default / first SASentry).
    q_unit : {"1/nm", "1/A"}, optional
        Unit of q in the file, overriding what the file states; needed for ASCII
        files without a q-unit header and NXcanSAS files whose Q has no ``@units``.

    Returns
    -------
    Curve
        q in 1/nm, intensity and sigma of shape (n,), the intensity unit and the title.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "demo.dat"
    >>> _ = write_curve_ascii(path, Curve(q=[0.1, 0.2, 0.4], intensity=[10.0, 5.0, 1.0], sigma=[0.1, 0.1, 0.1],
    ...                                   intensity_unit="1/cm", title="demo"))
    >>> c = read_curve(path)
    >>> c.q.tolist(), c.intensity.tolist(), c.intensity_unit
    ([0.1, 0.2, 0.4], [10.0, 5.0, 1.0], '1/cm')
    """
    path = Path(path)
    if not path.exists():
        raise ValueError(f"{path}: file does not exist; check the path")
    if path.suffix.lower() in HDF5_SUFFIXES:
        from saxs_mc.io.nxcansas import read_nxcansas

        return read_nxcansas(path, entry=entry, q_unit=q_unit)
    return read_curve_ascii(path, q_unit=q_unit)
