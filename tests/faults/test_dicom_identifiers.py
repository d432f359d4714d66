"""No patient identifier stored in a DICOM file reaches any output of any command.

The study's B-mode images are rewritten as DICOM files carrying a patient name,
id, birth date, accession number and institution (the tags a scanner export
holds); ``validate``, ``predict``, ``evaluate`` and ``explain`` then run on it,
and every byte they print or write is searched for those identifiers.  The
manifest's own ``patient_id`` column is the user's pseudonym and may appear.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from PIL import Image

from lnfusion.cli import main

pydicom = pytest.importorskip("pydicom")

#: What the scanner wrote into the files; none of it may leave them.
TAGS = {"PatientName": "Hinterhuber^Janetta", "PatientID": "MRN-0471193", "PatientBirthDate": "19530817",
        "AccessionNumber": "ACC-88512", "InstitutionName": "Stadtklinik Nord",
        "ReferringPhysicianName": "Mustermann^Max"}
#: Long enough that base64-encoded figures in an HTML output cannot contain one by chance.
IDENTIFIERS = ("Hinterhuber", "Janetta", "MRN-0471193", "0471193", "19530817", "ACC-88512",
               "Stadtklinik", "Mustermann")


def _to_dicom(png: Path) -> Path:
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

    arr = np.asarray(Image.open(png).convert("L"))
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = "US"
    for key, value in TAGS.items():
        setattr(ds, key, value)
    ds.set_pixel_data(arr, photometric_interpretation="MONOCHROME2", bits_stored=8)
    out = png.with_suffix(".dcm")
    ds.save_as(out, enforce_file_format=True)
    return out


def _dicom_study(workspace) -> Path:
    """The workspace's study with every B-mode image as an identifying DICOM file."""
    manifest = pd.read_csv(workspace.manifest, dtype=str, keep_default_na=False)
    cells = []
    for cell in manifest["bmode"]:
        paths = [p for p in cell.split(";") if p]
        cells.append(";".join(_to_dicom(workspace.study / p).relative_to(workspace.study).as_posix()
                              for p in paths))
    manifest["bmode"] = cells
    manifest.to_csv(workspace.manifest, index=False)
    assert any(c.endswith(".dcm") for c in manifest["bmode"])
    return workspace.manifest


def _leaks(data: bytes) -> list[str]:
    text = data.decode("utf-8", errors="replace").lower()
    return [ident for ident in IDENTIFIERS if ident.lower() in text]  # any case


@pytest.mark.slow
def test_no_dicom_identifier_reaches_any_output(workspace, one_torch_thread):
    manifest = _dicom_study(workspace)
    out = workspace.root / "out"
    runner = CliRunner()
    commands = {
        "validate": ["validate", manifest, "--json"],
        "predict": ["predict", workspace.model, manifest, "--out", out / "predictions.csv"],
        "evaluate": ["evaluate", workspace.model, manifest, "--out", out / "report.html",
                     "--json", out / "metrics.json", "--n-boot", "20"],
        "explain": ["explain", workspace.model, manifest, "--patients", "P0001,P0002",
                    "--out", out / "cards", "--format", "png,html", "--image-method", "gradcam"],
    }
    for name, args in commands.items():
        result = runner.invoke(main, [str(a) for a in args])
        assert result.exit_code == 0, (name, result.output)
        assert not _leaks(result.output.encode()), (name, _leaks(result.output.encode()))
    written = [p for p in out.rglob("*") if p.is_file()]
    assert {"predictions.csv", "report.html", "metrics.json"} <= {p.name for p in written}
    assert any(p.suffix == ".png" for p in (out / "cards").rglob("*"))
    leaks = {p.relative_to(out).as_posix(): _leaks(p.read_bytes()) for p in written}
    assert not {k: v for k, v in leaks.items() if v}, leaks
    # the study itself still holds them (the check above is not vacuous)
    assert _leaks(next(workspace.study.rglob("*.dcm")).read_bytes())
