"""Help > Plugins: every discovered plugin with its version, status and error."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from occstudio.plugins.registry import Registry


class PluginsDialog(QDialog):
    """A read-only table of :attr:`Registry.plugins`."""

    def __init__(self, registry: Registry, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Plugins")
        self.resize(720, 320)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Plugin", "Version", "Status", "Contributes / error"])
        for info in registry.plugins:
            detail = info.error if info.status == "failed" else ", ".join(info.contributions)
            item = QTreeWidgetItem([info.name, info.version, info.status, detail])
            item.setToolTip(3, detail)
            self.tree.addTopLevelItem(item)
        for col in range(3):
            self.tree.resizeColumnToContents(col)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tree)
        layout.addWidget(buttons)
