"""build_transform: shapes, normalisation, aspect-preserving padding, ROI, physics-respecting augmentation."""
from __future__ import annotations

import colorsys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from lnfusion.data.transforms import AugmentConfig, build_transform  # noqa: E402
from lnfusion.exceptions import ConfigError, RoiError  # noqa: E402

MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def _denorm(x, mean=MEAN, std=STD):
    return x * torch.tensor(std)[:, None, None] + torch.tensor(mean)[:, None, None]


def test_greyscale_output_shape_and_normalisation():
    img = np.full((20, 20), 128, np.uint8)
    x = build_transform(False, 32, MEAN, STD)(img)
    assert x.shape == (3, 32, 32) and x.dtype == torch.float32
    expected = (128 / 255 - np.array(MEAN)) / np.array(STD)
    np.testing.assert_allclose(x[:, 16, 16].numpy(), expected, rtol=1e-5)
    assert torch.equal(x[0] * STD[0] + MEAN[0], x[1] * STD[1] + MEAN[1])  # replicated grey
    one = build_transform(False, 32, MEAN, STD, in_chans=1)(img)
    assert one.shape == (1, 32, 32)
    np.testing.assert_allclose(one[0, 16, 16].item(), (128 / 255 - np.mean(MEAN)) / np.mean(STD), rtol=1e-5)


def test_colour_kept_and_grey_input_replicated():
    img = np.zeros((10, 10, 3), np.uint8)
    img[..., 0] = 255
    x = _denorm(build_transform(True, 16, MEAN, STD)(img))
    np.testing.assert_allclose(x[:, 8, 8].numpy(), [1, 0, 0], atol=1e-5)
    grey = build_transform(True, 16, MEAN, STD)(np.full((10, 10), 51, np.uint8))
    g = _denorm(grey)[:, 8, 8].numpy()
    np.testing.assert_allclose(g, [0.2, 0.2, 0.2], atol=1e-5)
    with pytest.raises(ConfigError, match="in_chans=3"):
        build_transform(True, 16, MEAN, STD, in_chans=1)


def test_aspect_ratio_kept_with_padding():
    img = np.full((20, 40), 255, np.uint8)  # wide: 2:1
    x = _denorm(build_transform(False, 32, MEAN, STD)(img))[0]
    rows = (x > 0.5).any(dim=1).nonzero().ravel()
    assert rows.min().item() == 8 and rows.max().item() == 23  # 16 rows of image, 8 black above and below
    assert (x[:8] == 0).all() and (x[24:] == 0).all() and (x[8:24] > 0.99).all()


def test_roi_crop():
    img = np.zeros((40, 40), np.uint8)
    img[10:20, 5:25] = 200  # the ROI is uniformly bright
    x = _denorm(build_transform(False, 20, MEAN, STD)(img, roi=(5, 10, 25, 20)))[0]
    assert x.shape == (20, 20)
    assert (x[5:15] > 0.75).all() and (x[:5] == 0).all()
    with pytest.raises(RoiError, match="does not overlap"):
        build_transform(False, 20, MEAN, STD)(img, roi=(50, 50, 60, 60))


def test_train_augmentation_is_seeded():
    img = np.random.default_rng(0).integers(0, 256, (30, 30), dtype=np.uint8)
    a = build_transform(False, 32, MEAN, STD, train=True, random_state=3)
    b = build_transform(False, 32, MEAN, STD, train=True, random_state=3)
    first, second = a(img), a(img)
    assert torch.equal(first, b(img)) and not torch.equal(first, second)
    rng_x = a(img, rng=np.random.default_rng(9))
    assert torch.equal(rng_x, b(img, rng=np.random.default_rng(9)))
    assert not torch.equal(first, build_transform(False, 32, MEAN, STD)(img))


def test_greyscale_augmentation_changes_intensity_stats():
    img = np.full((32, 32), 128, np.uint8)
    aug = AugmentConfig(rotation=0, translate=0, scale=(1, 1), hflip=0, speckle=1.0, speckle_looks=(4, 4))
    x = _denorm(build_transform(False, 32, MEAN, STD, train=True, augment=aug, random_state=0)(img))[0]
    assert x.std() > 0.05  # multiplicative speckle on a flat image


@pytest.mark.parametrize("rgb", [(200, 60, 30), (20, 90, 230), (250, 240, 10)])
def test_no_hue_or_saturation_change_on_colour_modalities(rgb):
    img = np.empty((24, 36, 3), np.uint8)
    img[:] = rgb
    want_h, want_s, _ = colorsys.rgb_to_hsv(*(np.array(rgb) / 255))
    changed = 0
    for seed in range(12):
        t = build_transform(True, 32, MEAN, STD, train=True, random_state=seed,
                            augment=AugmentConfig(colour_gain=(0.7, 1.4)))
        x = _denorm(t(img)).numpy()
        pixels = x.reshape(3, -1).T
        pixels = pixels[pixels.max(axis=1) > 0.05]  # leave out the black padding
        hsv = np.array([colorsys.rgb_to_hsv(*p) for p in pixels])
        np.testing.assert_allclose(hsv[:, 0], want_h, atol=2e-3)
        np.testing.assert_allclose(hsv[:, 1], want_s, atol=2e-3)
        assert pixels.max() <= 1.0 + 1e-6
        eval_x = _denorm(build_transform(True, 32, MEAN, STD)(img)).numpy()
        changed += not np.allclose(x, eval_x, atol=1e-3)
    assert changed >= 10  # the augmentation really moved or rescaled the image


def test_augment_config_validation():
    with pytest.raises(ConfigError, match="gain"):
        AugmentConfig(gain=(1.2, 0.8))
    with pytest.raises(ConfigError, match="probability"):
        AugmentConfig(hflip=2)
    assert AugmentConfig.from_dict(AugmentConfig().to_dict()) == AugmentConfig()
