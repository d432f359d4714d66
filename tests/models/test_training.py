"""The training loop on plain arrays: learning, determinism, resume, augmentation, schedule."""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("timm")

from lnfusion.data.augment import AugmentConfig, augment_batch  # noqa: E402
from lnfusion.exceptions import ConfigError  # noqa: E402
from lnfusion.models.encoders import create_encoder  # noqa: E402
from lnfusion.models.inference import mean_by_node  # noqa: E402
from lnfusion.models.training import (  # noqa: E402
    ImageSet,
    TrainConfig,
    TrainingInterrupted,
    lr_at,
    train_model,
)


def _toy(n, seed):
    """Class 1 has a bright square in the top rows, class 0 in the bottom rows."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    x = rng.integers(0, 60, (n, 1, 32, 32)).astype(np.uint8)
    for i in range(n):
        top = 3 if y[i] else 20
        left = rng.integers(2, 20)
        x[i, 0, top:top + 9, left:left + 9] = 240
    return ImageSet(x, y)


TRAIN, VAL = _toy(48, 0), _toy(24, 1)
NORM = dict(mean=[0.5], std=[0.25])


def _model(seed=0, drop_rate=0.0):
    torch.manual_seed(seed)
    return create_encoder("test_resnet", in_chans=1, num_classes=2, drop_rate=drop_rate)


def _weights(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def test_loss_falls_on_learnable_task():
    cfg = TrainConfig(epochs=4, batch_size=8, lr=3e-3, warmup_epochs=0.5, patience=None, progress=False,
                      label_smoothing=0.0)
    model = _model()
    res = train_model(model, TRAIN, VAL, cfg, **NORM)
    losses = [h["train_loss"] for h in res.history]
    assert losses[-1] < 0.7 * losses[0]
    assert {"epoch", "train_loss", "val_loss", "val_auc", "lr", "seconds"} <= set(res.history[0])
    assert 1 <= res.best_epoch <= 4 and not model.training


def test_same_seed_same_result_and_caller_rng_untouched():
    cfg = TrainConfig(epochs=2, batch_size=16, progress=False)
    a, b = _model(drop_rate=0.3), _model(drop_rate=0.3)
    after_init = torch.get_rng_state()
    train_model(a, TRAIN, VAL, cfg, **NORM)
    assert torch.equal(torch.get_rng_state(), after_init)  # fit forks the global RNG
    train_model(b, TRAIN, VAL, cfg, **NORM)
    wa, wb = _weights(a), _weights(b)
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    c = _model(drop_rate=0.3)
    train_model(c, TRAIN, VAL, TrainConfig(epochs=2, batch_size=16, progress=False, random_state=1), **NORM)
    assert not all(torch.equal(wa[k], v) for k, v in _weights(c).items())


def test_resume_after_interruption_equals_uninterrupted(tmp_path):
    cfg = TrainConfig(epochs=3, batch_size=16, progress=False, patience=None)
    full = _model(drop_rate=0.2)
    ref = train_model(full, TRAIN, VAL, cfg, **NORM)

    def stop_after_1(info):
        if info.epoch == 1:
            raise TrainingInterrupted

    with pytest.raises(TrainingInterrupted):
        train_model(_model(drop_rate=0.2), TRAIN, VAL, cfg, **NORM, checkpoint_dir=tmp_path,
                    callbacks=[stop_after_1])
    assert (tmp_path / "last" / "state.safetensors").is_file()
    resumed = _model(seed=5, drop_rate=0.2)  # different init: everything must come from the checkpoint
    res = train_model(resumed, TRAIN, VAL, cfg, **NORM, checkpoint_dir=tmp_path, resume=True)
    assert res.resumed_from == 1 and res.best_epoch == ref.best_epoch
    wa, wb = _weights(full), _weights(resumed)
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    strip = [{k: v for k, v in h.items() if k != "seconds"} for h in ref.history]
    assert strip == [{k: v for k, v in h.items() if k != "seconds"} for h in res.history]
    with pytest.raises(ConfigError, match="other data or settings"):
        train_model(_model(), TRAIN, VAL, TrainConfig(epochs=4, batch_size=16, progress=False), **NORM,
                    checkpoint_dir=tmp_path, resume=True)


def test_augment_batch_properties():
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(6, 1, 24, 24)
    out = augment_batch(x, AugmentConfig(), colour=False, generator=gen)
    assert out.shape == x.shape and out.min() >= 0 and out.max() <= 1
    gen2 = torch.Generator().manual_seed(0)
    assert torch.equal(out, augment_batch(x, AugmentConfig(), colour=False, generator=gen2))
    # colour: a uniform colour stays the same hue (channel ratios) wherever it is not blended with black
    rgb = torch.zeros(4, 3, 24, 24)
    rgb[:, 0], rgb[:, 1], rgb[:, 2] = 0.6, 0.3, 0.1
    aug = augment_batch(rgb, AugmentConfig(colour_gain=(0.5, 1.5)), colour=True, generator=gen)
    lit = aug[:, 0] > 0.05
    ratio = (aug[:, 1] / aug[:, 0].clamp_min(1e-6))[lit]
    assert torch.allclose(ratio, torch.full_like(ratio, 0.5), atol=1e-4)
    # no up-down flip: a top band stays in the top half
    band = torch.zeros(8, 1, 24, 24)
    band[:, :, 2:6] = 1.0
    moved = augment_batch(band, AugmentConfig(speckle=0.0, gain=(1, 1), gamma=(1, 1)), colour=False,
                          generator=gen)
    assert (moved[:, :, :12].sum((1, 2, 3)) > moved[:, :, 12:].sum((1, 2, 3))).all()


def test_schedule_and_node_mean():
    lrs = [lr_at(s, 100, 10, 1.0) for s in range(100)]
    assert lrs[0] == pytest.approx(0.1) and lrs[9] == pytest.approx(1.0)
    assert all(a >= b for a, b in zip(lrs[9:], lrs[10:])) and lrs[-1] < 0.01
    values = np.array([[1.0, 3.0], [3.0, 5.0], [7.0, 7.0]])
    out = mean_by_node(values, np.array([0, 0, 2]), 4)
    assert out[0].tolist() == [2.0, 4.0] and out[2].tolist() == [7.0, 7.0]
    assert np.isnan(out[1]).all() and np.isnan(out[3]).all()


def test_config_validation():
    with pytest.raises(ConfigError, match="epochs"):
        TrainConfig(epochs=0)
    with pytest.raises(ConfigError, match="precision"):
        TrainConfig(precision="fp8")
    cfg = TrainConfig(augment=AugmentConfig(rotation=5.0))
    assert TrainConfig.from_dict(cfg.to_dict()) == cfg


def test_batch_bounds_never_leave_a_single_item_batch():
    from lnfusion.models.training import batch_bounds

    for n in range(1, 80):
        for bs in (1, 2, 4, 8, 32):
            bounds = batch_bounds(n, bs)
            assert bounds[0][0] == 0 and bounds[-1][1] == n
            assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:]))
            if bs > 1 and n > 1:
                assert all(stop - start >= 2 for start, stop in bounds)
    assert batch_bounds(33, 32) == [(0, 33)]
    assert batch_bounds(34, 32) == [(0, 32), (32, 34)]
