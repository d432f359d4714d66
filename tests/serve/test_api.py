"""The JSON API against the real application: answers, and a 4xx naming the field for bad input."""
from __future__ import annotations

import base64
import io
import json
import logging
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from .conftest import ServerThread, multipart, png_bomb


@pytest.fixture(scope="module")
def upload_root(tmp_path_factory) -> Path:
    """Where the app makes each request's temporary folder (checked empty afterwards)."""
    return tmp_path_factory.mktemp("uploads")


@pytest.fixture(scope="module")
def app(predictor, upload_root):
    from lnfusion.serve import ServeSettings, UploadLimits, create_app

    return create_app(predictor, ServeSettings(limits=UploadLimits(max_file_bytes=200_000,
                                                                   max_images=3),
                                               upload_dir=upload_root))


@pytest.fixture(scope="module")
def client(app):
    from fastapi.testclient import TestClient

    with TestClient(app) as c:
        yield c


def _post(client, images, values, **extra):
    files, data = multipart(images, values)
    data.update(extra)
    return client.post("/api/predict", files=files, data=data)


def _expected(demo_fitted, row: int) -> np.ndarray:
    return demo_fitted.model.predict_proba(demo_fitted.test)[row]


def test_health_schema_and_openapi(client, predictor):
    health = client.get("/healthz").json()
    assert health["status"] == "ok" and health["classes"] == list(predictor.model.classes_)
    schema = client.get("/api/schema").json()
    assert [f["name"] for f in schema["images"]] == ["bmode", "cdfi", "elasto"]
    assert {f["max_images"] for f in schema["images"]} == {3}    # the server's limit
    declared = predictor.form.schema.descriptors
    for d in schema["descriptors"]:
        if declared[d["name"]].is_categorical:
            assert d["levels"] == [str(v) for v in declared[d["name"]].levels]
        else:
            assert "unit" in d
    assert {d["name"] for d in schema["descriptors"]} <= set(declared)
    spec = client.get("/openapi.json").json()
    body = spec["paths"]["/api/predict"]["post"]["requestBody"]["content"]["multipart/form-data"]
    assert set(body["schema"]["properties"]) >= {"bmode", "cdfi", "elasto", "card"}
    docs = client.get("/docs")
    assert docs.status_code == 200 and "/api/predict" in docs.text
    assert "cdn" not in docs.text.lower() and "http://" not in docs.text


def test_page_has_a_field_per_modality_and_descriptor_and_no_external_resource(client, predictor):
    page = client.get("/").text
    for m in predictor.form.image_fields:
        assert f"type='file' name='{m}'" in page
    for d in predictor.form.descriptor_fields:
        assert f"name='{d}'" in page
    assert "<option value='irregular'>" in page or "irregular" not in str(predictor.form.schema)
    assert "http://" not in page and "https://" not in page


def test_predict_matches_the_model_and_explains_every_image(client, patients, demo_fitted,
                                                             upload_root):
    images, values, row = patients[0]
    response = _post(client, images, values, card="true")
    assert response.status_code == 200, response.text
    r = response.json()
    fused = np.array([r["probabilities"]["fused"][c] for c in r["classes"]])
    np.testing.assert_allclose(fused, _expected(demo_fitted, row), rtol=1e-6, atol=1e-9)
    assert r["predicted"] == r["classes"][int(np.argmax(fused))]
    assert set(r["probabilities"]["branches"]) == set(demo_fitted.model.branch_names_)
    assert r["missing_modalities"] == [m for m, p in images.items() if not p]
    n_images = sum(len(p) for p in images.values())
    assert len(r["images"]) == n_images > 0
    from PIL import Image

    for im in r["images"]:
        with Image.open(io.BytesIO(base64.b64decode(im["overlay_png"]))) as png:
            assert png.format == "PNG" and png.size[0] > 0
    branches = [v["branch"] for v in r["modality_contributions"]["values"]]
    assert branches == list(demo_fitted.model.branch_names_)
    assert {v["descriptor"] for v in r["descriptor_contributions"]["values"]} \
        == set(client.app.state.predictor.form.descriptor_fields)
    assert r["card_html"].startswith("<!DOCTYPE html>") and "data:image/png;base64," in r["card_html"]
    assert list(upload_root.iterdir()) == []   # the request's folder is gone


def test_a_missing_modality_is_predicted_from_the_other_branches(client, patients):
    images, values, _ = patients[1]
    images = {**images, "elasto": []}
    r = _post(client, images, values).json()
    assert "elasto" in r["missing_modalities"]
    assert r["probabilities"]["branches"]["elasto"] is None
    assert all(im["modality"] != "elasto" for im in r["images"])
    assert "card_html" not in r
    assert abs(sum(r["probabilities"]["fused"].values()) - 1) < 1e-6


def test_jpeg_uploads_are_read_whatever_their_name(client, patients, tmp_path):
    from PIL import Image

    images, values, _ = patients[0]
    jpegs = []
    for i, path in enumerate(images["cdfi"] or images["bmode"]):
        with Image.open(path) as im:
            out = tmp_path / f"scan_{i}.png"       # a JPEG under a .png name: content decides
            im.convert("RGB").save(out, format="JPEG", quality=95)
        jpegs.append(out)
    field = "cdfi" if images["cdfi"] else "bmode"
    r = _post(client, {**images, field: jpegs}, values)
    assert r.status_code == 200, r.text
    assert sum(im["modality"] == field for im in r.json()["images"]) == len(jpegs)


def test_an_empty_value_is_a_descriptor_not_recorded(client, patients):
    images, values, _ = patients[0]
    name = next(iter(values))
    r = _post(client, images, {**values, name: ""}).json()
    row = {v["descriptor"]: v["value"] for v in r["descriptor_contributions"]["values"]}
    assert row[name] is None


def _refused(response, status: int, field: str | None, *words: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["field"] == field
    for w in words:
        assert w in body["detail"], body["detail"]
    return body["detail"]


def test_a_text_file_renamed_png_is_refused(client, patients, upload_root):
    images, values, _ = patients[0]
    files, data = multipart(images, values)
    files.append(("cdfi", ("scan.png", b"this is not an image, only a renamed text file\n" * 10,
                           "image/png")))
    _refused(client.post("/api/predict", files=files, data=data), 415, "cdfi",
             "'cdfi'", "not a PNG, JPEG or DICOM image", "scan.png")
    assert list(upload_root.iterdir()) == []


def test_a_truncated_png_is_refused(client, patients):
    images, values, _ = patients[0]
    files, data = multipart(images, values)
    good = images["bmode"][0].read_bytes()
    files.append(("bmode", ("cut.png", good[: len(good) // 3], "image/png")))
    _refused(client.post("/api/predict", files=files, data=data), 422, "bmode", "'bmode'",
             "cut.png")


def test_an_oversized_upload_is_refused_before_it_is_stored(client, patients, upload_root):
    images, values, _ = patients[0]
    files, data = multipart(images, values)
    files.append(("bmode", ("huge.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 300_000, "image/png")))
    _refused(client.post("/api/predict", files=files, data=data), 413, "bmode",
             "larger than the limit of 0.2 MB")
    assert list(upload_root.iterdir()) == []


def test_a_decompression_bomb_is_refused_from_its_header(client, patients):
    images, values, _ = patients[0]
    files, data = multipart(images, values)
    bomb = png_bomb()
    assert len(bomb) < 100_000
    files.append(("elasto", ("bomb.png", bomb, "image/png")))
    _refused(client.post("/api/predict", files=files, data=data), 422, "elasto",
             "'elasto'", "30000x30000", "decompression bomb")


def test_an_unknown_level_is_refused(client, patients, predictor):
    images, values, _ = patients[0]
    name = next(d for d in predictor.form.descriptor_fields
                if predictor.form.schema.descriptors[d].is_categorical)
    detail = _refused(_post(client, images, {**values, name: "purple"}), 422, name,
                      f"'{name}'", "unknown level 'purple'")
    assert str(list(str(v) for v in predictor.form.schema.descriptors[name].levels)) in detail


def test_a_non_number_is_refused(client, patients, predictor):
    images, values, _ = patients[0]
    name = next(d for d in predictor.form.descriptor_fields
                if not predictor.form.schema.descriptors[d].is_categorical)
    _refused(_post(client, images, {**values, name: "12 mm"}), 422, name, "expected a number")
    _refused(_post(client, images, {**values, name: "inf"}), 422, name, "expected a number")


def test_a_missing_required_field_is_refused(client, patients):
    images, values, _ = patients[0]
    name = sorted(values)[0]
    values = {k: v for k, v in values.items() if k != name}
    _refused(_post(client, images, values), 422, name, "missing required field", f"'{name}'")


def test_too_many_images_are_refused(client, patients):
    images, values, _ = patients[0]
    one = images["bmode"][0]
    _refused(_post(client, {**images, "bmode": [one] * 4}, values), 422, "bmode",
             "too many images (more than 3)")


def test_unknown_fields_and_wrong_bodies_are_refused(client, patients):
    images, values, _ = patients[0]
    _refused(_post(client, images, {**values, "histology": "x"}), 422, "histology",
             "unknown field 'histology'")
    files, data = multipart(images, values)
    files.append(("age", ("age.png", images["bmode"][0].read_bytes(), "image/png")))
    _refused(client.post("/api/predict", files=files, data=data), 422, "age", "got a file")
    _refused(client.post("/api/predict", json={"age": 3}), 415, None, "multipart/form-data")


def test_dicom_identifiers_never_reach_responses_or_logs(client, patients, tmp_path, caplog):
    from dicom_files import IDENTIFIERS, write_dicom
    from PIL import Image

    images, values, _ = patients[0]
    with Image.open(images["bmode"][0]) as im:
        grey = np.asarray(im.convert("L"))
    good = write_dicom(tmp_path / "a.dcm", grey)
    broken = write_dicom(tmp_path / "b.dcm", grey)
    raw = broken.read_bytes()
    broken.write_bytes(raw[: len(raw) - grey.size // 2])   # pixel data cut short
    caplog.set_level(logging.DEBUG)
    ok = _post(client, {**images, "bmode": [good]}, values)
    assert ok.status_code == 200, ok.text
    assert ok.json()["images"][0]["modality"] == "bmode"
    bad = _post(client, {**images, "bmode": [broken]}, values)
    assert bad.status_code == 422 and bad.json()["field"] == "bmode"
    answer = ok.json()
    for im in answer["images"]:   # base64 pixels: digits such as 1977 occur there by chance
        im.pop("overlay_png")
    text = json.dumps(answer) + bad.text + caplog.text
    for word in IDENTIFIERS:
        assert word not in text


def test_concurrent_requests_get_their_own_answers(app, patients):
    """8 threads, 3 rounds over 6 patients on a real uvicorn server: each answer is its patient's."""
    import httpx

    chosen = patients[:6]
    with ServerThread(app) as server, httpx.Client(base_url=server.url, timeout=120) as http:
        def post(p):
            files, data = multipart(p[0], p[1])
            r = http.post("/api/predict", files=files, data=data)
            assert r.status_code == 200, r.text
            return r.json()["probabilities"]["fused"]

        alone = [post(p) for p in chosen]
        with ThreadPoolExecutor(8) as pool:
            together = list(pool.map(post, chosen * 3))
    for k, answer in enumerate(together):
        assert answer == alone[k % len(chosen)]
