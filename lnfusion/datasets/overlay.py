"""Display furniture of colour ultrasound frames: the colour box, its outline, colour bars."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import ndimage

from lnfusion.datasets.phantom import NodeStructure, Pose

__all__ = ["colour_box", "draw_outline", "draw_colour_bar"]


def draw_outline(rgb: np.ndarray, mask: np.ndarray, level: float = 200.0) -> None:
    """Draw the one-pixel outline of boolean ``mask`` on ``rgb`` (in place)."""
    rgb[mask & ~ndimage.binary_erosion(mask)] = level


def draw_colour_bar(rgb: np.ndarray, cmap: Callable[[np.ndarray], np.ndarray]) -> None:
    """Draw a vertical colour scale bar near the top right corner (in place).

    ``cmap`` maps the height fraction (0 top, 1 bottom) to RGB in 0-255.
    """
    n = rgb.shape[0]
    h = max(int(0.3 * n), 8)
    w = max(n // 40, 2)
    top = max(n // 16, 2)
    rgb[top:top + h, n - w - 1:n - 1] = cmap(np.linspace(0, 1, h))[:, None, :]


def colour_box(structure: NodeStructure, pose: Pose, n: int, steer: float, margin: float,
               rng: np.random.Generator) -> np.ndarray:
    """Boolean mask of a (possibly steered) colour box around the node."""
    px = pose.fov_mm / n
    ext_x = abs(structure.a * np.cos(pose.angle)) + abs(structure.b * np.sin(pose.angle))
    ext_z = abs(structure.a * np.sin(pose.angle)) + abs(structure.b * np.cos(pose.angle))
    half_w = ext_x * (1 + margin) + rng.uniform(0.5, 2.5)
    top = max(pose.z_mm - ext_z * (1 + margin) - rng.uniform(0.5, 2.0), 1.5)
    bottom = min(pose.z_mm + ext_z * (1 + margin) + rng.uniform(0.5, 2.0), pose.fov_mm - px)
    c = (np.arange(n) + 0.5) * px
    x, z = np.meshgrid(c - pose.fov_mm / 2, c)
    shear = np.tan(steer) * (z - pose.z_mm)
    return (np.abs(x - pose.x_mm - shear) <= half_w) & (z >= top) & (z <= bottom)
