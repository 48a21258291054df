"""Start the GUI: the QApplication, the main window, and the scripted screenshot run."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QIcon, QImage, QPainter
from PySide6.QtWidgets import QApplication

from occstudio.core.errors import OccStudioError
from occstudio.gui.main_window import MainWindow
from occstudio.gui.qimage import array_to_qimage
from occstudio.paths import icon_path


def create_application(argv: list[str] | None = None) -> QApplication:
    """The process's QApplication (created once)."""
    app = QApplication.instance()
    if app is None:
        QApplication.setApplicationName("occstudio")
        QApplication.setOrganizationName("occstudio")
        app = QApplication(argv if argv is not None else sys.argv[:1])
        try:
            app.setWindowIcon(QIcon(str(icon_path())))
        except FileNotFoundError:
            pass  # a broken installation still runs, without its icon
    return app  # type: ignore[return-value]


def run_gui(path: str | Path | None = None, sample_id: str | None = None) -> int:
    """Open the window (optionally on ``path`` / ``sample_id``) and run the event loop."""
    app = create_application()
    window = MainWindow()
    window.show()
    if path is not None:
        window.open_path(path, sample_id)
    return app.exec()


def wait_until_idle(window: MainWindow, sample_id: str | None, timeout: float = 120.0) -> None:
    """Process events until the dataset and the sample's content are shown and no job runs.

    Raises
    ------
    OccStudioError
        On timeout, or when opening failed (the error shown in the window is re-raised).
    """
    app = QApplication.instance()
    deadline = time.monotonic() + timeout
    n_errors = len(window.notifications.errors())
    while time.monotonic() < deadline:
        app.processEvents()
        errors = window.notifications.errors()
        if len(errors) > n_errors and window.controller.document.dataset is None:
            raise OccStudioError(errors[-1].text)
        content = window.controller.content
        ready = (
            content is not None
            and (sample_id is None or content["id"] == sample_id)
            and not window.jobs.running()
        )
        if ready:
            for _ in range(5):
                app.processEvents()
                time.sleep(0.02)
            return
        time.sleep(0.01)
    raise OccStudioError(f"timed out after {timeout:.0f} s waiting for the window to draw")


def grab_window(window: MainWindow) -> QImage:
    """The whole window as an image, with the 3D view's GL frame painted in."""
    window.view3d.render()
    image = window.grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
    frame = np.ascontiguousarray(window.view3d.screenshot()[:, :, :3])
    widget = window.view3d.plotter.interactor
    origin = widget.mapTo(window, QPoint(0, 0))
    gl = array_to_qimage(frame).scaled(
        widget.width(), widget.height(), Qt.AspectRatioMode.IgnoreAspectRatio,
        Qt.TransformationMode.SmoothTransformation,
    )
    painter = QPainter(image)
    painter.drawImage(origin, gl)
    painter.end()
    return image


def widget_regions(window: MainWindow) -> dict[str, list[int]]:
    """Window-relative ``[x, y, width, height]`` of the main panes (for checks of a screenshot)."""
    widgets = {
        "scene_image": window.sample_view.scene_pane.view,
        "object_image": window.sample_view.object_pane.view,
        "view3d": window.view3d.plotter.interactor,
        "sample_list": window.browser.view,
    }
    regions = {}
    for name, widget in widgets.items():
        origin = widget.mapTo(window, QPoint(0, 0))
        regions[name] = [origin.x(), origin.y(), widget.width(), widget.height()]
    return regions


def take_screenshot(
    path: str | Path, out: str | Path, sample_id: str | None = None, size: tuple[int, int] = (1600, 1000),
    predictions: str | Path | None = None,
    error_view: bool = False,
) -> dict[str, object]:
    """Open the real main window on ``path``, wait until it has drawn, save a PNG of it.

    Returns
    -------
    dict
        ``path`` of the PNG, the ``sample`` shown and the pane ``regions``.
    """
    app = create_application()
    window = MainWindow()
    window.resize(*size)
    window.show()
    try:
        window.open_path(path, sample_id)
        wait_until_idle(window, sample_id)
        if predictions is not None:
            if error_view:
                window.controller.content = None
                window.error_view_action.setChecked(True)
                wait_until_idle(window, sample_id)
            window.controller.open_predictions(predictions)
            window.controller.content = None
            wait_until_idle(window, sample_id)
        image = grab_window(window)
        out = Path(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        if not image.save(str(out)):
            raise OccStudioError(f"{out}: could not write the PNG")
        return {"path": str(out), "sample": window.controller.content["id"], "regions": widget_regions(window)}
    finally:
        window.close()
        app.processEvents()
