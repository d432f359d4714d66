"""The demo report: every section and figure present, self-contained, opens cleanly in Chromium.

One small real run (the session's shared demo cohort and fused model: tiny
backbone at 32 px, one epoch) feeds every part of the report, so the test
exercises the renderers the other subpackages own exactly as ``lnfusion demo``
calls them.
"""
from __future__ import annotations

import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg", force=True)

import pytest  # noqa: E402

from lnfusion.exceptions import DataError  # noqa: E402
from lnfusion.report import REPORT_FILENAME, REPORT_SECTIONS, build_demo_report  # noqa: E402

from .browser import load_page  # noqa: E402

pytestmark = pytest.mark.e2e

SECTION_IDS = [sid for sid, _ in REPORT_SECTIONS]

#: Minimum number of figures each section shows when every part is given.
MIN_IMAGES = {"cohort": 1, "table-one": 0, "evaluation": 3, "modality-contributions": 1,
              "descriptor-shap": 2, "explanation-cards": 2}


@pytest.fixture(scope="module")
def run(demo_fitted, tmp_path_factory):
    """A small end-to-end run: cohort, contact sheet, Table 1, fused model, evaluation, explanations.

    The cohort and the fused model are the session's shared ``demo_fitted`` (tests/conftest.py):
    this module tests the report, not the fit.
    """
    from lnfusion.datasets import write_contact_sheet
    from lnfusion.evaluation import evaluate
    from lnfusion.explain import explain
    from lnfusion.stats import table_one

    cohort, model, test = demo_fitted.cohort, demo_fitted.model, demo_fitted.test
    root = tmp_path_factory.mktemp("demo_run")
    sheet = write_contact_sheet(cohort, root / "contact_sheet.png", n_per_class=1)
    df = cohort.descriptors.copy()
    df["label"] = [cohort.classes[k] for k in cohort.y]
    t1 = table_one(df[["age", "shape", "margin", "elasto_score", "label"]], by="label",
                   categorical=["shape", "margin"], continuous=["age"], ordinal=["elasto_score"],
                   class_order=cohort.classes)
    evaluation = evaluate(model, test, n_boot=50)
    explanations = explain(model, test, patients=list(dict.fromkeys(test.groups))[:2])
    return {"cohort": cohort, "contact_sheet": sheet, "table_one": t1,
            "evaluation": evaluation, "explanations": explanations}


@pytest.fixture(scope="module")
def full_report(run, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report")
    return build_demo_report(out, run["cohort"], table_one=run["table_one"],
                             evaluation=run["evaluation"], explanations=run["explanations"],
                             contact_sheet=run["contact_sheet"], n_cards=2)


def test_full_report_opens_with_every_section_and_figure(full_report: Path, chromium: str):
    page = load_page(chromium, full_report)
    assert page.console_errors == []
    probe = page.probe
    assert [s["id"] for s in probe["sections"]] == SECTION_IDS
    for section in probe["sections"]:
        assert not section["omitted"], f"section {section['id']} was omitted"
        assert section["text"] > 100, f"section {section['id']} is nearly empty"
        assert section["images"] >= MIN_IMAGES[section["id"]], section
    assert probe["images"] >= sum(MIN_IMAGES.values())
    assert probe["broken"] == [], f"images that did not load: {probe['broken']}"
    assert probe["external"] == [], f"resources outside the file: {probe['external']}"


def test_report_is_one_self_contained_file(full_report: Path):
    assert full_report.name == REPORT_FILENAME
    assert [p.name for p in full_report.parent.iterdir()] == [REPORT_FILENAME]
    html = full_report.read_text(encoding="utf-8")
    refs = re.findall(r"""\b(?:src|href)\s*=\s*["']([^"']*)["']""", html)
    assert refs and all(r.startswith(("data:image/", "#")) for r in refs), \
        [r[:40] for r in refs if not r.startswith(("data:image/", "#"))]
    assert "<script" not in html
    assert html.count('class="cards"') == 1
    assert "SIMULATED" in html.upper()


def test_missing_parts_become_notes_not_broken_sections(run, tmp_path, chromium: str):
    path = build_demo_report(tmp_path, run["cohort"])
    page = load_page(chromium, path)
    assert page.console_errors == [] and page.probe["broken"] == []
    sections = {s["id"]: s for s in page.probe["sections"]}
    assert list(sections) == SECTION_IDS
    assert not sections["cohort"]["omitted"]
    assert all(sections[sid]["omitted"] for sid in SECTION_IDS[1:])
    html = path.read_text(encoding="utf-8")
    for argument in ("table_one=", "evaluation=", "explanations=", "contact_sheet="):
        assert f"pass {argument}" in html


def test_wrong_kind_of_part_is_refused_with_a_clear_error(run, tmp_path):
    with pytest.raises(DataError, match="EvaluationResult"):
        build_demo_report(tmp_path, run["cohort"], evaluation=run["table_one"])
    with pytest.raises(DataError, match="ExplanationBundle"):
        build_demo_report(tmp_path, run["cohort"], explanations=run["evaluation"])
    with pytest.raises(DataError, match="contact_sheet must be an image file path"):
        build_demo_report(tmp_path, run["cohort"], contact_sheet=42)
    with pytest.raises(DataError, match="n_cards"):
        build_demo_report(tmp_path, run["cohort"], n_cards=-1)
    assert not (tmp_path / REPORT_FILENAME).exists()  # nothing half-written
