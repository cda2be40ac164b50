"""Mutation map figures: a positions x bases heat map of in-silico mutagenesis with a saliency letter track.

Painted with QPainter (vector letters from ``figures.logos.glyph_path``), so it is as crisp in an SVG/PDF file as
on screen: the GUI's ``MutationMapView``, ``TrackLabels`` and ``ColourBar`` widgets paint with these functions and
``save_mutation_map`` writes files through ``figures.export.write_figure``. Tracks, top to bottom:

- importance: the sequence's own letters, each scaled to its importance (gradient x input saliency, or the
  mutagenesis importance), above the zero line when the base supports the prediction, below (upside down) when
  it works against it;
- heat map: one row per base (A, C, G, T) and one column per position; colour = change of the network's raw
  output when the position is changed to that base, on a diverging scale (blue: the prediction drops, white: no
  change, red: it rises), symmetric around 0; the reference base (no change) is marked with a dot;
- filter band: where the highlighted filter fires (the view's ``set_highlight``, from the Filters tab);
- ruler: 1-based positions.

Nothing is computed here except colours; the numbers are a ``core.sequences.interpret.mutagenesis.MutationMap``.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPen

from biodeep_gui.figures.export import write_figure
from biodeep_gui.figures.logos import BASES, COLOURS, glyph_path

#: Diverging colour map (ColorBrewer RdBu, reversed): negative blue, zero near-white, positive red.
NEGATIVE = np.array([33, 102, 172], float)
MIDDLE = np.array([247, 247, 247], float)
POSITIVE = np.array([178, 24, 43], float)
LABEL_W = 76  # left margin holding the track names
TRACK_H = 80
ROW_H = 16
BAND_H = 12
RULER_H = 18


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


def total_height() -> int:
    """Height in pixels of the tracks (importance, heat map, filter band, ruler) with their margins."""
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


def paint_mutation_map(painter: QPainter, mm, importance: np.ndarray, px: float, vmax: float, highlight, label,
                       selected, clip: QRectF | None, *, x0: float = LABEL_W, labels: bool = True) -> None:
    """Draw the tracks of a mutation map with ``painter`` (origin: the top-left of the tracks).

    Parameters
    ----------
    mm : ``MutationMap`` or None (None draws a hint instead of the tracks)
    importance : (L,) values of the letter track (saliency or mutagenesis importance)
    px : pixels per base
    vmax : half-width of the colour scale (``colour_limit``)
    highlight, label : [start, stop) sequence ranges shaded as filter sites, and the name shown in the band
    selected : the position outlined, or None
    clip : only the positions inside this rectangle are drawn (a long map's visible part); None: all
    x0 : x of position 0's left edge
    labels : draw the track names in the margin left of ``x0``
    """
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


def paint_colour_bar(painter: QPainter, rect: QRectF, vmax: float, label: str) -> None:
    """The diverging colour scale from -vmax to +vmax in ``rect``, with its limits and ``label`` below."""
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
    """Write a mutation map figure (title, colour bar, tracks) to PNG, SVG or PDF, by extension; atomically.

    Parameters
    ----------
    mm : ``MutationMap``
    path : a ``.png``, ``.svg`` or ``.pdf`` file
    importance : 'saliency' (gradient x input) or 'ism' (mutagenesis importance) for the letter track
    px_per_base : pixels per base (default: about 2,400 pixels for the whole sequence, 3 to 16 per base)
    title, output_label : the figure's title and the colour bar's label
    highlight, highlight_label : filter sites to shade and their name (see ``paint_mutation_map``)
    """
    px = px_per_base or max(3.0, min(16.0, 2400.0 / max(1, mm.length)))
    imp = mm.saliency if importance == "saliency" else mm.ism_importance
    vmax = colour_limit(mm.delta)
    head = 56
    width = int(LABEL_W + mm.length * px + 12)
    height = head + total_height()

    def draw(painter: QPainter) -> None:
        font = QFont("DejaVu Sans")
        font.setPixelSize(12)
        font.setBold(True)
        painter.setFont(font)
        painter.setPen(QColor("#222222"))
        painter.drawText(QRectF(8, 2, width - 16, 18), Qt.AlignLeft | Qt.AlignVCenter, title or "Mutation map")
        paint_colour_bar(painter, QRectF(8, 20, min(420, width - 16), 34), vmax, output_label)
        painter.translate(0, head)
        paint_mutation_map(painter, mm, imp, px, vmax, highlight or [], highlight_label, None, None)

    # write_figure fills the white background in every format
    return write_figure(path, QSize(width, height), draw, title=title or "Mutation map",
                        description="Mutation map drawn by BioDeep", what="mutation maps")
