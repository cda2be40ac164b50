"""Shared pyqtgraph plots: histograms, bar charts, ROC/PR curves, scatter, confusion matrix, and figure export.

Every plot is created once and updated with ``set_*`` calls (pyqtgraph's create-once / ``setData`` pattern). They
only draw numbers the core computed; nothing here computes science. Plots have a white background and dark axes
so that exported figures drop straight into a manuscript or slide; colours are the Okabe-Ito colour-blind-safe
palette, one colour per run or class everywhere in the app (``series_colour``).
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from pyqtgraph.exporters import Exporter, ImageExporter
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter
from PySide6.QtSvg import QSvgGenerator

from biodeep_gui.core.common.fileio import atomic_write

#: Okabe-Ito colours (yellow left out: unreadable on white), then a few darker extras for many runs.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000",
           "#882255", "#117733", "#332288", "#999933", "#AA4499")
AXIS_COLOUR = "#222222"
GRID_ALPHA = 0.25
#: Pixels left between two neighbouring tick labels of a confusion matrix.
LABEL_GAP = 8
EXPORT_FORMATS = "PNG image (*.png);;SVG vector figure (*.svg)"


def series_colour(i: int) -> QColor:
    """The i-th colour of the shared palette (wraps around)."""
    return QColor(PALETTE[i % len(PALETTE)])


def style_plot(item: pg.PlotItem, title: str = "", x_label: str = "", y_label: str = "") -> pg.PlotItem:
    """Dark axes, light grid, readable title and axis labels on a white background."""
    for name in ("left", "bottom", "top", "right"):
        axis = item.getAxis(name)
        axis.setPen(pg.mkPen(AXIS_COLOUR))
        axis.setTextPen(pg.mkPen(AXIS_COLOUR))
        axis.enableAutoSIPrefix(False)  # metrics in 0-1 would otherwise read "700 (x0.001)"
    item.showGrid(x=True, y=True, alpha=GRID_ALPHA)
    if title:
        item.setTitle(title, color=AXIS_COLOUR, size="11pt")
    if x_label:
        item.setLabel("bottom", x_label, color=AXIS_COLOUR)
    if y_label:
        item.setLabel("left", y_label, color=AXIS_COLOUR)
    return item


def add_legend(item: pg.PlotItem, offset=(-10, 10)) -> pg.LegendItem:
    """A legend with dark text on a translucent white box (top-right by default)."""
    legend = item.addLegend(offset=offset, labelTextColor=AXIS_COLOUR, brush=pg.mkBrush(255, 255, 255, 210),
                            pen=pg.mkPen("#bbbbbb"), labelTextSize="9pt")
    return legend


def export_figure(item, path: str | Path, width: int = 1600) -> Path:
    """Write a plot (a ``PlotItem``, ``GraphicsLayout`` or a widget holding one) to PNG or SVG, atomically.

    Parameters
    ----------
    item : pg.PlotWidget, pg.GraphicsLayoutWidget, or a graphics item such as ``PlotItem``
    path : ``.png`` (raster, ``width`` pixels wide, height in proportion) or ``.svg`` (vector)

    Returns
    -------
    the path written
    """
    path = Path(path)
    if isinstance(item, pg.PlotWidget):
        item = item.getPlotItem()
    elif isinstance(item, pg.GraphicsLayoutWidget):
        item = item.ci
    suffix = path.suffix.lower()
    if suffix == ".svg":
        return atomic_write(path, _svg_bytes(item, path.stem))
    if suffix == ".png":
        exporter = ImageExporter(item)
        source_w = max(1, int(exporter.params["width"]))
        source_h = max(1, int(exporter.params["height"]))
        exporter.params["width"] = int(width)
        exporter.params["height"] = max(1, int(round(width * source_h / source_w)))  # keep the on-screen shape
        image = exporter.export(toBytes=True)
        buf = QByteArray()
        dev = QBuffer(buf)
        dev.open(QIODevice.OpenModeFlag.WriteOnly)
        if not image.save(dev, "PNG"):
            raise OSError(f"{path}: the figure could not be encoded as PNG")
        dev.close()
        return atomic_write(path, bytes(buf.data()))
    raise ValueError(f"{path}: choose a .png or .svg file name to export a figure")


def _svg_bytes(item, title: str) -> bytes:
    """Render a graphics item to SVG with Qt's own SVG generator.

    pyqtgraph 0.14's ``SVGExporter`` fails on any closed path (``Z`` in the path data, pyqtgraph issue #3495),
    which Qt 6.11 writes for every view box, so the scene is painted straight into a ``QSvgGenerator`` in
    pyqtgraph's export mode (the same steps ``ImageExporter`` takes, vector output instead of pixels).
    """
    exporter = Exporter(item)  # only its source-rectangle and export-mode plumbing is used
    source = exporter.getSourceRect()
    w, h = max(1.0, source.width()), max(1.0, source.height())
    buf = QByteArray()
    dev = QBuffer(buf)
    dev.open(QIODevice.OpenModeFlag.WriteOnly)
    gen = QSvgGenerator()
    gen.setOutputDevice(dev)
    gen.setSize(QSize(int(round(w)), int(round(h))))
    gen.setViewBox(QRectF(0, 0, w, h))
    gen.setTitle(title)
    gen.setDescription("Figure exported by BioDeep")
    painter = QPainter(gen)
    try:
        exporter.setExportMode(True, {"antialias": True, "background": pg.mkColor("w"), "painter": painter,
                                      "resolutionScale": 1.0})
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        exporter.getScene().render(painter, QRectF(0, 0, w, h), source)
    finally:
        exporter.setExportMode(False)
        painter.end()
    dev.close()
    return bytes(buf.data())


class PlotPanel(pg.PlotWidget):
    """A white ``PlotWidget`` with dark axes, a title and axis labels; ``export`` writes it to PNG/SVG."""

    def __init__(self, title: str = "", x_label: str = "", y_label: str = "", parent=None):
        super().__init__(parent=parent, background="w")
        style_plot(self.getPlotItem(), title, x_label, y_label)
        self.setMinimumSize(220, 180)
        self.getPlotItem().setMenuEnabled(False)  # the context menu offers export itself; keep one way to do it

    def export(self, path: str | Path, width: int = 1600) -> Path:
        return export_figure(self.getPlotItem(), path, width)

    def set_title(self, title: str) -> None:
        self.getPlotItem().setTitle(title, color=AXIS_COLOUR, size="11pt")


class HistogramPlot(PlotPanel):
    """Counts per bin drawn as a filled step curve (one item, updated in place)."""

    def __init__(self, title: str = "", x_label: str = "", y_label: str = "Records", colour: int = 0, parent=None):
        super().__init__(title, x_label, y_label, parent)
        c = series_colour(colour)
        fill = QColor(c)
        fill.setAlpha(120)
        self.curve = pg.PlotDataItem(stepMode="center", fillLevel=0, pen=pg.mkPen(c, width=1.5),
                                     brush=pg.mkBrush(fill))
        self.addItem(self.curve)
        self.getPlotItem().getViewBox().setMouseEnabled(x=True, y=False)

    def set_histogram(self, counts: np.ndarray, edges: np.ndarray) -> None:
        """Show (B,) counts over (B + 1,) bin edges; empty counts clear the plot."""
        counts = np.asarray(counts, np.float64)
        edges = np.asarray(edges, np.float64)
        if counts.size == 0:
            self.clear_data()
            return
        self.curve.setData(edges, counts)
        self.getPlotItem().enableAutoRange()

    def clear_data(self) -> None:
        self.curve.setData([], [])

    def n_bins(self) -> int:
        y = self.curve.yData
        return 0 if y is None else int(len(y))


class BarPlot(PlotPanel):
    """Named bars (e.g. class balance), optionally grouped by colour, with the names on the x axis."""

    def __init__(self, title: str = "", y_label: str = "Records", parent=None):
        super().__init__(title, "", y_label, parent)
        self.bars: pg.BarGraphItem | None = None
        self._labels: list[pg.TextItem] = []
        self.getPlotItem().getViewBox().setMouseEnabled(x=False, y=False)

    def set_bars(self, names: list[str], values: list[float], colours: list[int] | None = None,
                 annotations: list[str] | None = None) -> None:
        """One bar per name; ``colours`` are palette indices; ``annotations`` are printed above each bar."""
        self.clear_data()
        if not names:
            return
        x = np.arange(len(names), dtype=float)
        brushes = [pg.mkBrush(series_colour(c if colours else i)) for i, c in enumerate(colours or range(len(names)))]
        self.bars = pg.BarGraphItem(x=x, height=np.asarray(values, float), width=0.7, brushes=brushes,
                                    pen=pg.mkPen(AXIS_COLOUR, width=0.5))
        self.addItem(self.bars)
        axis = self.getPlotItem().getAxis("bottom")
        axis.setTicks([[(float(i), _elide(n, 18)) for i, n in enumerate(names)]])
        top = max(values) if len(values) else 1
        for i, text in enumerate(annotations or []):
            label = pg.TextItem(text, color=AXIS_COLOUR, anchor=(0.5, 1.0))
            label.setPos(float(i), float(values[i]))
            self.addItem(label)
            self._labels.append(label)
        self.getPlotItem().setXRange(-0.6, len(names) - 0.4, padding=0)
        self.getPlotItem().setYRange(0, top * 1.18 if top > 0 else 1, padding=0)

    def clear_data(self) -> None:
        if self.bars is not None:
            self.removeItem(self.bars)
            self.bars = None
        for label in self._labels:
            self.removeItem(label)
        self._labels.clear()
        self.getPlotItem().getAxis("bottom").setTicks(None)

    def n_bars(self) -> int:
        return 0 if self.bars is None else len(self.bars.opts["height"])


class CurvesPlot(PlotPanel):
    """Several named curves with a legend; solid lines, dashed reference lines, optional best-point markers."""

    def __init__(self, title: str = "", x_label: str = "", y_label: str = "", parent=None):
        super().__init__(title, x_label, y_label, parent)
        self.legend = add_legend(self.getPlotItem())
        self.items: dict[str, pg.PlotDataItem] = {}
        self._extras: list = []

    def add_curve(self, key: str, x: np.ndarray, y: np.ndarray, name: str, colour: int | QColor,
                  dashed: bool = False, width: float = 2.0, symbol: str | None = None) -> pg.PlotDataItem:
        """Add (or replace) the curve ``key``; ``name`` goes in the legend."""
        self.remove_curve(key)
        c = colour if isinstance(colour, QColor) else series_colour(colour)
        pen = pg.mkPen(c, width=width, style=Qt.PenStyle.DashLine if dashed else Qt.PenStyle.SolidLine)
        item = pg.PlotDataItem(np.asarray(x, float), np.asarray(y, float), pen=pen, name=name,
                               symbol=symbol, symbolSize=6, symbolBrush=pg.mkBrush(c), symbolPen=pg.mkPen(c))
        self.addItem(item)
        # Only after addItem: clip-to-view asks the item's view box, which it has no sooner.
        item.setClipToView(True)
        item.setDownsampling(auto=True, method="peak")
        self.items[key] = item
        return item

    def place_legend_outside(self) -> None:
        """Move the legend into a margin right of the axes, where it can never hide a curve."""
        item = self.getPlotItem()
        self.legend.updateSize()
        width = self.legend.boundingRect().width() if self.legend.items else 0.0
        item.setContentsMargins(0, 0, width + 8 if width else 0, 0)
        if self.legend.parentItem() is not item:
            self.legend.setParentItem(item)  # anchored to the whole plot, not to the axes' view box
        self.legend.anchor(itemPos=(1, 0), parentPos=(1, 0), offset=(-2, 30))

    def set_integer_x(self, largest: float) -> None:
        """Whole-number ticks on the x axis (e.g. epochs), at most about ten of them."""
        step = max(1, int(math.ceil(largest / 10)))
        self.getPlotItem().getAxis("bottom").setTickSpacing(step, step)

    def mark_point(self, x: float, y: float, colour: int | QColor, symbol: str = "star", size: int = 14) -> None:
        """A marker without a legend entry (e.g. a run's best epoch)."""
        c = colour if isinstance(colour, QColor) else series_colour(colour)
        marker = pg.ScatterPlotItem([x], [y], symbol=symbol, size=size, brush=pg.mkBrush(c),
                                    pen=pg.mkPen(AXIS_COLOUR, width=0.8))
        self.addItem(marker)
        self._extras.append(marker)

    def add_reference(self, x: np.ndarray, y: np.ndarray) -> None:
        """A thin grey dashed reference line with no legend entry (e.g. the chance diagonal)."""
        line = pg.PlotDataItem(np.asarray(x, float), np.asarray(y, float),
                               pen=pg.mkPen("#888888", width=1, style=Qt.PenStyle.DashLine))
        self.addItem(line)
        self._extras.append(line)

    def remove_curve(self, key: str) -> None:
        item = self.items.pop(key, None)
        if item is not None:
            self.removeItem(item)
            self.legend.removeItem(item)

    def clear_curves(self) -> None:
        for key in list(self.items):
            self.remove_curve(key)
        for extra in self._extras:
            self.removeItem(extra)
        self._extras.clear()
        self.legend.clear()

    def set_emphasis(self, key: str | None, normal: float = 2.0, strong: float = 4.0) -> None:
        """Draw curve ``key`` thicker than the others (None: all normal)."""
        for k, item in self.items.items():
            pen = pg.mkPen(item.opts["pen"])
            pen.setWidthF(strong if k == key else normal)
            item.setPen(pen)


class ScatterPlot(PlotPanel):
    """Predicted against measured values with the identity line (y = x)."""

    def __init__(self, title: str = "", x_label: str = "Measured", y_label: str = "Predicted", parent=None):
        super().__init__(title, x_label, y_label, parent)
        self.points = pg.ScatterPlotItem(size=5, pen=None, brush=pg.mkBrush(0, 114, 178, 110))
        self.identity = pg.PlotDataItem(pen=pg.mkPen("#888888", width=1.2, style=Qt.PenStyle.DashLine))
        self.addItem(self.identity)
        self.addItem(self.points)
        self.note = pg.TextItem("", color=AXIS_COLOUR, anchor=(0, 0))
        self.note.setFont(_bold_font())
        self.addItem(self.note)

    def set_points(self, measured: np.ndarray, predicted: np.ndarray, note: str = "") -> None:
        """Scatter (N,) predicted against (N,) measured; ``note`` (e.g. "Pearson r = 0.82") is shown top-left."""
        x = np.asarray(measured, float).reshape(-1)
        y = np.asarray(predicted, float).reshape(-1)
        ok = np.isfinite(x) & np.isfinite(y)
        x, y = x[ok], y[ok]
        self.points.setData(x, y)
        if not x.size:
            self.identity.setData([], [])
            self.note.setText("")
            return
        lo, hi = float(min(x.min(), y.min())), float(max(x.max(), y.max()))
        pad = 0.04 * (hi - lo or 1.0)
        lo, hi = lo - pad, hi + pad
        self.identity.setData([lo, hi], [lo, hi])
        self.getPlotItem().setRange(xRange=(lo, hi), yRange=(lo, hi), padding=0)
        self.note.setText(note)
        self.note.setPos(lo + pad * 0.5, hi - pad * 0.5)

    def n_points(self) -> int:
        return len(self.points.data)


class ConfusionMatrixPlot(PlotPanel):
    """Counts of true (rows, top to bottom) against predicted (columns) classes, with each count printed."""

    def __init__(self, title: str = "Confusion matrix", parent=None):
        super().__init__(title, "Predicted class", "True class", parent)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setColorMap(pg.ColorMap([0.0, 1.0], [(247, 251, 255), (8, 69, 148)]))
        self.addItem(self.image)
        self.getPlotItem().getViewBox().invertY(True)
        self.getPlotItem().getViewBox().setAspectLocked(True)
        self.getPlotItem().getViewBox().setMouseEnabled(x=False, y=False)
        self.getPlotItem().showGrid(x=False, y=False)
        self._texts: list[pg.TextItem] = []
        self.matrix = np.zeros((0, 0), np.int64)
        self.class_names: list[str] = []
        self._column_labels: list[str] = []
        # the room each column name has changes with the plot's size (the matrix keeps square cells)
        self.getPlotItem().getViewBox().sigRangeChanged.connect(self._fit_column_names)
        self.getPlotItem().getViewBox().sigResized.connect(self._fit_column_names)

    def set_matrix(self, counts: np.ndarray, class_names: list[str]) -> None:
        """Show a (C, C) matrix of counts; rows are true classes, columns predicted, named by ``class_names``."""
        counts = np.asarray(counts)
        self.matrix = counts
        self.class_names = list(class_names[:counts.shape[0]])  # as the axes name them
        for t in self._texts:
            self.removeItem(t)
        self._texts.clear()
        n = counts.shape[0]
        if n == 0:
            self.image.clear()
            self.getPlotItem().getAxis("left").setTicks([[]])
            self._fit_column_names()  # no names left under an empty plot
            return
        top = max(float(counts.max()), 1.0)
        self.image.setImage(counts.astype(float), levels=(0.0, top))
        self.image.setRect(0, 0, n, n)
        font = _bold_font(10 if n <= 8 else 8)
        for r in range(n):
            for c in range(n):
                v = counts[r, c]
                colour = "#ffffff" if v > 0.55 * top else AXIS_COLOUR
                text = pg.TextItem(f"{int(v):,}", color=colour, anchor=(0.5, 0.5))
                text.setFont(font)
                text.setPos(c + 0.5, r + 0.5)
                self.addItem(text)
                self._texts.append(text)
        ticks = [[(i + 0.5, _elide(name, 14)) for i, name in enumerate(class_names[:n])]]
        left = self.getPlotItem().getAxis("left")
        left.setTicks(ticks)
        # Room for the longest class name plus the axis title, so they never overlap.
        metrics = QFontMetrics(_tick_font(left))
        left.setWidth(max(metrics.horizontalAdvance(t) for _, t in ticks[0]) + 40)
        listed = "\n".join(f"{i + 1}. {name}" for i, name in enumerate(self.class_names))
        left.setToolTip(f"True class, top to bottom:\n{listed}")
        self.getPlotItem().getAxis("bottom").setToolTip(f"Predicted class, left to right:\n{listed}")
        self.getPlotItem().setRange(xRange=(0, n), yRange=(0, n), padding=0.02)
        self._fit_column_names()

    def _fit_column_names(self, *_) -> None:
        """Name every column at any size. pyqtgraph drops a tick label that pokes past the end of its axis and
        draws overlapping ones over each other, so each name is cut to the room its column has (full names in
        the axis tooltip); when the names do not fit side by side, every other one goes on a second line, which
        doubles that room."""
        bottom = self.getPlotItem().getAxis("bottom")
        n = self.matrix.shape[0] if self.matrix.ndim == 2 else 0
        vb = self.getPlotItem().getViewBox()
        (x0, x1), width = vb.viewRange()[0], vb.width()
        if n == 0 or width <= 0 or x1 <= x0:
            self._column_labels = []
            bottom.setTicks([[]])
            return
        col = width / (x1 - x0)  # pixels per column
        metrics = QFontMetrics(_tick_font(bottom))
        centres = [(i + 0.5 - x0) * col for i in range(n)]
        ends = [2 * min(c, width - c) - 2 for c in centres]  # wider than this, a label would pass an axis end
        names = self.class_names[:n]
        wide = [metrics.horizontalAdvance(t) for t in names]
        # staggered, a neighbour on the same line is two columns away; worth a second line only if it shows more
        # of the names (at the ends of the axis the room is capped either way)
        one = sum(min(w, col - LABEL_GAP, e) for w, e in zip(wide, ends))
        two = sum(min(w, 2 * col - LABEL_GAP, e) for w, e in zip(wide, ends))
        single = two <= one + metrics.horizontalAdvance("abc")
        room = col - LABEL_GAP if single else 2 * col - LABEL_GAP
        labels = []
        for i, (name, end) in enumerate(zip(names, ends)):
            text = metrics.elidedText(name, Qt.TextElideMode.ElideRight, max(int(min(room, end)), 1)) or name[:1]
            labels.append((i + 0.5, text if single or i % 2 == 0 else "\n" + text))
        self._column_labels = [t for _, t in labels]
        bottom.setTicks([labels])
        # pyqtgraph sizes the axis for one line of text (and 0.8 of its height): two need their full height, or
        # the second line runs into the axis title
        height = (max(0, bottom.style["tickLength"]) + bottom.style["tickTextOffset"][1] + 2 * metrics.height()
                  + int(bottom.label.boundingRect().height()) + 2)
        bottom.setHeight(None if single else height)

    def column_labels(self) -> list[str]:
        """The column names as given to the axis now: cut to fit, a second line's starting with a line break."""
        return list(self._column_labels)


def _tick_font(axis: pg.AxisItem) -> QFont:
    """The font ``axis`` writes its tick labels in."""
    return axis.font() if axis.style.get("tickFont") is None else axis.style["tickFont"]


def _bold_font(size: int = 10) -> QFont:
    f = QFont()
    f.setPointSize(size)
    f.setBold(True)
    return f


def _elide(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def format_metric(value: float, digits: int = 3) -> str:
    """A metric value for tables and legends: fixed decimals, '—' for missing / undefined (nan)."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    return f"{value:.{digits}f}"


def format_number(value: float, decimals: int = 6) -> str:
    """A setting or reading as a person writes it: at most ``decimals`` decimals and no trailing zeros
    (0.003, not 0.003000; 5, not 5.000); '—' for missing / undefined (nan)."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    text = f"{value:.{decimals}f}"
    text = text.rstrip("0").rstrip(".") if "." in text else text
    return "0" if text in ("-0", "") else text


def decimals_for(span: float, significant: int = 3) -> int:
    """Decimals that show a range of width ``span`` to about ``significant`` digits: 0 for a window of 890
    intensity units, 2 for a normalised one of 4, 3 for 0.5."""
    if span is None or not math.isfinite(span) or span <= 0:
        return significant
    return max(0, significant - 1 - math.floor(math.log10(span)))

