"""Layer computations: the compute engine's results as view layers (Qt-free).

Each computation is ``func(dataset, sample, progress=None, **params) -> Layer``
(:class:`~occstudio.core.layers.Layer`), run by the GUI as a background job on the
current sample; parameter choices mirror ``occstudio reconstruct`` / ``occstudio
occupancy`` (:mod:`occstudio.builtins.compute_cli`):

* **Fused cloud** (``layers.fused_cloud``): every frame of the OccGen trajectory (the
  open dataset) or of a Pi3-style ``condition.npz`` (the ``source`` parameter) fused
  into one world-frame cloud (:func:`~occstudio.core.compute.reconstruction.fuse_depth_frames`).
* **Occupancy (computed)** (``layers.occupancy``): the fused cloud voxelized
  (:func:`~occstudio.core.compute.occupancy.occupancy_grid`) on a grid around the
  points, or on a given range.
* **Visibility** (``layers.visibility``): what the current frame's camera sees of that
  occupancy (exact voxel traversal, :func:`~occstudio.core.compute.occupancy.camera_visibility`).
* **Rendered depth** (``layers.rendered_depth``): the occupancy rendered from the current
  frame's camera (:func:`~occstudio.core.compute.rendering.render_labels`).

A computation that consumes another layer takes it as a keyword (``cloud=``,
``occupancy=``, listed in :attr:`LayerComputation.inputs`); without it, it computes that
input first with default parameters. Layers carry :func:`export_layer` as their writer,
and a ready-to-draw ``display`` (pyvista data built here, on the worker; an RGB array for
images).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from occstudio.builtins.occupancy_view import colorize_depth
from occstudio.core.compute.occupancy import BACKENDS
from occstudio.core.dataset import Dataset
from occstudio.core.errors import DataError
from occstudio.core.geometry import Camera, GridSpec
from occstudio.core.jobs import Progress, ensure_progress
from occstudio.core.layers import Layer
from occstudio.core.sample import Sample
from occstudio.plugins.registry import ComputationSpec, ParamSpec

#: Layer names of the built-in computations.
FUSED_CLOUD = "fused cloud"
OCCUPANCY = "occupancy (computed)"
VISIBILITY = "visibility"
RENDERED_DEPTH = "rendered depth"

#: Occ3D label written for occupied voxels of an exported occupancy (0 = "others"); 17 = free.
OCC3D_OCCUPIED_LABEL = 0
OCC3D_FREE_LABEL = 17
#: Largest grid a layer computation builds (dense boolean arrays).
MAX_VOXELS = 200_000_000
#: Colour of visible voxels (RGBA).
VISIBLE_RGBA = (255, 140, 0, 255)


@dataclass
class LayerComputation(ComputationSpec):
    """A :class:`ComputationSpec` whose function returns a :class:`Layer`.

    Attributes
    ----------
    layer
        The name of the layer it makes.
    inputs
        Keyword → layer name of the layers it consumes (passed when present).
    """

    layer: str = ""
    inputs: dict[str, str] = field(default_factory=dict)


# ---------------------------------------------------------------------------- export


def export_layer(layer: Layer, path: str | Path) -> Path:
    """Write ``layer`` to ``path``; the format follows the kind and the suffix.

    * points → PLY (xyz, + rgb);
    * voxels → ``*occ_sequence.npz`` (OccGen CSR, one frame), ``*mask_sequence.npz``
      (OccGen packbits, one frame), any other ``.npz`` (Occ3D ``labels.npz``: occupied
      voxels labelled 0, free 17, ``mask_camera`` from ``visible`` when the layer has
      it), or ``.ply`` (voxel centres);
    * image → ``.png`` (uint16, metres × 256, 0 = no depth) or ``.npy`` (float32 metres);
    * mesh → PLY.

    Raises
    ------
    DataError
        A suffix the kind cannot be written as.
    """
    from occstudio.io.meshes import MeshData, write_ply

    path = Path(path)
    suffix = path.suffix.lower()
    name = path.name.lower()
    if suffix not in layer.export_suffixes:
        raise DataError(path, f"a {layer.kind} layer is written as {' or '.join(layer.export_suffixes)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    if layer.kind == "points":
        write_ply(path, np.asarray(layer.data["points"]), colors=layer.data.get("colors"))
    elif layer.kind == "mesh":
        write_ply(path, MeshData(vertices=np.asarray(layer.data["vertices"]), faces=np.asarray(layer.data["faces"]),
                                 vertex_colors=layer.data.get("vertex_colors")))
    elif layer.kind == "voxels":
        _export_voxels(layer, path, name, suffix)
    else:
        depth = np.asarray(layer.data["depth"], dtype=np.float32)
        if suffix == ".npy":
            from occstudio.core.persistence import atomic_write

            def save(tmp: Path) -> None:
                with open(tmp, "wb") as fh:  # a file object: np.save would add ".npy" to a name
                    np.save(fh, depth, allow_pickle=False)

            atomic_write(path, save)
        else:
            _write_depth_png(path, depth)
    return path


def _export_voxels(layer: Layer, path: Path, name: str, suffix: str) -> None:
    from occstudio.io.meshes import write_ply
    from occstudio.io.occ3d_writer import write_occ3d_labels
    from occstudio.io.occgen import write_mask_sequence, write_occ_sequence

    occupied = np.asarray(layer.data["occupied"], dtype=bool)
    grid: GridSpec | None = layer.metadata.get("grid")
    if suffix == ".ply":
        if grid is None:
            raise DataError(path, f"layer {layer.name!r} has no grid: cannot place its voxels")
        write_ply(path, grid.flat_to_center(np.flatnonzero(occupied.reshape(-1))).astype(np.float32))
    elif name.endswith("occ_sequence.npz"):
        write_occ_sequence(path, [np.flatnonzero(occupied.reshape(-1))], occupied.size)
    elif name.endswith("mask_sequence.npz"):
        write_mask_sequence(path, [occupied])
    else:
        semantics = np.where(occupied, np.uint8(OCC3D_OCCUPIED_LABEL), np.uint8(OCC3D_FREE_LABEL)).astype(np.uint8)
        write_occ3d_labels(path, semantics, mask_camera=layer.data.get("visible"))


def _write_depth_png(path: Path, depth: np.ndarray) -> None:
    from PIL import Image

    from occstudio.core.persistence import atomic_write

    scaled = np.where(np.isfinite(depth) & (depth > 0), np.round(depth * 256.0), 0)
    if scaled.max(initial=0) > np.iinfo(np.uint16).max:
        raise DataError(path, f"depths up to {depth.max():.1f} m exceed a 16-bit PNG at 1/256 m: export as .npy")
    image = Image.fromarray(scaled.astype(np.uint16))
    atomic_write(path, lambda tmp: image.save(tmp, format="PNG"))


# ----------------------------------------------------------------------------- inputs


def _source_path(dataset: Dataset | None, source: str) -> Path:
    if source:
        return Path(source).expanduser()
    if dataset is None:
        raise DataError(None, "open an OccGen trajectory, or give a condition.npz as the source")
    return Path(dataset.root if dataset.format == "occgen" else dataset.source)


def _frames(dataset: Dataset | None, source: str, depth_scale: float) -> tuple[list[Any], list[str], Path]:
    from occstudio.io.condition import open_depth_frames

    path = _source_path(dataset, source)
    frames, warnings = open_depth_frames(path, depth_scale=depth_scale, rgb=True)
    return frames, warnings, path


def _frame_index(frames: list[Any], sample: Sample | None, frame: int) -> int:
    if frame >= 0:
        if frame >= len(frames):
            raise DataError(None, f"frame {frame} does not exist ({len(frames)} frames)")
        return frame
    if sample is not None:
        for i, f in enumerate(frames):
            if f.id == sample.id:
                return i
        if sample.id.isdigit() and int(sample.id) < len(frames):
            return int(sample.id)
        raise DataError(None, f"sample {sample.id} is not a frame of the source: choose a frame number")
    return 0


def current_camera(
    dataset: Dataset | None, sample: Sample | None, source: str = "", frame: int = -1,
    depth_scale: float = 10000.0,
) -> tuple[Camera, str]:
    """The camera of the current sample's frame (or of frame ``frame`` ≥ 0) of the source.

    Returns
    -------
    camera, frame_id
        The pinhole camera (size of the frame's depth image) and the frame's id.
    """
    frames, _, _ = _frames(dataset, source, depth_scale)
    i = _frame_index(frames, sample, frame)
    depth = frames[i].load_depth()
    return Camera.from_pose(frames[i].K, frames[i].pose, depth.shape[1], depth.shape[0]), frames[i].id or str(i)


def _positive_or_none(value: float) -> float | None:
    value = float(value)
    return value if value > 0 else None


def _parse_range(text: str) -> np.ndarray | None:
    text = (text or "").replace(",", " ").strip()
    if not text:
        return None
    try:
        values = np.array([float(v) for v in text.split()], dtype=float)
    except ValueError:
        raise DataError(None, f"range must be six numbers 'xmin ymin zmin xmax ymax zmax', got {text!r}") from None
    if values.shape != (6,) or np.any(values[3:] <= values[:3]):
        raise DataError(None, f"range must be six numbers with max > min on every axis, got {text!r}")
    return values


# ----------------------------------------------------------------------- computations


def fused_cloud_layer(
    dataset: Dataset | None,
    sample: Sample | None,
    progress: Progress | None = None,
    *,
    source: str = "",
    voxel_size: float = 0.02,
    max_depth: float = 10.0,
    depth_scale: float = 10000.0,
    stride: int = 4,
    colors: bool = True,
) -> Layer:
    """Fuse every depth frame of the trajectory / ``condition.npz`` into a point cloud layer.

    Parameters
    ----------
    dataset, sample
        The open dataset (an OccGen trajectory) and the current sample (unused here).
    source
        A trajectory folder or ``condition.npz`` to use instead of the open dataset.
    voxel_size
        Downsampling voxel size in metres (0: keep every point).
    max_depth
        Keep depths up to this many metres (0: no limit).
    depth_scale
        Stored units per metre of 16-bit depth PNGs (10000 for OccGen).
    stride
        Use every ``stride``-th pixel.
    colors
        Colour the points from the RGB frames when they exist.
    """
    from occstudio.core.compute.reconstruction import fuse_depth_frames
    from occstudio.render.meshes import points_to_polydata

    progress = ensure_progress(progress)
    frames, warnings, path = _frames(dataset, source, depth_scale)
    cloud = fuse_depth_frames(
        frames, max_depth=_positive_or_none(max_depth), stride=max(1, int(stride)),
        voxel_size=_positive_or_none(voxel_size), colors=colors, progress=progress,
    )
    if len(cloud) == 0:
        raise DataError(path, "no valid depth in range: the cloud is empty")
    data: dict[str, Any] = {"points": np.asarray(cloud.points, dtype=np.float32)}
    if cloud.colors is not None:
        data["colors"] = np.asarray(cloud.colors, dtype=np.uint8)
    lo, hi = cloud.bounds
    meta = {
        "source": str(path), "n_frames": len(frames), "n_raw_points": cloud.n_raw, "bounds": (lo, hi),
        "voxel_size": cloud.voxel_size, "warnings": warnings + list(cloud.meta.get("warnings", [])),
        "params": {"voxel_size": voxel_size, "max_depth": max_depth, "depth_scale": depth_scale, "stride": stride},
        "origins": cloud.origins,
    }
    return Layer(FUSED_CLOUD, "points", data, meta, display=points_to_polydata(data["points"], data.get("colors")),
                 writer=export_layer)


def occupancy_layer(
    dataset: Dataset | None,
    sample: Sample | None,
    progress: Progress | None = None,
    *,
    cloud: Layer | None = None,
    voxel_size: float = 0.05,
    range: str = "",  # noqa: A002 (the CLI's --range)
    source: str = "",
) -> Layer:
    """Voxelize the fused cloud into an occupancy grid layer.

    Parameters
    ----------
    cloud
        The fused cloud layer (fused with default parameters when ``None``).
    voxel_size
        Voxel edge in metres.
    range
        ``"xmin ymin zmin xmax ymax zmax"``; empty: a grid snapped around the points.
    source
        See :func:`fused_cloud_layer` (used only when ``cloud`` is ``None``).
    """
    from occstudio.core.compute.occupancy import grid_for_points, occupancy_grid

    progress = ensure_progress(progress)
    if not voxel_size > 0:
        raise DataError(None, f"voxel size must be positive, got {voxel_size}")
    progress.start(1.0, "Occupancy")
    if cloud is None:
        cloud = fused_cloud_layer(dataset, sample, progress.child(0, 0.8), source=source)
    points = np.asarray(cloud.data["points"], dtype=np.float64)
    rng = _parse_range(range)
    grid = GridSpec.from_range(rng, voxel_size) if rng is not None else grid_for_points(points, voxel_size)
    if grid.n_voxels > MAX_VOXELS:
        raise DataError(None, f"grid {grid.shape} has {grid.n_voxels:,} voxels: use a larger voxel size or a smaller range")
    progress.check()
    occupied = occupancy_grid(points, grid)
    progress.update(1.0, message="Occupancy: done")
    return Layer(
        OCCUPANCY, "voxels", {"occupied": occupied},
        {"grid": grid, "n_occupied": int(occupied.sum()), "source": cloud.metadata.get("source"),
         "params": {"voxel_size": voxel_size, "range": range}},
        display=_voxel_display(occupied, grid), writer=export_layer,
    )


def _voxel_display(occupied: np.ndarray, grid: GridSpec, rgba: tuple[int, int, int, int] | None = None) -> Any:
    from occstudio.render.voxels import sparse_voxel_surface

    poly = sparse_voxel_surface(np.flatnonzero(occupied.reshape(-1)), grid, color_by_height=rgba is None)
    if rgba is not None and poly.n_cells:
        poly.cell_data["rgba"] = np.tile(np.asarray(rgba, dtype=np.uint8), (poly.n_cells, 1))
    return poly


def _occupancy_input(
    dataset: Dataset | None, sample: Sample | None, occupancy: Layer | None, source: str, progress: Progress
) -> Layer:
    if occupancy is not None:
        if occupancy.kind != "voxels" or occupancy.metadata.get("grid") is None:
            raise DataError(None, f"layer {occupancy.name!r} is not an occupancy grid")
        return occupancy
    return occupancy_layer(dataset, sample, progress.child(0, 0.7), source=source)


def visibility_layer(
    dataset: Dataset | None,
    sample: Sample | None,
    progress: Progress | None = None,
    *,
    occupancy: Layer | None = None,
    stride: int = 4,
    max_depth: float = 0.0,
    frame: int = -1,
    source: str = "",
    backend: str = "auto",
) -> Layer:
    """The voxels the current frame's camera sees of the occupancy (exact traversal).

    Parameters
    ----------
    occupancy
        The occupancy layer (computed with defaults when ``None``).
    stride
        Cast a ray every ``stride``-th pixel.
    max_depth
        Stop rays at this depth (0: no limit).
    frame
        Frame number of the source; -1: the current sample's frame.
    source
        A trajectory folder or ``condition.npz`` instead of the open dataset.
    backend
        ``auto``, ``numpy`` or ``torch``.
    """
    from occstudio.core.compute.occupancy import camera_visibility

    progress = ensure_progress(progress)
    progress.start(1.0, "Camera rays")
    occ_layer = _occupancy_input(dataset, sample, occupancy, source, progress)
    grid: GridSpec = occ_layer.metadata["grid"]
    occupied = np.asarray(occ_layer.data["occupied"], dtype=bool)
    camera, frame_id = current_camera(dataset, sample, source, frame)
    vis = camera_visibility(occupied, grid, camera, stride=max(1, int(stride)), max_depth=_positive_or_none(max_depth),
                            backend=backend, progress=progress.child(0.7 if occupancy is None else 0, 1))
    seen = vis.visible_occupied(occupied)
    return Layer(
        VISIBILITY, "voxels", {"occupied": seen, "visible": vis.visible},
        {"grid": grid, "frame": frame_id, "sample_id": sample.id if sample else None,
         "n_visible": int(vis.visible.sum()), "n_occupied": int(seen.sum()),
         "params": {"stride": stride, "max_depth": max_depth}},
        display=_voxel_display(seen, grid, VISIBLE_RGBA), writer=export_layer,
    )


def rendered_depth_layer(
    dataset: Dataset | None,
    sample: Sample | None,
    progress: Progress | None = None,
    *,
    occupancy: Layer | None = None,
    stride: int = 2,
    max_depth: float = 0.0,
    frame: int = -1,
    source: str = "",
    backend: str = "auto",
) -> Layer:
    """The occupancy rendered as a depth image from the current frame's camera.

    Parameters are those of :func:`visibility_layer`. The layer's ``depth`` is
    ``ceil(H / stride) × ceil(W / stride)`` camera-frame metres (0 = no hit); ``display``
    is it colourised (near red), for the image pane.
    """
    from occstudio.core.compute.rendering import render_labels

    progress = ensure_progress(progress)
    progress.start(1.0, "Camera rays")
    occ_layer = _occupancy_input(dataset, sample, occupancy, source, progress)
    grid: GridSpec = occ_layer.metadata["grid"]
    camera, frame_id = current_camera(dataset, sample, source, frame)
    view = render_labels(np.asarray(occ_layer.data["occupied"], dtype=bool), grid, camera,
                         stride=max(1, int(stride)), max_depth=_positive_or_none(max_depth), backend=backend,
                         progress=progress.child(0.7 if occupancy is None else 0, 1))
    depth = view.depth.astype(np.float32)
    return Layer(
        RENDERED_DEPTH, "image", {"depth": depth},
        {"frame": frame_id, "sample_id": sample.id if sample else None, "stride": view.stride,
         "image_size": (camera.width, camera.height), "hit_fraction": float((depth > 0).mean()) if depth.size else 0.0,
         "params": {"stride": stride, "max_depth": max_depth}},
        display=colorize_depth(depth), writer=export_layer,
    )


# ---------------------------------------------------------------------------- specs

_SOURCE = ParamSpec("source", "path", "", help="trajectory folder or condition.npz (empty: the open dataset)")
_FRAME = ParamSpec("frame", "int", -1, minimum=-1, help="frame number; -1: the current sample's frame")
_BACKEND = ParamSpec("backend", "choice", "auto", choices=BACKENDS,
                     help="voxel traversal (auto: torch on CUDA, else numba when installed, else numpy)")

LAYER_COMPUTATIONS: tuple[LayerComputation, ...] = (
    LayerComputation(
        id="layers.fused_cloud", name="Fused cloud", func=fused_cloud_layer, layer=FUSED_CLOUD,
        description="Back-project every depth frame with its pose and fuse them into one point cloud.",
        params=(
            ParamSpec("voxel_size", "float", 0.02, minimum=0.0, help="downsampling voxel size in metres (0: none)"),
            ParamSpec("max_depth", "float", 10.0, minimum=0.0, help="keep depths up to this (metres; 0: no limit)"),
            ParamSpec("depth_scale", "float", 10000.0, minimum=1e-6, help="stored depth units per metre (OccGen 10000)"),
            ParamSpec("stride", "int", 4, minimum=1, maximum=64, help="use every K-th pixel"),
            ParamSpec("colors", "bool", True, help="colour points from the RGB frames"),
            _SOURCE,
        ),
    ),
    LayerComputation(
        id="layers.occupancy", name="Occupancy (computed)", func=occupancy_layer, layer=OCCUPANCY,
        inputs={"cloud": FUSED_CLOUD},
        description="Voxelize the fused cloud (computed first when absent) into an occupancy grid.",
        params=(
            ParamSpec("voxel_size", "float", 0.05, minimum=1e-4, help="voxel edge in metres"),
            ParamSpec("range", "str", "", help="xmin ymin zmin xmax ymax zmax (empty: around the points)"),
            _SOURCE,
        ),
    ),
    LayerComputation(
        id="layers.visibility", name="Visibility", func=visibility_layer, layer=VISIBILITY,
        inputs={"occupancy": OCCUPANCY},
        description="Voxels the current frame's camera sees of the computed occupancy (exact voxel traversal).",
        params=(
            ParamSpec("stride", "int", 4, minimum=1, maximum=64, help="a ray every K-th pixel"),
            ParamSpec("max_depth", "float", 0.0, minimum=0.0, help="stop rays at this depth (0: no limit)"),
            _FRAME,
            _BACKEND,
            _SOURCE,
        ),
    ),
    LayerComputation(
        id="layers.rendered_depth", name="Rendered depth", func=rendered_depth_layer, layer=RENDERED_DEPTH,
        inputs={"occupancy": OCCUPANCY},
        description="Render the computed occupancy as a depth image from the current frame's camera.",
        params=(
            ParamSpec("stride", "int", 2, minimum=1, maximum=64, help="a ray every K-th pixel"),
            ParamSpec("max_depth", "float", 0.0, minimum=0.0, help="ignore hits beyond this depth (0: no limit)"),
            _FRAME,
            _BACKEND,
            _SOURCE,
        ),
    ),
)


def layer_computation(computation_id: str) -> LayerComputation:
    """The layer computation with this id (``KeyError`` when unknown)."""
    for spec in LAYER_COMPUTATIONS:
        if spec.id == computation_id:
            return spec
    raise KeyError(computation_id)
