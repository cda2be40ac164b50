"""The "Discovered motifs" view: TF-MoDISco patterns from the attributions of a run's test positives.

Choose the sequences (test split or all), the attribution method and the JASPAR collection to name the patterns
with, press Discover: the view's worker runs ``core.sequences.interpret.discovery.iter_discover`` (attributions ->
TF-MoDISco-lite -> Tomtom against the bundled JASPAR 2026 CORE collection of the chosen taxonomic group) and the
table lists each pattern with its logo, seqlet count and best match (p- and q-value). Export writes the patterns
as MEME, a TSV and a self-contained HTML report.

A self-contained widget (``set_run``, ``set_result``, ``shutdown``); the main window adds it as a tab.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from biodeep_gui.core.common.words import count_words
from biodeep_gui.gui.session import choose_save_path
from biodeep_gui.gui.workers import TaskRunner

#: what an export writes (patterns.meme, patterns.tsv, report.html): exporting again into the same folder is allowed
DISCOVERY_OUTPUTS = (".meme", ".tsv", ".html")

COLUMNS = ("Pattern", "Logo", "Seqlets", "Consensus", "Best match", "p-value", "q-value")
LOGO_W, LOGO_H = 320, 90


class DiscoveryTab(QWidget):
    """Discovered motifs of one run (see the module notes).

    Signals
    -------
    sigResult(object) : a new ``DiscoveryResult`` is shown
    """

    sigResult = Signal(object)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        from biodeep_gui.core.sequences.interpret.attributions import METHOD_NAMES
        from biodeep_gui.core.sequences.motif_db import COLLECTIONS

        self._run = None
        self._result = None
        self.runner = TaskRunner(self, name="discovery", priority="low")
        self.runner.sigItems.connect(self._on_items)
        self.runner.sigFinished.connect(self._on_finished)
        self.runner.sigFailed.connect(self._on_failed)
        self.runner.sigRunningChanged.connect(lambda _r: self._update_buttons())

        self.title = QLabel()
        self.title.setStyleSheet("font-size: 14px; font-weight: 600;")
        self.title.setWordWrap(True)  # the run's name and summary can be long
        self.split = QComboBox()
        self.split.addItem("Test positives", "test")
        self.split.addItem("All positives", "all")
        self.split.setToolTip("TF-MoDISco needs a few hundred seqlets: with a small test split use all positives.")
        self.method = QComboBox()
        for key, name in METHOD_NAMES.items():
            self.method.addItem(name, key)
        self.collection = QComboBox()
        for c in COLLECTIONS:
            self.collection.addItem(f"JASPAR 2026 CORE {c}", c)
        self.collection.setToolTip("Known motifs to name the patterns with (taxonomic group)")
        self.discover_btn = QPushButton("Discover")
        self.discover_btn.clicked.connect(self.discover)
        self.cancel_btn = QPushButton("Cancel")
        self.cancel_btn.clicked.connect(self.runner.cancel)
        self.export_btn = QPushButton("Export…")
        self.export_btn.clicked.connect(self.ask_export)
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(220)
        self.progress.setVisible(False)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(LOGO_H + 6)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)

        choices = QHBoxLayout()
        for label, w in (("Sequences", self.split), ("Attributions", self.method), ("Match against", self.collection)):
            choices.addWidget(QLabel(label))
            choices.addWidget(w)
            choices.addSpacing(8)
        choices.addStretch(1)
        row = QHBoxLayout()  # the actions on a second row: both rows fit a 1024-pixel-wide window
        row.addWidget(self.discover_btn)
        row.addWidget(self.cancel_btn)
        row.addWidget(self.progress)
        row.addStretch(1)
        row.addWidget(self.export_btn)
        lay = QVBoxLayout(self)
        lay.addWidget(self.title)
        lay.addLayout(choices)
        lay.addLayout(row)
        lay.addWidget(self.table, 1)
        lay.addWidget(self.status)
        self.set_run(None)

    # -- public API ------------------------------------------------------------------------------------------
    def set_run(self, run) -> None:
        """Use ``run`` (a deep sequence run); clears the patterns shown."""
        from biodeep_gui.core.sequences.models import ARCHITECTURES

        if self.runner.is_running():
            self.runner.cancel()
            self.runner.join()
        self._run = run
        self.set_result(None)
        spec = None if run is None else ARCHITECTURES.get(run.info.arch)
        if run is None:
            self.title.setText("Discovered motifs: train or open a run first")
        elif spec is None or spec.kind != "torch":
            self.title.setText(f"{run.name}: a {run.info.arch} baseline has no attributions; choose a deep run")
        else:
            self.title.setText(f"{run.name}: motifs the network uses, found by TF-MoDISco in its attributions")
        self._update_buttons()

    def discover(self) -> None:
        """Run attributions -> TF-MoDISco -> matching in the worker."""
        from biodeep_gui.core.common.paths import cache_dir
        from biodeep_gui.core.sequences.interpret.discovery import iter_discover

        if not self._deep() or self.runner.is_running():
            return
        self.set_result(None)
        self.progress.setVisible(True)
        self.progress.setRange(0, 0)
        self.status.setText("Computing attributions…")
        self.runner.start(iter_discover, self._run, split=self.split.currentData(), method=self.method.currentData(),
                          collection=self.collection.currentData(), cache_dir=cache_dir())

    def set_result(self, result) -> None:
        """Show a ``DiscoveryResult`` (None clears the table)."""
        self._result = result
        self.table.setRowCount(0)
        if result is None:
            self.status.setText("")
            self._update_buttons()
            return
        self.table.setRowCount(len(result.patterns))
        for r, p in enumerate(result.patterns):
            b = p.best
            cells = [p.name + ("" if p.sign > 0 else " (lowers)"), "", str(p.n_seqlets), p.consensus,
                     f"{b.name} ({b.motif_id})" if b else "no match", f"{b.p_value:.2g}" if b else "",
                     f"{b.q_value:.2g}" if b else ""]
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if c in (2, 5, 6):
                    item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
                self.table.setItem(r, c, item)
            self.table.setCellWidget(r, 1, self._logo_label(p))
        method = {"deeplift_shap": "DeepLIFT/SHAP", "integrated_gradients": "integrated gradients"}[result.method]
        lines = [f"{count_words(len(result.patterns), 'pattern')} from the {method} attributions of {result.which}, "
                 f"matched to "
                 f"{result.release} ({result.n_targets} motifs); {result.elapsed_s:.0f} s."]
        lines += result.notes
        self.status.setText("\n".join(lines))
        self._update_buttons()
        self.sigResult.emit(result)

    def result(self):
        return self._result

    def pattern_rows(self) -> list[list[str]]:
        """The table's text, row by row (the logo column empty)."""
        return [[self.table.item(r, c).text() if self.table.item(r, c) else "" for c in range(len(COLUMNS))]
                for r in range(self.table.rowCount())]

    def export(self, folder: str | Path) -> list[Path]:
        """Write patterns.meme, patterns.tsv and report.html into ``folder``."""
        from biodeep_gui.core.common.fileio import atomic_write
        from biodeep_gui.core.sequences.interpret.discovery import patterns_tsv, write_patterns_meme
        from biodeep_gui.figures.attributions import discovery_html

        if self._result is None:
            raise RuntimeError("there are no discovered motifs to export yet")
        folder = Path(folder)
        name = self._run.name if self._run is not None else "run"
        return [write_patterns_meme(self._result, folder / "patterns.meme"),
                atomic_write(folder / "patterns.tsv", patterns_tsv(self._result)),
                atomic_write(folder / "report.html", discovery_html(self._result, f"Discovered motifs: {name}"))]

    def ask_export(self) -> None:
        if self._result is None:
            return
        folder = choose_save_path(self, "Export the discovered motifs into a folder", kind="folder",
                                  inputs=[str(self._run.path) if self._run is not None else ""],
                                  own_suffixes=DISCOVERY_OUTPUTS,
                                  refuse=lambda why: self.status.setText(f"Not saved: {why}"))
        if folder is None:
            return
        try:
            paths = self.export(folder)
        except (OSError, ValueError) as exc:
            self.status.setText(f"Export failed: {exc}")
        else:
            self.status.setText(f"Saved {', '.join(p.name for p in paths)} in {folder}")

    def is_busy(self) -> bool:
        return self.runner.is_running()

    def shutdown(self) -> None:
        self.runner.shutdown()

    # -- internals ---------------------------------------------------------------------------------------------
    def _logo_label(self, p) -> QLabel:
        from PySide6.QtCore import QSize

        from biodeep_gui.figures.logos import render_logo

        img = render_logo(p.pfm, "bits", QSize(LOGO_W, LOGO_H), scale=1.0)
        label = QLabel()
        label.setPixmap(QPixmap.fromImage(img))
        label.setToolTip(f"{p.name}: {p.n_seqlets} seqlets")
        return label

    def _deep(self) -> bool:
        from biodeep_gui.core.sequences.models import ARCHITECTURES

        spec = None if self._run is None else ARCHITECTURES.get(self._run.info.arch)
        return spec is not None and spec.kind == "torch"

    def _on_items(self, items) -> None:
        from biodeep_gui.core.sequences.interpret.progress import Progress

        last = [i for i in items if isinstance(i, Progress)]
        if last:
            p = last[-1]
            self.progress.setRange(0, max(1, p.total))
            self.progress.setValue(p.done)
            self.status.setText(p.message)

    def _on_finished(self, result) -> None:
        self.progress.setVisible(False)
        self.set_result(result)

    def _on_failed(self, message: str, _details: str) -> None:
        self.progress.setVisible(False)
        self.status.setText(("Cancelled." if self.runner.was_cancelled() else
                             f"Could not discover motifs: {message}"))
        self._update_buttons()

    def _update_buttons(self) -> None:
        busy = self.runner.is_running()
        self.discover_btn.setEnabled(self._deep() and not busy)
        self.cancel_btn.setEnabled(busy)
        self.export_btn.setEnabled(self._result is not None and not busy)
