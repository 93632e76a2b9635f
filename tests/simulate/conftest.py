"""Fixtures for the simulator tests: the default geometry built in memory."""

from __future__ import annotations

import numpy as np
import pytest

from saxs_mc.models.distributions import SizeDistribution
from saxs_mc.simulate import MeasurementCondition, load_geometry, make_geometry


@pytest.fixture(scope="session")
def setup():
    """(ai, mask uint8, gaps bool) of the id02_sim detector."""
    return make_geometry()


@pytest.fixture(scope="session")
def geom(setup):
    ai, mask, _ = setup
    return load_geometry(ai, mask)


@pytest.fixture(scope="session")
def sample_condition():
    """A regular-nanocrystal sample measured at 230 C (no mesophase)."""
    return MeasurementCondition(
        name="s250",
        kind="sample",
        temperature_C=230.0,
        distributions=(SizeDistribution("lognormal", {"median_nm": 1.15, "sigma": 0.12}, 6e-4),),
        nucleation_temperature_C=250.0,
        growth_temperature_C=230.0,
        reaction_time_s=1.5,
        n_frames=3,
    )


def integrate(ai, mask, data, i1, thickness_cm, *, npt=300, method=("no", "histogram", "cython")):
    """pyFAI azimuthal integration normalized by the saxs_mc absolute-scale convention -> 1/cm.

    pyFAI's solid-angle correction is relative to pixel1*pixel2/dist^2, so that factor goes
    into the normalization together with I1 and the thickness.
    """
    norm = i1 * thickness_cm * ai.pixel1 * ai.pixel2 / ai.dist**2
    res = ai.integrate1d(
        np.asarray(data),
        npt,
        unit="q_nm^-1",
        mask=mask,
        dummy=-1,
        delta_dummy=0.1,
        error_model="poisson",
        correctSolidAngle=True,
        polarization_factor=0.99,
        normalization_factor=norm,
        method=method,
    )
    return res.radial, res.intensity, res.sigma
