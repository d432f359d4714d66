"""One image's attribution map (Grad-CAM or SHAP) and its overlay."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["ImageAttribution", "overlay_heatmap"]


@dataclass(frozen=True, eq=False)
class ImageAttribution:
    """An attribution map over one image of one node, on the image's own pixel grid.

    Attributes
    ----------
    node : str
        Node label (``patient`` or ``patient/node``).
    row : int
        Position of the node in the explained cohort.
    image_index : int
        Position of the image among the node's images of the modality.
    modality : str
    method : {"gradcam", "shap"}
    target : str
        Class whose score is attributed.
    image_path : str
    heatmap : ndarray, float32 (H, W)
        At the original image's resolution (0 outside the ROI).  Grad-CAM: in
        ``[0, 1]``.  SHAP: signed attribution to the target's logit (positive
        pushes towards ``target``), summed over colour channels.
    roi : tuple of int or None
        ``(x0, y0, x1, y1)`` crop the network saw, or None for the whole image.
    """

    node: str
    row: int
    image_index: int
    modality: str
    method: str
    target: str
    image_path: str
    heatmap: np.ndarray
    roi: tuple[int, int, int, int] | None = None

    def load_image(self) -> np.ndarray:
        """The image as uint8 RGB ``(H, W, 3)``."""
        from lnfusion.data.imageio import read_image

        return read_image(self.image_path, mode="rgb")

    def display_map(self) -> np.ndarray:
        """The map scaled for display: ``[0, 1]`` for Grad-CAM, ``[-1, 1]`` for SHAP."""
        h = np.nan_to_num(np.asarray(self.heatmap, dtype=float))
        if self.method == "shap":
            peak = np.abs(h).max()
            return h / peak if peak > 0 else h
        return np.clip(h, 0.0, 1.0)

    def overlay(self, alpha: float = 0.5, grey: bool = True) -> np.ndarray:
        """RGB uint8 image with the map blended in (``jet`` for Grad-CAM, ``bwr`` for SHAP).

        With ``grey`` (default) the map is drawn over the image's luma, so that
        it cannot be confused with the colour coding of Doppler or elastography.
        """
        image = self.load_image()
        if grey:
            luma = image.astype(float) @ np.array([0.299, 0.587, 0.114])
            image = np.clip(np.round(luma), 0, 255).astype(np.uint8)
        return overlay_heatmap(image, self.display_map(),
                               cmap="bwr" if self.method == "shap" else "jet",
                               signed=self.method == "shap", alpha=alpha)


def overlay_heatmap(image: np.ndarray, heatmap: np.ndarray, *, cmap: str = "jet",
                    signed: bool = False, alpha: float = 0.45) -> np.ndarray:
    """Blend a heat map onto an image.

    Parameters
    ----------
    image : ndarray, uint8 (H, W) or (H, W, 3)
    heatmap : ndarray (H, W)
        In ``[0, 1]``, or ``[-1, 1]`` with ``signed=True``.
    cmap : str
        Matplotlib colour map.
    signed : bool
        Map ``[-1, 1]`` onto the colour map (0 in its middle).
    alpha : float
        Maximum opacity of the map; the blend is weighted by ``|heatmap|`` so
        that regions with no attribution keep their original look.

    Returns
    -------
    ndarray, uint8 (H, W, 3)
    """
    import matplotlib

    img = np.asarray(image)
    if img.ndim == 2:
        img = np.repeat(img[:, :, None], 3, axis=2)
    img = img[:, :, :3].astype(float) / 255.0 if img.dtype == np.uint8 else np.clip(img[:, :, :3], 0, 1)
    h = np.asarray(heatmap, dtype=float)
    if h.shape != img.shape[:2]:
        raise ValueError(f"heatmap shape {h.shape} does not match image shape {img.shape[:2]}")
    colours = matplotlib.colormaps[cmap]((h + 1.0) / 2.0 if signed else h)[:, :, :3]
    weight = alpha * np.clip(np.abs(h), 0.0, 1.0)[:, :, None]
    out = (1.0 - weight) * img + weight * colours
    return np.clip(np.round(out * 255.0), 0, 255).astype(np.uint8)
