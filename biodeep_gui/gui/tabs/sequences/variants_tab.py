"""Variants tab: score the variants of a VCF with the current run, in a worker, and show the effects.

The scoring is ``core.sequences.variants.score_variants`` (the code ``biodeep variants`` runs), iterated by a
``TaskRunner``; this tab only relays its progress and shows its table:

- a VCF and a genome FASTA picked with file dialogs (their folders remembered in QSettings);
- Score / Cancel, a progress bar and a status line (REF mismatches and missing contigs said in it);
- a sortable table of the effects (chrom, pos, id, ref, alt, ref_check, window, scores);
- a scatter of delta along the genome, chromosome after chromosome (alternating colours); clicking a point
  selects its row, selecting a row rings its point;
- for the selected variant, the mutation maps of its two windows and the filters it changes most
  (``VariantDetailPanel``).

Signals
-------
sigScored(object) : the ``VariantEffects`` just shown
sigFilterClicked(int) : a filter the selected variant changes was clicked (0-based), to show it in Filters
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QSettings, QSortFilterProxyModel, Qt, Signal, Slot
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QFileDialog,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from biodeep_gui.gui.glossary import column_tip
from biodeep_gui.gui.tabs.sequences.variant_detail_panel import VariantDetailPanel
from biodeep_gui.gui.widgets.plots import AXIS_COLOUR, style_plot
from biodeep_gui.gui.workers import TaskRunner

SORT_ROLE = Qt.ItemDataRole.UserRole + 1
_SETTINGS_VCF = "variants/vcf_dir"
_SETTINGS_GENOME = "variants/genome_dir"
_SETTINGS_GENOME_FILE = "variants/genome_file"
_VCF_FILTER = "VCF files (*.vcf *.vcf.gz *.vcf.bgz *.bcf);;All files (*)"
_GENOME_FILTER = "FASTA genomes (*.fa *.fasta *.fna *.fa.gz *.fasta.gz *.fna.gz);;All files (*)"
_CHROM_COLOURS = ("#0072B2", "#56B4E9")
_UNSCORED = QColor("#fde0dc")


class EffectsModel(QAbstractTableModel):
    """The effects table for a QTableView: text for display, numbers (NaN last) for sorting."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._effects = None
        self._columns: list[str] = []
        self._rows: list[list[str]] = []
        self._scores = np.zeros((0, 0))

    def set_effects(self, effects) -> None:
        from biodeep_gui.core.sequences.variants import effects_rows

        self.beginResetModel()
        self._effects = effects
        self._columns = effects.columns() if effects is not None else []
        self._rows = effects_rows(effects) if effects is not None else []
        self._scores = effects.scores() if effects is not None else np.zeros((0, 0))
        self.endResetModel()

    def columns(self) -> list[str]:
        return list(self._columns)

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802 (Qt API)
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self._columns)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self._columns[section] if 0 <= section < len(self._columns) else None
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Vertical:
            return str(section + 1)
        if role == Qt.ItemDataRole.ToolTipRole and orientation == Qt.Orientation.Horizontal:
            return column_tip(self._columns[section]) or None if 0 <= section < len(self._columns) else None
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        r, c = index.row(), index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._rows[r][c]
        if role == SORT_ROLE:
            if c == 1:
                return int(self._effects.alleles[r].pos)
            if c >= 7:
                v = float(self._scores[r, c - 7])
                return v if math.isfinite(v) else math.inf  # unscored rows sort last (ascending)
            return self._rows[r][c]
        if role == Qt.ItemDataRole.BackgroundRole and self._rows[r][5] != "ok":
            return _UNSCORED
        if role == Qt.ItemDataRole.TextAlignmentRole and (c == 1 or c >= 7):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


class VariantsTab(QWidget):
    """Score a VCF's variants with the current run (see the module docstring)."""

    sigScored = Signal(object)
    sigFilterClicked = Signal(int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._run = None
        self._effects = None
        self._device = "cpu"
        self._x = np.zeros(0)  # plotted x of each table row (NaN for unscored rows)
        self.runner = TaskRunner(self, name="variants", priority="low")
        self.runner.sigItems.connect(self._on_items)
        self.runner.sigFinished.connect(self._on_finished)
        self.runner.sigFailed.connect(self._on_failed)
        self.runner.sigRunningChanged.connect(self._on_running)
        self._build()
        self._restore_settings()
        self.set_run(None)

    # -- layout ----------------------------------------------------------------------------------------------
    def _build(self) -> None:
        self.title = QLabel()
        self.title.setStyleSheet("font-size: 14px; font-weight: 600;")
        self.vcf_edit = QLineEdit()
        self.vcf_edit.setPlaceholderText("variants.vcf or variants.vcf.gz")
        self.vcf_edit.textChanged.connect(self._update_buttons)
        self.vcf_btn = QPushButton("Browse…")
        self.vcf_btn.clicked.connect(self.ask_vcf)
        self.genome_edit = QLineEdit()
        self.genome_edit.setPlaceholderText("genome.fa (the build the VCF was called against)")
        self.genome_edit.textChanged.connect(self._update_buttons)
        self.genome_btn = QPushButton("Browse…")
        self.genome_btn.clicked.connect(self.ask_genome)
        self.both_strands = QCheckBox("Both strands")
        self.both_strands.setChecked(True)
        self.both_strands.setToolTip("Score each window and its reverse complement and average them.")
        self.max_indel = QSpinBox()
        self.max_indel.setRange(1, 10_000)
        from biodeep_gui.core.sequences.variants import MAX_INDEL

        self.max_indel.setValue(MAX_INDEL)
        self.max_indel.setSuffix(" bp")
        self.max_indel.setToolTip("Longest REF or ALT allele scored; longer variants are listed as skipped.")
        self.score_btn = QPushButton("Score")
        self.score_btn.clicked.connect(self.score)
        self.cancel_btn = QPushButton("Cancel")
        self.cancel_btn.clicked.connect(self.cancel)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        self.progress.setMaximumHeight(8)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        files = QGroupBox("Variants")
        grid = QGridLayout(files)
        grid.addWidget(QLabel("VCF"), 0, 0)
        grid.addWidget(self.vcf_edit, 0, 1)
        grid.addWidget(self.vcf_btn, 0, 2)
        grid.addWidget(QLabel("Genome"), 1, 0)
        grid.addWidget(self.genome_edit, 1, 1)
        grid.addWidget(self.genome_btn, 1, 2)
        opts = QHBoxLayout()
        opts.addWidget(self.both_strands)
        opts.addSpacing(12)
        opts.addWidget(QLabel("Longest indel"))
        opts.addWidget(self.max_indel)
        opts.addStretch(1)
        opts.addWidget(self.score_btn)
        opts.addWidget(self.cancel_btn)
        grid.addLayout(opts, 2, 0, 1, 3)
        grid.setColumnStretch(1, 1)

        self.model = EffectsModel(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SORT_ROLE)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.verticalHeader().setDefaultSectionSize(self.table.fontMetrics().height() + 8)
        self.table.selectionModel().selectionChanged.connect(self._on_selection)

        self.output = QComboBox()
        self.output.setToolTip("The model output whose change is plotted.")
        self.output.currentIndexChanged.connect(self._redraw)
        self.plot = pg.PlotWidget(background="w")
        style_plot(self.plot.getPlotItem(), "Effect along the genome", "chromosome, position",
                   "delta (alt − ref)")
        self.plot.getPlotItem().setMenuEnabled(False)
        self.plot.getPlotItem().showGrid(x=False, y=True, alpha=0.25)  # x ticks are chromosome names
        self._bounds: list[pg.InfiniteLine] = []  # chromosome separators
        self.zero = pg.InfiniteLine(pos=0, angle=0, pen=pg.mkPen("#999999", style=Qt.PenStyle.DashLine))
        self.plot.addItem(self.zero)
        self.scatter = pg.ScatterPlotItem(size=7, pen=pg.mkPen(None), hoverable=True, tip=None)
        self.scatter.sigClicked.connect(self._on_points_clicked)
        self.plot.addItem(self.scatter)
        self.ring = pg.ScatterPlotItem(size=15, pen=pg.mkPen("#D55E00", width=2), brush=pg.mkBrush(None))
        self.plot.addItem(self.ring)
        plot_box = QWidget()
        pl = QVBoxLayout(plot_box)
        pl.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        row.addWidget(QLabel("Output"))
        row.addWidget(self.output)
        row.addStretch(1)
        pl.addLayout(row)
        pl.addWidget(self.plot, 1)

        self.detail = VariantDetailPanel()
        self.detail.sigFilterClicked.connect(self.sigFilterClicked)
        bottom = QSplitter(Qt.Orientation.Horizontal)
        bottom.addWidget(self.table)
        bottom.addWidget(self.detail)
        bottom.setStretchFactor(0, 3)
        bottom.setStretchFactor(1, 2)
        bottom.setChildrenCollapsible(False)
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(plot_box)
        self.splitter.addWidget(bottom)
        self.splitter.setStretchFactor(0, 2)
        self.splitter.setStretchFactor(1, 3)

        lay = QVBoxLayout(self)
        lay.addWidget(self.title)
        lay.addWidget(files)
        lay.addWidget(self.progress)
        lay.addWidget(self.status)
        lay.addWidget(self.splitter, 1)

    # -- settings --------------------------------------------------------------------------------------------
    def _restore_settings(self) -> None:
        genome = QSettings().value(_SETTINGS_GENOME_FILE, "", str)
        if genome and Path(genome).exists():
            self.genome_edit.setText(genome)

    def _remember(self, key: str, path: str) -> None:
        s = QSettings()
        s.setValue(key, str(Path(path).parent))
        if key == _SETTINGS_GENOME:
            s.setValue(_SETTINGS_GENOME_FILE, str(path))

    def ask_vcf(self) -> None:
        start = QSettings().value(_SETTINGS_VCF, "", str)
        path, _ = QFileDialog.getOpenFileName(self, "Open a VCF", start, _VCF_FILTER)
        if path:
            self.set_files(vcf=path)

    def ask_genome(self) -> None:
        start = QSettings().value(_SETTINGS_GENOME, "", str)
        path, _ = QFileDialog.getOpenFileName(self, "Open the genome FASTA", start, _GENOME_FILTER)
        if path:
            self.set_files(genome=path)

    def set_files(self, vcf: str | Path | None = None, genome: str | Path | None = None) -> None:
        """Set the VCF and/or genome (as a file dialog would) and remember their folders."""
        if vcf is not None:
            self.vcf_edit.setText(str(vcf))
            self._remember(_SETTINGS_VCF, str(vcf))
        if genome is not None:
            self.genome_edit.setText(str(genome))
            self._remember(_SETTINGS_GENOME, str(genome))

    # -- public API ------------------------------------------------------------------------------------------
    def set_run(self, run) -> None:
        """The current run (a ``core.sequences.run.Run`` or None); clears results of another run."""
        if self.runner.is_running():
            self.runner.cancel()
            self.runner.join()
        changed = run is not self._run
        self._run = run
        if run is None:
            self.title.setText("Variant effects — train or open a run first")
        else:
            self.title.setText(f"Variant effects of {run.name} ({run.info.arch}, {run.info.length} bp input)")
        if changed:
            self.detail.set_filter_analysis(None)  # the names came from the previous run's filters
            self._show(None)
            self.status.setText("Choose a VCF and the genome it was called against, then press Score."
                                if run is not None else "")
        self._update_buttons()

    @Slot(object)
    def set_filter_analysis(self, analysis) -> None:
        """The Filters tab's analysis of the current run names the filters the selected variant changes."""
        self.detail.set_filter_analysis(analysis)

    @Slot(str)
    def set_device(self, name: str) -> None:
        """The compute device for scoring ('cpu', 'cuda', 'auto', ...)."""
        self._device = name or "cpu"

    def score(self) -> None:
        from biodeep_gui.core.sequences.variants import score_variants

        if self._run is None or self.runner.is_running():
            return
        vcf, genome = self.vcf_edit.text().strip(), self.genome_edit.text().strip()
        if not vcf or not genome:
            self.status.setText("Choose both a VCF and a genome FASTA.")
            return
        self._remember(_SETTINGS_VCF, vcf)
        self._remember(_SETTINGS_GENOME, genome)
        self.progress.setValue(0)
        self.status.setText("Starting…")
        self.runner.start(score_variants, self._run, vcf, genome, both_strands=self.both_strands.isChecked(),
                          max_indel=int(self.max_indel.value()), device=self._device)

    def cancel(self) -> None:
        self.runner.cancel()

    def is_busy(self) -> bool:
        return self.runner.is_running() or self.detail.is_busy()

    def shutdown(self) -> None:
        self.runner.shutdown()
        self.detail.shutdown()

    def effects(self):
        return self._effects

    def select_row(self, row: int) -> None:
        """Select the table row of effects row ``row`` (VCF order), whatever the sort."""
        idx = self.proxy.mapFromSource(self.model.index(row, 0))
        if idx.isValid():
            self.table.selectRow(idx.row())
            self.table.scrollTo(idx)

    def selected_row(self) -> int | None:
        rows = self.table.selectionModel().selectedRows()
        return self.proxy.mapToSource(rows[0]).row() if rows else None

    def point_position(self, row: int) -> tuple[float, float] | None:
        """(x, y) of row ``row``'s point in the plot, None when it is not plotted (unscored)."""
        if self._effects is None or not math.isfinite(self._x[row]):
            return None
        k = max(self.output.currentIndex(), 0)
        return float(self._x[row]), float(self._effects.delta[row, k])

    # -- slots -----------------------------------------------------------------------------------------------
    @Slot(object)
    def _on_items(self, items: list) -> None:
        from biodeep_gui.core.sequences.interpret.progress import Progress

        prog = [i for i in items if isinstance(i, Progress)]
        if prog:
            p = prog[-1]
            self.progress.setValue(int(1000 * p.fraction))
            self.status.setText(p.message + "…")

    @Slot(object)
    def _on_finished(self, effects) -> None:
        self.progress.setValue(1000)
        self._show(effects)
        text = effects.summary() + "."
        warnings = effects.warnings()
        if warnings:
            text += " Warning: " + " Warning: ".join(warnings)
        self.status.setText(text)
        self.sigScored.emit(effects)

    @Slot(str, str)
    def _on_failed(self, message: str, _details: str) -> None:
        self.progress.setValue(0)
        if self.runner.was_cancelled():
            self.status.setText("Cancelled." + (" The table shows the previous results." if self._effects else ""))
        else:
            self.status.setText(f"Could not score the variants: {message}")

    @Slot(bool)
    def _on_running(self, _running: bool) -> None:
        self._update_buttons()

    @Slot()
    def _update_buttons(self, *_args) -> None:
        busy = self.runner.is_running()
        ready = self._run is not None and bool(self.vcf_edit.text().strip()) and bool(self.genome_edit.text().strip())
        self.score_btn.setEnabled(ready and not busy)
        self.cancel_btn.setEnabled(busy)
        for w in (self.vcf_edit, self.vcf_btn, self.genome_edit, self.genome_btn, self.both_strands, self.max_indel):
            w.setEnabled(not busy)

    # -- display ---------------------------------------------------------------------------------------------
    def _show(self, effects) -> None:
        self._effects = effects
        self.detail.clear()
        self.model.set_effects(effects)
        # new results come in VCF order; a click on a header sorts them
        self.proxy.sort(-1)
        self.table.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        self.output.blockSignals(True)
        self.output.clear()
        if effects is not None:
            self.output.addItems(effects.output_names)
            self.table.resizeColumnsToContents()
        self.output.blockSignals(False)
        self._layout_positions()
        self._redraw()

    def _layout_positions(self) -> None:
        """x of each row: chromosomes one after another in first-seen order, with a small gap between them."""
        e = self._effects
        self._chrom_index = np.zeros(0, int)
        if e is None or not len(e):
            self._x = np.zeros(0)
            self._ticks, self._starts = [], []
            return
        order = list(dict.fromkeys(a.chrom for a in e.alleles))
        span = {c: 0 for c in order}
        for a in e.alleles:
            span[a.chrom] = max(span[a.chrom], a.pos)
        gap = 0.02 * max(sum(span.values()), 1)
        offset, start = 0.0, {}
        self._ticks = []
        self._starts = []
        for c in order:
            start[c] = offset
            self._starts.append(offset - gap / 2)
            self._ticks.append((offset + span[c] / 2, c))
            offset += span[c] + gap
        self._x = np.array([start[a.chrom] + a.pos if rc == "ok" else np.nan
                            for a, rc in zip(e.alleles, e.ref_check)], float)
        self._chrom_index = np.array([order.index(a.chrom) for a in e.alleles], int)

    @Slot()
    def _redraw(self, *_args) -> None:
        e = self._effects
        self.ring.setData([], [])
        for line in self._bounds:
            self.plot.removeItem(line)
        self._bounds = []
        if e is None or not len(e):
            self.scatter.setData([], [])
            return
        k = max(self.output.currentIndex(), 0)
        y = e.delta[:, k]
        rows = np.flatnonzero(np.isfinite(self._x) & np.isfinite(y))
        brushes = [pg.mkBrush(_CHROM_COLOURS[self._chrom_index[r] % 2]) for r in rows]
        self.scatter.setData(x=self._x[rows], y=y[rows], brush=brushes, data=rows.tolist())
        for x in self._starts[1:]:
            line = pg.InfiniteLine(pos=x, angle=90, pen=pg.mkPen("#bbbbbb", style=Qt.PenStyle.DotLine))
            self.plot.addItem(line)
            self._bounds.append(line)
        axis = self.plot.getPlotItem().getAxis("bottom")
        axis.setTicks([self._ticks, []])
        axis.setTextPen(pg.mkPen(AXIS_COLOUR))
        unit = "probability" if e.task != "regression" else "target units"
        self.plot.getPlotItem().setLabel("left", f"delta {e.output_names[k]} (alt − ref, {unit})", color=AXIS_COLOUR)
        self.plot.getPlotItem().enableAutoRange()
        sel = self.selected_row()
        if sel is not None:
            self._ring(sel)

    @Slot(object, object)
    def _on_points_clicked(self, _item, points, *_rest) -> None:
        if len(points):
            self.select_row(int(points[0].data()))

    @Slot()
    def _on_selection(self, *_args) -> None:
        row = self.selected_row()
        if row is not None:
            self._ring(row)
            self._show_detail(row)

    def _show_detail(self, row: int) -> None:
        from biodeep_gui.core.sequences.models import get_architecture

        eff, run = self._effects, self._run
        if eff is None or run is None:
            return
        if eff.ref_check[row] != "ok":
            self.detail.clear(f"Not scored ({eff.ref_check[row]}): no mutation maps.")
        elif get_architecture(run.info.arch).kind != "torch":
            self.detail.clear("Mutation maps need a deep model; this run is a baseline.")
        else:
            self.detail.show_variant(run, self.genome_edit.text().strip(), eff.alleles[row],
                                     max(self.output.currentIndex(), 0), self._device)

    def _ring(self, row: int) -> None:
        p = self.point_position(row)
        self.ring.setData([p[0]], [p[1]]) if p is not None else self.ring.setData([], [])
