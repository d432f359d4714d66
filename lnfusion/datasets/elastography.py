"""Strain elastography: the node's stiffness map, its colour display and its 1-5 score.

Stiffness (log Young's modulus relative to fat) of the node is built on the
node-local grid: a random field with correlation length set by the image-only
``elasto_mosaic`` feature (fine-grained mosaic vs confluent) is thresholded so
that the stiff share of the node equals ``expit(elasto_hardness)``; stiff tissue
is ``2 * exp(0.9 + 0.3 * elasto_contrast)`` times stiffer than fat, soft node
tissue about 1.3 times; necrotic cavities and hilar fat are soft.

Display (as on strain-elastography scanners): the strain (inverse stiffness,
smoothed by the estimation kernel, with estimation noise and decay with depth)
is shown relative to the mean strain in the elastography box, as a translucent
colour map over the B-mode: stiff = blue, intermediate = green, soft = red.

Score (5-point pattern scale of [AL08]): 1 no or very small stiff area (< 10%);
2 small scattered stiff areas (< 45%); 3 large stiff area (>= 45%); 4 peripheral
stiff area with a soft centre (central necrosis); 5 stiff area occupying (>= 85%)
the entire node.  :func:`read_elasto_score` reads it from the simulated
stiffness map (the manifest's ``elasto_score`` is this reading, misread with the
descriptors' ``misread_rate``).
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from scipy import ndimage
from scipy.special import expit

from lnfusion.datasets.overlay import colour_box, draw_colour_bar, draw_outline
from lnfusion.datasets.phantom import GRID_MM, NodeStructure, Pose, TissueMaps, smooth_noise
from lnfusion.datasets.sites import Site

__all__ = ["build_stiffness", "read_elasto_score", "elasto_colour", "render_elasto"]

SOFT_NODE = np.log(1.3)
HARD_BASE = np.log(2.0) + 0.9
HARD_THRESHOLD = np.log(2.0)
ALPHA = 0.5
#: colour map anchors: relative stiffness display value t in [0, 1] (0 = stiff)
_ANCHORS = np.array([0.0, 0.25, 0.5, 0.75, 1.0])
_COLOURS = np.array([[20, 30, 200], [0, 120, 255], [0, 200, 60], [235, 215, 0], [225, 25, 20]],
                    dtype=np.float32)


def build_stiffness(latent: Mapping, structure: NodeStructure,
                    rng: np.random.Generator) -> np.ndarray:
    """Log stiffness of the node on its grid (also stored on ``structure``)."""
    u, v = structure.grid_coords()
    rho = structure.grid_rho()
    inside = rho < 1.0
    frac = float(expit(latent["elasto_hardness"]))
    scale = float(np.clip(1.5 * np.exp(-0.5 * latent["elasto_mosaic"])
                          * np.sqrt(structure.b / 6.0), 0.35, 6.0))
    g = smooth_noise(structure.grid_shape, scale / GRID_MM, rng)
    # bias toward the centre so that confluent stiff areas look like a mass
    g = g + 0.6 * (1.0 - np.clip(rho, 0, 1.2))
    if inside.any() and frac > 0:
        t = np.quantile(g[inside], 1.0 - frac) if frac < 1 else -np.inf
    else:
        t = np.inf
    hard = expit((g - t) / 0.08)
    hard_level = max(HARD_BASE + 0.3 * float(latent["elasto_contrast"]), np.log(2.6))
    log_e = (SOFT_NODE + 0.05 * g) * (1 - hard) + hard_level * hard
    hil = structure.hilum_mask(u, v)
    log_e = log_e * (1 - hil) + 0.0 * hil
    cyst = structure.cyst_mask(u, v, soft=0.2)
    log_e = log_e * (1 - cyst) + np.log(0.4) * cyst
    structure.log_stiffness = log_e.astype(np.float32)
    structure.hard_threshold = float(HARD_THRESHOLD)
    return structure.log_stiffness


def read_elasto_score(structure: NodeStructure) -> int:
    """Read the 5-point elasticity score from a node's stiffness map (see module doc)."""
    if structure.log_stiffness is None:
        raise ValueError("read_elasto_score: build_stiffness must be called first")
    u, v = structure.grid_coords()
    inside = structure.grid_rho() < 1.0
    hard = structure.log_stiffness > structure.hard_threshold
    frac = float(hard[inside].mean()) if inside.any() else 0.0
    if structure.cysts:
        cyst = structure.cyst_mask(u, v) > 0.5
        cyst_share = float(cyst[inside].mean())
        rest = inside & ~cyst
        if cyst_share >= 0.04 and rest.any() and hard[rest].mean() >= 0.5:
            return 4
    if frac < 0.10:
        return 1
    if frac < 0.45:
        return 2
    if frac < 0.85:
        return 3
    return 5


def elasto_colour(t: np.ndarray) -> np.ndarray:
    """Colour of relative-stiffness display value ``t`` (0 stiff/blue .. 1 soft/red)."""
    t = np.clip(t, 0, 1)
    return np.stack([np.interp(t, _ANCHORS, _COLOURS[:, c]) for c in range(3)], axis=-1)


def render_elasto(grey: np.ndarray, maps: TissueMaps, structure: NodeStructure, pose: Pose,
                  site: Site, rng: np.random.Generator) -> np.ndarray:
    """Overlay the relative-strain colour map on a B-mode image inside a box.

    Returns
    -------
    ndarray (n, n, 3), float32 in [0, 255]
    """
    n = grey.shape[0]
    px = pose.fov_mm / n
    box = colour_box(structure, pose, n, 0.0, 0.7, rng)
    log_strain = -maps.stiffness
    log_strain = ndimage.gaussian_filter(log_strain, max(0.6 / px, 0.5))
    depth = (np.arange(n) + 0.5)[:, None] * px
    log_strain = log_strain - 0.4 * depth / pose.fov_mm
    noise = smooth_noise((n, n), max(0.8 / px, 0.7), rng)
    log_strain = log_strain + site.strain_noise * noise
    rel = log_strain - float(log_strain[box].mean())
    t = 0.5 + rel / (2 * np.log(4.0))
    rgb = np.repeat(grey[..., None], 3, axis=2)
    rgb[box] = (1 - ALPHA) * rgb[box] + ALPHA * elasto_colour(t[box])
    draw_outline(rgb, box)
    draw_colour_bar(rgb, lambda s: elasto_colour(1.0 - s))
    return rgb
