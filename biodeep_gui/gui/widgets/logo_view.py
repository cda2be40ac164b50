"""The sequence logo widget: shows a (W, 4) matrix as a logo painted by ``figures.logos``; clicking it selects it.

The drawing itself (letter heights, glyphs, axes) and the PNG / SVG / PDF files live in ``figures.logos``, so
the command line draws the same logos without widgets.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from biodeep_gui.figures.logos import (
    MODES,
    Glyph,
    LogoStyle,
    glyph_rects,
    letter_heights,
    paint_logo,
    plot_rect,
    save_logo,
)


class LogoView(QWidget):
    """A sequence logo widget.

    Signals
    -------
    sigClicked(int) : the logo was clicked; carries the ``tag`` set by the owner (e.g. the filter index)
    """

    sigClicked = Signal(int)

    def __init__(self, parent: QWidget | None = None, *, mode: str = "bits", axes: bool = True, tag: int = -1):
        super().__init__(parent)
        self._matrix = np.full((1, 4), 0.25)
        self._mode = mode
        self._style = LogoStyle(axes=axes)
        self._selected = False
        self.tag = tag
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Preferred)
        self.setMinimumSize(120, 70)
        self.setAttribute(Qt.WA_OpaquePaintEvent, False)

    # -- public API --------------------------------------------------------------------------------------------
    def set_matrix(self, matrix: np.ndarray, mode: str | None = None) -> None:
        """Show a (W, 4) matrix (probabilities for bits / probability, signed values for weights)."""
        m = np.asarray(matrix, dtype=np.float64)
        letter_heights(m, mode or self._mode)  # validates the shape and mode now, not at paint time
        self._matrix = m
        if mode is not None:
            self._mode = mode
        self.update()

    def matrix(self) -> np.ndarray:
        return self._matrix

    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown logo mode {mode!r}; use one of {', '.join(MODES)}")
        self._mode = mode
        self.update()

    def mode(self) -> str:
        return self._mode

    def set_title(self, title: str, subtitle: str = "") -> None:
        self._style.title, self._style.subtitle = title, subtitle
        self.setToolTip(f"{title}\n{subtitle}".strip())
        self.update()

    def title(self) -> str:
        return self._style.title

    def subtitle(self) -> str:
        return self._style.subtitle

    def set_highlight(self, columns: tuple[int, int] | None) -> None:
        self._style.highlight = columns
        self.update()

    def set_selected(self, selected: bool) -> None:
        self._selected = selected
        self.update()

    def is_selected(self) -> bool:
        return self._selected

    def glyphs(self) -> list[Glyph]:
        """The letters as currently laid out in the widget (device coordinates)."""
        plot = plot_rect(QRectF(self.rect()), self._style)
        return glyph_rects(self._matrix, self._mode, plot)

    def save(self, path: str | Path, size: QSize | None = None) -> Path:
        """Write this logo to PNG, SVG or PDF (by extension)."""
        return save_logo(self._matrix, path, self._mode, title=self._style.title, subtitle=self._style.subtitle,
                         size=size)

    # -- Qt ----------------------------------------------------------------------------------------------------
    def sizeHint(self) -> QSize:
        return QSize(max(160, 14 * len(self._matrix) + 50), 110)

    def paintEvent(self, _event) -> None:
        painter = QPainter(self)
        r = QRectF(self.rect())
        painter.fillRect(r, QColor("#ffffff"))
        paint_logo(painter, r, self._matrix, self._mode, self._style)
        if self._selected:
            pen = QPen(QColor("#0072B2"))
            pen.setWidthF(3.0)
            painter.setPen(pen)
            painter.setBrush(Qt.NoBrush)
            painter.drawRect(r.adjusted(1.5, 1.5, -1.5, -1.5))
        painter.end()

    def mouseReleaseEvent(self, event) -> None:
        if event.button() == Qt.LeftButton and self.rect().contains(event.position().toPoint()):
            self.sigClicked.emit(self.tag)
        super().mouseReleaseEvent(event)
