"""The report along any series axis: conditions from the manifests, optional CdSe sections, series figures.

Runs are hand-made step outcomes plus reduce-step manifests whose ``settings["metadata"]``
carries ``conditions`` and ``series_axis`` (interface B of session 3), so these tests do not
depend on the engine or on the configuration helper's work in progress: the configured samples
are plain records that only name their frames and blank.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from saxs_mc.io.atomic import write_json_atomic
from saxs_mc.io.curves import Curve, write_curve_ascii
from saxs_mc.pipeline.config import load_config
from saxs_mc.pipeline.readout import NO_FAMILIES_TEXT, NOT_ASSESSED, FamilyShare
from saxs_mc.pipeline.report import write_report
from saxs_mc.pipeline.report.axis import SeriesAxis, axis_label_unit
from saxs_mc.pipeline.report.figures import (
    distributions_figure,
    family_shares_figure,
    is_png,
    series_map_figure,
    series_trends_figure,
)
from saxs_mc.pipeline.report.model import Decomposition, _disagree, collect, volume_weighted_mean

from .fakes import make_experiment
from .test_report import EVIL, active_content

Q = np.geomspace(0.1, 6.0, 90)
EDGES = np.geomspace(0.4, 6.0, 51)
CENTERS = np.sqrt(EDGES[1:] * EDGES[:-1])


def _outcome(sid: str, result: dict | None, status: str = "done") -> SimpleNamespace:
    return SimpleNamespace(id=sid, status=status, result=result, error=None)


def _gauss_vf(r0: float, phi: float) -> np.ndarray:
    """Volume fraction per bin of a narrow Gaussian (sd 8 % of r0) of total volume fraction ``phi``."""
    v = np.exp(-0.5 * ((CENTERS - r0) / (0.08 * r0)) ** 2)
    return phi * v / v.sum()


def _write_sample(root: Path, name: str, r0: float, phi: float, metadata: dict, *, peaks: list | None) -> dict:
    d = f"steps/x/{abs(hash(name)) % 10**8}"
    model = phi * 1e3 * np.exp(-((Q * r0) ** 2) / 5) + 1e-3
    write_curve_ascii(root / d / "sub.dat", Curve(Q, model, 0.02 * model, "1/cm", "x"))
    vf = _gauss_vf(r0, phi)
    write_json_atomic(
        root / d / "dg.json",
        {
            "radius_centers_nm": CENTERS.tolist(),
            "radius_edges_nm": EDGES.tolist(),
            "volume_fraction": vf.tolist(),
            "volume_fraction_std": (0.04 * vf).tolist(),
            "bin_scale": "log",
            "q_nm": Q.tolist(),
            "intensity": model.tolist(),
            "sigma": (0.02 * model).tolist(),
            "model": model.tolist(),
            "chi2_r": 1.0,
            "chi2_r_per_repetition": [0.99, 1.01],
            "intensity_unit": "1/cm",
            "absolute": True,
            "total_volume_fraction": phi,
        },
    )
    write_json_atomic(root / d / "fit.json", {"total_volume_fraction_std": 0.03 * phi})
    # the reduce step's manifest: the only place these tests put the sample's conditions
    write_json_atomic(
        root / "steps" / "reduce" / name / "manifest.json",
        {"step": f"reduce/{name}", "settings": {"title": name, "metadata": metadata}},
    )
    out = {
        f"reduce/{name}": _outcome(
            f"reduce/{name}", {"outputs": {"curve": f"{d}/sub.dat"}, "n_frames": 1, "n_rejected": 0, "rejected": []}
        ),
        f"subtract/{name}": _outcome(f"subtract/{name}", {"outputs": {"curve": f"{d}/sub.dat"}}),
        f"fit/{name}": _outcome(
            f"fit/{name}", {"outputs": {"digest": f"{d}/dg.json", "json": f"{d}/fit.json"}, "chi2_r": 1.0}
        ),
    }
    if peaks is not None:
        out[f"peaks/{name}"] = _outcome(f"peaks/{name}", {"outputs": {}, "peaks": peaks, "phase": {"name": "none"}})
    return out


def _sample_record(name: str, blank: str) -> SimpleNamespace:
    """A configured sample that knows only its name, frames and blank (no conditions, no legacy keys)."""
    return SimpleNamespace(
        name=name, frames=(), files=(), sources=(), blank=blank, thickness_cm=None, spectrum=None, n_frames=1
    )


def make_axis_run(
    tmp_path: Path,
    axis: str,
    values: list[float],
    *,
    radii: list[float],
    phis: list[float],
    families: bool = False,
    peak_areas: list[float] | None = None,
    extra_conditions: dict | None = None,
    blank_temps: tuple[int, ...] = (25,),
    mesophase: bool = False,
):
    """A run along ``axis`` (conditions only in the manifests), with or without magic-size families."""
    base = load_config(make_experiment(tmp_path, series=[(190, 0.9, 0.02)], blanks=(230,)))
    root = Path(base.output.dir)
    root.mkdir(parents=True, exist_ok=True)
    blanks = tuple(
        SimpleNamespace(
            name=f"blank{j}",
            frames=(),
            files=(),
            sources=(),
            temperature_C=float(t),
            thickness_cm=None,
            conditions={"temperature_C": float(t)},
            n_frames=1,
        )
        for j, t in enumerate(blank_temps)
    )
    blank = blanks[0].name
    samples, outcomes = [], {}
    for i, (v, r0, phi) in enumerate(zip(values, radii, phis)):
        name = f"pt{i:03d}"
        cond = {axis: v, **(extra_conditions or {})}
        meta = {"kind": "sample", "conditions": cond, "series_axis": axis, "stack": None, "time_point": None, **cond}
        peaks = (
            None
            if peak_areas is None
            else (
                [
                    {
                        "q_nm": 1.84,
                        "q_err": 0.002,
                        "d_nm": 3.41,
                        "fwhm": 0.05,
                        "area": peak_areas[i],
                        "area_err": 0.05 * peak_areas[i] + 0.01,
                        "significance": 20.0,
                    }
                ]
                if peak_areas[i] > 0
                else []
            )
        )
        outcomes.update(_write_sample(root, name, r0, phi, meta, peaks=peaks))
        samples.append(_sample_record(name, blank))
    fit = dataclasses.replace(base.fit, populations=base.fit.populations if families else ())
    cfg = dataclasses.replace(
        base,
        name="series",
        samples=tuple(samples),
        blanks=blanks,
        fit=fit,
        families=None,
        peaks=dataclasses.replace(base.peaks, samples=peak_areas is not None),
        output=dataclasses.replace(base.output, figures=True),
    )
    for b in cfg.blanks:
        outcomes[f"reduce/{b.name}"] = _outcome(
            f"reduce/{b.name}", {"outputs": {}, "n_frames": 1, "n_rejected": 0, "rejected": []}
        )
    if mesophase:
        outcomes["mesophase/series"] = _outcome(
            "mesophase/series",
            {
                "outputs": {},
                "temperatures_C": [float(t) for t in blank_temps],
                "intensity": [1.0] * len(blank_temps),
                "melting_temperature_C": 80.0,
                "melting_bracket_C": [25.0, 230.0],
                "melting_method": "bracket",
            },
        )
    return cfg, outcomes, root


# ----------------------------------------------------------------------
@pytest.mark.parametrize(
    "key,text",
    [
        ("time_s", "time (s)"),
        ("nucleation_temperature_C", "nucleation temperature (°C)"),
        ("flow_rate_ml_min", "flow rate (ml/min)"),
        ("reaction_time_s", "reaction time (s)"),
        ("pressure", "pressure"),
        ("index", "sample index (configuration order)"),
    ],
)
def test_axis_label_and_unit_come_from_the_key_name(key, text):
    assert SeriesAxis.from_key(key).text == text
    assert axis_label_unit("_s") == ("_s", "")  # a bare suffix is no unit


def test_flow_rate_series_without_families_has_no_cdse_sections_and_plots_against_flow_rate(tmp_path):
    flows = [0.25, 0.5, 1.0, 2.0]
    cfg, outcomes, root = make_axis_run(
        tmp_path,
        "flow_rate_ml_min",
        flows,
        radii=[2.0, 1.7, 1.4, 1.2],
        phis=[1e-4, 2e-4, 3e-4, 4e-4],
        blank_temps=(25, 25),
        mesophase=True,
        extra_conditions={"solvent": "toluene"},
    )
    write_report(cfg, outcomes, root)
    html = (root / "report.html").read_text(encoding="utf-8").split("<body>", 1)[1]
    for cdse in (
        "Magic-size families",
        "Family fractions",
        "Series read-out",
        "λ<sub>Yu</sub>",
        "Mesophase melting",
        "Precursor blanks and mesophase",
        "quantized",
        "CdSe",
    ):
        assert cdse not in html, cdse
    assert "flow rate (ml/min)" in html and "no magic-size families configured" in html
    doc = json.loads((root / "summary.json").read_text())
    assert doc["series_axis"] == {"key": "flow_rate_ml_min", "label": "flow rate", "unit": "ml/min"}
    assert doc["families"] == [] and doc["readout"]["text"] == [NO_FAMILIES_TEXT]
    for r, f in zip(doc["samples"], flows):
        assert r["conditions"] == {"flow_rate_ml_min": f, "solvent": "toluene"} and r["series_value"] == f
        assert r["series_axis"] == "flow_rate_ml_min" and r["growth"] == NOT_ASSESSED and "family" not in r
        assert not [k for k in r if "yu" in k or k.startswith(("family_", "optical_")) or "nucleation" in k]
    pd = pytest.importorskip("pandas")
    df = pd.read_csv(root / "summary.csv")
    assert list(df.columns[:3]) == ["kind", "name", "flow_rate_ml_min"]
    smp = df[df["kind"] == "sample"]
    np.testing.assert_allclose(smp["flow_rate_ml_min"], flows)
    assert list(smp["solvent"]) == ["toluene"] * 4
    # the figures run along the flow rate; no family-share figure
    series = collect(cfg, outcomes, root)
    assert family_shares_figure(series) is None and not series.show_mesophase
    trends = series_trends_figure(series)
    axes = trends.axes
    assert axes[-1].get_xlabel() == "flow rate (ml/min)" and len(axes) == 2  # volume fraction, radius
    np.testing.assert_allclose(axes[0].get_lines()[0].get_xdata(), flows)
    assert series_map_figure(series).axes[0].get_xlabel() == "flow rate (ml/min)"


def test_time_series_gets_map_stacked_and_trend_figures_with_bands(tmp_path):
    t = np.linspace(0.0, 58.0, 30)
    r_true = 1.0 + 1.5 * t / 58.0  # growth r 1 -> 2.5 nm
    phi_true = 1e-4 * (1 + t / 20)
    area = np.clip(1.0 - t / 10.0, 0, None) * 5.0  # the mesophase melts in the first 10 s
    cfg, outcomes, root = make_axis_run(
        tmp_path,
        "time_s",
        list(t),
        radii=list(r_true),
        phis=list(phi_true),
        peak_areas=list(area),
        extra_conditions={"growth_temperature_C": 230.0},
    )
    write_report(cfg, outcomes, root)
    series = collect(cfg, outcomes, root)
    assert series.axis.text == "time (s)"
    # map: every time point, a column per time, radius on y
    fmap = series_map_figure(series)
    mesh = fmap.axes[0].collections[0]
    assert mesh.get_array().shape == (CENTERS.size, t.size)
    # stacked curves: thinned to 24 of 30, said in the title
    dist = distributions_figure(series)
    assert "24 of 30 shown" in dist.axes[0].get_title()
    # trends: volume fraction, mean radius, Bragg-peak area, each with a +-1 sigma band
    axes = series_trends_figure(series).axes
    assert [a.get_ylabel() for a in axes] == ["total volume fraction", "radius (nm)", "Bragg-peak area"]
    mean = axes[1].get_lines()[0].get_ydata()
    np.testing.assert_allclose(mean, r_true, rtol=0.02)  # volume-weighted mean of a narrow Gaussian ~ its centre
    np.testing.assert_allclose(axes[0].get_lines()[0].get_ydata(), phi_true, rtol=1e-9)
    np.testing.assert_allclose(axes[2].get_lines()[0].get_ydata(), area, atol=1e-12)
    for ax in axes:
        band = ax.collections[0].get_paths()[0].vertices[:, 1]
        assert np.ptp(band) > 0  # a band of finite width is drawn
    rows = json.loads((root / "summary.json").read_text())["samples"]
    assert all(r["mean_radius_nm_std"] > 0 for r in rows)
    # no empty CdSe condition fields on a time series; its own conditions are there
    assert all("nucleation_temperature_C" not in r and r["conditions"]["growth_temperature_C"] == 230 for r in rows)
    np.testing.assert_allclose([r["bragg_peak_area"] for r in rows], area)
    html = (root / "report.html").read_text(encoding="utf-8")
    assert "Series: size distributions and trends against time" in html
    imgs = active_content(html).images
    assert len(imgs) == 4 and all(is_png(i) for i in imgs)  # map, trends, stacked distributions, curves


def test_condition_keys_and_values_with_markup_are_escaped(tmp_path):
    key = "flow" + EVIL
    cfg, outcomes, root = make_axis_run(
        tmp_path, key, [1.0, 2.0], radii=[1.0, 1.2], phis=[1e-4, 2e-4], extra_conditions={"note" + EVIL: "x" + EVIL}
    )
    write_report(cfg, outcomes, root)
    pages = [root / "report.html", *sorted((root / "samples").glob("*.html"))]
    for p in pages:
        text = p.read_text(encoding="utf-8")
        assert active_content(text).found == [], p.name
        assert "<script>" not in text and "&lt;script&gt;" in text
    doc = json.loads((root / "summary.json").read_text())
    assert doc["samples"][0]["conditions"]["note" + EVIL] == "x" + EVIL  # data kept verbatim in JSON


def test_legacy_manifests_and_config_give_the_same_rows_as_conditions(tmp_path):
    """A CdSe series: rows are identical whether conditions come from new manifests, old manifests or the config."""
    from .test_report import make_run

    cfg, outcomes, root = make_run(tmp_path, figures=False)
    docs = []
    for style in ("config", "legacy", "conditions"):
        for s in cfg.samples:
            cond = {
                "nucleation_temperature_C": s.nucleation_temperature_C,
                "growth_temperature_C": s.growth_temperature_C,
                "reaction_time_s": s.reaction_time_s,
            }
            meta = (
                {"kind": "sample", **cond}
                if style == "legacy"
                else {"kind": "sample", "conditions": cond, "series_axis": "nucleation_temperature_C", **cond}
            )
            p = root / "steps" / "reduce" / s.name / "manifest.json"
            if style == "config":
                p.unlink(missing_ok=True)
            else:
                write_json_atomic(p, {"settings": {"metadata": meta}})
        write_report(cfg, outcomes, root)
        docs.append(json.loads((root / "summary.json").read_text()))
    assert docs[0]["samples"] == docs[1]["samples"] == docs[2]["samples"]
    assert docs[0]["readout"] == docs[2]["readout"]
    r = docs[0]["samples"][0]
    assert (r["nucleation_temperature_C"], r["growth_temperature_C"], r["reaction_time_s"]) == (190, 230, 1.5)
    assert r["series_axis"] == "nucleation_temperature_C" and r["series_value"] == 190
    header = (root / "summary.csv").read_text().splitlines()[0].split(",")
    assert header[:4] == ["kind", "name", "nucleation_temperature_C", "temperature_C"]
    assert header[-4:] == ["bragg_peak_area", "bragg_peak_area_std", "series_axis", "series_value"]
    # the CdSe sections are all there, and the disagreement rule is stated where the flags are shown
    html = (root / "report.html").read_text(encoding="utf-8")
    for section in (
        "Series read-out",
        "Magic-size families",
        "Family fractions vs nucleation temperature",
        "Precursor blanks and mesophase",
        "Mesophase melting",
    ):
        assert section in html, section
    page = (root / "samples" / f"{cfg.samples[0].name}.html").read_text(encoding="utf-8")
    assert all("holds the whole resolved volume by construction" in t for t in (html, page))
    assert docs[0]["readout_rule"]["disagreement_rule"].startswith("A present family disagrees")


# ----------------------------------------------------------------------
# issue 12: the MC-vs-decomposition disagreement rule
def _dec(**shares: FamilyShare) -> Decomposition:
    return Decomposition(dict(shares), shares.pop("continuous", None), 0.4, 1.0, ())


def test_a_sole_family_is_not_flagged_against_its_mc_window():
    sole = FamilyShare(1.0, 0.0, "present")
    absent = FamilyShare(0.0, math.nan, "absent", 0.0155)
    dec = _dec(a=sole, b=absent)
    # the shipped nuc190C case: MC window 0.936 +- 0.011 vs decomposition 1 +- 0 was flagged before
    assert _disagree(0.936, 0.011, sole, dec) is None
    # ... but its neighbour's window holding 0.056 +- 0.009 against an upper limit 0.0155 still is
    assert _disagree(0.056, 0.009, absent, dec) is True
    # an absent family is compared with its upper limit, using the MC share's own uncertainty
    assert _disagree(0.03, 0.01, FamilyShare(0.0, math.nan, "absent", 0.02), dec) is False
    assert _disagree(0.0, 0.0, FamilyShare(0.0, math.nan, "absent", 0.02), dec) is False
    assert _disagree(0.5, 0.1, FamilyShare(math.nan, math.nan, "unresolved"), dec) is None


def test_two_present_families_or_a_continuous_population_are_compared():
    a, b = FamilyShare(0.708, 0.005, "present"), FamilyShare(0.292, 0.005, "present")
    dec = _dec(a=a, b=b)
    assert _disagree(0.556, 0.029, a, dec) is True  # 0.152 > 2 * 0.029
    assert _disagree(0.70, 0.029, a, dec) is False
    one = FamilyShare(0.8, 0.02, "present")
    with_cont = Decomposition({"a": one}, FamilyShare(0.2, 0.02, "present"), 0.4, 1.0, ())
    assert _disagree(0.5, 0.02, one, with_cont) is True  # not sole: a continuous population shares the volume


def test_volume_weighted_mean_and_its_uncertainty_follow_first_order_propagation():
    rng = np.random.default_rng(3)
    v = _gauss_vf(1.3, 1e-4)
    s = 0.05 * v
    mean, sd = volume_weighted_mean(CENTERS, v, s)
    assert abs(mean - 1.3) < 0.02 * 1.3
    draws = [volume_weighted_mean(CENTERS, v + s * rng.standard_normal(v.size), s)[0] for _ in range(4000)]
    assert abs(np.std(draws) / sd - 1) < 0.1  # Monte Carlo spread matches the propagated sigma
    assert volume_weighted_mean(CENTERS, np.zeros_like(v), s) == (None, None)


def test_axis_resolution_follows_the_manifests_then_the_config_then_the_default_rule():
    from saxs_mc.pipeline.report.axis import Conditions, axis_value, resolve_axis

    cfg = SimpleNamespace()  # an older configuration: no [series]
    legacy = [Conditions({"nucleation_temperature_C": t, "growth_temperature_C": 230.0}, None) for t in (190.0, 200.0)]
    assert resolve_axis(cfg, legacy).key == "nucleation_temperature_C"
    flow = [Conditions({"flow_rate_ml_min": f, "solvent": "toluene"}, None) for f in (0.5, 1.0)]
    assert resolve_axis(cfg, flow).key == "flow_rate_ml_min"  # the single numeric key every sample shares
    two = [Conditions({"a_s": 1.0, "b_C": 2.0}, None)] * 2
    ax = resolve_axis(cfg, two)
    assert ax.key == "index" and [axis_value(ax, c, i) for i, c in enumerate(two)] == [0.0, 1.0]
    series = SimpleNamespace(series=SimpleNamespace(axis="b_C", label="bath temperature", unit="°C"))
    assert resolve_axis(series, two).text == "bath temperature (°C)"  # the configuration's own label
    recorded = [Conditions({"a_s": 1.0, "b_C": 2.0}, "a_s")] * 2
    assert resolve_axis(series, recorded).text == "a (s)"  # what the manifests record wins


def test_cli_table_has_family_columns_only_with_a_readout(tmp_path):
    """The final log table of `saxs-mc run`: no growth/family/Yu columns for a series without families."""
    import json
    import types

    from saxs_mc.pipeline.report import format_summary_table

    row = {
        "sample": "t000",
        "series_value": 3.0,
        "status": "ok",
        "growth": "not assessed",
        "family_label": None,
        "dominant_radius_nm": 1.0,
        "mean_radius_nm": 1.2,
        "total_volume_fraction": 3.6e-4,
        "chi2_r": 1.2,
        "n_rejected": 0,
        "yu_absorption_nm": None,
    }
    doc = {"series_axis": {"key": "flow_rate_ml_min"}, "samples": [row], "readout": {"text": []}, "failures": []}
    (tmp_path / "summary.json").write_text(json.dumps(doc))
    text = format_summary_table(types.SimpleNamespace(root=tmp_path))
    assert "family" not in text and "lamYu" not in text and "0.00036" in text and "flow_rate_ml_min" in text
    doc["samples"] = [{**row, "growth": "quantized", "family_label": "CdSe-437", "yu_absorption_nm": 442.0}]
    (tmp_path / "summary.json").write_text(json.dumps(doc))
    text = format_summary_table(types.SimpleNamespace(root=tmp_path))
    assert "CdSe-437" in text and "lamYu" in text and "quantized" in text
