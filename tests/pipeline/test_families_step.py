"""Family decomposition and absorption spectra in the pipeline: config keys, steps, read-out on family shares."""

from __future__ import annotations

import dataclasses
import json
import math

import pytest

from saxs_mc.pipeline.config import DEFAULT_POPULATIONS, ConfigError, ReadoutConfig, load_config
from saxs_mc.pipeline.readout import FamilyShare, classify_sample, describe_rule, series_readout
from saxs_mc.pipeline.run import plan_steps, run_pipeline

from .fakes import FAKE_FUNCS, make_experiment
from .test_readout import CENTERS, gauss, lognorm

RULE = ReadoutConfig(mode_tolerance_nm=0.035, min_family_fraction=0.5, min_mode_height=0.25)
W403, W437, W465 = (w.name for w in DEFAULT_POPULATIONS[:3])


def shares(s403=0.0, s437=0.0, s465=0.0, sd=0.02):
    """Decomposition shares keyed by window name (0 = absent with an upper limit)."""

    def one(x):
        return FamilyShare(x, sd, "present") if x > 0 else FamilyShare(0.0, math.nan, "absent", 0.03)

    return {W403: one(s403), W437: one(s437), W465: one(s465)}


# ----------------------------------------------------------------------
# the read-out rule on decomposition shares
def test_shoulder_is_a_second_family_significantly_above_zero():
    hist = gauss(0.94)  # the MC histogram alone: one family, no shoulder
    assert classify_sample("h", 230, CENTERS, hist, DEFAULT_POPULATIONS, RULE).shoulders == ()
    st = classify_sample("d", 230, CENTERS, hist, DEFAULT_POPULATIONS, RULE, family_shares=shares(s437=0.8, s465=0.2))
    assert st.basis == "decomposition" and st.state == "quantized" and st.family == W437
    assert st.shoulders == (W465,) and st.shoulder_labels == ("CdSe-465",)
    # not significant: 0.2 - 2 * 0.15 < 0
    st = classify_sample(
        "d", 230, CENTERS, hist, DEFAULT_POPULATIONS, RULE, family_shares=shares(s437=0.8, s465=0.2, sd=0.15)
    )
    assert st.shoulders == ()
    # significant but below shoulder_min_share (0.1)
    st = classify_sample(
        "d", 230, CENTERS, hist, DEFAULT_POPULATIONS, RULE, family_shares=shares(s437=0.95, s465=0.05, sd=0.005)
    )
    assert st.shoulders == ()
    lax = dataclasses.replace(RULE, shoulder_min_share=0.04)
    assert classify_sample(
        "d", 230, CENTERS, hist, DEFAULT_POPULATIONS, lax, family_shares=shares(s437=0.95, s465=0.05, sd=0.005)
    ).shoulders == (W465,)


def test_decomposition_names_the_family_the_histogram_smears():
    # a 25:75 mixture of 0.94 and 1.02 nm smeared by the MC into one mode near 1.0 nm
    smeared = gauss(1.0, sd=0.04)
    st = classify_sample(
        "s", 240, CENTERS, smeared, DEFAULT_POPULATIONS, RULE, family_shares=shares(s437=0.25, s465=0.75)
    )
    assert st.state == "quantized" and st.family_label == "CdSe-465" and st.shoulder_labels == ("CdSe-437",)
    assert abs(st.dominant_radius_nm - 1.0) < 0.01  # modes still from the histogram
    # a continuous population holding most of the volume: continuous growth
    cont = {
        W403: FamilyShare(0.0, math.nan, "absent", 0.02),
        W437: FamilyShare(0.0, math.nan, "absent", 0.02),
        W465: FamilyShare(0.2, 0.03, "present"),
    }
    st = classify_sample("c", 250, CENTERS, lognorm(1.15, 0.12), DEFAULT_POPULATIONS, RULE, family_shares=cont)
    assert st.state == "continuous" and st.family_fraction == pytest.approx(0.2)


def test_histogram_is_the_fallback_without_usable_shares():
    hist = gauss(0.94, sd=0.015, phi=0.7) + gauss(1.03, sd=0.015, phi=0.3)
    ref = classify_sample("a", 230, CENTERS, hist, DEFAULT_POPULATIONS, RULE)
    unresolved = {n: FamilyShare(math.nan, math.nan, "unresolved") for n in (W403, W437, W465)}
    for fs in (None, {}, unresolved):
        st = classify_sample("a", 230, CENTERS, hist, DEFAULT_POPULATIONS, RULE, family_shares=fs)
        assert st == ref and st.basis == "histogram"
    # shares without a histogram (fit failed) still classify; no modes
    st = classify_sample("b", 200, None, None, DEFAULT_POPULATIONS, RULE, family_shares=shares(s437=1.0))
    assert st.state == "quantized" and st.dominant_radius_nm is None and st.modes_nm == ()
    assert series_readout([st]).plateaus[0]["label"] == "CdSe-437"


def test_study_series_read_out_from_shares():
    spec = [
        (190, shares(s403=1.0)),
        (200, shares(s437=1.0)),
        (220, shares(s437=1.0)),
        (230, shares(s437=0.7, s465=0.3)),
        (240, shares(s437=0.25, s465=0.75)),
        (250, {W465: FamilyShare(0.0, math.nan, "absent", 0.02)}),
    ]
    states = [
        classify_sample(
            f"nuc{t}C",
            t,
            CENTERS,
            lognorm(1.15, 0.12) if t >= 250 else gauss(0.94),
            DEFAULT_POPULATIONS,
            RULE,
            family_shares=fs,
        )
        for t, fs in spec
    ]
    ro = series_readout(states)
    assert [s.family_label for s in ro.samples] == ["CdSe-403", "CdSe-437", "CdSe-437", "CdSe-437", "CdSe-465", None]
    assert "230 C: shoulder at CdSe-465" in ro.text and "240 C: shoulder at CdSe-437" in ro.text
    assert ro.continuous_from_C == 250
    assert "2σ > 0" in describe_rule(RULE) or "2\u03c3 > 0" in describe_rule(RULE)


# ----------------------------------------------------------------------
# configuration
def test_families_table_and_spectrum_keys(tmp_path):
    (tmp_path / "spec.csv").write_text("family=CdSe-437 nm=437 height=0.2 d=1.85\n")
    cfg = make_experiment(tmp_path, series=[(200, 0.94, 0.02)], extra="[families]\ncontinuous = true\nsd_nm = 0.02\n")
    text = cfg.read_text().replace("reaction_time_s = 1.5", 'reaction_time_s = 1.5\nspectrum = "spec.csv"', 1)
    cfg.write_text(text)
    c = load_config(cfg)
    assert c.families.sd_nm == 0.02 and c.families.continuous and c.families.selection == "bic"
    assert c.samples[0].spectrum == (tmp_path / "spec.csv").resolve()
    kinds = {s.id: s for s in plan_steps(c)}
    fam = kinds["families/nuc200C"]
    assert fam.deps == ("subtract/nuc200C",) and fam.settings["q_range_nm"] is None
    assert [f["name"] for f in fam.settings["families"]] == ["CdSe-403", "CdSe-437", "CdSe-465"]
    assert kinds["optical/nuc200C"].inputs == (str((tmp_path / "spec.csv").resolve()),)
    # without the table (or enabled = false): no decomposition step
    cfg.write_text(text.replace("[families]\n", "[families]\nenabled = false\n"))
    assert load_config(cfg).families is None
    assert not any(s.kind == "families" for s in plan_steps(load_config(cfg)))


def test_families_config_errors_are_reported_together(tmp_path):
    cfg = make_experiment(
        tmp_path, series=[(200, 0.94, 0.02)], extra='[families]\nbackground = "flat"\nselection = "aic"\n'
    )
    cfg.write_text(cfg.read_text().replace("reaction_time_s = 1.5", 'reaction_time_s = 1.5\nspectrum = "nope.csv"', 1))
    with pytest.raises(ConfigError) as e:
        load_config(cfg)
    msg = str(e.value)
    assert "3 problems" in msg and "families.background" in msg and "'nonnegative'" in msg
    assert "families.selection" in msg and "nope.csv" in msg and "does not exist" in msg
    cfg.write_text(
        cfg.read_text()
        .replace('spectrum = "nope.csv"\n', "")
        .replace('background = "flat"\nselection = "aic"\n', "sd_nm = 0.05\nbacground = 1\n")
    )
    with pytest.raises(ConfigError, match="did you mean 'background'"):
        load_config(cfg)
    cfg.write_text(cfg.read_text().replace("bacground = 1\n", ""))
    with pytest.raises(ConfigError, match="closer than 2 sd_nm"):
        load_config(cfg)


# ----------------------------------------------------------------------
# the fake pipeline: summary.json / summary.csv and the report
def test_fake_series_reads_out_on_family_shares(tmp_path):
    series = [(190, 0.87, 0.02), (220, 0.94, 0.02), (230, 0.96, 0.02), (250, 1.15, 0.12)]
    cfg = make_experiment(tmp_path, series=series, extra="[families]\n")
    (tmp_path / "s230.csv").write_text(
        "family=CdSe-437 nm=437 height=0.21 d=1.85\nfamily=<b>CdSe-465</b> nm=465 height=0.09 d=2.06\n"
    )
    text = cfg.read_text().replace(
        'frames = "data/nuc230C/*.edf"', 'frames = "data/nuc230C/*.edf"\nspectrum = "s230.csv"'
    )
    cfg.write_text(text)
    res = run_pipeline(load_config(cfg), step_funcs=FAKE_FUNCS)
    assert res.ok
    doc = json.loads((res.root / "summary.json").read_text())
    rows = {r["sample"]: r for r in doc["samples"]}
    r230 = rows["nuc230C"]
    # fake decomposition: 0.96 nm is 75 % CdSe-437 + 25 % CdSe-465 (share std 0.05 * share + 0.01)
    assert r230["readout_basis"] == "decomposition" and r230["family_label"] == "CdSe-437"
    assert r230["shoulders"] == ["CdSe-465"]
    assert r230["family_share[CdSe-465]"] == pytest.approx(0.25) and r230[
        "family_share_std[CdSe-465]"
    ] == pytest.approx(0.0225)
    assert r230["family_status[CdSe-403]"] == "absent" and r230["family_share_upper[CdSe-403]"] == 0.03
    # MC window share vs decomposition share: flagged exactly when they differ by more than 2 combined sigma
    for fam, win in (("CdSe-437", "MSC r=0.94 nm"), ("CdSe-465", "MSC r=1.02 nm")):
        mc, mc_sd = r230[f"fraction[{win}]"], r230[f"fraction_std[{win}]"]
        sh, sh_sd = r230[f"family_share[{fam}]"], r230[f"family_share_std[{fam}]"]
        assert r230[f"family_share_disagrees_with_mc[{fam}]"] is (abs(sh - mc) > 2 * math.hypot(mc_sd, sh_sd))
    assert r230["family_share_disagrees_with_mc[CdSe-465]"] is True  # the fake MC window holds 0.33, not 0.25
    assert r230["optical_families"] == ["CdSe-437", "<b>CdSe-465</b>"] and r230["optical_yu_diameter_nm"] == 1.85
    assert rows["nuc250C"]["growth"] == "continuous" and rows["nuc250C"]["continuous_share"] == 1.0
    assert doc["readout_rule"]["shoulder_n_sigma"] == 2.0
    import pandas as pd

    csv = pd.read_csv(res.root / "summary.csv")
    got = csv.set_index("name").loc["nuc230C", "family_share[CdSe-437]"]
    assert got == pytest.approx(0.75)
    html = (res.root / "samples" / "nuc230C.html").read_text()
    assert "&lt;b&gt;CdSe-465&lt;/b&gt;" in html and "<b>CdSe-465</b>" not in html
    assert "disagree (&gt; 2σ)" in html
    report = (res.root / "report.html").read_text()
    assert "Family fractions vs nucleation temperature" in report and "0.750 ± 0.048" in report
