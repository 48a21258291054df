"""File > Preferences…: the sample cache budget, read-ahead and point-cloud level of detail."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QDoubleSpinBox, QFormLayout, QLabel, QSpinBox, QWidget

from occstudio.gui import settings as app_settings


def apply_preferences(window: Any, values: dict[str, float | int] | None = None) -> dict[str, float | int]:
    """Apply preferences (the stored ones by default) to a main window.

    Parameters
    ----------
    window
        The main window (its ``controller`` and ``view3d``).
    values
        Preferences to apply; ``None`` reads :func:`~occstudio.gui.settings.preferences`.

    Returns
    -------
    dict
        What was applied.
    """
    values = dict(values if values is not None else app_settings.preferences())
    window.controller.cache.resize(int(float(values["cache_gib"]) * (1 << 30)))
    window.controller.prefetch_count = int(values["prefetch"])
    window.view3d.lod_threshold = int(values["lod_points"])
    return values


class PreferencesDialog(QDialog):
    """Edit the preferences; OK stores and applies them."""

    def __init__(self, window: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent or window)
        self.window = window
        self.setWindowTitle("Preferences")
        values = app_settings.preferences()
        self.cache_spin = QDoubleSpinBox()
        self.cache_spin.setRange(0.25, 256.0)
        self.cache_spin.setSingleStep(0.5)
        self.cache_spin.setDecimals(2)
        self.cache_spin.setSuffix(" GiB")
        self.cache_spin.setValue(float(values["cache_gib"]))
        self.cache_spin.setToolTip("Memory for samples already read (voxel surfaces, camera views, sequences); "
                                   "the least recently used are dropped past it")
        cache = window.controller.cache
        self.usage_label = QLabel(f"in use now: {cache.nbytes / (1 << 20):,.0f} MiB in {len(cache)} entries")
        self.prefetch_spin = QSpinBox()
        self.prefetch_spin.setRange(0, 32)
        self.prefetch_spin.setValue(int(values["prefetch"]))
        self.prefetch_spin.setToolTip("Occupancy datasets: how many of the next samples to read in the background")
        self.lod_spin = QSpinBox()
        self.lod_spin.setRange(10_000, 50_000_000)
        self.lod_spin.setSingleStep(100_000)
        self.lod_spin.setGroupSeparatorShown(True)
        self.lod_spin.setSuffix(" points")
        self.lod_spin.setValue(int(values["lod_points"]))
        self.lod_spin.setToolTip("Point clouds bigger than this are drawn from a subset of this size while "
                                 "the camera moves, in full when it stops")
        form = QFormLayout(self)
        form.addRow("Sample cache", self.cache_spin)
        form.addRow("", self.usage_label)
        form.addRow("Read ahead", self.prefetch_spin)
        form.addRow("Level of detail above", self.lod_spin)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def values(self) -> dict[str, float | int]:
        """The values in the form."""
        return {"cache_gib": self.cache_spin.value(), "prefetch": self.prefetch_spin.value(),
                "lod_points": self.lod_spin.value()}

    def accept(self) -> None:
        """Store and apply the values, then close."""
        values = self.values()
        app_settings.save_preferences(values)
        apply_preferences(self.window, values)
        super().accept()
