"""The right side of the Filters tab: one filter enlarged, its best JASPAR matches aligned under it, and a table
of its matches."""
from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QGroupBox,
    QHeaderView,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from biodeep_gui.figures.logos import LogoStyle, aligned_match_stack, paint_logo
from biodeep_gui.gui.glossary import tip

#: column of the match table → the glossary term its header explains on hover
MATCH_TIPS = {3: "Match p-value", 4: "q-value", 5: "n_sites"}


class AlignedLogos(QWidget):
    """A filter's logo with its top matches' logos under it, columns aligned by Tomtom's offset and strand."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._items: list = []
        self._aligned: list = []
        self._mode = "bits"
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)

    def set_stack(self, items: list, aligned: list, mode: str = "bits") -> None:
        self._items, self._aligned, self._mode = items, aligned, mode
        self.setMinimumHeight(118 * max(1, len(items)))
        self.updateGeometry()
        self.update()

    def items(self) -> list:
        return list(self._items)

    def alignment(self) -> list:
        return list(self._aligned)

    def sizeHint(self) -> QSize:
        return QSize(420, 118 * max(1, len(self._items)))

    def paintEvent(self, _event) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor("#ffffff"))
        if not self._items:
            painter.setPen(QColor("#777777"))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "Click a logo to see it with its matches.")
            return
        h = self.height() / len(self._items)
        for k, (mat, title, sub) in enumerate(self._items):
            start, n_cols = self._aligned[k]
            # matches are always shown as probabilities in bits; the filter follows the chosen view
            mode = self._mode if k == 0 else "bits"
            paint_logo(painter, QRectF(0, k * h, self.width(), h), mat, mode,
                       LogoStyle(title=title, subtitle=sub, font_px=10), start=start, n_columns=n_cols)
        painter.end()


class FilterDetail(QGroupBox):
    """The selected filter: title, numbers, its logo with the top matches aligned under it, and all its matches."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__("Selected filter", parent)
        self.detail_title = QLabel("No filter selected")
        self.detail_title.setStyleSheet("font-size: 13px; font-weight: 600;")
        self.detail_info = QLabel()
        self.detail_info.setWordWrap(True)
        self.aligned = AlignedLogos()
        self.match_table = QTableWidget(0, 8)
        self.match_table.setHorizontalHeaderLabels(["#", "JASPAR ID", "Name", "p-value", "q-value", "Filter sites",
                                                    "Offset", "Strand"])
        for col, term in MATCH_TIPS.items():
            self.match_table.horizontalHeaderItem(col).setToolTip(tip(term))
        self.detail_info.setToolTip(f"{tip('n_sites')}\n{tip('Influence')}")
        self.match_table.verticalHeader().setVisible(False)
        self.match_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.match_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.match_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.match_table.horizontalHeader().setStretchLastSection(True)
        self.match_table.setMaximumHeight(170)
        dl = QVBoxLayout(self)
        dl.addWidget(self.detail_title)
        dl.addWidget(self.detail_info)
        aligned_scroll = QScrollArea()
        aligned_scroll.setWidgetResizable(True)
        aligned_scroll.setWidget(self.aligned)
        aligned_scroll.setFrameShape(QFrame.Shape.NoFrame)
        dl.addWidget(aligned_scroll, 1)
        dl.addWidget(self.match_table)

    def show_filter(self, a, f: int | None, mode: str) -> None:
        """Show filter ``f`` of the analysis ``a`` (None: nothing) in view ``mode``: bits, probability or weights."""
        self.match_table.setRowCount(0)
        if a is None or f is None:
            self.detail_title.setText("No filter selected")
            self.detail_info.setText("")
            self.aligned.set_stack([], [])
            return
        mat = a.motifs.weight_logos()[f] if mode == "weights" else a.motifs.pfms[f]
        rows = a.matches.per_filter[f] if a.matches is not None else []
        self.detail_title.setText(f"Filter {f + 1}")
        n = int(a.motifs.n_sites[f])
        status = a.status(f)
        info = [f"{n:,} sites in {a.motifs.n_sequences:,} sequences "
                f"(activation > {a.motifs.threshold:g} x max {a.motifs.max_activation[f]:.3g})"]
        if a.influence is not None:
            info.append(f"importance: {a.influence.describe(f)} (output replaced by its mean activation; "
                        "positive loss change = the network is worse without it)")
        if status == "too few sites":
            info.append(f"too few sites ({n}) to name it: a filter is matched only with at least {a.min_sites}")
        elif status == "named" and rows:
            info.append(f"named {rows[0].name} ({rows[0].motif_id}, q = {rows[0].q_value:.2g}, {n:,} sites)")
        if a.matches is not None and status not in ("too few sites", "never fires"):
            info.append(f"matched against {a.matches.n_targets:,} {a.matches.release} motifs")
        self.detail_info.setText("\n".join(info))
        if rows and a.motifs.n_sites[f] > 0:
            items, aligned = aligned_match_stack(a.motifs.pfms[f], rows[:3], a.matches.targets, f"Filter {f + 1}")
            items[0] = (mat, items[0][1], "raw weights, centred" if mode == "weights" else "learned filter")
            self.aligned.set_stack(items, aligned, mode)
        else:
            sub = {"never fires": "never fires", "too few sites": f"too few sites ({n}): not matched"}.get(status,
                                                                                                          "no match")
            self.aligned.set_stack([(mat, f"Filter {f + 1}", sub)], [(0, len(mat))], mode)
        self.match_table.setRowCount(len(rows))
        for r, m in enumerate(rows):
            vals = [str(m.rank), m.motif_id, m.name, f"{m.p_value:.2e}", f"{m.q_value:.2e}", f"{n:,}", str(m.offset),
                    m.strand]
            for c, v in enumerate(vals):
                item = QTableWidgetItem(v)
                if c in (0, 3, 4, 5, 6):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.match_table.setItem(r, c, item)
