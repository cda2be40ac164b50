"""The domain switch: two exclusive buttons, "DNA sequences | Brain scans", that pick the science the window shows."""
from __future__ import annotations

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import QButtonGroup, QHBoxLayout, QToolButton, QWidget


class DomainSwitch(QWidget):
    """Exclusive checkable buttons, one per science (e.g. the tab widget's left corner).

    Parameters
    ----------
    labels : science key -> button text, in button order
    tips : science key -> tooltip

    Signals
    -------
    sigChanged(str) : the science the user picked (not emitted by ``set_science``)
    """

    sigChanged = Signal(str)

    def __init__(self, labels: dict[str, str], tips: dict[str, str], parent: QWidget | None = None):
        super().__init__(parent)
        self.group = QButtonGroup(self)
        self.group.setExclusive(True)
        self.buttons: dict[str, QToolButton] = {}
        lay = QHBoxLayout(self)
        lay.setContentsMargins(4, 1, 8, 1)  # a gap before the first tab
        lay.setSpacing(0)  # the two buttons read as one segmented control
        for key, text in labels.items():
            b = QToolButton()
            b.setText(text)
            b.setCheckable(True)
            b.setAutoRaise(False)
            b.setToolTip(tips.get(key, ""))
            b.setProperty("science", key)
            self.group.addButton(b)
            self.buttons[key] = b
            lay.addWidget(b)
        self.group.buttonClicked.connect(self._clicked)
        # the checked science must be plain at a glance, in every style (a sunken button alone is not)
        self.setStyleSheet("QToolButton { padding: 3px 10px; border: 1px solid #9aa0a6; background: #f8f9fa; }"
                           "QToolButton:checked { background: #1a73e8; color: white; border-color: #1a73e8; }")

    def science(self) -> str:
        """The science whose button is checked."""
        b = self.group.checkedButton()
        return str(b.property("science")) if b is not None else ""

    def set_science(self, key: str) -> None:
        """Check the button of ``key`` without emitting ``sigChanged``."""
        self.buttons[key].setChecked(True)

    @Slot(object)
    def _clicked(self, button) -> None:
        self.sigChanged.emit(str(button.property("science")))
