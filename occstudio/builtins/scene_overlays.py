"""What the 3D view can draw around a sample's occupancy: point clouds, cameras, trajectory.

:func:`load_scene_overlays` runs on a worker thread and returns detached pyvista data
(no Qt, no plotter) for the Scene dock to add to the 3D view:

* **LiDAR** and **Local map** (UnScenes3D): the sweep (``N×4``, with intensity) and the
  accumulated local map, in the LiDAR frame the occupancy is stored in. Each point also
  carries the class of the voxel it falls in, so a cloud can be coloured by label.
* **Depth points** (OccGen): the frame's depth map back-projected with its intrinsics,
  coloured by the RGB frame, in the occupancy grid's relative-scale camera frame.
* **Cameras**: one frustum per camera (six for Occ3D-nuScenes), and the cameras
  themselves so the view can look through one; **Camera images**: each camera's image as
  a thumbnail on its frustum's far plane.
* **Trajectory**: the ego / camera centres of every frame of the sample's scene, clip or
  trajectory, expressed in the current frame (so it lines up with the voxels), with the
  current frame marked.

Every point cloud carries the point arrays the colour modes of :data:`POINT_COLOR_MODES`
need (``height`` always; ``intensity``, ``rgb`` and ``label_rgb`` when known), so a
colour change never reloads anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pyvista as pv

from occstudio.builtins.camera_views import CAMERA_FORMATS, CameraView, load_camera_views
from occstudio.builtins.linked_views import default_grid
from occstudio.core.dataset import Dataset, SampleCache
from occstudio.core.errors import OccStudioError
from occstudio.core.geometry import Camera, GridSpec, invert_rigid
from occstudio.core.jobs import Progress, ensure_progress
from occstudio.core.labels import UNSCENES3D, LabelSet
from occstudio.core.sample import Sample

#: How a point cloud can be coloured (a cloud offers the modes its arrays allow).
POINT_COLOR_MODES = ("height", "intensity", "rgb", "label", "solid")
#: The point array each colour mode draws.
MODE_ARRAYS = {"height": "height", "intensity": "intensity", "rgb": "rgb", "label": "label_rgb"}
#: Longest side of a frustum thumbnail, pixels.
THUMBNAIL_SIZE = 192

OverlayKind = Literal["points", "lines", "cameras", "images"]


@dataclass
class SceneOverlay:
    """One thing the Scene dock can show in the 3D view.

    Attributes
    ----------
    name
        Display name, also the actor name suffix (``"LiDAR"``, ``"Cameras"``...).
    kind
        ``points`` (a cloud with colour arrays), ``lines`` (a polyline), ``cameras``
        (frustum lines) or ``images`` (``thumbnails``; ``mesh`` is their quads merged).
    mesh
        The detached pyvista data.
    summary
        One line for the dock (``"34,120 points"``).
    thumbnails
        ``images`` only: ``(quad, image)`` pairs, the quad carrying texture coordinates.
    cameras
        ``cameras`` only: name → :class:`~occstudio.core.geometry.Camera` (world = the
        frame the 3D view shows), for looking through a camera.
    """

    name: str
    kind: OverlayKind
    mesh: pv.PolyData
    summary: str = ""
    thumbnails: list[tuple[pv.PolyData, np.ndarray]] = field(default_factory=list)
    cameras: dict[str, Camera] = field(default_factory=dict)

    @property
    def color_modes(self) -> tuple[str, ...]:
        """The colour modes this overlay's points support (``()`` for non-point overlays)."""
        if self.kind != "points":
            return ()
        return tuple(m for m in POINT_COLOR_MODES if m == "solid" or MODE_ARRAYS[m] in self.mesh.point_data)


# --------------------------------------------------------------------------- builders


def point_cloud(
    points: np.ndarray,
    up: np.ndarray | tuple[float, float, float] = (0.0, 0.0, 1.0),
    intensity: np.ndarray | None = None,
    rgb: np.ndarray | None = None,
    labels: np.ndarray | None = None,
    labelset: LabelSet | None = None,
) -> pv.PolyData:
    """A point cloud with the arrays every colour mode needs.

    Parameters
    ----------
    points
        ``(N, 3)`` coordinates; rows with a non-finite coordinate are dropped.
    up
        The scene's up direction: ``height`` is the coordinate along it.
    intensity
        Optional ``(N,)`` LiDAR intensity.
    rgb
        Optional ``(N, 3)`` uint8 colours.
    labels
        Optional ``(N,)`` class ids (255 = none), coloured by ``labelset``.
    labelset
        The palette for ``labels``.

    Returns
    -------
    pyvista.PolyData
        Vertices with point arrays ``height`` (float32) and, when given, ``intensity``,
        ``rgb`` (uint8 ×3), ``label`` and ``label_rgb`` (uint8 ×3; no class = grey).
    """
    pts = np.asarray(points, dtype=np.float32).reshape(-1, 3)
    keep = np.isfinite(pts).all(axis=1)
    pts = pts[keep]
    cloud = pv.PolyData(pts)
    up_vec = np.asarray(up, dtype=np.float32)
    cloud.point_data["height"] = pts @ (up_vec / max(float(np.linalg.norm(up_vec)), 1e-12))
    if intensity is not None:
        cloud.point_data["intensity"] = np.asarray(intensity, np.float32).reshape(-1)[keep]
    if rgb is not None:
        cloud.point_data["rgb"] = np.asarray(rgb, np.uint8).reshape(-1, 3)[keep]
    if labels is not None and labelset is not None:
        lab = np.asarray(labels).reshape(-1)[keep].astype(np.int64)
        palette = np.zeros((256, 3), np.uint8)
        palette[:] = 160
        n = min(len(labelset.colors), 255)
        palette[:n] = np.asarray(labelset.colors, np.uint8)[:n, :3]
        cloud.point_data["label"] = lab.astype(np.uint8)
        cloud.point_data["label_rgb"] = palette[np.clip(lab, 0, 255)]
    return cloud


def frustum_corners(camera: Camera, depth: float) -> np.ndarray:
    """The apex and the four far-plane corners of ``camera``'s frustum at ``depth``.

    Returns
    -------
    numpy.ndarray
        ``(5, 3)`` world points: centre, then top-left, top-right, bottom-right,
        bottom-left image corners.
    """
    w, h = camera.width, camera.height
    uv = np.array([[-0.5, -0.5], [w - 0.5, -0.5], [w - 0.5, h - 0.5], [-0.5, h - 0.5]])
    far = _unproject(camera, uv, depth)
    apex = _unproject(camera, np.array([[0.0, 0.0]]), 0.0)
    return np.vstack([apex, far])


def _unproject(camera: Camera, uv: np.ndarray, depth: float | np.ndarray) -> np.ndarray:
    """World points at camera depth ``depth`` along pixels ``uv`` (any invertible pose)."""
    homo = np.concatenate([np.asarray(uv, float), np.ones((len(uv), 1))], axis=1)
    cam = np.linalg.solve(camera.K, homo.T).T * np.asarray(depth, float).reshape(-1, 1)
    pose = np.linalg.inv(camera.T_cam_from_world)
    return cam @ pose[:3, :3].T + pose[:3, 3]


def frustum_lines(cameras: list[Camera], depth: float) -> pv.PolyData:
    """All cameras' frustums as line segments (apex to corners, and the far rectangle)."""
    points: list[np.ndarray] = []
    lines: list[int] = []
    camera_ids: list[int] = []
    for k, camera in enumerate(cameras):
        base = 5 * k
        points.append(frustum_corners(camera, depth))
        for a, b in ((0, 1), (0, 2), (0, 3), (0, 4), (1, 2), (2, 3), (3, 4), (4, 1)):
            lines += [2, base + a, base + b]
            camera_ids.append(k)
    mesh = pv.PolyData(np.vstack(points).astype(np.float32), lines=np.asarray(lines, np.int64))
    mesh.cell_data["camera"] = np.asarray(camera_ids, np.int32)
    return mesh


def thumbnail_quad(camera: Camera, image: np.ndarray, depth: float) -> tuple[pv.PolyData, np.ndarray]:
    """A textured quad on ``camera``'s far plane showing ``image`` (downsampled).

    Returns
    -------
    quad, image
        The quad (``active_texture_coordinates`` set, the image's top row at the top of
        the frustum) and the thumbnail image (uint8 RGB, longest side ≤ 192 px).
    """
    corners = frustum_corners(camera, depth)[1:]
    quad = pv.PolyData(corners.astype(np.float32), faces=np.array([4, 0, 1, 2, 3]))
    # texture (0, 0) is the image's bottom-left: TL, TR, BR, BL corners
    quad.active_texture_coordinates = np.array([[0, 1], [1, 1], [1, 0], [0, 0]], np.float32)
    img = np.asarray(image)
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    step = max(1, int(np.ceil(max(img.shape[:2]) / THUMBNAIL_SIZE)))
    thumb = np.ascontiguousarray(img[::step, ::step, :3]).astype(np.uint8)
    return quad, thumb


def trajectory_line(centres: np.ndarray, current: int | None = None) -> pv.PolyData:
    """A polyline through ``centres`` with point array ``current`` (1 at the current frame)."""
    pts = np.asarray(centres, np.float32).reshape(-1, 3)
    line = pv.lines_from_points(pts)
    flag = np.zeros(len(pts), np.uint8)
    if current is not None and 0 <= current < len(pts):
        flag[current] = 1
    line.point_data["current"] = flag
    return line


# --------------------------------------------------------------------------- per format


def _frustum_depth(grid: GridSpec) -> float:
    """Frustums a fortieth of the grid's diagonal deep: visible, not in the way."""
    return 0.025 * float(np.linalg.norm(grid.range_max - grid.range_min))


def _camera_overlays(views: list[CameraView], depth: float) -> list[SceneOverlay]:
    usable = [v for v in views if v.camera is not None]
    if not usable:
        return []
    overlays = [SceneOverlay(
        "Cameras", "cameras", frustum_lines([v.camera for v in usable], depth),
        summary=f"{len(usable)} camera{'s' if len(usable) != 1 else ''}",
        cameras={v.name: v.camera for v in usable},
    )]
    thumbnails = [thumbnail_quad(v.camera, v.image, depth) for v in usable if v.image is not None]
    if thumbnails:
        quads = pv.merge([quad for quad, _ in thumbnails]) if len(thumbnails) > 1 else thumbnails[0][0].copy()
        overlays.append(SceneOverlay("Camera images", "images", quads, summary=f"{len(thumbnails)} on the frustums",
                                     thumbnails=thumbnails))
    return overlays


def _trajectory(
    dataset: Dataset, sample: Sample, pose_key: str, group_key: str | None, view_from_world: np.ndarray | None = None
) -> list[SceneOverlay]:
    """The centres of the posed samples sharing ``sample``'s group (all samples when
    ``group_key`` is ``None``) as a trajectory in the frame the 3D view shows.

    ``view_from_world`` maps the poses' world frame to that frame; by default the inverse
    of ``sample``'s own pose (the view shows the sample's ego / camera frame).
    """
    pose = sample.meta.get(pose_key)
    group = sample.meta.get(group_key) if group_key else None
    members = [s for s in dataset.samples if pose_key in s.meta and (group_key is None or s.meta.get(group_key) == group)]
    if pose is None or len(members) < 2:
        return []
    if view_from_world is None:
        view_from_world = invert_rigid(np.asarray(pose, float))
    members.sort(key=lambda s: s.meta.get("index", 0))
    centres = np.array([np.asarray(s.meta[pose_key], float)[:3, 3] for s in members])
    local = centres @ view_from_world[:3, :3].T + view_from_world[:3, 3]
    current = next((i for i, s in enumerate(members) if s.id == sample.id), None)
    return [SceneOverlay("Trajectory", "lines", trajectory_line(local, current), summary=f"{len(members)} frames")]


def _occ3d_overlays(dataset: Dataset, sample: Sample, views: list[CameraView]) -> list[SceneOverlay]:
    return (_camera_overlays(views, _frustum_depth(default_grid(dataset)))
            + _trajectory(dataset, sample, "T_global_from_ego", "scene"))


def _unscenes_overlays(
    dataset: Dataset, sample: Sample, views: list[CameraView], errors: list[str]
) -> list[SceneOverlay]:
    from occstudio.io.unscenes import load_sample_arrays

    overlays: list[SceneOverlay] = []
    grid = default_grid(dataset)
    parts = load_sample_arrays(sample, ("cloud", "localmap", "occ"), errors)
    occ = parts.get("occ")
    for key, name in (("cloud", "LiDAR"), ("localmap", "Local map")):
        points = parts.get(key)
        if points is None or not len(points):
            continue
        labels = None
        if occ is not None:
            labels = voxel_labels_at(points[:, :3], occ, grid)
        cloud = point_cloud(points[:, :3], intensity=points[:, 3] if points.shape[1] > 3 else None,
                            labels=labels, labelset=UNSCENES3D if labels is not None else None)
        overlays.append(SceneOverlay(name, "points", cloud, summary=f"{cloud.n_points:,} points"))
    return overlays + _camera_overlays(views, _frustum_depth(grid)) + _trajectory(dataset, sample, "pose", "clip")


def _occgen_overlays(dataset: Dataset, sample: Sample, views: list[CameraView]) -> list[SceneOverlay]:
    overlays: list[SceneOverlay] = []
    grid = default_grid(dataset)
    view = views[0] if views else None
    if view is not None and view.camera is not None and view.depth_map is not None:
        depth = view.depth_map
        v, u = np.nonzero(depth > 0)
        points = _unproject(view.camera, np.stack([u, v], axis=1).astype(float), depth[v, u])
        rgb = None
        if view.image is not None and view.image.shape[:2] == depth.shape:
            rgb = view.image[v, u, :3]
        cloud = point_cloud(points, up=(0.0, -1.0, 0.0), rgb=rgb)
        overlays.append(SceneOverlay("Depth points", "points", cloud, summary=f"{cloud.n_points:,} points"))
    overlays += _camera_overlays(views, _frustum_depth(grid))
    pose = sample.meta.get("pose_cv")
    if pose is not None:
        scale = dataset.meta.get("scale")
        scale = float(scale) if isinstance(scale, (int, float)) and scale > 0 else 1.0
        # metres in the world -> metres in this frame's camera -> the grid's relative units
        to_view = np.diag([1 / scale, 1 / scale, 1 / scale, 1.0]) @ invert_rigid(np.asarray(pose, float))
        overlays += _trajectory(dataset, sample, "pose_cv", None, to_view)
    return overlays


def voxel_labels_at(points: np.ndarray, labels: np.ndarray, grid: GridSpec) -> np.ndarray:
    """The class of the voxel each point falls in (255 outside the grid).

    Parameters
    ----------
    points
        ``(N, 3)`` points in the grid's frame.
    labels
        Dense ``grid.shape`` class grid.
    grid
        The grid.

    Returns
    -------
    numpy.ndarray
        uint8 ``(N,)``.
    """
    ijk = grid.point_to_index(np.asarray(points, float))
    inside = grid.contains_index(ijk)
    out = np.full(len(ijk), 255, np.uint8)
    i, j, k = ijk[inside].T
    out[inside] = labels[i, j, k]
    return out


def load_scene_overlays(
    dataset: Dataset,
    sample: Sample,
    cache: SampleCache | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """The scene overlays of a sample (see the module docstring).

    Parameters
    ----------
    dataset, sample
        An occupancy dataset (``occ3d``, ``unscenes3d``, ``occgen``) and one of its samples;
        other formats give no overlays.
    cache
        Byte-bounded cache shared with the Cameras dock (camera views are read once).
    progress
        Optional progress / cancellation.

    Returns
    -------
    dict
        ``id`` (the sample id), ``overlays`` (list of :class:`SceneOverlay`) and
        ``errors`` (messages about files that could not be read; the rest still loads).
    """
    progress = ensure_progress(progress)
    progress.start(2, f"Scene of {sample.id}")
    result: dict[str, Any] = {"id": sample.id, "overlays": [], "errors": []}
    if dataset.format not in CAMERA_FORMATS:
        return result
    try:
        views = load_camera_views(dataset, sample, cache)
    except OccStudioError as exc:
        result["errors"].append(str(exc))
        views = []
    progress.advance(message="building overlays")
    if dataset.format == "occ3d":
        result["overlays"] = _occ3d_overlays(dataset, sample, views)
    elif dataset.format == "unscenes3d":
        result["overlays"] = _unscenes_overlays(dataset, sample, views, result["errors"])
    elif dataset.format == "occgen":
        result["overlays"] = _occgen_overlays(dataset, sample, views)
    progress.advance()
    return result


__all__ = ["MODE_ARRAYS", "POINT_COLOR_MODES", "SceneOverlay", "frustum_corners", "frustum_lines",
           "load_scene_overlays", "point_cloud", "thumbnail_quad", "trajectory_line", "voxel_labels_at"]
