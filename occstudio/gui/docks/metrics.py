"""The metrics dock: a sortable per-sample table and, for occupancy evaluations, the set
totals per class; copy and CSV/JSON export of the table shown."""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)


def flatten_metrics(values: dict[str, Any]) -> dict[str, float | None]:
    """Flatten nested metric dicts (``fscore`` → ``fscore@0.01``) to numeric columns."""
    flat: dict[str, float | None] = {}
    for key, value in values.items():
        if isinstance(value, dict):
            for sub, v in value.items():
                if v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)):
                    flat[f"{key}@{sub}"] = None if v is None else float(v)
        elif value is None or (isinstance(value, (int, float)) and not isinstance(value, bool)):
            flat[key] = None if value is None else float(value)
    return flat


class MetricsModel(QAbstractTableModel):
    """Rows: samples; columns: ``id`` then one per metric (numeric sort)."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, dict[str, float | None]] = {}
        self.columns: list[str] = []

    def set_row(self, sample_id: str, values: dict[str, Any]) -> None:
        """Add or replace the metrics of one sample."""
        flat = flatten_metrics(values)
        new_cols = [c for c in flat if c not in self.columns]
        self.beginResetModel()
        self.columns.extend(new_cols)
        self.rows[sample_id] = flat
        self.endResetModel()

    def clear(self) -> None:
        """Remove every row and column."""
        self.beginResetModel()
        self.rows.clear()
        self.columns.clear()
        self.endResetModel()

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802 (Qt API)
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else 1 + len(self.columns)

    def _id_at(self, row: int) -> str:
        return list(self.rows)[row]

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        sample_id = self._id_at(index.row())
        if index.column() == 0:
            return sample_id if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.UserRole) else None
        value = self.rows[sample_id].get(self.columns[index.column() - 1])
        if role == Qt.ItemDataRole.DisplayRole:
            return "—" if value is None or math.isnan(value) else f"{value:.6g}"
        if role == Qt.ItemDataRole.UserRole:  # sort key: missing values last
            return math.inf if value is None or math.isnan(value) else value
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:  # noqa: N802
        if role != Qt.ItemDataRole.DisplayRole or orientation != Qt.Orientation.Horizontal:
            return None
        return "sample" if section == 0 else self.columns[section - 1]

    def to_records(self) -> list[dict[str, Any]]:
        """The table as a list of ``{"id": ..., metric: value}`` records."""
        return [{"id": sid, **vals} for sid, vals in self.rows.items()]

    def to_csv(self) -> str:
        """The table as CSV text (header row first)."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["id", *self.columns])
        for sid, vals in self.rows.items():
            writer.writerow([sid, *("" if vals.get(c) is None else repr(vals[c]) for c in self.columns)])
        return out.getvalue()


class MetricsDock(QWidget):
    """Shows computed metrics; double-clicking a row selects that sample.

    Signals
    -------
    sample_activated(str)
    """

    sample_activated = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = MetricsModel()
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(Qt.ItemDataRole.UserRole)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.table.doubleClicked.connect(self._activated)
        self.table.setToolTip("Click a header to sort; double-click a row to show that sample")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        bar = QHBoxLayout()
        self.summary = QLabel("No metrics computed yet")
        copy = QPushButton("Copy")
        copy.setToolTip("Copy the table as CSV to the clipboard")
        copy.clicked.connect(self.copy)
        export = QPushButton("Export…")
        export.setToolTip("Save the table as CSV or JSON")
        export.clicked.connect(self.export_dialog)
        bar.addWidget(self.summary, 1)
        bar.addWidget(copy)
        bar.addWidget(export)
        layout.addLayout(bar)
        self.totals: dict[str, Any] | None = None
        self.set_table = QTableWidget(0, 2)
        self.set_table.setHorizontalHeaderLabels(["metric / class", "value"])
        self.set_table.verticalHeader().setVisible(False)
        self.set_table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.set_table.setToolTip("Set totals: one confusion matrix over every evaluated sample; IoU in percent")
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self.table, "Per sample")
        self.tabs.addTab(self.set_table, "Per set")
        self.tabs.setTabEnabled(1, False)
        layout.addWidget(self.tabs)

    def set_metrics(self, sample_id: str, values: dict[str, Any]) -> None:
        """Show ``values`` for ``sample_id`` (replacing older ones)."""
        self.model.set_row(sample_id, values)
        self.table.resizeColumnsToContents()
        self._update_summary()

    def clear(self) -> None:
        """Empty the tables."""
        self.model.clear()
        self.set_totals(None)

    def set_totals(self, totals: dict[str, Any] | None) -> None:
        """Show an occupancy evaluation's set totals (``None`` clears them)."""
        self.totals = totals
        self.set_table.setRowCount(0)
        if totals:
            for name, value in self.totals_rows():
                row = self.set_table.rowCount()
                self.set_table.insertRow(row)
                self.set_table.setItem(row, 0, QTableWidgetItem(name))
                item = QTableWidgetItem()
                item.setData(Qt.ItemDataRole.DisplayRole, "—" if value is None else round(value, 2))
                self.set_table.setItem(row, 1, item)
            self.set_table.resizeColumnsToContents()
        self.tabs.setTabEnabled(1, bool(totals))
        self._update_summary()

    def totals_rows(self) -> list[tuple[str, float | None]]:
        """The set totals as ``(name, value)`` rows: the summary metrics, then IoU per class."""
        if not self.totals:
            return []
        rows: list[tuple[str, float | None]] = []
        for key in ("miou", "miou_occ3d", "miou_selfocc", "geometric_iou", "fscore", "n_samples", "n_voxels"):
            value = self.totals.get(key)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                rows.append((key, None if isinstance(value, float) and math.isnan(value) else float(value)))
        for name, value in (self.totals.get("iou") or {}).items():
            rows.append((f"iou@{name}", value))
        return rows

    def _update_summary(self) -> None:
        n = len(self.model.rows)
        if not n:
            self.summary.setText("No metrics computed yet")
            return
        parts = [f"{n} sample{'s' if n != 1 else ''}"]
        if self.totals and isinstance(self.totals.get("miou"), (int, float)):
            parts.append(f"set mIoU {self.totals['miou']:.2f} ({self.totals.get('mask', '')} mask)")
        for col in ("chamfer_l1", "chamfer_l2"):
            vals = [r[col] for r in self.model.rows.values() if r.get(col) is not None]
            if vals:
                parts.append(f"mean {col} {sum(vals) / len(vals):.5g}")
        self.summary.setText(" · ".join(parts))

    def _activated(self, index: QModelIndex) -> None:
        source = self.proxy.mapToSource(index)
        self.sample_activated.emit(self.model._id_at(source.row()))

    def _set_tab_shown(self) -> bool:
        return self.tabs.currentIndex() == 1 and bool(self.totals)

    def _totals_csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["metric", "value"])
        for name, value in self.totals_rows():
            writer.writerow([name, "" if value is None else value])
        return out.getvalue()

    def copy(self) -> None:
        """Copy the table shown (per sample or per set) to the clipboard as CSV."""
        QGuiApplication.clipboard().setText(self._totals_csv() if self._set_tab_shown() else self.model.to_csv())

    def export(self, path: str | Path) -> None:
        """Write the table shown to ``path`` (``.json`` → records, or the totals object for
        the per-set table; anything else → CSV)."""
        path = Path(path)
        as_json = path.suffix.lower() == ".json"
        if self._set_tab_shown():
            text = json.dumps(self.totals, indent=2, default=float) + "\n" if as_json else self._totals_csv()
        else:
            text = json.dumps(self.model.to_records(), indent=2) + "\n" if as_json else self.model.to_csv()
        path.write_text(text, encoding="utf-8")

    def export_dialog(self) -> None:
        """Ask for a file name and export."""
        name, _ = QFileDialog.getSaveFileName(self, "Export metrics", "metrics.csv", "CSV (*.csv);;JSON (*.json)")
        if name:
            self.export(name)
