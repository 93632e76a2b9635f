"""Settings of a watch session, each declared once with its default and check (light: the CLI imports it)."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class WatchSettings:
    """Timing of a watch session (seconds)."""

    poll_s: float = 0.5
    debounce_s: float = 0.5
    corrupt_timeout_s: float = 10.0
    status_every_s: float = 5.0
    idle_exit_s: float | None = None
    n_workers: int = 1

    def __post_init__(self) -> None:
        for k in ("poll_s", "debounce_s", "corrupt_timeout_s", "status_every_s"):
            if not getattr(self, k) > 0:
                raise ValueError(f"{k}={getattr(self, k)} must be > 0")
        if self.n_workers < 0:
            raise ValueError(f"--workers={self.n_workers}: use 1 (in this process), N > 1 processes, 0 all cores")
        if self.idle_exit_s is not None and not self.idle_exit_s > 0:
            raise ValueError(f"idle_exit_s={self.idle_exit_s} must be > 0 (or None to watch until stopped)")
