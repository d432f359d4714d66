"""Speckle physics of the B-mode simulator."""
from __future__ import annotations

import numpy as np
import pytest

from lnfusion.datasets.bmode import RAYLEIGH_SNR, envelope, log_compress, simulate_bmode
from lnfusion.datasets.sites import SITES


@pytest.mark.parametrize("axial, lateral", [(0.6, 0.8), (1.0, 2.0), (1.2, 3.0)])
def test_fully_developed_speckle_has_rayleigh_snr(axial, lateral):
    """Homogeneous scatterers: envelope mean/std ~ sqrt(pi/(4-pi)) = 1.91 before compression."""
    rng = np.random.default_rng(0)
    n = 384
    env = envelope(np.full((n, n), 0.7), rng, axial_px=axial,
                   lateral_px=np.linspace(lateral, 1.6 * lateral, n))
    snr = env.mean() / env.std()
    assert RAYLEIGH_SNR == pytest.approx(1.913, abs=1e-3)
    assert snr == pytest.approx(RAYLEIGH_SNR, abs=0.06)
    # unit-energy PSF: mean envelope power equals the echogenicity
    assert np.mean(env ** 2) == pytest.approx(0.7, rel=0.05)


def test_lateral_speckle_grain_grows_away_from_focus():
    """The depth-dependent PSF widens the lateral speckle grain away from the focus."""
    rng = np.random.default_rng(1)
    n = 256
    depth = np.arange(n)
    lateral = 1.0 * np.sqrt(1 + ((depth - 40) / 50.0) ** 2)
    env = envelope(np.ones((n, n)), rng, axial_px=0.8, lateral_px=lateral)

    def lateral_corr(rows):
        x = env[rows] - env[rows].mean(axis=1, keepdims=True)
        return float(np.mean(x[:, :-2] * x[:, 2:]) / np.mean(x * x))

    assert lateral_corr(slice(30, 50)) < lateral_corr(slice(220, 256)) - 0.15


def test_attenuation_gives_posterior_enhancement():
    """A weakly attenuating (cystic) region brightens the tissue beneath it."""
    n = 160
    echo = np.ones((n, n), dtype=np.float32)
    atten = np.full((n, n), 0.6, dtype=np.float32)
    echo[30:60, 60:100] = 0.01
    atten[30:60, 60:100] = 0.02
    img = simulate_bmode(echo, atten, 0.25, SITES[0], np.random.default_rng(2))
    below = img[80:140, 65:95].mean()
    beside = img[80:140, 10:40].mean()
    assert below > beside + 10


def test_log_compression_maps_dynamic_range_to_8_bits():
    env = np.array([1e-6, 1.0, 1e6])
    grey = log_compress(env, gain_db=0.0, dynamic_range_db=60.0)
    assert grey[0] == 0 and grey[2] == 255
    assert 100 < grey[1] < 200
