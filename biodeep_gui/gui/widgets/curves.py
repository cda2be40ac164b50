"""Live training curves: loss (running batch loss, train and validation per epoch) and the validation metric.

Every plot item is created once; reports only append to plain Python lists, and a ~10 Hz timer copies what changed
into the items with ``setData``. Redrawing per batch cost the training loop 70 % of its speed (CONTRIBUTING.md), so
nothing here draws on arrival. The best epoch is marked by a dashed vertical line on both plots and a star on the
metric curve.

The GUI thread shares the GIL with the training thread, so each redraw must be cheap: while a run is live the x
range is fixed to the planned epochs and the y axes only widen (a bounded score's axis reaches its best value at
once), so most redraws change no axis; axes are cached as pixmaps; a new epoch is drawn on the loss plot in one
redraw and on the metric plot in the next.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QGraphicsItem, QVBoxLayout, QWidget

from biodeep_gui.gui.widgets.plots import (
    AXIS_COLOUR,
    add_legend,
    export_figure,
    series_colour,
    style_plot,
)

#: Milliseconds between two redraws while training (~10 Hz).
REDRAW_MS = 100
#: A finished run's y axis spans at least this fraction of its largest value, so every tick has a short label.
MIN_SPAN = 0.02
#: Corners a finished run's legend may take: (corner as fractions of the plot, offset in pixels); top right first.
LEGEND_CORNERS = (((1, 0), (-10, 10)), ((0, 0), (10, 10)), ((1, 1), (-10, -10)), ((0, 1), (10, -10)))
#: Best possible value of the bounded validation metrics (the live y axis reaches it at once).
METRIC_TOPS = {"auroc": 1.0, "auprc": 1.0, "accuracy": 1.0, "f1": 1.0, "balanced_accuracy": 1.0,
               "pearson": 1.0, "spearman": 1.0, "r2": 1.0, "correlation": 1.0}

METRIC_LABELS = {"auroc": "AUROC", "auprc": "AUPRC", "accuracy": "accuracy", "f1": "F1", "pearson": "Pearson r",
                 "spearman": "Spearman ρ", "mse": "MSE", "r2": "R²", "loss": "loss",
                 "balanced_accuracy": "balanced accuracy", "correlation": "correlation r"}


class TrainingCurves(QWidget):
    """Two stacked plots that follow a training run.

    Data (all plain lists, x in epochs):

    - running training loss within epochs: x = epoch - 1 + batch / n_batches
    - train / validation loss per finished epoch: x = epoch
    - validation metric (the one early stopping watches) per finished epoch
    """

    def __init__(self, parent=None):
        super().__init__(parent)
        self.view = pg.GraphicsLayoutWidget()
        self.view.setBackground("w")
        self.loss_plot: pg.PlotItem = self.view.addPlot(row=0, col=0)
        self.metric_plot: pg.PlotItem = self.view.addPlot(row=1, col=0)
        style_plot(self.loss_plot, "Loss", "", "Loss")
        style_plot(self.metric_plot, "Validation metric", "Epoch", "")
        self.metric_plot.setXLink(self.loss_plot)
        for p in (self.loss_plot, self.metric_plot):
            p.setMenuEnabled(False)
            p.getAxis("left").setWidth(52)  # both y axes equally wide so the x axes line up
            for name in ("left", "bottom"):
                # a pixmap replayed when the range did not change: replaying the axis' QPicture (text) cost
                # ~5 ms per axis and per repaint
                p.getAxis(name).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.legends = (add_legend(self.loss_plot), add_legend(self.metric_plot, offset=(-10, -10)))
        for p in (self.loss_plot, self.metric_plot):  # a finished run's legends find their corner again
            p.getViewBox().sigResized.connect(self._place_legends)
            p.getViewBox().sigRangeChanged.connect(self._place_legends)  # auto-range lands after fit_view

        c_train, c_val, c_metric = series_colour(0), series_colour(1), series_colour(2)
        light = pg.mkColor(c_train)
        light.setAlpha(110)
        self.batch_curve = self.loss_plot.plot([], [], pen=pg.mkPen(light, width=1), name="training (running)")
        # lines without point symbols (a symbol curve costs ~2 ms per epoch redraw); validation dashed, so the two
        # differ without colour
        self.train_curve = self.loss_plot.plot([], [], pen=pg.mkPen(c_train, width=2), name="training")
        self.val_curve = self.loss_plot.plot([], [], pen=pg.mkPen(c_val, width=2, style=Qt.PenStyle.DashLine),
                                             name="validation")
        self.metric_curve = self.metric_plot.plot([], [], pen=pg.mkPen(c_metric, width=2), symbol="o",
                                                  symbolSize=6, symbolBrush=c_metric, symbolPen=c_metric,
                                                  name="validation")
        for item in (self.batch_curve, self.train_curve, self.val_curve, self.metric_curve):
            item.setClipToView(True)
        self.batch_curve.setDownsampling(auto=True, method="peak")
        best_pen = pg.mkPen(AXIS_COLOUR, width=1, style=Qt.PenStyle.DashLine)
        self.best_lines = [pg.InfiniteLine(angle=90, movable=False, pen=best_pen) for _ in range(2)]
        self.loss_plot.addItem(self.best_lines[0], ignoreBounds=True)
        self.metric_plot.addItem(self.best_lines[1], ignoreBounds=True)
        self.best_star = pg.ScatterPlotItem([], [], symbol="star", size=18, brush=pg.mkBrush("#E69F00"),
                                            pen=pg.mkPen(AXIS_COLOUR, width=0.8))
        self.metric_plot.addItem(self.best_star)
        self.best_label = pg.TextItem("", color=AXIS_COLOUR, anchor=(0, 1))
        self.metric_plot.addItem(self.best_label, ignoreBounds=True)

        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.view)
        self._timer = QTimer(self)
        self._timer.setInterval(REDRAW_MS)
        self._timer.timeout.connect(self.redraw)
        self.redraws = 0  # how many times the items were updated (tests and the benchmark read it)
        self.reset()

    # ---- data in ------------------------------------------------------------------------------------------
    def reset(self, monitor: str | None = "", epochs: int = 0) -> None:
        """Empty every curve; ``monitor`` names the validation metric (e.g. 'auroc'; None: keep the current one, as
        a new run usually watches the same metric, and changing the axis label costs a repaint of the axis).

        ``epochs`` > 0: a live run of that many epochs starts; the x axis spans them until ``fit_view``.
        """
        self._batch_x: list[float] = []
        self._batch_y: list[float] = []
        self._epochs: list[float] = []
        self._train: list[float] = []
        self._val: list[float] = []
        self._metric: list[float] = []
        self._best_epoch = 0
        self._batch_dirty = self._loss_dirty = self._metric_dirty = True
        self._y_ranges: list[tuple[float, float] | None] = [None, None]  # live: loss and metric y ranges
        self._live_epochs = max(0, int(epochs))
        if monitor is not None:
            self.set_monitor(monitor)
        if self._live_epochs:
            for legend, ((fx, fy), offset) in zip(self.legends, (LEGEND_CORNERS[0], LEGEND_CORNERS[2])):
                legend.anchor(itemPos=(fx, fy), parentPos=(fx, fy), offset=offset)  # where a live run has them
            for p in (self.loss_plot, self.metric_plot):
                p.enableAutoRange(x=False, y=False)
            self.loss_plot.setXRange(0, self._live_epochs, padding=0.02)
            self._set_tick_step(self._live_epochs)
        else:
            self.fit_view()
        self.redraw()

    def fit_view(self) -> None:
        """Fit both plots to their data (when a run ends, or for a finished run)."""
        self._live_epochs = 0
        for p in (self.loss_plot, self.metric_plot):
            p.enableAutoRange(x=True, y=True)
        self._batch_dirty = self._loss_dirty = self._metric_dirty = True
        self.redraw()
        for p, values in ((self.loss_plot, self._train + self._val + self._batch_y), (self.metric_plot, self._metric)):
            finite = [v for v in values if math.isfinite(v)]
            size = max((abs(v) for v in finite), default=0.0)
            if finite and max(finite) - min(finite) < MIN_SPAN * size:
                # a curve that barely moves (a correlation of 0.98188 at every epoch): fitted exactly, its axis
                # would need 7 decimals per tick, wider than the axis, and pyqtgraph would drop every tick label
                mid = 0.5 * (max(finite) + min(finite))
                p.setYRange(mid - 0.5 * MIN_SPAN * size, mid + 0.5 * MIN_SPAN * size, padding=0)
        last = max(self._epochs[-1] if self._epochs else 0.0, self._batch_x[-1] if self._batch_x else 0.0)
        if last > 0:  # from epoch 0, as while training: the first epoch's point sits inside the frame, not on it
            for p in (self.loss_plot, self.metric_plot):
                p.enableAutoRange(x=False)
            self.loss_plot.setXRange(0, last, padding=0.02)
        self._place_legends()

    def _place_legends(self, *_) -> None:
        """Move each legend to the corner of its plot that covers the fewest points of the finished curves (a
        flat loss runs along the top right, where the legend sits while training). Live, they stay put."""
        if self._live_epochs:
            return
        epochs = np.asarray(self._epochs, float)
        series = ((self.loss_plot, self.legends[0], [self._train, self._val]),
                  (self.metric_plot, self.legends[1], [self._metric]))
        for plot, legend, curves in series:
            vb = plot.getViewBox()
            (x0, x1), (y0, y1) = vb.viewRange()
            w, h = vb.width(), vb.height()
            if len(epochs) == 0 or w <= 0 or h <= 0 or x1 <= x0 or y1 <= y0:
                continue
            # the lines, sampled between epochs, in pixels from the top left of the plot
            xs = np.linspace(epochs[0], epochs[-1], 40 * len(epochs))
            pts = [((xs - x0) / (x1 - x0) * w, (y1 - np.interp(xs, epochs, np.asarray(c, float))) / (y1 - y0) * h)
                   for c in curves]
            size, m = legend.boundingRect(), 6  # m: a line this close to the box still reads as under it
            covered = []
            for corner in LEGEND_CORNERS:  # the default corner first: it wins ties
                (fx, fy), (dx, dy) = corner
                left = fx * (w - size.width()) + dx
                top = fy * (h - size.height()) + dy
                covered.append(sum(int(np.sum((px >= left - m) & (px <= left + size.width() + m) & (py >= top - m)
                                              & (py <= top + size.height() + m))) for px, py in pts))
            order = LEGEND_CORNERS if plot is self.loss_plot else LEGEND_CORNERS[2:] + LEGEND_CORNERS[:2]
            (fx, fy), (dx, dy) = min(order, key=lambda c: covered[LEGEND_CORNERS.index(c)])
            legend.anchor(itemPos=(fx, fy), parentPos=(fx, fy), offset=(dx, dy))

    def set_monitor(self, monitor: str) -> None:
        if monitor == getattr(self, "_monitor", None):
            return
        label = METRIC_LABELS.get(monitor, monitor)
        title = f"Validation {label}" if label else "Validation metric"
        self.metric_plot.setTitle(title + " (★ best epoch)", color=AXIS_COLOUR, size="11pt")
        self.metric_plot.setLabel("left", label[:1].upper() + label[1:], color=AXIS_COLOUR)
        self._monitor = monitor

    def add_batch(self, epoch: int, batch: int, n_batches: int, loss: float) -> None:
        """The running mean training loss of ``epoch`` after ``batch`` of ``n_batches`` batches."""
        self._batch_x.append(epoch - 1 + batch / max(n_batches, 1))
        self._batch_y.append(loss)
        self._batch_dirty = True

    def add_epoch(self, epoch: int, train_loss: float, val_loss: float, metric: float, best_epoch: int) -> None:
        """One finished epoch; ``best_epoch`` is the epoch whose weights are kept so far."""
        self._epochs.append(float(epoch))
        self._train.append(train_loss)
        self._val.append(val_loss)
        self._metric.append(metric)
        self._best_epoch = best_epoch
        self._loss_dirty = self._metric_dirty = True

    def set_history(self, rows: list[dict[str, float]], monitor: str, best_epoch: int) -> None:
        """Show a finished run's ``history.csv`` rows (no running loss)."""
        self.reset(monitor)
        for r in rows:
            self.add_epoch(int(r.get("epoch", 0)), r.get("train_loss", math.nan), r.get("val_loss", math.nan),
                           r.get(f"val_{monitor}", math.nan), best_epoch)
        self.redraw()

    # ---- drawing ------------------------------------------------------------------------------------------
    def start_live(self) -> None:
        """Redraw at ~10 Hz until ``stop_live``."""
        self._timer.start()

    def stop_live(self) -> None:
        self._timer.stop()
        self.redraw()

    def is_live(self) -> bool:
        return self._timer.isActive()

    def redraw(self) -> None:
        """Copy what changed since the last redraw into the plot items.

        Live, a new epoch reaches the loss plot in one call and the metric plot in the next (~100 ms later), so
        that no repaint covers both plots: each stays a few milliseconds of the GUI thread.
        """
        if not (self._batch_dirty or self._loss_dirty or self._metric_dirty):
            return
        self.redraws += 1
        epochs = np.asarray(self._epochs, float)
        if self._batch_dirty:
            self._batch_dirty = False
            self.batch_curve.setData(np.asarray(self._batch_x, float), np.asarray(self._batch_y, float))
        if self._loss_dirty:
            self._loss_dirty = False
            self.train_curve.setData(epochs, np.asarray(self._train, float))
            self.val_curve.setData(epochs, np.asarray(self._val, float))
            if self._live_epochs:
                self._cover(self.loss_plot, 0, [*self._batch_y[-50:], *self._train[-1:], *self._val[-1:]], 0.0)
                return  # the metric plot at the next call
        elif self._live_epochs:
            self._cover(self.loss_plot, 0, self._batch_y[-50:], 0.0)
        if not self._metric_dirty:
            return
        self._metric_dirty = False
        self.metric_curve.setData(epochs, np.asarray(self._metric, float))
        if self._live_epochs:
            self._cover(self.metric_plot, 1, self._metric[-1:], None, METRIC_TOPS.get(self._monitor))
        best = self._best_epoch
        if best and best in self._epochs:
            y = self._metric[self._epochs.index(best)]
            for line in self.best_lines:
                line.setValue(best)
                line.show()
            if math.isfinite(y):
                self.best_star.setData([best], [y])
                self.best_label.setText(f" best: epoch {best}, {y:.3f} ")
                # text on the side with room: left of the star when it sits in the right half of the plot
                right_half = best > 1 and best >= 0.5 * (1 + max(self._epochs[-1], self._live_epochs))
                self.best_label.setAnchor((1, 1) if right_half else (0, 1))
                self.best_label.setPos(best, y)
                self.best_label.show()
        else:
            for line in self.best_lines:
                line.hide()
            self.best_star.setData([], [])
            self.best_label.hide()
        if not self._live_epochs:
            last = max(self._epochs[-1] if self._epochs else 0.0, self._batch_x[-1] if self._batch_x else 0.0)
            self._set_tick_step(last)

    def _cover(self, plot: pg.PlotItem, k: int, values: list[float], floor: float | None,
               top: float | None = None) -> None:
        """Live: widen y axis ``k`` (with head-room) only when one of ``values`` falls outside it, so that most
        redraws leave the axes, their text and their cached pixmaps alone. ``floor`` / ``top``: the lowest /
        highest value the quantity can take (0 for a loss, 1 for AUROC): the axis goes there at once rather than
        widening a little at every improving epoch."""
        finite = [v for v in values if math.isfinite(v)]
        if not finite:
            return
        lo, hi = min(finite), max(finite)
        cur = self._y_ranges[k]
        if cur is not None and cur[0] <= lo and hi <= cur[1]:
            return
        if cur is not None:
            lo, hi = min(lo, cur[0]), max(hi, cur[1])
        pad = 0.25 * max(hi - lo, 0.05 * abs(hi), 1e-3)
        low = floor if floor is not None and lo >= floor else lo - pad
        if top is not None and hi <= top:
            # a bounded score: from a tenth below its lowest value up to its best possible value
            low, high = math.floor(lo * 10 - 1e-9) / 10, top
        else:
            high = hi + pad
        self._y_ranges[k] = (low, high)
        plot.setYRange(low, high, padding=0)

    def _set_tick_step(self, last_epoch: float) -> None:
        step = max(1, int(math.ceil(max(last_epoch, 1.0) / 10)))
        for p in (self.loss_plot, self.metric_plot):
            p.getAxis("bottom").setTickSpacing(step, step)

    # ---- read back ----------------------------------------------------------------------------------------
    def epoch_points(self) -> int:
        """Points drawn on the per-epoch validation-loss curve (what a user sees, not what was received)."""
        x, _ = self.val_curve.getData()
        return 0 if x is None else len(x)

    def n_epochs(self) -> int:
        """Epochs received so far."""
        return len(self._epochs)

    def best_epoch(self) -> int:
        return self._best_epoch

    def export_figure(self, path: str | Path, width: int | None = None) -> Path:
        """Write both plots to ``path`` (.png or .svg)."""
        self.redraw()
        return export_figure(self.view, path, width or max(800, 2 * self.view.width()))
