"""Model columns, resolvable radius, family specifications and their errors."""

from __future__ import annotations

import numpy as np
import pytest

from saxs_mc.families import Continuous, Family, check_families, decompose, load_families_config, parse_family
from saxs_mc.families._basis import family_column, lognormal_column
from saxs_mc.fit import resolvable_radius
from saxs_mc.fit.resolution import flat_limit_x, informative_q_max
from saxs_mc.io.curves import Curve
from saxs_mc.models.sphere import contrast_to_cm2
from tests.families.helpers import CONTRAST, Q, gauss, lognorm, noisy_curves

DRHO2 = contrast_to_cm2(CONTRAST) ** 2


@pytest.mark.parametrize("r, sd", [(0.87, 0.025), (1.02, 0.04), (2.0, 0.1)])
def test_family_column_matches_size_distribution(r, sd):
    ref = gauss(r, 1.0, sd).dsigma(Q, CONTRAST)  # 400-bin discretisation of the same Gaussian
    np.testing.assert_allclose(family_column(Q, r, sd, DRHO2), ref, rtol=2e-3)


@pytest.mark.parametrize("median, s", [(1.4, 0.15), (3.0, 0.4)])
def test_lognormal_column_matches_size_distribution(median, s):
    np.testing.assert_allclose(
        lognormal_column(Q, median, s, DRHO2), lognorm(median, s, 1.0).dsigma(Q, CONTRAST), rtol=2e-3
    )


def test_column_forward_scattering_is_phi_drho2_volume():
    # I(0) per unit volume fraction = drho^2 <V>_v for a narrow family
    q0 = np.array([1e-4])
    v = 4 / 3 * np.pi * (0.94e-7) ** 3
    assert family_column(q0, 0.94, 1e-4, DRHO2)[0] == pytest.approx(DRHO2 * v, rel=1e-3)


def test_resolvable_radius_is_the_monte_carlo_fit_criterion_and_grows_as_q_max_falls():
    # one criterion everywhere (issue 15): the decomposition's resolvable radius is saxs_mc.fit.resolvable_radius
    # of its particle scattering, i.e. x_c / q_info with q_info the last q where the particles reach 3 sigma
    radii = []
    for qmax in (7.0, 2.0, 0.8):
        c = noisy_curves([gauss(0.94, 3e-4)], [1])[0].select(Q <= qmax)
        res = decompose(c, [Family("F094", 0.94)], contrast_1e6_A2=CONTRAST)
        part = gauss(0.94, 3e-4).dsigma(c.q, CONTRAST)
        q_info = informative_q_max(c.q, c.sigma, part)
        assert res.resolvable_radius_nm == pytest.approx(flat_limit_x() / q_info, rel=0.05)
        assert res.resolvable_radius_nm == pytest.approx(resolvable_radius(c.q, c.sigma, part), rel=0.05)
        radii.append(res.resolvable_radius_nm)
    assert radii[0] <= radii[1] < radii[2]


def test_family_below_resolvable_radius_is_unresolved_not_counted():
    # q up to 2.5 1/nm: a 0.3 nm family cannot be told from a flat background (its form factor stays above 1/2
    # of its forward value: x_c / q_max = 0.73 nm), a 0.94 nm family can
    m = Q <= 2.5
    c = noisy_curves([gauss(0.94, 3e-4)], [1])[0].select(m)
    res = decompose(c, [Family("tiny", 0.3, 0.02), Family("F094", 0.94)], contrast_1e6_A2=CONTRAST)
    t = res.term("tiny")
    assert 0.3 < res.resolvable_radius_nm < 0.94
    assert t.status == "unresolved" and np.isnan(t.share) and t.volume_fraction is None
    assert res.term("F094").share == 1.0
    assert any("resolvable radius" in w for w in res.warnings)


def test_parse_family():
    f = parse_family("CdSe-437:0.94:0.03:0.01")
    assert (f.name, f.radius_nm, f.sd_nm) == ("CdSe-437", 0.94, 0.03)
    assert f.window_nm == pytest.approx((0.93, 0.95)) and f.refined
    g = parse_family("X:1.2")
    assert g.window_nm == (1.2, 1.2) and not g.refined and g.sd_nm == 0.025
    for bad in ("X", "X:abc", ":1.0", "X:1:0.02:2", "X:-1"):
        with pytest.raises(ValueError):
            parse_family(bad)


def test_overlapping_windows_are_a_clear_error():
    with pytest.raises(ValueError) as exc:
        check_families([parse_family("A:0.94:0.025:0.05"), parse_family("B:1.02:0.025:0.05"), parse_family("A:2.0")])
    msg = str(exc.value)
    assert "A (window 0.89-0.99 nm) and B (window 0.97-1.07 nm) overlap" in msg
    assert "'A' is used 2 times" in msg and "narrow the windows" in msg


def test_broad_family_and_narrow_continuous_rejected():
    with pytest.raises(ValueError, match="continuous"):
        Family("broad", 1.0, 0.3)
    with pytest.raises(ValueError, match="declare it as a family"):
        Continuous(sigma=(0.01, 0.3))


def test_config_file(tmp_path):
    p = tmp_path / "fam.toml"
    p.write_text(
        'background = "free"\ncontrast_1e6_A2 = 34.65\n[continuous]\nmedian_nm = [1.0, 5.0]\n'
        '[[family]]\nname = "A"\nradius_nm = 0.94\nhalf_window_nm = 0.01\n'
        '[[family]]\nname = "B"\nradius_nm = 1.02\nwindow_nm = [1.0, 1.03]\nabsorption_nm = 465\n'
    )
    kw = load_families_config(p)
    assert [f.name for f in kw["families"]] == ["A", "B"]
    assert kw["families"][1].window_nm == (1.0, 1.03) and kw["families"][1].absorption_nm == 465
    assert kw["background"] == "free" and kw["continuous"].median_nm == (1.0, 5.0)
    p.write_text('colour = "red"\n[[family]]\nname = "A"\nradius_nm = 0.94\nwidth = 3\n')
    with pytest.raises(ValueError) as exc:
        load_families_config(p)
    assert str(p) in str(exc.value) and "'colour'" in str(exc.value) and "'width'" in str(exc.value)


def test_bad_curve_and_settings():
    c = noisy_curves([gauss(0.94, 3e-4)], [0])[0]
    bad = Curve(c.q, c.intensity, np.where(np.arange(c.n_q) == 5, 0.0, c.sigma), "1/cm", "bad")
    with pytest.raises(ValueError, match="sigma <= 0"):
        decompose(bad)
    with pytest.raises(ValueError) as exc:
        decompose(c, background="sloped", selection="aic", contrast_1e6_A2=float("nan"))
    assert "background='sloped'" in str(exc.value) and "selection='aic'" in str(exc.value)
    assert "contrast_1e6_A2=nan" in str(exc.value)
    with pytest.raises(TypeError, match="Curve"):
        decompose(np.zeros(10))


def test_relative_units_without_contrast_give_shares_only():
    c = noisy_curves([gauss(0.94, 3.5e-4), gauss(1.02, 1.5e-4)], [4])[0]
    rel = decompose(c)
    ab = decompose(c, contrast_1e6_A2=CONTRAST)
    assert not rel.absolute and rel.total_volume_fraction is None and rel.term("CdSe-437").volume_fraction is None
    assert rel.term("CdSe-437").share == pytest.approx(ab.term("CdSe-437").share, abs=1e-6)


def test_power_law_and_free_background():
    # aggregates (Porod q^-4) and an over-subtracted blank (-0.003 1/cm)
    c0 = noisy_curves([gauss(0.94, 3.5e-4), gauss(1.02, 1.5e-4)], [5])[0]
    extra = 2e-3 * (Q / Q[0]) ** -4 - 0.003
    c = Curve(c0.q, c0.intensity + extra, c0.sigma, "1/cm")
    res = decompose(c, contrast_1e6_A2=CONTRAST, background="free", power_law_exponent=4)
    assert res.background == pytest.approx(-0.003, abs=3 * res.background_std + 1e-4)
    assert res.power_law_coefficient == pytest.approx(2e-3, rel=0.25)
    assert abs(res.term("CdSe-437").share - 0.7) <= 2 * res.term("CdSe-437").share_std + 0.01


@pytest.mark.parametrize("median, s", [(0.9, 0.08), (1.4, 0.15), (3.0, 0.4)])
def test_lognormal_grid_matches_size_distribution(median, s):
    from saxs_mc.families._basis import LogNormalGrid

    grid = LogNormalGrid(Q, (0.6, 6.0), 0.5, DRHO2)
    np.testing.assert_allclose(grid.column(median, s), lognorm(median, s, 1.0).dsigma(Q, CONTRAST), rtol=3e-3)


def test_inseparable_families_are_flagged_not_hidden():
    # q <= 1 1/nm cannot tell r = 0.94 from 1.02 nm, nor either from a flat background (the shared criterion of
    # saxs_mc.fit.resolvable_radius: P(q_max r) > 1/2): no share is claimed, and the warning says why
    c = noisy_curves([gauss(0.94, 3.5e-4), gauss(1.02, 1.5e-4)], [0])[0].q_range(0.3, 1.0)
    res = decompose(c, contrast_1e6_A2=CONTRAST)
    assert res.resolvable_radius_nm > 1.02
    assert all(t.status == "unresolved" and np.isnan(t.share) for t in res.terms)
    assert any("below the resolvable radius" in w for w in res.warnings)
    # from q = 2.2 1/nm both are resolved and separated, the absent CdSe-403 gets an upper limit
    c = noisy_curves([gauss(0.94, 3.5e-4), gauss(1.02, 1.5e-4)], [0])[0].q_range(0.3, 2.2)
    res = decompose(c, contrast_1e6_A2=CONTRAST)
    assert res.term("CdSe-437").status == res.term("CdSe-465").status == "present"
    assert res.term("CdSe-403").status == "absent" and res.term("CdSe-403").share_upper > 0


def test_families_from_pipeline_windows():
    from saxs_mc.families import families_from_windows
    from saxs_mc.pipeline.config import DEFAULT_POPULATIONS

    fams = families_from_windows(DEFAULT_POPULATIONS)
    assert [(f.name, f.radius_nm, f.absorption_nm, f.refined) for f in fams] == [
        ("CdSe-403", 0.87, 403.0, False),
        ("CdSe-437", 0.94, 437.0, False),
        ("CdSe-465", 1.02, 465.0, False),
    ]
