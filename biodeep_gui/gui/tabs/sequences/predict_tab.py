"""The Predict tab: score new sequences with a trained run and export the scores.

The tab never runs a model: "Predict" emits ``sigPredictRequested(path)``; the main window scores the file off the
GUI thread with the run set by ``set_run`` and hands the scores back through ``show_predictions`` (or
``show_error``). The table sorts with numpy (a million rows sort in well under a second) and exports atomically.
"""
from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, QSortFilterProxyModel, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from biodeep_gui.core.common.fileio import atomic_write
from biodeep_gui.core.sequences.run import Run
from biodeep_gui.gui.tabs.sequences.data_files import TEST_FILTER
from biodeep_gui.gui.tabs.sequences.form_widgets import FilePicker, ProblemsPanel
from biodeep_gui.gui.tabs.sequences.results_tab import arch_label

CSV_FILTER = "CSV table (*.csv);;All files (*)"


class ScoresModel(QAbstractTableModel):
    """Record ids and their (N, K) scores; ``sort`` reorders with numpy instead of per-row Python comparisons."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.ids = np.zeros(0, dtype=object)
        self.scores = np.zeros((0, 0), np.float64)
        self.columns: list[str] = []
        self._order = np.zeros(0, np.int64)

    def set_scores(self, ids: list[str], scores: np.ndarray, column_names: list[str]) -> None:
        scores = np.asarray(scores, np.float64)
        if scores.ndim == 1:
            scores = scores[:, None]
        if scores.shape[0] != len(ids):
            raise ValueError(f"{len(ids)} ids but {scores.shape[0]} rows of scores")
        if scores.shape[1] != len(column_names):
            raise ValueError(f"{scores.shape[1]} score columns but {len(column_names)} column names")
        self.beginResetModel()
        self.ids = np.asarray(list(ids), dtype=object)
        self.scores = scores
        self.columns = list(column_names)
        self._order = np.arange(len(ids))
        self.endResetModel()

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802 (Qt API)
        return 0 if parent.isValid() else int(self._order.size)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else 1 + len(self.columns)

    def record(self, row: int) -> int:
        """Index into the original order of the record shown at ``row``."""
        return int(self._order[row])

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        i = self._order[index.row()]
        col = index.column()
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            if col == 0:
                return str(self.ids[i])
            v = self.scores[i, col - 1]
            return "—" if not math.isfinite(v) else f"{v:.4f}" if role == Qt.ItemDataRole.DisplayRole else repr(v)
        if role == Qt.ItemDataRole.TextAlignmentRole and col > 0:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def headerData(self, section: int, orientation: Qt.Orientation,  # noqa: N802 (Qt API)
                   role: int = Qt.ItemDataRole.DisplayRole):
        if orientation != Qt.Orientation.Horizontal:
            return str(section + 1) if role == Qt.ItemDataRole.DisplayRole else None
        if role == Qt.ItemDataRole.DisplayRole:
            return "ID" if section == 0 else self.columns[section - 1]
        if role == Qt.ItemDataRole.ToolTipRole:
            return "Record name from the input file" if section == 0 else "Click to sort by this score"
        return None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Reorder rows by a column; missing scores (nan) always last."""
        if not self.ids.size:
            return
        self.layoutAboutToBeChanged.emit()
        old = self._order
        descending = order == Qt.SortOrder.DescendingOrder
        if column == 0:
            keys = self.ids.astype(str)
            new = np.argsort(keys, kind="stable")
            if descending:
                new = new[::-1]
        else:
            v = self.scores[:, column - 1]
            new = np.argsort(-v if descending else v, kind="stable")  # argsort puts nan last either way
        self._order = new.astype(np.int64)
        # Keep selections and the current cell on the same records.
        where = np.empty_like(self._order)
        where[self._order] = np.arange(self._order.size)
        for idx in self.persistentIndexList():
            self.changePersistentIndex(idx, self.index(int(where[old[idx.row()]]), idx.column()))
        self.layoutChanged.emit()

    def rows_in_order(self) -> np.ndarray:
        return self._order.copy()


class ScoresProxy(QSortFilterProxyModel):
    """Filters by id text; sorting is handed to the source model's numpy sort."""

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if column >= 0:
            self.sourceModel().sort(column, order)


class PredictTab(QWidget):
    """Score a FASTA/CSV file with the current run, browse the scores, export them.

    Signals
    -------
    sigPredictRequested(str) : the file to score with the run given to ``set_run``
    sigExported(str) : path of a CSV just written
    """

    sigPredictRequested = Signal(str)
    sigExported = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._run: Run | None = None
        self._busy = False
        self._source = ""

        self.problems = ProblemsPanel()
        model_box = QGroupBox("Model")
        self.model_label = QLabel()
        self.model_label.setWordWrap(True)
        self.model_label.setTextFormat(Qt.TextFormat.RichText)
        ml = QVBoxLayout(model_box)
        ml.addWidget(self.model_label)

        input_box = QGroupBox("Sequences to score")
        self.file_picker = FilePicker("sequences.fa or table.csv", TEST_FILTER,
                                      "FASTA/FASTQ, or a CSV/TSV table with a 'sequence' column. Labels are not "
                                      "needed. Sequences are centre-cropped or padded to the model's length.",
                                      "Choose sequences to score")
        self.predict_button = QPushButton("Predict")
        self.predict_button.setToolTip("Score every sequence of the file with the model above.")
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)
        self.progress.setTextVisible(False)
        self.progress.setMaximumHeight(10)
        self.progress.hide()
        self.busy_label = QLabel()
        self.busy_label.hide()
        il = QVBoxLayout(input_box)
        row = QHBoxLayout()
        row.addWidget(self.file_picker, 1)
        row.addWidget(self.predict_button)
        il.addLayout(row)
        il.addWidget(self.progress)
        il.addWidget(self.busy_label)

        self.overlap_label = QLabel()
        self.overlap_label.setWordWrap(True)
        self.overlap_label.setToolTip("Sequences a model was trained or validated on score better than new ones: "
                                      "their scores say little about how the model does on new sequences. "
                                      "Matched exactly (after fitting to the model's length), on either strand.")
        self.overlap_label.hide()
        self.summary = QLabel()
        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText("Filter by ID…")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.setToolTip("Show only records whose ID contains this text (case-insensitive).")
        self.filter_edit.setMaximumWidth(260)
        self.export_button = QPushButton("Export CSV…")
        self.export_button.setToolTip("Save the rows shown, in the order shown, as a CSV table.")
        tools = QHBoxLayout()
        tools.addWidget(self.summary, 1)
        tools.addWidget(self.filter_edit)
        tools.addWidget(self.export_button)

        self.model = ScoresModel(self)
        self.proxy = ScoresProxy(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setFilterKeyColumn(0)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.horizontalHeader().setStretchLastSection(False)
        self.table.horizontalHeader().setMinimumSectionSize(90)
        self.table.setToolTip("Click a column header to sort; probabilities are between 0 and 1.")

        lay = QVBoxLayout(self)
        lay.addWidget(self.problems)
        lay.addWidget(model_box)
        lay.addWidget(input_box)
        lay.addWidget(self.overlap_label)
        lay.addLayout(tools)
        lay.addWidget(self.table, 1)

        self.predict_button.clicked.connect(self._predict_clicked)
        self.file_picker.sigChanged.connect(self._update_enabled)
        self.file_picker.edit.textChanged.connect(self._update_enabled)
        self.filter_edit.textChanged.connect(self._filter_changed)
        self.export_button.clicked.connect(self._export_clicked)
        self.set_run(None)
        self._show_counts()

    # ---- public API --------------------------------------------------------------------------------------
    def set_run(self, run: Run | None) -> None:
        """The run that scores sequences; None disables predicting."""
        self._run = run
        self.overlap_label.hide()
        if run is None:
            self.model_label.setText("<span style='color:#5f6368'>No model yet. Train one (Training tab) or "
                                     "open a saved run (File ▸ Open run) to score new sequences.</span>")
        else:
            info = run.info
            outputs = ", ".join(info.class_names if info.task == "multiclass" else info.label_names) or "output"
            what = {"binary": "Scores: probability (0 to 1) of",
                    "multiclass": "Scores: probability of each class:",
                    "regression": "Scores: predicted value of"}.get(info.task, "Scores:")
            auroc = run.metrics.get("test_auroc")
            quality = (f" · test AUROC {auroc:.3f}" if isinstance(auroc, float) and math.isfinite(auroc)
                       else "")
            ci = (run.doc.get("test_intervals") or {}).get("auroc") if isinstance(run.doc, dict) else None
            if quality and isinstance(ci, list) and len(ci) == 2 and all(isinstance(v, float) for v in ci):
                quality += f" (95 % CI {ci[0]:.3f}–{ci[1]:.3f})"
            self.model_label.setText(f"<b>{_esc(run.name)}</b> · {_esc(arch_label(info.arch))} · "
                                     f"{info.length:,} bp input{quality}<br>"
                                     f"{what} {_esc(outputs)}")
        self._update_enabled()

    def current_run(self) -> Run | None:
        return self._run

    def show_predictions(self, ids: list[str], scores: np.ndarray, column_names: list[str],
                         overlap: dict | None = None) -> None:
        """Show (N,) ids with (N, K) scores under K column names, highest first score on top.

        ``overlap``: ``pipeline.training_overlap`` of these sequences; a warning is shown when some (or,
        for runs without a digest, possibly some) were used to train or validate the model.
        """
        self.set_busy(False)
        self.problems.clear()
        self.show_overlap(overlap)
        self.model.set_scores(ids, scores, column_names)
        self._source = self.file_picker.path()
        if len(ids):
            self.table.sortByColumn(1, Qt.SortOrder.DescendingOrder)
        self.table.resizeColumnsToContents()
        self.table.setColumnWidth(0, min(max(self.table.columnWidth(0), 120), 320))
        self._show_counts()

    def show_overlap(self, overlap: dict | None) -> None:
        """The warning line about sequences the model was trained on (hidden when ``overlap`` is None)."""
        from biodeep_gui.core.sequences.pipeline import overlap_warning

        if overlap is None:
            self.overlap_label.hide()
            return
        text = overlap_warning(overlap)
        if text:
            self.overlap_label.setStyleSheet("QLabel { background: #fdecea; color: #8c1d18; border: 1px solid "
                                             "#f1b0ab; border-radius: 4px; padding: 6px; font-weight: bold; }")
        else:
            n = overlap.get("n", 0)
            text = (f"None of these {n:,} sequences was used to train or validate this model (exact match, either "
                    f"strand).")
            self.overlap_label.setStyleSheet("QLabel { color: #5f6368; }")
        self.overlap_label.setText(text)
        self.overlap_label.show()

    def show_error(self, msg: str) -> None:
        """Show a problem in the red panel; the scores already shown stay."""
        self.set_busy(False)
        self.problems.show_message(msg)

    def set_busy(self, busy: bool, text: str = "") -> None:
        self._busy = busy
        self.progress.setVisible(busy)
        self.busy_label.setText(text)
        self.busy_label.setVisible(busy and bool(text))
        self._update_enabled()

    def export_csv(self, path: str | Path) -> Path:
        """Write the rows shown (filter applied), in the order shown, to ``path`` atomically.

        Columns: ``id`` then one per score, full precision.
        """
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["id", *self.model.columns])
        for r in range(self.proxy.rowCount()):
            i = self.model.record(self.proxy.mapToSource(self.proxy.index(r, 0)).row())
            w.writerow([self.model.ids[i], *(_csv_number(v) for v in self.model.scores[i])])
        return atomic_write(path, buf.getvalue())

    def row_count(self) -> int:
        """Rows shown (after the filter)."""
        return self.proxy.rowCount()

    # ---- internals ---------------------------------------------------------------------------------------
    def _update_enabled(self, *_):
        self.predict_button.setEnabled(self._run is not None and bool(self.file_picker.path()) and not self._busy)
        if self._run is None:
            self.predict_button.setToolTip("Load or train a model first.")
        elif not self.file_picker.path():
            self.predict_button.setToolTip("Choose a file of sequences first.")
        else:
            self.predict_button.setToolTip("Score every sequence of the file with the model above.")
        self.export_button.setEnabled(self.model.rowCount() > 0)

    def _show_counts(self) -> None:
        n, shown = self.model.rowCount(), self.proxy.rowCount()
        if not n:
            self.summary.setText("No predictions yet.")
        elif shown == n:
            self.summary.setText(f"{n:,} sequences scored" + (f" from {Path(self._source).name}" if self._source
                                                             else ""))
        else:
            self.summary.setText(f"{shown:,} of {n:,} sequences shown")
        self._update_enabled()

    def _filter_changed(self, text: str) -> None:
        self.proxy.setFilterFixedString(text.strip())
        self._show_counts()

    def _predict_clicked(self) -> None:
        path = self.file_picker.path()
        if not Path(path).is_file():
            why = "is not a regular file (a pipe, device or folder)" if Path(path).exists() else \
                "does not exist (moved or renamed?)"
            self.problems.show_message(f"The file {path} {why}. Choose it again.")
            return
        self.problems.clear()
        self.sigPredictRequested.emit(path)

    def _export_clicked(self) -> None:
        src = Path(self._source) if self._source else None
        start = str(src.with_name(src.stem + "_predictions.csv")) if src else "predictions.csv"
        path, _ = QFileDialog.getSaveFileName(self, "Export predictions", start, CSV_FILTER)
        if not path:
            return
        if not Path(path).suffix:
            path += ".csv"
        try:
            written = self.export_csv(path)
        except OSError as exc:
            self.problems.show_message(f"{path}: the predictions could not be saved ({exc.strerror or exc}).")
            return
        self.sigExported.emit(str(written))


def _csv_number(v: float) -> str:
    return "" if not math.isfinite(v) else repr(float(v))


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
