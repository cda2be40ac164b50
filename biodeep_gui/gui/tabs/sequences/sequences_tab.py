"""The Sequences tab: choose the input files and settings, open them, and see what was loaded.

The tab never reads sequences itself: "Open" emits ``sigOpenRequested(DataConfig)``; the main window loads the
data off the GUI thread (``core.sequences.load_sequences``) and hands the result back through ``show_data`` or
``show_error``. The tab puts together the form (``data_form.DataForm``: files and settings; only the header row of
a CSV/TSV table is read there, to offer its column names), the summary of what was loaded
(``summary_view.SummaryView``) and the red problems panel; files dropped anywhere on it go to the form.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QSplitter, QVBoxLayout, QWidget

from biodeep_gui.core.sequences import summary as S
from biodeep_gui.core.sequences.config import DataConfig
from biodeep_gui.core.sequences.dataset import SequenceSet
from biodeep_gui.gui.tabs.sequences.data_files import local_files
from biodeep_gui.gui.tabs.sequences.data_form import DataForm
from biodeep_gui.gui.tabs.sequences.form_widgets import ProblemsPanel
from biodeep_gui.gui.tabs.sequences.summary_view import SummaryView


class SequencesTab(QWidget):
    """Choose, open and inspect the sequences to learn from.

    Attributes
    ----------
    form : the input files and settings (``DataForm``); view : what was loaded (``SummaryView``)
    problems : the red panel; open_button : the form's Open button (the window presses it for a dropped file)

    Signals
    -------
    sigOpenRequested(object) : a validated ``DataConfig`` the window should load (off the GUI thread)
    sigCacheModeChosen(str) : the user picked an encoded-cache mode (the window remembers it between sessions)
    """

    sigOpenRequested = Signal(object)
    sigCacheModeChosen = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setAcceptDrops(True)
        self._data: SequenceSet | None = None
        self._data_cfg: DataConfig | None = None
        self._summary: S.SequenceSummary | None = None
        self.form = DataForm()
        self.view = SummaryView()
        self.open_button = self.form.open_button
        self.problems = ProblemsPanel()
        self.form.sigOpenRequested.connect(self.sigOpenRequested)
        self.form.sigProblem.connect(self._show_problem)
        self.form.sigCacheModeChosen.connect(self.sigCacheModeChosen)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.form)
        splitter.addWidget(self.view)
        splitter.setStretchFactor(0, 0)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([400, 800])
        splitter.setChildrenCollapsible(False)
        lay = QVBoxLayout(self)
        lay.addWidget(self.problems)
        lay.addWidget(splitter, 1)
        self.set_data_config(DataConfig())

    # ---- public API --------------------------------------------------------------------------------------
    def data_config(self) -> DataConfig:
        """The settings as a ``DataConfig`` (not validated; ``Open`` validates before emitting)."""
        return self.form.data_config()

    def set_data_config(self, cfg: DataConfig) -> None:
        """Fill the form from ``cfg`` (e.g. a reopened project); no file is read except a table's header."""
        self.form.set_data_config(cfg)

    def cache_mode(self) -> str:
        """The encoded-cache choice of the form (``DataConfig.cache``: 'auto', 'on' or 'off')."""
        return self.form.cache_mode()

    def set_cache_mode(self, mode: str) -> None:
        self.form.set_cache_mode(mode)

    def ensure_plots(self) -> None:
        """Make the length, GC and label plots (once)."""
        self.view.ensure_plots()

    def show_data(self, ss: SequenceSet, cfg: DataConfig, summary: S.SequenceSummary | None = None) -> None:
        """Show what was loaded: headline, details, histograms, class balance and the first records.

        Parameters
        ----------
        ss : the loaded set
        cfg : the settings it was loaded with (the form is set to them)
        summary : ``core.summary.summarize(ss)`` if the caller computed it off the GUI thread; else computed here
        """
        summ = summary if summary is not None else S.summarize(ss)
        self._data, self._data_cfg, self._summary = ss, cfg, summ
        self.form.set_data_config(cfg)
        self.problems.clear()
        self.view.show_data(ss, cfg, summ)

    def show_error(self, msg: str) -> None:
        """Show a problem in the red panel; whatever was loaded before stays shown."""
        self.set_busy(False)
        self.problems.show_message(msg)

    def set_busy(self, busy: bool, text: str = "") -> None:
        """While loading: Open disabled, an indeterminate progress bar and ``text`` (e.g. 'Reading 1.2 GB…')."""
        self.form.set_busy(busy, text)

    def current_data(self) -> tuple[SequenceSet | None, DataConfig | None]:
        """The set last shown by ``show_data`` and its settings (None, None before)."""
        return self._data, self._data_cfg

    def current_summary(self) -> S.SequenceSummary | None:
        return self._summary

    def problem_text(self) -> str:
        """The message in the problems panel ('' when hidden)."""
        return "" if self.problems.isHidden() else self.problems.text()

    def add_files(self, paths: list[str]) -> list[str]:
        """Place files in the right pickers by their type, as a drop does (see ``DataForm.place_files``).

        Returns
        -------
        the paths that were not recognised (also reported in the problems panel)
        """
        unknown, ignored = self.form.place_files(paths)
        notes = []
        if unknown:
            notes.append("Not a sequence file BioDeep reads: " + ", ".join(Path(p).name for p in unknown)
                         + ". Drop FASTA/FASTQ (.fa, .fasta, .fq), tables (.csv, .tsv) or peaks (.bed).")
        if ignored:
            notes.append("Left out (one input at a time): " + ", ".join(Path(p).name for p in ignored) + ".")
        if notes:
            self.problems.show_message(" ".join(notes))
        elif paths:
            self.problems.clear()
            self.form.hint.setText("Files placed. Check the settings, then press Open.")
        return unknown

    # ---- events ------------------------------------------------------------------------------------------
    def dragEnterEvent(self, event) -> None:  # noqa: N802 (Qt API)
        if local_files(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:  # noqa: N802
        if local_files(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802
        paths = local_files(event.mimeData())
        if not paths:
            event.ignore()
            return
        event.acceptProposedAction()
        self.add_files(paths)

    # ---- internals ---------------------------------------------------------------------------------------
    def _show_problem(self, msg: str) -> None:
        if msg:
            self.problems.show_message(msg)
        else:
            self.problems.clear()
