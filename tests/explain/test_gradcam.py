"""Grad-CAM of the image branch: shape at original resolution, and it finds the informative region."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("timm")
pytest.importorskip("pytorch_grad_cam")

from lnfusion.data import Cohort, CohortSchema, Modality  # noqa: E402
from lnfusion.data.geometry import padded_geometry  # noqa: E402
from lnfusion.explain.gradcam import GradCamResult, grad_cam, save_overlays  # noqa: E402
from lnfusion.models import ImageBranchClassifier  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")

H, W = 36, 48  # non-square: exercises the pad/resize inverse


def _left_square_cohort(root, n_per_class=24, seed=0):
    """'pos' images have a bright square in the LEFT half; every image has a decoy square on the right."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    (root / "img").mkdir(parents=True, exist_ok=True)
    rows, boxes = [], []
    for label in ("neg", "pos"):
        for i in range(n_per_class):
            img = rng.normal(30, 8, size=(H, W)).clip(0, 255)
            y, x = rng.integers(2, H - 12), rng.integers(W // 2 + 2, W - 11)
            img[y:y + 9, x:x + 9] = 220  # decoy on the right: present in both classes
            box = None
            if label == "pos":
                y, x = rng.integers(2, H - 12), rng.integers(2, W // 2 - 11)
                img[y:y + 9, x:x + 9] = 220
                box = (y, x)
            f = f"img/{label}{i}.png"
            Image.fromarray(img.astype(np.uint8)).save(root / f)
            rows.append({"patient_id": f"{label}{i}", "label": label, "bmode": f})
            boxes.append(box)
    schema = CohortSchema(classes=("neg", "pos"), node=None, site=None,
                          modalities={"bmode": Modality(colour=False)})
    return Cohort.from_manifest(pd.DataFrame(rows), schema, root=root), boxes


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    cohort, boxes = _left_square_cohort(tmp_path_factory.mktemp("cam"))
    branch = ImageBranchClassifier("bmode", backbone="resnet18", image_size=48, epochs=4, batch_size=8,
                                   lr=2e-3, val_size=0.0, augment=False, progress=False,
                                   label_smoothing=0.0, warmup_epochs=0.5).fit(cohort)
    return branch, cohort, boxes


def test_padded_geometry_matches_build_transform():
    from lnfusion.data.transforms import build_transform

    img = np.zeros((H, W), np.uint8)
    img[:, :] = 255
    x = build_transform(False, 40, mean=[0.0], std=[1.0], in_chans=1)(img)[0].numpy()
    top, left, nh, nw = padded_geometry(H, W, 40)
    inside = np.zeros_like(x, dtype=bool)
    inside[top:top + nh, left:left + nw] = True
    assert x[inside].min() > 0.99 and x[~inside].max() < 0.01


def test_gradcam_shape_range_and_peak(trained, tmp_path):
    branch, cohort, boxes = trained
    assert branch.score(cohort) >= 0.9, "the toy task was not learnt; the CAM test would be meaningless"
    pos = [i for i, b in enumerate(boxes) if b is not None]
    results = grad_cam(branch, cohort, indices=pos, target="pos")
    assert len(results) == len(pos) and all(isinstance(r, GradCamResult) for r in results)
    hits = 0
    for r, i in zip(results, pos):
        assert r.cam.shape == (H, W) and r.cam.dtype == np.float32
        assert 0.0 <= r.cam.min() and r.cam.max() <= 1.0
        assert r.target == "pos" and r.row == i
        hits += r.cam[:, : W // 2].mean() > r.cam[:, W // 2:].mean()
    assert hits >= 0.8 * len(pos)
    files = save_overlays(results[:3], tmp_path / "overlays")
    assert [f.exists() for f in files] == [True] * 3
    from PIL import Image

    assert Image.open(files[0]).size == (W, H)


def test_gradcam_predicted_target_and_vit(trained):
    branch, cohort, _ = trained
    res = grad_cam(branch, cohort, indices=[0, 30])
    assert [r.target for r in res] == list(branch.predict(cohort.subset([0, 30])))
    vit = ImageBranchClassifier("bmode", backbone="test_vit", image_size=32, epochs=1, val_size=0.0,
                                progress=False).fit(cohort.subset(np.arange(0, 48, 4)))
    res = grad_cam(vit, cohort, indices=[1], target=1)
    assert res[0].cam.shape == (H, W) and res[0].target == "pos"
    assert np.isfinite(res[0].cam).all() and res[0].cam.max() <= 1.0


def test_gradcam_equals_the_full_backward_and_leaves_the_weights_trainable(trained):
    """grad_cam backpropagates from the target layer only; the maps are pytorch-grad-cam's own."""
    from pytorch_grad_cam import GradCAM
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    from lnfusion.models.encoders import cam_target_layer
    from lnfusion.models.image_branch import decode_images
    from lnfusion.models.inference import BatchPreparer

    branch, cohort, _ = trained
    rows = [0, 1, 30]
    ours = grad_cam(branch, cohort, indices=rows, target="pos")
    model = branch.model_
    assert all(p.requires_grad for p in model.parameters())
    layer, reshape = cam_target_layer(model)
    decoded = decode_images(cohort.subset(rows), "bmode", branch.image_size, in_chans=branch.in_chans_)
    prep = BatchPreparer(branch.data_config_["mean"], branch.data_config_["std"],
                         torch.device("cpu"), branch.channels_last, branch.colour_)
    k = list(branch.classes_).index("pos")
    cam = GradCAM(model=model, target_layers=[layer], reshape_transform=reshape)
    try:
        with torch.enable_grad():
            full = cam(input_tensor=prep(torch.from_numpy(decoded.images)),
                       targets=[ClassifierOutputTarget(k)] * len(rows))
    finally:
        cam.activations_and_grads.release()
        model.eval()
    from lnfusion.explain.gradcam import _to_original

    for r, m in zip(ours, full):
        expected = _to_original(np.asarray(m, dtype=np.float32), r.cam.shape, None, branch.image_size)
        np.testing.assert_allclose(r.cam, expected, atol=1e-6)
