"""The batch report: nothing executable from data, summary tables that load in pandas, atomic writes, pages.

The report is written from hand-made step outcomes (the result schemas of
:mod:`saxs_mc.pipeline.report`), so these tests do not depend on the engine.
"""

from __future__ import annotations

import base64
import dataclasses
import errno
import json
import logging
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from saxs_mc.io.atomic import write_json_atomic
from saxs_mc.io.curves import Curve, write_curve_ascii
from saxs_mc.pipeline.config import load_config
from saxs_mc.pipeline.report import UnsafeOutputError, summary_csv, write_report
from saxs_mc.pipeline.report.figures import is_png
from saxs_mc.pipeline.report.model import collect

from .fakes import make_experiment

EVIL = '"><script>alert(1)</script><img src=x onerror=alert(2)><a href="javascript:alert(3)">x</a> $\\frac{'  # + bad mathtext
Q = np.geomspace(0.2, 6.0, 80)
EDGES = np.geomspace(0.4, 4.0, 41)
CENTERS = np.sqrt(EDGES[1:] * EDGES[:-1])


# ----------------------------------------------------------------------
# a hand-made run
def _outcome(sid: str, result: dict | None, status: str = "done", error: str | None = None) -> SimpleNamespace:
    return SimpleNamespace(id=sid, status=status, result=result, error=error)


def _curve(root: Path, rel: str, title: str, r: float) -> str:
    inten = 1e-2 * np.exp(-((Q * r) ** 2) / 5) + 1e-4
    write_curve_ascii(root / rel, Curve(Q, inten, 0.03 * inten, "1/cm", title))
    return rel


def _digest(root: Path, rel: str, r0: float, seed: int) -> str:
    rng = np.random.default_rng(seed)
    vf = np.exp(-0.5 * ((CENTERS - r0) / (0.03 * r0)) ** 2) * 1e-4
    model = 1e-2 * np.exp(-((Q * r0) ** 2) / 5) + 1e-4
    write_json_atomic(
        root / rel,
        {
            "radius_centers_nm": CENTERS.tolist(),
            "radius_edges_nm": EDGES.tolist(),
            "volume_fraction": vf.tolist(),
            "volume_fraction_std": (0.05 * vf).tolist(),
            "bin_scale": "log",
            "q_nm": Q.tolist(),
            "intensity": (model * (1 + 0.03 * rng.standard_normal(Q.size))).tolist(),
            "sigma": (0.03 * model).tolist(),
            "model": model.tolist(),
            "chi2_r": 1.01,
            "chi2_r_per_repetition": [1.0, 1.02],
            "intensity_unit": "1/cm",
            "absolute": True,
            "total_volume_fraction": float(vf.sum()),
        },
    )
    return rel


def make_run(tmp_path: Path, *, evil: bool = False, figures: bool = True):
    """A config (names/description with markup when ``evil``) and step outcomes with real output files."""
    cfg = load_config(make_experiment(tmp_path, series=[(190, 0.87, 0.02), (250, 1.15, 0.12)], blanks=(230, 25)))
    cfg = dataclasses.replace(cfg, output=dataclasses.replace(cfg.output, figures=figures))
    if evil:  # bypass config validation: the report must be safe whatever the names are
        blanks = tuple(dataclasses.replace(b, name=b.name + EVIL) for b in cfg.blanks)
        samples = tuple(dataclasses.replace(s, name=s.name + EVIL, blank=None) for s in cfg.samples)
        cfg = dataclasses.replace(cfg, name="series" + EVIL, description="about" + EVIL, samples=samples, blanks=blanks)
    root = Path(cfg.output.dir)
    root.mkdir(parents=True, exist_ok=True)
    tag = EVIL if evil else ""
    out = {}
    for i, s in enumerate(cfg.samples):
        r0 = (0.87, 1.15)[i]
        d = f"steps/x/s{i}"
        frames = [{"file": f"/data/f{i}{tag}.edf", "rejected": True, "reason": f"header Intensity1 = {tag or 'nan'}"}]
        out[f"reduce/{s.name}"] = _outcome(
            f"reduce/{s.name}",
            {
                "outputs": {"curve": _curve(root, f"{d}/raw.dat", s.name, r0)},
                "n_frames": 2,
                "n_rejected": 1,
                "rejected": [f"/data/f{i}{tag}.edf"],
                "frames": frames,
            },
        )
        out[f"subtract/{s.name}"] = _outcome(
            f"subtract/{s.name}",
            {"outputs": {"curve": _curve(root, f"{d}/sub.dat", s.name + tag, r0), "evil" + tag: "javascript:alert(4)"}},
        )
        out[f"fit/{s.name}"] = _outcome(
            f"fit/{s.name}", {"outputs": {"digest": _digest(root, f"{d}/dg.json", r0, i)}, "chi2_r": 1.01}
        )
        fams = [w.display for w in cfg.fit.populations if w.family_radius_nm]
        terms = [
            {
                "name": n,
                "kind": "family",
                "status": "present" if k == 0 else "absent",
                "share": (1.0, 0.0)[min(k, 1)] if i == 0 else 0.0,
                "share_std": 0.02,
                "share_upper": 0.05,
            }
            for k, n in enumerate(fams)
        ]
        terms.append(
            {"name": "continuous", "kind": "continuous", "status": "present", "share": float(i), "share_std": 0.01}
        )
        out[f"families/{s.name}"] = _outcome(
            f"families/{s.name}",
            {"outputs": {}, "terms": terms, "resolvable_radius_nm": 0.43, "chi2_r": 1.0, "warnings": ["poor" + tag]},
        )
        out[f"optical/{s.name}"] = _outcome(
            f"optical/{s.name}",
            {
                "outputs": {},
                "peaks": [
                    {"wavelength_nm": 403.0, "height": 0.1, "family": fams[0], "diameter_nm": 1.58},
                    {"wavelength_nm": 520.0, "height": 0.2, "family": "x" + tag},
                ],
            },
        )
    for j, b in enumerate(cfg.blanks):
        peaks = (
            [{"q_nm": 1.84, "q_err": 0.001, "d_nm": 3.41, "fwhm": 0.05, "area": 1.0, "significance": 40.0}]
            if b.temperature_C < 75
            else []
        )
        out[f"reduce/{b.name}"] = _outcome(
            f"reduce/{b.name}",
            {
                "outputs": {"curve": _curve(root, f"steps/x/b{j}/raw.dat", b.name, 0.3)},
                "n_frames": 2,
                "n_rejected": 0,
                "rejected": [],
            },
        )
        out[f"peaks/{b.name}"] = _outcome(
            f"peaks/{b.name}",
            {
                "outputs": {},
                "peaks": peaks,
                "phase": {"name": ("lamellar" + tag) if peaks else "none", "lattice_nm": 3.41 if peaks else None},
            },
        )
    out["mesophase/series"] = _outcome(
        "mesophase/series",
        {
            "outputs": {},
            "temperatures_C": [25.0, 230.0],
            "intensity": [1.0, 0.0],
            "melting_temperature_C": 80.0,
            "melting_bracket_C": [25.0, 230.0],
            "melting_method": "bracket" + tag,
        },
    )
    out["fit/failed"] = _outcome("fit/failed" + tag, None, "failed", "OSError: " + tag)
    return cfg, out, root


# ----------------------------------------------------------------------
class ActiveContent(HTMLParser):
    """Collects anything a browser could execute or load: scripts, event handlers, script URLs, non-PNG data."""

    URL_ATTRS = {"href", "src", "action", "formaction", "xlink:href", "data", "srcdoc", "background", "poster"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self.images: list[bytes] = []

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "iframe", "object", "embed", "base", "form", "svg", "math"):
            self.found.append(f"<{tag}>")
        for k, v in attrs:
            v = (v or "").strip().lower()
            if k.startswith("on"):
                self.found.append(f"{tag}@{k}")
            if k in self.URL_ATTRS and v.startswith(("javascript:", "vbscript:")):
                self.found.append(f"{tag}@{k}={v[:30]}")
            if k in self.URL_ATTRS and v.startswith("data:"):
                head, _, payload = (v or "").partition(",")
                if head != "data:image/png;base64":
                    self.found.append(f"{tag}@{k}={head}")
                else:
                    try:
                        self.images.append(base64.b64decode(dict(attrs)[k].partition(",")[2], validate=True))
                    except ValueError:
                        self.found.append(f"{tag}@{k}: data URI that is not base64")
            if tag == "meta" and k == "http-equiv" and v == "refresh":
                self.found.append("meta refresh")


def active_content(text: str) -> ActiveContent:
    p = ActiveContent()
    p.feed(text)
    p.close()
    return p


def _pages(root: Path) -> list[Path]:
    return [root / "report.html", *sorted((root / "samples").glob("*.html")), *sorted((root / "blanks").glob("*.html"))]


def test_markup_in_names_descriptions_headers_and_figure_cache_is_never_executable(tmp_path, caplog):
    cfg, outcomes, root = make_run(tmp_path, evil=True)
    write_report(cfg, outcomes, root)
    cache = root / ".saxs_mc" / "figures"
    cached = sorted(cache.glob("*.png"))
    assert len(cached) == 6 + 2 + 2  # series figures (incl. map and trends), two sample pages, two blank pages
    # the attack of issue 13: crafted cache files (old .b64 name, and the new .png names)
    for p in cached:
        p.write_bytes(b"\x89PNG\r\n\x1a\n" + EVIL.encode() if p.name.startswith("sample") else EVIL.encode())
    for p in ("distributions_0.b64", "curves_1.b64"):
        (cache / p).write_text('x"><script>alert(5)</script>')
    caplog.set_level(logging.WARNING, "saxs_mc.pipeline.report")
    write_report(cfg, outcomes, root)
    assert sum("is not a valid PNG; redrawn" in r.getMessage() for r in caplog.records) == len(cached)
    pages = _pages(root)
    assert len(pages) == 1 + 2 + 2
    n_images = 0
    for page in pages:
        text = page.read_text(encoding="utf-8")
        parsed = active_content(text)
        assert parsed.found == [], (page.name, parsed.found)
        assert all(is_png(img) for img in parsed.images)
        n_images += len(parsed.images)
        assert "<script>" not in text and "&lt;script&gt;" in text  # shown as text, not dropped
    assert n_images == len(cached)
    # the family fields (decomposition warnings, optical family names, family labels) are there, escaped
    sample_pages = [p.read_text(encoding="utf-8") for p in pages if p.parent == root / "samples"]
    assert all("Families: SAXS decomposition" in t and "poor&#34;&gt;&lt;script&gt;" in t for t in sample_pages)
    assert all("x&#34;&gt;&lt;script&gt;" in t for t in sample_pages)
    assert "Family fractions vs nucleation temperature" in pages[0].read_text(encoding="utf-8")
    # pages of names with markup are written inside their folders under a safe file name
    assert all(p.parent in (root, root / "samples", root / "blanks") for p in pages)
    # each cache file was replaced by a real PNG
    assert all(is_png(p.read_bytes()) for p in cached)


def test_output_paths_outside_the_folder_are_neither_read_nor_linked(tmp_path, caplog):
    cfg, outcomes, root = make_run(tmp_path, figures=False)
    secret = tmp_path / "secret.json"
    secret.write_text(json.dumps({"volume_fraction": [1]}))
    s0 = cfg.samples[0].name
    outcomes.pop(f"families/{s0}")  # without a decomposition the read-out rests on the (refused) fit digest
    outcomes[f"fit/{s0}"].result["outputs"]["digest"] = str(secret)  # absolute path out of the folder
    outcomes[f"fit/{s0}"].result["outputs"]["json"] = "../secret.json"
    (root / "steps" / "x" / "link.dat").symlink_to(secret)
    outcomes[f"subtract/{s0}"].result["outputs"]["curve"] = "steps/x/link.dat"
    caplog.set_level(logging.WARNING, "saxs_mc.pipeline.report")
    write_report(cfg, outcomes, root)
    msgs = " ".join(r.getMessage() for r in caplog.records)
    assert msgs.count("outside the output folder") >= 3
    page = (root / "samples" / f"{s0}.html").read_text()
    assert "secret" not in page
    row = json.loads((root / "summary.json").read_text())["samples"][0]
    assert row["growth"] == "undetermined" and row["dominant_radius_nm"] is None


def test_summary_csv_loads_in_pandas_with_uncertainties_and_blank_rows(tmp_path):
    pd = pytest.importorskip("pandas")
    cfg, outcomes, root = make_run(tmp_path, figures=False)
    write_report(cfg, outcomes, root)
    df = pd.read_csv(root / "summary.csv")
    doc = json.loads((root / "summary.json").read_text())
    assert list(df["kind"]) == ["sample"] * 2 + ["blank"] * 2
    assert list(df["name"]) == [r["sample"] for r in doc["samples"]] + [b["blank"] for b in doc["blanks"]]
    smp = df[df["kind"] == "sample"]
    for col in (
        "dominant_radius_nm",
        "dominant_radius_nm_std",
        "total_volume_fraction",
        "total_volume_fraction_std",
        "chi2_r",
        "chi2_r_std",
        "fraction[MSC r=0.87 nm]",
        "fraction_std[MSC r=0.87 nm]",
    ):
        assert np.issubdtype(df[col].dtype, np.floating), col
    np.testing.assert_allclose(smp["dominant_radius_nm"], [r["dominant_radius_nm"] for r in doc["samples"]], rtol=1e-5)
    assert abs(smp["dominant_radius_nm"].iloc[0] - 0.87) < 0.01
    assert (smp["dominant_radius_nm_std"] > 0).all() and (smp["dominant_radius_nm_std"] < 0.05).all()
    np.testing.assert_allclose(smp["chi2_r_std"], np.std([1.0, 1.02], ddof=1), rtol=1e-5)
    blk = df[df["kind"] == "blank"].set_index("name")
    assert blk.loc["blank_025C", "phase"] == "lamellar" and blk.loc["blank_025C", "temperature_C"] == 25
    assert abs(float(blk.loc["blank_025C", "peaks_q_nm"]) - 1.84) < 1e-9
    assert pd.isna(blk.loc["blank_230C", "dominant_radius_nm"])


def test_blank_pages_exist_and_are_linked(tmp_path):
    cfg, outcomes, root = make_run(tmp_path, figures=False)
    write_report(cfg, outcomes, root)
    report = (root / "report.html").read_text()
    for b in cfg.blanks:
        assert f'href="blanks/{b.name}.html"' in report
        page = (root / "blanks" / f"{b.name}.html").read_text()
        assert 'href="../report.html"' in page
    assert "No Bragg peaks found." in (root / "blanks" / "blank_230C.html").read_text()
    assert (
        "3.4100" in (root / "blanks" / "blank_025C.html").read_text()
        or "3.410" in (root / "blanks" / "blank_025C.html").read_text()
    )
    # sample pages link their blank; the melting bracket is stated next to the estimate
    assert 'href="../blanks/blank_230C.html"' in (root / "samples" / f"{cfg.samples[0].name}.html").read_text()
    assert "bracket 25–230 °C" in report


def test_a_failed_write_replaces_nothing_and_leaves_no_temporary_files(tmp_path, monkeypatch):
    cfg, outcomes, root = make_run(tmp_path, figures=False)
    write_report(cfg, outcomes, root)
    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file() and "steps" not in p.parts}
    outcomes[f"fit/{cfg.samples[0].name}"] = _outcome(f"fit/{cfg.samples[0].name}", None, "failed", "worse run")
    real = Path.write_text
    calls = []

    def full_disk(self, *a, **k):
        calls.append(self)
        if len(calls) == 4:
            raise OSError(errno.ENOSPC, "No space left on device", str(self))
        return real(self, *a, **k)

    monkeypatch.setattr(Path, "write_text", full_disk)
    with pytest.raises(OSError) as ei:
        write_report(cfg, outcomes, root)
    assert ei.value.errno == errno.ENOSPC
    monkeypatch.undo()
    after = {p: p.read_bytes() for p in root.rglob("*") if p.is_file() and "steps" not in p.parts}
    assert after == before
    assert not list(root.rglob("*.part"))


def test_symlinked_page_folder_is_refused(tmp_path):
    cfg, outcomes, root = make_run(tmp_path, figures=False)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (root / "samples").symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(UnsafeOutputError, match="symbolic link"):
        write_report(cfg, outcomes, root)
    assert list(elsewhere.iterdir()) == [] and not (root / "report.html").exists()


def test_summary_model_reprs_are_short_and_json_matches_csv(tmp_path):
    cfg, outcomes, root = make_run(tmp_path, figures=False)
    series = collect(cfg, outcomes, root)
    assert len(repr(series)) < 120 and all(len(repr(s)) < 160 for s in series.samples)
    assert len(repr(series.samples[0].digest)) < 120
    assert summary_csv(series).count("\n") == 1 + len(series.samples) + len(series.blanks)
    assert series.samples[0].state.family_label == "CdSe-403"
