"""The page that holds one tab of the window: the tab fills it, and scrolls only below the tab's minimum size."""
from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QScrollArea, QStyle, QWidget


class TabPage(QScrollArea):
    """A scroll area that gives its tab the whole viewport, and scrollbars only when the viewport is smaller than
    the tab's minimum size (small laptop screens).

    A resizable ``QScrollArea`` makes a tab with word-wrapped labels as tall as the tab's *preferred* height for
    the width (``heightForWidth``): the plots of Results, for one, asked for ~600 px and were cut at the fold of a
    1024 × 640 window although they fit in 420. Here the tab gets the viewport's height, never less than its
    minimum.
    """

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWidgetResizable(False)  # sized by _fit
        self.setFrameShape(QScrollArea.Shape.NoFrame)
        self._fit_timer = QTimer(self)  # one fit per burst of layout requests, after the tab's layout has run
        self._fit_timer.setSingleShot(True)
        self._fit_timer.setInterval(0)
        self._fit_timer.timeout.connect(self.fit)

    def setWidget(self, widget: QWidget) -> None:  # noqa: N802 (Qt API)
        super().setWidget(widget)
        widget.installEventFilter(self)
        self.fit()

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt API)
        if obj is self.widget() and event.type() == QEvent.Type.LayoutRequest:
            self._fit_timer.start()  # its minimum size may have changed (a label got longer, a page was shown)
        return super().eventFilter(obj, event)

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().resizeEvent(event)
        self.fit()

    def fit(self) -> None:
        """Size the tab: the viewport, grown to the tab's minimum size (with room for the scrollbars that needs)."""
        w = self.widget()
        if w is None:
            return
        avail = self.maximumViewportSize()  # without scrollbars
        need = w.minimumSizeHint().expandedTo(w.minimumSize())
        bar = self.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent, None, self)
        width, height = avail.width(), avail.height()
        horizontal = need.width() > width
        if horizontal:
            height -= bar
        if need.height() > height:  # a vertical scrollbar takes width, which may call for a horizontal one
            width -= bar
            if not horizontal and need.width() > width:
                height -= bar
        w.resize(max(width, need.width()), max(height, need.height()))
