"""Bad input gets a ValueError/TypeError naming the parameter, the value and the fix."""

from __future__ import annotations

import numpy as np
import pytest
from pyFAI.detectors import Detector
from pyFAI.integrator.azimuthal import AzimuthalIntegrator

from saxs_mc.simulate import GasBubble, MeasurementCondition, dsigma_model, load_geometry, render_frame_truth
from saxs_mc.simulate.condition import conditions_from_dicts
from saxs_mc.simulate.geometry import write_poni


def test_unknown_distribution_kind():
    with pytest.raises(ValueError, match=r"kind='weibull'.*use one of"):
        conditions_from_dicts(
            [{"name": "x", "distributions": [{"kind": "weibull", "scale_nm": 1, "volume_fraction": 1e-4}]}]
        )


def test_negative_width_and_fraction():
    with pytest.raises(ValueError, match=r"sd_nm=-0.1 must be > 0"):
        conditions_from_dicts(
            [
                {
                    "name": "x",
                    "distributions": [{"kind": "gaussian", "mean_nm": 1, "sd_nm": -0.1, "volume_fraction": 1e-4}],
                }
            ]
        )
    with pytest.raises(ValueError, match=r"volume_fraction=-0.001 must be"):
        conditions_from_dicts(
            [
                {
                    "name": "x",
                    "distributions": [{"kind": "lognormal", "median_nm": 1, "sigma": 0.1, "volume_fraction": -1e-3}],
                }
            ]
        )


def test_bad_condition_parameters():
    with pytest.raises(ValueError, match=r"kind='solid'.*use one of"):
        MeasurementCondition(name="x", kind="solid")
    with pytest.raises(ValueError, match=r"thickness_cm=-0.1 must be > 0"):
        MeasurementCondition(name="x", thickness_cm=-0.1)
    with pytest.raises(ValueError, match=r"transmission=1.5 must be in \(0, 1\]"):
        MeasurementCondition(name="x", transmission=1.5)
    with pytest.raises(ValueError, match=r"mesophase_strength=-1 must be >= 0"):
        MeasurementCondition(name="x", mesophase_strength=-1)
    with pytest.raises(ValueError, match=r"GasBubble frame=5 but n_frames=3"):
        MeasurementCondition(name="x", n_frames=3, gas_bubbles=(GasBubble(5, 0.3),))
    with pytest.raises(ValueError, match=r"gas_fraction=1.2 must be a number in \(0, 1\)"):
        GasBubble(0, 1.2)
    with pytest.raises(ValueError, match=r"kind='blank' cannot hold particle distributions"):
        conditions_from_dicts(
            [
                {
                    "name": "x",
                    "kind": "blank",
                    "distributions": [{"kind": "monodisperse", "radius_nm": 1.0, "volume_fraction": 1e-4}],
                }
            ]
        )
    with pytest.raises(ValueError, match=r"n_frames=0 must be an int >= 1"):
        MeasurementCondition(name="x", n_frames=0)


def test_model_rejects_bad_q_and_component():
    c = MeasurementCondition(name="x")
    with pytest.raises(ValueError, match="q_nm must be finite and > 0"):
        dsigma_model(np.array([0.0, 1.0]), c)
    with pytest.raises(ValueError, match=r"component='water' is not part of condition x"):
        dsigma_model(np.array([1.0]), c, component="water")


def test_poni_shape_mismatch(tmp_path, setup):
    ai, mask, _ = setup
    with pytest.raises(ValueError, match=r"mask has shape \(10, 12\) but the detector .* has shape \(320, 288\)"):
        load_geometry(ai, np.zeros((10, 12), dtype=np.uint8))
    with pytest.raises(ValueError, match=r"shape=\(100, 100\) does not match the detector shape \(320, 288\)"):
        load_geometry(ai, mask, shape=(100, 100))
    other = AzimuthalIntegrator(
        dist=0.5,
        poni1=0.01,
        poni2=0.01,
        wavelength=1e-10,
        detector=Detector(pixel1=1e-4, pixel2=1e-4, max_shape=(200, 100)),
    )
    p = write_poni(tmp_path / "other.poni", other)
    with pytest.raises(
        ValueError, match=r"mask has shape \(320, 288\) but the detector of poni=.*other.poni has shape \(200, 100\)"
    ):
        load_geometry(p, mask)
    with pytest.raises(FileNotFoundError, match="PONI file .* does not exist"):
        load_geometry(tmp_path / "missing.poni", mask)


def test_render_rejects_bad_frame_and_overflow(geom):
    c = MeasurementCondition(name="x", n_frames=2)
    with pytest.raises(ValueError, match=r"frame=2 must be an int in \[0, 2\)"):
        render_frame_truth(c, geom, 2, 0)
    huge = MeasurementCondition(name="x", flux_ph_s=1e18, exposure_s=10.0)
    with pytest.raises(ValueError, match="overflow int32; lower flux_ph_s"):
        render_frame_truth(huge, geom, 0, 0)
    with pytest.raises(ValueError, match="seed=-1"):
        render_frame_truth(c, geom, 0, -1)
