"""The real pipeline (pyFAI reduction, MC fits, peaks) on part of the shipped sample series.

Checks against the simulation truth (sample_data/cdse_series/README.md): magic-size families at
190 C (r = 0.87 nm), 200 C (0.94 nm) and 240 C (1.02 nm), continuous growth from 250 C, the gas-bubble
frame of nuc260C rejected; serial and dask (LocalCluster, 2 worker processes) give identical tables.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from saxs_mc.cli import main
from saxs_mc.pipeline.config import load_config
from saxs_mc.pipeline.run import run_pipeline

from .fakes import CDSE_POPULATIONS_TOML

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "sample_data" / "cdse_series"
CAL = REPO / "calibration"

pytestmark = pytest.mark.skipif(
    not (DATA / "nuc190C").is_dir() or not (CAL / "id02_sim.poni").is_file(), reason="shipped sample series not present"
)

TEMPS = (190, 200, 230, 240, 250, 260)


def write_config(folder: Path, temps=TEMPS, blanks=(230, 25, 100), figures: bool = True) -> Path:
    lines = [
        "schema_version = 1",
        'name = "cdse_subset"',
        "[geometry]",
        f'poni = "{CAL / "id02_sim.poni"}"',
        f'mask = "{CAL / "id02_sim_mask.edf"}"',
        "[reduction]",
        "npt = 300",
        "[fit]",
        "contributions = 300",
        "repetitions = 10",
        "seed = 20201122",
        "q_range_nm = [0.3, 7.0]",
        "r_range_nm = [0.4, 4.0]",
        "bins = 60",
        CDSE_POPULATIONS_TOML,
        "[peaks]",
        "q_range_nm = [1.0, 5.0]",
        "samples = false",
        "[families]",
        "continuous = true",
        "[output]",
        'dir = "out"',
        f"figures = {'true' if figures else 'false'}",
        "[execution]",
        "n_workers = 1",
    ]
    for t in temps:
        lines += [
            "[[samples]]",
            f'name = "nuc{t}C"',
            f'frames = "{DATA}/nuc{t}C/*.edf"',
            f"nucleation_temperature_C = {t}",
            "growth_temperature_C = 230",
            "reaction_time_s = 1.5",
            f'spectrum = "{DATA}/spectra/nuc{t}C.csv"',
        ]
    for t in blanks:
        lines += [
            "[[blanks]]",
            f'name = "blank_{t:03d}C"',
            f'frames = "{DATA}/blank_{t:03d}C/*.edf"',
            f"temperature_C = {t}",
        ]
    folder.mkdir(parents=True, exist_ok=True)
    p = folder / "subset.toml"
    p.write_text("\n".join(lines) + "\n")
    return p


def table(root: Path) -> dict:
    d = json.loads((root / "summary.json").read_text())
    return {k: d[k] for k in ("samples", "blanks", "readout", "mesophase", "failures")}


@pytest.fixture(scope="module")
def serial_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("serial")
    cfg = write_config(folder)
    res = run_pipeline(load_config(cfg), n_workers=1)
    return cfg, res


def test_series_readout_matches_truth(serial_run):
    cfg, res = serial_run
    assert res.ok, res.report()
    t = table(res.root)
    rows = {r["sample"]: r for r in t["samples"]}
    truth_mode = {"nuc190C": 0.87, "nuc200C": 0.94}
    for name, r0 in truth_mode.items():
        assert abs(rows[name]["dominant_radius_nm"] - r0) < 0.02, rows[name]
        assert rows[name]["growth"] == "quantized"
    assert rows["nuc240C"]["family"] == "MSC r=1.02 nm"  # 75 % of the volume at 1.02 nm
    # families named by absorption peak; Yu-equivalent wavelength of the dominant SAXS diameter
    assert [rows[n]["family_label"] for n in ("nuc190C", "nuc200C", "nuc240C")] == ["CdSe-403", "CdSe-437", "CdSe-465"]
    from saxs_mc.models.optical import yu_diameter_nm

    for r in rows.values():
        assert abs(yu_diameter_nm(r["yu_absorption_nm"]) - 2 * r["dominant_radius_nm"]) < 1e-6
    assert 415 < rows["nuc190C"]["yu_absorption_nm"] < 430  # SAXS d = 1.75 nm; optically CdSe-403 is 1.58 nm
    fams = {f["label"]: f for f in json.loads((res.root / "summary.json").read_text())["families"]}
    assert abs(fams["CdSe-437"]["optical_diameter_nm"] - 1.85) < 0.01 and fams["CdSe-437"]["saxs_diameter_nm"] == 1.88
    # absolute total volume fractions (1/cm data, contrast 34.65e-6 A^-2) vs the truth
    truth_phi = {
        "nuc190C": 2.0e-4,
        "nuc200C": 3.0e-4,
        "nuc230C": 5.0e-4,
        "nuc240C": 6.0e-4,
        "nuc250C": 6.0e-4,
        "nuc260C": 7.0e-4,
    }
    for name, phi in truth_phi.items():
        assert rows[name]["volume_fraction_kind"] == "absolute"
        assert abs(rows[name]["total_volume_fraction"] / phi - 1) < 0.15, (name, rows[name]["total_volume_fraction"])
    # lognormal (median 1.15 nm, sigma 0.12): volume-weighted mode 1.15 exp(-0.12^2) = 1.134 nm
    assert abs(rows["nuc250C"]["dominant_radius_nm"] - 1.134) < 0.05
    assert rows["nuc250C"]["growth"] == rows["nuc260C"]["growth"] == "continuous"
    assert t["readout"]["continuous_from_C"] == 250 and t["readout"]["last_quantized_C"] == 240
    assert [(j["from_radius_nm"], j["to_radius_nm"]) for j in t["readout"]["jumps"]] == [(0.87, 0.94), (0.94, 1.02)]
    # 230 C: 70 % at 0.94 nm + 30 % at 1.02 nm (truth) -> quantized on 0.94 nm with a shoulder at 1.02 nm
    states = {s["name"]: s for s in t["readout"]["samples"]}
    assert states["nuc230C"]["family"] == "MSC r=0.94 nm" and states["nuc230C"]["shoulders"] == ["MSC r=1.02 nm"]
    assert states["nuc200C"]["shoulders"] == []
    # family decomposition vs the truth (shares of the resolved volume), and the read-out made from it
    truth_share = {
        "nuc190C": {"CdSe-403": 1.0},
        "nuc200C": {"CdSe-437": 1.0},
        "nuc230C": {"CdSe-437": 0.7, "CdSe-465": 0.3},
        "nuc240C": {"CdSe-437": 0.25, "CdSe-465": 0.75},
    }
    for name, tr in truth_share.items():
        assert rows[name]["readout_basis"] == "decomposition"
        for fam in ("CdSe-403", "CdSe-437", "CdSe-465"):
            share, sd = rows[name][f"family_share[{fam}]"], rows[name][f"family_share_std[{fam}]"]
            assert abs(share - tr.get(fam, 0.0)) < 0.05, (name, fam, share)
            if fam not in tr:  # absent: 0 with an upper limit
                assert rows[name][f"family_status[{fam}]"] == "absent" and rows[name][f"family_share_upper[{fam}]"] > 0
            elif 0 < tr[fam] < 1:
                assert abs(share - tr[fam]) < 3 * sd + 0.01
    assert states["nuc240C"]["family_label"] == "CdSe-465" and states["nuc240C"]["shoulder_labels"] == ["CdSe-437"]
    assert rows["nuc250C"]["continuous_share"] > 0.9 and rows["nuc260C"]["continuous_share"] > 0.9
    # absorption spectra: the same families, Yu diameters of the study (437 -> 1.85, 465 -> 2.06 nm)
    assert rows["nuc240C"]["optical_families"] == ["CdSe-465", "CdSe-437"]
    assert abs(rows["nuc240C"]["optical_yu_diameter_nm"] - 2.06) < 0.02
    assert rows["nuc190C"]["optical_families"] == ["CdSe-403"] and rows["nuc250C"]["optical_families"] == []
    assert all(0.25 < rows[n]["resolvable_radius_nm"] < 0.5 for n in rows)  # x_c / q_info, q_info 4-7 1/nm
    # the gas-bubble frame (and only it) is rejected
    assert rows["nuc260C"]["rejected_frames"] == ["nuc260C_00002.edf"] or [
        Path(x).name for x in rows["nuc260C"]["rejected_frames"]
    ] == ["nuc260C_00002.edf"]
    assert all(rows[n]["n_rejected"] == 0 for n in rows if n != "nuc260C")
    for r in rows.values():
        assert 0.7 < r["chi2_r"] < 1.5
    # precursor mesophase (truth: lamellar, peaks 1.84 and 3.69 1/nm, d = 3.41 nm at 25 C; molten at 100 C)
    blanks = {b["blank"]: b for b in t["blanks"]}
    assert blanks["blank_025C"]["phase"] == "lamellar" and abs(blanks["blank_025C"]["lattice_nm"] - 3.41) < 0.02
    assert [round(q, 2) for q in blanks["blank_025C"]["peaks_q_nm"]] == [1.84, 3.69]
    assert blanks["blank_100C"]["peaks_q_nm"] == [] and blanks["blank_230C"]["peaks_q_nm"] == []
    assert 25 < t["mesophase"]["melting_temperature_C"] < 100
    html = res.report_path.read_text()
    assert "continuous growth from 250 C" in html and "samples/nuc190C.html" in html
    assert "quantized growth on CdSe-403 (r = 0.87 nm) at 190 C" in html and "230 C: shoulder at CdSe-465" in html
    # distributions, curves + fits, blanks, family shares vs temperature, temperature-radius map, trends
    assert html.count("data:image/png;base64,") == 6
    assert "Family fractions vs nucleation temperature" in html
    assert "data:image/png;base64," in (res.root / "samples" / "nuc230C.html").read_text()
    assert (res.root / "samples" / "nuc260C.html").is_file()
    csv_lines = (res.root / "summary.csv").read_text().splitlines()
    assert len(csv_lines) == 1 + len(TEMPS) + 3 and csv_lines[0].startswith("kind,name,nucleation_temperature_C")
    assert (res.root / "blanks" / "blank_025C.html").is_file() and 'href="blanks/blank_025C.html"' in html


def test_dask_cluster_gives_identical_results(serial_run, tmp_path):
    distributed = pytest.importorskip("distributed")
    _, ref = serial_run
    cfg = write_config(tmp_path, figures=False)
    with (
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cl,
        distributed.Client(cl) as client,
    ):
        res = run_pipeline(load_config(cfg), scheduler=client)
    assert res.ok and res.executor == "dask"
    assert table(res.root) == table(ref.root)


DRIVER = """
import sys
from saxs_mc.pipeline.config import load_config
from saxs_mc.pipeline.run import run_pipeline
from saxs_mc.pipeline.steps import warm_fit_kernels
from saxs_mc.fit import _kernels

if __name__ == "__main__":
    warm_fit_kernels()  # the fit kernels are now JIT-compiled in this (driver) process, none came from the cache
    assert not any(_kernels.mc_repetitions.stats.cache_hits.values())
    res = run_pipeline(load_config(sys.argv[1]), n_workers=1)
    sys.exit(0 if res.ok and res.executor == "serial" else 1)
"""


def test_serial_run_does_not_depend_on_kernels_compiled_in_the_driver(serial_run, tmp_path):
    """Regression (flaky dask-vs-serial CI failure): with fastmath reassociation a fit kernel JIT-compiled in a
    process rounded differently from the same kernel loaded from numba's on-disk cache (nuc260C's chi2 differed
    in the 12th digit).  Without ``reassoc`` (saxs_mc._numba) the serial executor runs the steps in the driver.

    The driver here compiles the kernels itself first (empty numba cache dir), as a pytest worker that ran the
    fit tests first did, then runs every step in-process; its results must equal the reference run's.
    """
    import subprocess
    import sys

    _, ref = serial_run
    cfg = write_config(tmp_path, figures=False)
    script = tmp_path / "driver.py"
    script.write_text(DRIVER)
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba_cache"), "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, str(script), str(cfg)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert list((tmp_path / "numba_cache").rglob("*.nbi"))  # the steps used this (new) cache
    out = tmp_path / "out"
    assert table(out) == table(ref.root)
    pids = {json.loads(p.read_text())["pid"] for p in out.glob("steps/fit/*/manifest.json")}
    assert len(pids) == 1  # one process (the driver, serial) ran every fit with its own compiled kernels


def test_cli_prints_report_path_and_reuses_cache(tmp_path, capsys):
    cfg = write_config(tmp_path, temps=(190, 250))
    out = tmp_path / "out"
    assert main(["run", str(cfg), "--no-progress"]) == 0
    first = capsys.readouterr().out.strip().splitlines()
    assert first[-1] == str(out / "report.html") and os.path.isfile(first[-1])
    # a re-run finds everything cached (dry run lists it), and still prints the report path last
    assert main(["run", str(cfg), "--dry-run"]) == 0
    listing = capsys.readouterr().out
    assert listing.rstrip().endswith("# 0 would run, 17 cached")  # 13 + families and optical of the 2 samples
    assert main(["run", str(cfg), "--no-progress"]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == str(out / "report.html")
    assert table(out)["readout"]["continuous_from_C"] == 250


def test_water_calibration_step_recovers_absolute_scale(tmp_path):
    """Simulated data are in 1/cm already: water (0.0163 1/cm) minus empty cell must give a factor of 1."""
    cfg = write_config(tmp_path, temps=(190,), blanks=(230,))
    text = cfg.read_text().replace(
        "[reduction]",
        "[normalization.water]\n"
        f'frames = "{DATA}/water/*.edf"\n'
        f'empty_cell_frames = "{DATA}/empty_cell/*.edf"\n[reduction]',
    )
    cfg.write_text(text)
    res = run_pipeline(load_config(cfg), n_workers=1)
    assert res.ok
    cal = res.outcomes["calibrate/water"].result
    assert abs(cal["factor"] - 1.0) < max(4 * cal["factor_sigma"], 0.005)
    assert "absolute scale from water" in res.report_path.read_text()
    # the calibration is upstream of every reduction: a changed water frame redoes them
    st = run_pipeline(load_config(cfg), dry_run=True).outcomes
    assert {o.status for o in st.values()} == {"cached"}


def test_hdf5_stack_source_gives_the_same_curve_as_edf_frames(tmp_path):
    cfg = write_config(tmp_path, temps=(230,), blanks=(230,))
    stack = f"{DATA}/eiger/nuc230C.h5::/entry/instrument/detector/data"
    cfg.write_text(
        cfg.read_text()
        + "\n".join(
            [
                "[[samples]]",
                'name = "nuc230C_eiger"',
                f'frames = "{stack}"',
                "nucleation_temperature_C = 230.5",
                "growth_temperature_C = 230",
            ]
        )
        + "\n"
    )
    c = load_config(cfg)
    assert c.samples[1].sources == (stack,)
    res = run_pipeline(c, n_workers=1, make_report=False)
    assert res.ok
    from saxs_mc.io.curves import read_curve

    a = read_curve(res.root / res.outcomes["subtract/nuc230C"].result["outputs"]["curve"])
    b = read_curve(res.root / res.outcomes["subtract/nuc230C_eiger"].result["outputs"]["curve"])
    assert a.n_q == b.n_q and abs(a.intensity - b.intensity).max() <= 1e-9 * abs(a.intensity).max()
    # a wrong dataset path is a config error, before any work
    cfg.write_text(cfg.read_text().replace("/entry/instrument/detector/data", "/entry/data/nope"))
    from saxs_mc.pipeline.config import ConfigError

    with pytest.raises(ConfigError, match=r"samples\[1\]\.frames: .* has no 2D/3D dataset '/entry/data/nope'"):
        load_config(cfg)


def test_real_pipeline_killed_and_resumed_gives_identical_table(serial_run, tmp_path):
    import signal
    import subprocess
    import sys
    import time

    _, ref = serial_run
    cfg = write_config(tmp_path, figures=False)
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-m", "saxs_mc.cli", "run", str(cfg), "--workers", "2", "--no-progress"],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        t0 = time.time()
        while len(list(out.glob("steps/*/*/manifest.json"))) < 4 and proc.poll() is None and time.time() - t0 < 120:
            time.sleep(0.01)
        assert proc.poll() is None, "finished before the kill"
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
    n = len(list(out.glob("steps/*/*/manifest.json")))
    assert 4 <= n < len(ref.outcomes)  # killed mid-run
    res = run_pipeline(load_config(cfg), n_workers=1)
    assert res.ok and sum(o.status == "cached" for o in res.outcomes.values()) >= 4
    assert table(res.root) == table(ref.root)


def test_integrator_built_once_per_process_and_settings():
    import dataclasses

    from saxs_mc.pipeline import steps

    cfg = load_config(REPO / "pipelines" / "cdse_nucleation_series.toml")
    base = {
        "reduction": dataclasses.asdict(cfg.reduction),
        "header": cfg.header.as_dict(),
        "thickness_cm": None,
        "empty_cell_transmission": None,
    }
    s1 = steps.reduction_settings(base, 1.0)
    r1 = steps.get_reducer(str(cfg.geometry.poni), str(cfg.geometry.mask), s1)
    r2 = steps.get_reducer(str(cfg.geometry.poni), str(cfg.geometry.mask), steps.reduction_settings(base, 1.0))
    assert r1 is r2 and r1.integrator is r2.integrator
    r3 = steps.get_reducer(str(cfg.geometry.poni), str(cfg.geometry.mask), steps.reduction_settings(base, 2.0))
    assert r3 is not r1
