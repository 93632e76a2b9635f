"""The watch session: find complete frames as they arrive and keep the results up to date.

Design (two paths, one truth):

* **curve path** (this process, every new complete frame): the frame is
  integrated by a warm reducer and added to its sample's running sums
  (:class:`~saxs_mc.watch.live_reduce.LiveReducer`); the sample's averaged,
  blank-subtracted curve and the ``live`` part of ``summary.json`` are updated
  at once (atomic write).  No planning, hashing or re-reading of earlier frames.
* **fit path** (worker processes): a sample is re-fitted when its curve changed
  by more than its own noise, or at an interval (rule in
  :mod:`saxs_mc.watch.refit`); the curve path never waits for a fit.
* **sync** (a worker process): the exact batch pipeline
  (:func:`saxs_mc.pipeline.run.run_pipeline`) on the complete frames, when the
  frames have been quiet for ``sync_idle_s`` and at most every ``sync_every_s``
  during a continuous acquisition.  It writes the content-hash cache,
  ``summary.json`` and the report exactly as ``saxs-mc run``; once it has covered
  every frame, the ``live`` part is dropped, so a watch that ends idle leaves
  exactly the ``run`` results.  While a sync runs, ``summary.json`` is left to it
  (the live part is written again when it ends); the live page keeps updating.
"""

from __future__ import annotations

import dataclasses
import glob
import json
import logging
import threading
import time
from pathlib import Path
from typing import Any

from saxs_mc.pipeline.config import BlankConfig, PipelineConfig, SampleConfig

from .complete import Check, check_file, stat_key
from .settings import WatchSettings
from .sidecar import SidecarTable

log = logging.getLogger("saxs_mc.watch")


@dataclasses.dataclass
class FrameRecord:
    """What the session knows about one file (mutable, internal)."""

    path: Path
    group: str
    first_seen: float
    stat: tuple[int, int] | None
    last_change: float
    state: str = "pending"  # pending | complete | rejected | processed
    reason: str = ""
    complete_at: float | None = None
    processed_at: float | None = None
    handed_size: int | None = None
    polls_stable: int = 0
    table_wait: bool = False  # waiting for (or rejected for lack of) its monitor-table row
    summary_at: float | None = None  # its sample's curve including it first in summary.json
    fitted_at: float | None = None  # a fit (live or batch) including it first in summary.json
    dataset: str | None = None  # frame ``index`` of the HDF5 stack ``path::dataset``
    index: int | None = None

    @property
    def name(self) -> str:
        return str(self.path) if self.dataset is None else f"{self.path}::{self.dataset}[{self.index}]"

    def ref(self) -> Any:
        from saxs_mc.io.frames import FrameRef

        if self.dataset is None:
            return FrameRef(path=self.path)
        return FrameRef(path=self.path, dataset=self.dataset, index=self.index, n_in_file=(self.index or 0) + 1)

    def summary(self) -> dict[str, Any]:
        return {
            "file": self.name,
            "group": self.group,
            "state": self.state,
            "reason": self.reason or None,
            "first_seen": self.first_seen,
            "complete_at": self.complete_at,
            "processed_at": self.processed_at,
            "summary_at": self.summary_at,
            "fitted_at": self.fitted_at,
            "size": None if self.stat is None else self.stat[0],
            "handed_size": self.handed_size,
        }


@dataclasses.dataclass
class LiveSample:
    """The live state of one sample (mutable, internal)."""

    name: str
    curve: Any = None  # blank-subtracted Curve
    frames: frozenset = frozenset()  # keys of the sample's and its blank's frames in the curve
    blank_frames: frozenset = frozenset()
    rejected: tuple[str, ...] = ()
    n_frames: int = 0
    updated_at: float | None = None
    fit: dict[str, Any] | None = None
    fit_of: tuple[Any, frozenset, frozenset] | None = None  # (curve, frames, blank frames) last sent to a fit
    fitted_frames: frozenset = frozenset()
    fitted_at: float | None = None
    fit_started: float | None = None
    future: Any = None
    n_fits: int = 0
    last_change: dict[str, Any] | None = None
    fit_reason: str = ""

    def summary(self) -> dict[str, Any]:
        c = self.curve
        out: dict[str, Any] = {
            "n_frames": self.n_frames,
            "n_rejected": len(self.rejected),
            "rejected_frames": list(self.rejected),
            "curve_updated": self.updated_at,
        }
        if c is not None:
            out.update(
                n_q=int(c.q.size),
                intensity_unit=c.intensity_unit,
                mean_intensity=float(_finite_mean(c.intensity)),
                q_min_nm=float(c.q.min()),
                q_max_nm=float(c.q.max()),
                curve_file=f"live/{self.name}_curve.json",
            )
        f = self.fit
        out["fit"] = (
            None
            if f is None
            else {
                "chi2_r": f["chi2_r"],
                "peak_radius_nm": f["peak_radius_nm"],
                "all_converged": f["all_converged"],
                "total_volume_fraction": f["total_volume_fraction"],
                "n_peaks": len(f.get("peaks") or []),
                "fitted": self.fitted_at,
                "n_frames_fitted": len(self.fitted_frames),
                "fit_s": f["fit_s"],
                "reason": self.fit_reason,
                "n_fits": self.n_fits,
            }
        )
        out["refit_test"] = self.last_change
        return out


def _finite_mean(a: Any) -> float:
    import numpy as np

    a = np.asarray(a, dtype=float)
    a = a[np.isfinite(a)]
    return float(a.mean()) if a.size else float("nan")


def _groups(cfg: PipelineConfig) -> dict[str, tuple[str, ...]]:
    """Sample/blank name -> its resolved glob patterns (``file_glob::/dataset`` for HDF5 stacks, followed as they grow)."""
    base = cfg.source.parent
    out: dict[str, tuple[str, ...]] = {}
    items: list[SampleConfig | BlankConfig] = [*cfg.blanks, *cfg.samples]
    for item in items:
        pats = []
        for pat in item.frames:
            file_part, sep, ds = pat.partition("::")
            if sep and ds.rstrip().endswith("]"):
                raise ValueError(
                    f"{cfg.source}: {item.name}: HDF5 stack {pat!r}: a frame selection cannot be followed "
                    f"as the stack grows; give the dataset without [...] (every frame is used)"
                )
            p = Path(file_part).expanduser()
            pats.append(str(p if p.is_absolute() else base / p) + sep + ds)
        out[item.name] = tuple(pats)
    return out


def _rec_key(r: FrameRecord) -> tuple[str, int]:
    """The key of a frame record in :class:`~saxs_mc.watch.live_reduce.LiveReducer` (file, index or -1)."""
    return (str(r.path), -1 if r.index is None else int(r.index))


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def expected_shape(cfg: PipelineConfig) -> tuple[int, int] | None:
    """Detector shape from the mask file (None without a mask: the first complete frame sets it)."""
    if cfg.geometry.mask is None:
        return None
    import fabio

    with fabio.open(str(cfg.geometry.mask)) as img:
        return tuple(int(n) for n in img.data.shape)  # type: ignore[return-value]


class WatchSession:
    """Follow the frame globs of ``cfg`` and keep its pipeline outputs up to date.

    Parameters
    ----------
    cfg : PipelineConfig
        Loaded with :func:`saxs_mc.pipeline.config.allow_unmatched_globs` (globs may match nothing yet).
    settings : WatchSettings
    """

    def __init__(self, cfg: PipelineConfig, settings: WatchSettings | None = None) -> None:
        self.cfg = cfg
        self.settings = settings or WatchSettings()
        self.groups = _groups(cfg)
        self.shape = expected_shape(cfg)
        self.frames: dict[Any, FrameRecord] = {}  # a file's Path, or (stack Path, index) for a frame of an HDF5 stack
        self.wake = threading.Event()
        self.stop = threading.Event()
        self.dirty_since: float | None = None
        self.last_activity = time.monotonic()
        self.runs = 0
        self.pipeline_rejected: dict[str, str] = {}
        self.last_sample: str | None = None
        self.live: Any = None
        self.samples: dict[str, LiveSample] = {}
        self.version = 0
        self.sync_future: Any = None
        self.sync_keys: dict[str, frozenset] = {}
        self.synced_keys: dict[str, frozenset] = {}
        self.sync_started = 0.0
        self.last_sync_at = time.time()
        self.base_doc: Any = _read_json(cfg.output.dir / "summary.json")  # the last batch results, kept until a sync
        if isinstance(self.base_doc, dict):
            self.base_doc.pop("live", None)
        self.sync_retry_at = 0.0
        self._said_empty: set[str] = set()
        self.stack_waits: dict[tuple[Path, None], str] = {}
        self.stale: set[str] = set()  # groups that lost a frame: their curves are recomputed
        table = cfg.reduction.monitor_table
        self.sidecar = SidecarTable(table, cfg.reduction.table_columns) if table else None
        self.table_changed_at = 0.0

    # ------------------------------------------------------------------ scanning
    def scan(self, now: float | None = None) -> bool:
        """Glob every pattern, update each file's state; True when a frame became complete."""
        now = time.time() if now is None else now
        self._refresh_sidecar(now)
        changed = False
        for group, pats in self.groups.items():
            changed |= self._scan_group(group, pats, now)
        return changed

    def _refresh_sidecar(self, now: float) -> None:
        """Re-read a grown sidecar table; frames rejected for lack of a row are examined again."""
        if self.sidecar is None or not self.sidecar.refresh():
            return
        self.table_changed_at = now
        for rec in self.frames.values():
            if rec.state == "rejected" and rec.table_wait:
                rec.state, rec.reason = "pending", ""

    @staticmethod
    def _glob_group(pats: tuple[str, ...]) -> tuple[list[Path], dict[Path, str | None]]:
        """Plain frame files and HDF5 stacks (path -> dataset) matching a group's patterns now."""
        stacks = {
            Path(m): pat.partition("::")[2] or None
            for pat in pats
            if "::" in pat
            for m in glob.glob(pat.partition("::")[0], recursive=True)
        }
        found = sorted({Path(m) for pat in pats if "::" not in pat for m in glob.glob(pat, recursive=True)})
        return [p for p in found if p.is_file()], stacks

    def _scan_group(self, group: str, pats: tuple[str, ...], now: float) -> bool:
        """One group's stacks, vanished files and present files; True when a frame became complete."""
        found, stacks = self._glob_group(pats)
        self._say_empty(group, pats, found + sorted(stacks))
        changed = False
        for path, dataset in sorted(stacks.items()):
            changed |= self._scan_stack(group, path, dataset, now)
        present = set(found)
        gone = [r for r in self.frames.values() if r.group == group and r.dataset is None and r.path not in present]
        for rec in gone:
            changed |= self._update(rec, now)
        for p in found:
            if p not in self.frames:
                self.frames[p] = FrameRecord(p, group, now, None, now)
                log.debug("%s: new file %s", group, p.name)
            changed |= self._update(self.frames[p], now)
        return changed

    def _scan_stack(self, group: str, path: Path, dataset: str | None, now: float) -> bool:
        """New frames of an HDF5 stack: those within the dataset's shape (SWMR-refreshed) when it is opened now.

        A stack that cannot be opened yet (being created, or written without SWMR and still open) waits;
        frames are never read beyond the committed shape.
        """
        from saxs_mc.io.frames import FrameError, expand_sources

        spec = f"{path}::{dataset}" if dataset else str(path)
        try:
            refs = expand_sources(spec)
        except (FrameError, OSError, KeyError, ValueError) as exc:
            key = (path, None)
            if key not in self.stack_waits:
                log.info("%s: stack %s not readable yet (%s); waiting", group, path, exc)
            self.stack_waits[key] = str(exc)
            return False
        self.stack_waits.pop((path, None), None)
        changed = False
        for ref in refs:
            if (ref.path, ref.index) in self.frames:
                continue
            rec = FrameRecord(ref.path, group, now, stat_key(ref.path), now, dataset=ref.dataset, index=ref.index)
            self.frames[(ref.path, ref.index)] = rec
            changed |= self._accept(rec, Check("complete"), now)
        return changed

    def _say_empty(self, group: str, pats: tuple[str, ...], found: list[Path]) -> None:
        if not found and group not in self._said_empty:
            log.info("%s: waiting, no file matches %s yet", group, ", ".join(pats))
            self._said_empty.add(group)
        elif found and group in self._said_empty:
            self._said_empty.discard(group)

    def _update(self, rec: FrameRecord, now: float) -> bool:
        st = stat_key(rec.path)
        if st is None:  # deleted or renamed away: forget it (the next update runs without it)
            log.warning("%s: %s disappeared; it is no longer used", rec.group, rec.path)
            del self.frames[rec.path]
            if self.live is not None and rec.state == "processed":
                self.live.discard(rec.group, rec.ref())
                self.stale.add(rec.group)
            return rec.state in ("complete", "processed")
        if st != rec.stat:
            if rec.state in ("complete", "processed") and st is not None:
                log.warning("%s: %s changed after it was complete; it is not read again", rec.group, rec.path.name)
            rec.stat, rec.last_change, rec.polls_stable = st, now, 0
            if rec.state == "rejected":
                rec.state, rec.reason = "pending", ""  # it changed: examine it again
        else:
            rec.polls_stable += 1
        if rec.state != "pending":
            return False
        c = check_file(rec.path, st[0], stable=rec.polls_stable >= 1)
        why = None if c.state != "complete" or self.sidecar is None else self.sidecar.missing_row(rec.path)
        if c.state == "complete" and why is None:
            rec.table_wait = False
            return self._accept(rec, c, now)
        rec.reason, rec.table_wait = why or c.reason, why is not None
        last = max(rec.last_change, self.table_changed_at) if why else rec.last_change
        if now - last >= self.settings.corrupt_timeout_s:
            self._reject(rec, f"{rec.reason}; unchanged for {now - last:.0f} s")
        return False

    def _accept(self, rec: FrameRecord, c: Check, now: float) -> bool:
        if self.shape is None:
            self.shape = c.shape  # type: ignore[assignment]
        if c.shape is not None and self.shape is not None and tuple(c.shape[-2:]) != tuple(self.shape):
            self._reject(
                rec,
                f"frame shape {c.shape} differs from the detector shape {self.shape} (mask {self.cfg.geometry.mask})",
            )
            return False
        rec.state, rec.reason, rec.complete_at = "complete", "", now
        rec.handed_size = rec.stat[0] if rec.stat else None
        self.last_activity = time.monotonic()
        log.debug("%s: %s complete (%s bytes)", rec.group, rec.path.name, rec.handed_size)
        return True

    def _reject(self, rec: FrameRecord, reason: str) -> None:
        rec.state, rec.reason = "rejected", reason
        log.warning("%s: frame %s rejected: %s", rec.group, rec.path, reason)

    # ------------------------------------------------------------------ processing
    def complete_records(self, group: str) -> list[FrameRecord]:
        return sorted(
            (r for r in self.frames.values() if r.group == group and r.state in ("complete", "processed")),
            key=lambda r: (str(r.path), -1 if r.index is None else r.index),
        )

    def complete_files(self, group: str) -> tuple[Path, ...]:
        return tuple(dict.fromkeys(r.path for r in self.complete_records(group)))

    def _sources(self, group: str) -> tuple[tuple[Path, ...], tuple[str, ...]]:
        """(files, frame specs) of the complete frames of ``group``, for a configuration."""
        recs = self.complete_records(group)
        files = tuple(dict.fromkeys(r.path for r in recs))
        stacks: dict[tuple[Path, str], list[int]] = {}
        specs = []
        for r in recs:
            if r.dataset is None:
                specs.append(str(r.path))
            else:
                stacks.setdefault((r.path, r.dataset), []).append(int(r.index or 0))
        specs += [f"{p}::{d}[{','.join(map(str, idx))}]" for (p, d), idx in stacks.items()]
        return files, tuple(specs)

    def live_config(self) -> PipelineConfig | None:
        """A copy of the config holding only complete frames; samples wait for frames and their blank."""
        blanks = []
        for b in self.cfg.blanks:
            files, specs = self._sources(b.name)
            if files:
                blanks.append(dataclasses.replace(b, files=files, sources=specs))
        have = {b.name for b in blanks}
        samples = []
        for s in self.cfg.samples:
            files, specs = self._sources(s.name)
            if files and self.cfg.blank_for(s).name in have:
                samples.append(dataclasses.replace(s, files=files, sources=specs))
        if not samples and not blanks:
            return None
        return dataclasses.replace(self.cfg, samples=tuple(samples), blanks=tuple(blanks))

    def _live(self) -> Any:
        if self.live is None:
            from .live_reduce import LiveReducer

            self.live = LiveReducer(self.cfg)
        return self.live

    def update_curves(self) -> list[str]:
        """Curve path: integrate every newly complete frame, update the curves and ``summary.json``.

        Returns the samples whose curve changed.
        """
        fresh = sorted(
            (r for r in self.frames.values() if r.state == "complete"),
            key=lambda r: (r.complete_at or 0, str(r.path), r.index or 0),
        )
        if not fresh and not self.stale:
            return []
        live = self._live()
        groups, self.stale = set(self.stale), set()
        for r in fresh:
            row = self.sidecar.row(r.ref()) if self.sidecar is not None else None
            live.add(r.group, r.ref(), row)
            groups.add(r.group)
        touched = [s.name for s in self.cfg.samples if s.name in groups or self.cfg.blank_for(s).name in groups]
        changed = [name for name in touched if self._update_sample(name)]
        self._collect_rejections()
        self.version += 1
        done = time.time()
        for r in fresh:
            r.state, r.processed_at = "processed", done
            log.debug("%s: %s processed (%.2f s after complete)", r.group, r.name, done - (r.complete_at or done))
        self.write_summary()
        if fresh:
            self.last_sample = max(fresh, key=lambda r: r.complete_at or 0).group
        return changed

    def _update_sample(self, name: str) -> bool:
        """Recompute the sample's live curve; False while it has no frames (or no usable curve)."""
        live = self._live()
        if not live.n_frames(name):
            return False
        st = self.samples.setdefault(name, LiveSample(name))
        blank = self._blank(name)
        try:
            sub = live.subtracted(name)
        except ValueError as exc:  # e.g. q grids differ: the batch run reports it too
            log.error("%s: live curve not updated: %s", name, exc)
            return False
        st.frames = frozenset(live.items[name])
        st.blank_frames = frozenset(live.items[blank])
        st.n_frames = len(st.frames)
        if sub is None:
            return False
        st.curve, st.updated_at = sub.curve, time.time()
        st.rejected = tuple(r.name for r in live.result(name).frames if r.rejected)
        self._write_curve(st)
        return True

    def _write_curve(self, st: LiveSample) -> None:
        from saxs_mc.io.atomic import jsonable, write_json_atomic

        c = st.curve
        doc = {
            "sample": st.name,
            "q_nm": c.q,
            "intensity": c.intensity,
            "sigma": c.sigma,
            "intensity_unit": c.intensity_unit,
            "n_frames": st.n_frames,
            "rejected_frames": list(st.rejected),
            "updated": st.updated_at,
        }
        write_json_atomic(self.cfg.output.dir / "live" / f"{st.name}_curve.json", jsonable(doc))

    def _collect_rejections(self) -> None:
        """The live reduction's current rejections (a frame rejected earlier may be kept now)."""
        current: dict[str, str] = {}
        live = self._live()
        for group in live.items:
            try:
                res = live.result(group)
            except ValueError:
                continue
            for fr in [] if res is None else res.frames:
                if fr.rejected:
                    current[fr.file if fr.index is None else fr.name] = fr.reason or "rejected"
                    if (fr.file if fr.index is None else fr.name) not in self.pipeline_rejected:
                        log.warning("%s: frame %s rejected by the reduction: %s", group, fr.file, fr.reason)
        self.pipeline_rejected = current

    # ------------------------------------------------------------------ fits
    def fits_due(self, now: float) -> list[str]:
        """Samples to re-fit now (rule in :mod:`saxs_mc.watch.refit`); at most one fit per sample in flight."""
        from .refit import curve_change

        due = []
        for name, st in self.samples.items():
            if st.curve is None or st.future is not None:
                continue
            if st.fit_of is None:
                st.fit_reason = "first curve"
                due.append(name)
                continue
            curve, frames, blank_frames = st.fit_of
            if (frames, blank_frames) == (st.frames, st.blank_frames):
                continue
            every = self.settings.refit_every_s
            if every is not None and st.fit_started is not None and now - st.fit_started >= every:
                st.fit_reason = f"interval {every:g} s"
                due.append(name)
                continue
            if curve.q.shape != st.curve.q.shape:
                st.fit_reason = "q grid changed"
                due.append(name)
                continue
            nested = frames <= st.frames and blank_frames == st.blank_frames
            ch = curve_change(
                st.curve.q,
                (st.curve.intensity, st.curve.sigma),
                (curve.intensity, curve.sigma),
                nested=nested,
                q_range_nm=self.live.fit_settings[name]["q_range_nm"],
                k=self.settings.refit_k,
            )
            st.last_change = ch.summary()
            if ch.changed:
                st.fit_reason = f"curve changed: chi2 {ch.chi2:.2f} > {ch.threshold:.2f} (n={ch.n})"
                due.append(name)
        return due

    def start_fit(self, name: str, submit: Any) -> None:
        """Send the sample's current curve to a fit worker (``submit(fn, *args)`` returns a future)."""
        from .worker import fit_task

        live, st = self._live(), self.samples[name]
        sub = live.subtracted(name)
        peaks = live.peaks_settings.get(name)
        st.fit_of = (st.curve, st.frames, st.blank_frames)
        st.fit_started = time.time()
        st.future = submit(fit_task, name, sub.curve, sub.blank.curve, sub.blank_scale, live.fit_settings[name], peaks)
        log.debug("%s: fit started (%s)", name, st.fit_reason)

    def collect_fits(self) -> list[str]:
        """Take the finished fits into the live state and ``summary.json``; the samples updated."""
        done = []
        for name, st in self.samples.items():
            fut = st.future
            if fut is None or not fut.done():
                continue
            st.future = None
            try:
                st.fit = fut.result()
            except Exception as exc:  # a fit that fails does not stop the watch; the batch sync reports it
                log.error("%s: live fit failed: %s: %s", name, type(exc).__name__, exc)
                continue
            assert st.fit_of is not None
            st.fitted_frames, st.fitted_at, st.n_fits = st.fit_of[1], time.time(), st.n_fits + 1
            done.append(name)
        if done:
            self.version += 1
            self.write_summary()
            for name in done:
                fit = self.samples[name].fit or {}
                log.debug("%s: live fit done (chi2_r %.2f, %.1f s)", name, fit.get("chi2_r"), fit.get("fit_s"))
        return done

    # ------------------------------------------------------------------ sync (exact batch pipeline)
    def complete_keys(self) -> dict[str, frozenset]:
        """Group -> keys of its complete frames."""
        out: dict[str, set] = {}
        for r in self.frames.values():
            if r.state in ("complete", "processed"):
                out.setdefault(r.group, set()).add(_rec_key(r))
        return {g: frozenset(k) for g, k in out.items()}

    def _blank(self, sample: str) -> str:
        return self.cfg.blank_for(next(s for s in self.cfg.samples if s.name == sample)).name

    def sync_due(self, now: float) -> bool:
        """The exact pipeline is due: frames changed since the last sync, and quiet or overdue."""
        if self.sync_future is not None or now < self.sync_retry_at or self.complete_keys() == self.synced_keys:
            return False
        if self.live_config() is None:
            return False
        st = self.settings
        quiet = time.monotonic() - self.last_activity >= st.sync_idle_s
        overdue = st.sync_every_s is not None and now - self.last_sync_at >= st.sync_every_s
        return quiet or overdue

    def start_sync(self, submit: Any) -> None:
        from .worker import sync_task

        cfg = self.live_config()
        self.sync_keys = self.complete_keys()
        self.sync_started = time.time()
        self.sync_future = submit(sync_task, cfg, 1)
        log.debug("sync started: the batch pipeline on %d frame(s)", sum(map(len, self.sync_keys.values())))

    def collect_sync(self) -> dict[str, Any] | None:
        """Take a finished sync into the state; its account (None while running)."""
        fut = self.sync_future
        if fut is None or not fut.done():
            return None
        self.sync_future = None
        self.last_sync_at = time.time()
        try:
            res = fut.result()
        except Exception as exc:
            log.error(
                "batch pipeline (sync) failed: %s: %s; trying again in %g s",
                type(exc).__name__,
                exc,
                self.settings.status_every_s,
            )
            self.sync_retry_at = time.time() + self.settings.status_every_s
            return {"error": str(exc)}
        if "locked" in res:
            log.warning("%s; trying again in %g s", res["locked"], self.settings.status_every_s)
            self.sync_retry_at = time.time() + self.settings.status_every_s
            return res
        if res.get("interrupted"):
            return res
        self.runs += 1
        self.synced_keys = self.sync_keys
        for msg in res["failed"]:
            log.error("%s", msg)
        self.base_doc = _read_json(self.cfg.output.dir / "summary.json")
        log.debug("sync %d done in %.1f s: %s", self.runs, res["elapsed_s"], res["counts"])
        self._stamp(self.sync_keys, self.sync_keys)  # the batch summary has their curves and fits
        self.write_summary()
        return res

    def _stamp(self, curves: dict[str, frozenset], fits: dict[str, frozenset]) -> None:
        """Record when each frame's curve / fit first reached ``summary.json`` (latencies in status.json)."""
        now = time.time()
        for r in self.frames.values():
            k = _rec_key(r)
            if r.summary_at is None and r.state == "processed" and k in curves.get(r.group, ()):
                r.summary_at = now
            if r.fitted_at is None and k in fits.get(r.group, ()):
                r.fitted_at = now

    # ------------------------------------------------------------------ summary.json
    def write_summary(self) -> None:
        """``summary.json`` = the last batch document + a ``live`` part for samples ahead of it.

        Left alone while a sync runs (the batch pipeline writes it then); when every sample is
        covered by the last sync, the batch document stays exactly as ``run`` wrote it.
        """
        if self.sync_future is not None:
            return
        ahead = {
            n: st
            for n, st in self.samples.items()
            if (st.frames, st.blank_frames) != (self.synced_keys.get(n), self.synced_keys.get(self._blank(n)))
        }
        if not ahead:
            return
        from saxs_mc.io.atomic import jsonable, write_json_atomic

        doc = dict(self.base_doc) if isinstance(self.base_doc, dict) else {"pipeline": self.cfg.name, "samples": []}
        doc["live"] = {
            "updated": time.time(),
            "note": "live results of saxs-mc watch for samples with frames "
            "newer than the batch results above; replaced by the batch results when it syncs",
            "counts": self.counts(),
            "samples": {n: st.summary() for n, st in ahead.items()},
        }
        write_json_atomic(self.cfg.output.dir / "summary.json", jsonable(doc))
        curves: dict[str, set] = {}
        fits: dict[str, set] = {}
        for n, st in ahead.items():
            b = self._blank(n)
            curves.setdefault(n, set()).update(st.frames)
            curves.setdefault(b, set()).update(st.blank_frames)
            if st.fit is not None and st.fit_of is not None:
                fits.setdefault(n, set()).update(st.fitted_frames)
                fits.setdefault(b, set()).update(st.fit_of[2])
        self._stamp(curves, fits)  # type: ignore[arg-type]

    # ------------------------------------------------------------------ status
    def counts(self) -> dict[str, Any]:
        recs = list(self.frames.values())
        waiting = [r for r in recs if r.state == "complete"]
        newest = max((r.complete_at for r in waiting if r.complete_at), default=None)
        oldest = min((r.complete_at for r in waiting if r.complete_at), default=None)
        return {
            "seen": len(recs),
            "complete": sum(r.state in ("complete", "processed") for r in recs),
            "processed": sum(r.state == "processed" for r in recs),
            "rejected": sum(r.state == "rejected" for r in recs) + len(self.pipeline_rejected),
            "pending": sum(r.state == "pending" for r in recs),
            "waiting": len(waiting),
            "lag_s": 0.0 if oldest is None else round(time.time() - oldest, 3),
            "newest_waiting_at": newest,
            "runs": self.runs,
            "syncing": self.sync_future is not None,
            "fits": sum(st.n_fits for st in self.samples.values()),
            "fitting": sum(st.future is not None for st in self.samples.values()),
        }

    def status_line(self) -> str:
        c = self.counts()
        return (
            f"frames seen {c['seen']}, processed {c['processed']}, rejected {c['rejected']}, "
            f"being written {c['pending']}, waiting {c['waiting']}; lag {c['lag_s']:.1f} s; "
            f"{c['fits']} live fits ({c['fitting']} running); {c['runs']} batch syncs"
            + (" (syncing)" if c["syncing"] else "")
        )

    def status(self) -> dict[str, Any]:
        """JSON-safe state: counts, every frame, every rejection with its reason."""
        rejected = [
            {"file": r.name, "reason": r.reason, "by": "watch"} for r in self.frames.values() if r.state == "rejected"
        ]
        rejected += [{"file": f, "reason": why, "by": "reduction"} for f, why in self.pipeline_rejected.items()]
        return {
            "counts": self.counts(),
            "updated": time.time(),
            "config": str(self.cfg.source),
            "frames": [r.summary() for r in sorted(self.frames.values(), key=lambda r: r.first_seen)],
            "samples": {n: st.summary() for n, st in self.samples.items()},
            "rejected": rejected,
        }
