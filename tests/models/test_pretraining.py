"""Pre-training: folder / .npz / Cohort inputs, the checkpoint record, exclusion, reuse, the CLI."""
from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from lnfusion.io import OUTPUT_MARKER  # noqa: E402
from lnfusion.models.encoders import EncoderMismatchError, create_encoder  # noqa: E402
from lnfusion.models.pretraining import (  # noqa: E402
    compare_pretraining,
    file_sha256,
    load_pretrain_data,
    pretrain,
    read_pretrain_hashes,
)

QUICK = dict(backbone="test_resnet", image_size=32, epochs=1, batch_size=16, progress=False)


@pytest.fixture(scope="module")
def image_folder(tmp_path_factory):
    from PIL import Image

    root = tmp_path_factory.mktemp("folder")
    rng = np.random.default_rng(0)
    for k, name in enumerate(("benign", "malignant")):
        (root / name).mkdir()
        for i in range(10):
            img = rng.integers(0, 80, (30, 40), dtype=np.uint8)
            img[5 + 12 * k:15 + 12 * k, 10:20] = 230
            Image.fromarray(img).save(root / name / f"{name} ({i}).png")
        Image.fromarray(np.zeros((30, 40), np.uint8)).save(root / name / f"{name} (0)_mask.png")
    return root


def test_pretrain_folder_record_and_reuse(image_folder, tmp_path):
    test_file = image_folder / "malignant" / "malignant (3).png"
    out = pretrain(image_folder, out_dir=tmp_path / "pt", exclude={file_sha256(test_file)}, **QUICK)
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["backbone"] == "test_resnet" and cfg["in_chans"] == 1 and cfg["image_size"] == 32
    assert cfg["method"] == "supervised" and cfg["data"]["kind"] == "folder"
    assert cfg["data"]["n_images"] == 19 and cfg["data"]["n_excluded"] == 1  # masks skipped
    assert cfg["data"]["classes"] == ["benign", "malignant"]
    seen = read_pretrain_hashes(out)
    assert len(seen) == 19 and file_sha256(test_file) not in seen
    assert sorted(p.name for p in out.iterdir()) == [OUTPUT_MARKER, "config.json", "encoder.safetensors",
                                                     "images.sha256"]

    from safetensors.torch import load_file

    saved = load_file(out / "encoder.safetensors")
    fresh = create_encoder("test_resnet", in_chans=1, num_classes=3, pretrained=out)
    assert all(torch.equal(fresh.state_dict()[k], v) for k, v in saved.items())
    assert not any(k.startswith("fc.") for k in saved)
    with pytest.raises(EncoderMismatchError, match="'test_resnet'.*'resnet18'"):
        create_encoder("resnet18", pretrained=out)


def test_pretrain_npz_train_split_and_simclr(tmp_path):
    rng = np.random.default_rng(1)
    arrays = {f"{s}_images": rng.integers(0, 255, (n, 28, 28), dtype=np.uint8)
              for s, n in (("train", 12), ("val", 4), ("test", 6))}
    arrays.update({f"{s}_labels": rng.integers(0, 2, (n, 1)) for s, n in (("train", 12), ("val", 4),
                                                                            ("test", 6))})
    np.savez(tmp_path / "toy.npz", **arrays)
    data = load_pretrain_data(tmp_path / "toy.npz", image_size=32)
    assert data.images.shape == (12, 1, 32, 32) and data.description["split"] == "train"
    test_hashes = {__import__("hashlib").sha256(a.tobytes()).hexdigest() for a in arrays["test_images"]}
    assert not test_hashes & set(data.sha256)
    both = load_pretrain_data(tmp_path / "toy.npz", image_size=32, split="train+val")
    assert len(both.labels) == 16
    out = pretrain(tmp_path / "toy.npz", out_dir=tmp_path / "ssl", method="simclr", **QUICK)
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["method"] == "simclr" and cfg["data"]["n_images"] == 12
    assert np.isfinite(cfg["history"][0]["train_loss"])
    create_encoder("test_resnet", in_chans=1, pretrained=out)


def test_cli_pretrain(image_folder, tmp_path):
    from click.testing import CliRunner

    from lnfusion.cli import main

    result = CliRunner().invoke(main, ["pretrain", str(image_folder), "--out", str(tmp_path / "cli"),
                                       "--backbone", "test_resnet", "--image-size", "32", "--epochs", "1",
                                       "--quiet"])
    assert result.exit_code == 0, result.output
    assert "on 20 images" in result.output and (tmp_path / "cli" / "encoder.safetensors").is_file()
    again = CliRunner().invoke(main, ["pretrain", str(image_folder), "--out", str(tmp_path / "cli"),
                                      "--backbone", "test_resnet", "--epochs", "1", "--quiet"])
    assert again.exit_code != 0 and "already exists" in again.output


def test_compare_pretraining_one_call(toy_cohort, tmp_path, fast):
    out = pretrain(toy_cohort, modality="bmode", out_dir=tmp_path / "pt", **QUICK)
    train, test = toy_cohort.subset(np.arange(0, 36, 2)), toy_cohort.subset(np.arange(1, 36, 2))
    table = compare_pretraining(train, test, "bmode", out, n_boot=100,
                                **dict(fast, epochs=1, val_size=0.0))
    assert list(table["init"]) == ["scratch", "pretrained"]
    assert {"auc", "auc_ci_low", "auc_ci_high", "accuracy", "n_test", "best_epoch"} <= set(table.columns)
    assert table["n_test"].tolist() == [18, 18] and table["auc"].between(0, 1).all()


def test_cohort_pretraining_images_are_the_image_branch_images(toy_cohort):
    from lnfusion.models.image_branch import decode_images

    data = load_pretrain_data(toy_cohort, image_size=32, modality="bmode")
    branch = decode_images(toy_cohort, "bmode", 32, in_chans=1)
    assert data.images.dtype == np.uint8 and np.array_equal(data.images, branch.images)
    assert data.labels.tolist() == branch.labels.tolist()
