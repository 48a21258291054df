"""Compute > Layers: layer computations as background jobs whose results become layers.

:func:`install_compute_layers` adds to a main window

* a "Layers" submenu of the Compute menu with one action per
  :data:`~occstudio.builtins.compute_layers.LAYER_COMPUTATIONS` entry (a parameter form,
  :class:`~occstudio.gui.dialogs.compute.ComputeDialog`, whose values persist);
* File > Export layer… (the selected layer of the Layers dock);
* the Layers dock (``window.docks["layers"]``).

A computation runs on the current sample as ``window.jobs.submit(...)`` (progress and
Cancel in the jobs dock; a new run of the same computation cancels the old one); the
layers it consumes (the fused cloud, the computed occupancy) are taken from the dock
when present.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDockWidget, QFormLayout, QMenu

from occstudio.builtins.compute_layers import LAYER_COMPUTATIONS, LayerComputation, layer_computation
from occstudio.core.layers import Layer
from occstudio.gui.dialogs.compute import ComputeDialog
from occstudio.gui.docks.layers import LayersDock
from occstudio.gui.jobs import Job


def _menu_named(window: Any, title: str) -> QMenu:
    bar = window.menuBar()
    for action in bar.actions():
        if action.menu() is not None and action.text().replace("&", "") == title:
            return action.menu()
    return bar.addMenu(f"&{title}")


class ComputeLayers(QObject):
    """The compute-layers wiring of one window (returned by :func:`install_compute_layers`).

    Attributes
    ----------
    dock
        The :class:`LayersDock`.
    menu
        The Compute > Layers submenu.
    actions
        Computation id → its menu action; ``"export_layer"`` → File > Export layer….
    """

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window = window
        self.dock = LayersDock(window.view3d, getattr(window, "sample_view", None), export_runner=window.jobs.submit)
        self.dock.exported.connect(lambda path: window.notifications.info(f"Layer written: {path}"))
        dock = QDockWidget("Layers", window)
        dock.setObjectName("dock_layers")
        dock.setWidget(self.dock)
        window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        window.docks["layers"] = dock
        self.dock_widget = dock
        self.actions: dict[str, QAction] = {}
        compute = _menu_named(window, "Compute")
        self.menu = QMenu("&Layers", compute)
        first = compute.actions()[0] if compute.actions() else None
        compute.insertMenu(first, self.menu) if first is not None else compute.addMenu(self.menu)
        for spec in LAYER_COMPUTATIONS:
            action = self.menu.addAction(f"{spec.name}…")
            action.setStatusTip(spec.description)
            action.triggered.connect(lambda _=False, sp=spec: self.run(sp.id))
            self.actions[spec.id] = action
        file_menu = _menu_named(window, "File")
        export = QAction("Export &layer…", window)
        export.setStatusTip("Write the selected computed layer (PLY, labels.npz, occ_sequence.npz, depth PNG)")
        export.triggered.connect(lambda: self.dock.export_dialog())
        quit_action = getattr(window, "actions", {}).get("quit") if isinstance(getattr(window, "actions", None), dict) else None
        before = quit_action if quit_action in file_menu.actions() else None
        file_menu.insertAction(before, export) if before is not None else file_menu.addAction(export)
        self.actions["export_layer"] = export
        view_menu = _menu_named(window, "View")
        view_menu.addAction(dock.toggleViewAction())
        controller = getattr(window, "controller", None)
        if controller is not None and hasattr(controller, "content_ready"):
            controller.content_ready.connect(lambda content: self.dock.content_changed(str(content.get("id", ""))))

    # running ----------------------------------------------------------------
    def run(self, computation_id: str, params: dict[str, Any] | None = None) -> Job | None:
        """Run a layer computation on the current sample.

        Parameters
        ----------
        computation_id
            A :data:`LAYER_COMPUTATIONS` id (``layers.fused_cloud`` …).
        params
            Parameter values; ``None`` asks for them with the parameter form (values
            persist between runs).

        Returns
        -------
        Job or None
            The submitted job (``None`` when cancelled or nothing to run on).
        """
        spec = layer_computation(computation_id)
        doc = self.window.controller.document
        if params is None:
            params = self._ask(spec, doc.current_id)
            if params is None:
                return None
        params = {**{p.name: p.default for p in spec.params}, **params}
        if doc.dataset is None and not params.get("source"):
            self.window.notifications.error(f"{spec.name}: open an OccGen trajectory, or give a condition.npz as source")
            return None
        for keyword, layer_name in spec.inputs.items():
            layer = self.dock.layer(layer_name)
            if layer is not None:
                params[keyword] = layer
        sample = doc.current if doc.dataset is not None else None
        title = f"{spec.name}: {sample.id}" if sample is not None else spec.name
        return self.window.jobs.submit(
            title, spec.func, doc.dataset, sample, key=f"layer:{spec.id}", on_result=self._add, **params
        )

    def _ask(self, spec: LayerComputation, current_id: str | None) -> dict[str, Any] | None:
        dialog = ComputeDialog(spec, current_id, self.window)
        for form in dialog.findChildren(QFormLayout):  # layers are computed for the current sample
            form.setRowVisible(dialog.scope, False)
        if dialog.exec() != ComputeDialog.DialogCode.Accepted:
            return None
        try:
            return dialog.values()
        except ValueError as exc:
            self.window.notifications.error(f"{spec.name}: {exc}")
            return None

    def _add(self, layer: Layer) -> None:
        self.dock.add_layer(layer)
        for warning in layer.metadata.get("warnings", [])[:5]:
            self.window.notifications.warning(f"{layer.name}: {warning}")
        self.window.notifications.info(f"Layer {layer.name!r}: {layer.summary()}")


def install_compute_layers(window: Any) -> ComputeLayers:
    """Add Compute > Layers, File > Export layer… and the Layers dock to ``window``.

    ``window`` needs ``jobs`` (JobManager), ``controller`` (with ``document``),
    ``notifications``, ``view3d``, ``sample_view`` and a ``docks`` dict.
    """
    return ComputeLayers(window)
