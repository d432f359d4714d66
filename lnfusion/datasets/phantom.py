"""Tissue phantom of one node and its surroundings, in physical units (mm).

A node's internal structure (contour, hilum, texture, necrotic cavities,
calcifications, vessels, stiffness) is built once per node in a node-local frame
(:class:`NodeStructure`; ``u`` along the long axis, ``v`` along the short axis,
origin at the centre) so that all images of the node show the same object.  Each
acquisition places the node in the field of view with its own pose
(:class:`Pose`) and draws its own surroundings (skin, subcutaneous fat with
septa, muscle with fibrillar striations, deep tissue, sometimes a large vessel):
:func:`tissue_maps` returns the echogenicity and attenuation maps that the B-mode
simulator (:mod:`lnfusion.datasets.bmode`) images.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from scipy import fft as sfft
from scipy import ndimage

from lnfusion.datasets.sites import Site

__all__ = [
    "GRID_MM",
    "Vessel",
    "NodeStructure",
    "Pose",
    "TissueMaps",
    "smooth_noise",
    "build_node_structure",
    "sample_pose",
    "tissue_maps",
]

#: Resolution (mm) of the node-local grids (texture, stiffness).
GRID_MM = 0.2
#: Grid half-extent in units of the semi-axes.
GRID_EXTENT = 1.35
#: Echogenicity (intensity, relative to deep soft tissue = 1) of the node cortex.
CORTEX_ECHO = {"hypoechoic": 0.05, "isoechoic": 0.15, "hyperechoic": 0.35}
HILUM_ECHO = 1.5
CYST_ECHO = 0.01
CALC_ECHO = 60.0
#: Attenuation (dB/cm/MHz).
ATTEN_TISSUE = 0.6
ATTEN_FAT = 0.5
ATTEN_MUSCLE = 0.8
ATTEN_CYST = 0.2
ATTEN_CALC = 25.0
ATTEN_LUMEN = 0.3


def smooth_noise(shape: tuple[int, ...], sigma: float | tuple[float, ...],
                 rng: np.random.Generator) -> np.ndarray:
    """Zero-mean, unit-variance Gaussian random field (white noise, Gaussian-filtered).

    The filter is applied in the Fourier domain (periodic boundaries), so the cost
    does not grow with the correlation length.

    Parameters
    ----------
    shape : tuple of int
        Field shape (2-D).
    sigma : float or tuple of float
        Correlation length (filter sigma) in grid cells, per axis.
    rng : numpy.random.Generator
    """
    sig = np.broadcast_to(np.asarray(sigma, dtype=float), (2,))
    noise = rng.standard_normal(shape, dtype=np.float32)
    f0 = np.fft.fftfreq(shape[0]).astype(np.float32)[:, None]
    f1 = np.fft.rfftfreq(shape[1]).astype(np.float32)[None, :]
    tf = np.exp(-2.0 * np.float32(np.pi ** 2) * ((np.float32(sig[0]) * f0) ** 2
                                                  + (np.float32(sig[1]) * f1) ** 2))
    out = sfft.irfft2(sfft.rfft2(noise) * tf, s=shape)
    sd = float(out.std())
    return (out / sd if sd > 0 else out).astype(np.float32)


@dataclass
class Vessel:
    """A vessel of the node: a polyline in node-local mm, ordered along the flow.

    Attributes
    ----------
    points : ndarray (n, 2)
        ``(u, v)`` positions along the vessel, in flow direction.
    radius : float
        Lumen radius (mm).
    speed : float
        Peak flow speed (cm/s) at the start of the vessel (decays along it).
    """

    points: np.ndarray
    radius: float
    speed: float


@dataclass
class NodeStructure:
    """Everything about one node that stays the same between its images."""

    a: float                       # semi long axis (mm)
    b: float                       # semi short axis (mm)
    contour: np.ndarray            # (k, 3): harmonic, amplitude, phase of the boundary
    sharp: bool                    # sharp margin
    cortex_echo: float
    cortex_atten: float
    hilum: tuple[float, float, float] | None   # (v centre, half-length u, half-width v)
    hilum_side: float              # +1 / -1: side of the capsule where the hilum opens
    texture: np.ndarray | None     # log-echo modulation on the node grid (None = not built)
    cysts: list[tuple[float, float, float, np.ndarray]]   # (u, v, radius, contour)
    calcifications: np.ndarray     # (n, 2) u, v in mm
    vessels: list[Vessel] = field(default_factory=list)
    log_stiffness: np.ndarray | None = None                # on the node grid (log E)
    hard_threshold: float = float(np.log(2.0))              # log E above which tissue is "hard"
    _grid_rho: np.ndarray | None = field(default=None, repr=False)

    @property
    def grid_shape(self) -> tuple[int, int]:
        """Shape (rows = v, columns = u) of the node-local grids."""
        nu = int(np.ceil(2 * GRID_EXTENT * self.a / GRID_MM)) | 1
        nv = int(np.ceil(2 * GRID_EXTENT * self.b / GRID_MM)) | 1
        return nv, nu

    def grid_coords(self) -> tuple[np.ndarray, np.ndarray]:
        """(u, v) mm coordinates of the node grid cells (rows = v, columns = u)."""
        nv, nu = self.grid_shape
        u = ((np.arange(nu) - (nu - 1) / 2) * GRID_MM).astype(np.float32)
        v = ((np.arange(nv) - (nv - 1) / 2) * GRID_MM).astype(np.float32)
        return np.meshgrid(u, v)

    def grid_rho(self) -> np.ndarray:
        """:meth:`rho` on the node grid (cached)."""
        if self._grid_rho is None:
            self._grid_rho = self.rho(*self.grid_coords())
        return self._grid_rho

    def rho(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Normalised radius: < 1 inside the (possibly irregular) node contour."""
        return _perturbed_radius(u / self.a, v / self.b, 1.0, self.contour)

    def cyst_mask(self, u: np.ndarray, v: np.ndarray, soft: float = 0.0) -> np.ndarray:
        """1 inside necrotic cavities (smooth edge of ``soft`` mm), 0 outside."""
        out = np.zeros(np.shape(u), dtype=np.float32)
        for cu, cv, radius, contour in self.cysts:
            d = (_perturbed_radius(u - cu, v - cv, 1.0, contour) - 1.0) * radius
            out = np.maximum(out, _edge(-d, soft))
        return out

    def hilum_mask(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Soft mask of the echogenic hilum (including its opening to the capsule)."""
        if self.hilum is None:
            return np.zeros(np.shape(u), dtype=np.float32)
        vc, hu, hv = self.hilum
        vc = vc * self.hilum_side
        body = ((u / hu) ** 2 + ((v - vc) / hv) ** 2)
        mask = _edge(1.0 - body, 0.25)
        # the channel through which the hilum opens to the perinodal fat
        width = 0.5 * hv + 0.6
        s = self.hilum_side
        inside_channel = (np.abs(u) < width) & (s * v > s * vc)
        channel = _edge(width - np.abs(u), 0.3) * inside_channel
        return np.maximum(mask, channel.astype(np.float32))


def _perturbed_radius(x: np.ndarray, y: np.ndarray, scale: float,
                      contour: np.ndarray) -> np.ndarray:
    """``|(x, y)| / (scale * (1 + sum_k amp_k cos(k phi + phase_k)))``."""
    x = np.asarray(x, dtype=np.float32)
    y = np.asarray(y, dtype=np.float32)
    r = np.sqrt(x * x + y * y)
    w = (x + 1j * y).astype(np.complex64) / np.maximum(r, np.float32(1e-9))
    bump = np.ones_like(r)
    kmax = int(contour[:, 0].max()) if len(contour) else 0
    power = np.ones_like(w)
    coef = {int(k): np.complex64(amp * np.exp(1j * phase)) for k, amp, phase in contour}
    for k in range(1, kmax + 1):
        power *= w
        if k in coef:
            bump += (coef[k] * power).real
    return r / (np.float32(scale) * bump)


def _edge(distance: np.ndarray, width: float) -> np.ndarray:
    """Smooth step: 1 where ``distance`` >> ``width`` (inside), 0 where << -width."""
    if width <= 0:
        return (distance > 0).astype(np.float32)
    return (0.5 * (1.0 + np.tanh(distance / width))).astype(np.float32)


def _contour(rng: np.random.Generator, irregular: bool) -> np.ndarray:
    ks = np.arange(2, 8)
    amps = rng.uniform(0.0, 1.0, len(ks)) * (0.07 if irregular else 0.012) / np.sqrt(ks / 2)
    phases = rng.uniform(0, 2 * np.pi, len(ks))
    return np.stack([ks, amps, phases], axis=1)


def build_node_structure(latent: Mapping, rng: np.random.Generator,
                         texture_rng: np.random.Generator | None = None) -> NodeStructure:
    """Build a node's fixed structure from its latent anatomy (one row of
    :func:`~lnfusion.datasets.anatomy.sample_anatomy`).

    Parameters
    ----------
    latent : mapping
    rng : numpy.random.Generator
        Draws the geometry (contour, hilum, cavities, calcifications).
    texture_rng : numpy.random.Generator, optional
        Draws the echotexture; without it ``texture`` is left ``None`` (enough for
        reading the elasticity score).

    Returns
    -------
    NodeStructure
        Without vessels and stiffness: those are added by
        :func:`lnfusion.datasets.doppler.build_vessels` and
        :func:`lnfusion.datasets.elastography.build_stiffness`.
    """
    a = float(latent["long_axis_mm"]) / 2
    b = float(latent["short_axis_mm"]) / 2
    irregular = latent["shape"] == "irregular"
    contour = _contour(rng, irregular)
    sharp = latent["margin"] == "sharp"
    cortex = CORTEX_ECHO[latent["echogenicity"]] * float(np.exp(0.3 * latent["bmode_cortex_level"]))
    atten = float(np.clip(0.5 - 0.08 * latent["bmode_enhancement"], 0.25, 0.8))
    hilum_side = 1.0 if rng.random() < 0.5 else -1.0
    if latent["hilum"] == "present":
        hilum = (0.2 * b, rng.uniform(0.55, 0.75) * a, rng.uniform(0.28, 0.4) * b)
    elif latent["hilum"] == "narrowed":
        hilum = (0.5 * b, rng.uniform(0.3, 0.5) * a, rng.uniform(0.08, 0.14) * b)
    else:
        hilum = None
    cysts = []
    if latent["necrosis"] == "present":
        for _ in range(1 + int(rng.random() < 0.35)):
            r0 = rng.uniform(0.2, 0.42) * min(a, b) * 2
            ang = rng.uniform(0, 2 * np.pi)
            rr = rng.uniform(0.0, 0.35)
            cysts.append((rr * a * np.cos(ang), rr * b * np.sin(ang), min(r0, 0.7 * b),
                          _contour(rng, True)))
    calcs = np.zeros((0, 2))
    if latent["calcification"] == "present":
        n = int(rng.integers(4, 14))
        ang = rng.uniform(0, 2 * np.pi, n)
        rr = np.sqrt(rng.uniform(0, 0.7, n))
        calcs = np.stack([rr * a * np.cos(ang), rr * b * np.sin(ang)], axis=1)
    structure = NodeStructure(a=a, b=b, contour=contour, sharp=bool(sharp), cortex_echo=cortex,
                              cortex_atten=atten, hilum=hilum, hilum_side=hilum_side,
                              texture=None, cysts=cysts, calcifications=calcs)
    if texture_rng is not None:
        structure.texture = _texture(latent, structure.grid_shape, texture_rng)
    return structure


def _texture(latent: Mapping, shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Log-echo modulation of the node parenchyma on the node grid."""
    pattern = latent["internal_pattern"]
    amp = float(np.exp(0.35 * latent["bmode_texture"]))
    # reticulation: bright septa along the zero set of a fine random field, between
    # hypoechoic micronodules (~1 mm)
    fine = smooth_noise(shape, 0.9 / GRID_MM, rng)
    septa = np.exp(-(fine / 0.3) ** 2)
    coarse = smooth_noise(shape, 2.5 / GRID_MM, rng)
    if pattern == "reticulated":
        texture = 1.3 * amp * septa - 0.4 * amp * np.abs(fine) + 0.15 * coarse
    elif pattern == "heterogeneous":
        texture = 0.6 * coarse + 0.25 * amp * septa
    else:
        texture = 0.12 * coarse + 0.25 * amp * septa
    return texture.astype(np.float32)


@dataclass(frozen=True)
class Pose:
    """Placement of the node in one image and the image's field of view."""

    fov_mm: float      # square field of view (depth = width)
    x_mm: float        # node centre, lateral (0 = image centre)
    z_mm: float        # node centre, depth
    angle: float       # rotation of the long axis from horizontal (rad)


def sample_pose(structure: NodeStructure, site: Site, rng: np.random.Generator) -> Pose:
    """Draw an acquisition pose: the sonographer centres the node and sets the depth."""
    angle = float(np.deg2rad(rng.normal(0.0, 8.0)))
    ext_x = abs(structure.a * np.cos(angle)) + abs(structure.b * np.sin(angle))
    ext_z = abs(structure.a * np.sin(angle)) + abs(structure.b * np.cos(angle))
    fov = max(site.depth_mm, 2 * ext_x * 1.3, 2 * ext_z + 16.0)
    fov = float(np.ceil(fov / 5.0) * 5.0)
    z = float(np.clip(rng.normal(0.5, 0.04) * fov, ext_z + 7.0, fov - ext_z - 2.0))
    x = float(np.clip(rng.normal(0.0, 0.05) * fov, -fov / 2 + ext_x + 1, fov / 2 - ext_x - 1))
    return Pose(fov_mm=fov, x_mm=x, z_mm=z, angle=angle)


@dataclass
class TissueMaps:
    """Per-pixel maps of one acquisition (image grid, rows = depth)."""

    echo: np.ndarray          # scattering intensity (deep tissue = 1)
    atten: np.ndarray         # dB/cm/MHz
    stiffness: np.ndarray     # log Young's modulus relative to fat
    node: np.ndarray          # soft node mask (0-1)
    lumen: np.ndarray         # large-vessel lumen mask (0-1)
    lumen_flow: float         # sign of flow in the large vessel (+1 towards probe)
    pixel_mm: float


def image_coords(n: int, fov_mm: float) -> tuple[np.ndarray, np.ndarray]:
    """Lateral ``x`` (0 = centre) and depth ``z`` in mm of an ``n`` x ``n`` image grid."""
    px = fov_mm / n
    c = (np.arange(n, dtype=np.float32) + 0.5) * px
    x, z = np.meshgrid(c - fov_mm / 2, c)
    return x, z


def to_node_frame(x: np.ndarray, z: np.ndarray, pose: Pose) -> tuple[np.ndarray, np.ndarray]:
    """Image mm coordinates -> node-local (u, v) mm."""
    dx, dz = x - pose.x_mm, z - pose.z_mm
    ca, sa = np.cos(pose.angle), np.sin(pose.angle)
    return (ca * dx + sa * dz).astype(np.float32), (-sa * dx + ca * dz).astype(np.float32)


def to_image_frame(u: np.ndarray, v: np.ndarray, pose: Pose) -> tuple[np.ndarray, np.ndarray]:
    """Node-local (u, v) mm -> image (x, z) mm."""
    ca, sa = np.cos(pose.angle), np.sin(pose.angle)
    return pose.x_mm + ca * u - sa * v, pose.z_mm + sa * u + ca * v


def sample_grid(grid: np.ndarray, u: np.ndarray, v: np.ndarray, fill: float = 0.0) -> np.ndarray:
    """Bilinear sample of a node-local grid at (u, v) mm."""
    nv, nu = grid.shape
    cols = u / GRID_MM + (nu - 1) / 2
    rows = v / GRID_MM + (nv - 1) / 2
    return ndimage.map_coordinates(grid, [rows.ravel(), cols.ravel()], order=1, mode="constant",
                                   cval=fill).reshape(u.shape).astype(np.float32)


def tissue_maps(structure: NodeStructure, pose: Pose, n: int,
                rng: np.random.Generator) -> TissueMaps:
    """Echogenicity, attenuation and stiffness maps of one acquisition.

    Parameters
    ----------
    structure : NodeStructure
    pose : Pose
    n : int
        Image size in pixels (square).
    rng : numpy.random.Generator
        Draws this acquisition's surroundings.
    """
    px = pose.fov_mm / n
    x, z = image_coords(n, pose.fov_mm)
    # --- surroundings: skin, subcutaneous fat, muscle, deep tissue --------------------
    skin = rng.uniform(1.0, 1.6)
    fat_bottom = skin + rng.uniform(2.5, 5.5) + 0.6 * np.sin(2 * np.pi * x / rng.uniform(15, 40)
                                                              + rng.uniform(0, 6.3))
    muscle_bottom = fat_bottom + rng.uniform(3.0, 8.0) + 0.8 * np.sin(
        2 * np.pi * x / rng.uniform(20, 50) + rng.uniform(0, 6.3))
    in_fat = (z >= skin) & (z < fat_bottom)
    in_muscle = (z >= fat_bottom) & (z < muscle_bottom)
    deep = z >= muscle_bottom
    sig = max(0.6 / px, 0.7)
    # septa in fat: horizontal streaks; fibrils in muscle: oblique streaks (computed
    # only over the superficial rows that hold fat and muscle)
    top = min(n, int(np.ceil(float(np.max(muscle_bottom)) / px)) + 2)
    streak = smooth_noise((top, n), (max(0.25 / px, 0.6), 3 * sig), rng)
    septa = np.zeros((n, n), dtype=np.float32)
    septa[:top] = np.exp(-(streak / 0.25) ** 2)
    tilt = rng.uniform(0.15, 0.45) * (1 if rng.random() < 0.5 else -1)
    fib_field = smooth_noise((top, n), (max(0.3 / px, 0.6), 4 * sig), rng)
    shift = (np.arange(n) * tilt).astype(int)
    rows = (np.arange(top)[:, None] - shift[None, :]) % top
    fibrils = np.zeros((n, n), dtype=np.float32)
    fibrils[:top] = np.exp(-(fib_field[rows, np.arange(n)[None, :]] / 0.3) ** 2)
    hetero = smooth_noise((n, n), max(3.0 / px, 1.0), rng)
    echo = np.where(deep, 1.0 * np.exp(0.25 * hetero), 0.0).astype(np.float32)
    echo += in_fat * (0.25 + 1.4 * septa)
    echo += in_muscle * (0.3 + 1.0 * fibrils)
    echo += (z < skin) * 2.5
    # bright fascial interfaces
    echo += 1.6 * np.exp(-((z - fat_bottom) / max(0.25, px)) ** 2)
    echo += 1.2 * np.exp(-((z - muscle_bottom) / max(0.25, px)) ** 2)
    atten = np.full((n, n), ATTEN_TISSUE, dtype=np.float32)
    atten[in_fat] = ATTEN_FAT
    atten[in_muscle] = ATTEN_MUSCLE
    stiff = np.where(deep, np.log(1.6) + 0.15 * hetero, 0.0).astype(np.float32)
    stiff[in_muscle] = np.log(2.2)
    stiff[z < skin] = np.log(2.5)

    # --- optional large vessel (jugular vein / carotid) beside the node -------------------
    lumen = np.zeros((n, n), dtype=np.float32)
    flow_sign = 1.0
    if rng.random() < 0.35:
        side = 1 if pose.x_mm < 0 else -1
        r = rng.uniform(3.0, 5.5)
        cx = pose.x_mm + side * (structure.a + r + rng.uniform(3, 8))
        cz = min(pose.z_mm + structure.b + rng.uniform(-2, 6), pose.fov_mm - r - 1)
        d = np.sqrt(((x - cx) / 1.15) ** 2 + (z - cz) ** 2) - r
        lumen = _edge(-d, 0.2)
        wall = np.exp(-(d / max(0.3, px)) ** 2)
        echo = echo * (1 - lumen) + lumen * 0.01 + 1.5 * wall
        atten = atten * (1 - lumen) + lumen * ATTEN_LUMEN
        stiff = stiff * (1 - lumen) + lumen * np.log(0.4)
        flow_sign = 1.0 if rng.random() < 0.5 else -1.0

    # --- the node (computed inside its bounding box only) --------------------------------
    ext = max(structure.a, structure.b) * 1.45 + 3.0
    r0 = max(int((pose.z_mm - ext) / px), 0)
    r1 = min(int((pose.z_mm + ext) / px) + 2, n)
    c0 = max(int((pose.x_mm + pose.fov_mm / 2 - ext) / px), 0)
    c1 = min(int((pose.x_mm + pose.fov_mm / 2 + ext) / px) + 2, n)
    crop = (slice(r0, r1), slice(c0, c1))
    u, v = to_node_frame(x[crop], z[crop], pose)
    rho = structure.rho(u, v)
    width = 0.12 if structure.sharp else 0.45   # transition width (mm)
    dist_mm = (1.0 - rho) * structure.b
    node_c = _edge(dist_mm, width)
    inside = sample_grid(structure.texture, u, v)
    cortex = structure.cortex_echo * np.exp(inside)
    hil = structure.hilum_mask(u, v) * node_c
    cyst = structure.cyst_mask(u, v, soft=0.15) * node_c
    node_echo = cortex * (1 - hil) + HILUM_ECHO * hil
    node_echo = node_echo * (1 - cyst) + CYST_ECHO * cyst
    e = echo[crop]
    if not structure.sharp:
        # perinodal oedema / infiltration: hypoechoic fringe
        halo = np.exp(-((dist_mm + 0.8) / 0.8) ** 2) * (1 - node_c)
        e = e * (1 - 0.5 * halo)
    e = e * (1 - node_c) + node_echo * node_c
    if structure.sharp:
        e = e + 1.2 * np.exp(-(dist_mm / max(0.12, 0.5 * px)) ** 2) * (rho > 0.5)
    echo[crop] = e
    node_att = structure.cortex_atten * (1 - hil) + ATTEN_FAT * hil
    node_att = node_att * (1 - cyst) + ATTEN_CYST * cyst
    atten[crop] = atten[crop] * (1 - node_c) + node_att * node_c
    if len(structure.calcifications):
        cx, cz = to_image_frame(structure.calcifications[:, 0], structure.calcifications[:, 1],
                                pose)
        ci = np.clip((cz / px).astype(int), 0, n - 1)
        cj = np.clip(((cx + pose.fov_mm / 2) / px).astype(int), 0, n - 1)
        echo[ci, cj] += CALC_ECHO
        atten[ci, cj] = ATTEN_CALC * min(1.0, 0.35 / px)
    if structure.log_stiffness is not None:
        node_stiff = sample_grid(structure.log_stiffness, u, v)
        stiff[crop] = stiff[crop] * (1 - node_c) + node_stiff * node_c
    node = np.zeros((n, n), dtype=np.float32)
    node[crop] = node_c
    return TissueMaps(echo=echo.astype(np.float32), atten=atten.astype(np.float32),
                      stiffness=stiff.astype(np.float32), node=node,
                      lumen=lumen, lumen_flow=flow_sign, pixel_mm=px)
