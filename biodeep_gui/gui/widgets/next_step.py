"""A one-line next-step hint at the foot of the tabs, e.g. "Next: Model, then Training ▸ Start (Ctrl+R)"."""
from __future__ import annotations

from html import escape

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QTextDocumentFragment
from PySide6.QtWidgets import QHBoxLayout, QLabel, QWidget


class NextStep(QWidget):
    """The hint of the tab in front; its link names the tab to go to next.

    Signals
    -------
    sigGo(str) : the title of the tab the user asked for (the link was clicked)
    """

    sigGo = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._target = ""
        self.label = QLabel()
        self.label.setTextFormat(Qt.TextFormat.RichText)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.LinksAccessibleByMouse
                                           | Qt.TextInteractionFlag.LinksAccessibleByKeyboard)
        # one line when there is room, two rather than a clipped sentence in a narrow window
        self.label.setWordWrap(True)
        self.label.setStyleSheet("color: #5f6368;")
        self.label.linkActivated.connect(self._go)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(10, 2, 10, 2)
        lay.addWidget(self.label, 1)

    def set_hint(self, text: str, target: str) -> None:
        """Show ``text`` with "{link}" replaced by a link to the tab titled ``target``; an empty text hides it."""
        self._target = target
        if not text:
            self.label.clear()
            self.hide()
            return
        before, _, after = text.partition("{link}")
        link = f"<a href='tab:{escape(target, quote=True)}'>{escape(target)}</a>" if target else ""
        self.label.setText(f"{escape(before)}{link}{escape(after)}")
        self.label.setToolTip(f"Click {target} to go to that tab." if target else "")
        self.show()

    def text(self) -> str:
        """The hint as plain text (what a person reads)."""
        return QTextDocumentFragment.fromHtml(self.label.text()).toPlainText()

    def target(self) -> str:
        """The title of the tab the link opens ('' when there is none)."""
        return self._target

    @Slot()
    def go(self) -> None:
        """Follow the link, as a click on it does."""
        if self._target:
            self.sigGo.emit(self._target)

    @Slot(str)
    def _go(self, _href: str) -> None:
        self.go()
