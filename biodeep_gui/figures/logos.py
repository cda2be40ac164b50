"""Sequence logos painted with Qt vector paths: crisp at any size, on screen and in PNG / SVG / PDF files.

Each letter is a ``QPainterPath`` glyph (``addText`` with a bold sans font) stretched to fill its rectangle
exactly, as in logomaker and WebLogo. Three views of a (W, 4) matrix:

``bits``         information content: letter height = probability x (2 - entropy) bits; the stack's height is
                 the position's information content (y from 0 to 2 bits)
``probability``  letter height = probability (every stack reaches 1)
``weights``      signed values (e.g. centred convolution weights): positive letters above the zero line,
                 negative ones below and drawn upside down, y symmetric around 0

Within a stack the tallest letter is on top. Colours: A green, C blue, G orange, T red.

``glyph_rects`` returns where each letter goes, so that tests can check the heights numerically. ``paint_logo``
draws into any ``QPainter`` (the GUI's ``LogoView`` widget paints with it); ``save_logo`` / ``save_logos`` write
files through ``figures.export.write_figure`` offscreen: they need a Qt application but no display
(``QT_QPA_PLATFORM=offscreen``), which is how the command line draws its logo images. Nothing here computes
science; the matrices come from ``core.sequences.interpret``.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
from PySide6.QtCore import QMarginsF, QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QImage, QPainter, QPainterPath, QPen, QTransform

from biodeep_gui.figures.export import require_application, write_figure

BASES = "ACGT"
#: Letter colours: A green, C blue, G orange, T red (the usual DNA logo scheme).
COLOURS = {"A": QColor("#109648"), "C": QColor("#255C99"), "G": QColor("#F7A32B"), "T": QColor("#D62839")}
MODES = ("bits", "probability", "weights")
AXIS_COLOUR = QColor("#333333")


# ------------------------------------------------------------------------------------------------- heights


def information_content(pfm: np.ndarray) -> np.ndarray:
    """(W, 4) probabilities -> (W,) bits (2 - Shannon entropy). Display only; the analysis lives in core."""
    p = np.clip(np.asarray(pfm, dtype=np.float64), 0.0, None)
    p = p / np.where(p.sum(axis=1, keepdims=True) > 0, p.sum(axis=1, keepdims=True), 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -np.where(p > 0, p * np.log2(np.where(p > 0, p, 1.0)), 0.0).sum(axis=1)
    return 2.0 - h


def letter_heights(matrix: np.ndarray, mode: str = "bits") -> np.ndarray:
    """(W, 4) heights in the view's units (bits, probability or the signed values themselves)."""
    m = np.asarray(matrix, dtype=np.float64)
    if m.ndim != 2 or m.shape[1] != 4:
        raise ValueError(f"a logo needs a (W, 4) matrix, got shape {m.shape}")
    if mode == "weights":
        return m
    p = np.clip(m, 0.0, None)
    tot = p.sum(axis=1, keepdims=True)
    p = np.where(tot > 0, p / np.where(tot > 0, tot, 1.0), 0.25)
    if mode == "probability":
        return p
    if mode == "bits":
        return p * information_content(p)[:, None]
    raise ValueError(f"unknown logo mode {mode!r}; use one of {', '.join(MODES)}")


def y_range(matrix: np.ndarray, mode: str) -> tuple[float, float]:
    """The y axis of a view: (0, 2) bits, (0, 1) probability, symmetric around 0 for weights."""
    if mode == "bits":
        return 0.0, 2.0
    if mode == "probability":
        return 0.0, 1.0
    h = letter_heights(matrix, mode)
    top = max(float(np.clip(h, 0, None).sum(axis=1).max(initial=0)), float(-np.clip(h, None, 0).sum(axis=1).min(initial=0)))
    top = top if top > 0 else 1.0
    return -top, top


@dataclass(frozen=True)
class Glyph:
    """One letter of a logo: its column (0-based, in the matrix), letter, height in view units and rectangle."""

    column: int
    letter: str
    height: float
    rect: QRectF
    flipped: bool = False


def glyph_rects(matrix: np.ndarray, mode: str, plot: QRectF, *, y_limits: tuple[float, float] | None = None,
                start: int = 0, n_columns: int | None = None) -> list[Glyph]:
    """Where every letter of a logo is drawn.

    Parameters
    ----------
    matrix : (W, 4) probabilities (bits / probability views) or signed values (weights view)
    mode : 'bits' | 'probability' | 'weights'
    plot : the plotting area in device coordinates (y grows downwards)
    y_limits : (bottom, top) of the y axis in view units; default ``y_range``
    start, n_columns : column j of the matrix goes into slot ``start + j`` of ``n_columns`` equal slots (default:
                       the matrix's own width), so that several logos can be aligned on one x axis

    Returns
    -------
    list of Glyph, letters with height 0 left out; within a stack the tallest letter is farthest from the axis
    """
    h = letter_heights(matrix, mode)
    lo, hi = y_limits if y_limits is not None else y_range(matrix, mode)
    n_columns = n_columns or h.shape[0]
    slot = plot.width() / max(1, n_columns)
    scale = plot.height() / (hi - lo) if hi > lo else 0.0
    zero_y = plot.top() + hi * scale  # device y of the value 0
    gap = min(1.0, slot * 0.04)
    out: list[Glyph] = []
    for j in range(h.shape[0]):
        x = plot.left() + (start + j) * slot + gap / 2
        up = zero_y
        down = zero_y
        for b in np.argsort(np.abs(h[j]), kind="stable"):  # smallest first: the tallest ends on the outside
            v = float(h[j, b])
            if v > 0:
                r = QRectF(x, up - v * scale, slot - gap, v * scale)
                up -= v * scale
                out.append(Glyph(j, BASES[b], v, r))
            elif v < 0:
                r = QRectF(x, down, slot - gap, -v * scale)
                down += -v * scale
                out.append(Glyph(j, BASES[b], v, r, flipped=True))
    return out


# -------------------------------------------------------------------------------------------------- glyphs


@functools.lru_cache(maxsize=8)
def _base_glyph(letter: str) -> QPainterPath:
    """The letter's outline at a large size, from a bold sans font, or a drawn fallback if no font is found."""
    font = QFont("DejaVu Sans")
    font.setStyleHint(QFont.SansSerif)
    font.setBold(True)
    font.setPixelSize(200)
    path = QPainterPath()
    path.addText(0, 0, font, letter)
    if path.isEmpty() or path.boundingRect().width() <= 0:
        path = _drawn_glyph(letter)
    return path


def _drawn_glyph(letter: str) -> QPainterPath:
    """Geometric A, C, G, T outlines for systems without any usable font (100 x 100 box)."""
    p = QPainterPath()
    p.setFillRule(Qt.OddEvenFill)
    if letter == "A":
        p.moveTo(0, 100); p.lineTo(40, 0); p.lineTo(60, 0); p.lineTo(100, 100); p.lineTo(78, 100)  # noqa: E702
        p.lineTo(70, 78); p.lineTo(30, 78); p.lineTo(22, 100); p.closeSubpath()  # noqa: E702
        p.moveTo(36, 60); p.lineTo(64, 60); p.lineTo(50, 22); p.closeSubpath()  # noqa: E702
    elif letter in "CG":
        p.addEllipse(QRectF(0, 0, 100, 100))
        p.addEllipse(QRectF(22, 22, 56, 56))
        cut = QPainterPath()
        cut.addRect(QRectF(60, 35, 40, 30 if letter == "C" else 15))
        p = p.subtracted(cut)
        if letter == "G":
            bar = QPainterPath()
            bar.addRect(QRectF(55, 50, 45, 14))
            p = p.united(bar)
    else:
        p.addRect(QRectF(0, 0, 100, 20))
        p.addRect(QRectF(39, 20, 22, 80))
        p = p.simplified()
    return p


def glyph_path(letter: str, rect: QRectF, flipped: bool = False) -> QPainterPath:
    """The letter's outline stretched to fill ``rect`` exactly (upside down when ``flipped``)."""
    base = _base_glyph(letter)
    br = base.boundingRect()
    t = QTransform()
    if flipped:
        t.translate(rect.left(), rect.bottom())
        t.scale(rect.width() / br.width(), -rect.height() / br.height())
    else:
        t.translate(rect.left(), rect.top())
        t.scale(rect.width() / br.width(), rect.height() / br.height())
    t.translate(-br.left(), -br.top())
    return t.map(base)


# --------------------------------------------------------------------------------------------------- paint


@dataclass
class LogoStyle:
    """How a logo is framed: axes, labels, title and the highlighted columns."""

    axes: bool = True
    title: str = ""
    subtitle: str = ""
    font_px: int = 11
    first_position: int = 1  # number shown under column 0
    highlight: tuple[int, int] | None = None  # [start, stop) columns shaded behind the letters
    background: QColor | None = None
    y_label: str = ""  # the y axis name; default bits / prob. / weight by mode


def plot_rect(rect: QRectF, style: LogoStyle) -> QRectF:
    """The area the letters occupy inside ``rect`` once the axes and title are laid out."""
    fm = QFontMetricsF(_font(style.font_px))
    top = (fm.height() + 4 if style.title else 2) + (fm.height() + 2 if style.subtitle else 0)
    left = fm.horizontalAdvance("0.0") + fm.height() + 10 if style.axes else 2
    bottom = fm.height() + 6 if style.axes else 2
    return rect.marginsRemoved(QMarginsF(left, top, 6, bottom))


def paint_logo(painter: QPainter, rect: QRectF, matrix: np.ndarray, mode: str = "bits",
               style: LogoStyle | None = None, *, y_limits: tuple[float, float] | None = None, start: int = 0,
               n_columns: int | None = None) -> QRectF:
    """Draw a logo into ``rect``; returns the plotting area used (see ``glyph_rects`` for the parameters)."""
    style = style or LogoStyle()
    painter.save()
    painter.setRenderHint(QPainter.Antialiasing, True)
    if style.background is not None:
        painter.fillRect(rect, style.background)
    plot = plot_rect(rect, style)
    lo, hi = y_limits if y_limits is not None else y_range(matrix, mode)
    n_cols = n_columns or len(matrix)
    font = _font(style.font_px)
    painter.setFont(font)
    fm = QFontMetricsF(font)
    if style.title or style.subtitle:
        painter.setPen(AXIS_COLOUR)
        y = rect.top() + 1
        if style.title:
            bold = _font(style.font_px, bold=True)
            painter.setFont(bold)
            painter.drawText(QRectF(rect.left(), y, rect.width(), fm.height() + 2), Qt.AlignCenter, style.title)
            y += fm.height() + 2
            painter.setFont(font)
        if style.subtitle:
            painter.setPen(QColor("#555555"))
            painter.drawText(QRectF(rect.left(), y, rect.width(), fm.height() + 2), Qt.AlignCenter, style.subtitle)
    slot = plot.width() / max(1, n_cols)
    if style.highlight is not None:
        a, b = style.highlight
        painter.fillRect(QRectF(plot.left() + (start + a) * slot, plot.top(), (b - a) * slot, plot.height()),
                         QColor(255, 230, 120, 110))
    painter.setPen(Qt.NoPen)
    for g in glyph_rects(matrix, mode, plot, y_limits=(lo, hi), start=start, n_columns=n_cols):
        if g.rect.height() < 0.05:
            continue
        painter.setBrush(QBrush(COLOURS[g.letter]))
        painter.drawPath(glyph_path(g.letter, g.rect, g.flipped))
    if style.axes:
        _paint_axes(painter, plot, lo, hi, mode, fm, n_cols, start, len(matrix), style.first_position, style.y_label)
    painter.restore()
    return plot


def _paint_axes(painter, plot, lo, hi, mode, fm, n_cols, start, width, first_position, y_label="") -> None:
    pen = QPen(AXIS_COLOUR)
    pen.setWidthF(1.0)
    painter.setPen(pen)
    painter.setBrush(Qt.NoBrush)
    scale = plot.height() / (hi - lo)
    zero_y = plot.top() + hi * scale
    painter.drawLine(QPointF(plot.left() - 3, plot.top()), QPointF(plot.left() - 3, plot.bottom()))
    painter.drawLine(QPointF(plot.left(), zero_y), QPointF(plot.right(), zero_y))
    ticks = [0.0, 1.0, 2.0] if mode == "bits" else [0.0, 0.5, 1.0] if mode == "probability" else [lo, 0.0, hi]
    for v in ticks:
        y = plot.top() + (hi - v) * scale
        painter.drawLine(QPointF(plot.left() - 6, y), QPointF(plot.left() - 3, y))
        text = f"{v:g}" if mode != "weights" else f"{v:.2g}"
        w = fm.horizontalAdvance(text)
        painter.drawText(QPointF(plot.left() - 8 - w, y + fm.ascent() / 2 - 1), text)
    label = y_label or {"bits": "bits", "probability": "prob.", "weights": "weight"}[mode]
    painter.save()
    painter.translate(plot.left() - fm.horizontalAdvance("0.0") - 10, plot.center().y())
    painter.rotate(-90)
    painter.drawText(QPointF(-fm.horizontalAdvance(label) / 2, 0), label)
    painter.restore()
    slot = plot.width() / max(1, n_cols)
    step = max(1, int(np.ceil(fm.horizontalAdvance("000") / max(slot, 1e-6))))
    for j in range(width):
        if j % step:
            continue
        x = plot.left() + (start + j + 0.5) * slot
        text = str(first_position + j)
        painter.drawText(QPointF(x - fm.horizontalAdvance(text) / 2, plot.bottom() + fm.ascent() + 3), text)


def _font(px: int, bold: bool = False) -> QFont:
    f = QFont("DejaVu Sans")
    f.setStyleHint(QFont.SansSerif)
    f.setPixelSize(max(6, int(px)))
    f.setBold(bold)
    return f


# -------------------------------------------------------------------------------------------------- files


def logo_size(width_columns: int, scale: float = 1.0) -> QSize:
    """A pleasant default image size for a logo of ``width_columns`` positions."""
    return QSize(int((40 + 22 * max(width_columns, 4)) * scale), int(150 * scale))


def render_logo(matrix: np.ndarray, mode: str = "bits", size: QSize | None = None, *, title: str = "",
                subtitle: str = "", scale: float = 2.0) -> QImage:
    """The logo as an ARGB image on white; ``scale`` multiplies the pixel size (2: sharp on high-DPI screens)."""
    require_application()
    size = size or logo_size(len(matrix))
    img = QImage(int(size.width() * scale), int(size.height() * scale), QImage.Format_ARGB32)
    img.fill(QColor("#ffffff"))
    painter = QPainter(img)
    painter.scale(scale, scale)
    paint_logo(painter, QRectF(0, 0, size.width(), size.height()), matrix, mode,
               LogoStyle(title=title, subtitle=subtitle))
    painter.end()
    return img


def save_logo(matrix: np.ndarray, path: str | Path, mode: str = "bits", *, title: str = "", subtitle: str = "",
              size: QSize | None = None) -> Path:
    """Write a logo to ``path``; the format follows the extension (.png, .svg or .pdf).

    Written to a temporary file in the same folder and renamed, so a failed write leaves no partial file.
    """
    return save_logos([(matrix, title, subtitle)], path, mode, size=size)


def save_logos(items: Sequence[tuple[np.ndarray, str, str]], path: str | Path, mode: str = "bits", *,
               size: QSize | None = None, aligned: Sequence[tuple[int, int]] | None = None) -> Path:
    """Several logos stacked vertically in one figure (e.g. a filter above its JASPAR matches).

    Parameters
    ----------
    items : (matrix, title, subtitle) per logo, top to bottom
    aligned : per logo, (start slot, total slots) to align columns across logos (see ``glyph_rects``)
    """
    widest = max((a[1] for a in aligned), default=0) if aligned else max(len(m) for m, _, _ in items)
    one = size or logo_size(widest)
    total = QSize(one.width(), one.height() * len(items))
    return write_figure(path, total, lambda painter: _paint_stack(painter, items, mode, one, aligned),
                        title=items[0][1] or "sequence logo", description="Sequence logo drawn by BioDeep",
                        what="logos")


def _paint_stack(painter: QPainter, items, mode: str, one: QSize, aligned) -> None:
    for k, (matrix, title, subtitle) in enumerate(items):
        rect = QRectF(0, k * one.height(), one.width(), one.height())
        start, n_cols = aligned[k] if aligned else (0, None)
        paint_logo(painter, rect, matrix, mode, LogoStyle(title=title, subtitle=subtitle), start=start,
                   n_columns=n_cols)


# ------------------------------------------------------------------------------------------- filter figures


def aligned_match_stack(pfm: np.ndarray, matches, targets, title: str):
    """A filter's logo above its matches' logos, columns aligned by each match's offset and strand.

    Parameters
    ----------
    pfm : (W, 4) the filter's PFM
    matches : ``core.interpret.matching.MotifMatch`` list (offset = filter column of the target's first column)
    targets : the match result's target motifs

    Returns
    -------
    items, aligned : for ``save_logos`` / ``paint_logo``: (matrix, title, subtitle) per logo, and (start slot,
                     total slots) per logo; a '-' strand match is drawn reverse-complemented
    """
    lo = min([0] + [m.offset for m in matches])
    hi = max([len(pfm)] + [m.offset + targets[m.target].width for m in matches])
    items = [(pfm, title, "learned filter")]
    aligned = [(-lo, hi - lo)]
    for m in matches:
        t = targets[m.target]
        mat = t.pfm if m.strand == "+" else t.pfm[::-1, ::-1]
        items.append((mat, f"{m.name} ({m.motif_id}{', reverse complement' if m.strand == '-' else ''})",
                      f"p = {m.p_value:.2g}, q = {m.q_value:.2g}"))
        aligned.append((m.offset - lo, hi - lo))
    return items, aligned


def write_filter_logos(motifs, matches, out: str | Path, formats: Sequence[str] = ("png",),
                       filters: Sequence[int] | None = None, n_matches: int = 3) -> int:
    """Write ``logos/filter_NN.<fmt>`` (bits) and, for filters with a match, ``logos/filter_NN_matches.<fmt>``.

    Parameters
    ----------
    motifs : ``core.interpret.filters.FilterMotifs``
    matches : ``core.interpret.matching.MatchResult`` or None
    out : folder; the images go into its ``logos`` sub-folder
    formats : any of png, svg, pdf
    filters : 0-based filter indices to write (default all)

    Returns the number of image files written.
    """
    from biodeep_gui.core.sequences.interpret.export import logo_file_names

    out = Path(out)
    names = logo_file_names(motifs.n_filters, formats)
    pfms = motifs.pfms
    n = 0
    for f in (range(motifs.n_filters) if filters is None else filters):
        best = matches.best(f) if matches is not None else None
        sub = f"{int(motifs.n_sites[f])} sites" + (
            f"; best match {best.name} ({best.motif_id}) p = {best.p_value:.2g}" if best is not None else "")
        for fmt in formats:
            save_logo(pfms[f], out / names[fmt][f], "bits", title=f"Filter {f + 1}", subtitle=sub)
            n += 1
        if best is not None and motifs.n_sites[f] > 0:
            items, aligned = aligned_match_stack(pfms[f], matches.per_filter[f][:n_matches], matches.targets,
                                                 f"Filter {f + 1}")
            for fmt in formats:
                stem = names[fmt][f].rsplit(".", 1)[0]
                save_logos(items, out / f"{stem}_matches.{fmt}", "bits", aligned=aligned)
                n += 1
    return n
