"""Render the images of one node: B-mode, colour Doppler and strain elastography frames.

Randomness is per node and per image: every node has its own
:class:`numpy.random.SeedSequence` (derived from the cohort seed and the node's
position), whose children seed the node's fixed structure (geometry, vessels,
stiffness) and each acquisition.  The result therefore does not depend on how
nodes are distributed over worker processes.
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from lnfusion.datasets.bmode import simulate_bmode
from lnfusion.datasets.doppler import build_vessels, render_cdfi
from lnfusion.datasets.elastography import build_stiffness, render_elasto
from lnfusion.datasets.phantom import NodeStructure, build_node_structure, sample_pose, tissue_maps
from lnfusion.datasets.sites import Site

__all__ = ["MODALITIES", "node_seed", "child_rng", "node_structure", "render_image",
           "render_node"]

MODALITIES: tuple[str, ...] = ("bmode", "cdfi", "elasto")
#: Images smaller than this are rendered at an integer multiple and averaged down,
#: as a real frame is when it is resized.
MIN_RENDER_SIZE = 128
_STRUCTURE, _VESSELS, _STIFFNESS, _TEXTURE = 0, 1, 2, 3
_NODE_STREAM = 7


def node_seed(seed: int, node_index: int) -> np.random.SeedSequence:
    """The seed sequence of node ``node_index`` of the cohort built with ``seed``."""
    return np.random.SeedSequence(seed, spawn_key=(_NODE_STREAM, int(node_index)))


def child_rng(seq: np.random.SeedSequence, *key: int) -> np.random.Generator:
    """A generator for the child stream ``key`` of ``seq`` (order-independent)."""
    return np.random.default_rng(np.random.SeedSequence(
        seq.entropy, spawn_key=tuple(seq.spawn_key) + tuple(int(k) for k in key)))


def node_structure(latent: Mapping, seq: np.random.SeedSequence, *,
                   full: bool = True) -> NodeStructure:
    """The fixed structure of a node: geometry and stiffness, plus (``full``) echotexture
    and vessels.  Each part has its own child stream, so ``full=False`` builds the same
    geometry and stiffness as ``full=True``."""
    structure = build_node_structure(latent, child_rng(seq, _STRUCTURE),
                                     child_rng(seq, _TEXTURE) if full else None)
    if full:
        structure.vessels = build_vessels(latent, structure, child_rng(seq, _VESSELS))
    build_stiffness(latent, structure, child_rng(seq, _STIFFNESS))
    return structure


def render_image(structure: NodeStructure, modality: str, site: Site, image_size: int,
                 rng: np.random.Generator) -> np.ndarray:
    """One frame of ``modality``: uint8 (n, n) for ``bmode``, (n, n, 3) otherwise."""
    factor = max(1, int(np.ceil(MIN_RENDER_SIZE / image_size)))
    n = image_size * factor
    pose = sample_pose(structure, site, rng)
    maps = tissue_maps(structure, pose, n, rng)
    if modality == "bmode":
        out = simulate_bmode(maps.echo, maps.atten, maps.pixel_mm, site, rng)
    elif modality == "cdfi":
        grey = simulate_bmode(maps.echo, maps.atten, maps.pixel_mm, site, rng,
                              lateral_scale=1.4, gain_offset_db=-2.0)
        steer = np.deg2rad({"site_A": -15.0, "site_B": 0.0}.get(site.name, 20.0))
        out = render_cdfi(grey, maps, structure, pose, site, rng, steer=steer)
    elif modality == "elasto":
        grey = simulate_bmode(maps.echo, maps.atten, maps.pixel_mm, site, rng,
                              lateral_scale=1.3, gain_offset_db=-1.0)
        out = render_elasto(grey, maps, structure, pose, site, rng)
    else:
        raise ValueError(f"unknown modality {modality!r}; expected one of {MODALITIES}")
    if factor > 1:
        shape = (image_size, factor, image_size, factor) + out.shape[2:]
        out = out.reshape(shape).mean(axis=(1, 3))
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def render_node(latent: Mapping, site: Site, seq: np.random.SeedSequence,
                n_images: Mapping[str, int], image_size: int) -> dict[str, list[np.ndarray]]:
    """All frames of one node.

    Parameters
    ----------
    latent : mapping
        The node's latent anatomy (a row of the latent table).
    site : Site
    seq : numpy.random.SeedSequence
        The node's seed sequence (:func:`node_seed`).
    n_images : mapping
        Number of frames per modality (0 = modality missing).
    image_size : int

    Returns
    -------
    dict
        modality -> list of uint8 arrays.
    """
    structure = node_structure(latent, seq)
    out: dict[str, list[np.ndarray]] = {}
    for m_idx, modality in enumerate(MODALITIES):
        out[modality] = [render_image(structure, modality, site, image_size,
                                      child_rng(seq, 10 + m_idx, k))
                         for k in range(int(n_images.get(modality, 0)))]
    return out
