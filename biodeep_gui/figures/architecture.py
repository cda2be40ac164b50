"""A network drawn as blocks from the input down to the prediction (``core.training.diagram.Block``).

``architecture_height``  the height the diagram needs at a given width (every text wrapped, nothing clipped)
``paint_architecture``   paints the blocks top to bottom into a rectangle, an arrow between each two

Each block is a rounded box: its name in bold on the left, what it does in the middle, what it passes on
(the size in words) on the right; input, layers and output in different colours.
"""
from __future__ import annotations

from typing import Sequence

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPen, QPolygonF

from biodeep_gui.core.training.diagram import Block

#: (fill, border) per block kind
COLOURS = {"input": ("#e8f0fe", "#1a73e8"), "layer": ("#f1f3f4", "#9aa0a6"), "output": ("#e6f4ea", "#1e8e3e")}
ARROW = 14.0  # vertical gap between two boxes, with its arrow
PAD = 6.0  # inner margin of a box
FLAGS = int(Qt.TextFlag.TextWordWrap) | int(Qt.AlignmentFlag.AlignLeft) | int(Qt.AlignmentFlag.AlignTop)


def _columns(width: float) -> tuple[float, float, float]:
    """Widths of the name, does and size columns of a box ``width`` wide."""
    inner = width - 4 * PAD
    name, size = 0.22 * inner, 0.28 * inner
    return name, inner - name - size, size


def _fonts(font: QFont) -> tuple[QFont, QFont]:
    bold = QFont(font)
    bold.setBold(True)
    small = QFont(font)
    small.setPointSizeF(max(7.0, font.pointSizeF() - 1))
    return bold, small


def _box_height(block: Block, width: float, font: QFont) -> float:
    bold, small = _fonts(font)
    wn, wd, ws = _columns(width)
    heights = [QFontMetricsF(f).boundingRect(QRectF(0, 0, w, 10_000), FLAGS, text).height()
               for f, w, text in ((bold, wn, block.name), (small, wd, block.does), (small, ws, block.size))]
    return max(heights) + 2 * PAD


def architecture_height(blocks: Sequence[Block], width: float, font: QFont) -> float:
    """Pixels the diagram of ``blocks`` needs at ``width`` pixels with ``font`` (0 for no blocks)."""
    if not blocks:
        return 0.0
    return sum(_box_height(b, width, font) for b in blocks) + ARROW * (len(blocks) - 1)


def paint_architecture(painter: QPainter, rect: QRectF, blocks: Sequence[Block], font: QFont) -> None:
    """Paint ``blocks`` from the top of ``rect`` down, as wide as ``rect``; boxes are as tall as their text."""
    bold, small = _fonts(font)
    wn, wd, ws = _columns(rect.width())
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    y = rect.top()
    for i, b in enumerate(blocks):
        h = _box_height(b, rect.width(), font)
        fill, border = COLOURS.get(b.kind, COLOURS["layer"])
        painter.setPen(QPen(QColor(border), 1.2))
        painter.setBrush(QColor(fill))
        painter.drawRoundedRect(QRectF(rect.left() + 0.5, y + 0.5, rect.width() - 1, h - 1), 5, 5)
        x = rect.left() + PAD
        painter.setPen(QColor("#202124"))
        painter.setFont(bold)
        painter.drawText(QRectF(x, y + PAD, wn, h - 2 * PAD), FLAGS, b.name)
        painter.setFont(small)
        painter.drawText(QRectF(x + wn + PAD, y + PAD, wd, h - 2 * PAD), FLAGS, b.does)
        painter.setPen(QColor("#5f6368"))
        painter.drawText(QRectF(x + wn + wd + 2 * PAD, y + PAD, ws, h - 2 * PAD), FLAGS, b.size)
        y += h
        if i < len(blocks) - 1:  # an arrow down to the next box
            cx = rect.center().x()
            painter.setPen(QPen(QColor("#5f6368"), 1.5))
            painter.drawLine(QPointF(cx, y + 1), QPointF(cx, y + ARROW - 5))
            painter.setBrush(QColor("#5f6368"))
            painter.drawPolygon(QPolygonF([QPointF(cx - 4, y + ARROW - 6), QPointF(cx + 4, y + ARROW - 6),
                                           QPointF(cx, y + ARROW - 1)]))
            y += ARROW
    painter.restore()
