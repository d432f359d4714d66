"""Colour Doppler flow imaging (CDFI): vessels of the node and their colour-coded flow.

Vessel architecture follows the node's latent vascular pattern [AY05]:

- ``hilar``: a trunk enters through the hilum and branches radially toward the
  cortex (artery out, a paired vein back);
- ``peripheral``: vessels run along the capsule and penetrate it from outside,
  not from the hilum;
- ``mixed``: both; ``absent``: none.

The number and calibre of vessels follows the Adler grade [A90] (0 none; 1 one or
two small vessels; 2 three or four small vessels or one main vessel; 3 five or
more, or two main vessels).  Image-only features modulate tortuosity, peak
velocity and branch density.

Rendering: the colour box (steered like a linear array's, so a parallelogram
when steering is on) shows, where the flow power exceeds the display threshold,
the Doppler velocity ``v * cos(angle to the beam)``: red toward the probe, blue
away, brighter (to yellow / cyan) when faster, wrapped around when faster than
the velocity scale (aliasing), with estimation noise, blooming and random noise
pixels; elsewhere the B-mode shows through.
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from scipy import ndimage

from lnfusion.datasets.overlay import colour_box, draw_colour_bar, draw_outline
from lnfusion.datasets.phantom import NodeStructure, Pose, TissueMaps, Vessel, to_image_frame
from lnfusion.datasets.sites import Site

__all__ = ["build_vessels", "doppler_colour", "render_cdfi"]

STEP_MM = 0.35


def _walk(start: np.ndarray, direction: float, length: float, tortuosity: float,
          rng: np.random.Generator) -> np.ndarray:
    """Random-walk polyline of ``length`` mm from ``start`` with heading ``direction``."""
    n = max(int(length / STEP_MM), 2)
    turns = rng.normal(0.0, tortuosity, n)
    turns = np.convolve(turns, np.ones(3) / 1.5, mode="same")
    heading = direction + np.cumsum(turns)
    steps = STEP_MM * np.stack([np.cos(heading), np.sin(heading)], axis=1)
    return np.vstack([start, start + np.cumsum(steps, axis=0)])


def build_vessels(latent: Mapping, structure: NodeStructure,
                  rng: np.random.Generator) -> list[Vessel]:
    """Vessels of a node (node-local mm) from its vascular pattern and Adler grade."""
    pattern = latent["cdfi_pattern"]
    grade = int(latent["adler_grade"])
    if pattern == "absent" or grade == 0:
        return []
    a, b = structure.a, structure.b
    tort = 0.06 + 0.07 * float(np.exp(0.6 * latent["cdfi_tortuosity"]))
    speed = 9.0 * float(np.exp(0.35 * latent["cdfi_velocity"]))
    density = float(np.exp(0.35 * latent["cdfi_density"]))
    n_small = {1: rng.integers(1, 3), 2: rng.integers(3, 5), 3: rng.integers(5, 9)}[grade]
    n_small = max(1, int(round(n_small * density)))
    main = grade >= 2 and rng.random() < 0.6
    vessels: list[Vessel] = []
    s = structure.hilum_side

    def hilar(n_branches: int, trunk: bool) -> None:
        entry = np.array([rng.normal(0, 0.1 * a), s * b * 1.15])
        centre = np.array([rng.normal(0, 0.1 * a), s * 0.1 * b])
        depth = np.linalg.norm(centre - entry)
        head = float(np.arctan2(centre[1] - entry[1], centre[0] - entry[0]))
        radius = 0.35 if trunk else 0.22
        art = _walk(entry, head, depth, tort * 0.5, rng)
        vessels.append(Vessel(art, radius, speed))
        vein = art + np.array([0.45, 0.0]) * (1 if rng.random() < 0.5 else -1)
        if grade >= 2:
            vessels.append(Vessel(vein[::-1].copy(), radius * 0.9, 0.6 * speed))
        hub = art[-1]
        for _ in range(n_branches):
            ang = rng.uniform(0, 2 * np.pi)
            target = np.array([0.85 * a * np.cos(ang), 0.85 * b * np.sin(ang)])
            head_k = float(np.arctan2(target[1] - hub[1], target[0] - hub[0]))
            length = np.linalg.norm(target - hub) * rng.uniform(0.6, 1.0)
            path = _walk(hub, head_k, length, tort, rng)
            if rng.random() < 0.5:  # venous return
                path = path[::-1].copy()
            vessels.append(Vessel(path, rng.uniform(0.12, 0.22), 0.7 * speed))

    def peripheral(n_vessels: int, trunk: bool) -> None:
        for k in range(n_vessels):
            ang0 = rng.uniform(0, 2 * np.pi)
            span = rng.uniform(0.4, 1.2)
            t = np.linspace(ang0, ang0 + span, max(int(span * (a + b) / 2 / STEP_MM), 3))
            r = rng.uniform(0.82, 0.95) + 0.03 * np.cumsum(rng.normal(0, tort, len(t)))
            arc = np.stack([r * a * np.cos(t), r * b * np.sin(t)], axis=1)
            # penetrating stem from outside the capsule
            stem_in = arc[0]
            stem_out = stem_in * 1.25
            stem = np.linspace(stem_out, stem_in, 5)
            path = np.vstack([stem, arc])
            if rng.random() < 0.5:
                path = path[::-1].copy()
            radius = 0.3 if (trunk and k == 0) else rng.uniform(0.12, 0.22)
            vessels.append(Vessel(path, radius, 0.8 * speed))

    if pattern == "hilar":
        hilar(n_small, main)
    elif pattern == "peripheral":
        peripheral(n_small, main)
    else:  # mixed
        hilar(max(1, n_small // 2), main)
        peripheral(max(1, n_small - n_small // 2), False)
    return vessels


def doppler_colour(vel: np.ndarray) -> np.ndarray:
    """Colour map of normalised Doppler velocity in [-1, 1] (+ = toward the probe).

    Red shades toward, blue shades away; the fastest flow turns yellow / cyan.
    """
    m = np.clip(np.abs(vel), 0, 1)[..., None]
    toward = np.concatenate([0.45 + 0.55 * np.minimum(m / 0.6, 1.0),
                             np.clip((m - 0.55) / 0.45, 0, 1) * 0.95,
                             np.zeros_like(m)], axis=-1)
    away = np.concatenate([np.zeros_like(m),
                           np.clip((m - 0.55) / 0.45, 0, 1) * 0.9,
                           0.5 + 0.5 * np.minimum(m / 0.6, 1.0)], axis=-1)
    return np.where((vel >= 0)[..., None], toward, away) * 255.0


def render_cdfi(grey: np.ndarray, maps: TissueMaps, structure: NodeStructure, pose: Pose,
                site: Site, rng: np.random.Generator, *, steer: float) -> np.ndarray:
    """Overlay colour-coded flow on a B-mode image.

    Parameters
    ----------
    grey : ndarray (n, n)
        B-mode grey levels (0-255).
    maps : TissueMaps
        The acquisition's maps (for the large-vessel lumen).
    structure, pose, site : the node, its placement, the scanner.
    rng : numpy.random.Generator
    steer : float
        Colour-box steering angle (rad).

    Returns
    -------
    ndarray (n, n, 3), float32 in [0, 255]
    """
    n = grey.shape[0]
    px = pose.fov_mm / n
    box = colour_box(structure, pose, n, steer, 0.25, rng)
    beam = np.array([np.sin(steer), np.cos(steer)])      # (x, z) direction away from the probe
    power = np.zeros((n, n), dtype=np.float32)
    vsum = np.zeros((n, n), dtype=np.float32)
    phase = rng.uniform(0.6, 1.1)                        # cardiac phase of the frame
    for vessel in structure.vessels:
        pts = vessel.points
        seg = np.diff(pts, axis=0)
        seg_len = np.linalg.norm(seg, axis=1)
        n_sub = np.maximum((seg_len / (0.4 * px)).astype(int), 1)
        starts = np.repeat(pts[:-1], n_sub, axis=0)
        frac = np.concatenate([np.arange(k) / k for k in n_sub])[:, None]
        dirs = np.repeat(seg / np.maximum(seg_len, 1e-9)[:, None], n_sub, axis=0)
        dense = starts + frac * np.repeat(seg, n_sub, axis=0)
        xi, zi = to_image_frame(dense[:, 0], dense[:, 1], pose)
        ca, sa = np.cos(pose.angle), np.sin(pose.angle)
        dx = ca * dirs[:, 0] - sa * dirs[:, 1]
        dz = sa * dirs[:, 0] + ca * dirs[:, 1]
        along = np.linspace(1.0, 0.55, len(dense))
        v_toward = -(dx * beam[0] + dz * beam[1]) * vessel.speed * along * phase
        rows = (zi / px).astype(int)
        cols = ((xi + pose.fov_mm / 2) / px).astype(int)
        ok = (rows >= 0) & (rows < n) & (cols >= 0) & (cols < n)
        weight = (vessel.radius / 0.2) ** 2
        np.add.at(power, (rows[ok], cols[ok]), weight)
        np.add.at(vsum, (rows[ok], cols[ok]), weight * v_toward[ok])
    bloom = max(0.25 / px, 0.6)
    power_b = ndimage.gaussian_filter(power, bloom)
    vel = ndimage.gaussian_filter(vsum, bloom) / np.maximum(power_b, 1e-6)
    thresh = 0.08 / max(px / 0.2, 1.0)
    flow = power_b > thresh
    # large vessel beside the node, if inside the box
    if maps.lumen.any():
        lum = maps.lumen > 0.5
        vel = np.where(lum, maps.lumen_flow * 1.6 * site.velocity_scale
                       * rng.uniform(0.6, 1.4), vel)
        flow |= lum
    vel = vel + rng.normal(0, 0.12 * site.velocity_scale, vel.shape)
    # aliasing: velocities beyond the scale wrap around
    vn = site.velocity_scale
    vel = (vel + vn) % (2 * vn) - vn
    norm = vel / vn
    wall = np.abs(norm) > 0.08          # wall filter
    noise = rng.random((n, n)) < site.colour_noise
    if noise.any() and px < 0.3:
        noise = ndimage.binary_dilation(noise)
    norm = np.where(noise & ~flow, rng.uniform(-0.6, 0.6, (n, n)), norm)
    show = box & ((flow & wall) | noise)
    rgb = np.repeat(grey[..., None], 3, axis=2)
    rgb[show] = doppler_colour(norm[show])
    draw_outline(rgb, box)
    draw_colour_bar(rgb, doppler_bar)
    return rgb


def doppler_bar(t: np.ndarray) -> np.ndarray:
    """Colour of the velocity scale bar at height fraction ``t`` (0 top, 1 bottom)."""
    return doppler_colour(1.0 - 2.0 * t)
