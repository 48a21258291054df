"""A parameter form built from a computation's ``ParamSpec`` list (values persist)."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from occstudio.gui import settings as app_settings
from occstudio.plugins.registry import ComputationSpec, ParamSpec


def _widget_for(param: ParamSpec, value: Any) -> QWidget:
    if param.kind == "bool":
        w: QWidget = QCheckBox()
        w.setChecked(str(value).lower() in {"1", "true", "yes", "on"})
    elif param.kind == "int":
        w = QSpinBox()
        w.setRange(int(param.minimum if param.minimum is not None else -10**9),
                   int(param.maximum if param.maximum is not None else 10**9))
        w.setValue(int(value))
    elif param.kind == "float":
        w = QDoubleSpinBox()
        w.setDecimals(6)
        w.setRange(param.minimum if param.minimum is not None else -1e12,
                   param.maximum if param.maximum is not None else 1e12)
        w.setValue(float(value))
    elif param.kind == "choice":
        w = QComboBox()
        w.addItems([str(c) for c in param.choices])
        w.setCurrentText(str(value))
    else:
        w = QLineEdit("" if value is None else str(value))
    w.setToolTip(param.help or param.name)
    return w


def _value_of(param: ParamSpec, widget: QWidget) -> Any:
    if isinstance(widget, QCheckBox):
        return widget.isChecked()
    if isinstance(widget, (QSpinBox, QDoubleSpinBox)):
        return widget.value()
    if isinstance(widget, QComboBox):
        text = widget.currentText()
        return next((c for c in param.choices if str(c) == text), text)
    return param.parse(widget.text()) if widget.text() else param.default


class ComputeDialog(QDialog):
    """Asks for a computation's parameters and the samples to run it on."""

    def __init__(self, spec: ComputationSpec, current_id: str | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.spec = spec
        self.setWindowTitle(spec.name)
        settings = app_settings.app_settings()
        form = QFormLayout()
        self.widgets: dict[str, QWidget] = {}
        for param in spec.params:
            saved = settings.value(f"compute/{spec.id}/{param.name}", param.default)
            try:
                widget = _widget_for(param, saved)
            except (TypeError, ValueError):
                widget = _widget_for(param, param.default)
            self.widgets[param.name] = widget
            form.addRow(param.name, widget)
        self.scope = QComboBox()
        self.scope.addItem(f"Current sample ({current_id})" if current_id else "Current sample", "current")
        self.scope.addItem("All samples", "all")
        self.scope.setEnabled(current_id is not None)
        if current_id is None:
            self.scope.setCurrentIndex(1)
        form.addRow("Run on", self.scope)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Run")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        if spec.description:
            text = QLabel(spec.description)
            text.setWordWrap(True)
            layout.addWidget(text)
        layout.addLayout(form)
        layout.addWidget(buttons)

    def values(self) -> dict[str, Any]:
        """The parameter values (checked by the spec); also stored for next time."""
        values = {p.name: _value_of(p, self.widgets[p.name]) for p in self.spec.params}
        checked = self.spec.parse_params(f"{k}={v}" for k, v in values.items())
        settings = app_settings.app_settings()
        for key, value in checked.items():
            settings.setValue(f"compute/{self.spec.id}/{key}", value)
        return checked

    def scope_value(self) -> str:
        """``current`` or ``all``."""
        return self.scope.currentData()
