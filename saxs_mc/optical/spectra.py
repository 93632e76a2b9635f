"""Reading UV-Vis absorbance spectra: wavelength (nm) plus one or many absorbance columns.

Accepted: text/CSV with comma, semicolon, tab or space separators, ``#`` comments and an
optional header line of column names.  The wavelength column is the one named like
``wavelength``/``lambda``/``wl``/``nm``, or else the first column when it is monotonic
with values of 150-3000 (nm).  A column named like energy/eV, or a first column with
values of 0.4-12 (photon energies), is refused with a plain error: convert to
nanometres first (lambda [nm] = 1239.84 / E [eV]).
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import numpy as np

_SPLIT = re.compile(r"[,;\t ]+")
_WL_NAME = re.compile(r"wave\s*length|lambda|^wl\b|\(nm\)|\[nm\]|^nm$", re.I)
_EV_NAME = re.compile(r"\bev\b|energy|\(ev\)|\[ev\]", re.I)
#: plausible wavelength values (nm) and photon energies (eV) of a UV-Vis-NIR spectrum
NM_RANGE = (150.0, 3000.0)
EV_RANGE = (0.4, 12.0)


@dataclasses.dataclass(frozen=True)
class Spectra:
    """Absorbance spectra on a common wavelength axis.

    Attributes
    ----------
    wavelength_nm : ndarray (n_wl,)
        Increasing wavelengths in nm.
    absorbance : ndarray (n_spectra, n_wl)
    names : tuple of str
        One name per spectrum: the file stem for a single absorbance column, else the column
        headers (or ``<stem>_<k>`` without a header).
    source : str
    """

    wavelength_nm: np.ndarray
    absorbance: np.ndarray
    names: tuple[str, ...]
    source: str = ""

    def __post_init__(self) -> None:
        wl = np.array(self.wavelength_nm, dtype=float)
        a = np.atleast_2d(np.array(self.absorbance, dtype=float))
        if wl.ndim != 1 or a.shape[1] != wl.size or len(self.names) != a.shape[0]:
            raise ValueError(
                f"{self.source or 'spectra'}: wavelength {wl.shape}, absorbance {a.shape} and "
                f"{len(self.names)} names do not match"
            )
        for arr in (wl, a):
            arr.flags.writeable = False
        object.__setattr__(self, "wavelength_nm", wl)
        object.__setattr__(self, "absorbance", a)


def _rows(path: Path) -> tuple[list[str] | None, list[list[float]]]:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise ValueError(f"{path}: cannot read the spectrum file ({exc})") from exc
    header, rows = None, []
    for n, line in enumerate(text.splitlines(), 1):
        s = line.strip()
        if not s or s[0] in "#%;":
            continue
        parts = [p for p in _SPLIT.split(s) if p]
        try:
            rows.append([float(p) for p in parts])
        except ValueError:
            if rows:
                raise ValueError(
                    f"{path}: line {n} {line.strip()!r} is not numeric; fix it or comment it out with '#'"
                ) from None
            header = [p.strip().strip('"') for p in re.split(r"[,;\t]+", s) if p.strip()]
            if len(header) == 1:
                header = parts
    if not rows:
        raise ValueError(f"{path}: no numeric data; expected a wavelength column (nm) and absorbance column(s)")
    return header, rows


def _wavelength_column(path: Path, header: list[str] | None, data: np.ndarray) -> int:
    if header is not None and len(header) == data.shape[1]:
        for name in header:
            if _EV_NAME.search(name) and not _WL_NAME.search(name):
                raise ValueError(
                    f"{path}: column {name!r} is a photon energy (eV); saxs_mc.optical needs the "
                    "wavelength in nm: convert with lambda [nm] = 1239.84 / E [eV]"
                )
        for k, name in enumerate(header):
            if _WL_NAME.search(name):
                return k
    x = data[:, 0]
    d = np.diff(x)
    if data.shape[1] < 2 or not (np.all(d > 0) or np.all(d < 0)):
        raise ValueError(
            f"{path}: no wavelength column found (no column named wavelength/lambda/nm, and the first "
            "column is not monotonic); give the wavelength in nm as the first column, then absorbance"
        )
    lo, hi = float(np.min(x)), float(np.max(x))
    if EV_RANGE[0] <= lo and hi <= EV_RANGE[1]:
        raise ValueError(
            f"{path}: the first column runs {lo:g}-{hi:g}: that is a photon energy in eV, not a "
            "wavelength; convert to nm (lambda [nm] = 1239.84 / E [eV])"
        )
    if not (NM_RANGE[0] <= lo and hi <= NM_RANGE[1]):
        raise ValueError(
            f"{path}: the first column runs {lo:g}-{hi:g}, not a UV-Vis wavelength in nm "
            f"({NM_RANGE[0]:g}-{NM_RANGE[1]:g}); give the wavelength in nm as the first column"
        )
    return 0


def read_spectra(path: str | Path) -> Spectra:
    r"""Read absorbance spectra from a CSV/TXT file (see module docstring).

    Raises
    ------
    ValueError
        Unreadable or non-numeric file, ragged rows, no wavelength column, a wavelength in eV,
        or no absorbance column.

    Returns
    -------
    Spectra
        ``wavelength_nm`` of shape (n,), ``absorbance`` of shape (m, n) for m columns, their ``names``.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "uvvis.csv"
    >>> _ = path.write_text("# two samples\nwavelength_nm,s1,s2\n400,0.10,0.20\n410,0.12,0.25\n420,0.15,0.22\n")
    >>> sp = read_spectra(path)
    >>> sp.names, sp.wavelength_nm.tolist(), sp.absorbance.shape
    (('s1', 's2'), [400.0, 410.0, 420.0], (2, 3))
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: spectrum file does not exist; check the path")
    header, rows = _rows(path)
    ncol = {len(r) for r in rows}
    if len(ncol) != 1:
        raise ValueError(
            f"{path}: rows have different numbers of columns {sorted(ncol)}; every row needs the "
            "wavelength and the same absorbance columns"
        )
    data = np.array(rows, dtype=float)
    k = _wavelength_column(path, header, data)
    others = [j for j in range(data.shape[1]) if j != k]
    if not others:
        raise ValueError(f"{path}: only a wavelength column; add absorbance column(s)")
    if len(others) == 1:
        names = [path.stem]
    elif header is not None and len(header) == data.shape[1]:
        names = [header[j] for j in others]
    else:
        names = [f"{path.stem}_{j + 1}" for j in range(len(others))]
    order = np.argsort(data[:, k], kind="stable")
    good = np.all(np.isfinite(data[order][:, others]), axis=1)
    return Spectra(data[order, k][good], data[order][good][:, others].T, tuple(names), str(path))
