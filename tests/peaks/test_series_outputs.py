"""Temperature series, JSON/plot outputs and the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest

from saxs_mc.cli import main
from saxs_mc.io.curves import Curve, write_curve_ascii
from saxs_mc.peaks import find_peaks, mesophase_series, write_peak_outputs
from tests.peaks.simulated import noisy, precursor_background, pseudo_voigt, q_grid


def _blank(height, seed):
    q = q_grid(500)
    clean = precursor_background(q)
    if height > 0:
        clean = clean + pseudo_voigt(q, 1.84, 0.06, height) + pseudo_voigt(q, 3.69, 0.09, 0.3 * height)
    i, s = noisy(q, clean, seed=seed)
    return q, i, s


def test_mesophase_series_melting_bracket():
    temps = [100.0, 25.0, 50.0]  # unsorted on purpose
    heights = {25.0: 0.4, 50.0: 0.15, 100.0: 0.0}
    res = [find_peaks(*_blank(heights[t], seed=int(t))) for t in temps]
    ms = mesophase_series(temps, res)
    np.testing.assert_array_equal(ms.temperatures_C, [25.0, 50.0, 100.0])
    assert list(ms.n_peaks[:2] > 0) == [True, True] and ms.n_peaks[2] == 0
    assert ms.total_area[0] > ms.total_area[1] > 0 == ms.total_area[2]
    assert abs(ms.first_peak_q_nm[0] - 1.84) < 0.01
    assert ms.melting_bracket_C == (50.0, 100.0)
    assert 50.0 <= ms.melting_temperature_C <= 100.0
    json.dumps(ms.summary(), allow_nan=False)
    with pytest.raises(ValueError, match="one per temperature"):
        mesophase_series([25.0], res)


def test_write_outputs_and_cli(tmp_path):
    q, i, s = _blank(0.4, seed=11)
    pk = find_peaks(q, i, s, title="blank_025C")
    out = write_peak_outputs(tmp_path, "blank_025C", pk)
    doc = json.loads(out["json"].read_text())
    assert out["plot"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [round(p["q_nm^-1"], 2) for p in doc["peaks"]] == [1.84, 3.69]
    for key in ("q_err", "fwhm", "d_nm", "area", "significance"):
        assert all(p[key] is not None for p in doc["peaks"])
    assert doc["phase"]["name"] == "lamellar" and abs(doc["phase"]["lattice_parameter_nm"] - 3.41) < 0.02
    assert "versions" in doc["provenance"]

    src = write_curve_ascii(tmp_path / "blank.dat", Curve(q, i, s, "1/cm", "blank"))
    assert main(["peaks", str(src), "-o", str(tmp_path / "cli"), "--q-range", "1", "5", "--profile", "gaussian"]) == 0
    doc2 = json.loads((tmp_path / "cli" / "blank_peaks.json").read_text())
    assert doc2["phase"]["name"] == "lamellar" and doc2["settings"]["profile"] == "gaussian"
    assert main(["peaks", str(src), "-o", str(tmp_path / "bad"), "--q-range", "10", "20"]) == 2
    assert not (tmp_path / "bad" / "blank_peaks.json").exists()


def test_cli_reads_nxcansas_and_series_edge_cases(tmp_path):
    from saxs_mc.io.nxcansas import write_nxcansas

    q, i, s = _blank(0.4, seed=12)
    src = tmp_path / "blank_025C.h5"
    write_nxcansas(src, Curve(q, i, s, "1/cm", "blank_025C"))
    assert main(["peaks", str(src), "-o", str(tmp_path / "o"), "--min-significance", "6", "--no-plot"]) == 0
    doc = json.loads((tmp_path / "o" / "blank_025C_peaks.json").read_text())
    assert doc["title"] == "blank_025C" and doc["settings"]["min_significance"] == 6.0
    assert not (tmp_path / "o" / "blank_025C_peaks.png").exists()

    on = find_peaks(q, i, s)
    off = find_peaks(*_blank(0.0, seed=13))
    persist = mesophase_series([25.0, 50.0], [on, on])
    assert np.isnan(persist.melting_temperature_C) and "persist" in persist.melting_method
    never = mesophase_series([25.0, 50.0], [off, off])
    assert np.isnan(never.melting_temperature_C) and "no significant" in never.melting_method
    mid = mesophase_series([25.0, 60.0], [on, off])
    assert mid.melting_bracket_C == (25.0, 60.0) and mid.melting_temperature_C == 42.5
