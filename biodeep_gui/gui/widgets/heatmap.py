"""The mutation map widgets: the scrolling map (``MutationMapView``), its fixed track names and its colour bar.

They keep the view's state (map, zoom, highlighted filter sites, selection) and turn mouse events into signals;
the painting and the PNG / SVG / PDF files are ``figures.mutation_maps`` (see there for the tracks).
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QSizePolicy, QWidget

from biodeep_gui.figures.logos import BASES
from biodeep_gui.figures.mutation_maps import (
    LABEL_W,
    ROW_H,
    TRACK_H,
    colour_limit,
    diverging_colour,
    paint_colour_bar,
    paint_mutation_map,
    paint_track_labels,
    total_height,
)


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
        paint_mutation_map(painter, self._mm, self.importance(), self._px, self._vmax, self._highlight,
                           self._highlight_label, self._selected, clip, x0=self._x0, labels=self._labels)

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
