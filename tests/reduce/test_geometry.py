"""Geometry conventions the absolute scale relies on."""

from __future__ import annotations

import numpy as np
import pytest

from saxs_mc.reduce import HeaderMap
from saxs_mc.reduce.geometry import (
    absolute_solid_angle_factor,
    geometry_dict,
    geometry_differences,
    integrator_from_header,
)
from tests.reduce import conftest as C


def test_pyfai_relative_solid_angle_times_pixel_area_over_dist2_is_absolute():
    ai = C.make_integrator()
    rel = ai.solidAngleArray(C.SHAPE, absolute=False)
    absolute = ai.solidAngleArray(C.SHAPE, absolute=True)
    np.testing.assert_allclose(rel * absolute_solid_angle_factor(ai), absolute, rtol=1e-6)
    # and the absolute one is the obliquity-corrected pixel solid angle: A cos^3(2theta) / d^2
    tth = ai.twoThetaArray(C.SHAPE)
    np.testing.assert_allclose(absolute, C.PIXEL_M**2 * np.cos(tth) ** 3 / C.DIST_M**2, rtol=1e-3)


def test_header_geometry_matches_pyfai_setSPD():
    from pyFAI.integrator.azimuthal import AzimuthalIntegrator

    h = C.header(1.0, 1.0, title="x", center_px=(12.5, 77.25))
    ai = integrator_from_header(h, C.SHAPE, HeaderMap(), "x.edf")
    ref = AzimuthalIntegrator()
    ref.setSPD(
        SampleDistance=C.DIST_M,
        Center_1=12.5,
        Center_2=77.25,
        PSize_1=C.PIXEL_M,
        PSize_2=C.PIXEL_M,
        WaveLength=C.WAVELENGTH_M,
    )
    for attr in ("dist", "poni1", "poni2", "rot1", "rot2", "rot3", "wavelength"):
        assert getattr(ai, attr) == pytest.approx(getattr(ref, attr), rel=1e-12, abs=1e-15)
    assert tuple(ai.detector.max_shape) == C.SHAPE
    g = geometry_dict(ai)
    assert geometry_differences(g, g) == []
    assert geometry_differences(g, {**g, "wavelength_m": 1.1e-10}) == ["wavelength_m: 1e-10 vs 1.1e-10"]
