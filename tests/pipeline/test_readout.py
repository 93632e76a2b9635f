"""The quantized/continuous growth read-out on synthetic volume-weighted histograms."""

from __future__ import annotations

import math

import numpy as np
import pytest

from saxs_mc.models.distributions import make_distribution
from saxs_mc.pipeline.config import DEFAULT_POPULATIONS, ReadoutConfig
from saxs_mc.pipeline.readout import (
    classify_sample,
    describe_rule,
    find_modes,
    mode_radius_std,
    series_readout,
    window_fractions,
    window_fractions_std,
)

RULE = ReadoutConfig(mode_tolerance_nm=0.035, min_family_fraction=0.5, min_mode_height=0.25)
EDGES = np.geomspace(0.4, 4.0, 61)
CENTERS = np.sqrt(EDGES[1:] * EDGES[:-1])


def hist(spec: dict) -> np.ndarray:
    """Volume fraction per bin of a known distribution (pdf integrated over each bin)."""
    d = make_distribution(spec)
    fine = np.geomspace(EDGES[0], EDGES[-1], 20001)
    pdf = d.pdf(fine)
    cum = np.concatenate([[0], np.cumsum(0.5 * (pdf[1:] + pdf[:-1]) * np.diff(fine))])
    return np.diff(np.interp(EDGES, fine, cum)) * d.volume_fraction


def gauss(mean, sd=0.025, phi=1.0):
    return hist({"kind": "gaussian", "mean_nm": mean, "sd_nm": sd, "volume_fraction": phi})


def lognorm(median, sigma, phi=1.0):
    return hist({"kind": "lognormal", "median_nm": median, "sigma": sigma, "volume_fraction": phi})


@pytest.mark.parametrize("mean", [0.87, 0.94, 1.02, 1.3, 2.2])
def test_mode_of_gaussian_recovered_within_a_fifth_of_a_bin(mean):
    modes = find_modes(CENTERS, gauss(mean, sd=0.05 * mean))
    assert len(modes) == 1
    bin_width = mean * (EDGES[1] / EDGES[0] - 1)
    assert abs(modes[0].radius_nm - mean) < 0.2 * bin_width


def test_two_modes_and_min_height():
    v = gauss(0.94, phi=0.7) + gauss(1.3, sd=0.04, phi=0.3)
    modes = find_modes(CENTERS, v, min_height=0.1)
    assert [round(m.radius_nm, 1) for m in modes] == [0.9, 1.3]
    assert modes[0].height == 1.0 and 0.1 < modes[1].height < 1.0
    # the weaker mode disappears when the height threshold is above it
    assert len(find_modes(CENTERS, v, min_height=modes[1].height + 0.01)) == 1
    assert find_modes(CENTERS, np.zeros_like(CENTERS)) == []


def test_window_fractions_sum_to_one_and_follow_the_truth():
    v = gauss(0.94, sd=0.02)
    fr = window_fractions(CENTERS, v, DEFAULT_POPULATIONS)
    assert sum(fr.values()) <= 1.0 + 1e-12
    # +-1.75 sd of the Gaussian lie in [0.905, 0.98) nm: 92 % of the volume, minus bin-edge effects
    assert 0.85 < fr["MSC r=0.94 nm"] < 0.95
    assert math.isclose(fr["MSC r=0.94 nm"] + fr["MSC r=0.87 nm"] + fr["MSC r=1.02 nm"], 1.0, abs_tol=1e-3)
    v2 = lognorm(1.6, 0.15)
    assert window_fractions(CENTERS, v2, DEFAULT_POPULATIONS)["regular NCs (r>1.06 nm)"] > 0.95


def test_classify_rule():
    q = classify_sample("a", 200, CENTERS, gauss(0.94), DEFAULT_POPULATIONS, RULE)
    assert q.state == "quantized" and q.family_radius_nm == 0.94
    # a broad distribution peaking on a family radius is NOT quantized (criterion b)
    broad = classify_sample("b", 200, CENTERS, lognorm(0.95, 0.35), DEFAULT_POPULATIONS, RULE)
    assert abs(broad.dominant_radius_nm - 0.94) < 0.1
    assert broad.state == "continuous" and broad.family_fraction < 0.5
    # a narrow distribution between two families is NOT quantized (criterion a)
    off = classify_sample("c", 200, CENTERS, gauss(0.98, sd=0.02), DEFAULT_POPULATIONS, RULE)
    assert off.family_fraction > 0.99 and abs(off.dominant_radius_nm - 0.98) < 0.004  # 0.04 nm from both families
    assert off.state == "continuous"
    # shoulder: 0.94 dominant with a weaker 1.02 population
    sh = classify_sample(
        "d", 230, CENTERS, gauss(0.94, sd=0.015, phi=0.7) + gauss(1.03, sd=0.015, phi=0.3), DEFAULT_POPULATIONS, RULE
    )
    assert sh.state == "quantized" and sh.family == "MSC r=0.94 nm" and sh.shoulders == ("MSC r=1.02 nm",)
    assert classify_sample("e", 200, None, None, DEFAULT_POPULATIONS, RULE).state == "undetermined"


def study_series():
    """The reference study's read-out as synthetic fit results (Palencia 2020)."""
    spec = [
        (190, gauss(0.87)),
        (200, gauss(0.94)),
        (210, gauss(0.94)),
        (220, gauss(0.94)),
        (230, gauss(0.94, phi=0.7) + gauss(1.02, phi=0.3)),
        (240, gauss(0.94, phi=0.25) + gauss(1.02, phi=0.75)),
        (250, lognorm(1.15, 0.12)),
        (260, lognorm(1.28, 0.13)),
        (270, lognorm(1.43, 0.14)),
        (280, lognorm(1.60, 0.15)),
    ]
    return [classify_sample(f"nuc{t}C", t, CENTERS, v, DEFAULT_POPULATIONS, RULE) for t, v in spec]


def test_series_readout_finds_quantized_low_T_and_continuous_high_T():
    states = study_series()
    ro = series_readout(states[::-1])  # order of input does not matter
    assert [s.state for s in ro.samples] == ["quantized"] * 6 + ["continuous"] * 4
    assert [(p["radius_nm"], p["T_from_C"], p["T_to_C"]) for p in ro.plateaus] == [
        (0.87, 190, 190),
        (0.94, 200, 230),
        (1.02, 240, 240),
    ]
    assert [(j["from_radius_nm"], j["to_radius_nm"], j["T_below_C"], j["T_above_C"]) for j in ro.jumps] == [
        (0.87, 0.94, 190, 200),
        (0.94, 1.02, 230, 240),
    ]
    assert ro.continuous_from_C == 250 and ro.last_quantized_C == 240
    assert ro.samples[4].shoulders == ("MSC r=1.02 nm",)
    assert any("continuous growth from 250 C" in t for t in ro.text)
    # continuous regime: dominant radius grows steadily
    r = [s.dominant_radius_nm for s in ro.samples[6:]]
    assert all(b > a for a, b in zip(r, r[1:]))


def test_series_all_continuous_or_empty():
    ro = series_readout(
        [
            classify_sample(f"s{t}", t, CENTERS, lognorm(1.2 + 0.01 * t, 0.2), DEFAULT_POPULATIONS, RULE)
            for t in (250, 260)
        ]
    )
    assert ro.continuous_from_C == 250 and ro.last_quantized_C is None and not ro.plateaus
    assert series_readout([]).text == ("no fitted sample: no read-out",)


def test_unresolved_mixture_of_adjacent_families_is_a_shoulder():
    # a pure family: the mode sits on the family radius, no shoulder
    pure = classify_sample("p", 220, CENTERS, gauss(0.94, sd=0.03), DEFAULT_POPULATIONS, RULE)
    assert pure.state == "quantized" and pure.shoulders == ()
    # 55 % at 0.94 nm + 45 % at 1.02 nm, too broad to give two modes: one mode displaced towards 1.02 nm
    mix = gauss(0.94, sd=0.04, phi=0.55) + gauss(1.02, sd=0.04, phi=0.45)
    assert len(find_modes(CENTERS, mix)) == 1
    st = classify_sample("m", 230, CENTERS, mix, DEFAULT_POPULATIONS, RULE)
    shift = (st.dominant_radius_nm - 0.94) / (1.02 - 0.94)
    assert shift >= RULE.shoulder_shift_fraction
    assert st.state == "quantized" and st.family == "MSC r=0.94 nm" and st.shoulders == ("MSC r=1.02 nm",)
    # with a stricter threshold the same sample has no shoulder
    import dataclasses

    share = window_fractions(CENTERS, mix, DEFAULT_POPULATIONS)["MSC r=1.02 nm"]
    strict = dataclasses.replace(
        RULE, shoulder_shift_fraction=min(1.0, shift + 0.05), shoulder_min_fraction=min(1.0, share + 0.05)
    )
    assert classify_sample("m", 230, CENTERS, mix, DEFAULT_POPULATIONS, strict).shoulders == ()


def test_neighbour_family_filling_its_window_is_a_shoulder_and_labels_follow_yu():
    # sharp 0.94 nm family (the mode stays on it) + a weaker, broader 1.02 nm population (no mode of its own)
    mix = gauss(0.94, sd=0.008, phi=0.7) + gauss(1.02, sd=0.03, phi=0.3)
    modes = find_modes(CENTERS, mix)
    assert len(modes) == 1 and abs(modes[0].radius_nm - 0.94) < 0.01
    share = window_fractions(CENTERS, mix, DEFAULT_POPULATIONS)["MSC r=1.02 nm"]
    assert 0.2 < share < 0.35
    st = classify_sample("m", 230, CENTERS, mix, DEFAULT_POPULATIONS, RULE)
    assert st.family == "MSC r=0.94 nm" and st.shoulders == ("MSC r=1.02 nm",)
    assert st.family_label == "CdSe-437" and st.shoulder_labels == ("CdSe-465",)
    import dataclasses

    above = dataclasses.replace(RULE, shoulder_min_fraction=share + 0.01)
    assert classify_sample("m", 230, CENTERS, mix, DEFAULT_POPULATIONS, above).shoulders == ()
    ro = series_readout([classify_sample("a", 190, CENTERS, gauss(0.87, sd=0.02), DEFAULT_POPULATIONS, RULE), st])
    assert "quantized growth on CdSe-403 (r = 0.87 nm) at 190 C" in ro.text
    assert "discrete jump 0.87 -> 0.94 nm (CdSe-403 -> CdSe-437) between 190 and 230 C" in ro.text
    assert "230 C: shoulder at CdSe-465" in ro.text


def _monte_carlo(v, sd, fn, n=4000, seed=11):
    """Spread of fn over histograms perturbed by independent Gaussian noise of the per-bin std."""
    rng = np.random.default_rng(seed)
    return np.std([fn(v + sd * rng.standard_normal(v.size)) for _ in range(n)], ddof=1)


def test_window_fraction_uncertainty_matches_monte_carlo_propagation():
    v = gauss(0.94, sd=0.03, phi=0.7) + gauss(1.3, sd=0.1, phi=0.3)
    sd = 0.05 * v + 0.002 * v.max()
    std = window_fractions_std(CENTERS, v, sd, DEFAULT_POPULATIONS)
    for w in DEFAULT_POPULATIONS[1:]:  # the 0.94 nm family window and the regular NCs
        mc = _monte_carlo(v, sd, lambda x, w=w: window_fractions(CENTERS, x, [w])[w.name])
        assert std[w.name] == pytest.approx(mc, rel=0.1), w.name
    assert all(s == 0 for s in window_fractions_std(CENTERS, v, 0 * v, DEFAULT_POPULATIONS).values())


def test_mode_uncertainty_matches_monte_carlo_and_falls_back_to_the_bin():
    v = gauss(1.3, sd=0.08)
    sd = 0.03 * v.max() * np.ones_like(v)
    r = find_modes(CENTERS, v)[0].radius_nm
    std = mode_radius_std(CENTERS, v, sd, r)
    mc = _monte_carlo(v, sd, lambda x: find_modes(CENTERS, x, min_height=0.9)[0].radius_nm)
    assert std == pytest.approx(mc, rel=0.15)
    # a mode in the edge bin is not refined: known to the bin, width / (2 sqrt 3) in log r
    edge = np.zeros_like(v)
    edge[0] = 1.0
    r0 = find_modes(CENTERS, edge)[0].radius_nm
    assert mode_radius_std(CENTERS, edge, 0 * edge, r0) == pytest.approx(
        r0 * math.log(EDGES[1] / EDGES[0]) / (2 * math.sqrt(3)), rel=1e-9
    )
    assert mode_radius_std(CENTERS, v, sd, None) is None


def test_rule_description_states_this_rules_numbers():
    text = describe_rule(RULE)
    assert "0.035 nm" in text and "50%" in text and "25%" in text and "<" not in text
