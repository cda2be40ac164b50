"""A number field that shows what a person would write: 0.003, not QDoubleSpinBox's 0.003000."""
from __future__ import annotations

from PySide6.QtWidgets import QDoubleSpinBox

from biodeep_gui.gui.widgets.plots import format_number


class NumberBox(QDoubleSpinBox):
    """A ``QDoubleSpinBox`` whose text drops trailing zeros (``format_number``); ``decimals()`` stays the
    precision it keeps and accepts, so 0.000123 still fits in a box of 6 decimals."""

    def textFromValue(self, value: float) -> str:  # noqa: N802 (Qt API)
        text = super().textFromValue(value)
        point = self.locale().decimalPoint()
        if point in text:  # the locale's own digits and separator, trimmed as format_number trims
            text = text.rstrip("0").rstrip(point)
        return text or format_number(value, self.decimals())
