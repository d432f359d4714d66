"""The demo cohort exported as scanners export DICOM gives the same pixels, model and results as PNG."""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("timm")
pytest.importorskip("pydicom")

from lnfusion.data import image_geometry, read_image  # noqa: E402
from lnfusion.data.decode import modality_images  # noqa: E402
from lnfusion.datasets import make_demo_cohort  # noqa: E402
from lnfusion.exceptions import ConfigError  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")

FAST = dict(image_size=32, epochs=1, batch_size=32, val_size=0.0, patience=None, warmup_epochs=0.5,
            lr=2e-3)


@pytest.fixture(scope="module")
def twins(tmp_path_factory):
    root = tmp_path_factory.mktemp("twins")
    kwargs = dict(n_patients=12, image_size=32, seed=5, missing_rate=0.2, n_jobs=1)
    return (make_demo_cohort(root / "png", **kwargs),
            make_demo_cohort(root / "dicom", image_format="dicom", **kwargs))


def test_dicom_export_looks_like_a_scanner_and_reads_back_the_png_pixels(twins):
    import pydicom

    png, dicom = twins
    assert png.images("bmode")[0][0].endswith(".png") and dicom.images("bmode")[0][0].endswith(".dcm")
    for m in png.modalities:
        a, rois_a, nodes_a = modality_images(png, m)
        b, rois_b, nodes_b = modality_images(dicom, m)
        assert rois_a == rois_b and np.array_equal(nodes_a, nodes_b) and len(a) == len(b) > 0
        for pa, pb in zip(a, b):
            assert np.array_equal(read_image(pa), read_image(pb))
    path = dicom.images("cdfi")[0][0]
    geometry = image_geometry(path)
    assert geometry.compressed and geometry.region is not None and geometry.size == (32, 32)
    full = pydicom.dcmread(path).pixel_array
    assert full.shape[:2] == (geometry.height, geometry.width) and (full == 255).all(axis=-1).any()
    counts = dicom.summary().dicom_per_modality
    assert counts["bmode"]["dicom"] == counts["bmode"]["with_region"] == counts["bmode"]["compressed"] > 0
    assert png.summary().dicom_per_modality is None


@pytest.mark.slow
def test_the_pipeline_gives_the_same_results_on_the_dicom_export(twins):
    from lnfusion.explain import grad_cam
    from lnfusion.fusion import LateFusionClassifier

    png, dicom = twins
    models = [LateFusionClassifier(image_params=FAST, cv="holdout", random_state=0,
                                   progress=False).fit(c) for c in (png, dicom)]
    np.testing.assert_array_equal(models[0].predict_proba(png), models[1].predict_proba(dicom))
    np.testing.assert_array_equal(models[1].predict_proba(png), models[1].predict_proba(dicom))
    cams = [grad_cam(m.branches_["elasto"], c, [0, 1]) for m, c in zip(models, (png, dicom))]
    assert len(cams[0]) == len(cams[1]) > 0
    for r0, r1 in zip(*cams):
        np.testing.assert_array_equal(r0.cam, r1.cam)


def test_unknown_image_format_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="image_format"):
        make_demo_cohort(tmp_path / "x", n_patients=4, image_size=32, image_format="tiff")
