"""The camera images of a sample with LiDAR points and voxel centres projected into them.

:func:`load_camera_views` runs in a background job (no Qt) and returns one
:class:`CameraView` per camera of the sample, with everything the camera panes draw
already projected and filtered to the image:

* **UnScenes3D**: the camera-2 image; the LiDAR cloud and the occupied voxel centres
  (both in the LiDAR frame) projected with the KITTI calibration
  (:func:`~occstudio.io.calib.calib_camera`); the depth map (metres, image-aligned) and the
  bird's-eye elevation map.
* **OccGen**: the RGB frame; the frame's visible occupied voxels (``occ_sequence.npz``,
  stored in the frame's camera frame with OpenCV axes, at Pi3's relative scale) scaled by
  the trajectory's Sim3 ``scale`` to metres and projected with the intrinsic ``K`` only;
  the depth PNG (metres).
* **Occ3D-nuScenes**: every camera listed in ``annotations.json`` with the occupied voxel
  centres (ego frame) projected through ``T_ego_from_cam``; a camera whose image file is
  absent gives a view with its name and an error text.

A view's ``camera`` has as its *world* the frame of the sample's occupancy grid as the 3D
view shows it (LiDAR frame, OccGen grid frame, Occ3D ego frame), so a click in a pane can
be cast into the 3D scene.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from occstudio.builtins.occupancy_view import occgen_sequence
from occstudio.core.compute.projection import project_points, voxel_centres
from occstudio.core.dataset import Dataset, SampleCache
from occstudio.core.errors import OccStudioError
from occstudio.core.geometry import Camera, GridSpec
from occstudio.core.jobs import Progress, ensure_progress
from occstudio.core.labels import OCC3D, UNSCENES3D
from occstudio.core.sample import Sample
from occstudio.io.calib import calib_camera
from occstudio.io.images import read_image
from occstudio.io.occgen import read_depth_png

#: nuScenes camera order: the 2×3 grid reads front row left to right, then the back row.
NUSCENES_ORDER = (
    "CAM_FRONT_LEFT",
    "CAM_FRONT",
    "CAM_FRONT_RIGHT",
    "CAM_BACK_LEFT",
    "CAM_BACK",
    "CAM_BACK_RIGHT",
)
#: Formats :func:`load_camera_views` understands.
CAMERA_FORMATS = ("unscenes3d", "occgen", "occ3d")
#: OccGen depth PNGs store metres × 10000 (formats.md §4).
OCCGEN_DEPTH_SCALE = 10000.0
#: Size assumed for an Occ3D camera whose image is missing (nuScenes cameras).
NUSCENES_IMAGE_SIZE = (1600, 900)


@dataclass
class CameraView:
    """One camera of a sample, ready to draw.

    Attributes
    ----------
    name
        Camera name (``CAM_FRONT``, ``camera``, ``rgb``...).
    image
        uint8 ``H×W×3`` image, or ``None`` when it could not be read (see ``error``).
    camera
        The pinhole camera (world = the occupancy grid's frame), or ``None``.
    lidar_uv, lidar_depth
        Projected LiDAR points inside the image: ``(N, 2)`` pixels and ``(N,)`` metres.
    voxel_uv, voxel_depth
        Projected occupied voxel centres inside the image, likewise.
    depth_map
        float32 ``H×W`` depth in metres aligned with the image (0 = empty), or ``None``.
    elevation_map
        float32 bird's-eye elevation map in metres (0 = empty), or ``None``.
    error
        Why something is missing ("" when all went well).
    """

    name: str
    image: np.ndarray | None = None
    camera: Camera | None = None
    lidar_uv: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))
    lidar_depth: np.ndarray = field(default_factory=lambda: np.zeros(0))
    voxel_uv: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))
    voxel_depth: np.ndarray = field(default_factory=lambda: np.zeros(0))
    depth_map: np.ndarray | None = None
    elevation_map: np.ndarray | None = None
    error: str = ""


def _add_error(view: CameraView, message: str) -> None:
    view.error = f"{view.error}; {message}" if view.error else message


def _nbytes(views: list[CameraView]) -> int:
    return sum(
        a.nbytes
        for v in views
        for a in (v.image, v.lidar_uv, v.lidar_depth, v.voxel_uv, v.voxel_depth, v.depth_map, v.elevation_map)
        if a is not None
    )


# --------------------------------------------------------------------------- formats


def _unscenes_views(dataset: Dataset, sample: Sample, progress: Progress) -> list[CameraView]:
    from occstudio.io.unscenes import load_sample_arrays

    errors: list[str] = []
    parts = load_sample_arrays(sample, ("image", "cloud", "calib", "occ", "depth", "elevation"), errors)
    progress.advance(message="projecting")
    view = CameraView(name="camera", image=parts.get("image"))
    view.depth_map = parts.get("depth")
    view.elevation_map = parts.get("elevation")
    for message in errors:
        _add_error(view, message)
    if view.image is None and "image" not in sample.paths:
        _add_error(view, "no image for this sample")
    calib = parts.get("calib")
    if calib is None:
        if "calib" not in sample.paths:
            _add_error(view, "no calibration: nothing projected")
        return [view]
    if view.image is not None:
        h, w = view.image.shape[:2]
    elif view.depth_map is not None:
        h, w = view.depth_map.shape[:2]
    else:
        return [view]
    try:
        view.camera = calib_camera(calib, w, h)
    except OccStudioError as exc:
        _add_error(view, str(exc))
        return [view]
    cloud = parts.get("cloud")
    if cloud is not None and len(cloud):
        view.lidar_uv, view.lidar_depth = project_points(view.camera, cloud[:, :3])
    occ = parts.get("occ")
    if occ is not None:
        grid: GridSpec = dataset.meta.get("grid") or GridSpec.unscenes()
        free = {255, *UNSCENES3D.free_ids, *UNSCENES3D.ignore_ids}
        centres = voxel_centres(occ, grid, free)
        view.voxel_uv, view.voxel_depth = project_points(view.camera, centres)
    return [view]


def _occgen_views(
    dataset: Dataset, sample: Sample, cache: SampleCache | None, progress: Progress
) -> list[CameraView]:
    view = CameraView(name="rgb")
    p = sample.path("rgb")
    if p is not None:
        try:
            view.image = read_image(p)
        except OccStudioError as exc:
            _add_error(view, str(exc))
    else:
        _add_error(view, "no RGB frame")
    p = sample.path("depth")
    if p is not None:
        try:
            view.depth_map = read_depth_png(p, OCCGEN_DEPTH_SCALE)
        except OccStudioError as exc:
            _add_error(view, str(exc))
    progress.advance(message="projecting voxels")
    K = sample.meta.get("intrinsic")
    if K is None:
        _add_error(view, "no intrinsics: nothing projected")
        return [view]
    if view.image is not None:
        h, w = view.image.shape[:2]
    elif view.depth_map is not None:
        h, w = view.depth_map.shape[:2]
    else:
        cam = sample.meta.get("camera")
        if cam is None:
            return [view]
        w, h = cam.width, cam.height
    scale = dataset.meta.get("scale")
    scale = float(scale) if isinstance(scale, (int, float)) and scale > 0 else 1.0
    # The grid frame is the camera frame at relative scale: world -> camera is a scaling.
    view.camera = Camera(K=np.asarray(K, float), T_cam_from_world=np.diag([scale, scale, scale, 1.0]),
                         width=w, height=h)
    try:
        seq = occgen_sequence(dataset, cache)
    except OccStudioError as exc:
        _add_error(view, str(exc))
        return [view]
    if seq is None:
        return [view]
    frame = int(sample.meta.get("index", dataset.index_of(sample.id)))
    if frame >= seq.n_frames:
        _add_error(view, f"occ_sequence.npz has {seq.n_frames} frames: no occupancy for frame {frame}")
        return [view]
    grid: GridSpec = dataset.meta.get("grid") or GridSpec.occgen()
    centres = grid.flat_to_center(seq.frame(frame))
    view.voxel_uv, view.voxel_depth = project_points(view.camera, centres)
    return [view]


def _camera_order(names: list[str]) -> list[str]:
    known = [n for n in NUSCENES_ORDER if n in names]
    return known + sorted(n for n in names if n not in known)


def _occ3d_views(sample: Sample, progress: Progress) -> list[CameraView]:
    from occstudio.io.occ3d import load_sample_arrays

    cameras: dict[str, Any] = sample.meta.get("cameras") or {}
    if not cameras:
        return [CameraView(name="cameras", error="no camera information (annotations.json not found)")]
    centres = None
    occ_error = ""
    try:
        arrays = load_sample_arrays(sample)
        labels = arrays.get("semantics")
        if labels is not None:
            free = {*OCC3D.free_ids, *OCC3D.ignore_ids, 255}
            centres = voxel_centres(labels, GridSpec.occ3d(), free)
    except (OccStudioError, ValueError) as exc:
        occ_error = str(exc)
    views: list[CameraView] = []
    for name in _camera_order(list(cameras)):
        info = cameras[name]
        view = CameraView(name=name)
        path = info.get("img_path")
        if path is None:
            _add_error(view, "no image listed")
        elif not path.is_file():
            _add_error(view, f"image not found: {path.name}")
        else:
            try:
                view.image = read_image(path)
            except OccStudioError as exc:
                _add_error(view, str(exc))
        if occ_error:
            _add_error(view, occ_error)
        h, w = view.image.shape[:2] if view.image is not None else NUSCENES_IMAGE_SIZE[::-1]
        try:
            view.camera = Camera.from_pose(info["intrinsic"], info["T_ego_from_cam"], w, h)
        except (KeyError, np.linalg.LinAlgError) as exc:
            _add_error(view, f"no usable calibration ({exc})")
        if view.camera is not None and view.image is not None and centres is not None:
            view.voxel_uv, view.voxel_depth = project_points(view.camera, centres)
        views.append(view)
        progress.advance()
    return views


def load_camera_views(
    dataset: Dataset,
    sample: Sample,
    cache: SampleCache | None = None,
    progress: Progress | None = None,
) -> list[CameraView]:
    """The camera views of a sample, with LiDAR and voxel centres projected.

    Parameters
    ----------
    dataset
        The dataset (format ``unscenes3d``, ``occgen`` or ``occ3d``; others give ``[]``).
    sample
        One of its samples.
    cache
        Optional byte-bounded cache; the views are stored under ``("camera_views",
        format, sample id)`` and OccGen's ``occ_sequence.npz`` under the key the
        occupancy loader uses.
    progress
        Optional progress / cancellation.

    Returns
    -------
    list[CameraView]
        One view per camera (UnScenes3D and OccGen: one; Occ3D: one per camera listed in
        ``annotations.json``). Problems with one file are reported in the view's
        ``error`` instead of raising.
    """
    progress = ensure_progress(progress)
    key = ("camera_views", dataset.format, str(dataset.root), sample.id)
    if cache is not None:
        cached = cache.get(key)
        if cached is not None:
            return cached
    progress.start(2, f"Cameras of {sample.id}")
    if dataset.format == "unscenes3d":
        views = _unscenes_views(dataset, sample, progress)
    elif dataset.format == "occgen":
        views = _occgen_views(dataset, sample, cache, progress)
    elif dataset.format == "occ3d":
        views = _occ3d_views(sample, progress)
    else:
        return []
    progress.advance()
    if cache is not None and _nbytes(views) < (256 << 20):
        cache.put(key, views)
    return views
