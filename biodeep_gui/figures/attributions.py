"""Attribution tracks and discovered-motif figures: painters over ``figures.logos`` and the one figure writer.

``paint_attribution_track``  an attribution logo: at each position the base present, its height the attribution
                             (positive above the zero line, negative below and upside down), ``x0 + i * px`` wide
                             columns so that it lines up with a mutation map drawn at the same pixels per base
``save_attribution_track``   the same into a PNG / SVG / PDF file (``export.write_figure``)
``logo_png_base64``          a logo rendered offscreen as a base64 PNG (for self-contained HTML)
``discovery_html``           a self-contained HTML report of TF-MoDISco patterns (logos embedded as base64 PNG)

Nothing here computes science; the arrays come from ``core.sequences.interpret.attributions`` / ``discovery``.
"""
from __future__ import annotations

import base64
import html
from pathlib import Path

import numpy as np
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QRectF, QSize
from PySide6.QtGui import QPainter

from biodeep_gui.figures.export import write_figure
from biodeep_gui.figures.logos import LogoStyle, logo_size, paint_logo, render_logo

TRACK_HEIGHT = 110


def track_limits(matrix: np.ndarray) -> tuple[float, float]:
    """Symmetric y limits of an attribution track (its largest |value|, never 0)."""
    m = np.asarray(matrix, dtype=np.float64)
    top = float(np.abs(m).sum(axis=1).max(initial=0.0)) if m.size else 0.0
    return (-top, top) if top > 0 else (-1.0, 1.0)


def paint_attribution_track(painter: QPainter, rect: QRectF, matrix: np.ndarray, *, title: str = "",
                            subtitle: str = "", axes: bool = True, first_position: int = 1,
                            y_limits: tuple[float, float] | None = None) -> QRectF:
    """Draw an (L, 4) signed attribution matrix (one non-zero base per position) as a logo into ``rect``."""
    return paint_logo(painter, rect, np.asarray(matrix, dtype=np.float64), "weights",
                      LogoStyle(axes=axes, title=title, subtitle=subtitle, first_position=first_position,
                                y_label="attribution"),
                      y_limits=y_limits or track_limits(matrix))


def track_size(length: int, px_per_base: float = 8.0) -> QSize:
    """A figure size for an attribution track of ``length`` bases."""
    return QSize(int(70 + max(length, 10) * px_per_base), TRACK_HEIGHT + 30)


def save_attribution_track(matrix: np.ndarray, path: str | Path, *, title: str = "", subtitle: str = "",
                           px_per_base: float = 8.0) -> Path:
    """Write an attribution track to ``path`` (.png / .svg / .pdf), atomically."""
    size = track_size(len(matrix), px_per_base)
    return write_figure(path, size, lambda p: paint_attribution_track(
        p, QRectF(0, 0, size.width(), size.height()), matrix, title=title, subtitle=subtitle),
        title=title or "attribution track", description="Attribution logo drawn by BioDeep", what="figures")


def logo_png_base64(matrix: np.ndarray, mode: str = "bits", *, title: str = "", subtitle: str = "",
                    scale: float = 1.5) -> str:
    """A logo as base64-encoded PNG bytes (needs a Qt application, offscreen is fine)."""
    img = render_logo(np.asarray(matrix, dtype=np.float64), mode, logo_size(len(matrix)), title=title,
                      subtitle=subtitle, scale=scale)
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.WriteOnly)
    img.save(buf, "PNG")
    buf.close()
    return base64.b64encode(bytes(data)).decode("ascii")


_CSS = """body{font-family:sans-serif;margin:24px;color:#222}table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:6px;vertical-align:middle}th{background:#f4f4f4}
.note{color:#666}img{display:block}"""


def discovery_html(result, title: str = "Discovered motifs") -> str:
    """A self-contained HTML page: per pattern its PFM and CWM logos, seqlet count and best matches."""
    esc = html.escape
    rows = []
    for p in result.patterns:
        pfm = logo_png_base64(p.pfm, "bits", title=p.name, subtitle=f"{p.n_seqlets} seqlets")
        cwm = logo_png_base64(p.cwm, "weights", title="contribution weights")
        matches = "<br>".join(
            f"{esc(m.name)} ({esc(m.motif_id)}{', rev. compl.' if m.strand == '-' else ''}): "
            f"p = {m.p_value:.2g}, q = {m.q_value:.2g}" for m in p.matches) or "no match"
        best = ""
        if p.best is not None:
            t = p.best
            target = next((x for x in getattr(result, "targets", []) if x.id == t.motif_id), None)
            if target is not None:
                mat = target.pfm if t.strand == "+" else target.pfm[::-1, ::-1]
                best = f"<img alt='{esc(t.name)}' src='data:image/png;base64,{logo_png_base64(mat, title=t.name)}'>"
        rows.append(f"<tr><td>{esc(p.name)}<br>{'raises' if p.sign > 0 else 'lowers'} the output</td>"
                    f"<td>{p.n_seqlets}</td><td><img alt='PFM' src='data:image/png;base64,{pfm}'>"
                    f"<img alt='CWM' src='data:image/png;base64,{cwm}'></td><td>{matches}</td><td>{best}</td></tr>")
    notes = "".join(f"<p class='note'>{esc(n)}</p>" for n in result.notes)
    method = {"deeplift_shap": "DeepLIFT/SHAP", "integrated_gradients": "integrated gradients"}.get(result.method,
                                                                                                    result.method)
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{esc(title)}</title><style>{_CSS}</style>"
            f"</head><body><h1>{esc(title)}</h1><p>TF-MoDISco-lite over the {esc(method)} attributions of "
            f"{esc(result.which)}; matched to {esc(result.release)} ({result.n_targets} motifs) with Tomtom "
            f"(q-values: Benjamini-Hochberg over all pattern x motif comparisons).</p>{notes}"
            "<table><tr><th>pattern</th><th>seqlets</th><th>logo (bits) and contribution weights</th>"
            f"<th>best matches</th><th>best match logo</th></tr>{''.join(rows)}</table></body></html>")
