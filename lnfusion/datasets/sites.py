"""The three simulated hospitals: class mix and acquisition settings.

Site shift is real in the demo cohort: each site has its own referral pattern
(class mix) and scanner settings (transmit frequency and hence point-spread
function, overall gain, dynamic range, field-of-view depth, time-gain
compensation residual, Doppler velocity scale, colour and strain noise), so
image statistics differ measurably between sites.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

__all__ = ["Site", "SITES", "site_by_name"]


@dataclass(frozen=True)
class Site:
    """A hospital of the simulated cohort.

    Attributes
    ----------
    name : str
        Value of the manifest's ``site`` column.
    share : float
        Share of the cohort's patients scanned at this site.
    class_mix : tuple of float
        P(metastatic, lymphoma, benign) among this site's patients.
    frequency_mhz : float
        Transmit centre frequency (sets attenuation and the speckle grain).
    lateral_psf_mm, axial_psf_mm : float
        Gaussian sigma of the point-spread function at the focus.
    focus_depth : float
        Focal depth as a fraction of the field of view.
    gain_db : float
        Overall receive gain.
    dynamic_range_db : float
        Log-compression dynamic range.
    depth_mm : float
        Default field-of-view depth (enlarged for large nodes).
    tgc_residual_db : float
        Imperfect time-gain compensation: brightness change from top to bottom.
    velocity_scale : float
        Doppler Nyquist velocity (cm/s); flow faster than this aliases.
    colour_noise : float
        Probability of a noise colour pixel inside the colour box.
    strain_noise : float
        Standard deviation of the strain-estimation noise (log scale).
    elasto_missing_weight : float
        Relative weight of this site's nodes when elastography is left missing.
    """

    name: str
    share: float
    class_mix: tuple[float, float, float]
    frequency_mhz: float
    lateral_psf_mm: float
    axial_psf_mm: float
    focus_depth: float
    gain_db: float
    dynamic_range_db: float
    depth_mm: float
    tgc_residual_db: float
    velocity_scale: float
    colour_noise: float
    strain_noise: float
    elasto_missing_weight: float

    def to_dict(self) -> dict:
        """Settings as a plain dict (for JSON)."""
        return dataclasses.asdict(self)


#: The three sites: a cancer centre (many metastases, high-end scanner), a
#: haematology referral centre (many lymphomas) and a general hospital (many benign
#: nodes, older scanner, lower frequency, more noise, elastography less available).
SITES: tuple[Site, ...] = (
    Site("site_A", 0.40, (0.55, 0.20, 0.25), frequency_mhz=12.0, lateral_psf_mm=0.28,
         axial_psf_mm=0.12, focus_depth=0.45, gain_db=2.0, dynamic_range_db=60.0,
         depth_mm=35.0, tgc_residual_db=-3.0, velocity_scale=6.0, colour_noise=0.0004,
         strain_noise=0.15, elasto_missing_weight=0.6),
    Site("site_B", 0.30, (0.25, 0.45, 0.30), frequency_mhz=10.0, lateral_psf_mm=0.38,
         axial_psf_mm=0.15, focus_depth=0.5, gain_db=5.0, dynamic_range_db=55.0,
         depth_mm=40.0, tgc_residual_db=2.0, velocity_scale=5.0, colour_noise=0.0008,
         strain_noise=0.22, elasto_missing_weight=1.0),
    Site("site_C", 0.30, (0.25, 0.15, 0.60), frequency_mhz=7.5, lateral_psf_mm=0.62,
         axial_psf_mm=0.24, focus_depth=0.55, gain_db=-4.0, dynamic_range_db=50.0,
         depth_mm=45.0, tgc_residual_db=-5.0, velocity_scale=4.0, colour_noise=0.0015,
         strain_noise=0.3, elasto_missing_weight=1.6),
)


def site_by_name(name: str) -> Site:
    """Return the :class:`Site` called ``name``."""
    for site in SITES:
        if site.name == name:
            return site
    raise KeyError(f"unknown site {name!r}; expected one of {[s.name for s in SITES]}")
