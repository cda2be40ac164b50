"""The grid of the Filters tab: one card per first-layer filter (its logo and a caption)."""
from __future__ import annotations

import math

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QLabel, QVBoxLayout, QWidget

from biodeep_gui.gui.widgets.logo_view import LogoView

#: Width of one card in pixels (the grid has as many columns as fit).
CARD_W = 214


class FilterCard(QFrame):
    """One filter in the grid: its logo with a caption (importance rank, best match, p-value)."""

    def __init__(self, index: int, parent: QWidget | None = None):
        super().__init__(parent)
        self.index = index
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setFixedWidth(CARD_W)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(3, 3, 3, 3)
        lay.setSpacing(1)
        self.logo = LogoView(self, tag=index)
        self.logo.setMinimumSize(CARD_W - 10, 92)
        self.caption = QLabel()
        self.caption.setWordWrap(True)
        self.caption.setTextFormat(Qt.TextFormat.RichText)
        self.caption.setStyleSheet("font-size: 11px;")
        lay.addWidget(self.logo)
        lay.addWidget(self.caption)

    def set_selected(self, on: bool) -> None:
        self.logo.set_selected(on)


def filter_caption(a, f: int, rank) -> str:
    """The caption under filter ``f``'s logo (rich text): importance rank and drop, best match and p-value.

    a : a ``FiltersAnalysis``; rank : ``a.influence.rank()`` or None when influence was not measured
    """
    bits = []
    if rank is not None:
        drop = a.influence.drop[f]
        bits.append(f"importance #{rank[f]}" + (f" (\u0394{a.influence.metric.upper()} {drop:+.3f})"
                                                if a.influence.metric and math.isfinite(drop) else ""))
    if a.motifs.n_sites[f] == 0:
        bits.append("<span style='color:#999'>never fires on these data</span>")
    elif a.matches is not None:
        best = a.matches.best(f)
        if best is not None:
            strong = best.q_value < 0.1
            colour = "#0b6e2e" if strong else "#777"
            bits.append(f"<span style='color:{colour}'><b>{best.name}</b> {best.motif_id}, "
                        f"p = {best.p_value:.1e}</span>")
    return "<br>".join(bits)
