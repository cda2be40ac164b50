"""The Training tab: start and stop a run, follow its progress and curves, read its log.

The tab does not train: Start emits ``sigStartRequested``, the window runs ``core.experiment.train_run`` (or
``core.scans_training.train_scans``, whose folds and phases each start with ``begin_phase``) through a
``TaskRunner`` and hands over what it yields with ``add_items``. Items are only stored on arrival; a ~10 Hz timer
updates the progress bar, the labels and the curves, so a fast stream of reports never floods the event loop.
Report types are recognised by class name: importing ``core.training`` would import torch on the GUI thread.
"""
from __future__ import annotations

import math
import time
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtGui import QFontDatabase, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from biodeep_gui.core.common.errors import BioDeepError
from biodeep_gui.core.common.words import count_words
from biodeep_gui.core.scans.config import ARM_NAMES
from biodeep_gui.gui.widgets.curves import METRIC_LABELS, REDRAW_MS, TrainingCurves

LOG_LINES = 5000


def format_duration(seconds: float) -> str:
    """'42 s', '3 min 05 s', '1 h 02 min'; '' when unknown."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return ""
    s = int(round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {(s % 3600) // 60:02d} min"


class TrainingTab(QWidget):
    """Start / Stop, progress with epoch, batch, ETA and speed, live curves and a log.

    Signals
    -------
    sigStartRequested() : the user pressed Start
    sigStopRequested() : the user pressed Stop
    """

    sigStartRequested = Signal()
    sigStopRequested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self._running = False
        self._unit, self._title = "sequences", ""
        self._last_batch = None
        self._last_epoch = None
        self._epochs_total = 0
        self._started_at = 0.0
        self._status_dirty = False

        self.start_button = QPushButton("Start training")
        self.start_button.setToolTip("Train the network chosen in the Model tab on the sequences opened in the "
                                     f"Sequences tab ({QKeySequence('Ctrl+R').toString(QKeySequence.NativeText)}).")
        self.start_button.setStyleSheet("QPushButton { font-weight: bold; padding: 6px 18px; }")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop after the current batch (Esc). If at least one epoch has finished, "
                                    "the best epoch so far is evaluated and saved.")
        self.stop_button.setEnabled(False)
        self.run_label = QLabel("Open sequences, choose a network, then press Start.")
        self.run_label.setStyleSheet("color: #5f6368;")
        self.run_label.setWordWrap(True)
        top = QHBoxLayout()
        top.addWidget(self.start_button)
        top.addWidget(self.stop_button)
        top.addWidget(self.run_label, 1)

        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("")
        self.progress.setTextVisible(True)
        self.progress.setToolTip("Epoch and batch of the run; the bar covers the whole run.")
        self.eta_label = QLabel()
        self.eta_label.setToolTip("Time left if every epoch runs (early stopping may end sooner).")
        self.speed_label = QLabel()
        self.speed_label.setToolTip("Training sequences processed per second.")
        prog = QHBoxLayout()
        prog.addWidget(self.progress, 1)
        prog.addWidget(self.eta_label)
        prog.addSpacing(12)
        prog.addWidget(self.speed_label)

        self.curves = TrainingCurves()
        self.curves.setToolTip("Loss: lower is better; the thin line is the running loss within each epoch. "
                               "A validation loss rising while the training loss falls means over-fitting.")
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(LOG_LINES)
        self.log.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.log.setPlaceholderText("Messages of the run appear here.")
        # after a scans run: which fold's phase the curves show (each phase started them afresh while live)
        self.phase_combo = QComboBox()
        self.phase_combo.setToolTip("A scans run trains an autoencoder (and a 3-D CNN) in every fold, then a final "
                                    "fit on every subject: choose whose training curves to see.")
        self.phase_combo.currentIndexChanged.connect(self._phase_chosen)
        self.phase_box = QWidget()
        pb = QHBoxLayout(self.phase_box)
        pb.setContentsMargins(0, 0, 0, 0)
        pb.addWidget(QLabel("Curves of"))
        pb.addWidget(self.phase_combo)
        pb.addStretch(1)
        self.phase_box.hide()
        self._phases: list = []
        # an opened run without curves to draw says so where the curves would be, rather than empty axes
        self.no_curves = QLabel()
        self.no_curves.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.no_curves.setWordWrap(True)
        self.no_curves.setStyleSheet("color: #5f6368; font-size: 11pt;")
        self.no_curves.hide()
        curves_box = QWidget()
        cb = QVBoxLayout(curves_box)
        cb.setContentsMargins(0, 0, 0, 0)
        cb.addWidget(self.phase_box)
        cb.addWidget(self.curves, 1)
        cb.addWidget(self.no_curves, 1)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(curves_box)
        splitter.addWidget(self.log)
        splitter.setStretchFactor(0, 4)
        splitter.setStretchFactor(1, 1)
        splitter.setChildrenCollapsible(False)
        splitter.setSizes([520, 140])

        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addLayout(prog)
        lay.addWidget(splitter, 1)

        self._timer = QTimer(self)
        self._timer.setInterval(REDRAW_MS)
        self._timer.timeout.connect(self._tick)
        self.start_button.clicked.connect(self.sigStartRequested)
        self.stop_button.clicked.connect(self._stop_clicked)

    # ---- public API ---------------------------------------------------------------------------------------
    def begin(self, title: str, epochs: int, description: str = "", unit: str = "sequences") -> None:
        """A run starts: clear the curves, show its name, start the ~10 Hz redraw. ``unit``: what a sample is
        called in the speed label."""
        self._running = True
        self._unit = unit
        self._title = title
        self._last_batch = self._last_epoch = None
        self._epochs_total = epochs
        self._started_at = time.monotonic()
        self.show_phase_curves([])
        self.curves.reset(monitor=None, epochs=epochs)  # the metric's name comes with the first epoch
        self.progress.setRange(0, 0)  # busy until the first batch report (loading, splitting, building)
        self.progress.setFormat("Preparing…")
        self.eta_label.setText("")
        self.speed_label.setText("")
        self.run_label.setText(f"<b>{title}</b>" + (f" — {description}" if description else ""))
        self.run_label.setStyleSheet("")
        self.start_button.setEnabled(False)
        self.stop_button.setEnabled(True)
        self.stop_button.setText("Stop")
        self.log_message(f"Started {title}" + (f": {description}" if description else ""))
        self._timer.start()  # one ~10 Hz timer redraws labels and curves: one GUI-thread wake-up per tick

    def begin_phase(self, message: str, epochs: int, curves: bool = True) -> None:
        """A new phase of a multi-step run (a fold's autoencoder, its classifiers, its 3-D CNN): progress and
        ``curves`` (if it has epochs to follow) start again; ``message`` says what it is."""
        self._last_batch = self._last_epoch = None
        self._epochs_total = epochs
        self.curves.redraw()  # the last points of the previous phase, before they are cleared
        if curves:
            self.curves.reset(monitor=None, epochs=epochs)
        self.progress.setRange(0, 0)
        self.progress.setFormat(message)
        self.run_label.setText(f"<b>{_esc(self._title)}</b> — {_esc(message)}")
        self.log_message(message)

    def add_items(self, items: list) -> None:
        """Store reports from ``train_run``; they are drawn by the next timer tick."""
        for item in items:
            kind = type(item).__name__
            if kind == "BatchReport":
                self._last_batch = item
                self.curves.add_batch(item.epoch, item.batch, item.n_batches, item.loss)
                self._status_dirty = True
            elif kind == "EpochReport":
                self._last_epoch = item
                self._epochs_total = item.epochs
                self.curves.set_monitor(item.monitor)  # no-op when unchanged
                self.curves.add_epoch(item.epoch, item.train_loss, item.val_loss, item.monitor_value,
                                      item.best_epoch)
                self._status_dirty = True
                label = METRIC_LABELS.get(item.monitor, item.monitor)
                self.log_message(f"Epoch {item.epoch}/{item.epochs}: training loss {item.train_loss:.4f}, "
                                 f"validation loss {item.val_loss:.4f}, validation {label} "
                                 f"{item.monitor_value:.4f}" + ("  ★ best so far" if item.is_best else ""))
            elif kind == "StageReport":
                self.log_message(item.message)
            elif kind == "DataReport":
                self.log_message(f"Data: {item.n_train:,} training, {item.n_val:,} validation and {item.n_test:,} "
                                 f"test sequences of {item.length:,} bp; {item.task} task")
            elif kind == "CohortReport":
                counts = ", ".join(f"{k}: {v}" for k, v in item.class_counts.items())
                self.log_message(f"Cohort: {item.n_subjects} subjects ({counts}); "
                                 f"{item.grid or f'{item.n_features:,} features'}")
                for w in item.warnings:
                    self.log_message(f"Warning: {w}")
            elif kind == "FoldResult":
                parts = [f"{ARM_NAMES.get(arm, arm)} accuracy {m.get('accuracy', math.nan):.3f}"
                         for arm, m in item.metrics.items()]
                self.log_message(f"Fold {item.fold}/{item.n_folds} held-out: " + "; ".join(parts))

    def finish(self, summary) -> None:
        """The run ended normally (completed, stopped early or cancelled): ``summary`` is its ``RunSummary``."""
        self._end()
        if summary is None:
            return
        if summary.cancelled and not summary.run_dir:
            self.run_label.setText("Stopped before the first epoch finished; nothing was saved.")
            self.log_message("Stopped before the first epoch finished; nothing was saved.")
            self.progress.setFormat("Stopped")
            return
        main = _main_metric(summary.metrics)
        result = f"test {METRIC_LABELS.get(main, main)} {summary.metrics['test_' + main]:.3f}" if main else ""
        lo, hi = (getattr(summary, "intervals", None) or {}).get(main, (math.nan, math.nan))
        if result and math.isfinite(lo) and math.isfinite(hi):
            result += f" (95 % interval {lo:.3f} to {hi:.3f})"
        if summary.cancelled:
            head = (f"Stopped by you after {count_words(summary.epochs_run, 'epoch')}; the best epoch "
                    f"({summary.best_epoch}) was kept")
        elif summary.stopped_early:
            head = f"Stopped early at epoch {summary.epochs_run}: no improvement; best epoch {summary.best_epoch}"
        elif summary.epochs_run:
            head = f"Finished {summary.epochs_run} epochs; best epoch {summary.best_epoch}"
        else:
            head = "Fitted"
        speed = (f", {summary.samples_per_s:,.0f} sequences/s" if math.isfinite(summary.samples_per_s) else "")
        self.progress.setFormat("Done" if not summary.cancelled else "Stopped")
        if not summary.cancelled:
            self.progress.setValue(self.progress.maximum())
        text = f"{head}{': ' + result if result else ''}. Took {format_duration(summary.elapsed_s)}{speed}."
        self.run_label.setText(f"<b>{text}</b> See the Results tab.")
        self.log_message(text)
        self.log_message(f"Saved in {summary.run_dir}")

    def finish_scans(self, summary) -> None:
        """A brain-scan run ended (completed or stopped): ``summary`` is its ``ScansSummary``."""
        self._end()
        if summary is None:
            return
        if summary.cancelled:
            text = "Stopped by you; nothing was saved." if not summary.run_dir else "Stopped by you."
            self.progress.setFormat("Stopped")
        else:
            self.progress.setFormat("Done")
            self.progress.setValue(self.progress.maximum())
            parts = []
            for arm in ("logistic", "mlp", "cnn", "logistic_features"):
                if arm in summary.metrics:
                    mean, sd = summary.metrics[arm]["accuracy"]
                    parts.append(f"{ARM_NAMES.get(arm, arm)} {mean:.3f} ± {sd:.3f}")
            text = (f"Cross-validated accuracy ({summary.n_folds} folds): " + "; ".join(parts)
                    + f". Took {format_duration(summary.elapsed_s)}.")
        self.run_label.setText(f"<b>{_esc(text)}</b>" + (" See the Reconstructions tab." if not summary.cancelled
                                                          else ""))
        self.log_message(text)
        if summary.run_dir:
            self.log_message(f"Saved in {summary.run_dir}")
            self.load_phase_curves(summary.run_dir)

    def load_phase_curves(self, run_dir: str | Path) -> None:
        """Read a scans run's ``history.csv`` back and offer each fold's phases in the curves chooser."""
        from biodeep_gui.core.scans.reports import phase_curves
        from biodeep_gui.core.training.runs import read_history

        try:
            self.show_phase_curves(phase_curves(read_history(run_dir)))
        except BioDeepError as exc:
            self.log_message(f"The training curves could not be read back: {exc}")

    def show_opened_run(self, name: str, phases: list, problem: str = "") -> None:
        """A finished scans run was opened (File ▸ Open run…, or a followed run ended): offer each fold's curves,
        ``core.scans.reports.PhaseCurves`` read back by ``ScansRun.phase_curves``. Without any (a folder saved
        before per-fold histories; ``problem``: why they could not be read) a plain line takes the curves' place
        and says so. A training going on here keeps its live curves."""
        if self._running:
            return
        self.show_phase_curves(phases)
        if phases:
            folds = count_words(len({p.fold for p in phases if p.fold > 0}), "fold")
            text = f"the training curves of its {folds}, read back from its folder: choose one above"
        else:
            self.curves.reset(monitor=None)
            self.curves.redraw()
            why = problem or "its folder keeps no per-fold training history (it was saved by an older BioDeep)"
            text = f"no training curves to show: {why}"
            self.curves.hide()
            self.no_curves.setText(f"No training curves to show: {why}.")
            self.no_curves.show()
        self.run_label.setText(f"<b>{_esc(name)}</b> — {_esc(text)}.")
        self.run_label.setStyleSheet("")
        self.log_message(f"Opened {name}: {text}.")

    def show_phase_curves(self, phases: list) -> None:
        """Offer ``core.scans.reports.PhaseCurves`` in the chooser and draw the first ([]: hide the chooser)."""
        self._phases = list(phases)
        self.phase_combo.blockSignals(True)
        self.phase_combo.clear()
        self.phase_combo.addItems([p.label for p in self._phases])
        self.phase_combo.blockSignals(False)
        self.phase_box.setVisible(bool(self._phases))
        self.no_curves.hide()
        self.curves.show()
        if self._phases:
            self._phase_chosen(0)

    @Slot(int)
    def _phase_chosen(self, index: int) -> None:
        if 0 <= index < len(self._phases):
            p = self._phases[index]
            self.curves.set_history(p.rows, p.monitor, p.best_epoch)
            self.curves.fit_view()

    def fail(self, message: str) -> None:
        """The run failed: the message goes in the log and in a dialog; the tab is ready for another run."""
        self._end()
        self.progress.setFormat("Failed")
        self.run_label.setText(f"<span style='color:#b3261e'><b>Training failed:</b> {_esc(message)}</span>")
        self.log_message(f"ERROR: {message}")

    def end_following(self, text: str) -> None:
        """Following a run written by another process ended: ``text`` says how (it finished, or you stopped
        following while it goes on)."""
        self._end()
        self.progress.setFormat("Done" if self.progress.value() else "")
        self.run_label.setText(f"<b>{_esc(text)}</b>")
        self.log_message(text)

    def log_message(self, text: str) -> None:
        self.log.appendPlainText(f"{time.strftime('%H:%M:%S')}  {text}")
        bar = self.log.verticalScrollBar()
        bar.setValue(bar.maximum())  # the newest message stays in view

    def is_running(self) -> bool:
        return self._running

    def set_stopping(self) -> None:
        """Stop was requested (button, Esc or menu): say so until the run ends."""
        if self._running:
            self.stop_button.setEnabled(False)
            self.stop_button.setText("Stopping…")
            self.progress.setFormat(self.progress.format() + " — stopping…")
            self.log_message("Stopping after the current batch…")

    def log_text(self) -> str:
        return self.log.toPlainText()

    def export_figure(self, path: str | Path, width: int | None = None) -> Path:
        return self.curves.export_figure(path, width)

    # ---- internals ----------------------------------------------------------------------------------------
    def _stop_clicked(self) -> None:
        self.set_stopping()
        self.sigStopRequested.emit()

    def _end(self) -> None:
        self._running = False
        self._timer.stop()
        self._tick()
        self.curves.fit_view()
        self.start_button.setEnabled(True)
        self.stop_button.setEnabled(False)
        self.stop_button.setText("Stop")
        if self.progress.maximum() == 0:
            self.progress.setRange(0, 1)
        self.eta_label.setText("")

    def _tick(self) -> None:
        self.curves.redraw()  # no-op when nothing new arrived
        if not self._status_dirty:
            return
        self._status_dirty = False
        b, e = self._last_batch, self._last_epoch
        total = max(self._epochs_total, 1)
        if b is not None and (e is None or (b.epoch, b.batch) > (e.epoch, 0)):
            n = max(b.n_batches, 1)
            self.progress.setRange(0, total * n)
            self.progress.setValue(min((b.epoch - 1) * n + b.batch, total * n))
            self.progress.setFormat(f"Epoch {b.epoch}/{total} · batch {b.batch}/{n}")
            self.eta_label.setText(f"about {format_duration(b.eta_s)} left" if b.eta_s > 0 else "")
            self.speed_label.setText(f"{b.samples_per_s:,.0f} {self._unit}/s")
        elif e is not None:
            self.progress.setRange(0, total)
            self.progress.setValue(e.epoch)
            self.progress.setFormat(f"Epoch {e.epoch}/{total} done")
            self.eta_label.setText(f"about {format_duration(e.eta_s)} left" if e.eta_s > 0 else "")
            self.speed_label.setText(f"{e.samples_per_s:,.0f} {self._unit}/s")
        if not self._running:
            return
        if self.stop_button.text() != "Stop":  # keep showing that a stop is under way
            self.progress.setFormat(self.progress.format() + " — stopping…")


def _main_metric(metrics: dict[str, float]) -> str:
    for name in ("auroc", "pearson", "accuracy", "auprc", "spearman", "f1"):
        v = metrics.get(f"test_{name}")
        if isinstance(v, float) and math.isfinite(v):
            return name
    return ""


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
