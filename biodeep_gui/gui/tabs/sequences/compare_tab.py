"""The Compare tab: every run on the loaded data side by side, deep models against the linear / k-mer baselines.

One table (a row per run, sortable, the run chosen by its *validation* score highlighted, test metrics with their
95 % bootstrap intervals, a "vs best baseline" column with the paired test's p-value) and the validation curves of
the deep runs overlaid, with each baseline as a dashed horizontal line at its validation score. The choice, the
intervals and the paired test come from ``core.sequences.summary.compare_runs``; this tab lays them out.
"""
from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    Signal,
    Slot,
)
from PySide6.QtGui import QAction, QBrush, QColor, QFont, QKeySequence, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from biodeep_gui.core.common.errors import BioDeepError
from biodeep_gui.core.common.metrics import HIGHER_IS_BETTER
from biodeep_gui.core.sequences import summary as S
from biodeep_gui.core.sequences.baselines import describe_fit
from biodeep_gui.core.sequences.run import Run, load_run
from biodeep_gui.core.training.runs import rename_run
from biodeep_gui.gui.glossary import METRIC_HELP
from biodeep_gui.gui.session import choose_save_path
from biodeep_gui.gui.tabs.sequences.results_tab import METRIC_LABELS, METRIC_ORDER, arch_label
from biodeep_gui.gui.widgets.plots import EXPORT_FORMATS, CurvesPlot, format_metric, series_colour

BEST_BACKGROUND = QColor("#e6f4ea")
GAIN_COLOUR = QColor("#1e7b34")
LOSS_COLOUR = QColor("#b3261e")


class RunsModel(QAbstractTableModel):
    """One row per run: name, architecture, parameters, status, best epoch, validation score (what runs are
    chosen by), test metrics with 95 % intervals, vs best baseline (with the paired p-value on the chosen run).

    ``UserRole`` holds the sortable value of each cell (numbers as float, nan for missing).
    """

    FIXED = ("Run", "Architecture", "Parameters", "Status", "Best epoch")
    sigRenameRequested = Signal(str, str)  # run folder, new display name (the Run cell was edited)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.rows: list[S.RunComparison] = []
        self.metrics: list[str] = []
        self.colours: list[QColor] = []
        self._icons: list[QPixmap] = []

    def set_rows(self, rows: list[S.RunComparison], metrics: list[str]) -> None:
        self.beginResetModel()
        self.rows = rows
        self.metrics = metrics
        self.colours = [series_colour(i) for i in range(len(rows))]
        self._icons = []
        for c in self.colours:
            pm = QPixmap(12, 12)
            pm.fill(c)
            self._icons.append(pm)
        self.endResetModel()

    def main_metric(self) -> str:
        return self.rows[0].main_metric if self.rows else "auroc"

    def headers(self) -> list[str]:
        main = METRIC_LABELS.get(self.main_metric(), self.main_metric())
        return [*self.FIXED, f"Validation {main}", *(f"Test {METRIC_LABELS.get(m, m)}" for m in self.metrics),
                "vs best baseline"]

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802 (Qt API)
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.FIXED) + 1 + len(self.metrics) + 1

    def value(self, row: int, col: int):
        """The raw value of a cell (str or float)."""
        c = self.rows[row]
        run: Run = c.run
        if col == 0:
            return run.name
        if col == 1:
            return arch_label(run.info.arch)
        if col == 2:
            return float(run.info.n_parameters) if run.info.n_parameters else math.nan
        if col == 3:
            return run.status
        if col == 4:
            best = run.doc.get("best_epoch") or 0
            return float(best) if run.history else math.nan
        if col == len(self.FIXED):
            return c.val_value
        k = col - len(self.FIXED) - 1
        if k < len(self.metrics):
            v = run.metrics.get(f"test_{self.metrics[k]}", math.nan)
            return float(v) if isinstance(v, (int, float)) else math.nan
        return c.vs_best_baseline

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        f = super().flags(index)
        return f | Qt.ItemFlag.ItemIsEditable if index.isValid() and index.column() == 0 else f

    def setData(self, index, value, role: int = Qt.ItemDataRole.EditRole) -> bool:  # noqa: N802 (Qt API)
        # the file is written by the tab (which can report a refusal); the row changes when the run is reloaded
        if role != Qt.ItemDataRole.EditRole or not index.isValid() or index.column() != 0:
            return False
        run = self.rows[index.row()].run
        if str(value).strip() != run.name:
            self.sigRenameRequested.emit(str(run.path), str(value))
        return False

    def _metric_of(self, col: int) -> str | None:
        k = col - len(self.FIXED) - 1
        return self.metrics[k] if 0 <= k < len(self.metrics) else None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        r, col = index.row(), index.column()
        c = self.rows[r]
        v = self.value(r, col)
        last = self.columnCount() - 1
        if role == Qt.ItemDataRole.DisplayRole:
            if isinstance(v, str):
                return v
            if col == 2:
                return "—" if not math.isfinite(v) else f"{int(v):,}"
            if col == 4:
                return "—" if not math.isfinite(v) else str(int(v))
            if col == last:
                if not math.isfinite(v):
                    return "—"
                if c.paired and math.isfinite(c.paired.get("p_value", math.nan)):
                    return f"{v:+.3f} (p = {format_p(c.paired['p_value'])})"
                return f"{v:+.3f}"
            metric = self._metric_of(col)
            lo, hi = c.intervals.get(metric, (math.nan, math.nan)) if metric else (math.nan, math.nan)
            if math.isfinite(v) and math.isfinite(lo) and math.isfinite(hi):
                return f"{format_metric(v)} ({format_metric(lo)}–{format_metric(hi)})"
            return format_metric(v)
        if role == Qt.ItemDataRole.UserRole:
            return v
        if role == Qt.ItemDataRole.DecorationRole and col == 0:
            return self._icons[r]
        if role == Qt.ItemDataRole.BackgroundRole and c.best_in_group:
            return QBrush(BEST_BACKGROUND)
        if role == Qt.ItemDataRole.FontRole and c.best_in_group:
            f = QFont()
            f.setBold(True)
            return f
        if role == Qt.ItemDataRole.ForegroundRole and col == last and isinstance(v, float) and math.isfinite(v):
            if abs(v) >= 0.0005 and not c.baseline:
                return QBrush(GAIN_COLOUR if v > 0 else LOSS_COLOUR)
        if role == Qt.ItemDataRole.TextAlignmentRole and col >= 2 and not isinstance(v, str):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(c, col)
        return None

    def _tooltip(self, c: S.RunComparison, col: int) -> str:
        tip = str(c.run.path)
        metric = METRIC_LABELS.get(c.main_metric, c.main_metric)
        if c.baseline and _subset_fit(c.run):
            tip = f"This baseline was {_subset_fit(c.run)}.\n{tip}"
        if c.best_in_group:
            tip = (f"Best validation {metric} on these sequences: the run to pick (the test set is only looked "
                   f"at after the choice).\n{tip}")
        if col == self.columnCount() - 1:
            if c.best_baseline:
                text = (f"Test {metric} of this run minus that of the baseline chosen by validation "
                        f"({c.best_baseline}), on the same test sequences. Positive: the run beats the baseline.")
                if c.paired:
                    text += (f"\nPaired bootstrap ({c.paired['n_boot']:,} resamples of the {c.paired['n']:,} test "
                             f"sequences): difference {c.paired['difference']:+.3f}, 95 % interval "
                             f"{c.paired['low']:+.3f} to {c.paired['high']:+.3f}, p = {format_p(c.paired['p_value'])}.")
                return text
            return "No linear or k-mer baseline was trained on the same test sequences (same data and seed)."
        if col == len(self.FIXED):
            return (f"{metric} on the validation sequences with the weights kept: what runs are chosen by. "
                    f"Choosing by the test score would make the winner's test score optimistic.")
        metric_name = self._metric_of(col)
        if metric_name:
            help_text = METRIC_HELP.get(metric_name, tip)
            if metric_name in c.intervals:
                help_text += ("\nIn brackets: 95 % bootstrap interval (resampling the test sequences, stratified by "
                              "class; seeded).")
            return help_text
        return tip

    def headerData(self, section: int, orientation: Qt.Orientation,  # noqa: N802 (Qt API)
                   role: int = Qt.ItemDataRole.DisplayRole):
        if orientation != Qt.Orientation.Horizontal:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self.headers()[section]
        if role == Qt.ItemDataRole.ToolTipRole:
            if section == self.columnCount() - 1:
                return ("Difference of the main test metric (AUROC for classification, Pearson r for regression) "
                        "to the best linear / k-mer baseline on the same test sequences.")
            if section == len(self.FIXED):
                return "Validation score of the weights kept: runs are chosen (highlighted) by this column."
            metric = self._metric_of(section)
            if metric:
                return METRIC_HELP.get(metric, "") + "\nIn brackets: 95 % bootstrap interval."
        return None


class RunsProxy(QSortFilterProxyModel):
    """Sorts on the raw values; missing numbers (nan) count as the lowest."""

    def lessThan(self, left, right) -> bool:  # noqa: N802 (Qt API)
        a = self.sourceModel().data(left, Qt.ItemDataRole.UserRole)
        b = self.sourceModel().data(right, Qt.ItemDataRole.UserRole)
        if isinstance(a, str) or isinstance(b, str):
            return str(a).lower() < str(b).lower()
        a = -math.inf if a is None or not math.isfinite(a) else a
        b = -math.inf if b is None or not math.isfinite(b) else b
        return a < b


class CompareTab(QWidget):
    """All runs on the data: a ranked table and overlaid validation curves.

    Signals
    -------
    sigRunSelected(str) : folder of the run picked in the table (to show it in Results / Predict)
    """

    sigRunSelected = Signal(str)
    sigRunRenamed = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._runs: list[Run] = []
        self._rows: list[S.RunComparison] = []

        self.verdict = QLabel()
        self.verdict.setWordWrap(True)
        self.verdict.setTextFormat(Qt.TextFormat.RichText)
        f = self.verdict.font()
        f.setPointSize(f.pointSize() + 2)
        self.verdict.setFont(f)

        self.model = RunsModel(self)
        self.proxy = RunsProxy(self)
        self.proxy.setSourceModel(self.model)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        # only the Run cell is editable (its display name): F2 or the context menu's Rename…
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.EditKeyPressed)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self.rename_action = QAction("Rename…", self.table)
        self.rename_action.setShortcut(QKeySequence(Qt.Key.Key_F2))
        self.rename_action.setToolTip("Give the selected run a name of your own (kept in its run.json; the "
                                      "folder keeps its name)")
        self.table.addAction(self.rename_action)
        self.rename_message = QLabel()
        self.rename_message.setWordWrap(True)
        self.rename_message.setStyleSheet(f"color: {LOSS_COLOUR.name()};")
        self.rename_message.hide()
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setToolTip("Click a header to sort; select a run to open it in Results and Predict. "
                              "Green rows: the run chosen by its validation score on their sequences.")

        self.metric_combo = QComboBox()
        self.metric_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.metric_combo.setToolTip("Validation metric drawn per epoch (baselines: a dashed line at their "
                                     "validation value).")
        self.export_button = QPushButton("Export figure…")
        self.export_button.setToolTip("Save the curves as a PNG image or an SVG vector figure.")
        self.plot = CurvesPlot("Validation score per epoch", "Epoch", "")
        self.plot.setToolTip("Solid lines: deep models (star: the epoch kept). Dashed lines: baselines, which "
                             "are fitted in one step.")

        tools = QHBoxLayout()
        tools.addWidget(QLabel("Curves:"))
        tools.addWidget(self.metric_combo)
        tools.addStretch(1)
        tools.addWidget(self.export_button)
        bottom = QWidget()
        bl = QVBoxLayout(bottom)
        bl.setContentsMargins(0, 0, 0, 0)
        bl.addLayout(tools)
        bl.addWidget(self.plot, 1)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.table)
        splitter.addWidget(bottom)
        splitter.setStretchFactor(1, 1)
        splitter.setChildrenCollapsible(False)
        self.splitter = splitter

        self.empty = QLabel("No runs to compare yet. Train a deep model and a baseline (Model tab: "
                            "'Linear baseline' or 'k-mer baseline') on the same data to see which wins.")
        self.empty.setWordWrap(True)
        self.empty.setStyleSheet("color: #5f6368;")
        lay = QVBoxLayout(self)
        lay.addWidget(self.verdict)
        lay.addWidget(self.empty)
        lay.addWidget(self.rename_message)
        lay.addWidget(splitter, 1)

        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        self.metric_combo.currentIndexChanged.connect(self._draw_curves)
        self.export_button.clicked.connect(self._export_clicked)
        self.rename_action.triggered.connect(self._rename_clicked)
        self.model.sigRenameRequested.connect(self.rename_run)
        self.set_runs([])

    # ---- public API --------------------------------------------------------------------------------------
    def set_runs(self, runs: list[Run]) -> None:
        """Show these runs (e.g. every run folder of the project)."""
        selected = self.selected_run_dir()
        self._runs = list(runs)
        self._rows = S.compare_runs(self._runs)
        tasks = [r.info.task for r in self._runs]
        task = max(set(tasks), key=tasks.count) if tasks else "binary"
        names = []
        for r in self._runs:
            names += [k[5:] for k in r.metrics if k.startswith("test_") and k[5:] not in names]
        order = [m for m in METRIC_ORDER.get(task, ()) if m in names]
        for t in ("binary", "multiclass", "regression"):
            order += [m for m in METRIC_ORDER[t] if m in names and m not in order]
        order += [m for m in names if m not in order]
        self.model.set_rows(self._rows, order)
        self.table.resizeColumnsToContents()
        self.table.setColumnWidth(0, min(max(self.table.columnWidth(0), 140), 280))
        rows_height = (self.table.horizontalHeader().sizeHint().height() + 2 * self.table.frameWidth() + 4
                       + self.table.verticalHeader().defaultSectionSize() * max(len(runs), 3)
                       + self.table.horizontalScrollBar().sizeHint().height())  # wide rows scroll sideways
        self.splitter.setSizes([min(rows_height, 320), max(self.height() - min(rows_height, 320), 300)])
        self.proxy.sort(-1)
        self.table.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)

        self.metric_combo.blockSignals(True)
        previous = self.metric_combo.currentData()
        self.metric_combo.clear()
        val_names = []
        for r in self._runs:
            for row in r.history:
                val_names += [k[4:] for k in row if k.startswith("val_") and k[4:] not in val_names]
            val_names += [k[4:] for k in r.metrics if k.startswith("val_") and k[4:] not in val_names]
        main = S.MAIN_METRIC.get(task, "loss")
        val_names.sort(key=lambda m: (m != main, m != "loss", m))
        for m in val_names:
            self.metric_combo.addItem(f"Validation {METRIC_LABELS.get(m, m)}", m)
        i = self.metric_combo.findData(previous)
        self.metric_combo.setCurrentIndex(i if i >= 0 else 0)
        self.metric_combo.blockSignals(False)

        has = bool(self._runs)
        self.empty.setVisible(not has)
        self.table.setEnabled(has)
        self.export_button.setEnabled(has)
        self.verdict.setText(self._verdict_html())
        self.verdict.setVisible(has)
        self._draw_curves()
        if selected:
            self.select_run(selected, emit=False)

    def runs(self) -> list[Run]:
        return list(self._runs)

    def comparisons(self) -> list[S.RunComparison]:
        """The rows, in the order of ``set_runs`` (not the sorted view order)."""
        return list(self._rows)

    def selected_run_dir(self) -> str:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        if not rows:
            return ""
        return str(self.model.rows[self.proxy.mapToSource(rows[0]).row()].run.path)

    def select_run(self, run_dir: str, emit: bool = True) -> bool:
        """Select the row of a run folder; returns False when it is not listed."""
        for r, c in enumerate(self.model.rows):
            if str(c.run.path) == str(run_dir):
                if not emit:
                    self.table.selectionModel().blockSignals(True)
                self.table.selectRow(self.proxy.mapFromSource(self.model.index(r, 0)).row())
                if not emit:
                    self.table.selectionModel().blockSignals(False)
                    self.plot.set_emphasis(str(c.run.path))
                return True
        return False

    @Slot(str, str)
    def rename_run(self, run_dir: str, name: str) -> bool:
        """Store ``name`` as the display name of the run in ``run_dir`` (run.json; an empty name restores the
        folder name), reload it in the table and emit ``sigRunRenamed``; a refusal is shown above the table."""
        try:
            rename_run(run_dir, name)
            run = load_run(run_dir)
        except BioDeepError as exc:
            self.rename_message.setText(f"Could not rename the run: {exc}")
            self.rename_message.show()
            return False
        self.rename_message.hide()
        self.set_runs([run if str(r.path) == str(run.path) else r for r in self._runs])
        self.sigRunRenamed.emit(str(run.path))
        return True

    @Slot()
    def _rename_clicked(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        if rows:
            self.table.edit(rows[0].siblingAtColumn(0))

    def view_order(self) -> list[str]:
        """Run names from top to bottom as the table shows them now."""
        return [self.proxy.data(self.proxy.index(r, 0)) for r in range(self.proxy.rowCount())]

    def export_figure(self, path, width: int | None = None):
        """Write the curves to ``path`` (.png or .svg)."""
        return self.plot.export(path, width or max(800, 2 * self.plot.width()))

    # ---- internals ---------------------------------------------------------------------------------------
    def _verdict_html(self) -> str:
        """One sentence per test set: does the deep model chosen by validation beat the baseline chosen by
        validation on the test sequences, by how much, how sure (intervals, paired p-value)."""
        lines = []
        for group in dict.fromkeys(c.group for c in self._rows):
            members = [c for c in self._rows if c.group == group]
            deep = [c for c in members if not c.baseline and math.isfinite(c.val_value)]
            base = [c for c in members if c.baseline and math.isfinite(c.val_value)]
            metric = METRIC_LABELS.get(members[0].main_metric, members[0].main_metric)
            higher = HIGHER_IS_BETTER.get(members[0].main_metric, True)
            pick = (lambda cs: max(cs, key=lambda c: c.val_value if higher else -c.val_value))
            if deep and base:
                d, b = pick(deep), pick(base)
                diff = d.main_value - b.main_value
                paired = d.paired
                sure = paired is not None and math.isfinite(paired.get("p_value", math.nan)) \
                    and paired["p_value"] < 0.05
                better = diff > 0 if higher else diff < 0
                verb = (("beats" if better else "falls short of") if sure else "is not distinguishable from")
                colour = ("#1e7b34" if better else "#b3261e") if sure else "#5f6368"
                test = (f"test {metric} {_with_ci(d.main_value, d.interval)} vs {_with_ci(b.main_value, b.interval)}"
                        f", difference <span style='color:{colour}'><b>{diff:+.3f}</b></span>")
                if paired is not None and math.isfinite(paired.get("p_value", math.nan)):
                    test += (f" (95 % CI {paired['low']:+.3f} to {paired['high']:+.3f}, paired bootstrap "
                             f"p = {format_p(paired['p_value'])}, {paired['n']:,} test sequences)")
                else:
                    test += " (no saved test predictions for a paired test)"
                lines.append(f"<b>{_esc(d.run.name)}</b> ({_esc(arch_label(d.run.info.arch))}) {verb} the "
                             f"baseline <b>{_esc(b.run.name)}</b> ({_esc(arch_label(b.run.info.arch))}): {test}. "
                             f"<span style='color:#5f6368'>Both chosen by validation {metric}.{_subset_note(b.run)}"
                             "</span>")
            elif deep:
                d = pick(deep)
                lines.append(f"Chosen by validation {metric}: <b>{_esc(d.run.name)}</b>, test {metric} "
                             f"{_with_ci(d.main_value, d.interval)}. Train a linear or k-mer baseline on the same "
                             "data to see whether deep learning is worth it here.")
            elif base:
                b = pick(base)
                lines.append(f"Best baseline by validation {metric}: <b>{_esc(b.run.name)}</b>, test {metric} "
                             f"{_with_ci(b.main_value, b.interval)}. No deep model evaluated on these sequences "
                             f"yet.{_subset_note(b.run)}")
            elif members:
                lines.append("<span style='color:#5f6368'>These runs have no validation score to choose "
                             "between them.</span>")
        if len(lines) > 1:
            lines.append("<span style='color:#5f6368'>Runs on different test sequences (other data or split seed) "
                         "are compared only within their own set.</span>")
        return "<br>".join(lines)

    def _draw_curves(self, *_):
        self.plot.clear_curves()
        metric = self.metric_combo.currentData()
        if not metric:
            self.plot.set_title("Validation score per epoch")
            return
        label = METRIC_LABELS.get(metric, metric)
        self.plot.set_title(f"Validation {label} per epoch")
        self.plot.getPlotItem().setLabel("left", f"Validation {label}", color="#222222")
        key = f"val_{metric}"
        max_epoch = 1
        for r in self._runs:
            epochs = [row.get("epoch") for row in r.history]
            if epochs and all(isinstance(e, float) and math.isfinite(e) for e in epochs):
                max_epoch = max(max_epoch, int(max(epochs)))
        higher = HIGHER_IS_BETTER.get(metric, True)
        for i, c in enumerate(self._rows):
            run = c.run
            colour = series_colour(i)
            if run.history and any(key in row for row in run.history):
                x = np.array([row.get("epoch", j + 1) for j, row in enumerate(run.history)], float)
                y = np.array([row.get(key, math.nan) for row in run.history], float)
                if not np.isfinite(y).any():
                    continue
                self.plot.add_curve(str(run.path), x, y, run.name, colour, symbol="o" if len(x) < 30 else None)
                best = run.doc.get("best_epoch") or 0
                hit = np.flatnonzero(x == best)
                if hit.size and math.isfinite(y[hit[0]]):
                    self.plot.mark_point(best, float(y[hit[0]]), colour)
            else:
                v = run.metrics.get(key, math.nan)
                if isinstance(v, (int, float)) and math.isfinite(v):
                    # with baselines alone there is one "epoch": the line spans half an epoch either side of it
                    span = [1.0, float(max_epoch)] if max_epoch > 1 else [0.5, 1.5]
                    self.plot.add_curve(str(run.path), np.array(span), np.array([v, v]),
                                        f"{run.name} (baseline)", colour, dashed=True)
        self.plot.getPlotItem().setLabel("bottom", "Epoch" + ("" if higher else " (lower is better)"),
                                         color="#222222")
        self.plot.set_integer_x(max_epoch)
        self.plot.place_legend_outside()  # many runs: a legend inside the axes would hide curves
        self.plot.getPlotItem().enableAutoRange()
        self.plot.set_emphasis(self.selected_run_dir() or None)

    def _selection_changed(self, *_):
        run_dir = self.selected_run_dir()
        self.plot.set_emphasis(run_dir or None)
        if run_dir:
            self.sigRunSelected.emit(run_dir)

    def _export_clicked(self) -> None:
        path = choose_save_path(self, "Export figure", "compare_runs.png", EXPORT_FORMATS, refuse=self._refused)
        if path is None:
            return
        try:
            self.export_figure(path)
        except (OSError, ValueError) as exc:
            self._refused(f"The figure could not be saved: {exc}")

    def _refused(self, message: str) -> None:
        self.verdict.setText(self._verdict_html() + f"<br><span style='color:#b3261e'>{_esc(message)}</span>")


def format_p(p: float) -> str:
    """A p-value as a person reads it: 0.032, 0.41, < 0.001."""
    if not math.isfinite(p):
        return "—"
    return "< 0.001" if p < 0.001 else f"{p:.3f}" if p < 0.01 else f"{p:.2f}"


def _subset_fit(run: Run) -> str:
    """'fitted on 100 of 400 training sequences (random subset, seed 0)' for a baseline fitted on a subset of its
    training split (genome-scale data, see ``baselines.BASELINE_MAX_TRAIN``); else ''."""
    base = run.doc.get("baseline") if isinstance(run.doc, dict) else None
    if not isinstance(base, dict) or not base.get("n_fitted", 0) < base.get("n_train", 0):
        return ""
    return describe_fit(base)


def _subset_note(run: Run) -> str:
    """``_subset_fit`` as an HTML sentence naming the run (with a leading space), or ''."""
    fit = _subset_fit(run)
    return f" {_esc(run.name)} was {_esc(fit)}." if fit else ""


def _with_ci(value: float, interval) -> str:
    lo, hi = interval
    if math.isfinite(value) and math.isfinite(lo) and math.isfinite(hi):
        return f"{format_metric(value)} [{format_metric(lo)}, {format_metric(hi)}]"
    return format_metric(value)


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
