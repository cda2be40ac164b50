"""The right-hand side of the Sequences tab: what was loaded, in numbers, plots and the first records.

``SummaryView`` shows a ``SequenceSet`` and its ``core.sequences.summary.SequenceSummary``: a headline, a table of
details, length / GC / label histograms (made after the window's first paint: importing pyqtgraph takes ~0.5 s)
and the first records through ``RecordsModel``. Nothing is computed here but the display.
"""
from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QFont, QFontDatabase
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSizePolicy,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from biodeep_gui.core.sequences import summary as S
from biodeep_gui.core.sequences.config import DataConfig
from biodeep_gui.core.sequences.dataset import SequenceSet

PREVIEW_ROWS = 200
PREVIEW_BASES = 60


def cache_note(ss: SequenceSet) -> str:
    """Where a set read through the encoded cache (``core.sequences.cache.CachedSequenceSet``) lives.

    Returns
    -------
    'encoded cache reused: <folder>' (an earlier run's encoding), 'encoded into the cache: <folder>' (encoded just
    now), or '' for a set held in memory
    """
    folder = getattr(ss, "cache_dir", None)
    if folder is None:
        return ""
    return f"encoded cache reused: {folder}" if getattr(ss, "cache_hit", False) else f"encoded into the cache: {folder}"


class RecordsModel(QAbstractTableModel):
    """The first records of a set (id, label, length, GC %, first bases), computed once for at most ``rows``.

    A model rather than thousands of ``QTableWidgetItem``s: the view asks only for the visible cells.
    """

    HEADERS = ("ID", "Label", "Length (bp)", "GC %", f"First {PREVIEW_BASES} bases")

    def __init__(self, parent=None):
        super().__init__(parent)
        self._rows: list[tuple[str, str, int, float, str]] = []

    def set_records(self, ss: SequenceSet | None, rows: int = PREVIEW_ROWS) -> None:
        self.beginResetModel()
        self._rows = []
        if ss is not None and len(ss):
            n = min(rows, len(ss))
            gc = S.gc_content(ss.codes[:n])
            lengths = ss.lengths if ss.lengths is not None else np.full(n, ss.length)
            self._rows = [(ss.ids[i], S.label_text(ss, i), int(lengths[i]), float(gc[i]) * 100.0,
                           S.record_preview(ss, i, PREVIEW_BASES)) for i in range(n)]
        self.endResetModel()

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802 (Qt API)
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.HEADERS)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row = self._rows[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            v = row[col]
            if col == 3:
                return "—" if not math.isfinite(v) else f"{v:.1f}"
            if col == 2:
                return f"{v:,}"
            return v
        if role == Qt.ItemDataRole.TextAlignmentRole and col in (2, 3):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.FontRole and col == 4:
            return QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        if role == Qt.ItemDataRole.ToolTipRole and col == 4:
            return "Padding is not shown; an ellipsis (…) means the sequence goes on."
        return None

    def headerData(self, section: int, orientation: Qt.Orientation,  # noqa: N802 (Qt API)
                   role: int = Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.HEADERS[section]
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Vertical:
            return str(section + 1)
        return None


class SummaryView(QStackedWidget):
    """A placeholder until data are shown, then the summary page (``show_data``)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        empty = QLabel("No sequences loaded yet.\n\nChoose your files on the left and press Open,\n"
                       "or drop FASTA, CSV/TSV or BED files anywhere on this tab.")
        empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        empty.setWordWrap(True)  # large type: wrapped, not cut, in a narrow window
        empty.setStyleSheet("color: palette(mid); font-size: 13pt;")
        self.addWidget(empty)

        page = QWidget()
        lay = QVBoxLayout(page)
        self.headline = QLabel()
        f = QFont()
        f.setPointSize(f.pointSize() + 4)
        f.setBold(True)
        self.headline.setFont(f)
        self.headline.setWordWrap(True)
        self.details = QLabel()
        self.details.setWordWrap(True)
        self.details.setTextFormat(Qt.TextFormat.RichText)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        lay.addWidget(self.headline)
        lay.addWidget(self.details)

        # the plots are made by ensure_plots, after the window's first paint: importing pyqtgraph takes ~0.5 s
        self.plots_box = QWidget()
        self.plots_box.setMinimumHeight(210)
        QHBoxLayout(self.plots_box).setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.plots_box, 3)

        self.table_caption = QLabel()
        lay.addWidget(self.table_caption)
        self.records_model = RecordsModel(self)
        self.records_view = QTableView()
        self.records_view.setModel(self.records_model)
        self.records_view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.records_view.setAlternatingRowColors(True)
        self.records_view.setWordWrap(False)
        self.records_view.verticalHeader().setDefaultSectionSize(22)
        header = self.records_view.horizontalHeader()
        header.setStretchLastSection(True)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        lay.addWidget(self.records_view, 4)
        self.addWidget(page)

    def ensure_plots(self) -> None:
        """Make the length, GC and label plots (once)."""
        if hasattr(self, "length_plot"):
            return
        from biodeep_gui.gui.widgets.plots import BarPlot, HistogramPlot

        self.length_plot = HistogramPlot("Sequence lengths", "Length (bp)", colour=0)
        self.length_plot.setToolTip("Lengths in the files, before centre-cropping or padding.")
        self.gc_plot = HistogramPlot("GC content", "GC %", colour=2)
        self.gc_plot.setToolTip("Share of G and C among the unambiguous bases of each sequence. Bound and "
                                "background sets with very different GC let a model cheat on GC alone.")
        self.balance_plot = BarPlot("Class balance")
        self.balance_plot.setToolTip("Records per class. A rare class may need class weighting (Training).")
        self.values_plot = HistogramPlot("Label values", "Value", colour=1)
        self.values_plot.setToolTip("Distribution of the measured values to predict (first target column).")
        self.label_stack = QStackedWidget()
        self.label_stack.addWidget(self.balance_plot)
        self.label_stack.addWidget(self.values_plot)
        for w in (self.length_plot, self.gc_plot, self.balance_plot, self.values_plot, self.label_stack):
            w.setMinimumSize(180, 210)  # three plots abreast beside the form in a 1024-pixel window (they ask ~220)
        for w in (self.length_plot, self.gc_plot, self.label_stack):
            self.plots_box.layout().addWidget(w, 1)

    def show_data(self, ss: SequenceSet, cfg: DataConfig, summ: S.SequenceSummary) -> None:
        """Show what was loaded: headline, details, histograms, class balance and the first records.

        Parameters
        ----------
        ss : the loaded set; cfg : the settings it was loaded with (their files are listed)
        summ : ``core.sequences.summary.summarize(ss)``
        """
        self.ensure_plots()

        task_words = {"binary": "binary task", "multiclass": f"{len(ss.class_names)}-class task",
                      "regression": "regression task", "none": "no labels"}.get(ss.task, ss.task)
        n_tasks = ss.labels.shape[1] if ss.labels.ndim == 2 else 0
        if ss.task == "binary" and n_tasks > 1:
            task_words = f"binary task × {n_tasks} labels"
        self.headline.setText(f"{summ.n_records:,} sequences · {summ.length:,} bp · {task_words}")
        self.details.setText(self._details_html(ss, cfg, summ))

        counts, edges = S.histogram(summ.lengths, bins=40)
        self.length_plot.set_histogram(counts, edges)
        counts, edges = S.histogram(summ.gc * 100.0, bins=50, value_range=(0.0, 100.0))
        self.gc_plot.set_histogram(counts, edges)
        if ss.task == "regression":
            counts, edges = S.histogram(ss.labels[:, 0], bins=40)
            self.values_plot.set_histogram(counts, edges)
            self.values_plot.set_title(f"Label values: {ss.label_names[0] if ss.label_names else 'target'}")
            self.label_stack.setCurrentWidget(self.values_plot)
        else:
            names, values, colours, notes = [], [], [], []
            for col, (label, classes) in enumerate(summ.classes.items()):
                for k, cls in enumerate(classes):
                    multi = len(summ.classes) > 1
                    names.append(f"{label}: {cls.name}" if multi else cls.name)
                    values.append(cls.count)
                    colours.append(col if multi else k)
                    notes.append(f"{cls.fraction:.0%}")
            self.balance_plot.set_bars(names, values, colours, notes)
            self.label_stack.setCurrentWidget(self.balance_plot)

        self.records_model.set_records(ss)
        self.records_view.resizeColumnsToContents()
        self.records_view.setColumnWidth(0, min(self.records_view.columnWidth(0), 220))
        shown = self.records_model.rowCount()
        self.table_caption.setText(f"First {shown:,} of {len(ss):,} records" if shown < len(ss)
                                   else f"All {len(ss):,} records")
        self.setCurrentIndex(1)

    def _details_html(self, ss: SequenceSet, cfg: DataConfig, s: S.SequenceSummary) -> str:
        rows = []
        if s.n_records:
            lens = (f"{s.length_min:,}–{s.length_max:,} bp (median {s.length_median:,.0f})"
                    if s.length_min != s.length_max else f"all {s.length_min:,} bp")
            fitted = []
            if s.n_cropped:
                fitted.append(f"{s.n_cropped:,} centre-cropped")
            if s.n_padded:
                fitted.append(f"{s.n_padded:,} padded")
            rows.append(("Lengths in the files", lens + (f"; {', '.join(fitted)} to {s.length:,} bp" if fitted
                                                         else "")))
            gc = "—" if not math.isfinite(s.mean_gc) else f"{s.mean_gc:.1%}"
            sampled = f" (profiled on {s.n_profiled:,} evenly spaced records)" if s.n_profiled < s.n_records else ""
            rows.append(("Mean GC content", gc + sampled))
            amb = f"{s.ambiguous_fraction:.2%} of bases"
            if s.n_with_ambiguous:
                amb += f"; {s.n_with_ambiguous:,} sequences hold at least one"
            rows.append(("N / ambiguous bases", amb))
        for label, classes in s.classes.items():
            parts = ", ".join(f"{_esc(c.name)} {c.count:,} ({c.fraction:.0%})" for c in classes)
            rows.append((f"Classes ({_esc(label)})" if len(s.classes) > 1 else "Classes", parts))
            if classes and min(c.fraction for c in classes) < 0.1:
                rows.append(("", "<span style='color:#b06000'>Unbalanced: consider class weighting "
                                 "(Training tab) and read AUPRC rather than accuracy.</span>"))
        for st in s.regression:
            rows.append((f"Values ({_esc(st.name)})",
                         f"mean {st.mean:.4g}, sd {st.std:.4g}, range {st.minimum:.4g} to {st.maximum:.4g}"
                         + (f"; {st.n_missing:,} missing" if st.n_missing else "")))
        files = ss.sources or cfg.input_files()
        if files:
            rows.append(("Files", "<br>".join(_esc(str(p)) for p in files)))
        note = cache_note(ss)
        if note:  # the codes are memory-mapped from there: training reads them from disk batch by batch
            rows.append(("On disk", _esc(note)))
        cells = "".join(f"<tr><td style='padding-right:12px; color:#555'>{k}</td><td>{v}</td></tr>" for k, v in rows)
        return f"<table>{cells}</table>"


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
