"""Small widgets the data forms share: a path field with a Browse button, and the red problems panel."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFileDialog, QFrame, QHBoxLayout, QLabel, QLineEdit, QToolButton, QVBoxLayout, QWidget

ERROR_STYLE = ("QFrame#problems { background: #fdecea; border: 1px solid #d93025; border-radius: 4px; }"
               "QFrame#problems QLabel { color: #8c1d18; }")


class FilePicker(QWidget):
    """A path field with a "Browse…" button. ``sigChanged(str)`` fires when a file is chosen or typed."""

    sigChanged = Signal(str)
    #: Folder the next dialog opens in when the field is empty; the main window may restore it from QSettings.
    last_dir: str = ""

    def __init__(self, placeholder: str, file_filter: str, tooltip: str, dialog_title: str = "Choose a file",
                 parent=None):
        super().__init__(parent)
        self.file_filter = file_filter
        self.dialog_title = dialog_title
        self.edit = QLineEdit()
        self.edit.setPlaceholderText(placeholder)
        self.edit.setToolTip(tooltip)
        self.edit.setClearButtonEnabled(True)
        self.button = QToolButton()
        self.button.setText("Browse…")
        self.button.setToolTip(f"{dialog_title}…")
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.edit, 1)
        lay.addWidget(self.button)
        self.setToolTip(tooltip)
        self.button.clicked.connect(self._browse)
        self.edit.editingFinished.connect(self._typed)
        self._last_emitted = ""

    def path(self) -> str:
        return self.edit.text().strip()

    def set_path(self, path: str, emit: bool = True) -> None:
        self.edit.setText(str(path or ""))
        if path:
            FilePicker.last_dir = str(Path(path).parent)
        if emit:
            self._emit()

    def _typed(self) -> None:
        if self.path() != self._last_emitted:
            self._emit()

    def _emit(self) -> None:
        self._last_emitted = self.path()
        self.sigChanged.emit(self.path())

    def _browse(self) -> None:
        start = str(Path(self.path()).parent) if self.path() else FilePicker.last_dir
        path, _ = QFileDialog.getOpenFileName(self, self.dialog_title, start, self.file_filter)
        if path:
            self.set_path(path)


class ProblemsPanel(QFrame):
    """A red box listing what went wrong, in words; hidden when there is nothing to say."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("problems")
        self.setStyleSheet(ERROR_STYLE)
        self.title = QLabel("<b>Problem</b>")
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.dismiss = QToolButton()
        self.dismiss.setText("Dismiss")
        self.dismiss.setToolTip("Hide this message")
        self.dismiss.clicked.connect(self.clear)
        top = QHBoxLayout()
        top.addWidget(self.title)
        top.addStretch(1)
        top.addWidget(self.dismiss)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(10, 6, 10, 8)
        lay.addLayout(top)
        lay.addWidget(self.label)
        self.hide()

    def show_message(self, msg: str) -> None:
        self.label.setText(msg)
        self.show()

    def clear(self) -> None:
        self.label.clear()
        self.hide()

    def text(self) -> str:
        return self.label.text()
