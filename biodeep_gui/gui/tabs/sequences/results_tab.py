"""The Results tab: how well one trained run does on its held-out test set.

``show_run(run)`` reads the run folder's metrics and saved test predictions and draws what fits the task:
ROC and precision-recall curves (binary), a confusion matrix (multiclass) or predicted against measured values
(regression). Every number comes from ``biodeep_gui.core.metrics``; this tab only lays them out.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDoubleSpinBox,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QScrollArea,
    QSplitter,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)
from safetensors import SafetensorError

from biodeep_gui.core.common import metrics as M
from biodeep_gui.core.sequences.models import ARCHITECTURES
from biodeep_gui.core.sequences.run import Run
from biodeep_gui.core.sequences.summary import test_intervals
from biodeep_gui.gui.glossary import METRIC_HELP, METRIC_TERMS
from biodeep_gui.gui.session import choose_save_path
from biodeep_gui.gui.widgets.plots import (
    AXIS_COLOUR,
    EXPORT_FORMATS,
    ConfusionMatrixPlot,
    ScatterPlot,
    add_legend,
    export_figure,
    format_metric,
    series_colour,
    style_plot,
)

#: How each metric is named (its glossary term) and explained to a biologist: one place, ``gui.glossary``.
METRIC_LABELS = METRIC_TERMS
METRIC_ORDER = {"binary": ("auroc", "auprc", "accuracy", "f1"),
                "multiclass": ("accuracy", "balanced_accuracy", "f1", "auroc"),
                "regression": ("pearson", "spearman", "r2", "mse")}
STATUS_TEXT = {"complete": "complete", "cancelled": "stopped early by you (evaluated with the best epoch so far)",
               "training": "still training (or interrupted)", "failed": "failed"}
STATUS_COLOUR = {"complete": "#1e7b34", "cancelled": "#b06000", "training": "#b06000", "failed": "#b3261e"}


def metric_names(task: str, metrics: dict[str, float]) -> list[str]:
    """Metric names (without test_/val_) in display order: the task's usual ones first, then any others."""
    seen = [k.split("_", 1)[1] for k in metrics if k.startswith(("test_", "val_"))]
    first = [m for m in METRIC_ORDER.get(task, ()) if m in seen]
    return first + sorted(set(seen) - set(first), key=seen.index)


def arch_label(arch: str) -> str:
    spec = ARCHITECTURES.get(arch)
    return spec.label if spec else arch


class ResultsTab(QWidget):
    """Test metrics and diagnostic plots of one run.

    Signals
    -------
    sigFigureExported(str) : path of a figure just written by "Export figure…"
    """

    sigFigureExported = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._run: Run | None = None
        self._preds: dict[str, np.ndarray] | None = None

        self.title = QLabel()
        f = QFont()
        f.setPointSize(f.pointSize() + 4)
        f.setBold(True)
        self.title.setFont(f)
        self.subtitle = QLabel()
        self.subtitle.setTextFormat(Qt.TextFormat.RichText)
        self.subtitle.setWordWrap(True)
        self.path_label = QLabel()
        self.path_label.setStyleSheet("color: #5f6368;")
        self.path_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.output_combo = QComboBox()
        self.output_combo.setToolTip("Which label column (task) the plots show; metrics in the table are "
                                     "averaged over all of them.")
        self.output_label = QLabel("Plot label:")
        self.export_button = QPushButton("Export figure…")
        self.export_button.setToolTip("Save the plot shown as a PNG image or an SVG vector figure "
                                      "(for papers and slides).")
        self.notice = QLabel()
        self.notice.setWordWrap(True)
        self.notice.setStyleSheet("color: #b3261e;")
        self.notice.hide()

        self.metrics_table = QTableWidget(0, 4)
        self.metrics_table.setHorizontalHeaderLabels(["Metric", "Test", "95 % interval", "Validation"])
        self.metrics_table.horizontalHeaderItem(1).setToolTip("On the held-out test set: never used for training "
                                                              "or for choosing the epoch. Quote these.")
        self.metrics_table.horizontalHeaderItem(2).setToolTip(
            "95 % bootstrap interval of the test value: the range it would take on most other test sets of the same "
            "size (1,000 resamples of the test sequences, within each class). Quote it with the value.")
        self.metrics_table.horizontalHeaderItem(3).setToolTip("On the validation set, which chose the best epoch "
                                                              "(slightly optimistic).")
        self.metrics_table.verticalHeader().hide()
        self.metrics_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.metrics_table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.metrics_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.metrics_table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.metrics_table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.metrics_table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.metrics_table.setMinimumWidth(250)
        self.metrics_table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.threshold = QDoubleSpinBox()
        self.threshold.setRange(0.0, 1.0)
        self.threshold.setSingleStep(0.05)
        self.threshold.setDecimals(2)
        self.threshold.setValue(0.5)
        self.threshold.setToolTip("A sequence is called bound when its predicted probability is at least this. "
                                  "AUROC and AUPRC do not depend on it; the calls below do.")
        self.calls = QLabel()
        self.calls.setTextFormat(Qt.TextFormat.RichText)
        self.calls.setWordWrap(True)
        self.calls.setToolTip("Test sequences called bound or not at the threshold, against their true label: "
                              "sensitivity = bound sequences found, specificity = unbound sequences left out.")
        self.calls_box = QWidget()
        cl = QVBoxLayout(self.calls_box)
        cl.setContentsMargins(0, 8, 0, 0)
        row = QHBoxLayout()
        row.addWidget(QLabel("<b>Calls at threshold</b>"))
        row.addWidget(self.threshold)
        row.addStretch(1)
        cl.addLayout(row)
        cl.addWidget(self.calls)
        self.details = QLabel()
        self.details.setTextFormat(Qt.TextFormat.RichText)
        self.details.setWordWrap(True)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details.setAlignment(Qt.AlignmentFlag.AlignTop)

        self._build_plots()

        head = QVBoxLayout()
        head.addWidget(self.title)
        head.addWidget(self.subtitle)
        head.addWidget(self.path_label)
        tools = QHBoxLayout()
        tools.addWidget(self.output_label)
        tools.addWidget(self.output_combo)
        tools.addStretch(1)
        tools.addWidget(self.export_button)

        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addLayout(tools)
        rl.addWidget(self.plots, 1)
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        caption = QLabel("<b>Test metrics</b>")
        caption.setToolTip("Averaged over the label columns when there are several.")
        ll.addWidget(caption)
        ll.addWidget(self.metrics_table)
        ll.addWidget(self.calls_box)
        ll.addSpacing(8)
        ll.addWidget(QLabel("<b>About this run</b>"))
        ll.addWidget(self.details)
        ll.addStretch(1)
        # metrics, calls at a threshold and the run's details are taller than a 640-pixel window leaves: the
        # column scrolls vertically rather than cut the details
        self.left_scroll = QScrollArea()
        self.left_scroll.setWidget(left)
        self.left_scroll.setWidgetResizable(True)
        self.left_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.left_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.left_scroll)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([300, 900])
        splitter.setChildrenCollapsible(False)

        self.body = QStackedWidget()
        self.empty = QLabel("No results yet.\n\nTrain a model (Training tab) or open a saved run "
                            "(File ▸ Open run) to see how well it predicts its test sequences.")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)  # large type: wrapped, not cut, in a narrow window
        self.empty.setStyleSheet("color: #5f6368; font-size: 13pt;")
        self.body.addWidget(self.empty)
        page = QWidget()
        pl = QVBoxLayout(page)
        pl.addLayout(head)
        pl.addWidget(self.notice)
        pl.addWidget(splitter, 1)
        self.body.addWidget(page)
        lay = QVBoxLayout(self)
        lay.addWidget(self.body)

        self.export_button.clicked.connect(self._export_clicked)
        self.output_combo.currentIndexChanged.connect(self._draw)
        self.threshold.valueChanged.connect(self._draw)
        self.clear()

    def _build_plots(self) -> None:
        self.plots = QStackedWidget()
        # Binary: ROC and PR side by side in one graphics layout, so one export holds both panels.
        self.curves_view = pg.GraphicsLayoutWidget()
        self.curves_view.setBackground("w")
        self.roc_item = self.curves_view.addPlot(row=0, col=0)
        self.pr_item = self.curves_view.addPlot(row=0, col=1)
        style_plot(self.roc_item, "ROC curve", "False positive rate", "True positive rate")
        style_plot(self.pr_item, "Precision-recall curve", "Recall", "Precision")
        for item in (self.roc_item, self.pr_item):
            item.disableAutoRange()  # rates and precision live in [0, 1]: keep the axes there
            item.setRange(xRange=(0, 1), yRange=(0, 1), padding=0.02)
            item.setMenuEnabled(False)
        self.roc_legend = add_legend(self.roc_item, offset=(-10, -10))
        self.pr_legend = add_legend(self.pr_item, offset=(10, -10))
        self.roc_curve = pg.PlotDataItem(pen=pg.mkPen(series_colour(0), width=2.5))
        self.pr_curve = pg.PlotDataItem(pen=pg.mkPen(series_colour(1), width=2.5))
        dash = pg.mkPen("#888888", width=1, style=Qt.PenStyle.DashLine)
        self.roc_chance = pg.PlotDataItem([0, 1], [0, 1], pen=dash)
        self.pr_chance = pg.PlotDataItem(pen=dash)
        for item, curve, chance in ((self.roc_item, self.roc_curve, self.roc_chance),
                                    (self.pr_item, self.pr_curve, self.pr_chance)):
            item.addItem(chance)
            item.addItem(curve)
        self.curves_view.setToolTip("ROC: how many bound sequences are found (y) for each share of false alarms "
                                    "(x). Precision-recall: how pure the predictions are as more are called "
                                    "bound. Dashed: what guessing gives.")
        self.plots.addWidget(self.curves_view)

        self.confusion_plot = ConfusionMatrixPlot()
        self.confusion_plot.setToolTip("Rows: the true class; columns: the predicted class (highest probability). "
                                       "The diagonal holds the correct predictions.")
        self.plots.addWidget(self.confusion_plot)
        self.scatter_plot = ScatterPlot("Predicted against measured", "Measured value", "Predicted value")
        self.scatter_plot.setToolTip("Each point is one test sequence; on the dashed line prediction = measurement.")
        self.plots.addWidget(self.scatter_plot)
        self.no_plot = QLabel()
        self.no_plot.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.no_plot.setWordWrap(True)
        self.no_plot.setStyleSheet("color: #5f6368;")
        self.plots.addWidget(self.no_plot)

    # ---- public API --------------------------------------------------------------------------------------
    def show_run(self, run: Run) -> None:
        """Show a run: header, metrics table and the plot that fits its task."""
        self._run = run
        self.notice.hide()
        info = run.info
        self.title.setText(run.name)
        best = run.doc.get("best_epoch") or 0
        epochs = len(run.history)
        status = run.status
        colour = STATUS_COLOUR.get(status, AXIS_COLOUR)
        status_text = STATUS_TEXT.get(status, status)
        if status == "failed" and run.doc.get("error"):
            status_text += f": {_esc(str(run.doc['error']))}"
        parts = [f"<b>{_esc(arch_label(info.arch))}</b>", f"<span style='color:{colour}'>{status_text}</span>"]
        if epochs:
            parts.append(f"best epoch {best} of {epochs}")
        else:
            parts.append("fitted in one step (no epochs)")
        if info.n_parameters:
            parts.append(f"{info.n_parameters:,} parameters")
        task = {"multiclass": f"{len(info.class_names)}-class task"}.get(info.task, f"{info.task} task")
        if info.task in ("binary", "regression") and len(info.label_names) > 1:
            task += f" × {len(info.label_names)} labels (metrics averaged)"
        parts.append(f"{task} on {info.length:,} bp")
        self.subtitle.setText(" · ".join(parts))
        self.path_label.setText(str(run.path))
        self._fill_metrics(run)
        self.details.setText(self._details_html(run))

        self._preds = None
        try:
            self._preds = run.predictions()
        except (OSError, ValueError, SafetensorError) as exc:
            self._show_notice(f"{run.path}: the saved test predictions could not be read ({exc}); "
                              "the metrics above are from the run's metrics file.")
        self.output_combo.blockSignals(True)
        self.output_combo.clear()
        names = list(info.label_names) or ["output"]
        if info.task in ("binary", "regression"):
            self.output_combo.addItems(names)
        self.output_combo.blockSignals(False)
        multi = self.output_combo.count() > 1
        self.output_combo.setVisible(multi)
        self.output_label.setVisible(multi)
        self.body.setCurrentIndex(1)
        self._draw()

    def clear(self) -> None:
        """Back to the empty state (no run)."""
        self._run = None
        self._preds = None
        self.metrics_table.setRowCount(0)
        self.calls_box.hide()
        self.roc_curve.setData([], [])
        self.pr_curve.setData([], [])
        self.scatter_plot.set_points(np.zeros(0), np.zeros(0))
        self.confusion_plot.set_matrix(np.zeros((0, 0)), [])
        self.body.setCurrentIndex(0)
        self.export_button.setEnabled(False)

    def current_run(self) -> Run | None:
        return self._run

    def metric_text(self, name: str, column: str = "test") -> str:
        """The text shown for a metric (e.g. ``metric_text('auroc')``); '' when the row is absent."""
        col = {"test": 1, "interval": 2, "val": 3, "validation": 3}[column]
        for r in range(self.metrics_table.rowCount()):
            if self.metrics_table.item(r, 0).data(Qt.ItemDataRole.UserRole) == name:
                return self.metrics_table.item(r, col).text()
        return ""

    def current_plot(self) -> QWidget:
        """The plot widget shown now (the ROC/PR layout, confusion matrix, scatter, or a message)."""
        return self.plots.currentWidget()

    def export_figure(self, path: str | Path, width: int | None = None) -> Path:
        """Write the plot shown to ``path`` (.png or .svg); PNG ``width`` defaults to twice the on-screen width."""
        widget = self.plots.currentWidget()
        if widget is self.no_plot:
            raise ValueError("there is no plot to export for this run")
        return export_figure(widget, path, width or max(800, 2 * widget.width()))

    # ---- internals ---------------------------------------------------------------------------------------
    def _fill_metrics(self, run: Run) -> None:
        names = metric_names(run.info.task, run.metrics)
        self.metrics_table.setRowCount(len(names))
        bold = QFont()
        bold.setBold(True)
        intervals = test_intervals(run)
        for r, name in enumerate(names):
            label = QTableWidgetItem(METRIC_LABELS.get(name, name))
            label.setData(Qt.ItemDataRole.UserRole, name)
            label.setToolTip(METRIC_HELP.get(name, ""))
            self.metrics_table.setItem(r, 0, label)
            for c, prefix in ((1, "test_"), (2, "val_")):
                v = run.metrics.get(prefix + name, math.nan)
                item = QTableWidgetItem(format_metric(v if isinstance(v, (int, float)) else math.nan))
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                item.setToolTip(METRIC_HELP.get(name, ""))
                if c == 1:
                    item.setFont(bold)
                self.metrics_table.setItem(r, c if c == 1 else 3, item)
            lo, hi = intervals.get(name, (math.nan, math.nan))
            shown = math.isfinite(lo) and math.isfinite(hi)
            item = QTableWidgetItem(f"{format_metric(lo)} to {format_metric(hi)}" if shown else "—")
            item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            item.setToolTip(self.metrics_table.horizontalHeaderItem(2).toolTip() if shown else
                            "No interval: the run stored none and its test predictions are not available.")
            self.metrics_table.setItem(r, 2, item)
        # Fit the table to its rows so the run details sit right under it.
        height = self.metrics_table.horizontalHeader().height() + 2 * self.metrics_table.frameWidth()
        height += sum(self.metrics_table.rowHeight(r) for r in range(len(names)))
        self.metrics_table.setFixedHeight(height)
        if not names:
            self._show_notice("This run has no test metrics (it was not evaluated: cancelled before the first "
                              "epoch ended, or still training).")
        self.metrics_table.resizeColumnsToContents()
        # the whole table stays readable: the left pane is at least as wide as its columns
        self.metrics_table.setMinimumWidth(sum(self.metrics_table.columnWidth(c) for c in range(4))
                                           + 2 * self.metrics_table.frameWidth())
        bar = self.left_scroll.verticalScrollBar().sizeHint().width()
        self.left_scroll.setMinimumWidth(self.left_scroll.widget().minimumSizeHint().width() + bar)

    @staticmethod
    def _details_html(run: Run) -> str:
        prov, cfg = run.provenance, run.config
        rows = []
        if prov.get("created"):
            rows.append(("Trained", str(prov["created"]).replace("T", " ").split("+")[0]))
        if prov.get("device"):
            rows.append(("Device", str(prov["device"])))
        rows.append(("Seed", str(cfg.train.seed)))
        if run.history:
            elapsed = run.history[-1].get("elapsed_s")
            if isinstance(elapsed, float) and math.isfinite(elapsed):
                rows.append(("Training time", f"{elapsed:,.1f} s over {len(run.history)} epochs"))
            rows.append(("Batch size, learning rate", f"{cfg.train.batch_size}, {cfg.train.lr:g}"))
        base = run.doc.get("baseline") if isinstance(run.doc, dict) else None
        if isinstance(base, dict) and "C" in base:  # a linear / k-mer baseline: its C and what it was fitted on
            from biodeep_gui.core.sequences.baselines import describe_fit

            how = f" (chosen on the validation set by {base.get('monitor', '?')})" if base.get(
                "C_chosen_on_validation") else ""
            fitted = describe_fit(base)
            rows.append(("Baseline", _esc(f"C = {base['C']:g}{how}" + (f"; {fitted}" if fitted else ""))))
        files = cfg.data.input_files()
        if files:
            rows.append(("Data", "<br>".join(_esc(Path(p).name) for p in files)))
        versions = ", ".join(f"{k} {prov[k]}" for k in ("biodeep", "torch") if prov.get(k))
        if versions:
            rows.append(("Software", versions))
        cells = "".join(f"<tr><td style='padding-right:10px; color:#5f6368'>{k}</td><td>{v}</td></tr>"
                        for k, v in rows)
        return f"<table>{cells}</table>"

    def _show_notice(self, text: str) -> None:
        self.notice.setText(text)
        self.notice.show()

    def _draw(self, *_):
        run, preds = self._run, self._preds
        if run is None:
            return
        task = run.info.task
        self.calls_box.hide()  # binary runs show it again
        if not preds or "y_true" not in preds or "y_pred" not in preds or not len(preds["y_true"]):
            self._no_plot("No test predictions were saved with this run, so there is no curve to draw.")
            return
        y_true = np.asarray(preds["y_true"], np.float64).reshape(len(preds["y_true"]), -1)
        y_pred = np.asarray(preds["y_pred"], np.float64).reshape(len(preds["y_pred"]), -1)
        t = max(self.output_combo.currentIndex(), 0)
        if task == "binary":
            self._draw_binary(run, y_true[:, t:t + 1], y_pred[:, t:t + 1])
        elif task == "multiclass":
            n = run.info.n_outputs
            counts = M.confusion(y_true[:, 0], y_pred.argmax(axis=1), n)
            acc = M.multiclass_metrics(y_true[:, 0], y_pred)["accuracy"]
            names = list(run.info.class_names) or [str(i) for i in range(n)]
            self.confusion_plot.set_matrix(counts, names)
            self.confusion_plot.set_title(f"Confusion matrix: {len(y_true):,} test sequences, accuracy "
                                          f"{format_metric(acc)}")
            self._show_plot(self.confusion_plot)
        elif task == "regression":
            m = M.regression_metrics(y_true[:, t:t + 1], y_pred[:, t:t + 1])
            self.scatter_plot.set_points(y_true[:, t], y_pred[:, t],
                                         note=f"Pearson r = {format_metric(m['pearson'])}   "
                                              f"R² = {format_metric(m['r2'])}")
            name = self.output_combo.currentText() or "target"
            self.scatter_plot.set_title(f"Predicted against measured {name} ({len(y_true):,} test sequences)")
            self._show_plot(self.scatter_plot)
        else:
            self._no_plot(f"No plot for a {task} task.")

    def _show_calls(self, y: np.ndarray, p: np.ndarray) -> None:
        """The 2 x 2 table of calls at the chosen threshold, from the saved test predictions."""
        c = M.threshold_counts(y[:, 0], p[:, 0], self.threshold.value())
        cell = "style='padding:2px 8px; text-align:right'"
        head = "style='padding:2px 8px; color:#5f6368'"
        self.calls.setText(
            f"<table><tr><td></td><td {head}>called bound</td><td {head}>called unbound</td></tr>"
            f"<tr><td {head}>bound</td><td {cell}>{c['tp']:,}</td><td {cell}>{c['fn']:,}</td></tr>"
            f"<tr><td {head}>unbound</td><td {cell}>{c['fp']:,}</td><td {cell}>{c['tn']:,}</td></tr></table>"
            f"Sensitivity {format_metric(c['sensitivity'])} · specificity {format_metric(c['specificity'])} · "
            f"precision {format_metric(c['precision'])}")
        self.calls_box.show()

    def _draw_binary(self, run: Run, y: np.ndarray, p: np.ndarray) -> None:
        self._show_calls(y, p)
        m = M.binary_metrics(y, p)
        if not math.isfinite(m["auroc"]):
            self._no_plot("The test set holds only one class for this label, so ROC and precision-recall "
                          "curves are undefined. Use a larger test set.")
            return
        c = M.roc_pr_curves(y, p)
        self.roc_legend.clear()
        self.pr_legend.clear()
        self.roc_curve.setData(c["fpr"], c["tpr"])
        self.pr_curve.setData(c["recall"], c["precision"])
        positives = float(np.mean(y[:, 0] > 0.5))
        self.pr_chance.setData([0, 1], [positives, positives])
        who = run.name if self.output_combo.count() < 2 else f"{run.name} ({self.output_combo.currentText()})"
        self.roc_legend.addItem(self.roc_curve, f"{who}: AUROC = {format_metric(m['auroc'])}")
        self.roc_legend.addItem(self.roc_chance, "guessing (0.5)")
        self.pr_legend.addItem(self.pr_curve, f"{who}: AUPRC = {format_metric(m['auprc'])}")
        self.pr_legend.addItem(self.pr_chance, f"guessing ({positives:.2f})")
        n = len(y)
        self.roc_item.setTitle(f"ROC curve ({n:,} test sequences)", color=AXIS_COLOUR, size="11pt")
        self.pr_item.setTitle("Precision-recall curve", color=AXIS_COLOUR, size="11pt")
        self._show_plot(self.curves_view)

    def _show_plot(self, widget: QWidget) -> None:
        self.plots.setCurrentWidget(widget)
        self.export_button.setEnabled(True)

    def _no_plot(self, text: str) -> None:
        self.no_plot.setText(text)
        self.plots.setCurrentWidget(self.no_plot)
        self.export_button.setEnabled(False)

    def _export_clicked(self) -> None:
        run = self._run
        # beside the run folder: files inside it are the run's own, written by training only
        start = str(Path(run.path).parent / f"{run.name}_results.png") if run else ""
        path = choose_save_path(self, "Export figure", start, EXPORT_FORMATS,
                                inputs=[str(run.path) if run else ""], refuse=self._show_notice)
        if path is None:
            return
        try:
            written = self.export_figure(path)
        except (OSError, ValueError) as exc:
            self._show_notice(f"The figure could not be saved: {exc}")
            return
        self.notice.hide()
        self.sigFigureExported.emit(str(written))


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

