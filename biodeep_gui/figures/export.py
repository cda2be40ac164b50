"""The one figure writer: a painting function drawn into PNG, SVG or PDF (chosen by suffix), written atomically.

Every widget-free figure (sequence logos, mutation maps) is a ``draw(painter)`` function over a logical canvas of
``size`` pixels; ``write_figure`` runs it on a ``QImage`` (PNG, ``scale`` x the pixels for high-DPI sharpness), a
``QSvgGenerator`` (SVG) or a ``QPdfWriter`` (PDF, 1 point per logical pixel) and hands the encoded bytes to
``core.common.fileio.atomic_write``: a failed draw or write leaves the previous file as it was.

The Qt application
------------------
Painting text needs a ``QGuiApplication``. This package never creates one: ``figures`` may not import
``QtWidgets``, and a bare ``QGuiApplication`` made here would become the process's only application, after which
any ``QWidget`` (the app, the tests) aborts the process. So the caller owns the application: the GUI has its
``QApplication``; the command line makes an offscreen ``QApplication`` (``biodeep_gui.cli.interpret._qt_app``)
before drawing. ``require_application`` turns a missing one into a clear error instead of a crash in Qt.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QMarginsF, QRectF, QSize, QSizeF
from PySide6.QtGui import QColor, QGuiApplication, QImage, QPageSize, QPainter, QPdfWriter

from biodeep_gui.core.common.fileio import atomic_write

#: Suffixes (without the dot) ``write_figure`` knows, in the order file dialogs offer them.
FORMATS = ("png", "svg", "pdf")
FILE_FILTER = "PNG image (*.png);;SVG vector figure (*.svg);;PDF document (*.pdf)"
WHITE = QColor("#ffffff")


def require_application() -> QGuiApplication:
    """The running Qt application; a ``RuntimeError`` saying what to do when there is none (see module notes)."""
    app = QGuiApplication.instance()
    if app is None:
        raise RuntimeError("drawing a figure needs a Qt application: create a QApplication first "
                           "(offscreen: QT_QPA_PLATFORM=offscreen)")
    return app


def figure_format(path: str | Path, what: str = "figures") -> str:
    """The format named by ``path``'s suffix ('png', 'svg' or 'pdf'); ``ValueError`` naming the file otherwise."""
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise ValueError(f"{path.name}: {what} are saved as {', '.join('.' + f for f in FORMATS)}")
    return fmt


def write_figure(path: str | Path, size: QSize, draw: Callable[[QPainter], None], *, title: str = "",
                 description: str = "", scale: float = 2.0, background: QColor | None = WHITE,
                 what: str = "figures") -> Path:
    """Paint ``draw`` into a PNG, SVG or PDF file (by ``path``'s suffix), atomically.

    Parameters
    ----------
    path : the file; its folder is created if needed
    size : the logical canvas (pixels; points in a PDF) that ``draw`` paints into, origin top-left
    draw : paints the figure with the painter it is given (already scaled to the logical canvas)
    title, description : document metadata (SVG title / description, PDF title)
    scale : PNG pixels per logical pixel (2: sharp on high-DPI screens and in slides)
    background : filled behind the figure (None: transparent PNG, no fill in SVG/PDF)
    what : the kind of figure, for the error message about an unknown suffix

    Returns
    -------
    the path written
    """
    path = Path(path)
    fmt = figure_format(path, what)
    try:
        data = figure_bytes(fmt, size, draw, title=title, description=description, scale=scale, background=background)
    except OSError as exc:
        raise OSError(f"{path}: {exc}") from None
    if not data:
        raise OSError(f"{path}: the {path.suffix.lstrip('.').upper()} figure came out empty")
    return atomic_write(path, data)


def figure_bytes(fmt: str, size: QSize, draw: Callable[[QPainter], None], *, title: str = "",
                 description: str = "", scale: float = 2.0, background: QColor | None = WHITE) -> bytes:
    """``draw`` painted and encoded as ``fmt`` ('png', 'svg' or 'pdf') in memory (``write_figure`` without the
    file: e.g. a PNG embedded in a report). Parameters as for ``write_figure``; b'' only if Qt encoded nothing.
    """
    require_application()
    w, h = max(1, int(size.width())), max(1, int(size.height()))
    buf = QByteArray()
    dev = QBuffer(buf)
    dev.open(QIODevice.OpenModeFlag.WriteOnly)
    if fmt == "png":
        img = QImage(int(w * scale), int(h * scale), QImage.Format.Format_ARGB32)
        img.fill(background if background is not None else QColor(0, 0, 0, 0))
        painter = QPainter(img)
        painter.scale(scale, scale)
        _draw(painter, draw)
        if not img.save(dev, "PNG"):
            raise OSError("the PNG image could not be encoded")
    elif fmt == "svg":
        from PySide6.QtSvg import QSvgGenerator  # QtSvg: loaded only when an SVG is asked for

        gen = QSvgGenerator()
        gen.setOutputDevice(dev)
        gen.setSize(QSize(w, h))
        gen.setViewBox(QRectF(0, 0, w, h))
        gen.setTitle(title)
        gen.setDescription(description)
        painter = QPainter(gen)
        if background is not None:
            painter.fillRect(QRectF(0, 0, w, h), background)
        _draw(painter, draw)
    else:
        writer = QPdfWriter(dev)
        writer.setResolution(72)  # 1 point per logical pixel: the figure keeps its on-screen proportions
        writer.setPageSize(QPageSize(QSizeF(w, h), QPageSize.Unit.Point))
        writer.setPageMargins(QMarginsF(0, 0, 0, 0))
        writer.setTitle(title)
        writer.setCreator("BioDeep")
        painter = QPainter(writer)
        s = writer.width() / w
        painter.scale(s, s)
        if background is not None:
            painter.fillRect(QRectF(0, 0, w, h), background)
        _draw(painter, draw)
        del writer  # flushes the PDF's trailer into the buffer
    dev.close()
    return bytes(buf.data())


def _draw(painter: QPainter, draw: Callable[[QPainter], None]) -> None:
    """Run ``draw`` and always end the painter (an active painter on a dead device crashes Qt)."""
    try:
        draw(painter)
    finally:
        painter.end()
