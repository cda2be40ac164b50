"""A run report as one self-contained HTML file or a PDF: ``core.run_report``'s tables and arrays, laid out and drawn.

The HTML holds everything it shows: CSS inline in ``<style>``, every figure a PNG in a ``data:`` URI; it names
no external file or address, so it can be mailed or archived as it is. The PDF is the same HTML typeset by Qt's
``QTextDocument`` onto a ``QPdfWriter`` (A4), with the figures handed to the document as image resources.

``write_report`` is the one entry point of the command line and the app: a generator (progress lines) that
gathers the report (``core.run_report.collect_report``), draws it and writes the file atomically. Drawing needs a
Qt application (see ``figures.export``); it may run in a worker thread (QImage and QPdfWriter paint off the GUI
thread).
"""
from __future__ import annotations

import base64
import html
import math
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QMarginsF, QRectF, QSize, QSizeF, QUrl
from PySide6.QtGui import QImage, QPageLayout, QPageSize, QPdfWriter, QTextDocument

from biodeep_gui.core.common.errors import BioDeepError
from biodeep_gui.core.common.fileio import atomic_write
from biodeep_gui.core.run_report import SCANS, RunReport, Table, collect_report, fmt
from biodeep_gui.figures import report_plots as P
from biodeep_gui.figures.export import require_application

#: Output formats, by suffix.
REPORT_FORMATS = (".html", ".htm", ".pdf")

_CSS = """
body { font-family: 'DejaVu Sans', Arial, sans-serif; font-size: 10pt; color: #202124; max-width: 60em; margin: 1.5em; }
h1 { font-size: 17pt; color: #0b57d0; margin-bottom: 0.2em; }
h2 { font-size: 13pt; color: #0b57d0; border-bottom: 1px solid #c4c7c5; margin-top: 1.4em; }
h3 { font-size: 10.5pt; margin-bottom: 0.3em; }
table { border-collapse: collapse; margin: 0.3em 0 0.8em 0; }
th { background-color: #e8f0fe; text-align: left; font-weight: bold; border: 1px solid #c4c7c5; padding: 3px 6px; }
td { border: 1px solid #c4c7c5; padding: 3px 6px; vertical-align: top; }
td.num { text-align: right; }
td.code { font-family: 'DejaVu Sans Mono', monospace; font-size: 8pt; }
p.note { color: #5f6368; font-size: 9pt; margin: 0.2em 0 0.6em 0; }
p.meta { color: #3c4043; }
"""


class _Images:
    """Figures of one report: embedded as data URIs (HTML file) or named resources (QTextDocument)."""

    def __init__(self, embed: bool):
        self.embed = embed
        self.resources: dict[str, bytes] = {}

    def tag(self, data: bytes, width: int, alt: str, block: bool = True) -> str:
        if self.embed:
            src = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
        else:
            src = f"figure{len(self.resources) + 1}.png"
            self.resources[src] = data
        tag = f'<img src="{src}" width="{width}" alt="{html.escape(alt)}">'
        return f"<p>{tag}</p>" if block else tag


def _grid(cells: list[str], n_cols: int = 2) -> str:
    """Cells (HTML) side by side, ``n_cols`` to a row, in a borderless layout table."""
    rows = [cells[i:i + n_cols] for i in range(0, len(cells), n_cols)]
    td = '<td style="border: none; padding: 0 12px 8px 0; vertical-align: top">'
    return ('<table cellspacing="0" cellpadding="0" style="border: none">'
            + "".join("<tr>" + "".join(f"{td}{c}</td>" for c in r) + "</tr>" for r in rows) + "</table>")


def _table(t: Table, code_cols: tuple[int, ...] = ()) -> str:
    out = [f"<h3>{html.escape(t.title)}</h3>"] if t.title else []
    out.append('<table cellspacing="0" cellpadding="4">')
    if any(t.header):
        out.append("<tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in t.header) + "</tr>")
    for row in t.rows:
        cells = []
        for j, c in enumerate(row):
            cls = ' class="code"' if j in code_cols else ' class="num"' if _numeric(c) else ""
            cells.append(f"<td{cls}>{html.escape(c)}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</table>")
    if t.note:
        out.append(f'<p class="note">{html.escape(t.note)}</p>')
    return "\n".join(out)


def _numeric(text: str) -> bool:
    try:
        float(text.replace(",", ""))
        return True
    except ValueError:
        return False


def _notes(rep: RunReport, section: str) -> str:
    return "".join(f'<p class="note">{html.escape(n)}</p>' for n in rep.notes.get(section, []))


def _tables(rep: RunReport, section: str, code_cols: tuple[int, ...] = ()) -> str:
    return "\n".join(_table(t, code_cols) for t in rep.tables.get(section, []))


def report_html(rep: RunReport, *, embed: bool = True) -> tuple[str, dict[str, bytes]]:
    """The report as HTML, and the figures it names when not ``embed``-ded (name -> PNG bytes; {} when embedded).

    Parameters
    ----------
    rep : ``core.run_report.RunReport``
    embed : figures as ``data:`` URIs (a self-contained file) or as resource names for ``QTextDocument``
    """
    require_application()
    from biodeep_gui import __version__

    img = _Images(embed)
    made = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    what = "Brain-scans run" if rep.kind == SCANS else "Sequence run"
    parts = [f"<h1>BioDeep run report: {html.escape(rep.name)}</h1>",
             (f'<p class="meta">{what} in <code>{html.escape(str(rep.path))}</code>; status '
              f"{html.escape(rep.status)}{'; trained ' + html.escape(rep.created) if rep.created else ''}. "
              f"Report made {made} by BioDeep {html.escape(__version__)}.</p>")]
    n = 0

    def section(title: str) -> None:
        nonlocal n
        n += 1
        parts.append(f"<h2>{n}. {html.escape(title)}</h2>")

    section("Data")
    parts += [_tables(rep, "data"), _notes(rep, "data")]
    section("Training curves")
    for c in rep.curves:
        size = QSize(640, 260)
        parts.append(img.tag(P.png(size, lambda p, c=c: P.paint_curves(p, QRectF(0, 0, 640, 260), c.title,
                                                                         c.series, y_label=c.y_label)),
                             size.width(), c.title))
    if not rep.curves:
        parts.append('<p class="note">No training history in this run.</p>')
    parts.append(_notes(rep, "curves"))
    if rep.kind == SCANS:
        _scans_sections(rep, parts, section, img)
    else:
        _sequence_sections(rep, parts, section, img)
    section("Settings")
    parts.append(_tables(rep, "settings"))
    section("Versions and inputs")
    parts += [_tables(rep, "versions", code_cols=(1,)), _notes(rep, "versions")]
    body = "\n".join(p for p in parts if p)
    doc = (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
           f"<title>BioDeep report: {html.escape(rep.name)}</title>\n<style>{_CSS}</style></head>\n"
           f"<body>\n{body}\n</body></html>\n")
    return doc, img.resources


def _sequence_sections(rep: RunReport, parts: list[str], section: Callable[[str], None], img: _Images) -> None:
    section("Test metrics")
    if rep.metrics:
        rows = [[m.name, fmt(m.value, 4), f"[{fmt(m.low, 4)}, {fmt(m.high, 4)}]"] for m in rep.metrics]
        parts.append(_table(Table("Test set", ["metric", "value", "95 % interval"], rows)))
        h = 36 + 30 * len(rep.metrics) + 30
        parts.append(img.tag(P.png(QSize(560, h), lambda p: P.paint_intervals(
            p, QRectF(0, 0, 560, h), [(m.name, m.value, m.low, m.high) for m in rep.metrics])), 560,
            "test metrics with intervals"))
    else:
        parts.append('<p class="note">No test metrics in metrics.json.</p>')
    parts += [_notes(rep, "metrics"), _tables(rep, "metrics")]
    section("Comparison with baselines")
    parts += [_tables(rep, "baselines"), _notes(rep, "baselines")]
    if rep.filters is not None or rep.notes.get("motifs"):
        section("First-layer filters")
        parts += [_tables(rep, "motifs"), _notes(rep, "motifs")]
        if rep.filters is not None:
            parts += _filter_logos(rep, img)


def _filter_logos(rep: RunReport, img: _Images) -> list[str]:
    from biodeep_gui.figures.logos import LogoStyle, aligned_match_stack, paint_logo

    res = rep.filters
    fm, mt = res.motifs, res.matches
    out = []
    for f in rep.shown_filters:
        best = mt.best(f) if mt is not None else None
        sub = f"{int(fm.n_sites[f]):,} sites" + (f"; {res.status(f)}" if mt is not None else "")
        if best is not None:
            items, aligned = aligned_match_stack(fm.pfms[f], mt.per_filter[f][:1], mt.targets, f"Filter {f + 1}")
            items[0] = (items[0][0], items[0][1], sub)
        else:
            items, aligned = [(fm.pfms[f], f"Filter {f + 1}", sub)], [(0, len(fm.pfms[f]))]
        one = QSize(320, 120)  # two to a row on an A4 page, whatever the filter and motif widths
        total = QSize(one.width(), one.height() * len(items))

        def draw(p, items=items, aligned=aligned, one=one):
            for k, (matrix, title, subtitle) in enumerate(items):
                paint_logo(p, QRectF(0, k * one.height(), one.width(), one.height()), matrix, "bits",
                           LogoStyle(title=title, subtitle=subtitle), start=aligned[k][0], n_columns=aligned[k][1])
        out.append(img.tag(P.png(total, draw), total.width(), f"filter {f + 1} logo", block=False))
    return [_grid(out, 2)]


def _scans_sections(rep: RunReport, parts: list[str], section: Callable[[str], None], img: _Images) -> None:
    section("Reconstructions")
    parts += [_tables(rep, "reconstruction")]
    for s in rep.slices:
        size = QSize(560, 430)
        vols = [("original", s.original), ("reconstruction", s.reconstruction), ("difference", s.difference)]
        title = (f"Subject {s.subject} (fold {s.fold}): r = {fmt(s.correlation)}, template r = "
                 f"{fmt(s.template_correlation)}, residual r = {fmt(s.residual_correlation)}")
        parts.append(img.tag(P.png(size, lambda p, v=vols, s=s, t=title: P.paint_slices(
            p, QRectF(0, 0, 560, 430), v, s.mask, s.voxel_size, t)), size.width(), title))
    parts.append(_notes(rep, "reconstruction"))
    section("Classification")
    parts += [_tables(rep, "classification"), _notes(rep, "classification")]
    if rep.tables.get("confusion"):
        parts.append("<h3>Confusion matrices (pooled out-of-fold, threshold 0.5)</h3>")
        parts.append(_grid([_table(t) for t in rep.tables["confusion"]], 2))


def report_pdf(rep: RunReport) -> bytes:
    """The report typeset on A4 pages as PDF bytes (``QTextDocument`` on a ``QPdfWriter``)."""
    text, resources = report_html(rep, embed=False)
    doc = QTextDocument()
    for name, data in resources.items():
        image = QImage.fromData(data, "PNG")
        if image.isNull():
            raise OSError(f"{name}: a report figure could not be decoded")
        doc.addResource(QTextDocument.ResourceType.ImageResource, QUrl(name), image)
    doc.setDefaultStyleSheet(_CSS)
    doc.setHtml(text)
    buf = QByteArray()
    dev = QBuffer(buf)
    dev.open(QIODevice.OpenModeFlag.WriteOnly)
    writer = QPdfWriter(dev)
    writer.setPageSize(QPageSize(QPageSize.PageSizeId.A4))
    writer.setPageMargins(QMarginsF(15, 15, 15, 15), QPageLayout.Unit.Millimeter)
    writer.setTitle(f"BioDeep report: {rep.name}")
    writer.setCreator("BioDeep")
    writer.setResolution(96)  # the figures' widths are CSS pixels: 96 per inch keeps them on the page
    doc.setPageSize(QSizeF(writer.width(), writer.height()))
    doc.print_(writer)
    del writer  # flushes the PDF's trailer into the buffer
    dev.close()
    return bytes(buf.data())


def render_page(rep: RunReport, width: int = 700) -> QImage:
    """The report as one tall image (``QTextDocument.drawContents``): to look at it without a browser (700 px:
    about the width of the PDF's A4 text area at 96 dpi)."""
    from PySide6.QtGui import QColor, QPainter

    text, resources = report_html(rep, embed=False)
    doc = QTextDocument()
    for name, data in resources.items():
        doc.addResource(QTextDocument.ResourceType.ImageResource, QUrl(name), QImage.fromData(data, "PNG"))
    doc.setDefaultStyleSheet(_CSS)
    doc.setHtml(text)
    doc.setTextWidth(width)
    h = int(math.ceil(doc.size().height()))
    image = QImage(width, h, QImage.Format.Format_RGB32)
    image.fill(QColor("#ffffff"))
    painter = QPainter(image)
    doc.drawContents(painter)
    painter.end()
    return image


def report_format(out: str | Path) -> str:
    """'html' or 'pdf' from ``out``'s suffix; a ``BioDeepError`` naming the file otherwise."""
    suffix = Path(out).suffix.lower()
    if suffix not in REPORT_FORMATS:
        raise BioDeepError(f"--out {str(out)!r}: a report is written as .html or .pdf (got "
                           f"{suffix or 'no suffix'})")
    return "pdf" if suffix == ".pdf" else "html"


def write_report(run_dir: str | Path, out: str | Path, *, motifs: str = "match", cache_dir: str | None = None,
                 check_inputs: bool = True, should_stop: Callable[[], bool] | None = None) -> Iterator[str]:
    """Gather, draw and write a run's report to ``out`` (.html or .pdf), atomically; a generator of progress lines
    that returns the path written.

    ``out`` must already have passed ``core.common.fileio.check_output_path`` (the caller names the setting).
    Parameters otherwise as for ``core.run_report.collect_report``.
    """
    fmt_ = report_format(out)
    rep = yield from collect_report(run_dir, motifs=motifs, cache_dir=cache_dir, check_inputs=check_inputs,
                                    should_stop=should_stop)
    yield "Drawing the report"
    data = report_pdf(rep) if fmt_ == "pdf" else report_html(rep)[0].encode("utf-8")
    return atomic_write(out, data)
