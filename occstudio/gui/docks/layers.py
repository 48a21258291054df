"""The Layers dock: computed layers with show/hide, remove and export.

3D layers (points, voxels, meshes) are drawn in the 3D view's left renderer as actors
named ``layer:<name>`` (they stay across sample changes); image layers replace the
sample view's object pane with the layer blended over the current RGB frame, and the
pane's own image comes back when the layer is hidden. Everything here runs on the GUI
thread; layers arrive with their ``display`` built by the worker.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from occstudio.core.layers import Layer, LayerList
from occstudio.gui import settings as app_settings

_SUFFIX_FILTERS = {
    ".ply": "PLY (*.ply)",
    ".npz": "Occ3D labels.npz / OccGen occ_sequence.npz, mask_sequence.npz (*.npz)",
    ".png": "16-bit depth PNG, metres × 256 (*.png)",
    ".npy": "float32 depth in metres (*.npy)",
}


def blend_overlay(base: np.ndarray | None, overlay: np.ndarray, alpha: float = 0.65) -> np.ndarray:
    """``overlay`` (RGB, maybe a strided image) scaled up to ``base``'s size and blended
    over it where it is not black; ``overlay`` alone without a base."""
    over = np.asarray(overlay, dtype=np.uint8)[..., :3]
    if base is None:
        return over
    base = np.asarray(base)
    if base.ndim == 2:
        base = np.repeat(base[..., None], 3, axis=2)
    base = base[..., :3].astype(np.float32)
    h, w = base.shape[:2]
    rows = np.minimum((np.arange(h) * over.shape[0]) // h, over.shape[0] - 1)
    cols = np.minimum((np.arange(w) * over.shape[1]) // w, over.shape[1] - 1)
    up = over[rows][:, cols].astype(np.float32)
    hit = up.any(axis=2, keepdims=True)
    out = np.where(hit, (1 - alpha) * base + alpha * up, base * 0.6)
    return np.clip(out, 0, 255).astype(np.uint8)


class LayersDock(QWidget):
    """A list of computed layers with a show/hide checkbox each, Remove and Export….

    Parameters
    ----------
    view3d
        The 3D view (:class:`~occstudio.gui.panes.view3d.View3D`).
    sample_view
        The sample view whose object pane shows image layers (or ``None``).
    export_runner
        ``runner(title, func, *args, on_result=...)`` to write files in the background
        (e.g. ``window.jobs.submit``); ``None`` writes on the GUI thread.

    Signals
    -------
    layers_changed()
        A layer was added, removed, shown or hidden.
    exported(str)
        A layer file was written (its path).
    """

    layers_changed = Signal()
    exported = Signal(str)

    def __init__(self, view3d: Any, sample_view: Any = None, export_runner: Callable[..., Any] | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view3d, self.sample_view, self.export_runner = view3d, sample_view, export_runner
        self.layers = LayerList()
        self._shown: set[str] = set()
        self._pane_backup: tuple[np.ndarray | None, str] | None = None
        self._image_layer: str | None = None
        self.list = QListWidget()
        self.list.setToolTip("Computed layers: tick to show in the views")
        self.list.itemChanged.connect(self._item_changed)
        self.list.currentItemChanged.connect(lambda *_: self._update_buttons())
        self.remove_button = QPushButton("Remove")
        self.remove_button.setToolTip("Remove the selected layer")
        self.remove_button.clicked.connect(lambda: self.remove(self.selected_name() or ""))
        self.export_button = QPushButton("Export…")
        self.export_button.setToolTip("Write the selected layer to a file (File > Export layer…)")
        self.export_button.clicked.connect(lambda: self.export_dialog())
        buttons = QHBoxLayout()
        buttons.addWidget(self.remove_button)
        buttons.addWidget(self.export_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.list, 1)
        layout.addLayout(buttons)
        self._update_buttons()

    # model ----------------------------------------------------------------
    def add_layer(self, layer: Layer, show: bool = True, fit_camera: bool = True) -> None:
        """Add ``layer`` (replacing one of the same name), show it and fit the 3D camera."""
        if layer.name in self.layers:
            self.remove(layer.name, emit=False)
        self.layers.add(layer)
        item = QListWidgetItem(f"{layer.name} — {layer.summary()}")
        item.setData(Qt.ItemDataRole.UserRole, layer.name)
        item.setToolTip(f"{layer.name} ({layer.kind}): {layer.summary()}")
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
        self.list.blockSignals(True)
        item.setCheckState(Qt.CheckState.Unchecked)
        self.list.addItem(item)
        self.list.setCurrentItem(item)
        self.list.blockSignals(False)
        if show:
            self.set_visible(layer.name, True)
            if layer.kind != "image" and fit_camera:
                self.view3d.reset_camera()
        self._update_buttons()
        self.layers_changed.emit()

    def layer(self, name: str) -> Layer | None:
        """The layer called ``name``, or ``None``."""
        return self.layers.get(name)

    def names(self) -> list[str]:
        """Layer names in list order."""
        return self.layers.names()

    def is_visible(self, name: str) -> bool:
        """Whether the layer is shown."""
        return name in self._shown

    def selected_name(self) -> str | None:
        """The selected layer's name (the last one when none is selected)."""
        item = self.list.currentItem() or (self.list.item(self.list.count() - 1) if self.list.count() else None)
        return item.data(Qt.ItemDataRole.UserRole) if item is not None else None

    def _item(self, name: str) -> QListWidgetItem | None:
        for row in range(self.list.count()):
            item = self.list.item(row)
            if item.data(Qt.ItemDataRole.UserRole) == name:
                return item
        return None

    def remove(self, name: str, emit: bool = True) -> None:
        """Hide and forget the layer called ``name``."""
        if name not in self.layers:
            return
        self.set_visible(name, False)
        self.layers.remove(name)
        item = self._item(name)
        if item is not None:
            self.list.takeItem(self.list.row(item))
        self._update_buttons()
        if emit:
            self.layers_changed.emit()

    def _update_buttons(self) -> None:
        has = self.list.count() > 0
        self.remove_button.setEnabled(has)
        self.export_button.setEnabled(has)

    # showing ----------------------------------------------------------------
    def _item_changed(self, item: QListWidgetItem) -> None:
        self.set_visible(item.data(Qt.ItemDataRole.UserRole), item.checkState() == Qt.CheckState.Checked)

    def set_visible(self, name: str, visible: bool) -> None:
        """Show or hide a layer in the views (and tick its checkbox)."""
        layer = self.layers.get(name)
        if layer is None:
            return
        item = self._item(name)
        if item is not None:
            self.list.blockSignals(True)
            item.setCheckState(Qt.CheckState.Checked if visible else Qt.CheckState.Unchecked)
            self.list.blockSignals(False)
        if visible == (name in self._shown):
            return
        if layer.kind == "image":
            self._show_image(layer) if visible else self._hide_image(name)
        else:
            self._show_3d(layer) if visible else self._hide_3d(name)
        (self._shown.add if visible else self._shown.discard)(name)
        self.layers_changed.emit()

    def _show_3d(self, layer: Layer) -> None:
        mesh = layer.display
        if mesh is None or getattr(mesh, "n_points", 0) == 0:
            return
        plotter = self.view3d.plotter
        plotter.subplot(0, 0)
        kwargs: dict[str, Any] = {"name": f"layer:{layer.name}", "reset_camera": False, "render": False}
        if "rgba" in mesh.cell_data:
            kwargs.update(scalars="rgba", rgb=True, preference="cell")
        elif "rgb" in mesh.point_data:
            kwargs.update(scalars="rgb", rgb=True)
        else:
            kwargs.update(color="#7a8ca0")
        if layer.kind == "points":
            kwargs.update(point_size=2, style="points")
        plotter.add_mesh(mesh, **kwargs)
        self.view3d.render()

    def _hide_3d(self, name: str) -> None:
        self.view3d.plotter.renderers[0].remove_actor(f"layer:{name}", render=False)
        self.view3d.render()

    def actor_names(self) -> list[str]:
        """Names of the layer actors in the 3D view's left renderer."""
        return [n for n in self.view3d.plotter.renderers[0].actors if str(n).startswith("layer:")]

    def _show_image(self, layer: Layer) -> None:
        if self.sample_view is None:
            return
        pane = self.sample_view.object_pane
        if self._image_layer is not None and self._image_layer != layer.name:
            self.set_visible(self._image_layer, False)
        if self._pane_backup is None:
            self._pane_backup = (pane.image(), pane.title())
        base = self.sample_view.scene_pane.image()
        pane.set_image(blend_overlay(base, layer.display if layer.display is not None else layer.data["depth"]))
        pane.set_title(f"{layer.name} (layer) over the frame")
        self._image_layer = layer.name

    def _hide_image(self, name: str) -> None:
        if self.sample_view is None or self._image_layer != name:
            return
        image, title = self._pane_backup or (None, "")
        self.sample_view.object_pane.set_image(image, "No image")
        self.sample_view.object_pane.set_title(title)
        self._pane_backup = None
        self._image_layer = None

    def content_changed(self, sample_id: str) -> None:
        """The sample view shows a new sample: re-apply the image layer computed for it,
        hide one computed for another frame."""
        name = self._image_layer
        if name is None:
            return
        self._pane_backup = None
        self._image_layer = None
        self._shown.discard(name)
        layer = self.layers.get(name)
        if layer is not None and layer.metadata.get("sample_id") in (None, sample_id):
            self.set_visible(name, True)
        else:
            self.set_visible(name, False)

    # export -------------------------------------------------------------------
    def export_dialog(self, name: str | None = None) -> None:
        """File > Export layer…: ask for a file name, then write the layer."""
        name = name or self.selected_name()
        layer = self.layers.get(name) if name else None
        if layer is None:
            return
        filters = ";;".join(_SUFFIX_FILTERS[s] for s in layer.export_suffixes)
        default = layer.name.replace(" ", "_").replace("(", "").replace(")", "") + layer.export_suffixes[0]
        folder = str(app_settings.app_settings().value("last_dir", "") or "")
        start = str(Path(folder) / default) if folder else default
        path, _ = QFileDialog.getSaveFileName(self, f"Export {layer.name}", start, filters)
        if path:
            if not Path(path).suffix:
                path += layer.export_suffixes[0]
            self.export(layer.name, path)

    def export(self, name: str, path: str | Path) -> Any:
        """Write the layer called ``name`` to ``path`` (as a job when a runner is set)."""
        layer = self.layers.get(name)
        if layer is None:
            raise KeyError(name)
        path = Path(path)

        def write(layer: Layer, path: Path, progress: Any = None) -> str:
            return str(layer.export(path))

        if self.export_runner is None:
            self.exported.emit(write(layer, path))
            return None
        return self.export_runner(f"Export {name} → {path.name}", write, layer, path, on_result=self.exported.emit)
