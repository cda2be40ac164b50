"""The grid of the Filters tab: one card per first-layer filter (its logo and a caption)."""
from __future__ import annotations

from html import escape

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QLabel, QVBoxLayout, QWidget

from biodeep_gui.gui.glossary import tip
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
        self.caption.setToolTip(f"{tip('Influence')}\n{tip('Match p-value')}\n{tip('n_sites')}")
        lay.addWidget(self.logo)
        lay.addWidget(self.caption)

    def set_caption(self, html: str) -> None:
        """The caption under the logo, as tall as its lines need at the card's fixed width (the grid does not
        ask a card's height for its width, and a three-line caption was drawn over the logo)."""
        self.caption.setText(html)
        margins = self.layout().contentsMargins()
        self.caption.setMinimumHeight(self.caption.heightForWidth(CARD_W - margins.left() - margins.right()))

    def set_selected(self, on: bool) -> None:
        self.logo.set_selected(on)


def filter_caption(a, f: int, rank) -> str:
    """The caption under filter ``f``'s logo (rich text): importance rank and influence, then what the filter may
    be called: its best JASPAR match and p-value with the site count, or why it has no name.

    a : a ``FiltersAnalysis``; rank : ``a.influence.rank()`` or None when influence was not measured
    The influence numbers are ``FilterInfluence.describe``'s (the detail panel and the command line print the
    same ones): changes without the filter minus with it, positive loss change = worse without it.
    """
    bits = []
    if rank is not None:
        bits.append(f"importance #{rank[f]}: {escape(a.influence.describe(f))}")
    n = int(a.motifs.n_sites[f])
    status = a.status(f)
    if status == "never fires":
        bits.append("<span style='color:#999'>never fires on these data</span>")
    elif status == "too few sites":
        bits.append(f"<span style='color:#a15c00'>too few sites ({n}): not named "
                    f"(needs {a.min_sites})</span>")
    elif a.matches is not None:
        best = a.matches.best(f)
        if best is not None:
            colour = "#0b6e2e" if status == "named" else "#777"
            bits.append(f"<span style='color:{colour}'><b>{escape(best.name)}</b> {best.motif_id}, "
                        f"p = {best.p_value:.1e}, {n:,} sites</span>")
        else:
            bits.append(f"<span style='color:#777'>no JASPAR match ({n:,} sites)</span>")
    return "<br>".join(bits)
