"""The Model tab's drawn network: ``figures.architecture`` painted into a widget as tall as its text needs."""
from __future__ import annotations

from typing import Sequence

from PySide6.QtCore import QRectF, QSize
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QSizePolicy, QWidget

from biodeep_gui.core.training.diagram import Block
from biodeep_gui.figures.architecture import architecture_height, paint_architecture


class ArchitectureView(QWidget):
    """Blocks from the input down to the prediction; its height follows its width (``heightForWidth``)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._blocks: list[Block] = []
        policy = QSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)
        self.setToolTip("What the network does to the DNA or the scan, step by step, and what each step passes "
                        "on. The exact layers are under Layer details.")

    def set_blocks(self, blocks: Sequence[Block]) -> None:
        self._blocks = list(blocks)
        self._fit()
        self.updateGeometry()
        self.update()

    def blocks(self) -> list[Block]:
        return list(self._blocks)

    def hasHeightForWidth(self) -> bool:  # noqa: N802 (Qt API)
        return True

    def heightForWidth(self, width: int) -> int:  # noqa: N802 (Qt API)
        return int(architecture_height(self._blocks, width, self.font())) + 2

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt API)
        return QSize(480, self.heightForWidth(480))

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        # not every layout (a scroll area's) asks heightForWidth: a minimum height keeps the text from clipping
        need = self.heightForWidth(max(1, self.width()))
        if self.minimumHeight() != need:
            self.setMinimumHeight(need)

    def paintEvent(self, _event) -> None:  # noqa: N802 (Qt API)
        painter = QPainter(self)
        paint_architecture(painter, QRectF(0, 0, self.width(), self.height()), self._blocks, self.font())
        painter.end()
