"""Shared fixtures of the live-mode tests: a reduced config (2 samples + 1 blank, small fits)."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "sample_data" / "cdse_series"
CONDITIONS = ("blank_230C", "nuc190C", "nuc260C")  # nuc260C holds the gas-bubble frame 00002


def small_config(path: Path, frames_root: Path, out: Path) -> Path:
    """Write a reduced pipeline config reading ``frames_root/<cond>/*.edf`` into ``out``."""
    path.write_text(f"""schema_version = 1
name = "watch_test"
[geometry]
poni = "{REPO / "calibration" / "id02_sim.poni"}"
mask = "{REPO / "calibration" / "id02_sim_mask.edf"}"
[normalization]
calibration_factor = 1.0
[reduction]
npt = 150
q_unit = "1/nm"
error_model = "poisson"
reject_mad_threshold = 5.0
bad_frames = "reject"
[blank_matching]
by = "temperature"
tolerance_C = 0.5
[fit]
contributions = 60
repetitions = 2
seed = 5
q_range_nm = [0.3, 7.0]
r_range_nm = [0.45, 4.0]
contrast_1e6_A2 = 34.65
bins = 20
[peaks]
q_range_nm = [1.0, 5.0]
[output]
dir = "{out}"
[execution]
n_workers = 1
[[samples]]
name = "nuc190C"
frames = "{frames_root}/nuc190C/nuc190C_*.edf"
nucleation_temperature_C = 190
growth_temperature_C = 230
[[samples]]
name = "nuc260C"
frames = "{frames_root}/nuc260C/nuc260C_*.edf"
nucleation_temperature_C = 260
growth_temperature_C = 230
[[blanks]]
name = "blank_230C"
frames = "{frames_root}/blank_230C/blank_230C_*.edf"
temperature_C = 230
""")
    return path


@pytest.fixture
def live_setup(tmp_path: Path) -> tuple[Path, Path, Path]:
    """(config, frames folder (empty), output folder)."""
    if not DATA.is_dir():
        pytest.skip(f"shipped series {DATA} is absent")
    frames, out = tmp_path / "frames", tmp_path / "out"
    frames.mkdir()
    return small_config(tmp_path / "live.toml", frames, out), frames, out
