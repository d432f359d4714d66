"""``lnfusion validate`` on a fixture manifest and on a study-layout folder."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from PIL import Image

from lnfusion.cli import main


def _png(path, colour=False):
    path.parent.mkdir(parents=True, exist_ok=True)
    shape = (16, 24, 3) if colour else (16, 24)
    Image.fromarray(np.full(shape, 100, np.uint8)).save(path)


@pytest.fixture
def manifest(tmp_path):
    rows = []
    for i, (label, site) in enumerate([("metastatic", "A"), ("lymphoma", "A"), ("benign", "B"),
                                       ("benign", "B"), ("lymphoma", "B")]):
        _png(tmp_path / "img" / f"b{i}.png")
        if i != 3:
            _png(tmp_path / "img" / f"c{i}.png", colour=True)
        rows.append({"patient_id": f"P{i}", "label": label, "site": site, "bmode": f"img/b{i}.png",
                     "cdfi": f"img/c{i}.png" if i != 3 else ""})
    pd.DataFrame(rows).to_csv(tmp_path / "manifest.csv", index=False)
    return tmp_path / "manifest.csv"


@pytest.fixture
def study(tmp_path):
    for mdir, stems in {"2d": {"0": ["1-1", "1-2"], "1": ["2-1"], "2": ["3-1"]},
                        "cdfi": {"0": ["1-1"], "1": ["2-1"]}, "elastic": {"0": ["1-1"], "2": ["3-1"]}}.items():
        for cls, names in stems.items():
            for stem in names:
                _png(tmp_path / "study" / mdir / cls / f"{stem}.jpg", colour=mdir != "2d")
    return tmp_path / "study"


def test_valid_manifest_prints_summary(manifest):
    result = CliRunner().invoke(main, ["validate", str(manifest)])
    assert result.exit_code == 0, result.output
    out = result.output
    for needle in ("patients: 5", "nodes: 5", "sites: 2", "Images per modality", "nodes missing",
                   "Class balance per site", "default schema"):
        assert needle in out
    cdfi_line = next(line for line in out.splitlines() if line.strip().startswith("cdfi"))
    assert cdfi_line.split()[1:] == ["4", "4", "1"]  # images, nodes with, nodes missing


def test_invalid_manifest_lists_every_error_and_fails(manifest):
    df = pd.read_csv(manifest, dtype=str, keep_default_na=False)
    df.loc[1, "label"] = "lymphom"
    df.loc[2, "bmode"] = "img/gone.png"
    df.to_csv(manifest, index=False)
    result = CliRunner().invoke(main, ["validate", str(manifest)])
    assert result.exit_code == 1
    assert "2 errors" in result.output
    assert "UnknownLabelError" in result.output and "row 3 (position 1), column 'label'" in result.output
    assert "MissingImageError" in result.output and "gone.png" in result.output
    skip = CliRunner().invoke(main, ["validate", str(manifest), "--no-check-images", "--json"])
    payload = json.loads(skip.output)
    assert skip.exit_code == 1 and [e["type"] for e in payload["errors"]] == ["UnknownLabelError"]
    assert payload["errors"][0]["row"] == 1 and payload["errors"][0]["column"] == "label"


def test_study_layout(study):
    result = CliRunner().invoke(main, ["validate", "--study-layout", str(study),
                                       "--class-map", "0=metastatic,1=lymphoma,2=benign"])
    assert result.exit_code == 0, result.output
    assert "patients: 3" in result.output and "(study layout)" in result.output
    assert "2 of 3 patients lack at least one modality" in result.output
    assert "3: no cdfi" in result.output
    missing = CliRunner().invoke(main, ["validate", "--study-layout", str(study)])
    assert missing.exit_code == 2 and "--class-map" in missing.output
    wrong = CliRunner().invoke(main, ["validate", "--study-layout", str(study), "--class-map", "0=a,1=b"])
    assert wrong.exit_code == 1 and "class folder '2' is not in the class map" in wrong.output


def test_needs_exactly_one_input(manifest, study):
    result = CliRunner().invoke(main, ["validate"])
    assert result.exit_code == 2 and "either MANIFEST or --study-layout" in result.output


def test_patient_at_two_sites_warns_and_fails_under_strict(manifest):
    df = pd.read_csv(manifest, dtype=str, keep_default_na=False)
    df["node_id"] = ["1"] * len(df)
    second = df.iloc[[0]].assign(node_id="2", site="B")  # P0's second node, at the other site
    pd.concat([df, second]).to_csv(manifest, index=False)
    result = CliRunner().invoke(main, ["validate", str(manifest)])
    assert result.exit_code == 0, result.output
    assert "warning: ManifestError" in result.output
    assert "patient 'P0' has nodes at 2 sites ('A' on row 2 (position 0); 'B' on row 7 (position 5))" \
        in result.output
    payload = json.loads(CliRunner().invoke(main, ["validate", str(manifest), "--json"]).output)
    assert payload["ok"] and payload["warnings"][0]["row"] == 5
    assert payload["warnings"][0]["column"] == "site"
    strict = CliRunner().invoke(main, ["validate", str(manifest), "--strict"])
    assert strict.exit_code == 1 and "1 error" in strict.output and "'P0' has nodes at 2 sites" \
        in strict.output
    from lnfusion.data import Cohort

    with pytest.warns(UserWarning, match="'P0' has nodes at 2 sites"):
        Cohort.from_manifest(manifest)


def test_validate_counts_dicom_images_per_modality(manifest):
    pytest.importorskip("pydicom")
    from dicom_files import write_dicom

    root = manifest.parent
    frames = np.stack([np.full((16, 24), v, np.uint8) for v in (10, 20, 30)])
    write_dicom(root / "img" / "cine.dcm", frames, syntax="rle")
    table = pd.read_csv(manifest, dtype=str, keep_default_na=False)
    table.loc[0, "bmode"] = "img/cine.dcm"
    table.to_csv(manifest, index=False)
    result = CliRunner().invoke(main, ["validate", str(manifest)])
    assert result.exit_code == 0, result.output
    assert "DICOM images per modality" in result.output
    # dicom, compressed, multi-frame, with-region
    assert any(s.split() == ["bmode", "1", "1", "1", "0"] for s in result.output.splitlines())
    result = CliRunner().invoke(main, ["validate", str(manifest), "--json"])
    counts = json.loads(result.output)["summary"]["dicom_per_modality"]
    assert counts["bmode"] == {"dicom": 1, "compressed": 1, "multi_frame": 1, "with_region": 0}
    assert counts["cdfi"]["dicom"] == 0
