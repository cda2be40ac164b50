"""Small report figures painted with QtGui: training curves, test metrics with intervals, scan slices.

Each ``paint_*`` draws into a rectangle of any ``QPainter``; ``png`` encodes a painting as PNG bytes through
``figures.export.figure_bytes`` (the report embeds them). Nothing here computes science: the arrays come from
``core.run_report``.
"""
from __future__ import annotations

import math
from typing import Callable, Sequence

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QImage, QPainter, QPainterPath, QPen

from biodeep_gui.figures.export import figure_bytes

#: Line colours in series order (colour-blind-safe Okabe–Ito, then greys).
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#999999")
AXIS = QColor("#5f6368")
GRID = QColor("#e8eaed")


def png(size: QSize, draw: Callable[[QPainter], None], scale: float = 2.0) -> bytes:
    """``draw`` over a logical canvas of ``size`` encoded as PNG (``scale`` x the pixels, for sharp print)."""
    return figure_bytes("png", size, draw, scale=scale)


def _font(px: float, bold: bool = False) -> QFont:
    f = QFont()
    f.setPixelSize(max(1, int(px)))
    f.setBold(bold)
    return f


def nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """About ``n`` round tick values covering [lo, hi]."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo] if math.isfinite(lo) else []
    raw = (hi - lo) / max(1, n)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = math.ceil(lo / step - 1e-9) * step
    return [start + i * step for i in range(int((hi - start) / step + 1e-9) + 1)]


def _tick_text(v: float) -> str:
    return f"{v:.4g}"


def paint_curves(painter: QPainter, rect: QRectF, title: str, series: dict[str, tuple[np.ndarray, np.ndarray]],
                 x_label: str = "epoch", y_label: str = "") -> None:
    """Line plot of named (x (E,), y (E,)) series with axes, ticks and a legend to the right of the plot.

    Non-finite points break a line; series with one point are drawn as dots.
    """
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    fm = QFontMetricsF(_font(11))
    names = list(series)
    legend_w = max([fm.horizontalAdvance(n) for n in names] + [0]) + 34
    plot = QRectF(rect.left() + 58, rect.top() + 28, rect.width() - 58 - legend_w - 12, rect.height() - 28 - 44)
    xs = np.concatenate([np.asarray(x, float) for x, _ in series.values()]) if series else np.zeros(0)
    ys = np.concatenate([np.asarray(y, float) for _, y in series.values()]) if series else np.zeros(0)
    ok = np.isfinite(xs) & np.isfinite(ys)
    painter.setFont(_font(13, True))
    painter.setPen(QColor("#202124"))
    painter.drawText(QRectF(rect.left(), rect.top(), rect.width(), 24), Qt.AlignmentFlag.AlignCenter, title)
    if not ok.any():
        painter.setFont(_font(11))
        painter.drawText(plot, Qt.AlignmentFlag.AlignCenter, "no values")
        painter.restore()
        return
    x0, x1 = float(xs[ok].min()), float(xs[ok].max())
    y0, y1 = float(ys[ok].min()), float(ys[ok].max())
    if x1 == x0:
        x0, x1 = x0 - 1, x1 + 1
    pad = (y1 - y0) * 0.08 or max(abs(y0) * 0.1, 0.05)
    y0, y1 = y0 - pad, y1 + pad
    px = lambda v: plot.left() + (v - x0) / (x1 - x0) * plot.width()  # noqa: E731
    py = lambda v: plot.bottom() - (v - y0) / (y1 - y0) * plot.height()  # noqa: E731
    painter.setFont(_font(11))
    for t in nice_ticks(y0, y1):
        painter.setPen(QPen(GRID, 1))
        painter.drawLine(QPointF(plot.left(), py(t)), QPointF(plot.right(), py(t)))
        painter.setPen(AXIS)
        painter.drawText(QRectF(rect.left(), py(t) - 8, 52, 16),
                         Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, _tick_text(t))
    ticks_x = [t for t in nice_ticks(x0, x1, 6) if float(t).is_integer()] or nice_ticks(x0, x1, 6)
    for t in ticks_x:
        painter.setPen(AXIS)
        painter.drawLine(QPointF(px(t), plot.bottom()), QPointF(px(t), plot.bottom() + 4))
        painter.drawText(QRectF(px(t) - 30, plot.bottom() + 5, 60, 16), Qt.AlignmentFlag.AlignHCenter,
                         _tick_text(t))
    painter.setPen(QPen(AXIS, 1))
    painter.drawLine(plot.bottomLeft(), plot.bottomRight())
    painter.drawLine(plot.bottomLeft(), plot.topLeft())
    painter.drawText(QRectF(plot.left(), plot.bottom() + 22, plot.width(), 18), Qt.AlignmentFlag.AlignHCenter,
                     x_label)
    if y_label:
        painter.save()
        painter.translate(rect.left() + 10, plot.center().y())
        painter.rotate(-90)
        painter.drawText(QRectF(-plot.height() / 2, -8, plot.height(), 16), Qt.AlignmentFlag.AlignCenter, y_label)
        painter.restore()
    # a fold's (or the run's) training and validation series share a colour; validation is dashed
    groups = list(dict.fromkeys(n.replace("train", "").replace("val", "").strip(" _") for n in names))
    has_train = any("train" in n for n in names)
    for k, (name, (x, y)) in enumerate(series.items()):
        g = groups.index(name.replace("train", "").replace("val", "").strip(" _"))
        colour = QColor(PALETTE[(g if has_train else k) % len(PALETTE)])
        pen = QPen(colour, 2)
        if has_train and "val" in name:
            pen.setStyle(Qt.PenStyle.DashLine)
        painter.setPen(pen)
        path, drawing = QPainterPath(), False
        for xv, yv in zip(np.asarray(x, float), np.asarray(y, float)):
            if not (math.isfinite(xv) and math.isfinite(yv)):
                drawing = False
                continue
            pt = QPointF(px(xv), py(yv))
            path.lineTo(pt) if drawing else path.moveTo(pt)
            drawing = True
        painter.drawPath(path)
        if np.isfinite(np.asarray(y, float)).sum() == 1:
            painter.setBrush(colour)
            i = int(np.flatnonzero(np.isfinite(np.asarray(y, float)))[0])
            painter.drawEllipse(QPointF(px(float(x[i])), py(float(y[i]))), 3, 3)
            painter.setBrush(Qt.BrushStyle.NoBrush)
        ly = plot.top() + 6 + k * 18
        lx = plot.right() + 14
        painter.drawLine(QPointF(lx, ly + 6), QPointF(lx + 18, ly + 6))
        painter.setPen(QColor("#202124"))
        painter.drawText(QRectF(lx + 22, ly - 2, legend_w, 16), Qt.AlignmentFlag.AlignLeft, name)
    painter.restore()


def paint_intervals(painter: QPainter, rect: QRectF, rows: Sequence[tuple[str, float, float, float]],
                    title: str = "Test metrics with 95 % intervals") -> None:
    """One row per metric: the value as a dot and its interval as a bar, on a common 0-1 axis when every value
    lies in [0, 1] (else the values' own range)."""
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    painter.setFont(_font(13, True))
    painter.setPen(QColor("#202124"))
    painter.drawText(QRectF(rect.left(), rect.top(), rect.width(), 24), Qt.AlignmentFlag.AlignCenter, title)
    vals = [v for _, a, b, c in rows for v in (a, b, c) if math.isfinite(v)]
    lo, hi = (0.0, 1.0) if vals and min(vals) >= 0 and max(vals) <= 1 else (min(vals or [0]), max(vals or [1]))
    if hi <= lo:
        lo, hi = lo - 1, hi + 1
    plot = QRectF(rect.left() + 110, rect.top() + 30, rect.width() - 110 - 24, rect.height() - 30 - 28)
    step = plot.height() / max(1, len(rows))
    px = lambda v: plot.left() + (v - lo) / (hi - lo) * plot.width()  # noqa: E731
    painter.setFont(_font(11))
    for t in nice_ticks(lo, hi):
        painter.setPen(QPen(GRID, 1))
        painter.drawLine(QPointF(px(t), plot.top()), QPointF(px(t), plot.bottom()))
        painter.setPen(AXIS)
        painter.drawText(QRectF(px(t) - 30, plot.bottom() + 4, 60, 16), Qt.AlignmentFlag.AlignHCenter, _tick_text(t))
    for i, (name, v, a, b) in enumerate(rows):
        y = plot.top() + (i + 0.5) * step
        painter.setPen(QColor("#202124"))
        painter.drawText(QRectF(rect.left(), y - 8, 102, 16),
                         Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, name)
        colour = QColor(PALETTE[0])
        if math.isfinite(a) and math.isfinite(b):
            painter.setPen(QPen(colour, 3))
            painter.drawLine(QPointF(px(a), y), QPointF(px(b), y))
        if math.isfinite(v):
            painter.setPen(QPen(QColor("#ffffff"), 1.5))
            painter.setBrush(colour)
            painter.drawEllipse(QPointF(px(v), y), 5, 5)
            painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.restore()


# ---- scan slices --------------------------------------------------------------------------------------------------


def slice_image(plane: np.ndarray, lo: float, hi: float, diverging: bool = False) -> QImage:
    """A 2-D (W, H) array (x right, y up) as an RGB image: grey from ``lo`` to ``hi``, or blue-white-red
    symmetric around 0 when ``diverging`` (``hi`` = the largest |value| shown)."""
    a = np.asarray(plane, float).T[::-1]  # rows top to bottom = y high to low
    rgb = np.empty((*a.shape, 3), np.uint8)
    if diverging:
        t = np.clip(np.nan_to_num(a) / (hi or 1.0), -1, 1)
        pos, neg = np.clip(t, 0, 1), np.clip(-t, 0, 1)
        rgb[..., 0] = 255 * (1 - neg * 0.85)
        rgb[..., 1] = 255 * (1 - 0.85 * (pos + neg))
        rgb[..., 2] = 255 * (1 - pos * 0.85)
    else:
        g = (np.clip((np.nan_to_num(a) - lo) / ((hi - lo) or 1.0), 0, 1) * 255).astype(np.uint8)
        rgb[...] = g[..., None]
    rgb = np.ascontiguousarray(rgb)
    img = QImage(rgb.data, rgb.shape[1], rgb.shape[0], rgb.strides[0], QImage.Format.Format_RGB888)
    return img.copy()  # own the pixels: ``rgb`` is freed when this returns


def paint_slices(painter: QPainter, rect: QRectF, volumes: Sequence[tuple[str, np.ndarray]], mask: np.ndarray,
                 voxel_size: Sequence[float] = (1.0, 1.0, 1.0), title: str = "") -> None:
    """Original / reconstruction / difference (columns) through the mask's centre: axial, coronal and sagittal
    (rows). ``volumes``: (name, (X, Y, Z) array) pairs; the last is drawn diverging (a difference). The grey
    window is the 1st-99th percentile of the first volume inside the mask, shared by the grey columns."""
    painter.save()
    m = np.asarray(mask, bool)
    first = np.asarray(volumes[0][1], float)
    inside = first[m] if m.any() else first.ravel()
    lo, hi = (float(np.percentile(inside, 1)), float(np.percentile(inside, 99))) if inside.size else (0.0, 1.0)
    diff = np.asarray(volumes[-1][1], float)
    dmax = float(np.percentile(np.abs(diff[m]), 99)) if m.any() else float(np.abs(diff).max() or 1)
    centre = [int(round(v)) for v in (np.argwhere(m).mean(axis=0) if m.any() else np.array(first.shape) / 2)]
    vx, vy, vz = (float(v) for v in voxel_size)
    planes = [("axial", lambda v: v[:, :, centre[2]], vx, vy), ("coronal", lambda v: v[:, centre[1], :], vx, vz),
              ("sagittal", lambda v: v[centre[0], :, :], vy, vz)]
    top = rect.top() + (22 if title else 0)
    if title:
        painter.setFont(_font(12, True))
        painter.setPen(QColor("#202124"))
        painter.drawText(QRectF(rect.left(), rect.top(), rect.width(), 20), Qt.AlignmentFlag.AlignLeft, title)
    label_w, head = 62.0, 18.0
    cols, rows = len(volumes), len(planes)
    cell_w = (rect.width() - label_w) / cols
    cell_h = (rect.bottom() - top - head) / rows
    painter.setFont(_font(11))
    for c, (name, _) in enumerate(volumes):
        painter.setPen(QColor("#202124"))
        painter.drawText(QRectF(rect.left() + label_w + c * cell_w, top, cell_w, head), Qt.AlignmentFlag.AlignCenter,
                         name + (f" (±{dmax:.2g})" if c == cols - 1 else ""))
    for r, (pname, cut, sx, sy) in enumerate(planes):
        y = top + head + r * cell_h
        painter.setPen(AXIS)
        painter.drawText(QRectF(rect.left(), y, label_w - 4, cell_h),
                         Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, pname)
        for c, (_, vol) in enumerate(volumes):
            # outside the brain mask: black (grey columns) or white (difference), not the value 0's mid-grey
            plane = np.where(cut(m), cut(np.asarray(vol, float)), 0.0 if c == cols - 1 else lo)
            img = slice_image(plane, lo, hi, diverging=c == cols - 1)
            w_mm, h_mm = plane.shape[0] * sx, plane.shape[1] * sy  # true proportions in millimetres
            k = min((cell_w - 6) / w_mm, (cell_h - 6) / h_mm)
            target = QRectF(0, 0, w_mm * k, h_mm * k)
            target.moveCenter(QPointF(rect.left() + label_w + (c + 0.5) * cell_w, y + cell_h / 2))
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)  # voxels stay square blocks
            painter.drawImage(target, img)
    painter.restore()
