"""Image geometry: ROI clamp, letterbox resize/pad and its inverse; one augmentation for both paths."""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from lnfusion.data.augment import AugmentConfig, augment_batch  # noqa: E402
from lnfusion.data.geometry import (  # noqa: E402
    clamp_roi,
    crop_roi,
    input_to_image,
    padded_geometry,
    resize_pad,
)
from lnfusion.data.transforms import build_transform  # noqa: E402
from lnfusion.exceptions import RoiError  # noqa: E402


def test_clamp_roi_clips_to_the_image_and_rejects_boxes_outside():
    assert clamp_roi(None, 20, 30) == (0, 0, 30, 20)
    assert clamp_roi((-5, 2, 40, 25), 20, 30) == (0, 2, 30, 20)
    with pytest.raises(RoiError, match="does not overlap the 30x20 image"):
        clamp_roi((31, 0, 40, 10), 20, 30)
    img = np.arange(20 * 30).reshape(20, 30)
    np.testing.assert_array_equal(crop_roi(img, (-5, 2, 4, 5)), img[2:5, 0:4])
    assert crop_roi(img, None) is img


def test_resize_pad_puts_the_image_where_padded_geometry_says():
    x = torch.ones((1, 12, 30))
    out = resize_pad(x, 20)
    top, left, nh, nw = padded_geometry(12, 30, 20)
    assert out.shape == (1, 20, 20) and (nh, nw) == (8, 20)
    inside = torch.zeros((20, 20), dtype=torch.bool)
    inside[top:top + nh, left:left + nw] = True
    assert torch.all(out[0][inside] > 0.99) and torch.all(out[0][~inside] == 0)


def test_input_to_image_inverts_crop_resize_and_pad():
    # a horizontal ramp inside an ROI, through the forward geometry and back
    h, w, roi = 40, 60, (10, 5, 50, 25)
    ramp = np.zeros((h, w), np.float32)
    ramp[5:25, 10:50] = np.linspace(0.0, 1.0, 40, dtype=np.float32)[None, :]
    x = resize_pad(torch.from_numpy(np.ascontiguousarray(crop_roi(ramp, roi)))[None], 32)[0].numpy()
    back = input_to_image(x, (h, w), roi, 32)
    assert back.shape == (h, w)
    assert np.all(back[:5] == 0) and np.all(back[:, :10] == 0)  # outside the ROI
    np.testing.assert_allclose(back[5:25, 12:48], ramp[5:25, 12:48], atol=0.04)
    total = input_to_image(x, (h, w), roi, 32, preserve_sum=True).sum()
    top, left, nh, nw = padded_geometry(20, 40, 32)
    assert total == pytest.approx(x[top:top + nh, left:left + nw].sum(), rel=1e-5)


@pytest.mark.parametrize("colour", [False, True])
def test_per_image_training_transform_is_the_batch_augmentation(colour):
    """build_transform(train=True) runs augment_batch itself: same generator, same pixels."""
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (24, 36, 3) if colour else (24, 36), dtype=np.uint8)
    aug = AugmentConfig(colour_gain=(0.7, 1.3), speckle=1.0)
    chans = 3 if colour else 1
    plain = build_transform(colour, 32, [0.0] * chans, [1.0] * chans, in_chans=chans)(img)
    trained = build_transform(colour, 32, [0.0] * chans, [1.0] * chans, in_chans=chans, train=True,
                              augment=aug)(img, rng=np.random.default_rng(5))
    seed = int(np.random.default_rng(5).integers(0, 2**63 - 1))
    batch = augment_batch(plain[None], aug, colour=colour, generator=torch.Generator().manual_seed(seed))
    torch.testing.assert_close(trained, batch[0].clamp(0.0, 1.0))
    assert not torch.equal(trained, plain)
