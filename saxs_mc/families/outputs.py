"""Files written for a family decomposition (all atomic).

``write_family_outputs(outdir, stem, result, source=None, plot=True)`` writes:

``<stem>_families.json``
    ``{"schema": "saxs_mc.families/1", "created", "source": {"path", "sha256"} or null,
    "outputs": {...}, **FamilyResult.summary()}``; non-finite numbers are ``null``.
``<stem>_families.csv``
    One row per term: ``name,kind,status,radius_nm,radius_std_nm,sd_nm,share,share_std,share_upper,
    volume_fraction,volume_fraction_std,volume_fraction_upper,delta_chi2,delta_bic`` (empty cells for
    undefined values); ``#`` header with the volume-fraction kind.
``<stem>_families_curve.csv``
    ``q_nm,intensity,sigma,model`` then one column per component.
``<stem>_families.png``
    Data, model and components (skipped with ``plot=False``).
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import numpy as np

from saxs_mc.families.result import FamilyResult
from saxs_mc.io.atomic import atomic_path, jsonable, write_json_atomic, write_text_atomic
from saxs_mc.provenance import file_sha256, utc_now

SCHEMA = "saxs_mc.families/1"
_CSV_COLUMNS = (
    "name",
    "kind",
    "status",
    "radius_nm",
    "radius_std_nm",
    "sd_nm",
    "share",
    "share_std",
    "share_upper",
    "volume_fraction",
    "volume_fraction_std",
    "volume_fraction_upper",
    "delta_chi2",
    "delta_bic",
)


def _cell(v) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return ""
    return f"{v:.6g}" if isinstance(v, float) else str(v)


def write_family_outputs(
    outdir: str | Path, stem: str, result: FamilyResult, *, source: str | Path | None = None, plot: bool = True
) -> dict[str, Path]:
    """Write JSON, CSV tables and a plot of ``result`` into ``outdir``; return the paths by kind."""
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    paths = {
        "json": outdir / f"{stem}_families.json",
        "table": outdir / f"{stem}_families.csv",
        "curve": outdir / f"{stem}_families_curve.csv",
    }
    if plot:
        paths["plot"] = outdir / f"{stem}_families.png"
    buf = io.StringIO()
    buf.write(
        f"# family decomposition of {result.title}; volume fractions "
        f"{'absolute' if result.absolute else 'not absolute (shares only)'}\n"
    )
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(_CSV_COLUMNS)
    for t in result.terms:
        w.writerow([_cell(getattr(t, c)) for c in _CSV_COLUMNS])
    write_text_atomic(paths["table"], buf.getvalue())
    cols = np.column_stack([result.q_nm, result.intensity, result.sigma, result.model, *result.components])
    header = ",".join(["q_nm", "intensity", "sigma", "model", *[n.replace(",", ";") for n in result.component_names]])
    with atomic_path(paths["curve"]) as tmp:
        np.savetxt(tmp, cols, delimiter=",", header=f"intensity in {result.intensity_unit}\n{header}", fmt="%.8e")
    if plot:
        _plot(paths["plot"], result)
    src = None if source is None else {"path": str(source), "sha256": file_sha256(source)}
    doc = {
        "schema": SCHEMA,
        "created": utc_now(),
        "source": src,
        "outputs": {k: p.name for k, p in paths.items() if k != "json"},
        **result.summary(),
    }
    write_json_atomic(paths["json"], jsonable(doc))
    return paths


def _plot(path: Path, result: FamilyResult) -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 6.0))
    ax1, ax2 = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    result.plot(ax1)
    result.plot(ax2, residuals=True)
    ax1.set_xlabel("")
    ax2.set_title("")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
