"""`saxs-mc simulate` writes frames + truth from a JSON condition list and rejects bad input."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import fabio
import numpy as np
import pytest

from saxs_mc.simulate import cli
from saxs_mc.simulate.geometry import write_calibration


def _parser():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="command")
    cli.register(sub)
    return p


def test_cli_conditions_json(tmp_path, capsys):
    poni, mask = write_calibration(tmp_path / "cal")
    conds = [
        {
            "name": "mono",
            "kind": "sample",
            "n_frames": 2,
            "temperature_C": 230.0,
            "distributions": [{"kind": "monodisperse", "radius_nm": 1.0, "volume_fraction": 5e-4}],
            "gas_bubbles": [{"frame": 1, "gas_fraction": 0.4}],
        },
        {"name": "blank", "kind": "blank", "n_frames": 1, "temperature_C": 25.0},
    ]
    spec = tmp_path / "conds.json"
    spec.write_text(json.dumps(conds))
    out = tmp_path / "out"
    args = _parser().parse_args(
        [
            "simulate",
            "--conditions",
            str(spec),
            "--poni",
            str(poni),
            "--mask",
            str(mask),
            "-o",
            str(out),
            "--seed",
            "9",
            "--nexus",
            "mono",
        ]
    )
    assert args.func(args) == 0
    truth_path = capsys.readouterr().out.strip()
    truth = json.loads(Path(truth_path).read_text())
    assert truth["seed"] == 9 and truth["faulty_frames"] == ["mono/mono_00001.edf"]
    assert truth["conditions"]["blank"]["peaks"][0]["q_nm"] == 1.84
    img = fabio.open(str(out / "mono" / "mono_00000.edf"))
    assert img.header["Condition"] == "mono" and img.data.shape == (320, 288)
    assert (out / "eiger" / "mono.h5").is_file()
    # same seed again -> identical frames
    args2 = _parser().parse_args(
        [
            "simulate",
            "--conditions",
            str(spec),
            "--poni",
            str(poni),
            "--mask",
            str(mask),
            "-o",
            str(tmp_path / "again"),
            "--seed",
            "9",
        ]
    )
    assert args2.func(args2) == 0
    np.testing.assert_array_equal(
        fabio.open(str(tmp_path / "again" / "mono" / "mono_00001.edf")).data,
        fabio.open(str(out / "mono" / "mono_00001.edf")).data,
    )


def test_cli_bad_input(tmp_path):
    p = _parser()
    args = p.parse_args(["simulate", "-o", str(tmp_path)])
    with pytest.raises(ValueError, match="give exactly one of --series"):
        args.func(args)
    spec = tmp_path / "c.json"
    spec.write_text(
        json.dumps([{"name": "x", "distributions": [{"kind": "cube", "edge_nm": 1, "volume_fraction": 1e-4}]}])
    )
    poni, mask = write_calibration(tmp_path / "cal")
    args = p.parse_args(["simulate", "--conditions", str(spec), "--poni", str(poni), "-o", str(tmp_path / "o")])
    with pytest.raises(ValueError, match="kind='cube' is unknown"):
        args.func(args)
    args = p.parse_args(["simulate", "--conditions", str(spec), "-o", str(tmp_path / "o")])
    with pytest.raises(ValueError, match="--conditions needs --poni"):
        args.func(args)
