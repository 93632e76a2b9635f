"""Settings of a watch session, each declared once with its default and check (light: the CLI imports it)."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class WatchSettings:
    """Timing of a watch session (seconds)."""

    poll_s: float = 0.5
    debounce_s: float = 0.0  # wait this long after a frame completes before the curve update (batches frames)
    corrupt_timeout_s: float = 10.0
    status_every_s: float = 5.0
    idle_exit_s: float | None = None
    n_workers: int = 1  # fit worker processes
    refit_k: float = 3.0  # re-fit when the curve's change chi2 > 1 + k sqrt(2/n) (saxs_mc.watch.refit)
    refit_every_s: float | None = 60.0  # ... or when its frames changed and this long passed since its last fit
    sync_idle_s: float = 3.0  # run the exact batch pipeline after the frames were quiet this long
    sync_every_s: float | None = 300.0  # ... and at most this long apart during a continuous acquisition
    page_every_s: float = 1.0  # most often the live page is rewritten

    def __post_init__(self) -> None:
        if not self.debounce_s >= 0:
            raise ValueError(f"debounce_s={self.debounce_s} must be >= 0")
        for k in ("poll_s", "corrupt_timeout_s", "status_every_s", "sync_idle_s", "page_every_s"):
            if not getattr(self, k) > 0:
                raise ValueError(f"{k}={getattr(self, k)} must be > 0")
        if self.n_workers < 0:
            raise ValueError(f"--workers={self.n_workers}: fit worker processes; use N >= 1, or 0 for all cores")
        for k in ("refit_every_s", "sync_every_s"):
            if getattr(self, k) is not None and not getattr(self, k) > 0:
                raise ValueError(f"{k}={getattr(self, k)} must be > 0 (or None: never)")
        if not self.refit_k >= 0:
            raise ValueError(f"refit_k={self.refit_k} must be >= 0 (0: re-fit on every change)")
        if self.idle_exit_s is not None and not self.idle_exit_s > 0:
            raise ValueError(f"idle_exit_s={self.idle_exit_s} must be > 0 (or None to watch until stopped)")
