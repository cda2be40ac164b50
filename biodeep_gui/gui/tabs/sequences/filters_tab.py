"""The Filters tab: what each first-layer filter of a trained CNN learned, as sequence logos matched to JASPAR.

A grid of logos (information content in bits; probability and raw-weight views), each captioned with its best
JASPAR match, p-value and site count, sorted by importance (increase of the validation loss when the filter's
output is replaced by its mean activation) or by match quality. Filters with fewer sites than "Minimum sites"
are not matched and say so ("too few sites (n)"): they are never named. Clicking a logo enlarges it on the
right with its top matches' logos aligned under it and a table of matches; Ctrl/Shift-click selects several for export.

The analysis (``core.interpret.analyse_filters``: activation PFMs, influence, Tomtom) runs in the tab's own
``TaskRunner`` worker; the tab only shows what comes back. It starts by itself the first time the tab is shown
for a run, and again on "Compute" after the threshold, the minimum sites or the motif collection changed.

Signals
-------
sigFilterSelected(int) : a filter was clicked (0-based); the main window forwards it to
                         ``MutationTab.highlight_filter``
sigAnalysisReady(object) : a ``FiltersAnalysis`` arrived; forward it to ``MutationTab.set_filter_analysis``
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from biodeep_gui.core.common.words import count_words
from biodeep_gui.core.sequences.motif_db import COLLECTIONS
from biodeep_gui.gui.session import choose_save_path
from biodeep_gui.gui.tabs.sequences.filter_cards import CARD_W, FilterCard, filter_caption
from biodeep_gui.gui.tabs.sequences.filter_detail import AlignedLogos, FilterDetail
from biodeep_gui.gui.workers import TaskRunner

#: what an export writes (filters.meme, matches.tsv, logos/): exporting again into the same folder is allowed
FILTER_OUTPUTS = (".meme", ".tsv", ".png", ".svg", ".pdf")

MOTIF_FILES = "Motif files (*.meme *.txt *.jaspar *.pfm *.transfac *.tf *.dat);;All files (*)"
SORTS = (("importance", "Importance (loss increase without it)"), ("match", "Best JASPAR match (p-value)"),
         ("index", "Filter number"))
VIEWS = (("bits", "Information (bits)"), ("probability", "Probability"), ("weights", "Raw weights"))


def _conv_arch(run) -> bool:
    from biodeep_gui.core.sequences.models import ARCHITECTURES

    spec = ARCHITECTURES.get(run.info.arch)
    return spec is not None and spec.kind == "torch" and run.info.arch != "mlp"


class FiltersTab(QWidget):
    """Filter logos of a run, matched to JASPAR, sortable, exportable (see the module notes)."""

    sigFilterSelected = Signal(int)
    sigAnalysisReady = Signal(object)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._run = None
        self._data = None
        self._analysis = None
        self._motifs_file: str | None = None
        self._collection = "vertebrates"
        self._cache_dir: str | None = None
        self._pending = False  # a run is set but not analysed yet
        self._cards: list[FilterCard] = []
        self._selected: list[int] = []
        self._current: int | None = None
        self._columns = 0
        self.runner = TaskRunner(self, name="filters", priority="normal")  # the user is waiting for it
        self.runner.sigItems.connect(self._on_items)
        self.runner.sigFinished.connect(self._on_finished)
        self.runner.sigFailed.connect(self._on_failed)
        self.runner.sigRunningChanged.connect(self._on_running)
        self._build()
        self._show_placeholder("Train or open a CNN run to see what its filters learned.")

    # -- layout ------------------------------------------------------------------------------------------------
    def _build(self) -> None:
        self.title = QLabel()
        self.title.setStyleSheet("font-size: 14px; font-weight: 600;")
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.threshold = QDoubleSpinBox()
        self.threshold.setRange(0.05, 1.0)
        self.threshold.setSingleStep(0.05)
        self.threshold.setValue(0.5)
        self.threshold.setToolTip("A window counts as a site of a filter when its activation exceeds this fraction "
                                  "of the filter's maximum activation over the data (Basset cuts at mean + 0.5 x "
                                  "(max - mean) instead; see the README).")
        self.min_sites = QSpinBox()
        self.min_sites.setRange(1, 100000)
        self.min_sites.setValue(10)
        self.min_sites.setToolTip("A filter is compared with the known motifs, and can be named after one, only "
                                  "when it has at least this many sites (10, as in Basset). A motif built from a "
                                  "few windows is noise: filters below this are shown as 'too few sites'.")
        self.motif_db = QComboBox()
        for c in COLLECTIONS:  # the bundled JASPAR 2026 CORE collections, one per taxonomic group
            self.motif_db.addItem(f"JASPAR 2026 CORE {c}", ("collection", c))
        self.motif_db.addItem("Other motif file…", ("pick", ""))
        self.motif_db.setToolTip("The known motifs the filters are compared with (Tomtom): the JASPAR 2026 CORE "
                                 "collection of your organism's group, or a MEME, JASPAR or TRANSFAC file of your "
                                 "own.")
        self.motif_db.activated.connect(self._on_motif_db)
        self.compute_btn = QPushButton("Compute")
        self.compute_btn.setToolTip("Extract the filter motifs, measure their influence and match them to the "
                                    "motif collection.")
        self.compute_btn.clicked.connect(self.compute)
        self.cancel_btn = QPushButton("Cancel")
        self.cancel_btn.clicked.connect(self.runner.cancel)
        self.cancel_btn.setEnabled(False)
        self.view = QComboBox()
        for key, text in VIEWS:
            self.view.addItem(text, key)
        self.view.setToolTip("Bits: letter height = probability x information content. Probability: every stack "
                             "reaches 1. Raw weights: the filter's own weights, centred per position.")
        self.view.currentIndexChanged.connect(self._refresh_logos)
        self.sort = QComboBox()
        for key, text in SORTS:
            self.sort.addItem(text, key)
        self.sort.currentIndexChanged.connect(self._relayout)
        self.export_sel = QPushButton("Export selected…")
        self.export_sel.clicked.connect(lambda: self.ask_export(selected_only=True))
        self.export_all = QPushButton("Export all…")
        self.export_all.clicked.connect(lambda: self.ask_export(selected_only=False))
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        self.progress.setMaximumHeight(8)
        self.status = QLabel()
        self.status.setWordWrap(True)

        controls = QHBoxLayout()
        for label, w in (("Site threshold", self.threshold), ("Minimum sites", self.min_sites),
                         ("Match against", self.motif_db)):
            controls.addWidget(QLabel(label))
            controls.addWidget(w)
        controls.addWidget(self.compute_btn)
        controls.addWidget(self.cancel_btn)
        controls.addStretch(1)
        display = QHBoxLayout()  # a second row: the tab fits a 1280-pixel-wide window
        display.addWidget(QLabel("View"))
        display.addWidget(self.view)
        display.addWidget(QLabel("Sort by"))
        display.addWidget(self.sort)
        display.addStretch(1)
        display.addWidget(self.export_sel)
        display.addWidget(self.export_all)

        self.grid_host = QWidget()
        self.grid = QGridLayout(self.grid_host)
        self.grid.setContentsMargins(4, 4, 4, 4)
        self.grid.setSpacing(6)
        self.grid.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.placeholder = QLabel()
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setWordWrap(True)
        self.placeholder.setStyleSheet("color: #666; font-size: 13px;")
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setWidget(self.grid_host)
        self.scroll.setMinimumWidth(CARD_W + 30)
        self.scroll.viewport().installEventFilter(self)  # the card grid reflows to the viewport's width

        self.detail = FilterDetail()

        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addWidget(self.placeholder)
        ll.addWidget(self.scroll, 1)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(left)
        self.splitter.addWidget(self.detail)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setSizes([600, 400])  # the grid gets 60 % of the width

        lay = QVBoxLayout(self)
        lay.addWidget(self.title)
        lay.addWidget(self.summary)
        lay.addLayout(controls)
        lay.addLayout(display)
        lay.addWidget(self.progress)
        lay.addWidget(self.status)
        lay.addWidget(self.splitter, 1)
        self._update_buttons()

    # -- public API ----------------------------------------------------------------------------------------------
    def set_run(self, run, data=None) -> None:
        """Show the filters of ``run`` (a ``core.runs.Run``); ``data`` (a ``SequenceSet``) gives the activations,
        None reads the run's own data files. The analysis starts when the tab is (or becomes) visible."""
        if self.runner.is_running():
            self.runner.cancel()
            self.runner.join()
        self._run, self._data, self._analysis = run, data, None
        self._selected, self._current = [], None
        self._clear_cards()
        self._show_detail(None)
        if run is None:
            self.title.setText("")
            self.summary.setText("")
            self._show_placeholder("Train or open a CNN run to see what its filters learned.")
            self._pending = False
        elif not _conv_arch(run):
            self.title.setText(f"{run.name}")
            self.summary.setText("")
            self._show_placeholder(f"This run is a {run.info.arch} model. Filter logos need a convolutional network "
                                   "(CNN or CNN-LSTM): its first layer scans the DNA with motif detectors.")
            self._pending = False
        else:
            self.title.setText(f"{run.name}: first-layer filters")
            self.summary.setText(f"{run.info.params.get('filters', '?')} filters of "
                                 f"{run.info.params.get('filter_width', '?')} bases; "
                                 f"data: {'the sequences given' if data is not None else 'the run' + chr(39) + 's own data files'}.")
            self._show_placeholder("Computing the filter motifs…")
            self._pending = True
            if self.isVisible():
                self.compute()
        self._update_buttons()

    def run(self):
        return self._run

    def analysis(self):
        """The last ``FiltersAnalysis`` shown (None before one arrives)."""
        return self._analysis

    def set_cache_dir(self, path: str | Path | None) -> None:
        """Where Tomtom results are cached (default: the per-user BioDeep cache)."""
        self._cache_dir = None if path is None else str(path)

    def set_motif_file(self, path: str | None) -> None:
        """Match against this MEME/JASPAR/TRANSFAC file (None: the chosen bundled JASPAR collection)."""
        self._motifs_file = path or None
        file_row = next((i for i in range(self.motif_db.count()) if self.motif_db.itemData(i)[0] == "file"), -1)
        if path:
            label = f"File: {Path(path).name}"
            if file_row < 0:
                self.motif_db.addItem(label, ("file", path))
                file_row = self.motif_db.count() - 1
            self.motif_db.setItemText(file_row, label)
            self.motif_db.setItemData(file_row, ("file", path))
            self.motif_db.setCurrentIndex(file_row)
        else:
            self.set_collection(self._collection)

    def set_collection(self, collection: str) -> None:
        """Match against the bundled JASPAR 2026 CORE collection of this group (``motif_db.COLLECTIONS``)."""
        if collection not in COLLECTIONS:
            raise ValueError(f"unknown JASPAR collection {collection!r}; choose one of {', '.join(COLLECTIONS)}")
        self._collection, self._motifs_file = collection, None
        self.motif_db.setCurrentIndex(self.motif_db.findData(("collection", collection)))

    def collection(self) -> str:
        """The bundled collection matched against when no motif file is chosen."""
        return self._collection

    def compute(self) -> None:
        """(Re)compute the analysis for the current run, threshold and motif collection."""
        if self._run is None or not _conv_arch(self._run):
            return
        if self.runner.is_running():
            self.runner.cancel()
            self.runner.join()
        from biodeep_gui.core.sequences.interpret.analysis import analyse_filters

        cache = self._cache_dir
        if cache is None:
            from biodeep_gui.core.common.paths import cache_dir

            cache = str(cache_dir())
        self._pending = False
        self.progress.setValue(0)
        self.status.setText("Starting…")
        self.runner.start(analyse_filters, self._run, self._data, threshold=float(self.threshold.value()),
                          motifs_file=self._motifs_file, collection=self._collection, cache_dir=cache,
                          min_sites=int(self.min_sites.value()))

    def is_busy(self) -> bool:
        return self.runner.is_running()

    def shutdown(self) -> None:
        """Cancel and join the worker (the main window calls this before it closes)."""
        self.runner.shutdown()

    def cards(self) -> list[FilterCard]:
        """The cards in display order."""
        return sorted(self._cards, key=lambda c: self._position_of(c.index))

    def display_order(self) -> list[int]:
        return [c.index for c in self.cards()]

    def select_filter(self, index: int, extend: bool = False) -> None:
        """Select filter ``index`` (0-based); ``extend`` adds it to / removes it from a multiple selection."""
        if self._analysis is None or not 0 <= index < self._analysis.motifs.n_filters:
            return
        if extend:
            if index in self._selected:
                self._selected.remove(index)
            else:
                self._selected.append(index)
        else:
            self._selected = [index]
        self._current = index
        for c in self._cards:
            c.set_selected(c.index in self._selected)
        self._show_detail(index)
        self.sigFilterSelected.emit(index)

    def selected_filters(self) -> list[int]:
        return list(self._selected)

    def detail_stack(self) -> AlignedLogos:
        return self.detail.aligned

    def export(self, folder: str | Path, filters: list[int] | None = None,
               formats: tuple[str, ...] = ("png", "svg", "pdf")) -> list[Path]:
        """Write filters.meme, matches.tsv and the logos (PNG, SVG, PDF) of ``filters`` (default all) to ``folder``."""
        from biodeep_gui.core.sequences.interpret import export as X
        from biodeep_gui.figures.logos import write_filter_logos

        if self._analysis is None:
            raise RuntimeError("there is nothing to export yet")
        a = self._analysis
        folder = Path(folder)
        written = [X.write_filters_meme(a.motifs, folder / "filters.meme", a.matches, filters, a.min_sites)]
        if a.matches is not None:
            written.append(X.write_matches_tsv(a.matches, folder / "matches.tsv", a.motifs, a.influence, filters,
                                               a.min_sites))
        write_filter_logos(a.motifs, a.matches, folder, formats, filters)
        written.append(folder / "logos")
        return written

    def ask_export(self, selected_only: bool) -> None:
        if self._analysis is None:
            return
        filters = sorted(self._selected) if selected_only else None
        if selected_only and not filters:
            self.status.setText("Select one or more logos first (Ctrl-click to select several).")
            return
        folder = choose_save_path(self, "Export the filters to a folder", kind="folder",
                                  inputs=[str(self._run.path) if self._run is not None else ""],
                                  own_suffixes=FILTER_OUTPUTS, refuse=lambda why: self.status.setText(f"Not saved: {why}"))
        if folder is None:
            return
        QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            self.export(folder, filters)
        except (OSError, ValueError) as exc:
            self.status.setText(f"Export failed: {exc}")
        else:
            n = len(filters) if filters else self._analysis.motifs.n_filters
            self.status.setText(f"Exported {count_words(n, 'filter')} to {folder}: filters.meme, matches.tsv and "
                                "logos (PNG, SVG, PDF).")
        finally:
            QGuiApplication.restoreOverrideCursor()

    # -- worker signals ------------------------------------------------------------------------------------------
    def _on_items(self, items: list) -> None:
        from biodeep_gui.core.sequences.interpret.progress import Progress

        prog = [i for i in items if isinstance(i, Progress)]
        if prog:
            p = prog[-1]
            weights = {"load": (0, 5), "activations": (5, 35), "influence": (35, 65), "matching": (65, 100)}
            lo, hi = weights.get(p.stage, (0, 100))
            self.progress.setValue(int(10 * (lo + (hi - lo) * p.fraction)))
            self.status.setText(p.message + "…")

    def _on_finished(self, analysis) -> None:
        self.progress.setValue(1000)
        if analysis is None:
            return
        self._analysis = analysis
        self._build_cards()
        m = analysis.matches
        parts = [f"{analysis.motifs.n_filters} filters, sites above {analysis.motifs.threshold:g} x each filter's "
                 f"maximum; {'; '.join(analysis.notes)}"]
        if m is not None:
            parts.append(f"{analysis.n_named()} of {analysis.motifs.n_filters} match a {m.release} motif at q < 0.1 "
                         f"with at least {analysis.min_sites} sites ({m.n_targets} motifs, Tomtom"
                         f"{', cached' if m.from_cache else ''}); {analysis.n_too_few()} with too few sites "
                         "are not matched")
        infl = analysis.influence
        if infl is not None and np.isfinite(infl.loss):
            parts.append(f"importance = change of validation loss (intact {infl.loss:.3f}"
                         + (f"; {infl.metric.upper()} {infl.baseline:.3f}" if infl.metric else "")
                         + ") when a filter's output is replaced by its mean activation; positive = worse without it")
        self.status.setText(". ".join(parts) + ".")
        if self._cards:
            self.select_filter(self.display_order()[0])
        self._update_buttons()
        self.sigAnalysisReady.emit(analysis)

    def _on_failed(self, message: str, _details: str) -> None:
        self.progress.setValue(0)
        if self.runner.was_cancelled():
            self.status.setText("Cancelled.")
            self._show_placeholder("The filter analysis was cancelled; press Compute to run it.")
        else:
            self.status.setText(f"Could not analyse the filters: {message}")
            self._show_placeholder(f"Could not analyse the filters: {message}")

    def _on_running(self, running: bool) -> None:
        self._update_buttons()

    # -- cards ---------------------------------------------------------------------------------------------------
    def _clear_cards(self) -> None:
        for c in self._cards:
            self.grid.removeWidget(c)
            c.deleteLater()
        self._cards = []

    def _build_cards(self) -> None:
        self._clear_cards()
        a = self._analysis
        for f in range(a.motifs.n_filters):
            card = FilterCard(f, self.grid_host)
            card.logo.sigClicked.connect(self._on_card_clicked)
            self._cards.append(card)
        self._refresh_logos()
        self._relayout()
        self.placeholder.hide()
        self.scroll.show()

    def _position_of(self, index: int) -> int:
        order = self._order()
        where = np.empty(len(order), int)
        where[order] = np.arange(len(order))
        return int(where[index])

    def _order(self) -> np.ndarray:
        a = self._analysis
        if a is None:
            return np.zeros(0, int)
        key = self.sort.currentData()
        return np.arange(a.motifs.n_filters) if key == "index" else a.order(key)

    def _relayout(self, *_args) -> None:
        if not self._cards:
            return
        cols = max(1, (self.scroll.viewport().width() - 8) // (CARD_W + 6))
        for c in self._cards:
            self.grid.removeWidget(c)
        by_index = {c.index: c for c in self._cards}
        for k, f in enumerate(self._order()):
            self.grid.addWidget(by_index[int(f)], k // cols, k % cols)
        self._columns = cols

    def _refresh_logos(self, *_args) -> None:
        a = self._analysis
        if a is None:
            return
        mode = self.view.currentData()
        mats = a.motifs.weight_logos() if mode == "weights" else a.motifs.pfms
        rank = a.influence.rank() if a.influence is not None else None
        for c in self._cards:
            f = c.index
            c.logo.set_matrix(mats[f], mode)
            c.logo.set_title(f"Filter {f + 1}", f"{int(a.motifs.n_sites[f]):,} sites")
            c.set_caption(filter_caption(a, f, rank))
        if self._current is not None:
            self._show_detail(self._current)

    def _on_card_clicked(self, index: int) -> None:
        mods = QApplication.keyboardModifiers()
        extend = bool(mods & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier))
        self.select_filter(index, extend=extend)

    def _show_detail(self, f: int | None) -> None:
        self.detail.show_filter(self._analysis, f, self.view.currentData())

    # -- misc ------------------------------------------------------------------------------------------------------
    def _on_motif_db(self, index: int) -> None:
        kind, value = self.motif_db.itemData(index)
        if kind == "collection":
            self.set_collection(value)
        elif kind == "file":
            self._motifs_file = value
        else:
            path, _ = QFileDialog.getOpenFileName(self, "Motif file to match against", "", MOTIF_FILES)
            if path:
                self.set_motif_file(path)
            elif self._motifs_file:  # cancelled: back to what was chosen before
                self.motif_db.setCurrentIndex(self.motif_db.findData(("file", self._motifs_file)))
            else:
                self.set_collection(self._collection)

    def _show_placeholder(self, text: str) -> None:
        self.placeholder.setText(text)
        self.placeholder.show()
        self.scroll.setVisible(bool(self._cards))

    def _update_buttons(self) -> None:
        busy = self.runner.is_running()
        ok = self._run is not None and _conv_arch(self._run)
        self.compute_btn.setEnabled(ok and not busy)
        self.cancel_btn.setEnabled(busy)
        has = self._analysis is not None and not busy
        self.export_sel.setEnabled(has)
        self.export_all.setEnabled(has)

    def showEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().showEvent(event)
        if self._pending and not self.runner.is_running():
            self.compute()

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 (Qt API)
        # the grid's own viewport, not the tab: it also changes with the splitter, and a tab resized while
        # hidden lays out its children only when shown, after its own resize event (stale columns)
        if obj is self.scroll.viewport() and event.type() == QEvent.Type.Resize:
            cols = max(1, (event.size().width() - 8) // (CARD_W + 6))
            if self._cards and cols != self._columns:
                self._relayout()
        return super().eventFilter(obj, event)
