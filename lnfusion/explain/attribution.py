"""One image's attribution map (Grad-CAM or SHAP) and its overlay."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["ImageAttribution", "overlay_heatmap", "shap_colour_map", "SHAP_OVERLAY_ALPHA"]

#: Colours of the SHAP overlay from the strongest negative (-1) to the strongest
#: positive (+1) attribution.  Every stop is saturated and bright, none grey,
#: white or black, so that on a greyscale B-mode image (dark background, grey
#: speckle) a weak attribution is still a colour and never looks like tissue:
#: cyan -> blue for evidence against the target class, red -> yellow for evidence for it.
_SHAP_STOPS = ((0.0, "#00e5ff"), (0.4999, "#3d6bff"), (0.5, "#ff3a1a"), (1.0, "#ffe600"))

#: Maximum opacity of the SHAP overlay (Grad-CAM keeps 0.5).
SHAP_OVERLAY_ALPHA = 0.75

#: Opacity grows as ``|map| ** 0.5``, so moderate attributions stay visible over speckle.
_SHAP_GAMMA = 0.5

#: Attributions below this share of the peak are left transparent (the image shows through).
_SHAP_FLOOR = 0.1


def shap_colour_map():
    """The colour map of SHAP overlays, chosen for greyscale B-mode images.

    Signed: the middle of the map (0) separates blue-cyan (against the target
    class) from red-yellow (for it); every colour is saturated, none is grey.

    Returns
    -------
    matplotlib.colors.LinearSegmentedColormap
    """
    from matplotlib.colors import LinearSegmentedColormap

    return LinearSegmentedColormap.from_list("lnfusion_shap", list(_SHAP_STOPS))


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

    def overlay(self, alpha: float | None = None, grey: bool = True) -> np.ndarray:
        """RGB uint8 image with the map blended in.

        Grad-CAM: ``jet``, opacity up to 0.5.  SHAP: :func:`shap_colour_map`
        (blue-cyan against the target, red-yellow for it, no grey), opacity up
        to :data:`SHAP_OVERLAY_ALPHA` growing as ``sqrt(|map|)``, and
        transparent below a tenth of the peak -- chosen so the map reads on a
        greyscale B-mode image.  With ``grey`` (default) the map is drawn over
        the image's luma, so that it cannot be confused with the colour coding
        of Doppler or elastography.

        Parameters
        ----------
        alpha : float, optional
            Maximum opacity; default 0.5 (Grad-CAM) or :data:`SHAP_OVERLAY_ALPHA` (SHAP).
        grey : bool, default True
        """
        image = self.load_image()
        if grey:
            luma = image.astype(float) @ np.array([0.299, 0.587, 0.114])
            image = np.clip(np.round(luma), 0, 255).astype(np.uint8)
        if self.method == "shap":
            return overlay_heatmap(image, self.display_map(), cmap=shap_colour_map(), signed=True,
                                   alpha=SHAP_OVERLAY_ALPHA if alpha is None else alpha,
                                   gamma=_SHAP_GAMMA, floor=_SHAP_FLOOR)
        return overlay_heatmap(image, self.display_map(), cmap="jet",
                               alpha=0.5 if alpha is None else alpha)


def overlay_heatmap(image: np.ndarray, heatmap: np.ndarray, *, cmap: Any = "jet",
                    signed: bool = False, alpha: float = 0.45, gamma: float = 1.0,
                    floor: float = 0.0) -> np.ndarray:
    """Blend a heat map onto an image.

    Parameters
    ----------
    image : ndarray, uint8 (H, W) or (H, W, 3)
    heatmap : ndarray (H, W)
        In ``[0, 1]``, or ``[-1, 1]`` with ``signed=True``.
    cmap : str or matplotlib colour map
        Matplotlib colour map (or its name).
    signed : bool
        Map ``[-1, 1]`` onto the colour map (0 in its middle).
    alpha : float
        Maximum opacity of the map; the blend is weighted by ``|heatmap|`` so
        that regions with no attribution keep their original look.
    gamma : float, default 1.0
        The opacity is ``alpha * |heatmap| ** gamma``; below 1, moderate values
        show more.
    floor : float, default 0.0
        ``|heatmap|`` below it is left transparent.

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
    colour_map = matplotlib.colormaps[cmap] if isinstance(cmap, str) else cmap
    colours = colour_map((h + 1.0) / 2.0 if signed else h)[:, :, :3]
    strength = np.clip(np.abs(h), 0.0, 1.0)
    weight = alpha * np.where(strength < floor, 0.0, strength ** gamma)[:, :, None]
    out = (1.0 - weight) * img + weight * colours
    return np.clip(np.round(out * 255.0), 0, 255).astype(np.uint8)
