"""Video panels: layouts (which panels, in which grid) and what each panel shows.

Panel kinds
-----------
=========  ===================================================================
kind       content
=========  ===================================================================
image      the sample's image: the (occluded scene) image with its mask overlaid, or
           for occupancy data the camera image with the voxels projected into it
gt         the ground truth: mesh or point cloud (vertex colours), or voxels (3-D)
pred       the prediction: the matched mesh, or predicted voxels (3-D)
error      the prediction's error: mesh vertices coloured by their distance to the GT,
           or voxels coloured by error kind (correct, wrong class, false positive,
           false negative) (3-D)
world      the world: fused cloud, occupancy and sensor trajectory (3-D, sequences)
priors     the sample's prior images, tiled
metrics    ``name: value`` lines; per-frame series get a sparkline with a marker
text       sample id, category text, file names
=========  ===================================================================

A layout is a preset name or a custom string: panels separated by ``,``, rows by ``;``,
each panel optionally titled ``kind=Title`` (``"image,gt=Ground truth;metrics"``).

Presets: ``gt-pred`` ("GT | Prediction"), ``image-pred-gt`` ("Image | Prediction | GT"),
``gt-pred-error`` ("GT | Prediction | Error") and ``input-world-occupancy`` (OccGen's
"Input | World | Occupancy").

2-D panels are drawn once per content (except a metrics panel with per-frame series) with
numpy/Pillow; 3-D panels are drawn by the video renderer from :meth:`SampleContent.scene`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyvista as pv

from occstudio.core.errors import DataError, OccStudioError
from occstudio.core.sample import Sample
from occstudio.io.geometry import load_geometry
from occstudio.io.images import mask_from_alpha, read_image, read_mask
from occstudio.render.clips import Scene3D, SceneItem
from occstudio.render.compose import (
    PANEL_BG,
    RGB,
    TITLE_FG,
    Rect,
    draw_lines,
    draw_text,
    fit_image,
    image_grid,
    overlay_mask,
    placeholder,
    sparkline,
)
from occstudio.render.meshes import mesh_to_polydata

#: Panel kinds and their default titles.
PANEL_TITLES: dict[str, str] = {
    "image": "Image",
    "gt": "GT",
    "pred": "Prediction",
    "error": "Error",
    "world": "World",
    "priors": "Priors",
    "metrics": "Metrics",
    "text": "Sample",
}
#: Kinds drawn by the 3-D renderer.
MESH_KINDS = frozenset({"gt", "pred", "error", "world"})
#: Layout presets: name -> custom layout string.
PRESETS: dict[str, str] = {
    "gt-pred": "gt,pred",
    "image-pred-gt": "image,pred,gt",
    "gt-pred-error": "gt,pred,error",
    "input-world-occupancy": "image=Input,world=World,gt=Occupancy",
}
#: Display names of the presets.
PRESET_NAMES: dict[str, str] = {
    "gt-pred": "GT | Prediction",
    "image-pred-gt": "Image | Prediction | GT",
    "gt-pred-error": "GT | Prediction | Error",
    "input-world-occupancy": "Input | World | Occupancy",
}

#: Placeholder texts of empty 3-D panels.
MISSING_3D: dict[str, str] = {
    "gt": "no GT",
    "pred": "no prediction",
    "error": "no error view (needs GT and prediction)",
    "world": "no world view for this sample",
}

MetricValue = float | int | str | Sequence[float]


@dataclass(frozen=True)
class PanelSpec:
    """One panel of a layout: its kind and the title drawn above it."""

    kind: str
    title: str

    @property
    def is_mesh(self) -> bool:
        """Whether the 3-D renderer draws this panel."""
        return self.kind in MESH_KINDS


@dataclass(frozen=True)
class Layout:
    """Rows of panels."""

    name: str
    rows: tuple[tuple[PanelSpec, ...], ...]

    @property
    def panels(self) -> list[PanelSpec]:
        """All panels, row by row."""
        return [p for row in self.rows for p in row]

    def needs(self, kind: str) -> bool:
        """Whether any panel is of ``kind``."""
        return any(p.kind == kind for p in self.panels)


def parse_layout(layout: str | Layout) -> Layout:
    """A preset name or a custom layout string (see the module docstring) as a :class:`Layout`.

    Raises
    ------
    DataError
        Unknown preset or panel kind, or an empty row.
    """
    if isinstance(layout, Layout):
        return layout
    text = str(layout).strip()
    spec = PRESETS.get(text, text)
    rows = []
    for row_text in spec.split(";"):
        row = []
        for item in row_text.split(","):
            item = item.strip()
            if not item:
                continue
            kind, _, title = item.partition("=")
            kind = kind.strip().lower()
            if kind not in PANEL_TITLES:
                known = ", ".join(sorted(PRESETS))
                kinds = ", ".join(PANEL_TITLES)
                raise DataError(None, f"unknown layout {text!r}: {kind!r} is neither a preset ({known}) nor a panel kind ({kinds})")
            row.append(PanelSpec(kind, title.strip() or PANEL_TITLES[kind]))
        if not row:
            raise DataError(None, f"layout {text!r} has an empty row")
        rows.append(tuple(row))
    return Layout(text, tuple(rows))


@dataclass
class SampleContent:
    """What the panels of one sample show, loaded once per sample.

    Attributes
    ----------
    sample
        The sample.
    meshes
        ``"gt"`` / ``"pred"`` -> pyvista dataset, or ``None`` when absent.
    scenes
        3-D panel kind -> :class:`~occstudio.render.clips.Scene3D`; a kind absent here
        shows its mesh from :attr:`meshes` (see :meth:`scene`).
    image
        The image with the mask overlaid (RGB), or ``None``.
    priors
        Prior images (RGB/RGBA arrays).
    metrics
        ``name -> value`` (a number, a string, or a per-frame series).
    prediction_path
        The matched prediction file, if any.
    warnings
        Problems that turned into placeholders (missing or unreadable files).
    footer
        Right-hand footer text (``None``: "frame i / n").
    """

    sample: Sample
    meshes: dict[str, pv.DataSet | None] = field(default_factory=dict)
    scenes: dict[str, Scene3D | None] = field(default_factory=dict)
    image: np.ndarray | None = None
    priors: list[np.ndarray] = field(default_factory=list)
    metrics: dict[str, MetricValue] = field(default_factory=dict)
    prediction_path: Path | None = None
    warnings: list[str] = field(default_factory=list)
    footer: str | None = None

    def scene(self, kind: str) -> Scene3D | None:
        """What the 3-D panel ``kind`` draws: its scene, or its mesh as a one-item scene in
        the shared ``"object"`` frame; ``None`` when there is nothing to draw."""
        scene = self.scenes.get(kind)
        if scene is None and self.meshes.get(kind) is not None:
            scene = self.scenes[kind] = Scene3D([SceneItem(self.meshes[kind])])
        return None if scene is None or scene.empty else scene


def _load_mesh(path: Path | None, what: str, warnings: list[str]) -> pv.DataSet | None:
    if path is None:
        return None
    try:
        return mesh_to_polydata(load_geometry(path))
    except OccStudioError as exc:
        warnings.append(f"{what}: {exc}")
        return None


def _load_image(sample: Sample, warnings: list[str]) -> np.ndarray | None:
    path = sample.path("image")
    if path is None:
        return None
    try:
        image = read_image(path)
    except OccStudioError as exc:
        warnings.append(f"image: {exc}")
        return None
    mask = None
    mask_path = sample.path("mask")
    if mask_path is not None:
        try:
            mask = read_mask(mask_path, shape=image.shape[:2])
        except OccStudioError as exc:
            warnings.append(f"mask: {exc}")
    else:
        mask = mask_from_alpha(image)
    rgb = image[:, :, :3] if image.shape[2] >= 3 else np.repeat(image[:, :, :1], 3, axis=2)
    if mask is None:
        return np.ascontiguousarray(rgb)
    outline = max(1, round(max(rgb.shape[:2]) / 256))
    return overlay_mask(rgb, mask, outline=outline)


#: Colour ramp of the mesh error view: (fraction of the clip value, RGB).
ERROR_RAMP: tuple[tuple[float, RGB], ...] = ((0.0, (49, 54, 149)), (0.35, (116, 173, 209)), (0.6, (254, 224, 144)),
                                              (0.8, (244, 109, 67)), (1.0, (165, 0, 38)))


def error_ramp(values: np.ndarray, top: float) -> np.ndarray:
    """uint8 RGB of ``values`` on :data:`ERROR_RAMP` from 0 to ``top`` (clipped)."""
    stops = np.array([f for f, _ in ERROR_RAMP])
    colors = np.array([c for _, c in ERROR_RAMP], float)
    t = np.clip(np.asarray(values, float) / max(float(top), 1e-12), 0.0, 1.0)
    return np.stack([np.rint(np.interp(t, stops, colors[:, c])) for c in range(3)], axis=-1).astype(np.uint8)


def mesh_error_scene(gt: pv.DataSet, pred: pv.DataSet) -> Scene3D:
    """The prediction coloured by each vertex's distance to the GT (its surface when the GT
    has faces, else its nearest point); the colour ramp tops out at the 95th percentile."""
    points = np.asarray(pred.points, float)
    if isinstance(gt, pv.PolyData) and gt.GetNumberOfPolys() > 0:
        probe = pv.PolyData(points)
        dist = np.abs(np.asarray(probe.compute_implicit_distance(gt.triangulate())["implicit_distance"]))
    else:
        from occstudio.core.compute.nearest import nearest_distances

        dist = nearest_distances(points, np.asarray(gt.points, float), device="cpu")
    top = float(np.percentile(dist, 95)) if len(dist) else 1.0
    top = top if top > 0 else 1.0
    colored = pred.copy(deep=False)
    colored.point_data["rgb"] = error_ramp(dist, top)
    stops = (0.0, 0.5, 1.0)
    legend = [(f"{f * top:.3g}{'+' if f == 1.0 else ''}", tuple(int(v) for v in error_ramp(np.array([f * top]), top)[0]))
              for f in stops]
    return Scene3D([SceneItem(colored)], legend=[("distance to GT", None), *legend])


def load_sample_content(
    sample: Sample,
    layout: Layout,
    prediction_path: Path | None = None,
    metrics: Mapping[str, MetricValue] | None = None,
) -> SampleContent:
    """Read what ``layout`` needs of ``sample``.

    Missing or unreadable files do not raise: the panel shows a placeholder and the
    problem is listed in :attr:`SampleContent.warnings`.
    """
    content = SampleContent(sample, prediction_path=prediction_path, metrics=dict(metrics or {}))
    warn = content.warnings
    if layout.needs("gt"):
        gt_path = sample.path("gt_mesh") or sample.path("gt_pointcloud")
        content.meshes["gt"] = _load_mesh(gt_path, "GT", warn)
        if gt_path is None:
            warn.append("no GT mesh or point cloud in the sample")
    if layout.needs("pred"):
        content.meshes["pred"] = _load_mesh(prediction_path, "prediction", warn)
        if prediction_path is None:
            warn.append("no prediction for this sample")
    if layout.needs("error"):
        gt_mesh = content.meshes.get("gt")
        if gt_mesh is None and (gt_path := sample.path("gt_mesh") or sample.path("gt_pointcloud")) is not None:
            gt_mesh = _load_mesh(gt_path, "GT", warn)
        pred_mesh = content.meshes.get("pred")
        if pred_mesh is None and prediction_path is not None and not layout.needs("pred"):
            pred_mesh = _load_mesh(prediction_path, "prediction", warn)
        if gt_mesh is not None and pred_mesh is not None and gt_mesh.n_points and pred_mesh.n_points:
            content.scenes["error"] = mesh_error_scene(gt_mesh, pred_mesh)
    if layout.needs("image"):
        content.image = _load_image(sample, warn)
    if layout.needs("priors"):
        for p in sample.path_list("prior_images"):
            try:
                content.priors.append(read_image(p))
            except OccStudioError as exc:
                warn.append(f"prior: {exc}")
    return content


def _text_lines(content: SampleContent) -> list[str]:
    sample = content.sample
    lines = [sample.id]
    category = sample.text.get("prior_text")
    if category:
        lines.append(f"category: {category}")
    for key, label in (("gt", "GT"), ("pred", "prediction")):
        mesh = content.meshes.get(key)
        if mesh is not None:
            lines.append(f"{label}: {mesh.n_points:,} vertices, {mesh.n_cells:,} cells")
    if content.prediction_path is not None:
        lines.append(f"prediction file: {content.prediction_path.name}")
    return lines


def _format_value(value: MetricValue) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    v = float(value)
    if v.is_integer() and abs(v) >= 1e4:
        return f"{int(v):,}"
    return f"{v:.4g}"


def series_index(frame: int, n_frames: int, length: int) -> int:
    """The index into a series of ``length`` values shown at ``frame`` of ``n_frames``."""
    if length <= 1 or n_frames <= 1:
        return 0
    return int(round(frame * (length - 1) / (n_frames - 1)))


def panel_is_dynamic(spec: PanelSpec, content: SampleContent) -> bool:
    """Whether a 2-D panel changes from frame to frame (a metrics panel with series)."""
    return spec.kind == "metrics" and any(
        not isinstance(v, (str, int, float, np.number)) for v in content.metrics.values()
    )


def draw_panel(
    spec: PanelSpec, content: SampleContent, width: int, height: int,
    frame: int = 0, n_frames: int = 1, background: RGB = PANEL_BG,
) -> np.ndarray:
    """Draw a 2-D panel (or a 3-D panel's placeholder when its mesh is absent).

    Returns
    -------
    numpy.ndarray
        ``uint8`` ``height×width×3``.
    """
    font = max(9, min(height // 11, width // 17))
    if spec.kind == "image":
        if content.image is None:
            return placeholder(width, height, "no image", background)
        return fit_image(content.image, width, height, background)
    if spec.kind == "priors":
        if not content.priors:
            return placeholder(width, height, "no priors", background)
        return image_grid(content.priors, width, height, background)
    if spec.kind in MESH_KINDS:
        return placeholder(width, height, MISSING_3D.get(spec.kind, "nothing to show"), background)
    out = np.empty((height, width, 3), np.uint8)
    out[:] = background
    if spec.kind == "text":
        draw_lines(out, Rect(0, 0, width, height), _text_lines(content), font, TITLE_FG)
        return out
    # metrics
    if not content.metrics:
        return placeholder(width, height, "no metrics", background)
    items = list(content.metrics.items())
    row_h = max(font * 2, min(height // max(1, len(items)), font * 4))
    y = max(0, (height - row_h * len(items)) // 2)
    for name, value in items:
        if y + row_h > height:
            break
        if isinstance(value, (str, int, float, np.number)):
            draw_text(out, Rect(0, y, width, row_h), f"{name}: {_format_value(value)}", font)
        else:
            series = [float(v) for v in value]
            k = series_index(frame, n_frames, len(series))
            label_w = width * 45 // 100
            current = _format_value(series[k]) if series else "–"
            draw_text(out, Rect(0, y, label_w, row_h), f"{name}: {current}", font, align="right")
            sparkline(out, Rect(label_w + 4, y + row_h // 6, width - label_w - 10, row_h * 2 // 3), series, k)
        y += row_h
    return out


def mesh_add_kwargs(mesh: pv.DataSet, panel_height: int) -> dict:
    """``add_mesh`` keyword arguments: class colours of voxel faces (``rgba`` cells) or vertex
    colours when present, points for point clouds."""
    kwargs: dict = {"smooth_shading": False, "reset_camera": False, "render": False}
    if "rgba" in mesh.cell_data:
        kwargs.update(scalars="rgba", rgb=True, preference="cell")
    elif "rgb" in mesh.point_data:
        kwargs.update(scalars="rgb", rgb=True)
    else:
        kwargs.update(color="#9fb3c8")
    if isinstance(mesh, pv.PolyData) and mesh.n_cells and mesh.n_verts == mesh.n_cells:
        kwargs.update(point_size=max(2, round(panel_height / 240)), style="points")
    kwargs.update(ambient=0.15, diffuse=0.85, specular=0.1, specular_power=20)
    return kwargs
