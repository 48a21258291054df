"""Generate occstudio's bundled demo dataset in the ExtremeOcc-3D layout (formats.md §1).

Run from the repository root::

    python resources/make_demo.py [--out resources/demo] [--size 384] [--limit N]

Each sample is an indoor-like scene rendered off-screen with pyvista: a target object
built from primitives (sofa, table, lamp, shelf, stool, chair), standing on a wooden floor
between walls, lit by a shadow-casting ceiling spot, and partly hidden by one or two
occluders (crate, stacked boxes, pillar, plant) between the camera and the target. Output layout (all
paths in the manifest relative to the dataset root)::

    manifest.json                                   JSON list, indent=2, trailing newline
    assets/<scene>/<view>/rendered_scene.png        RGB, the occluded scene
    assets/<scene>/<view>/occluded_mask.png         mode L 0/255, visible part of the target
    assets/<scene>/<view>/rendered.png              RGBA, visible part isolated (alpha = mask)
    assets/<scene>/<view>/amodal_mask.png           mode L 0/255, whole target silhouette
                                                    (extra, not referenced by the manifest)
    gt_assets/<sha1(scene)[:12]>/mesh.ply           binary PLY, vertex colours, triangles
    gt_assets/<sha1(scene)[:12]>/view_0000..7.png   RGBA turntable renders of the target
    priors/<scene>/<view>/prior_0.png, prior_1.png  RGB on white: a similar, different object
    predictions/<scene>/<view>/mesh.ply             a perturbed copy of the GT mesh

Masks are exact: an unlit, MSAA-free ID render of the whole scene (target white, the rest
black) keeps the pixels where the target is the front-most surface; the amodal mask is the
same render of the target alone. Colour images are rendered at twice the size and
box-filtered down. Meshes are Z-up, in metres, the object standing on z = 0 and centred on
the z axis (its own frame, not the scene's). Everything is seeded: regenerating with the
same VTK build and OpenGL implementation gives the same files.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import math
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

try:
    from occstudio.render.offscreen import make_offscreen_plotter
except ImportError:  # run from a checkout without an installed package
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from occstudio.render.offscreen import make_offscreen_plotter

import pyvista as pv

RGB = tuple[int, int, int]
SUPERSAMPLE = 2
GT_VIEWS = 8


# --------------------------------------------------------------------------- meshes


@dataclass
class Mesh:
    """A triangle mesh with per-vertex colours and a per-vertex part index."""

    vertices: np.ndarray  # (N, 3) float64
    faces: np.ndarray  # (M, 3) int64
    colors: np.ndarray  # (N, 3) uint8
    part: np.ndarray  # (N,) int32
    part_names: list[str] = field(default_factory=list)

    def to_polydata(self) -> pv.PolyData:
        """The mesh as ``pv.PolyData`` with point arrays ``rgb`` and ``part``."""
        cells = np.hstack([np.full((len(self.faces), 1), 3), self.faces]).astype(np.int64)
        poly = pv.PolyData(self.vertices.astype(np.float64), cells.ravel())
        poly.point_data["rgb"] = self.colors
        poly.point_data["part"] = self.part
        return poly

    def transformed(self, yaw_deg: float = 0.0, offset: tuple[float, float, float] = (0, 0, 0)) -> Mesh:
        """A copy rotated about z by ``yaw_deg`` then shifted by ``offset``."""
        a = math.radians(yaw_deg)
        rot = np.array([[math.cos(a), -math.sin(a), 0], [math.sin(a), math.cos(a), 0], [0, 0, 1]])
        verts = self.vertices @ rot.T + np.asarray(offset, dtype=float)
        return Mesh(verts, self.faces.copy(), self.colors.copy(), self.part.copy(), list(self.part_names))


MAX_EDGE = 0.2  # metres: primitives are subdivided so vertices cover the surfaces evenly


def _triangles(poly: pv.PolyData) -> tuple[np.ndarray, np.ndarray]:
    tri = poly.triangulate().clean(tolerance=0.0)
    tri = tri.subdivide_adaptive(max_edge_len=MAX_EDGE).clean(tolerance=0.0)
    faces = np.asarray(tri.faces).reshape(-1, 4)[:, 1:]
    return np.asarray(tri.points, dtype=float), faces.astype(np.int64)


def assemble(parts: list[tuple[str, pv.PolyData, RGB]]) -> Mesh:
    """Merge named, coloured primitives into one :class:`Mesh` (parts stay separate)."""
    verts, faces, colors, part = [], [], [], []
    start = 0
    for index, (_name, poly, rgb) in enumerate(parts):
        v, f = _triangles(poly)
        verts.append(v)
        faces.append(f + start)
        colors.append(np.tile(np.asarray(rgb, dtype=np.uint8), (len(v), 1)))
        part.append(np.full(len(v), index, dtype=np.int32))
        start += len(v)
    return Mesh(
        np.concatenate(verts),
        np.concatenate(faces),
        np.concatenate(colors),
        np.concatenate(part),
        [name for name, _, _ in parts],
    )


def box(x0: float, x1: float, y0: float, y1: float, z0: float, z1: float) -> pv.PolyData:
    """An axis-aligned box from its bounds."""
    return pv.Box(bounds=(x0, x1, y0, y1, z0, z1), level=0, quads=True)


def block(center: tuple[float, float, float], size: tuple[float, float, float]) -> pv.PolyData:
    """An axis-aligned box from its centre and full size."""
    (cx, cy, cz), (sx, sy, sz) = center, size
    return box(cx - sx / 2, cx + sx / 2, cy - sy / 2, cy + sy / 2, cz - sz / 2, cz + sz / 2)


def rod(p0: tuple[float, float, float], p1: tuple[float, float, float], radius: float, res: int = 16) -> pv.PolyData:
    """A capped cylinder from point ``p0`` to point ``p1``."""
    a, b = np.asarray(p0, dtype=float), np.asarray(p1, dtype=float)
    axis = b - a
    return pv.Cylinder(
        center=(a + b) / 2,
        direction=axis,
        radius=radius,
        height=float(np.linalg.norm(axis)),
        resolution=res,
        capping=True,
    )


def frustum(base: tuple[float, float, float], r0: float, r1: float, height: float, res: int = 24) -> pv.PolyData:
    """A capped truncated cone standing on ``base``: radius ``r0`` at the bottom, ``r1`` on top."""
    t = np.linspace(0, 2 * np.pi, res, endpoint=False)
    ring = np.stack([np.cos(t), np.sin(t)], axis=1)
    bx, by, bz = base
    bottom = np.column_stack([bx + r0 * ring[:, 0], by + r0 * ring[:, 1], np.full(res, bz)])
    top = np.column_stack([bx + r1 * ring[:, 0], by + r1 * ring[:, 1], np.full(res, bz + height)])
    pts = np.vstack([bottom, top, [[bx, by, bz]], [[bx, by, bz + height]]])
    cb, ct = 2 * res, 2 * res + 1
    tris = []
    for i in range(res):
        j = (i + 1) % res
        tris += [(i, j, res + j), (i, res + j, res + i), (cb, j, i), (ct, res + i, res + j)]
    cells = np.hstack([np.full((len(tris), 1), 3), np.asarray(tris)]).ravel()
    return pv.PolyData(pts, cells)


def ball(center: tuple[float, float, float], radius: float, res: int = 18) -> pv.PolyData:
    """A UV sphere."""
    return pv.Sphere(radius=radius, center=center, theta_resolution=res, phi_resolution=res)


def shade(rgb: RGB, factor: float) -> RGB:
    """``rgb`` darkened (factor < 1) or lightened (factor > 1), clipped to 0..255."""
    return tuple(int(np.clip(round(c * factor), 0, 255)) for c in rgb)  # type: ignore[return-value]


# --------------------------------------------------------------------------- targets


def make_chair(p: dict) -> Mesh:
    """Four legs, a cushioned seat, two back posts, a back panel and a top rail."""
    w, d, hs, leg, hb = p["w"], p["d"], p["seat_h"], p["leg"], p["back_h"]
    wood, cushion, back = p["wood"], p["cushion"], p["back"]
    parts: list[tuple[str, pv.PolyData, RGB]] = []
    for name, sx, sy in (
        ("leg_fl", -1, -1),
        ("leg_fr", 1, -1),
        ("leg_bl", -1, 1),
        ("leg_br", 1, 1),
    ):
        cx, cy = sx * (w / 2 - leg / 2), sy * (d / 2 - leg / 2)
        parts.append((name, block((cx, cy, (hs - 0.05) / 2), (leg, leg, hs - 0.05)), wood))
    parts.append(("seat_frame", block((0, 0, hs - 0.035), (w, d, 0.05)), shade(wood, 0.85)))
    parts.append(("seat", block((0, -0.01, hs + 0.03), (w - 0.04, d - 0.06, 0.08)), cushion))
    for name, sx in (("post_l", -1), ("post_r", 1)):
        cx = sx * (w / 2 - leg / 2)
        parts.append((name, block((cx, d / 2 - leg / 2, hs + hb / 2), (leg, leg, hb)), wood))
    parts.append(
        (
            "back_panel",
            block((0, d / 2 - leg / 2, hs + 0.55 * hb), (w - 2 * leg, 0.03, 0.5 * hb)),
            back,
        )
    )
    parts.append(
        (
            "top_rail",
            block((0, d / 2 - leg / 2, hs + hb - 0.03), (w + 0.04, 0.06, 0.06)),
            shade(wood, 0.75),
        )
    )
    return assemble(parts)


def make_table(p: dict) -> Mesh:
    """A top, four legs and an apron; an optional runner cloth on top."""
    w, d, h, leg = p["w"], p["d"], p["h"], p["leg"]
    parts: list[tuple[str, pv.PolyData, RGB]] = [("top", block((0, 0, h - 0.025), (w, d, 0.05)), p["top"])]
    for name, sx, sy in (
        ("leg_fl", -1, -1),
        ("leg_fr", 1, -1),
        ("leg_bl", -1, 1),
        ("leg_br", 1, 1),
    ):
        cx, cy = sx * (w / 2 - 0.08), sy * (d / 2 - 0.08)
        parts.append((name, rod((cx, cy, 0), (cx, cy, h - 0.05), leg / 2), p["legs"]))
    apron = shade(p["top"], 0.7)
    parts.append(("apron_f", block((0, -(d / 2 - 0.08), h - 0.1), (w - 0.16, 0.03, 0.1)), apron))
    parts.append(("apron_b", block((0, d / 2 - 0.08, h - 0.1), (w - 0.16, 0.03, 0.1)), apron))
    parts.append(("apron_l", block((-(w / 2 - 0.08), 0, h - 0.1), (0.03, d - 0.16, 0.1)), apron))
    parts.append(("apron_r", block((w / 2 - 0.08, 0, h - 0.1), (0.03, d - 0.16, 0.1)), apron))
    if p.get("runner"):
        parts.append(("runner", block((0, 0, h + 0.004), (0.3 * w, d + 0.1, 0.008)), p["runner"]))
    return assemble(parts)


def make_lamp(p: dict) -> Mesh:
    """A floor lamp: base disc, pole, collar, shade and bulb."""
    h, rs = p["h"], p["shade_r"]
    parts: list[tuple[str, pv.PolyData, RGB]] = [
        ("base", frustum((0, 0, 0), p["base_r"], p["base_r"] * 0.8, 0.05, 32), p["metal"]),
        ("pole", rod((0, 0, 0.05), (0, 0, h - 0.3), 0.018), shade(p["metal"], 1.2)),
        ("collar", rod((0, 0, h - 0.34), (0, 0, h - 0.28), 0.04), p["accent"]),
        ("bulb", ball((0, 0, h - 0.22), 0.06), (255, 244, 200)),
        ("shade", frustum((0, 0, h - 0.34), rs, rs * p["taper"], 0.36, 32), p["shade"]),
    ]
    return assemble(parts)


def make_shelf(p: dict) -> Mesh:
    """A bookcase: sides, boards, back panel, and books of many colours."""
    w, d, h, n = p["w"], p["d"], p["h"], p["shelves"]
    t = 0.03
    wood = p["wood"]
    parts: list[tuple[str, pv.PolyData, RGB]] = [
        ("side_l", block((-(w / 2 - t / 2), 0, h / 2), (t, d, h)), wood),
        ("side_r", block((w / 2 - t / 2, 0, h / 2), (t, d, h)), wood),
        ("back", block((0, d / 2 - 0.005, h / 2), (w - 2 * t, 0.01, h)), shade(wood, 0.7)),
    ]
    levels = np.linspace(0.05, h - t / 2, n + 1)
    for i, z in enumerate(levels):
        parts.append((f"board_{i}", block((0, 0, z), (w - 2 * t, d - 0.01, t)), shade(wood, 1.08)))
    rng = np.random.default_rng(p["seed"])
    palette = p["books"]
    for i in range(n):
        z0, z1 = levels[i] + t / 2, levels[i + 1] - t / 2
        x = -w / 2 + t + 0.02
        k = 0
        while True:
            bw = float(rng.uniform(0.03, 0.06))
            if x + bw > w / 2 - t - 0.02 - (0.12 if i % 2 else 0.0):
                break
            bh = float(rng.uniform(0.6, 0.9)) * (z1 - z0)
            bd = float(rng.uniform(0.6, 0.85)) * d
            color = palette[int(rng.integers(len(palette)))]
            parts.append(
                (
                    f"book_{i}_{k}",
                    block((x + bw / 2, -d / 2 + bd / 2 + 0.02, z0 + bh / 2), (bw, bd, bh)),
                    color,
                )
            )
            x += bw + 0.004
            k += 1
    return assemble(parts)


def make_stool(p: dict) -> Mesh:
    """A bar stool: round seat, four splayed legs and a footrest ring of rails."""
    h, r, splay = p["h"], p["seat_r"], p["splay"]
    parts: list[tuple[str, pv.PolyData, RGB]] = [
        ("seat", frustum((0, 0, h - 0.05), r, r * 1.04, 0.05, 40), p["seat"]),
    ]
    feet = []
    for i in range(4):
        a = math.pi / 4 + i * math.pi / 2
        top = (0.7 * r * math.cos(a), 0.7 * r * math.sin(a), h - 0.05)
        foot = ((0.7 * r + splay) * math.cos(a), (0.7 * r + splay) * math.sin(a), 0.0)
        parts.append((f"leg_{i}", rod(foot, top, 0.018, 12), p["legs"]))
        feet.append((foot, top))
    zr = p["ring_z"]
    ring = []
    for foot, top in feet:
        s = zr / (h - 0.05)
        ring.append(tuple(foot[k] + s * (top[k] - foot[k]) for k in range(3)))
    for i in range(4):
        parts.append((f"rail_{i}", rod(ring[i], ring[(i + 1) % 4], 0.012, 10), p["rail"]))
    return assemble(parts)


def make_sofa(p: dict) -> Mesh:
    """A sofa: base, seat and back cushions, two arms, four short legs."""
    w, d, n = p["w"], p["d"], p["seats"]
    fabric, cushion, legs = p["fabric"], p["cushion"], p["legs"]
    arm = 0.16
    parts: list[tuple[str, pv.PolyData, RGB]] = []
    for name, sx, sy in (
        ("leg_fl", -1, -1),
        ("leg_fr", 1, -1),
        ("leg_bl", -1, 1),
        ("leg_br", 1, 1),
    ):
        parts.append(
            (
                name,
                frustum((sx * (w / 2 - 0.08), sy * (d / 2 - 0.08), 0), 0.025, 0.03, 0.1, 12),
                legs,
            )
        )
    parts.append(("base", block((0, 0, 0.25), (w, d, 0.3)), fabric))
    parts.append(("back", block((0, d / 2 - 0.09, 0.6), (w, 0.18, 0.4)), shade(fabric, 0.92)))
    for name, sx in (("arm_l", -1), ("arm_r", 1)):
        parts.append(
            (
                name,
                block((sx * (w / 2 - arm / 2), -0.01, 0.52), (arm, d + 0.02, 0.25)),
                shade(fabric, 1.05),
            )
        )
    inner = w - 2 * arm
    cw = inner / n
    for i in range(n):
        cx = -inner / 2 + cw * (i + 0.5)
        tone = shade(cushion, 1.0 + 0.06 * (i % 2))
        parts.append((f"seat_cushion_{i}", block((cx, -0.05, 0.46), (cw - 0.02, d - 0.28, 0.12)), tone))
        parts.append(
            (
                f"back_cushion_{i}",
                block((cx, d / 2 - 0.26, 0.68), (cw - 0.04, 0.14, 0.36)),
                shade(tone, 1.08),
            )
        )
    if p.get("pillow"):
        parts.append(("pillow", block((-inner / 2 + 0.22, d / 2 - 0.38, 0.66), (0.3, 0.1, 0.3)), p["pillow"]))
    return assemble(parts)


BUILDERS: dict[str, Callable[[dict], Mesh]] = {
    "chair": make_chair,
    "table": make_table,
    "lamp": make_lamp,
    "shelf": make_shelf,
    "stool": make_stool,
    "sofa": make_sofa,
}

# The GT object of each category, then the "similar but different" prior object.
OBJECTS: dict[str, tuple[dict, dict]] = {
    "chair": (
        {
            "w": 0.46,
            "d": 0.46,
            "seat_h": 0.46,
            "leg": 0.045,
            "back_h": 0.5,
            "wood": (122, 78, 44),
            "cushion": (196, 48, 52),
            "back": (228, 196, 140),
        },
        {
            "w": 0.52,
            "d": 0.5,
            "seat_h": 0.44,
            "leg": 0.035,
            "back_h": 0.62,
            "wood": (60, 60, 66),
            "cushion": (60, 120, 190),
            "back": (200, 200, 205),
        },
    ),
    "table": (
        {
            "w": 1.5,
            "d": 0.85,
            "h": 0.75,
            "leg": 0.07,
            "top": (168, 110, 62),
            "legs": (90, 58, 36),
            "runner": (40, 120, 110),
        },
        {
            "w": 1.1,
            "d": 1.0,
            "h": 0.74,
            "leg": 0.05,
            "top": (236, 232, 222),
            "legs": (50, 50, 54),
            "runner": None,
        },
    ),
    "lamp": (
        {
            "h": 1.6,
            "shade_r": 0.24,
            "taper": 0.62,
            "base_r": 0.17,
            "metal": (70, 72, 80),
            "accent": (200, 160, 60),
            "shade": (240, 226, 180),
        },
        {
            "h": 1.45,
            "shade_r": 0.2,
            "taper": 0.85,
            "base_r": 0.14,
            "metal": (180, 150, 90),
            "accent": (60, 60, 60),
            "shade": (120, 170, 150),
        },
    ),
    "shelf": (
        {
            "w": 0.9,
            "d": 0.32,
            "h": 1.5,
            "shelves": 4,
            "wood": (182, 136, 90),
            "seed": 7,
            "books": [
                (180, 40, 40),
                (40, 80, 160),
                (230, 190, 60),
                (50, 140, 80),
                (120, 60, 140),
                (230, 230, 220),
            ],
        },
        {
            "w": 0.7,
            "d": 0.3,
            "h": 1.1,
            "shelves": 3,
            "wood": (235, 235, 230),
            "seed": 11,
            "books": [(220, 110, 40), (30, 30, 40), (90, 170, 200), (200, 60, 100)],
        },
    ),
    "stool": (
        {
            "h": 0.76,
            "seat_r": 0.19,
            "splay": 0.09,
            "ring_z": 0.26,
            "seat": (40, 40, 44),
            "legs": (190, 140, 80),
            "rail": (150, 150, 160),
        },
        {
            "h": 0.66,
            "seat_r": 0.17,
            "splay": 0.05,
            "ring_z": 0.22,
            "seat": (200, 80, 40),
            "legs": (60, 60, 65),
            "rail": (60, 60, 65),
        },
    ),
    "sofa": (
        {
            "w": 2.0,
            "d": 0.9,
            "seats": 3,
            "fabric": (70, 96, 140),
            "cushion": (98, 128, 176),
            "legs": (60, 40, 28),
            "pillow": (232, 180, 60),
        },
        {
            "w": 1.6,
            "d": 0.85,
            "seats": 2,
            "fabric": (130, 120, 110),
            "cushion": (170, 160, 148),
            "legs": (20, 20, 20),
            "pillow": None,
        },
    ),
}


# --------------------------------------------------------------------------- occluders and room


def make_occluder(kind: str, base: tuple[float, float], size: float, yaw: float) -> Mesh:
    """An occluder standing on the floor at ``base`` (x, y).

    ``kind`` is ``crate``, ``boxes``, ``pillar`` or ``plant``.
    """
    return _occluder_shape(kind, size).transformed(yaw, (base[0], base[1], 0.0))


@functools.cache
def _occluder_shape(kind: str, size: float) -> Mesh:
    if kind == "crate":
        s = size
        wood, dark = (176, 132, 80), (128, 90, 52)
        parts = [
            ("crate", block((0, 0, s / 2), (s, s, s)), wood),
            ("band_lo", block((0, 0, 0.2 * s), (s + 0.02, s + 0.02, 0.07 * s)), dark),
            ("band_hi", block((0, 0, 0.8 * s), (s + 0.02, s + 0.02, 0.07 * s)), dark),
        ]
    elif kind == "boxes":
        s = size
        parts = [
            ("box_low", block((0, 0, 0.3 * s), (s, 0.8 * s, 0.6 * s)), (196, 160, 112)),
            (
                "tape_low",
                block((0, 0, 0.6 * s + 0.002), (s + 0.004, 0.12 * s, 0.006)),
                (222, 204, 160),
            ),
            (
                "box_top",
                block((0.05 * s, 0, 0.6 * s + 0.25 * s), (0.7 * s, 0.6 * s, 0.5 * s)),
                (180, 140, 96),
            ),
        ]
        parts[2] = (parts[2][0], parts[2][1].rotate_z(12.0, point=(0.05 * s, 0, 0)), parts[2][2])
    elif kind == "pillar":
        s = size
        parts = [
            ("plinth", block((0, 0, 0.06), (s + 0.08, s + 0.08, 0.12)), (150, 150, 150)),
            ("shaft", block((0, 0, 1.5), (s, s, 3.0)), (214, 212, 206)),
        ]
    elif kind == "plant":
        s = size
        parts = [
            ("pot", frustum((0, 0, 0), 0.12 * s, 0.17 * s, 0.32 * s, 24), (178, 92, 58)),
            ("soil", frustum((0, 0, 0.3 * s), 0.165 * s, 0.165 * s, 0.03 * s, 24), (70, 50, 30)),
            ("stem", rod((0, 0, 0.3 * s), (0, 0, 0.75 * s), 0.02 * s, 10), (90, 70, 40)),
            ("leaves_a", ball((0, 0, 0.85 * s), 0.24 * s), (60, 140, 60)),
            ("leaves_b", ball((0.13 * s, 0.05 * s, 0.68 * s), 0.17 * s), (48, 118, 52)),
            ("leaves_c", ball((-0.12 * s, -0.06 * s, 0.72 * s), 0.18 * s), (76, 156, 70)),
        ]
    else:
        raise ValueError(f"unknown occluder {kind!r}")
    return assemble(parts)


ROOM_X, ROOM_Y0, ROOM_Y1, ROOM_H = 3.0, -7.0, 2.0, 2.8


def make_room(scene_seed: int, wall: RGB, floor: RGB) -> list[tuple[pv.PolyData, str]]:
    """Floor planks (cell colours), and three walls with skirting, a picture and a window
    (one merged mesh, point colours): (mesh, scalars) pairs."""
    rng = np.random.default_rng(scene_seed)
    nx, ny = 24, 6
    plane = pv.Plane(
        center=(0, (ROOM_Y0 + ROOM_Y1) / 2, 0),
        direction=(0, 0, 1),
        i_size=2 * ROOM_X,
        j_size=ROOM_Y1 - ROOM_Y0,
        i_resolution=nx,
        j_resolution=ny,
    )
    tones = rng.uniform(0.9, 1.06, plane.n_cells)
    plane.cell_data["rgb"] = np.clip(np.outer(tones, floor), 0, 255).astype(np.uint8)
    items: list[tuple[pv.PolyData, RGB]] = [
        (box(-ROOM_X, ROOM_X, ROOM_Y1, ROOM_Y1 + 0.1, 0, ROOM_H), wall),
        (box(-ROOM_X - 0.1, -ROOM_X, ROOM_Y0, ROOM_Y1, 0, ROOM_H), shade(wall, 0.95)),
        (box(ROOM_X, ROOM_X + 0.1, ROOM_Y0, ROOM_Y1, 0, ROOM_H), shade(wall, 0.95)),
        (box(-ROOM_X, ROOM_X, ROOM_Y1 - 0.02, ROOM_Y1, 0, 0.1), (245, 245, 240)),
        (box(-ROOM_X, -ROOM_X + 0.02, ROOM_Y0, ROOM_Y1, 0, 0.1), (245, 245, 240)),
        (box(ROOM_X - 0.02, ROOM_X, ROOM_Y0, ROOM_Y1, 0, 0.1), (245, 245, 240)),
        # a framed picture on the back wall
        (box(0.7, 1.6, ROOM_Y1 - 0.03, ROOM_Y1, 1.35, 1.95), (40, 36, 32)),
        (
            box(0.76, 1.54, ROOM_Y1 - 0.04, ROOM_Y1, 1.41, 1.89),
            tuple(int(c) for c in rng.integers(60, 230, 3)),
        ),
        # a window on the left wall
        (box(-ROOM_X, -ROOM_X + 0.04, -1.6, -0.2, 1.0, 2.2), (245, 245, 245)),
        (box(-ROOM_X, -ROOM_X + 0.05, -1.52, -0.28, 1.08, 2.12), (170, 205, 235)),
    ]
    walls = []
    for mesh, rgb in items:
        mesh = mesh.triangulate()
        mesh.point_data["rgb"] = np.tile(np.asarray(rgb, dtype=np.uint8), (mesh.n_points, 1))
        walls.append(_shaded(mesh))
    return [(plane, "rgb"), (pv.merge(walls, merge_points=False), "rgb")]


# --------------------------------------------------------------------------- scenes and samples


@dataclass(frozen=True)
class SceneSpec:
    """One scene: its target category, placement and room colours."""

    name: str
    category: str
    yaw: float
    wall: RGB
    floor: RGB
    seed: int


@dataclass(frozen=True)
class OccluderSpec:
    """An occluder: its kind, size, the free gap (m) between it and the target's footprint,
    and its preferred sideways offset in units of the footprint radius (+ = camera right)."""

    kind: str
    size: float
    gap: float
    lateral: float


@dataclass(frozen=True)
class ViewSpec:
    """One sample: a camera around the scene, the occluders and the wanted visible share."""

    scene: str
    view: str
    azimuth: float
    elevation: float
    occluders: tuple[OccluderSpec, ...]
    visible: float = 0.6


SCENES = {
    s.name: s
    for s in (
        SceneSpec("living_room", "sofa", 0.0, (222, 214, 196), (150, 104, 66), 1),
        SceneSpec("dining_room", "table", 8.0, (200, 214, 206), (170, 124, 80), 2),
        SceneSpec("study", "lamp", 0.0, (214, 204, 226), (120, 84, 56), 3),
        SceneSpec("library", "shelf", 0.0, (232, 220, 190), (140, 96, 60), 4),
        SceneSpec("kitchen", "stool", 20.0, (236, 236, 228), (186, 150, 110), 5),
        SceneSpec("office", "chair", -25.0, (196, 210, 226), (130, 110, 90), 6),
    )
}

# Ordered so that the first samples cover different scenes (--limit keeps a prefix).
Occ = OccluderSpec
VIEWS = (
    ViewSpec("living_room", "view_00", -20.0, 18.0, (Occ("plant", 1.3, 0.25, 0.45),), 0.6),
    ViewSpec("dining_room", "view_00", 25.0, 15.0, (Occ("boxes", 0.7, 0.15, -0.3),), 0.6),
    ViewSpec("study", "view_00", -15.0, 12.0, (Occ("pillar", 0.3, 0.3, 0.25),), 0.55),
    ViewSpec(
        "library",
        "view_00",
        18.0,
        14.0,
        (Occ("crate", 0.55, 0.3, -0.35), Occ("plant", 1.2, 0.25, 0.8)),
        0.5,
    ),
    ViewSpec("kitchen", "view_00", 10.0, 16.0, (Occ("crate", 0.38, 0.2, 0.3),), 0.6),
    ViewSpec("office", "view_00", -30.0, 16.0, (Occ("plant", 1.0, 0.3, -0.2),), 0.5),
    ViewSpec(
        "living_room",
        "view_01",
        28.0,
        14.0,
        (Occ("boxes", 0.65, 0.3, -0.4), Occ("pillar", 0.3, 0.6, 0.65)),
        0.55,
    ),
    ViewSpec("office", "view_01", 20.0, 18.0, (Occ("boxes", 0.5, 0.25, 0.2),), 0.65),
)


def scene_hash(scene: str) -> str:
    """The GT asset folder name of ``scene``: the first 12 hex digits of its SHA-1."""
    return hashlib.sha1(scene.encode("utf-8")).hexdigest()[:12]


# --------------------------------------------------------------------------- rendering


@dataclass
class Camera:
    """A look-at camera with a vertical field of view in degrees."""

    position: np.ndarray
    focal_point: np.ndarray
    view_angle: float = 40.0

    def apply(self, plotter: pv.Plotter) -> None:
        """Set this camera on ``plotter``."""
        # Setting camera_position marks the camera as set, so pyvista does not reset it
        # to fit the scene on the first render.
        plotter.camera_position = [tuple(self.position), tuple(self.focal_point), (0.0, 0.0, 1.0)]
        plotter.camera.view_angle = self.view_angle
        plotter.renderer.ResetCameraClippingRange()
        plotter.render()  # screenshot() re-renders only the first time

    @property
    def right(self) -> np.ndarray:
        """Unit vector to the right of the view direction, on the floor plane."""
        fwd = self.focal_point - self.position
        r = np.array([fwd[1], -fwd[0], 0.0])
        return r / np.linalg.norm(r)


def orbit_camera(
    center: np.ndarray,
    radius: float,
    azimuth: float,
    elevation: float,
    fill: float,
    view_angle: float = 40.0,
    distance: float | None = None,
) -> Camera:
    """A camera looking at ``center`` so that a sphere of ``radius`` fills ``fill`` of the height.

    Azimuth 0 looks along +y (from the room's open side towards the back wall). With
    ``distance`` given, the field of view is narrowed to frame the sphere from there;
    otherwise the distance follows from ``view_angle``.
    """
    if distance is None:
        distance = radius / math.sin(math.radians(view_angle / 2) * fill)
    else:
        view_angle = 2 * math.degrees(math.asin(min(radius / distance, 0.99))) / fill
    a, e = math.radians(azimuth), math.radians(elevation)
    offset = np.array([math.sin(a) * math.cos(e), -math.cos(a) * math.cos(e), math.sin(e)]) * distance
    return Camera(center + offset, center.copy(), view_angle)


def bounding_sphere(mesh: Mesh) -> tuple[np.ndarray, float]:
    """Centre of the bounding box and the half-diagonal."""
    lo, hi = mesh.vertices.min(axis=0), mesh.vertices.max(axis=0)
    return (lo + hi) / 2, float(np.linalg.norm(hi - lo) / 2)


def downsample(img: np.ndarray, k: int) -> np.ndarray:
    """Box-filter an (H·k, W·k, C) uint8 image down by ``k``; RGBA is alpha-weighted."""
    h, w, c = img.shape[0] // k, img.shape[1] // k, img.shape[2]
    blocks = img[: h * k, : w * k].reshape(h, k, w, k, c).astype(np.float64)
    if c == 4:
        alpha = blocks[..., 3:4]
        rgb = (blocks[..., :3] * alpha).sum(axis=(1, 3))
        asum = alpha.sum(axis=(1, 3))
        rgb = np.where(asum > 0, rgb / np.maximum(asum, 1e-9), 0.0)
        out = np.concatenate([rgb, asum / (k * k)], axis=2)
    else:
        out = blocks.mean(axis=(1, 3))
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def _shaded(mesh: Mesh | pv.PolyData) -> pv.PolyData:
    poly = mesh.to_polydata() if isinstance(mesh, Mesh) else mesh
    return poly.compute_normals(split_vertices=True, feature_angle=35.0, auto_orient_normals=False)


def _bare(poly: pv.PolyData) -> pv.PolyData:
    """The geometry of ``poly`` without data arrays (so a flat colour is drawn exactly)."""
    return pv.PolyData(poly.points, poly.faces)


class Renderer:
    """The off-screen plotters the generator reuses across samples."""

    def __init__(self, scene_size: tuple[int, int], object_size: int) -> None:
        w, h = scene_size
        self.scene_size = scene_size
        self.object_size = object_size
        self.scene = make_offscreen_plotter((w * SUPERSAMPLE, h * SUPERSAMPLE), lighting=None)
        self.scene.set_background((0.93, 0.93, 0.91))
        self.scene.add_light(
            pv.Light(
                position=(0.9, -1.6, ROOM_H - 0.05),
                focal_point=(0, 0, 0.3),
                light_type="scene light",
                positional=True,
                cone_angle=62,
                intensity=0.85,
                color=(1.0, 0.96, 0.88),
            )
        )
        self.scene.add_light(pv.Light(light_type="headlight", intensity=0.35))
        self.scene.enable_shadows()
        self.ids = make_offscreen_plotter(scene_size, lighting=None)
        self.ids.set_background("black")
        s = object_size * SUPERSAMPLE
        self.object = make_offscreen_plotter((s, s), lighting="light kit")

    def close(self) -> None:
        """Close all plotters."""
        for p in (self.scene, self.ids, self.object):
            p.close()

    def render_scene(self, meshes: list[tuple[pv.PolyData, str]], camera: Camera) -> np.ndarray:
        """The lit colour render (H, W, 3) of vertex/cell-coloured meshes."""
        p = self.scene
        p.clear_actors()
        for poly, scalars in meshes:
            p.add_mesh(
                poly,
                scalars=scalars,
                rgb=True,
                smooth_shading=True,
                ambient=0.22,
                diffuse=0.8,
                specular=0.08,
                specular_power=12.0,
                render=False,
                reset_camera=False,
            )
        camera.apply(p)
        img = p.screenshot(return_img=True)
        return downsample(np.asarray(img)[..., :3], SUPERSAMPLE)

    def render_ids(self, target: pv.PolyData, others: list[pv.PolyData], camera: Camera) -> np.ndarray:
        """A boolean (H, W) mask where ``target`` is the front-most surface."""
        p = self.ids
        p.clear_actors()
        p.add_mesh(_bare(target), color="white", lighting=False, render=False, reset_camera=False)
        for poly in others:
            p.add_mesh(_bare(poly), color="black", lighting=False, render=False, reset_camera=False)
        camera.apply(p)
        img = np.asarray(p.screenshot(return_img=True))
        return img[..., 0] > 127

    def render_object(self, mesh: Mesh, camera: Camera, transparent: bool) -> np.ndarray:
        """The target alone: RGBA on transparent (``transparent``) or RGB on white."""
        p = self.object
        p.clear_actors()
        p.set_background("white")
        p.add_mesh(
            _shaded(mesh),
            scalars="rgb",
            rgb=True,
            smooth_shading=True,
            ambient=0.18,
            specular=0.1,
            render=False,
            reset_camera=False,
        )
        camera.apply(p)
        img = np.asarray(p.screenshot(transparent_background=transparent, return_img=True))
        return downsample(img, SUPERSAMPLE)


# --------------------------------------------------------------------------- files


def write_ply(path: Path, mesh: Mesh, comment: str) -> None:
    """Write ``mesh`` as a binary little-endian PLY with uchar vertex colours and triangles."""
    vdtype = np.dtype([("x", "<f4"), ("y", "<f4"), ("z", "<f4"), ("red", "u1"), ("green", "u1"), ("blue", "u1")])
    verts = np.empty(len(mesh.vertices), dtype=vdtype)
    for i, axis in enumerate("xyz"):
        verts[axis] = mesh.vertices[:, i]
    for i, channel in enumerate(("red", "green", "blue")):
        verts[channel] = mesh.colors[:, i]
    fdtype = np.dtype([("n", "u1"), ("v", "<i4", (3,))])
    faces = np.empty(len(mesh.faces), dtype=fdtype)
    faces["n"] = 3
    faces["v"] = mesh.faces
    header = (
        "ply\nformat binary_little_endian 1.0\n"
        f"comment {comment}\n"
        f"element vertex {len(verts)}\n"
        "property float x\nproperty float y\nproperty float z\n"
        "property uchar red\nproperty uchar green\nproperty uchar blue\n"
        f"element face {len(faces)}\n"
        "property list uchar int vertex_indices\nend_header\n"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        fh.write(header.encode("ascii"))
        fh.write(verts.tobytes())
        fh.write(faces.tobytes())


def save_png(path: Path, array: np.ndarray, mode: str) -> None:
    """Save ``array`` as a PNG of ``mode`` (deterministic: no metadata, fixed compression)."""
    image = Image.fromarray(np.ascontiguousarray(array, dtype=np.uint8))
    if image.mode != mode:
        raise ValueError(f"{path}: expected a {mode} image, got {image.mode}")
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, compress_level=9)


def perturb(mesh: Mesh, index: int) -> Mesh:
    """A plausible but imperfect "prediction" of ``mesh``.

    Vertex noise, a scale change, an offset and a small turn about z, all seeded by
    ``index``; every third sample (index 1, 4, 7, …) also loses one part.
    """
    rng = np.random.default_rng(1000 + index)
    _, radius = bounding_sphere(mesh)
    diag = 2 * radius
    keep = np.ones(len(mesh.vertices), dtype=bool)
    if index % 3 == 1 and len(mesh.part_names) > 2:
        # drop one part (never the first, usually the biggest structural one)
        drop = int(rng.integers(1, len(mesh.part_names)))
        keep = mesh.part != drop
    new_index = np.cumsum(keep) - 1
    faces = mesh.faces[keep[mesh.faces].all(axis=1)]
    faces = new_index[faces]
    verts = mesh.vertices[keep].copy()
    verts += rng.normal(0.0, float(rng.uniform(0.002, 0.008)) * diag, verts.shape)
    verts *= 1.0 + float(rng.uniform(-0.06, 0.06))
    out = Mesh(verts, faces, mesh.colors[keep].copy(), mesh.part[keep].copy(), list(mesh.part_names))
    offset = rng.normal(0.0, 0.015 * diag, 3)
    offset[2] = abs(offset[2]) * 0.3
    return out.transformed(float(rng.uniform(-4.0, 4.0)), tuple(offset))


def _clear(out: Path) -> None:
    for name in ("assets", "gt_assets", "priors", "predictions"):
        if (out / name).is_dir():
            shutil.rmtree(out / name)
    for name in ("manifest.json", "manifest_with_priors.json"):
        if (out / name).exists():
            (out / name).unlink()


# --------------------------------------------------------------------------- generation


def occluder_radius(spec: OccluderSpec) -> float:
    """Horizontal radius of an occluder's footprint."""
    if spec.kind == "plant":
        return 0.26 * spec.size
    if spec.kind == "boxes":
        return 0.65 * spec.size
    return (spec.size + 0.08) / math.sqrt(2)


def footprint_radius(mesh: Mesh) -> float:
    """Largest horizontal distance of a vertex from the z axis through the bounding-box centre."""
    center, _ = bounding_sphere(mesh)
    return float(np.linalg.norm(mesh.vertices[:, :2] - center[:2], axis=1).max())


def place_occluders(view: ViewSpec, camera: Camera, foot: float, shift: float) -> list[Mesh]:
    """Occluders on the floor just in front of the target (towards the camera).

    Each stands ``gap`` metres outside the target's footprint along the sight line, moved
    sideways by its preferred offset; the first one is moved by ``shift`` more.
    """
    ahead = camera.position - camera.focal_point
    ahead[2] = 0.0
    ahead /= np.linalg.norm(ahead)
    out = []
    for i, spec in enumerate(view.occluders):
        lateral = (spec.lateral + (shift if i == 0 else 0.0)) * foot
        along = foot + occluder_radius(spec) + spec.gap
        point = camera.focal_point + ahead * along + camera.right * lateral
        out.append(make_occluder(spec.kind, (float(point[0]), float(point[1])), spec.size, 17.0 * i + view.azimuth))
    return out


def generate(out: Path, size: int = 384, limit: int | None = None) -> list[dict]:
    """Write the demo dataset to ``out`` and return the manifest entries.

    Parameters
    ----------
    out
        Dataset root (created; the generator's own sub-folders and manifest are replaced).
    size
        Width of the scene images; height is 3/4 of it, object renders are 2/3 of it square.
    limit
        Keep only the first ``limit`` samples.
    """
    if size < 32:
        raise ValueError("size must be at least 32")
    width, height = size, round(size * 3 / 4)
    obj_size = round(size * 2 / 3)
    if limit is not None and limit < 1:
        raise ValueError("limit must be at least 1")
    views = VIEWS if limit is None else VIEWS[:limit]
    out.mkdir(parents=True, exist_ok=True)
    _clear(out)
    renderer = Renderer((width, height), obj_size)
    entries: list[dict] = []
    done_gt: set[str] = set()
    try:
        for index, view in enumerate(views):
            scene = SCENES[view.scene]
            gt_params, prior_params = OBJECTS[scene.category]
            target = BUILDERS[scene.category](gt_params)
            placed = target.transformed(scene.yaw)
            center, radius = bounding_sphere(placed)
            camera = orbit_camera(
                center,
                radius,
                view.azimuth,
                view.elevation,
                fill=0.8,
                distance=max(3.6, 3.0 * radius),
            )
            target_poly = _shaded(placed)
            room = make_room(scene.seed, scene.wall, scene.floor)

            amodal = renderer.render_ids(target_poly, [], camera)
            room_polys = [m for m, _ in room]
            foot = footprint_radius(placed)
            best: tuple[float, np.ndarray, list[Mesh]] | None = None
            # slide the first occluder sideways until the wanted share of the target shows
            for shift in (0.0, 0.15, -0.15, 0.3, -0.3, 0.45, -0.45, 0.6, -0.6, 0.8, -0.8):
                occluders = place_occluders(view, camera, foot, shift)
                others = pv.merge([o.to_polydata() for o in occluders] + room_polys, merge_points=False)
                visible = renderer.render_ids(target_poly, [others], camera)
                error = abs(visible.sum() / max(amodal.sum(), 1) - view.visible)
                if best is None or error < best[0]:
                    best = (error, visible, occluders)
                if error < 0.1:
                    break
            assert best is not None
            _, visible, occluders = best
            occluder_poly = pv.merge([_shaded(o) for o in occluders], merge_points=False)
            color = renderer.render_scene([(target_poly, "rgb"), (occluder_poly, "rgb")] + room, camera)

            sid = f"{view.scene}/{view.view}"
            adir = out / "assets" / view.scene / view.view
            mask = np.where(visible, 255, 0).astype(np.uint8)
            save_png(adir / "rendered_scene.png", color, "RGB")
            save_png(adir / "occluded_mask.png", mask, "L")
            save_png(adir / "amodal_mask.png", np.where(amodal, 255, 0).astype(np.uint8), "L")
            rgba = np.dstack([np.where(visible[..., None], color, 0), mask]).astype(np.uint8)
            save_png(adir / "rendered.png", rgba, "RGBA")

            digest = scene_hash(view.scene)
            gdir = out / "gt_assets" / digest
            if digest not in done_gt:
                done_gt.add(digest)
                write_ply(
                    gdir / "mesh.ply",
                    target,
                    f"occstudio demo GT {scene.category} ({view.scene}), Z-up metres",
                )
                c0, r0 = bounding_sphere(target)
                for k in range(GT_VIEWS):
                    cam = orbit_camera(c0, r0, k * 360.0 / GT_VIEWS, 20.0, fill=0.9, view_angle=30.0)
                    save_png(
                        gdir / f"view_{k:04d}.png",
                        renderer.render_object(target, cam, True),
                        "RGBA",
                    )

            prior = BUILDERS[scene.category](prior_params)
            c1, r1 = bounding_sphere(prior)
            pdir = out / "priors" / view.scene / view.view
            for k, (az, el) in enumerate(((view.azimuth + 35.0, 12.0), (view.azimuth - 75.0, 32.0))):
                cam = orbit_camera(c1, r1, az, el, fill=0.9, view_angle=30.0)
                save_png(
                    pdir / f"prior_{k}.png",
                    renderer.render_object(prior, cam, False)[..., :3],
                    "RGB",
                )

            write_ply(
                out / "predictions" / view.scene / view.view / "mesh.ply",
                perturb(target, index),
                f"occstudio demo prediction for {sid}",
            )

            rel = f"assets/{view.scene}/{view.view}"
            entries.append(
                {
                    "id": sid,
                    "image": f"{rel}/rendered_scene.png",
                    "mask": f"{rel}/occluded_mask.png",
                    "obs_object_image": f"{rel}/rendered.png",
                    "prior_text": scene.category,
                    "gt_render_dir": f"gt_assets/{digest}",
                    "gt_mesh": f"gt_assets/{digest}/mesh.ply",
                }
            )
    finally:
        renderer.close()
    with open(out / "manifest.json", "w", encoding="utf-8") as fh:
        json.dump(entries, fh, indent=2)
        fh.write("\n")
    # what RelaxFlow's prepare_manifest_with_priors.py makes of it (loaders prefer this file)
    from occstudio.io.priors import export_manifest_with_priors

    export_manifest_with_priors(out / "manifest.json", out / "priors", out / "manifest_with_priors.json")
    return entries


def _folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_out = Path(__file__).resolve().parent / "demo"
    parser.add_argument("--out", type=Path, default=default_out, help="dataset root (default: resources/demo)")
    parser.add_argument("--size", type=int, default=384, help="scene image width in pixels (default: 384)")
    parser.add_argument("--limit", type=int, default=None, help="generate only the first N samples")
    args = parser.parse_args(argv)
    if args.size < 32:
        parser.error("--size must be at least 32")
    if args.limit is not None and args.limit < 1:
        parser.error("--limit must be at least 1")
    start = time.perf_counter()
    entries = generate(args.out, args.size, args.limit)
    scenes = len({e["id"].split("/")[0] for e in entries})
    print(
        f"wrote {len(entries)} samples ({scenes} scenes) to {args.out} "
        f"in {time.perf_counter() - start:.1f} s, {_folder_size(args.out) / 1e6:.2f} MB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
