"""B-mode image formation: speckle from complex Gaussian scatterers.

The model (baseband / IQ formulation of a linear-array scanner):

1. Scatterers: one complex circular Gaussian amplitude per pixel, scaled by the
   square root of the local echogenicity (scattering intensity).
2. Attenuation: the two-way loss ``2 * alpha(x, z) * f0 * depth`` (dB, with the
   local attenuation coefficient ``alpha`` in dB/cm/MHz integrated along each
   beam) multiplies the scatterers, so posterior enhancement behind cysts and
   shadowing behind calcifications emerge from the physics.
3. Point-spread function: separable Gaussian, axial sigma fixed by the pulse
   length, lateral sigma growing away from the focus like a Gaussian beam
   (``sigma_x(z) = sigma_0 * sqrt(1 + ((z - z_f) / z_R)^2)``); applied exactly in
   the Fourier domain (axial filter along depth, a different lateral filter for
   every depth row), normalised to unit energy so that unit echogenicity gives
   unit mean envelope power.
4. Envelope detection: the magnitude of the IQ signal.  In a homogeneous region
   of fully developed speckle it is Rayleigh distributed, whose SNR
   ``mean / std = sqrt(pi / (4 - pi)) ~= 1.91`` (tested).
5. Time-gain compensation for the nominal attenuation (with a site-specific
   residual; being a slowly varying depth gain it commutes with the short PSF and
   is applied with the attenuation before it), overall gain, log compression over
   the dynamic range to 8 bits.
"""
from __future__ import annotations

import numpy as np
from scipy import fft as sfft

from lnfusion.datasets.phantom import ATTEN_TISSUE
from lnfusion.datasets.sites import Site

__all__ = ["RAYLEIGH_SNR", "psf_filter", "envelope", "log_compress", "simulate_bmode"]

#: Envelope SNR (mean / std) of fully developed speckle (Rayleigh distribution).
RAYLEIGH_SNR = float(np.sqrt(np.pi / (4 - np.pi)))
#: Display level (fraction of 255) of unit echogenicity at 0 dB gain.
UNIT_LEVEL = 0.58
PAD = 12


def _gauss_kernel_tf(n: int, sigma_px: np.ndarray) -> np.ndarray:
    """DFT (length ``n``) of unit-sum sampled Gaussians of sigma ``sigma_px`` (pixels).

    The kernels are sampled in space and truncated at 4 sigma, so the filter has
    compact support (no ringing tails wrapping around the FFT); one row per sigma.
    The kernels are symmetric, so the DFT is real.
    """
    sigma = np.atleast_1d(np.asarray(sigma_px, dtype=np.float32))
    half = int(np.ceil(4 * float(sigma.max())))
    taps = np.arange(-half, half + 1, dtype=np.float32)
    k = np.exp(-0.5 * (taps[None, :] / sigma[:, None]) ** 2)
    k /= k.sum(axis=1, keepdims=True)
    full = np.zeros((len(sigma), n), dtype=np.float32)
    full[:, np.arange(-half, half + 1) % n] = k
    return sfft.fft(full, axis=1).real.astype(np.float32)


def psf_filter(field: np.ndarray, axial_px: float, lateral_px: np.ndarray) -> np.ndarray:
    """Convolve a complex field with a depth-dependent separable Gaussian PSF.

    Parameters
    ----------
    field : ndarray (rows = depth, cols = lateral), complex
    axial_px : float
        Axial sigma (pixels).
    lateral_px : ndarray (rows,)
        Lateral sigma per depth row (pixels).

    Returns
    -------
    ndarray, complex
        The filtered field, normalised so that white unit-power input gives unit
        expected output power in every row.
    """
    n_rows, n_cols = field.shape
    pad = max(PAD, int(np.ceil(4 * max(axial_px, float(np.max(lateral_px))))) + 1)
    padded = np.pad(field.astype(np.complex64), pad, mode="reflect")
    hz = _gauss_kernel_tf(padded.shape[0], np.array([axial_px]))[0][:, None]
    lat = np.pad(np.asarray(lateral_px, dtype=float), pad, mode="edge")
    hx = _gauss_kernel_tf(padded.shape[1], lat)
    out = sfft.ifft(sfft.fft(padded, axis=0) * hz, axis=0)
    out = sfft.ifft(sfft.fft(out, axis=1) * hx, axis=1)
    # unit-energy normalisation (Parseval): E|out|^2 = mean |H|^2 for white input
    energy = np.mean(hz ** 2) * np.mean(hx ** 2, axis=1, keepdims=True)
    out = out / np.sqrt(energy).astype(np.float32)
    return out[pad:pad + n_rows, pad:pad + n_cols]


def envelope(echo: np.ndarray, rng: np.random.Generator, *, axial_px: float,
             lateral_px: np.ndarray, gain_db: np.ndarray | None = None) -> np.ndarray:
    """Envelope of the IQ signal of a scattering-intensity map.

    Parameters
    ----------
    echo : ndarray (rows = depth, cols = lateral)
        Scattering intensity (echogenicity).
    rng : numpy.random.Generator
        Draws the complex Gaussian scatterers.
    axial_px, lateral_px : float, ndarray
        PSF sigmas in pixels (see :func:`psf_filter`).
    gain_db : ndarray, optional
        Net amplitude gain in dB at every pixel (time-gain compensation minus the
        two-way attenuation).  It varies slowly compared with the short PSF, so it is
        applied to the scatterers, which keeps the field's dynamic range small.

    Returns
    -------
    ndarray, float
        ``|IQ|``; Rayleigh-distributed with ``E[env^2] = echo`` in a homogeneous
        region without net gain.
    """
    shape = echo.shape
    scat = np.empty(shape, dtype=np.complex64)
    scat.real = rng.standard_normal(shape, dtype=np.float32)
    scat.imag = rng.standard_normal(shape, dtype=np.float32)
    scat *= np.float32(np.sqrt(0.5))
    amp = np.sqrt(np.maximum(echo, 0.0)).astype(np.float32)
    if gain_db is not None:
        amp = amp * np.power(10.0, gain_db / 20.0).astype(np.float32)
    return np.abs(psf_filter(scat * amp, axial_px, lateral_px)).astype(np.float32)


def log_compress(env: np.ndarray, *, gain_db: float, dynamic_range_db: float) -> np.ndarray:
    """Log-compress an envelope to 8-bit grey levels.

    Unit envelope power at 0 dB gain is shown at :data:`UNIT_LEVEL` of full scale;
    ``dynamic_range_db`` spans the 256 grey levels.
    """
    db = 20.0 * np.log10(np.maximum(env, 1e-6)) + gain_db
    grey = 255.0 * (UNIT_LEVEL + db / dynamic_range_db)
    return np.clip(grey, 0, 255).astype(np.float32)


def simulate_bmode(echo: np.ndarray, atten: np.ndarray, pixel_mm: float, site: Site,
                   rng: np.random.Generator, *, lateral_scale: float = 1.0,
                   gain_offset_db: float = 0.0) -> np.ndarray:
    """Simulate a B-mode image from echogenicity and attenuation maps.

    Parameters
    ----------
    echo, atten : ndarray (n, n)
        Scattering intensity and attenuation (dB/cm/MHz) per pixel.
    pixel_mm : float
        Pixel size.
    site : Site
        Acquisition settings (frequency, PSF, focus, gain, dynamic range, TGC).
    rng : numpy.random.Generator
    lateral_scale : float
        Widens the lateral PSF (colour-flow and elastography frames use fewer lines).
    gain_offset_db : float
        Extra gain (negative in colour and strain frames).

    Returns
    -------
    ndarray (n, n), float32 in [0, 255]
    """
    n_rows = echo.shape[0]
    depth_mm = (np.arange(n_rows) + 0.5) * pixel_mm
    depth_total = n_rows * pixel_mm
    z_focus = site.focus_depth * depth_total
    z_r = 0.3 * depth_total
    sigma_lat = site.lateral_psf_mm * lateral_scale * np.sqrt(1 + ((depth_mm - z_focus) / z_r) ** 2)
    lateral_px = np.maximum(sigma_lat / pixel_mm, 0.5)
    axial_px = max(site.axial_psf_mm / pixel_mm, 0.5)
    # two-way attenuation integrated along each beam (columns), in dB
    step_cm = pixel_mm / 10.0
    atten_db = 2.0 * site.frequency_mhz * np.cumsum(atten, axis=0) * step_cm
    tgc_db = (2.0 * site.frequency_mhz * ATTEN_TISSUE * depth_mm / 10.0
              + site.tgc_residual_db * depth_mm / depth_total)
    env = envelope(echo, rng, axial_px=axial_px, lateral_px=lateral_px,
                   gain_db=tgc_db[:, None] - atten_db)
    return log_compress(env, gain_db=site.gain_db + gain_offset_db,
                        dynamic_range_db=site.dynamic_range_db)
