"""The watch session: find complete frames as they arrive and re-run the pipeline on them.

Design (the simplest one whose final ``summary.json`` is the batch result):
whenever the set of complete frames of a sample or blank changes, the batch
pipeline (:func:`saxs_mc.pipeline.run.run_pipeline`) is run on a copy of the
configuration holding exactly the complete frames, after ``debounce_s``
without further change.  Its content-hash cache skips every step whose
frames did not change, so only the changed sample is reduced, subtracted,
fitted and searched for peaks again, and the cache is the one ``run`` uses.

Re-fit rule: a sample is re-fitted each time its set of complete frames
changes (debounced); frames arriving while the pipeline runs are taken
together in the next run.  (A noise-based rule that skips re-fits is not
implemented: the fit step is part of the pipeline's cached chain.)
"""

from __future__ import annotations

import dataclasses
import glob
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

    def summary(self) -> dict[str, Any]:
        return {"file": str(self.path), "group": self.group, "state": self.state, "reason": self.reason or None,
                "first_seen": self.first_seen, "complete_at": self.complete_at, "processed_at": self.processed_at,
                "size": None if self.stat is None else self.stat[0], "handed_size": self.handed_size}


def _groups(cfg: PipelineConfig) -> dict[str, tuple[str, ...]]:
    """Sample/blank name -> its resolved glob patterns (file patterns only; HDF5 stacks are not followed)."""
    base = cfg.source.parent
    out: dict[str, tuple[str, ...]] = {}
    items: list[SampleConfig | BlankConfig] = [*cfg.blanks, *cfg.samples]
    for item in items:
        pats = []
        for pat in item.frames:
            if "::" in pat:
                raise ValueError(f"{cfg.source}: {item.name}: HDF5 stack {pat!r}: saxs-mc watch follows frame "
                                 f"files only so far; use saxs-mc run for HDF5 stacks")
            p = Path(pat).expanduser()
            pats.append(str(p if p.is_absolute() else base / p))
        out[item.name] = tuple(pats)
    return out


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
        self.frames: dict[Path, FrameRecord] = {}
        self.wake = threading.Event()
        self.stop = threading.Event()
        self.dirty_since: float | None = None
        self.last_activity = time.monotonic()
        self.runs = 0
        self.pipeline_rejected: dict[str, str] = {}
        self.last_result: Any = None
        self.last_sample: str | None = None
        self._said_empty: set[str] = set()
        table = cfg.reduction.monitor_table
        self.sidecar = SidecarTable(table, cfg.reduction.table_columns) if table else None
        self.table_changed_at = 0.0

    # ------------------------------------------------------------------ scanning
    def scan(self, now: float | None = None) -> bool:
        """Glob every pattern, update each file's state; True when a frame became complete."""
        now = time.time() if now is None else now
        changed = False
        if self.sidecar is not None and self.sidecar.refresh():
            self.table_changed_at = now
            for rec in self.frames.values():  # the table changed: frames rejected for lack of a row are examined again
                if rec.state == "rejected" and rec.table_wait:
                    rec.state, rec.reason = "pending", ""
        for group, pats in self.groups.items():
            found = sorted({Path(m) for pat in pats for m in glob.glob(pat, recursive=True)})
            found = [p for p in found if p.is_file()]
            self._say_empty(group, pats, found)
            present = set(found)
            for gone in [r for r in self.frames.values() if r.group == group and r.path not in present]:
                changed |= self._update(gone, now)
            for p in found:
                if p not in self.frames:
                    self.frames[p] = FrameRecord(p, group, now, None, now)
                    log.debug("%s: new file %s", group, p.name)
                changed |= self._update(self.frames[p], now)
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
            self._reject(rec, f"frame shape {c.shape} differs from the detector shape {self.shape} "
                              f"(mask {self.cfg.geometry.mask})")
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
    def complete_files(self, group: str) -> tuple[Path, ...]:
        return tuple(sorted(r.path for r in self.frames.values()
                            if r.group == group and r.state in ("complete", "processed")))

    def live_config(self) -> PipelineConfig | None:
        """A copy of the config holding only complete frames; samples wait for frames and their blank."""
        blanks = [dataclasses.replace(b, files=f, sources=tuple(str(p) for p in f))
                  for b in self.cfg.blanks if (f := self.complete_files(b.name))]
        have = {b.name for b in blanks}
        samples = []
        for s in self.cfg.samples:
            f = self.complete_files(s.name)
            if f and self.cfg.blank_for(s).name in have:
                samples.append(dataclasses.replace(s, files=f, sources=tuple(str(p) for p in f)))
        if not samples and not blanks:
            return None
        return dataclasses.replace(self.cfg, samples=tuple(samples), blanks=tuple(blanks))

    def process(self) -> Any:
        """Run the pipeline on the complete frames (cached steps skipped); mark the frames processed."""
        from saxs_mc.pipeline.run import run_pipeline

        cfg = self.live_config()
        if cfg is None:
            return None
        items: list[SampleConfig | BlankConfig] = [*cfg.samples, *cfg.blanks]
        handed = {p for it in items for p in it.files}
        fresh = [r for r in self.frames.values() if r.path in handed and r.state == "complete"]
        res = run_pipeline(cfg, n_workers=self.settings.n_workers)
        done = time.time()
        self.runs += 1
        self.last_result = res
        for r in fresh:
            r.state, r.processed_at = "processed", done
            log.debug("%s: %s processed (%.2f s after complete)", r.group, r.path.name, done - (r.complete_at or done))
        if fresh:
            self.last_sample = max(fresh, key=lambda r: r.complete_at or 0).group
        self._collect_rejections(res)
        for o in res.failed:
            log.error("%s %s: %s", o.id, o.status, o.error)
        return res

    def _collect_rejections(self, res: Any) -> None:
        """The reduction's current rejections (a frame rejected by an earlier update may be kept now)."""
        current: dict[str, str] = {}
        for o in res.outcomes.values():
            if o.kind != "reduce" or not o.result:
                continue
            for fr in o.result.get("frames", []):
                if fr.get("rejected"):
                    current[fr["file"]] = fr.get("reason") or "rejected"
                    if fr["file"] not in self.pipeline_rejected:
                        log.warning("%s: frame %s rejected by the reduction: %s", o.target, fr["file"],
                                    fr.get("reason"))
        self.pipeline_rejected = current

    # ------------------------------------------------------------------ status
    def counts(self) -> dict[str, Any]:
        recs = list(self.frames.values())
        waiting = [r for r in recs if r.state == "complete"]
        newest = max((r.complete_at for r in waiting if r.complete_at), default=None)
        oldest = min((r.complete_at for r in waiting if r.complete_at), default=None)
        return {
            "seen": len(recs), "complete": sum(r.state in ("complete", "processed") for r in recs),
            "processed": sum(r.state == "processed" for r in recs),
            "rejected": sum(r.state == "rejected" for r in recs) + len(self.pipeline_rejected),
            "pending": sum(r.state == "pending" for r in recs), "waiting": len(waiting),
            "lag_s": 0.0 if oldest is None else round(time.time() - oldest, 3),
            "newest_waiting_at": newest, "runs": self.runs,
        }

    def status_line(self) -> str:
        c = self.counts()
        return (f"frames seen {c['seen']}, processed {c['processed']}, rejected {c['rejected']}, "
                f"being written {c['pending']}, waiting {c['waiting']}; lag {c['lag_s']:.1f} s; "
                f"{c['runs']} pipeline updates")

    def status(self) -> dict[str, Any]:
        """JSON-safe state: counts, every frame, every rejection with its reason."""
        rejected = [{"file": str(r.path), "reason": r.reason, "by": "watch"}
                    for r in self.frames.values() if r.state == "rejected"]
        rejected += [{"file": f, "reason": why, "by": "reduction"} for f, why in self.pipeline_rejected.items()]
        return {"counts": self.counts(), "updated": time.time(), "config": str(self.cfg.source),
                "frames": [r.summary() for r in sorted(self.frames.values(), key=lambda r: r.first_seen)],
                "rejected": rejected}
