"""The mutation map view: a positions x bases heat map of in-silico mutagenesis with a saliency letter track.

Drawn with QPainter (vector letters from ``logo_view.glyph_path``), so it is as crisp in an SVG/PDF export as
on screen. Tracks, top to bottom:

- importance: the sequence's own letters, each scaled to its importance (gradient x input saliency, or the
  mutagenesis importance), above the zero line when the base supports the prediction, below (upside down) when
  it works against it;
- heat map: one row per base (A, C, G, T) and one column per position; colour = change of the network's raw
  output when the position is changed to that base, on a diverging scale (blue: the prediction drops, white: no
  change, red: it rises), symmetric around 0; the reference base (no change) is marked with a dot;
- filter band: where the highlighted filter fires (set by the Filters tab through ``set_highlight``);
- ruler: 1-based positions.

Nothing is computed here except colours; the numbers are a ``core.interpret.mutagenesis.MutationMap``.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QImage, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from biodeep_gui.gui.widgets.logo_view import BASES, COLOURS, glyph_path

#: Diverging colour map (ColorBrewer RdBu, reversed): negative blue, zero near-white, positive red.
NEGATIVE = np.array([33, 102, 172], float)
MIDDLE = np.array([247, 247, 247], float)
POSITIVE = np.array([178, 24, 43], float)
LABEL_W = 76  # left margin holding the track names
TRACK_H = 80
ROW_H = 16
BAND_H = 12
RULER_H = 18
FORMATS = ("png", "svg", "pdf")


def diverging_colour(value: float, vmax: float) -> QColor:
    """Colour of ``value`` on the symmetric scale [-vmax, vmax] (values beyond are clipped)."""
    t = 0.0 if vmax <= 0 or not math.isfinite(value) else max(-1.0, min(1.0, value / vmax))
    end = POSITIVE if t > 0 else NEGATIVE
    rgb = MIDDLE + abs(t) * (end - MIDDLE)
    return QColor(int(rgb[0]), int(rgb[1]), int(rgb[2]))


def colour_limit(delta: np.ndarray) -> float:
    """Half-width of the colour scale: the largest absolute change (at least a tiny positive number)."""
    d = np.asarray(delta, dtype=np.float64)
    m = float(np.nanmax(np.abs(d))) if d.size else 0.0
    return m if m > 0 else 1e-6


class MutationMapView(QWidget):
    """Paints one mutation map; put it in a ``QScrollArea`` for long sequences.

    Signals
    -------
    sigPositionClicked(int) : a position (0-based, on the sequence) was clicked
    sigCellClicked(int, int) : a heat-map cell was clicked: position and base index (A, C, G, T = 0..3)
    """

    sigPositionClicked = Signal(int)
    sigCellClicked = Signal(int, int)

    def __init__(self, parent: QWidget | None = None, *, labels: bool = True):
        super().__init__(parent)
        self._x0 = float(LABEL_W if labels else 4)  # with labels=False a ``TrackLabels`` beside the view names them
        self._labels = labels
        self._mm = None
        self._importance = "saliency"
        self._px = 14.0
        self._highlight: list[tuple[int, int]] = []
        self._highlight_label = ""
        self._selected: int | None = None
        self._vmax = 1.0
        self.setSizePolicy(QSizePolicy.Fixed, QSizePolicy.Fixed)
        self.setMouseTracking(True)
        self._resize()

    # -- public API ------------------------------------------------------------------------------------------
    def set_map(self, mm) -> None:
        """Show a ``MutationMap`` (None clears the view)."""
        self._mm = mm
        self._selected = None
        self._highlight = []
        self._highlight_label = ""
        self._vmax = colour_limit(mm.delta) if mm is not None else 1.0
        self._resize()
        self.update()

    def mutation_map(self):
        return self._mm

    def set_importance(self, kind: str) -> None:
        """'saliency' (gradient x input) or 'ism' (mutagenesis importance) for the letter track."""
        if kind not in ("saliency", "ism"):
            raise ValueError("importance must be 'saliency' or 'ism'")
        self._importance = kind
        self.update()

    def importance_kind(self) -> str:
        return self._importance

    def set_pixels_per_base(self, px: float) -> None:
        self._px = float(max(2.0, min(60.0, px)))
        self._resize()
        self.update()

    def pixels_per_base(self) -> float:
        return self._px

    def set_highlight(self, ranges: list[tuple[int, int]], label: str = "") -> None:
        """Shade these [start, stop) sequence ranges (e.g. where a filter fires) with ``label`` in the band."""
        self._highlight = [(int(a), int(b)) for a, b in ranges]
        self._highlight_label = label
        self.update()

    def highlight(self) -> list[tuple[int, int]]:
        return list(self._highlight)

    def set_selected(self, position: int | None) -> None:
        self._selected = position
        self.update()

    def selected(self) -> int | None:
        return self._selected

    def colour_max(self) -> float:
        return self._vmax

    def importance(self) -> np.ndarray:
        """(L,) the values the letter track shows."""
        if self._mm is None:
            return np.zeros(0)
        return self._mm.saliency if self._importance == "saliency" else self._mm.ism_importance

    def x_of(self, position: int) -> float:
        """Left edge (widget x) of a position's column."""
        return self._x0 + position * self._px

    def position_at(self, x: float) -> int | None:
        if self._mm is None or x < self._x0:
            return None
        p = int((x - self._x0) // self._px)
        return p if 0 <= p < self._mm.length else None

    def heatmap_rect(self) -> QRectF:
        n = self._mm.length if self._mm is not None else 0
        return QRectF(self._x0, 4 + TRACK_H + 6, n * self._px, 4 * ROW_H)

    def cell_colour(self, position: int, base: int) -> QColor:
        """The colour the heat map gives a cell (for tests and tooltips)."""
        return diverging_colour(float(self._mm.delta[position, base]), self._vmax)

    def paint_into(self, painter: QPainter, clip: QRectF | None = None) -> None:
        """Draw the whole view (or the ``clip`` part) with ``painter``; used on screen and for file export."""
        _paint(painter, self._mm, self.importance(), self._px, self._vmax, self._highlight, self._highlight_label,
               self._selected, clip, x0=self._x0, labels=self._labels)

    # -- Qt --------------------------------------------------------------------------------------------------
    def _resize(self) -> None:
        self.setFixedSize(self.sizeHint())  # the scroll area around the view scrolls a long sequence

    def sizeHint(self) -> QSize:
        n = self._mm.length if self._mm is not None else 0
        return QSize(int(self._x0 + n * self._px + 8), total_height())

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.fillRect(event.rect(), QColor("#ffffff"))
        self.paint_into(painter, QRectF(event.rect()))
        painter.end()

    def mousePressEvent(self, event) -> None:
        pos = event.position()
        p = self.position_at(pos.x())
        if p is None or event.button() != Qt.LeftButton:
            return super().mousePressEvent(event)
        self._selected = p
        self.update()
        self.sigPositionClicked.emit(p)
        hm = self.heatmap_rect()
        if hm.top() <= pos.y() < hm.bottom():
            self.sigCellClicked.emit(p, int((pos.y() - hm.top()) // ROW_H))

    def mouseMoveEvent(self, event) -> None:
        p = self.position_at(event.position().x())
        if p is None or self._mm is None:
            self.setToolTip("")
            return
        hm = self.heatmap_rect()
        ref = self._mm.sequence[p] if p < len(self._mm.sequence) else "?"
        text = f"position {p + 1}: {ref}"
        if hm.top() <= event.position().y() < hm.bottom():
            b = int((event.position().y() - hm.top()) // ROW_H)
            text += f" \u2192 {BASES[b]}: change {self._mm.delta[p, b]:+.3g}"
        else:
            text += f"; importance {self.importance()[p]:+.3g}"
        self.setToolTip(text)


def total_height() -> int:
    return 4 + TRACK_H + 6 + 4 * ROW_H + 4 + BAND_H + RULER_H + 4


def paint_track_labels(painter: QPainter, width: float) -> None:
    """The track names ('importance', '→ A' ..., 'filter'), right-aligned in a column ``width`` wide."""
    font = QFont("DejaVu Sans")
    font.setPixelSize(10)
    painter.setFont(font)
    dark = QColor("#333333")
    y_heat = 4.0 + TRACK_H + 6
    y_band = y_heat + 4 * ROW_H + 4
    painter.setPen(dark)
    painter.drawText(QRectF(0, 4.0, width - 6, TRACK_H), Qt.AlignRight | Qt.AlignVCenter, "importance")
    for b, letter in enumerate(BASES):
        painter.setPen(COLOURS[letter].darker(120))
        painter.drawText(QRectF(0, y_heat + b * ROW_H, width - 6, ROW_H), Qt.AlignRight | Qt.AlignVCenter,
                         f"→ {letter}")
    painter.setPen(dark)
    painter.drawText(QRectF(0, y_band, width - 6, BAND_H), Qt.AlignRight | Qt.AlignVCenter, "filter")


class TrackLabels(QWidget):
    """The track names in a fixed column beside a scrolling ``MutationMapView(labels=False)``."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setFixedSize(LABEL_W, total_height())

    def paintEvent(self, _event) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor("#ffffff"))
        paint_track_labels(painter, LABEL_W)
        painter.end()


def _paint(painter: QPainter, mm, importance: np.ndarray, px: float, vmax: float, highlight, label, selected,
           clip: QRectF | None, *, x0: float = LABEL_W, labels: bool = True) -> None:
    painter.save()
    painter.setRenderHint(QPainter.Antialiasing, True)
    if labels:
        paint_track_labels(painter, x0)
    font = QFont("DejaVu Sans")
    font.setPixelSize(10)
    painter.setFont(font)
    fm = QFontMetricsF(font)
    dark = QColor("#333333")
    y_track = 4.0
    y_heat = y_track + TRACK_H + 6
    y_band = y_heat + 4 * ROW_H + 4
    y_ruler = y_band + BAND_H
    painter.setPen(dark)
    if mm is None:
        painter.drawText(QRectF(x0, y_heat, 400, 4 * ROW_H), Qt.AlignLeft | Qt.AlignVCenter,
                         "No mutation map yet: pick or paste a sequence and press Compute.")
        painter.restore()
        return
    n = mm.length
    first, last = 0, n
    if clip is not None:
        first = max(0, int((clip.left() - x0) // px) - 1)
        last = min(n, int(math.ceil((clip.right() - x0) / px)) + 1)

    # highlighted filter sites behind every track
    for a, b in highlight:
        a, b = max(a, first), min(b, last)
        if b > a:
            painter.fillRect(QRectF(x0 + a * px, y_track, (b - a) * px, y_ruler - y_track), QColor(255, 221, 87, 90))
            painter.fillRect(QRectF(x0 + a * px, y_band + 2, (b - a) * px, BAND_H - 4), QColor("#E69F00"))
    if highlight and label:  # the filter's name inside its first site's band
        a, b = highlight[0]
        small = QFont(font)
        small.setPixelSize(BAND_H - 3)
        painter.setFont(small)
        painter.setPen(QColor("#000000"))
        painter.drawText(QRectF(x0 + a * px + 2, y_band, max((b - a) * px, 200), BAND_H),
                         Qt.AlignLeft | Qt.AlignVCenter, label)
        painter.setFont(font)

    # importance letters
    imp = np.asarray(importance, dtype=np.float64)
    top = float(np.nanmax(np.abs(imp))) if imp.size else 0.0
    zero_y = y_track + TRACK_H / 2
    painter.setPen(QPen(QColor("#999999"), 0.8))
    painter.drawLine(QPointF(x0 + first * px, zero_y), QPointF(x0 + last * px, zero_y))
    painter.setPen(Qt.NoPen)
    if top > 0:
        half = TRACK_H / 2 - 2
        for i in range(first, last):
            c = int(mm.codes[i])
            if c > 3:
                continue  # ambiguous or padding: no single letter to draw
            h = imp[i] / top * half
            if abs(h) < 0.3:
                continue
            rect = QRectF(x0 + i * px + 0.5, zero_y - h if h > 0 else zero_y, px - 1, abs(h))
            painter.setBrush(COLOURS[BASES[c]])
            painter.drawPath(glyph_path(BASES[c], rect, flipped=h < 0))

    # heat map
    for i in range(first, last):
        for b in range(4):
            painter.fillRect(QRectF(x0 + i * px, y_heat + b * ROW_H, px + 0.5, ROW_H),
                             diverging_colour(float(mm.delta[i, b]), vmax))
        c = int(mm.codes[i])
        if c <= 3:  # the reference base: no change, marked with a small grey dot
            painter.setBrush(QColor("#8a8a8a"))
            r = min(px, ROW_H) * 0.12
            painter.drawEllipse(QPointF(x0 + (i + 0.5) * px, y_heat + (c + 0.5) * ROW_H), r, r)
    painter.setPen(QPen(QColor("#bbbbbb"), 0.6))
    painter.setBrush(Qt.NoBrush)
    painter.drawRect(QRectF(x0 + first * px, y_heat, (last - first) * px, 4 * ROW_H))

    # selection
    if selected is not None and first <= selected < last:
        painter.setPen(QPen(QColor("#000000"), 1.6))
        painter.drawRect(QRectF(x0 + selected * px, y_track, px, y_band + BAND_H - y_track))

    # ruler
    painter.setPen(dark)
    step = max(1, int(math.ceil(fm.horizontalAdvance("0000") / px)))
    step = next(s for s in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 10**9) if s >= step)
    for i in range(first, last):
        if (i + 1) % step == 0 or i == 0:
            x = x0 + (i + 0.5) * px
            painter.drawLine(QPointF(x, y_ruler + 1), QPointF(x, y_ruler + 4))
            t = str(i + 1)
            painter.drawText(QPointF(x - fm.horizontalAdvance(t) / 2, y_ruler + 5 + fm.ascent()), t)
    painter.restore()


class ColourBar(QWidget):
    """The heat map's diverging colour scale with its limits, as a small horizontal bar."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._vmax = 1.0
        self._label = "change of output"
        self.setFixedHeight(34)
        self.setMinimumWidth(220)

    def set_range(self, vmax: float, label: str = "") -> None:
        self._vmax = vmax
        if label:
            self._label = label
        self.update()

    def paintEvent(self, _event) -> None:
        painter = QPainter(self)
        paint_colour_bar(painter, QRectF(self.rect()), self._vmax, self._label)
        painter.end()


def paint_colour_bar(painter: QPainter, rect: QRectF, vmax: float, label: str) -> None:
    font = QFont("DejaVu Sans")
    font.setPixelSize(10)
    painter.setFont(font)
    fm = QFontMetricsF(font)
    bar = QRectF(rect.left() + 40, rect.top() + 3, rect.width() - 80, 12)
    steps = 64
    for k in range(steps):
        v = (k + 0.5) / steps * 2 - 1
        painter.fillRect(QRectF(bar.left() + k * bar.width() / steps, bar.top(), bar.width() / steps + 0.5,
                                bar.height()), diverging_colour(v, 1.0))
    painter.setPen(QColor("#333333"))
    painter.drawRect(bar)
    lo, hi = f"{-vmax:.2g}", f"+{vmax:.2g}"
    painter.drawText(QPointF(bar.left() - fm.horizontalAdvance(lo) - 4, bar.bottom() - 2), lo)
    painter.drawText(QPointF(bar.right() + 4, bar.bottom() - 2), hi)
    painter.drawText(QRectF(bar.left(), bar.bottom() + 1, bar.width(), fm.height()), Qt.AlignCenter,
                     f"{label} (0 = no change)")


def save_mutation_map(mm, path: str | Path, *, importance: str = "saliency", px_per_base: float | None = None,
                      title: str = "", highlight: list[tuple[int, int]] | None = None,
                      highlight_label: str = "", output_label: str = "change of raw output") -> Path:
    """Write a mutation map figure (title, colour bar, tracks) to PNG, SVG or PDF, by extension; atomically."""
    import os
    import tempfile

    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise ValueError(f"{path.name}: mutation maps are saved as .png, .svg or .pdf")
    px = px_per_base or max(3.0, min(16.0, 2400.0 / max(1, mm.length)))
    imp = mm.saliency if importance == "saliency" else mm.ism_importance
    vmax = colour_limit(mm.delta)
    head = 56
    width = int(LABEL_W + mm.length * px + 12)
    height = head + total_height()

    def draw(painter: QPainter) -> None:
        painter.fillRect(QRectF(0, 0, width, height), QColor("#ffffff"))
        font = QFont("DejaVu Sans")
        font.setPixelSize(12)
        font.setBold(True)
        painter.setFont(font)
        painter.setPen(QColor("#222222"))
        painter.drawText(QRectF(8, 2, width - 16, 18), Qt.AlignLeft | Qt.AlignVCenter, title or "Mutation map")
        paint_colour_bar(painter, QRectF(8, 20, min(420, width - 16), 34), vmax, output_label)
        painter.translate(0, head)
        _paint(painter, mm, imp, px, vmax, highlight or [], highlight_label, None, None)

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        if fmt == "png":
            img = QImage(width * 2, height * 2, QImage.Format_ARGB32)
            img.fill(QColor("#ffffff"))
            painter = QPainter(img)
            painter.scale(2.0, 2.0)
            draw(painter)
            painter.end()
            if not img.save(tmp, "PNG"):
                raise OSError(f"{path}: the PNG image could not be written")
        elif fmt == "svg":
            from PySide6.QtSvg import QSvgGenerator

            gen = QSvgGenerator()
            gen.setFileName(tmp)
            gen.setSize(QSize(width, height))
            gen.setViewBox(QRectF(0, 0, width, height))
            gen.setTitle(title or "Mutation map")
            painter = QPainter(gen)
            draw(painter)
            painter.end()
        else:
            from PySide6.QtCore import QMarginsF, QSizeF
            from PySide6.QtGui import QPageSize, QPdfWriter

            writer = QPdfWriter(tmp)
            writer.setResolution(72)
            writer.setPageSize(QPageSize(QSizeF(width, height), QPageSize.Point))
            writer.setPageMargins(QMarginsF(0, 0, 0, 0))
            writer.setCreator("BioDeep")
            painter = QPainter(writer)
            s = writer.width() / width
            painter.scale(s, s)
            draw(painter)
            painter.end()
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
