"""Comparison videos of occupancy datasets (Occ3D-nuScenes, OccGen, UnScenes3D).

Registered as the video source of these formats (``occstudio export-video`` and File >
Export video use it). Per frame it gives :func:`~occstudio.render.video.export_video` a
:class:`~occstudio.render.panels.SampleContent` whose panels show:

=========  ===========================================================================
panel      content
=========  ===========================================================================
image      the camera image (Occ3D: the first camera, ``CAM_FRONT``; UnScenes3D: camera
           2) with the occupied voxel centres projected into it, coloured by depth; for
           OccGen the RGB input frame as it is
gt         the ground-truth voxels (Occ3D: camera-visible voxels when ``mask_camera`` is
           present), coloured by class (OccGen: by height), in the sample's own frame
           (ego / LiDAR / camera)
pred       the predicted voxels (Occ3D ``<token>.npz``, matched in ``--predictions``)
error      the error kind of every voxel occupied in GT or prediction (correct, wrong
           class, false positive, false negative)
world      the sensor's world: OccGen's depth frames fused with their poses (metres),
           the frame's occupancy placed in the world and the camera trajectory; Occ3D and
           UnScenes3D: the GT voxels placed in the global frame and the ego trajectory
metrics    mIoU and geometric IoU ("IoU") of the prediction (per frame in a played sequence),
           or the voxel count of OccGen frames
=========  ===========================================================================

Panels in the sample's frame share one camera; the world panel has its own. With the
trajectory camera, both follow the sensor: in the sample's frame the sensor sits at the
origin, in the world at its pose.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyvista as pv

from occstudio.builtins.camera_views import load_camera_views
from occstudio.builtins.evaluation import find_occ3d_prediction
from occstudio.builtins.occupancy_view import occgen_sequence
from occstudio.builtins.scene_overlays import frustum_lines, trajectory_line
from occstudio.core.compute.occupancy_errors import error_categories
from occstudio.core.compute.projection import depth_colors, splat_points
from occstudio.core.dataset import Dataset
from occstudio.core.errors import OccStudioError
from occstudio.core.geometry import Camera, GridSpec
from occstudio.core.labels import ERRORS, OCC3D, OCCGEN, UNSCENES3D, LabelSet
from occstudio.core.sample import Sample
from occstudio.io.occ3d import read_labels_npz, read_prediction_npz
from occstudio.render.clips import Clip, Scene3D, SceneItem, union_bounds
from occstudio.render.compose import RGB
from occstudio.render.panels import Layout, MetricValue, SampleContent
from occstudio.render.voxels import sparse_voxel_surface, voxel_surface

#: The formats this source shows.
FORMATS = ("occ3d", "occgen", "unscenes3d")
#: Sensor axes (forward, up) in the sensor's own frame.
EGO_AXES = ((1.0, 0.0, 0.0), (0.0, 0.0, 1.0))
CV_AXES = ((0.0, 0.0, 1.0), (0.0, -1.0, 0.0))
#: Meta key of each format's sensor pose in the world.
POSE_KEYS = {"occ3d": "T_global_from_ego", "unscenes3d": "pose", "occgen": "pose_cv"}
#: Depth scale of OccGen depth PNGs (units per metre).
OCCGEN_DEPTH_SCALE = 10000.0
#: Voxel size (metres) of the fused OccGen world cloud.
WORLD_VOXEL = 0.02
TRAJECTORY_STYLE = {"color": "#d62728", "line_width": 3}
FRUSTUM_STYLE = {"color": "#1f77b4", "line_width": 2}


def _rgb(color: Sequence[int]) -> RGB:
    return (int(color[0]), int(color[1]), int(color[2]))


def class_legend(labelset: LabelSet, labels: np.ndarray | None) -> list[tuple[str, RGB]]:
    """``(name, rgb)`` of the classes present in ``labels`` (free and ignore ids left out)."""
    if labels is None:
        return []
    skip = {*labelset.free_ids, *labelset.ignore_ids, 255}
    present = [int(c) for c in np.unique(labels) if int(c) not in skip]
    return [(labelset.name_of(c), _rgb(labelset.color_of(c))) for c in present]


def _error_legend() -> list[tuple[str, RGB]]:
    return [(name, _rgb(ERRORS.color_of(i))) for i, name in enumerate(ERRORS.class_names)]


class _Source:
    """What one export needs across frames: the dataset, its grid and lazily read files."""

    def __init__(self, dataset: Dataset, layout: Layout, predictions: Path | None,
                 metrics: Mapping[str, Mapping[str, MetricValue]] | None) -> None:
        if predictions is None and (Path(dataset.root) / "predictions").is_dir():
            predictions = Path(dataset.root) / "predictions"  # as for mesh datasets
        self.dataset, self.layout, self.predictions = dataset, layout, predictions
        self.user_metrics = metrics or {}
        self.format = dataset.format
        self.grid: GridSpec = dataset.meta.get("grid") or {
            "occ3d": GridSpec.occ3d, "occgen": GridSpec.occgen, "unscenes3d": GridSpec.unscenes,
        }[self.format]()
        self.labelset = {"occ3d": OCC3D, "occgen": OCCGEN, "unscenes3d": UNSCENES3D}[self.format]
        self._world: tuple[list[SceneItem], Any] | None = None
        self._posed_ids: dict[str, int] = {}  # sample id -> index on the trajectory
        self._world_warnings: list[str] = []
        self.gt_roots = [Path(dataset.root)]

    # ------------------------------------------------------------------ grids
    def grid_bounds(self) -> tuple[float, ...]:
        lo, hi = self.grid.range_min, self.grid.range_max
        return (float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1]), float(lo[2]), float(hi[2]))

    def local_bounds(self, samples: Sequence[Sample]) -> tuple[float, ...]:
        """The box the sample-frame panels frame over a clip: the grid, or for OccGen (a
        400³ grid of which a frame fills a corner) the occupied voxels of the clip's
        frames and the camera at the origin."""
        if self.format != "occgen":
            return self.grid_bounds()
        seq = occgen_sequence(self.dataset)
        boxes = [(0.0, 0.0, 0.0, 0.0, 0.0, 0.0)]
        for s in samples:
            t = int(s.meta.get("index", self.dataset.index_of(s.id)))
            if seq is None or t >= seq.n_frames:
                continue
            flat = seq.frame(t)
            if len(flat):
                c = self.grid.flat_to_center(flat)
                half = np.asarray(self.grid.voxel_size, float) / 2
                lo, hi = c.min(axis=0) - half, c.max(axis=0) + half
                boxes.append((lo[0], hi[0], lo[1], hi[1], lo[2], hi[2]))
        return union_bounds(boxes) or self.grid_bounds()

    def local_frame(self) -> tuple[str, str, tuple]:
        """Name, up axis and sensor axes of the samples' own frame."""
        if self.format == "occgen":
            return "camera", "-y", CV_AXES
        return ("ego" if self.format == "occ3d" else "lidar"), "z", EGO_AXES

    def prediction_path(self, sample: Sample) -> Path | None:
        if self.format != "occ3d":
            return None
        if self.predictions is not None:
            if self.predictions.is_file():
                return self.predictions
            return find_occ3d_prediction(self.predictions, sample, self.gt_roots)
        return sample.path("prediction")

    def labels(self, sample: Sample, warnings: list[str]) -> tuple[np.ndarray | None, np.ndarray | None]:
        """Dense GT labels and the visibility mask used (Occ3D: camera mask), or flat
        indices for OccGen (then the mask is ``None``)."""
        try:
            if self.format == "occ3d":
                path = sample.path("labels")
                if path is None:
                    return None, None
                arrays = read_labels_npz(path)
                return arrays["semantics"], arrays.get("mask_camera")
            if self.format == "unscenes3d":
                from occstudio.io.unscenes import load_sample_arrays

                errors: list[str] = []
                occ = load_sample_arrays(sample, ("occ",), errors=errors).get("occ")
                warnings.extend(errors)
                return occ, None
            seq = occgen_sequence(self.dataset)
            frame = int(sample.meta.get("index", self.dataset.index_of(sample.id)))
            if seq is None:
                warnings.append("no occ_sequence.npz in the trajectory")
                return None, None
            if frame >= seq.n_frames:
                warnings.append(f"occ_sequence.npz has {seq.n_frames} frames: no occupancy for frame {frame}")
                return None, None
            return seq.frame(frame), None
        except OccStudioError as exc:
            warnings.append(str(exc))
            return None, None

    def surface(self, labels: np.ndarray, visible: np.ndarray | None) -> pv.PolyData:
        if self.format == "occgen":
            return sparse_voxel_surface(labels, self.grid)
        return voxel_surface(labels, self.grid, self.labelset, visible=visible)

    # ------------------------------------------------------------------ world
    def sensor_pose(self, sample: Sample) -> np.ndarray | None:
        pose = sample.meta.get(POSE_KEYS[self.format])
        return None if pose is None else np.asarray(pose, float).reshape(4, 4)

    def local_to_world(self, sample: Sample) -> np.ndarray | None:
        """4×4 from the sample's grid frame to the world (OccGen: grid units are the
        trajectory's relative scale, so the Sim3 ``scale`` comes first)."""
        pose = self.sensor_pose(sample)
        if pose is None:
            return None
        if self.format == "occgen":
            scale = self.dataset.meta.get("scale")
            scale = float(scale) if isinstance(scale, (int, float)) and scale > 0 else 1.0
            return pose @ np.diag([scale, scale, scale, 1.0])
        return pose

    def world_items(self, progress_warnings: list[str]) -> tuple[list[SceneItem], np.ndarray]:
        """The static part of the world panel (fused cloud for OccGen) and the trajectory
        centres of every posed sample; read once per export."""
        if self._world is None:
            items: list[SceneItem] = []
            if self.format == "occgen":
                try:
                    from occstudio.core.compute.reconstruction import fuse_depth_frames
                    from occstudio.io.condition import trajectory_frames

                    frames, warns = trajectory_frames(self.dataset.source, depth_scale=OCCGEN_DEPTH_SCALE, rgb=True)
                    self._world_warnings += warns
                    cloud = fuse_depth_frames(frames, stride=2, voxel_size=WORLD_VOXEL, max_depth=5.0)
                    poly = pv.PolyData(np.asarray(cloud.points, np.float32))
                    if cloud.colors is not None:
                        poly.point_data["rgb"] = np.asarray(cloud.colors, np.uint8)
                    items.append(SceneItem(poly, None))
                except (OccStudioError, ValueError) as exc:
                    self._world_warnings.append(f"world cloud: {exc}")
            posed = [(s.id, p[:3, 3]) for s in self.dataset.samples if (p := self.sensor_pose(s)) is not None]
            self._posed_ids = {sid: i for i, (sid, _) in enumerate(posed)}
            self._world = (items, np.array([c for _, c in posed], float).reshape(-1, 3))
            progress_warnings.extend(self._world_warnings)  # once per export
        return self._world

    def world_scene(self, sample: Sample, occupancy: pv.PolyData | None, warnings: list[str],
                    bounds: tuple[float, ...] | None) -> Scene3D | None:
        to_world = self.local_to_world(sample)
        if to_world is None:
            warnings.append("no sensor pose: no world view")
            return None
        static, centres = self.world_items(warnings)
        items = list(static)
        if occupancy is not None and occupancy.n_points:
            placed = occupancy.transform(to_world, inplace=False)
            items.append(SceneItem(placed, None))
        if len(centres) > 1:
            current = self._posed_ids.get(sample.id)
            items.append(SceneItem(trajectory_line(centres, current), dict(TRAJECTORY_STYLE)))
        pose = self.sensor_pose(sample)
        if self.format == "occgen" and pose is not None and (K := sample.meta.get("intrinsic")) is not None:
            cam = sample.meta.get("camera")
            w, h = (cam.width, cam.height) if cam is not None else (480, 270)
            camera = Camera.from_pose(np.asarray(K, float), pose, int(w), int(h))
            depth = 0.08 * (float(np.linalg.norm(np.ptp(centres, axis=0))) if len(centres) > 1 else 1.0) + 0.05
            items.append(SceneItem(frustum_lines([camera], depth), dict(FRUSTUM_STYLE)))
        forward_up = CV_AXES if self.format == "occgen" else EGO_AXES
        up: Any = "z" if pose is None else tuple(float(v) for v in pose[:3, :3] @ np.asarray(forward_up[1]))
        return Scene3D(items, frame="world", bounds=bounds, up=up, follow=pose, follow_axes=forward_up,
                       user_camera=False)

    def world_bounds(self, samples: Sequence[Sample], warnings: list[str]) -> tuple[float, ...] | None:
        """A box holding the world cloud, the trajectory and every frame's grid placed in
        the world: a stable framing for the whole clip."""
        static, centres = self.world_items(warnings)
        boxes = [item.mesh.bounds for item in static if item.mesh.n_points]
        g = self.grid_bounds()
        corners = np.array([[x, y, z] for x in g[0:2] for y in g[2:4] for z in g[4:6]], float)
        if not boxes:  # no fused cloud: frame every grid placed in the world
            for s in samples:
                T = self.local_to_world(s)
                if T is not None:
                    placed = corners @ T[:3, :3].T + T[:3, 3]
                    boxes.append((*_minmax(placed[:, 0]), *_minmax(placed[:, 1]), *_minmax(placed[:, 2])))
        if len(centres):
            boxes.append((*_minmax(centres[:, 0]), *_minmax(centres[:, 1]), *_minmax(centres[:, 2])))
        return union_bounds(boxes)

    # ------------------------------------------------------------------ image
    def image(self, sample: Sample, warnings: list[str]) -> np.ndarray | None:
        try:
            views = load_camera_views(self.dataset, sample)
        except OccStudioError as exc:
            warnings.append(f"camera: {exc}")
            return None
        view = next((v for v in views if v.image is not None), None)
        if view is None:
            if views and views[0].error:
                warnings.append(f"camera: {views[0].error}")
            return None
        rgb = np.ascontiguousarray(view.image[:, :, :3])
        if self.format == "occgen" or not len(view.voxel_uv):
            return rgb
        h, w = rgb.shape[:2]
        radius = max(1, round(max(h, w) / 400))
        colors = depth_colors(view.voxel_depth)
        layer = splat_points((h, w), view.voxel_uv, colors, radius=radius, depth=view.voxel_depth)
        alpha = (layer[:, :, 3:4].astype(np.float32) / 255.0) * 0.7
        return (rgb * (1 - alpha) + layer[:, :, :3] * alpha).astype(np.uint8)

    # ------------------------------------------------------------------ one frame
    def content(self, sample: Sample, local_bounds: tuple[float, ...], world_bounds: tuple[float, ...] | None,
                metrics: Mapping[str, MetricValue] | None, footer: str | None) -> SampleContent:
        lay = self.layout
        content = SampleContent(sample, metrics=dict(metrics or {}), footer=footer)
        warn = content.warnings
        frame_name, up, axes = self.local_frame()
        local = {"frame": frame_name, "bounds": local_bounds, "up": up,
                 "follow": np.eye(4), "follow_axes": axes}
        needs_pred = lay.needs("pred") or lay.needs("error")
        gt, visible = (self.labels(sample, warn) if (lay.needs("gt") or lay.needs("error") or lay.needs("world"))
                       else (None, None))
        gt_poly = self.surface(gt, visible) if gt is not None else None
        if lay.needs("gt") and gt_poly is not None:
            legend = [] if self.format == "occgen" else class_legend(self.labelset, gt if visible is None else
                                                                      np.where(visible.astype(bool), gt, 255))
            content.scenes["gt"] = Scene3D([SceneItem(gt_poly)], legend=legend, **local)
        pred = None
        if needs_pred:
            pred_path = self.prediction_path(sample)
            content.prediction_path = pred_path
            if pred_path is None:
                if self.format == "occ3d":
                    warn.append("no prediction for this sample")
            else:
                try:
                    pred = read_prediction_npz(pred_path)
                except OccStudioError as exc:
                    warn.append(f"prediction: {exc}")
        if lay.needs("pred") and pred is not None:
            content.scenes["pred"] = Scene3D([SceneItem(self.surface(pred, visible))],
                                             legend=class_legend(self.labelset, pred), **local)
        if lay.needs("error") and pred is not None and gt is not None:
            if pred.shape != gt.shape:
                warn.append(f"prediction {pred.shape} and GT {gt.shape} differ in shape: no error view")
            else:
                errors = error_categories(gt, pred, visible=visible)
                content.scenes["error"] = Scene3D([SceneItem(voxel_surface(errors, self.grid, ERRORS))],
                                                  legend=_error_legend(), **local)
        if lay.needs("world"):
            content.scenes["world"] = self.world_scene(sample, gt_poly, warn, world_bounds)
        if lay.needs("image"):
            content.image = self.image(sample, warn)
        if lay.needs("metrics") and not content.metrics:
            content.metrics = self.frame_metrics(sample, gt, visible, pred)
        return content

    def frame_metrics(self, sample: Sample, gt: np.ndarray | None, visible: np.ndarray | None,
                      pred: np.ndarray | None) -> dict[str, MetricValue]:
        """The per-frame numbers of a metrics panel."""
        out: dict[str, MetricValue] = {}
        if self.format == "occ3d" and gt is not None and pred is not None and pred.shape == gt.shape:
            from occstudio.core.compute.occupancy_metrics import occupancy_metrics

            arrays = {"semantics": gt}
            if visible is not None:
                arrays["mask_camera"] = visible
            result = occupancy_metrics(arrays, pred, mask="camera" if visible is not None else "none", fscore=False)
            out["mIoU"] = float(result["miou"])
            out["IoU"] = float(result["geometric_iou"])
        elif gt is not None:
            out["voxels"] = int(len(gt)) if self.format == "occgen" else int(
                np.count_nonzero(~np.isin(gt, list({*self.labelset.free_ids, *self.labelset.ignore_ids, 255}))))
        return out


def _minmax(values: np.ndarray) -> tuple[float, float]:
    return float(values.min()), float(values.max())


def occupancy_clips(
    dataset: Dataset,
    samples: Sequence[Sample],
    layout: Layout,
    *,
    predictions: Path | None = None,
    frames: int = 60,
    playback: bool = False,
    metrics: Mapping[str, Mapping[str, MetricValue]] | None = None,
) -> list[Clip]:
    """The clips of an occupancy video (the :class:`~occstudio.plugins.registry.VideoSourceSpec`
    of Occ3D, OccGen and UnScenes3D).

    Parameters
    ----------
    dataset
        The opened dataset.
    samples
        With ``playback``, the frames of the one clip, in order; otherwise one turntable
        clip per sample.
    layout
        The panels to fill.
    predictions
        A folder (or a single file) of Occ3D predictions; default: the samples' own, or
        the ``predictions/`` folder beside the dataset.
    frames
        Frames of each turntable clip.
    playback
        Play ``samples`` one per video frame.
    metrics
        ``{sample_id: {name: value}}`` shown instead of the computed numbers.

    Returns
    -------
    list[Clip]
    """
    source = _Source(dataset, layout, predictions, metrics)
    samples = list(samples)
    given = metrics or {}
    if playback:
        world_box = source.world_bounds(samples, []) if layout.needs("world") else None
        local_box = source.local_bounds(samples)
        series: dict[str, list[float]] = {}
        if layout.needs("metrics") and not given:
            for s in samples:  # per-frame series, so the strip shows the whole sequence
                w: list[str] = []
                gt, visible = source.labels(s, w)
                pred = None
                if (p := source.prediction_path(s)) is not None:
                    try:
                        pred = read_prediction_npz(p)
                    except OccStudioError:
                        pred = None
                for name, value in source.frame_metrics(s, gt, visible, pred).items():
                    series.setdefault(name, []).append(float(value))

        def load(i: int) -> SampleContent:
            s = samples[i]
            shown = given.get(s.id) or {k: v for k, v in series.items() if len(v) == len(samples)}
            return source.content(s, local_box, world_box, shown, footer=None)

        first = samples[0]
        return [Clip([first.id, f"{len(samples)} frames"], f"{len(samples)} frames", len(samples), load)]
    clips = []
    for n, s in enumerate(samples, start=1):
        label = f"{s.id} ({n}/{len(samples)})" if len(samples) > 1 else s.id
        world_box = source.world_bounds([s], []) if layout.needs("world") else None

        def load_one(_i: int, s: Sample = s, box: Any = world_box) -> SampleContent:
            return source.content(s, source.local_bounds([s]), box, given.get(s.id), footer=None)

        clips.append(Clip([s.id, f"sample {n} of {len(samples)}"], label, frames, load_one, static=True))
    return clips


__all__ = ["FORMATS", "class_legend", "occupancy_clips"]
