"""The served page in real headless Chromium: pick files in the form, submit, read the result.

Set ``LNFUSION_SERVE_SCREENSHOT=path.png`` to keep a screenshot of the answered page
(docs/images/serve_page.png is made this way).
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from .conftest import Browser, ServerThread

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(predictor, tmp_path_factory):
    from lnfusion.serve import ServeSettings, create_app

    uploads = tmp_path_factory.mktemp("page_uploads")
    with ServerThread(create_app(predictor, ServeSettings(upload_dir=uploads))) as running:
        running.uploads = uploads
        yield running


RESULT_JS = """
(() => {
  const imgs = Array.from(document.querySelectorAll('#result img'));
  const link = document.getElementById('card-download');
  return JSON.stringify({
    sections: Array.from(document.querySelectorAll('#result > section')).map(s => s.id),
    heading: document.querySelector('#prediction h2').textContent,
    rows: Array.from(document.querySelectorAll('#prediction tr')).map(r => r.cells[0].textContent),
    missing: document.querySelector('#prediction .missing').textContent,
    images: imgs.length,
    broken: imgs.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.alt),
    card: link ? link.href.slice(0, 5) + ' ' + link.download : null,
    status: document.getElementById('status').textContent,
    external: Array.from(document.querySelectorAll('[src],link[href],script[src]'))
      .map(e => e.getAttribute('src') || e.getAttribute('href'))
      .filter(u => !u.startsWith('data:') && !u.startsWith('blob:')),
  });
})()
"""


def _fill(browser: Browser, images: dict[str, list[Path]], values: dict[str, str]) -> None:
    for modality, paths in images.items():
        if paths:
            browser.set_files(f"#f-{modality}", paths)
    browser.evaluate(f"""(() => {{
        for (const [k, v] of Object.entries({json.dumps(values)}))
            document.getElementById('f-' + k).value = v;
        return true; }})()""")


def test_uploading_through_the_form_shows_the_whole_result(server, chromium, patients, predictor,
                                                           tmp_path):
    images, values, _ = patients[0]
    images = {**images, "cdfi": []}   # one modality left out: reported as missing
    with Browser(chromium) as browser:
        browser.open(server.url + "/")
        _fill(browser, images, values)
        browser.evaluate("document.querySelector('#patient button[type=submit]').click(), true")
        browser.wait_until("document.body.dataset.done === 'true'", timeout=120)
        status = browser.evaluate("document.getElementById('status').textContent")
        shot = os.environ.get("LNFUSION_SERVE_SCREENSHOT")
        if shot:
            browser.screenshot(Path(shot), width=1100)
        browser.allow_downloads(tmp_path)
        browser.evaluate("document.getElementById('card-button').click(), true")
        browser.wait_until("document.body.dataset.card === 'true'", timeout=120)
        card = tmp_path / "explanation_card.html"
        deadline = time.monotonic() + 30
        while not card.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        result = json.loads(browser.evaluate(RESULT_JS))
        problems = browser.problems()
    assert problems == []
    assert result["sections"] == ["prediction", "modalities", "descriptors", "gradcam", "card"]
    classes = list(predictor.model.classes_)
    assert any(result["heading"] == f"Prediction: {c}" for c in classes)
    assert result["rows"][1:] == ["fused model"] + [f"{b} branch" for b in predictor.model.branch_names_]
    assert "cdfi" in result["missing"]
    assert result["images"] == sum(len(p) for p in images.values()) > 0
    assert result["broken"] == []
    assert result["card"] == "blob: explanation_card.html"
    text = card.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and "data:image/png;base64," in text
    assert status.startswith("Done in") and result["status"].startswith("Card ready")
    assert result["external"] == []
    assert list(server.uploads.iterdir()) == []


def test_a_bad_file_shows_the_message_naming_the_field(server, chromium, patients, tmp_path):
    images, values, _ = patients[0]
    fake = tmp_path / "report.png"
    fake.write_text("not an image\n" * 20)
    with Browser(chromium) as browser:
        browser.open(server.url + "/")
        _fill(browser, {**images, "elasto": [fake]}, values)
        browser.evaluate("document.querySelector('#patient button[type=submit]').click(), true")
        status = browser.wait_until(
            "document.getElementById('status').className === 'error' && "
            "document.getElementById('status').textContent", timeout=60)
        marked = browser.evaluate("document.getElementById('f-elasto').classList.contains('bad')")
        shown = browser.evaluate("document.getElementById('result').hidden")
    assert "'elasto'" in status and "report.png" in status and "not a PNG, JPEG or DICOM" in status
    assert marked is True and shown is True
