"""Comparison video export, off-screen and headless (``occstudio export-video``).

How a frame is made
-------------------
* **One** off-screen plotter serves every frame and every 3-D panel. It holds one
  sub-renderer per 3-D panel, placed side by side with the exact pixel size of its
  panel, all sharing one camera (so GT and prediction are always seen from the same
  view, lit by the same camera-attached light kit). Meshes are added once per sample;
  per frame only the camera moves, the window renders once and its pixels are read
  back once (``GetPixelData``) and sliced into the panels. (One renderer re-drawn per
  panel measured about as fast in software GL, 147 vs 125 ms per frame for two 634×640
  panels of the demo sofa on the 2-core machine, but needs a render call and a
  readback per panel.)
* 2-D panels (image with mask overlay, priors, text) and the titles are composed once
  per sample into a base frame with numpy/Pillow (:mod:`occstudio.render.compose`);
  per frame the base is copied, the 3-D pixels are pasted, and the footer (sample id,
  frame number) is drawn.
* Frames stream straight into the encoder: ffmpeg (H.264, yuv420p, ``-preset veryfast
  -crf 23``) through imageio-ffmpeg's pipe, so encoding runs in ffmpeg's own process
  beside the rendering; GIFs are quantised with Pillow; PNG folders are written frame
  by frame. There is no PNG round trip for videos.
* Multi-sample exports concatenate one clip per sample, each preceded by a title card
  of ``title_seconds`` (1 s by default).

Output safety: everything is written to a hidden temporary name in the output's own
folder and renamed into place only when the export finished; a cancel (``Cancelled``),
an error or Ctrl-C removes the temporary file and leaves the output path untouched.

OpenGL context
--------------
No display is needed: VTK falls back to EGL (or OSMesa) when there is no X server. In a
process that also shows a Qt 3-D view (pyvistaqt's GLX context), set the environment
variable ``VTK_DEFAULT_OPENGL_WINDOW=vtkEGLRenderWindow`` before vtk is imported, so that
the off-screen window is not a second X window; the GUI avoids the question by running
``occstudio export-video ... --json-progress`` in a child process.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import sys
import time
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

import numpy as np
from PIL import Image

from occstudio.core.errors import DataError, MissingFileError
from occstudio.core.jobs import CancelToken, Progress, ensure_progress
from occstudio.core.sample import Sample
from occstudio.io.opening import open_dataset
from occstudio.io.predictions import match_predictions
from occstudio.render.camera_paths import (
    DEFAULT_VIEW_ANGLE,
    CameraPose,
    CameraSpec,
    camera_path,
    follow_pose,
    load_keyframes,
    parse_camera_spec,
    up_vector,
)
from occstudio.render.clips import Clip, Scene3D, union_bounds
from occstudio.render.compose import (
    CANVAS_BG,
    MUTED_FG,
    PANEL_BG,
    RGB,
    TITLE_FG,
    FrameGeometry,
    Rect,
    draw_legend,
    draw_text,
    even_size,
    grid_geometry,
    title_card,
)
from occstudio.render.panels import (
    Layout,
    MetricValue,
    SampleContent,
    draw_panel,
    load_sample_content,
    mesh_add_kwargs,
    panel_is_dynamic,
    parse_layout,
)

#: ffmpeg output options: fast H.264 of good quality, playable everywhere.
H264_PARAMS = ("-preset", "veryfast", "-crf", "23", "-movflags", "+faststart")
#: Smallest frame accepted.
MIN_SIZE = (64, 48)


# ----------------------------------------------------------------------------- progress


class JsonLinesProgress(Progress):
    """Prints one JSON object per update: ``{"done": d, "total": t, "message": m}``.

    Lines are throttled to one per ``interval`` seconds; the first and the final update
    (``done >= total``) are always printed. For ``--json-progress``: a parent process
    (the GUI's export dialog) reads the child's stdout line by line.

    Parameters
    ----------
    stream
        Where to print (stdout by default).
    interval
        Minimum seconds between two lines.
    token
        The cancel token to honour.
    """

    def __init__(self, stream: TextIO | None = None, interval: float = 0.1, token: CancelToken | None = None) -> None:
        super().__init__(token)
        self.stream = stream if stream is not None else sys.stdout
        self.interval = interval
        self._last: float | None = None

    def emit(self) -> None:
        now = time.monotonic()
        final = self.total is not None and self.done >= self.total
        if not (final or self._last is None or now - self._last >= self.interval):
            return
        self._last = now
        done = int(self.done) if float(self.done).is_integer() else self.done
        total = int(self.total) if self.total is not None and float(self.total).is_integer() else self.total
        self.stream.write(json.dumps({"done": done, "total": total, "message": self.message}) + "\n")
        self.stream.flush()


# ----------------------------------------------------------------------------- writers


def parse_size(size: str | Sequence[int]) -> tuple[int, int]:
    """``"1280x720"`` or ``(1280, 720)`` as a ``(width, height)`` tuple.

    Raises
    ------
    DataError
        Not two integers, or smaller than 64×48.
    """
    try:
        if isinstance(size, str):
            parts = size.lower().replace("×", "x").split("x")
            if len(parts) != 2:
                raise ValueError
            w, h = (int(p.strip()) for p in parts)
        else:
            w, h = (int(v) for v in size)
    except (TypeError, ValueError):
        raise DataError(None, f"size must look like 1280x720 (width x height in pixels), got {size!r}") from None
    if w < MIN_SIZE[0] or h < MIN_SIZE[1]:
        raise DataError(None, f"size must be at least {MIN_SIZE[0]}x{MIN_SIZE[1]}, got {w}x{h}")
    if w > 7680 or h > 4320:
        raise DataError(None, f"size must be at most 7680x4320, got {w}x{h}")
    return w, h


def output_kind(out: str | Path) -> str:
    """``"mp4"``, ``"gif"`` or ``"png"`` (a frame folder or ``.png`` pattern) from the output path.

    Raises
    ------
    DataError
        Another suffix (``.avi``, ``.jpg``...).
    """
    path = Path(out)
    suffix = path.suffix.lower()
    if suffix in (".mp4", ".m4v"):
        return "mp4"
    if suffix == ".gif":
        return "gif"
    if suffix == ".png" or path.is_dir() or not suffix:
        return "png"
    raise DataError(path, f"unsupported output type {suffix!r} (use .mp4, .gif, a folder or a .png pattern)")


def _temp_name(path: Path) -> Path:
    """A hidden temporary sibling of ``path`` that keeps its suffix (ffmpeg picks the muxer by it)."""
    return path.with_name(f".{path.stem}.part-{uuid.uuid4().hex[:8]}{path.suffix}")


class FrameWriter:
    """Receives frames; :meth:`commit` moves the result into place, :meth:`abort` removes it."""

    def __init__(self, path: Path, size: tuple[int, int], fps: float) -> None:
        self.path, self.size, self.fps = path, size, fps
        self.count = 0

    def write(self, frame: np.ndarray) -> None:
        """Append one ``uint8`` ``H×W×3`` frame."""
        raise NotImplementedError

    def commit(self) -> None:
        """Finish writing and move the output into place."""
        raise NotImplementedError

    def abort(self) -> None:
        """Stop and remove everything written so far."""
        raise NotImplementedError

    def __enter__(self) -> FrameWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.abort()


class Mp4Writer(FrameWriter):
    """H.264 (yuv420p) through imageio-ffmpeg's pipe to a temporary file, renamed when done."""

    def __init__(self, path: Path, size: tuple[int, int], fps: float) -> None:
        super().__init__(path, size, fps)
        import imageio_ffmpeg

        self.tmp = _temp_name(path)
        self._gen = imageio_ffmpeg.write_frames(
            str(self.tmp), size, fps=fps, codec="libx264", pix_fmt_in="rgb24", pix_fmt_out="yuv420p",
            quality=None, macro_block_size=1, ffmpeg_log_level="error", output_params=list(H264_PARAMS),
        )
        self._gen.send(None)

    def write(self, frame: np.ndarray) -> None:
        self._gen.send(np.ascontiguousarray(frame))
        self.count += 1

    def commit(self) -> None:
        self._gen.close()
        if not self.tmp.is_file() or self.tmp.stat().st_size == 0:
            _unlink(self.tmp)
            raise DataError(self.path, "ffmpeg wrote no video")
        os.replace(self.tmp, self.path)

    def abort(self) -> None:
        try:
            self._gen.close()
        finally:
            _unlink(self.tmp)


class GifWriter(FrameWriter):
    """An animated GIF (looping), quantised per frame with Pillow, written at the end.

    Pillow merges consecutive identical frames into one longer frame (a title card
    becomes one 1-second frame), so a GIF can hold fewer frames than were written while
    playing for the same time. GIF delays are whole hundredths of a second.
    """

    def __init__(self, path: Path, size: tuple[int, int], fps: float) -> None:
        super().__init__(path, size, fps)
        self.tmp = _temp_name(path)
        self._frames: list[Image.Image] = []

    def write(self, frame: np.ndarray) -> None:
        image = Image.fromarray(np.ascontiguousarray(frame))
        self._frames.append(image.quantize(colors=255, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE))
        self.count += 1

    def commit(self) -> None:
        if not self._frames:
            raise DataError(self.path, "no frames to write")
        duration = max(20, int(round(1000.0 / self.fps)))
        try:
            first, *rest = self._frames
            first.save(self.tmp, format="GIF", save_all=True, append_images=rest, duration=duration, loop=0,
                       optimize=False, disposal=1)
            os.replace(self.tmp, self.path)
        except BaseException:
            _unlink(self.tmp)
            raise
        finally:
            self._frames = []

    def abort(self) -> None:
        self._frames = []
        _unlink(self.tmp)


class PngFolderWriter(FrameWriter):
    """Numbered PNG frames in a folder (``out/frame_00000.png``) or after a ``.png`` pattern.

    ``out`` may be a folder, ``folder/name_%04d.png`` (printf pattern) or
    ``folder/name.png`` (frames ``name_00000.png``...). Frames go to a hidden temporary
    folder first; a new output folder is renamed into place, an existing one receives
    the frames (older frames of the same pattern beyond the new count are removed).
    """

    def __init__(self, path: Path, size: tuple[int, int], fps: float) -> None:
        super().__init__(path, size, fps)
        if path.suffix.lower() == ".png":
            self.folder = path.parent
            name = path.name
            self.pattern = name if "%" in name else f"{path.stem}_%05d.png"
        else:
            self.folder = path
            self.pattern = "frame_%05d.png"
        try:
            self.pattern % 0
        except (TypeError, ValueError):
            raise DataError(path, "a .png pattern must hold one integer field such as %04d") from None
        self._new_folder = not self.folder.exists()
        token = uuid.uuid4().hex[:8]
        if self._new_folder:
            self.folder.parent.mkdir(parents=True, exist_ok=True)
            self.tmp = self.folder.with_name(f".{self.folder.name}.part-{token}")
        else:
            if not self.folder.is_dir():
                raise DataError(self.folder, "exists and is not a folder")
            self.tmp = self.folder / f".frames.part-{token}"
        self.tmp.mkdir()

    def write(self, frame: np.ndarray) -> None:
        Image.fromarray(np.ascontiguousarray(frame)).save(self.tmp / (self.pattern % self.count), compress_level=3)
        self.count += 1

    def commit(self) -> None:
        if self._new_folder:
            os.replace(self.tmp, self.folder)
            return
        for i in range(self.count):
            name = self.pattern % i
            os.replace(self.tmp / name, self.folder / name)
        i = self.count
        while (stale := self.folder / (self.pattern % i)).is_file():
            stale.unlink()
            i += 1
        shutil.rmtree(self.tmp, ignore_errors=True)

    def abort(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)


def _unlink(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass


def open_frame_writer(out: str | Path, size: tuple[int, int], fps: float) -> FrameWriter:
    """The writer for ``out``'s kind (see :func:`output_kind`), writing to a temporary name.

    Raises
    ------
    MissingFileError
        The folder that should hold a video file does not exist.
    DataError
        Unsupported output type, or a bad ``.png`` pattern.
    """
    path = Path(out).expanduser()
    kind = output_kind(path)
    if kind in ("mp4", "gif") and not path.parent.is_dir():
        raise MissingFileError(path.parent, "output folder")
    if kind == "mp4":
        return Mp4Writer(path, size, fps)
    if kind == "gif":
        return GifWriter(path, size, fps)
    return PngFolderWriter(path, size, fps)


# ----------------------------------------------------------------------------- 3-D panels


class MeshPanelRenderer:
    """One off-screen plotter drawing every 3-D panel of a layout.

    Panels whose scenes live in the same coordinate frame (:attr:`Scene3D.frame`) share
    one camera, so GT, prediction and error are always seen from the same view; a panel
    in another frame (OccGen's world next to its camera-frame occupancy) has its own.

    Parameters
    ----------
    sizes
        ``(width, height)`` of each 3-D panel; sub-renderers are placed side by side in
        one window of ``(sum of widths, max of heights)``.
    background
        Panel background colour.
    view_angle
        Vertical view angle of the cameras, degrees.
    """

    def __init__(self, sizes: Sequence[tuple[int, int]], background: RGB = PANEL_BG,
                 view_angle: float = DEFAULT_VIEW_ANGLE) -> None:
        from occstudio.render.offscreen import make_offscreen_plotter

        self.sizes = [(int(w), int(h)) for w, h in sizes]
        self.width = sum(w for w, _ in self.sizes)
        self.height = max(h for _, h in self.sizes)
        n = len(self.sizes)
        self.plotter = make_offscreen_plotter((self.width, self.height), lighting="light kit", shape=(1, n))
        x = 0
        for i, (w, h) in enumerate(self.sizes):
            renderer = self.plotter.renderers[i]
            renderer.SetViewport(x / self.width, 0.0, (x + w) / self.width, h / self.height)
            renderer.set_background(background)
            x += w
        self.view_angle = view_angle
        self._cameras: dict[str, Any] = {}
        self._groups: list[str | None] = [None] * n
        self._actors: list[list[str]] = [[] for _ in range(n)]
        self._bounds: list[Any] = [None] * n
        from vtkmodules.vtkCommonCore import vtkUnsignedCharArray

        self._pixels = vtkUnsignedCharArray()

    def set_scenes(self, scenes: Sequence[Scene3D | None]) -> None:
        """Show ``scenes[i]`` in panel ``i`` (``None``: nothing), replacing the last ones."""
        from vtkmodules.vtkRenderingCore import vtkCamera

        for i, scene in enumerate(scenes):
            renderer = self.plotter.renderers[i]
            for name in self._actors[i]:
                renderer.remove_actor(name, render=False)
            self._actors[i] = []
            self._groups[i] = None if scene is None or scene.empty else scene.frame
            self._bounds[i] = None if scene is None else scene.item_bounds()
            if self._groups[i] is None:
                continue
            self.plotter.subplot(0, i)
            for k, item in enumerate(scene.items):
                if item.mesh is None or item.mesh.n_points == 0:
                    continue
                style = item.style if item.style is not None else mesh_add_kwargs(item.mesh, self.sizes[i][1])
                name = f"item{k}"
                self.plotter.add_mesh(item.mesh, name=name, **{**style, "reset_camera": False, "render": False})
                self._actors[i].append(name)
            camera = self._cameras.get(scene.frame)
            if camera is None:
                camera = self._cameras[scene.frame] = vtkCamera()
                camera.SetViewAngle(self.view_angle)
            renderer.SetActiveCamera(camera)

    def render(self, poses: Mapping[str, CameraPose]) -> list[np.ndarray]:
        """Render all panels, each frame's camera at ``poses[frame]``; one ``h×w×3`` array
        per panel (views into one readback)."""
        for frame, pose in poses.items():
            cam = self._cameras.get(frame)
            if cam is None:
                continue
            cam.SetPosition(*pose.position)
            cam.SetFocalPoint(*pose.focal_point)
            cam.SetViewUp(*pose.view_up)
            cam.OrthogonalizeViewUp()
        # one clipping range per shared camera, from everything its panels show
        for group in set(g for g in self._groups if g is not None):
            members = [i for i, g in enumerate(self._groups) if g == group]
            box = union_bounds([self._bounds[i] for i in members if self._bounds[i] is not None])
            if box is not None:
                self.plotter.renderers[members[0]].ResetCameraClippingRange(box)
        window = self.plotter.render_window
        window.Render()
        window.GetPixelData(0, 0, self.width - 1, self.height - 1, 0, self._pixels, 0)
        from vtkmodules.util.numpy_support import vtk_to_numpy

        image = vtk_to_numpy(self._pixels).reshape(self.height, self.width, -1)[::-1, :, :3]
        out, x = [], 0
        for w, h in self.sizes:
            out.append(image[self.height - h:, x:x + w])
            x += w
        return out

    def has_mesh(self, i: int) -> bool:
        """Whether panel ``i`` currently shows something."""
        return self._groups[i] is not None

    def close(self) -> None:
        """Release the render window."""
        self.plotter.close()


# ----------------------------------------------------------------------------- export


def _select_samples(dataset: Any, dataset_path: Path, sample_ids: Sequence[str] | None, all_samples: bool) -> list[Sample]:
    if all_samples:
        if not dataset.samples:
            raise DataError(dataset_path, "the dataset has no samples")
        return list(dataset.samples)
    if not sample_ids:
        if not dataset.samples:
            raise DataError(dataset_path, "the dataset has no samples")
        return [dataset.samples[0]]
    chosen = []
    known = set(dataset.ids())
    for sid in sample_ids:
        if sid not in known:
            some = ", ".join(dataset.ids()[:5]) + (" ..." if len(dataset) > 5 else "")
            raise DataError(dataset_path, f"unknown sample id {sid!r} (the dataset has {len(dataset)} samples: {some})")
        chosen.append(dataset.get(sid))
    return chosen


def _prediction_files(layout: Layout, dataset: Any, dataset_path: Path, predictions: str | Path | None,
                      samples: list[Sample]) -> dict[str, Path]:
    if not (layout.needs("pred") or layout.needs("error")):
        return {}
    if predictions is None:
        root = Path(dataset.root) / "predictions"
        if not root.is_dir():
            raise DataError(dataset_path, f"layout {layout.name!r} shows predictions, but there is no "
                                          f"{root.name}/ folder beside the dataset: pass --predictions DIR")
    else:
        root = Path(predictions).expanduser()
        if not root.is_dir():
            raise MissingFileError(root, "prediction folder")
    return match_predictions(root, [s.id for s in samples])


#: Sample meta keys that name the sequence a sample belongs to, by format.
SEQUENCE_KEYS = ("scene", "clip", "sequence")


def sequence_samples(dataset: Any, sample: Sample) -> list[Sample]:
    """The samples of the sequence holding ``sample`` (same Occ3D ``scene``, UnScenes3D
    ``clip``...; every sample of an OccGen trajectory), in time order."""
    key = next((k for k in SEQUENCE_KEYS if sample.meta.get(k) is not None), None)
    if key is None:
        members = list(dataset.samples) if dataset.format == "occgen" else [sample]
    else:
        members = [s for s in dataset.samples if s.meta.get(key) == sample.meta[key]]
    order = {s.id: i for i, s in enumerate(dataset.samples)}
    return sorted(members, key=lambda s: (s.meta.get("index", order[s.id]), order[s.id]))


def _range_samples(dataset: Any, dataset_path: Path, frame_range: str | Sequence[int]) -> list[Sample]:
    n = len(dataset.samples)
    if isinstance(frame_range, str):
        text = frame_range.strip()
        a, sep, b = text.partition(":")
        try:
            start = int(a) if a.strip() else 0
            end = int(b) if b.strip() else n
        except ValueError:
            raise DataError(None, f"frame range {frame_range!r}: expected START:END with whole numbers") from None
        if not sep:
            raise DataError(None, f"frame range {frame_range!r}: expected START:END")
    else:
        start, end = (int(v) for v in frame_range)
    chosen = dataset.samples[start:end]
    if not chosen:
        raise DataError(dataset_path, f"frame range {start}:{end} selects no samples (the dataset has {n})")
    return list(chosen)


def _video_source(fmt: str) -> Any:
    """The registered video source for dataset format ``fmt``, or ``None`` (meshes)."""
    from occstudio.plugins.registry import get_registry, resolve

    for spec in get_registry().video_sources.values():
        if fmt in spec.formats:
            return resolve(spec.func)
    return None


def _mesh_clips(dataset: Any, dataset_path: Path, samples: list[Sample], layout: Layout,
                predictions: str | Path | None, frames: int, playback: bool,
                metrics: Mapping[str, Mapping[str, MetricValue]] | None) -> list[Clip]:
    pred_files = _prediction_files(layout, dataset, dataset_path, predictions, samples)

    def load(sample: Sample) -> SampleContent:
        return load_sample_content(sample, layout, pred_files.get(sample.id), (metrics or {}).get(sample.id))

    if playback:
        return [Clip([samples[0].id], f"{len(samples)} samples", len(samples), lambda i: load(samples[i]))]
    clips = []
    for n, sample in enumerate(samples, start=1):
        label = f"{sample.id} ({n}/{len(samples)})" if len(samples) > 1 else sample.id
        lines = [sample.id]
        if sample.text.get("prior_text"):
            lines.append(sample.text["prior_text"])
        lines.append(f"sample {n} of {len(samples)}")
        clips.append(Clip(lines, label, frames, lambda _i, s=sample: load(s), static=True))
    return clips


def _build_clips(dataset: Any, dataset_path: Path, samples: list[Sample], layout: Layout,
                 predictions: str | Path | None, frames: int, playback: bool,
                 metrics: Mapping[str, Mapping[str, MetricValue]] | None) -> list[Clip]:
    source = _video_source(dataset.format)
    if source is None:
        return _mesh_clips(dataset, dataset_path, samples, layout, predictions, frames, playback, metrics)
    pred = Path(predictions).expanduser() if predictions is not None else None
    if pred is not None and not pred.exists():
        raise MissingFileError(pred, "predictions")
    return source(dataset, samples, layout, predictions=pred, frames=frames, playback=playback, metrics=metrics)


class _Composer:
    """Builds the frames of one content: a static base plus per-frame 3-D pixels and footer."""

    def __init__(self, geometry: FrameGeometry, layout: Layout, renderer: MeshPanelRenderer | None,
                 background: RGB, panel_background: RGB) -> None:
        self.geometry, self.layout, self.renderer = geometry, layout, renderer
        self.background, self.panel_background = background, panel_background
        self.cells = [cell for row in geometry.panels for cell in row]
        self.mesh_panels = [i for i, p in enumerate(layout.panels) if p.is_mesh]
        self.content: SampleContent | None = None
        self.scenes: list[Scene3D | None] = []

    def prepare(self, content: SampleContent) -> None:
        """Compose the static base frame of ``content`` and give its scenes to the renderer."""
        w, h = self.geometry.size
        base = np.empty((h, w, 3), np.uint8)
        base[:] = self.background
        self.dynamic = []
        self.scenes = [content.scene(self.layout.panels[i].kind) for i in self.mesh_panels]
        drawn_3d = {i for i, scene in zip(self.mesh_panels, self.scenes) if scene is not None}
        for i, (spec, cell) in enumerate(zip(self.layout.panels, self.cells)):
            draw_text(base, cell.title, spec.title, self.geometry.title_font, TITLE_FG)
            c = cell.content
            if i in drawn_3d:
                continue  # drawn per frame
            if panel_is_dynamic(spec, content):
                self.dynamic.append(i)
                continue
            base[c.slices] = draw_panel(spec, content, c.w, c.h, background=self.panel_background)
        self.base = base
        self.content = content
        if self.renderer is not None:
            self.renderer.set_scenes(self.scenes)
        sample = content.sample
        category = sample.text.get("prior_text")
        self.footer_left = f"{sample.id}  ·  {category}" if category else sample.id

    def frame(self, poses: Mapping[str, CameraPose] | None, index: int, n_frames: int) -> np.ndarray:
        """Frame ``index`` of ``n_frames`` of the prepared content."""
        frame = self.base.copy()
        if self.renderer is not None and poses is not None and any(
            self.renderer.has_mesh(k) for k in range(len(self.mesh_panels))
        ):
            views = self.renderer.render(poses)
            legend_font = max(9, self.geometry.footer_font - 1)
            for k, i in enumerate(self.mesh_panels):
                if self.renderer.has_mesh(k):
                    c = self.cells[i].content
                    frame[c.slices] = views[k]
                    scene = self.scenes[k]
                    if scene is not None and scene.legend:
                        draw_legend(frame, c, scene.legend, legend_font)
        for i in self.dynamic:
            c = self.cells[i].content
            frame[c.slices] = draw_panel(self.layout.panels[i], self.content, c.w, c.h, index, n_frames,
                                         self.panel_background)
        g = self.geometry
        if g.footer.h:
            half = g.footer.w // 2
            left = Rect(g.footer.x, g.footer.y, half, g.footer.h)
            right = Rect(g.footer.x + half, g.footer.y, g.footer.w - half, g.footer.h)
            draw_text(frame, left, self.footer_left, g.footer_font, MUTED_FG, align="left", padding=8)
            footer = self.content.footer if self.content is not None and self.content.footer else ""
            counter = f"frame {index + 1} / {n_frames}"
            draw_text(frame, right, f"{footer}  ·  {counter}" if footer else counter, g.footer_font, MUTED_FG,
                      align="right", padding=8)
        return frame


class _CameraRig:
    """The camera poses of one clip, per coordinate frame of its 3-D panels.

    Orbit, fixed and keyframe paths are computed once per clip from the first frame's
    scenes (their framing box, up axis and panel aspect); the trajectory camera follows
    each frame's sensor pose where the scene has one and stays fixed otherwise.
    """

    def __init__(self, camera: CameraSpec | CameraPose | Sequence[CameraPose], n_frames: int, elevation: float,
                 up: str | Sequence[float], radius_factor: float, aspects: Mapping[int, float]) -> None:
        self.camera, self.n_frames, self.elevation = camera, n_frames, elevation
        self.up, self.radius_factor, self.aspects = up, radius_factor, aspects
        self.paths: dict[str, list[CameraPose]] = {}
        self.sizes: dict[str, float] = {}
        self.follows = isinstance(camera, CameraSpec) and camera.kind == "trajectory"

    def poses(self, scenes: Sequence[tuple[int, Scene3D | None]], index: int) -> dict[str, CameraPose]:
        """The pose of every coordinate frame shown at frame ``index``; ``scenes`` are
        ``(panel index, scene)`` pairs of the 3-D panels."""
        groups: dict[str, list[tuple[int, Scene3D]]] = {}
        for i, scene in scenes:
            if scene is not None:
                groups.setdefault(scene.frame, []).append((i, scene))
        out = {}
        for frame, members in groups.items():
            if frame not in self.paths:
                self.paths[frame] = self._path(members)
            follow = members[0][1].follow
            if self.follows and follow is not None:
                out[frame] = follow_pose(follow, self.sizes[frame], *members[0][1].follow_axes)
            else:
                out[frame] = self.paths[frame][min(index, len(self.paths[frame]) - 1)]
        return out

    def _path(self, members: list[tuple[int, Scene3D]]) -> list[CameraPose]:
        box = union_bounds([b for _, s in members if (b := s.framing_bounds()) is not None])
        box = box or (-1.0, 1.0, -1.0, 1.0, -1.0, 1.0)
        frame = members[0][1].frame
        self.sizes[frame] = float(np.linalg.norm(np.subtract(box[1::2], box[0::2]))) or 1.0
        up = next((s.up for _, s in members if s.up is not None), self.up)
        explicit = all(s.bounds is not None for _, s in members)
        points = None
        if not explicit:
            arrays = [p for _, s in members if (p := s.fit_points()) is not None]
            points = np.concatenate(arrays) if arrays else None
        aspect = min(self.aspects.get(i, 1.0) for i, _ in members)
        camera = self.camera
        posed = isinstance(camera, CameraPose) or not isinstance(camera, (str, CameraSpec))
        if self.follows or (posed and not all(s.user_camera for _, s in members)):
            camera = "fixed"
        return camera_path(camera, box, self.n_frames, self.elevation, aspect, up, self.radius_factor, points=points)


def export_video(
    dataset_path: str | Path,
    out: str | Path,
    sample_ids: Sequence[str] | None = None,
    all_samples: bool = False,
    predictions: str | Path | None = None,
    layout: str | Layout = "gt-pred",
    camera: str | CameraSpec | CameraPose | Sequence[CameraPose] = "orbit",
    frames: int = 60,
    fps: float = 15,
    size: str | Sequence[int] = (1280, 720),
    elevation: float = 20.0,
    progress: Progress | None = None,
    *,
    up: str | Sequence[float] = "z",
    radius_factor: float = 1.0,
    metrics: Mapping[str, Mapping[str, MetricValue]] | None = None,
    title_seconds: float = 1.0,
    background: RGB = CANVAS_BG,
    panel_background: RGB = PANEL_BG,
    sequence: bool = False,
    frame_range: str | Sequence[int] | None = None,
) -> dict[str, Any]:
    """Render a comparison video of one or more samples, or a played sequence, off-screen.

    Parameters
    ----------
    dataset_path
        A dataset folder or manifest (anything :func:`occstudio.io.opening.open_dataset` opens).
    out
        ``.mp4`` (H.264), ``.gif``, a folder of PNG frames, or a ``.png`` pattern
        (``frames/f_%04d.png``). Written to a temporary name and renamed when done.
    sample_ids
        Samples to show, one clip each (the first sample when empty and not ``all_samples``).
    all_samples
        Every sample of the dataset.
    predictions
        Folder of prediction meshes (``<id>/<name>.glb|.ply|.obj``); default: the
        dataset's ``predictions/`` folder. Needed only by layouts with a ``pred`` panel.
    layout
        ``"gt-pred"``, ``"image-pred-gt"`` or a custom layout string
        (:func:`occstudio.render.panels.parse_layout`).
    camera
        ``"orbit"`` (turntable), ``"fixed"``, ``"fixed:FILE"``, ``"keyframes:FILE"``,
        ``"trajectory"`` (sequences: a chase camera behind each frame's sensor), a
        :class:`CameraPose` or a list of keyframe poses.
    frames
        Frames per sample clip (a played sequence has one frame per sample).
    fps
        Frames per second.
    size
        ``(width, height)`` or ``"WxH"``; odd numbers are rounded down to even.
    elevation
        Camera elevation above the ground plane, degrees (orbit and plain fixed).
    progress
        ``start(total_frames)`` once, ``advance()`` per written frame; cancelling
        raises :class:`~occstudio.core.jobs.Cancelled` and leaves no file behind.
    up
        The meshes' up axis: ``"z"`` (ExtremeOcc GT meshes, the default), ``"y"``...
    radius_factor
        Camera distance as a multiple of the distance that fits the bounding sphere.
    metrics
        ``{sample_id: {name: value or per-frame list}}`` for ``metrics`` panels.
    title_seconds
        Length of the title card before each clip of a multi-sample export (0: none).
    background, panel_background
        Frame and panel colours.
    sequence
        Play the sequence (Occ3D scene, UnScenes3D clip, OccGen trajectory) holding the
        chosen sample, one video frame per sample, instead of a turntable.
    frame_range
        Play the samples ``START:END`` (dataset order, ``END`` excluded, either may be
        left out) or ``(start, end)``, one video frame per sample.

    Returns
    -------
    dict
        ``path``, ``format`` (mp4/gif/png), ``frames`` (total written), ``size``
        ``[w, h]``, ``fps``, ``samples`` (ids), ``layout``, ``seconds`` (wall time),
        ``warnings`` (missing files shown as placeholders), ``playback`` (whether samples
        were played as a sequence).

    Raises
    ------
    DataError, MissingFileError
        Unknown sample id, layout or camera; missing predictions folder; bad size,
        frames or fps; unreadable keyframe file; unsupported output type.
    Cancelled
        ``progress`` was cancelled (the output path is untouched).
    """
    t_start = time.perf_counter()
    progress = ensure_progress(progress)
    dataset_path = Path(dataset_path).expanduser()
    width, height = even_size(parse_size(size))
    try:
        frames = int(frames)
        fps = float(fps)
    except (TypeError, ValueError):
        raise DataError(None, f"frames and fps must be numbers, got {frames!r} and {fps!r}") from None
    if frames < 1:
        raise DataError(None, f"frames must be at least 1, got {frames}")
    if not (0 < fps <= 240) or not math.isfinite(fps):
        raise DataError(None, f"fps must be between 0 and 240, got {fps}")
    if not -90 < float(elevation) < 90:
        raise DataError(None, f"elevation must be between -90 and 90 degrees, got {elevation}")
    if not radius_factor > 0:
        raise DataError(None, f"radius factor must be positive, got {radius_factor}")
    try:
        up_vector(up)
    except ValueError as exc:
        raise DataError(None, str(exc)) from None
    lay = parse_layout(layout)
    kind = output_kind(out)  # reject bad suffixes before any work
    if isinstance(camera, str):
        camera = parse_camera_spec(camera)
    if isinstance(camera, CameraSpec) and camera.path is not None:
        camera = load_keyframes(camera.path, up) if camera.kind == "keyframes" else load_keyframes(camera.path, up)[0]

    dataset = open_dataset(dataset_path)
    playback = sequence or frame_range is not None
    if frame_range is not None:
        samples = _range_samples(dataset, dataset_path, frame_range)
    else:
        samples = _select_samples(dataset, dataset_path, sample_ids, all_samples)
        if sequence:
            samples = sequence_samples(dataset, samples[0])
    try:
        geometry = grid_geometry((width, height), [len(r) for r in lay.rows])
    except ValueError as exc:
        raise DataError(None, str(exc)) from None
    cells = [c for row in geometry.panels for c in row]
    mesh_panels = [i for i, p in enumerate(lay.panels) if p.is_mesh]
    mesh_sizes = [(cells[i].content.w, cells[i].content.h) for i in mesh_panels]
    aspects = {i: cells[i].content.w / cells[i].content.h for i in mesh_panels}
    clips = _build_clips(dataset, dataset_path, samples, lay, predictions, frames, playback, metrics)
    card_frames = int(round(fps * title_seconds)) if len(clips) > 1 and title_seconds > 0 else 0
    total = sum(card_frames + clip.n_frames for clip in clips)
    warnings: list[str] = []

    progress.start(total, "Exporting video")
    renderer = MeshPanelRenderer(mesh_sizes, panel_background) if mesh_sizes else None
    try:
        composer = _Composer(geometry, lay, renderer, background, panel_background)
        with open_frame_writer(out, (width, height), fps) as writer:
            for clip in clips:
                progress.check()
                if card_frames:
                    card = title_card((width, height), clip.title_lines, background)
                    for _ in range(card_frames):
                        writer.write(card)
                        progress.advance(message=clip.label)
                rig = _CameraRig(camera, clip.n_frames, float(elevation), up, radius_factor, aspects)
                for index in range(clip.n_frames):
                    content = clip.content(index)
                    if content is not composer.content:
                        warnings.extend(f"{content.sample.id}: {w}" for w in content.warnings)
                        composer.prepare(content)
                    poses = rig.poses(list(zip(mesh_panels, composer.scenes)), index)
                    writer.write(composer.frame(poses, index, clip.n_frames))
                    progress.advance(message=clip.label if clip.static else f"{clip.label}: {content.sample.id}")
    finally:
        if renderer is not None:
            renderer.close()
    return {
        "path": str(Path(out).expanduser()),
        "format": kind,
        "frames": total,
        "size": [width, height],
        "fps": fps,
        "samples": [s.id for s in samples],
        "layout": lay.name,
        "seconds": round(time.perf_counter() - t_start, 3),
        "warnings": list(dict.fromkeys(warnings)),
        "playback": playback,
    }
