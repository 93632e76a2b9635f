"""The result records of a reduction: per-frame record, partial sums, :class:`ReductionResult` and its provenance."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any

import numpy as np

from saxs_mc.io.curves import Curve
from saxs_mc.reduce.settings import ReductionSettings

log = logging.getLogger("saxs_mc.reduce.reducer")


@dataclasses.dataclass(frozen=True)
class FrameRecord:
    """What the reduction measured and decided for one frame.

    ``transmission`` is I1/I0 (divided by the empty-cell transmission when given);
    ``divisor`` is what the frame was divided by (monitor, exposure, constant or 1, see
    ``ReductionSettings.normalization``);
    ``integrated_intensity`` is the normalized intensity averaged over all q bins
    (same unit as the curve), with its statistical ``integrated_sigma``.
    """

    name: str
    file: str
    index: int | None
    monitor: float | None
    incident: float | None
    transmission: float | None
    exposure_s: float | None
    thickness_cm: float | None
    temperature_C: float | None
    integrated_intensity: float | None
    integrated_sigma: float | None
    rejected: bool = False
    reason: str = ""
    z_transmission: float | None = None
    z_intensity: float | None = None
    divisor: float | None = None

    @classmethod
    def unreadable(cls, ref: Any, exc: BaseException) -> FrameRecord:
        """The rejected record of a frame that could not be read or integrated (``bad_frames = "reject"``)."""
        return cls(
            name=ref.name,
            file=str(ref.path),
            index=ref.index,
            monitor=None,
            incident=None,
            transmission=None,
            exposure_s=None,
            thickness_cm=None,
            temperature_C=None,
            integrated_intensity=None,
            integrated_sigma=None,
            rejected=True,
            reason=f"unreadable/invalid: {exc}",
        )

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class _Partial:
    """Per-frame pyFAI sums (kept instead of the frame itself)."""

    radial: np.ndarray
    signal: np.ndarray
    norm: np.ndarray
    variance: np.ndarray
    header: dict[str, Any]


@dataclasses.dataclass(frozen=True)
class ReductionResult:
    """Averaged curve of one sample plus the per-frame record.

    Attributes
    ----------
    curve : Curve
        q in 1/nm, intensity in 1/cm (calibrated) or arbitrary; blank-subtracted if ``blank`` is set.
    frames : tuple of FrameRecord
    rejected : tuple of str
        Names of the frames excluded from the average.
    geometry : dict
        Integrator geometry (see :func:`saxs_mc.reduce.geometry.geometry_dict`).
    settings : ReductionSettings
    inputs : tuple of str
        Input files (unique, in order).
    poni, mask : str or None
        Calibration files used.
    blank : ReductionResult or None
        The blank subtracted from ``curve`` (see :meth:`subtract`).
    blank_scale : float
    warnings : tuple of str
        Warnings of the reduction (e.g. PONI geometry against the frame headers), also in the provenance.
    """

    curve: Curve
    frames: tuple[FrameRecord, ...]
    rejected: tuple[str, ...]
    geometry: dict[str, Any]
    settings: ReductionSettings
    inputs: tuple[str, ...]
    poni: str | None = None
    mask: str | None = None
    blank: ReductionResult | None = None
    blank_scale: float = 1.0
    warnings: tuple[str, ...] = ()

    @property
    def n_accepted(self) -> int:
        return sum(not f.rejected for f in self.frames)

    def subtract(self, blank: ReductionResult, *, scale: float = 1.0) -> ReductionResult:
        """This sample minus ``blank`` (see :func:`saxs_mc.reduce.subtract_blank`), keeping both records."""
        from saxs_mc.reduce.blank import subtract_blank

        if self.blank is not None:
            raise ValueError(
                f"{self.curve.title!r} is already blank-subtracted (blank {self.blank.curve.title!r}); subtract once"
            )
        curve = subtract_blank(self.curve, blank.curve, scale=scale)
        return dataclasses.replace(self, curve=curve, blank=blank, blank_scale=float(scale))

    def summary(self) -> dict[str, Any]:
        """JSON-safe summary (no per-pixel data)."""
        from saxs_mc.io.atomic import jsonable

        tr = [f.transmission for f in self.frames if not f.rejected and f.transmission is not None]
        out = {
            "title": self.curve.title,
            "intensity_unit": self.curve.intensity_unit,
            "n_q": self.curve.n_q,
            "q_range_nm": [float(self.curve.q.min()), float(self.curve.q.max())] if self.curve.n_q else None,
            "n_frames": len(self.frames),
            "n_accepted": self.n_accepted,
            "rejected": list(self.rejected),
            "rejection_reasons": {f.name: f.reason for f in self.frames if f.rejected},
            "transmission_median": float(np.median(tr)) if tr else None,
            "geometry": self.geometry,
            "blank": None if self.blank is None else self.blank.curve.title,
            "blank_scale": self.blank_scale,
            "negative_points": self.curve.metadata.get("negative_points"),
            "normalization": normalization_statement(self.settings),
            "warnings": list(self.warnings),
        }
        return jsonable(out)

    def report(self) -> str:
        """Human-readable text report."""
        s = self.summary()
        lines = [
            f"Reduction of {s['title']!r}: {s['n_accepted']}/{s['n_frames']} frames averaged, "
            f"{s['n_q']} q points, I in {s['intensity_unit']}",
            f"  normalization: {s['normalization']}",
        ]
        if s["q_range_nm"]:
            lines.append(f"  q range {s['q_range_nm'][0]:.4g} - {s['q_range_nm'][1]:.4g} 1/nm")
        if s["transmission_median"] is not None:
            lines.append(f"  median transmission {s['transmission_median']:.4f}")
        for name, why in s["rejection_reasons"].items():
            lines.append(f"  rejected {name}: {why}")
        lines.extend(f"  warning: {w}" for w in self.warnings)
        if self.blank is not None:
            lines.append(
                f"  blank subtracted: {self.blank.curve.title!r} x {self.blank_scale:g} "
                f"({self.blank.n_accepted}/{len(self.blank.frames)} blank frames)"
            )
            if s["negative_points"]:
                lines.append(f"  {s['negative_points']} point(s) negative after subtraction (kept, flagged)")
        return "\n".join(lines)

    def provenance(self, *, hash_inputs: bool = True) -> dict[str, Any]:
        """Provenance for output files: inputs (sha256), frames, rejected frames, geometry, settings, versions."""
        from saxs_mc.io.atomic import jsonable
        from saxs_mc.provenance import package_versions, utc_now

        def _h(p: str | None) -> str | None:
            return _input_sha256(p) if (p and hash_inputs and Path(p).is_file()) else None

        prov: dict[str, Any] = {
            "software": "saxs_mc.reduce",
            "created": utc_now(),
            "title": self.curve.title,
            "inputs": [{"file": f, "sha256": _h(f)} for f in self.inputs],
            "poni": {"file": self.poni, "sha256": _h(self.poni)} if self.poni else None,
            "mask": {"file": self.mask, "sha256": _h(self.mask)} if self.mask else None,
            "geometry": self.geometry,
            "settings": self.settings.to_dict(),
            "frames": [f.to_dict() for f in self.frames],
            "rejected_frames": list(self.rejected),
            "averaging": "sum of counts and normalizations over accepted frames (Poisson ML)",
            "normalization": normalization_statement(self.settings),
            "warnings": list(self.warnings),
            "versions": package_versions(),
        }
        if self.blank is not None:
            prov["blank"] = self.blank.provenance(hash_inputs=hash_inputs)
            # the subtracted curve itself, so the result can be rebuilt (read_reduced) and the subtraction redone
            b = self.blank.curve
            prov["blank"]["curve"] = {
                "q_nm": b.q,
                "intensity": b.intensity,
                "sigma": b.sigma,
                "intensity_unit": b.intensity_unit,
                "title": b.title,
                "metadata": b.metadata,
            }
            prov["blank_scale"] = self.blank_scale
        return jsonable(prov)


#: (device, inode, size, mtime_ns, ctime_ns) of an input file -> its SHA-256, for :func:`_input_sha256`
_SHA256_MEMO: dict[tuple[str, int, int, int, int, int], str] = {}
_SHA256_MEMO_MAX = 4096


def _input_sha256(path: str | Path) -> str:
    """SHA-256 of an input file's content, hashed once per process while the file is unchanged.

    One stack file is the input of every time point grouped from it: without the memo each time
    point's provenance re-hashed the whole stack (100 time points of a 4 GB stack: 400 GB read).
    The memo key holds the file's device, inode, size, mtime and ctime: any write changes the
    ctime, which (unlike the mtime, ``touch -r``) cannot be set back, so a rewritten file is
    hashed again.  The memo lives in memory only and holds at most 4096 files.
    """
    from saxs_mc import provenance

    p = Path(path).resolve()
    st = p.stat()
    key = (str(p), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    digest = _SHA256_MEMO.get(key)
    if digest is None:
        digest = provenance.file_sha256(p)
        if len(_SHA256_MEMO) >= _SHA256_MEMO_MAX:
            _SHA256_MEMO.pop(next(iter(_SHA256_MEMO)))
        _SHA256_MEMO[key] = digest
    return digest


def normalization_statement(s: ReductionSettings) -> str:
    """One sentence saying what the intensities were divided by and in which unit they are."""
    h = s.header
    src = f"monitor table {s.monitor_table}" if s.monitor_table else "header key"
    what = {
        "monitor": f"transmitted monitor ({src} {h.transmitted_monitor!r}"
        + (", x exposure" if h.monitor_is_rate else "")
        + ")",
        "exposure": f"exposure time ({src} {h.exposure_time!r}): counts per second",
        "constant": f"the constant {s.normalization_constant:g}" if s.normalization_constant else "a constant",
        "none": "nothing (raw counts)",
    }[s.normalization]
    scale = (
        f"absolute scale 1/cm (calibration factor {s.calibration_factor:g}, thickness, solid angle)"
        if s.absolute
        else "arbitrary units (no absolute calibration; per steradian"
        + (", per cm of thickness)" if s.thickness_cm is not None else ")")
    )
    return f"divided by {what}; {scale}"
