"""Help ▸ Guide and Help ▸ Glossary: non-modal windows that stay open beside the tabs while the user works.

The texts are ``gui.glossary``'s; the Guide's shortcut table is read from the window's own menus, so it cannot
name a key the menus do not have.
"""
from __future__ import annotations

from PySide6.QtCore import QObject, Qt, Slot
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QMainWindow, QMenu, QTextBrowser, QVBoxLayout

from biodeep_gui.gui.glossary import glossary_html, guide_html


def menu_shortcuts(window: QMainWindow) -> list[tuple[str, str]]:
    """(menu entry without '&' and '…', its key sequences in the platform's words) of every menu entry of
    ``window`` that has a shortcut, in menu order."""
    out = []

    def walk(menu: QMenu) -> None:
        for act in menu.actions():
            if act.menu() is not None:
                walk(act.menu())
            elif act.shortcuts():
                keys = ", ".join(k.toString(QKeySequence.SequenceFormat.NativeText) for k in act.shortcuts())
                out.append((act.text().replace("&", "").rstrip("…"), keys))

    for act in window.menuBar().actions():
        if act.menu() is not None:
            walk(act.menu())
    return out


class HelpDialogs(QObject):
    """The window's Guide and Glossary; each is built once, then raised again when asked for."""

    def __init__(self, window: QMainWindow):
        super().__init__(window)
        self._window = window
        self.dialogs: dict[str, QDialog] = {}

    @Slot()
    def show_guide(self) -> QDialog:
        return self._show("Guide", guide_html(menu_shortcuts(self._window)))

    @Slot()
    def show_glossary(self) -> QDialog:
        return self._show("Glossary", glossary_html())

    def _show(self, title: str, html: str) -> QDialog:
        dlg = self.dialogs.get(title)
        if dlg is None:
            dlg = QDialog(self._window)
            dlg.setWindowTitle(f"BioDeep {title}")
            dlg.setModal(False)
            browser = QTextBrowser(dlg)
            browser.setObjectName("help_text")
            browser.setOpenExternalLinks(True)
            browser.setHtml(html)
            buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, dlg)
            buttons.rejected.connect(dlg.close)
            lay = QVBoxLayout(dlg)
            lay.addWidget(browser)
            lay.addWidget(buttons)
            # fits a 1024×640 screen beside the window's own title bar
            dlg.resize(min(640, self._window.width()), min(560, self._window.height()))
            dlg.setWindowFlag(Qt.WindowType.WindowContextHelpButtonHint, False)
            self.dialogs[title] = dlg
        dlg.show()
        dlg.raise_()
        dlg.activateWindow()
        return dlg
