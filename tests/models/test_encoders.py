"""create_encoder: backbones build, weights load from files and pre-training folders, clear refusals."""
from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("timm")

from lnfusion.exceptions import ConfigError, LnfusionError, PersistenceError  # noqa: E402
from lnfusion.models.encoders import (  # noqa: E402
    EncoderMismatchError,
    cam_target_layer,
    create_encoder,
    resolve_data_config,
)

BACKBONES = ["resnet18", "vit_small_patch16_224", "resnet34", "resnet50", "densenet121", "efficientnet_b0",
             "convnext_tiny"]


def _forward(backbone, size=32, in_chans=1):
    model = create_encoder(backbone, in_chans=in_chans, num_classes=3, image_size=size).eval()
    with torch.no_grad():
        x = torch.rand(2, in_chans, size, size)
        logits = model(x)
        emb = model.forward_head(model.forward_features(x), pre_logits=True)
    assert logits.shape == (2, 3) and torch.isfinite(logits).all()
    assert emb.shape == (2, model.num_features)
    layer, reshape = cam_target_layer(model)
    assert isinstance(layer, torch.nn.Module)
    assert (reshape is not None) == backbone.startswith("vit")
    return model


@pytest.mark.parametrize("backbone", BACKBONES)
def test_backbone_forward(backbone):
    """Every backbone the issue names builds without weights and runs at 32 px (grey and colour)."""
    _forward(backbone, in_chans=3 if backbone in BACKBONES[2::2] else 1)


def test_data_config_follows_in_chans():
    cfg = resolve_data_config(create_encoder("test_resnet", in_chans=1), image_size=40)
    assert cfg["input_size"] == [1, 40, 40] and len(cfg["mean"]) == len(cfg["std"]) == 1
    json.dumps(cfg)
    import timm.data

    model = create_encoder("test_resnet", in_chans=3)
    assert resolve_data_config(model)["mean"] == pytest.approx(
        timm.data.resolve_model_data_config(model)["mean"])


def test_weights_files_load_with_adaptation(tmp_path):
    from safetensors.torch import save_file

    src = create_encoder("test_resnet", in_chans=3, num_classes=5)
    torch.save({"state_dict": src.state_dict()}, tmp_path / "w.pth")
    save_file({k: v.contiguous() for k, v in src.state_dict().items()}, tmp_path / "w.safetensors")
    for f in ("w.pth", "w.safetensors"):
        grey = create_encoder("test_resnet", in_chans=1, num_classes=3, pretrained=tmp_path / f)
        conv = src.pretrained_cfg["first_conv"] + ".weight"
        assert torch.allclose(grey.state_dict()[conv], src.state_dict()[conv].sum(1, keepdim=True))
        same = [k for k in src.state_dict() if not k.startswith(("fc", conv))]
        assert all(torch.equal(grey.state_dict()[k], src.state_dict()[k]) for k in same)
    with pytest.raises(PersistenceError, match="do not fit backbone 'resnet18'"):
        create_encoder("resnet18", pretrained=tmp_path / "w.pth")
    with pytest.raises(PersistenceError, match="no such file"):
        create_encoder("test_resnet", pretrained=tmp_path / "missing.pth")
    (tmp_path / "bad.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(PersistenceError, match="weights_only=True"):
        create_encoder("test_resnet", pretrained=tmp_path / "bad.pth")


def test_unknown_backbone_suggests_names():
    with pytest.raises(ConfigError, match="resnet18"):
        create_encoder("resnet_18")
    with pytest.raises(ConfigError):
        create_encoder("resnet18", pretrained=3.5)


def test_pretrain_folder_same_backbone_loads_other_refused(tmp_path):
    from lnfusion.models.checkpoint import save_tensors
    from lnfusion.models.encoders import PRETRAIN_FORMAT

    enc = create_encoder("test_resnet", in_chans=1)
    digest = save_tensors(tmp_path / "encoder.safetensors", enc.state_dict())
    (tmp_path / "config.json").write_text(json.dumps(
        {"format": PRETRAIN_FORMAT, "format_version": 1, "backbone": "test_resnet", "in_chans": 1,
         "weights": "encoder.safetensors", "weights_sha256": digest}))
    fresh = create_encoder("test_resnet", in_chans=1, num_classes=2, pretrained=tmp_path)
    assert all(torch.equal(fresh.state_dict()[k], v) for k, v in enc.state_dict().items())
    with pytest.raises(EncoderMismatchError) as info:
        create_encoder("resnet18", pretrained=tmp_path)
    assert "'test_resnet'" in str(info.value) and "'resnet18'" in str(info.value)
    assert isinstance(info.value, (ConfigError, LnfusionError))


def test_vit_position_embedding_resampled_to_new_size(tmp_path):
    from safetensors.torch import save_file

    small = create_encoder("test_vit", in_chans=1, image_size=32)
    save_file({k: v.contiguous() for k, v in small.state_dict().items()}, tmp_path / "vit.safetensors")
    big = create_encoder("test_vit", in_chans=1, num_classes=2, image_size=64,
                         pretrained=tmp_path / "vit.safetensors")
    assert big.pos_embed.shape[1] == 1 + 4 * 4 and small.pos_embed.shape[1] == 1 + 2 * 2
    assert torch.equal(big.pos_embed[:, 0], small.pos_embed[:, 0])  # class token kept
    assert big(torch.rand(1, 1, 64, 64)).shape == (1, 2)
