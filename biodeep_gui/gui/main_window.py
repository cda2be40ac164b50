"""The main window: a shell that builds the tabs, menus and status bar and routes the user's actions.

The work is done by three controllers (``gui.controllers``): ``sequences`` (data, training, runs, predict,
resume), ``scans`` (brain-scans training) and ``projects`` (project files, recent projects). ``session``
(``gui.session``) keeps settings, remembered folders and message boxes. Every task thread of the window — the
controllers' and the tabs' — is in one registry, ``workers`` (``gui.workers.Runners``): ``is_busy`` and
``shutdown`` read it. Nothing here computes science, and nothing imports torch.
"""
from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QEvent, QSettings, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import QLabel, QMainWindow, QMessageBox, QTabWidget, QVBoxLayout, QWidget

from biodeep_gui.core.common.errors import BioDeepError
from biodeep_gui.core.common.system import process_memory
from biodeep_gui.core.runs import run_kind
from biodeep_gui.core.training.runs import SCANS
from biodeep_gui.gui.controllers import device_text
from biodeep_gui.gui.controllers.handoff import HandoffController
from biodeep_gui.gui.controllers.projects import ProjectsController
from biodeep_gui.gui.controllers.reports import ReportController
from biodeep_gui.gui.controllers.scans import ScansController
from biodeep_gui.gui.controllers.sequences import SequencesController
from biodeep_gui.gui.help_dialogs import HelpDialogs
from biodeep_gui.gui.sciences import DNA, FIRST, HINTS, LABELS, TIPS, science_of
from biodeep_gui.gui.sciences import SCANS as SCANS_SCIENCE
from biodeep_gui.gui.sciences import TABS as SCIENCE_TABS
from biodeep_gui.gui.session import APP_NAME, Session
from biodeep_gui.gui.tabs.sequences.sequences_tab import SequencesTab
from biodeep_gui.gui.widgets.domain_switch import DomainSwitch
from biodeep_gui.gui.widgets.next_step import NextStep
from biodeep_gui.gui.widgets.tab_page import TabPage
from biodeep_gui.gui.workers import Runners

#: Seconds a thread may hold the GIL while another waits (Python default 0.005); see MainWindow.__init__.
GIL_SWITCH_S = 0.0005
#: Milliseconds after the window is first painted before device discovery (and torch) starts in a worker.
STARTUP_DELAY_MS = 400
#: Milliseconds after the first show by which the deferred tabs are built even if no paint was seen.
DEFER_FALLBACK_MS = 1500


class MainWindow(QMainWindow):
    """BioDeep's window: the tabs of one science at a time (``gui.sciences``), DNA sequences (Sequences → Model →
    Training → Results → Filters → …) or brain scans (Scans → Model → Training → Reconstructions)."""

    #: (title, tooltip) of the tabs, in their fixed order
    TABS = tuple((title, tip) for title, tip, _sciences in SCIENCE_TABS)

    sigReady = Signal()
    _defer_pending = False  # class defaults: Qt sends events while __init__ is still running
    _painted = False

    def __init__(self, parent: QWidget | None = None, *, defer_tabs: bool = False):
        """Build the window.

        Parameters
        ----------
        defer_tabs : build the tabs behind the first one (Model … Compare) just after the window is first painted
                     instead of now; the app does this so the window appears sooner. ``sigReady`` says when all
                     tabs exist (``is_ready``).
        """
        super().__init__(parent)
        # The GUI thread shares the GIL with the training thread: a paint crosses into Qt and back many times, and
        # with the default 5 ms switch interval each crossing could wait 5 ms for a busy worker to let go.
        sys.setswitchinterval(GIL_SWITCH_S)
        self.setWindowTitle(APP_NAME)
        self.setAcceptDrops(False)  # the Sequences tab takes drops itself
        self.closing = False
        self._ready = False

        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        for title, tip in self.TABS:
            # a scroll area lets the window shrink below a tab's minimum size (small laptop screens)
            self.tabs.addTab(TabPage(), title)
            self.tabs.setTabToolTip(self.tabs.count() - 1, tip)
        # the domain switch sits left of the tabs: the science is the first choice, the tabs follow it
        self.domain_switch = DomainSwitch(LABELS, TIPS)
        self.tabs.setCornerWidget(self.domain_switch, Qt.Corner.TopLeftCorner)
        self.next_step = NextStep()
        central = QWidget()
        cl = QVBoxLayout(central)
        cl.setContentsMargins(0, 0, 0, 0)
        cl.setSpacing(0)
        cl.addWidget(self.tabs, 1)
        cl.addWidget(self.next_step)
        self.setCentralWidget(central)
        self.sequences_tab = SequencesTab()
        self.tabs.widget(0).setWidget(self.sequences_tab)

        self.session = Session(self)
        self.workers = Runners(self)
        self.data_runner = self.workers.add("data")
        self.train_runner = self.workers.add("training")
        self.predict_runner = self.workers.add("predict")
        self.scans_runner = self.workers.add("scans")
        self.sequences = SequencesController(self, self.session, self.data_runner, self.train_runner,
                                             self.predict_runner)
        self.scans = ScansController(self, self.session, self.scans_runner, self.sequences.runs_folder)
        self.projects = ProjectsController(self, self.session, self.sequences)
        self.handoff = HandoffController(self, self.session, self.workers.add("follow"), self.sequences.runs_folder)
        self.reports = ReportController(self, self.session)
        self.sequences_tab.sigOpenRequested.connect(self.sequences.open_data)

        self._science = ""
        self._dna_arch = "cnn"  # the sequence network the Model tab returns to from brain scans
        self.domain_switch.sigChanged.connect(self.set_science)
        self.next_step.sigGo.connect(self.show_tab_titled)
        self.tabs.currentChanged.connect(self._update_next_step)

        self._build_menus()
        self._build_status_bar()
        self.session.restore_geometry()
        science = self.session.science(DNA)
        self.set_science(science if science in LABELS else DNA)
        self._defer_pending = defer_tabs  # build the other tabs once the first frame is painted
        if not defer_tabs:
            self.build_tabs()

    def is_ready(self) -> bool:
        """Whether every tab has been built (see ``defer_tabs``)."""
        return self._ready

    @Slot()
    def build_tabs(self) -> None:
        """The tabs behind Sequences, their connections and remembered settings.

        Idempotent: every entry point that needs those tabs calls it first, so an action taken in the instant
        between the first paint and the deferred build still finds them.
        """
        if self._ready or self.closing:
            return
        self.sequences_tab.ensure_plots()
        from biodeep_gui.gui.tabs.model_tab import ModelTab
        from biodeep_gui.gui.tabs.scans.reconstructions_tab import ReconstructionsTab
        from biodeep_gui.gui.tabs.scans.scans_tab import ScansTab
        from biodeep_gui.gui.tabs.sequences.compare_tab import CompareTab
        from biodeep_gui.gui.tabs.sequences.discovery_tab import DiscoveryTab
        from biodeep_gui.gui.tabs.sequences.filters_tab import FiltersTab
        from biodeep_gui.gui.tabs.sequences.mutation_tab import MutationTab
        from biodeep_gui.gui.tabs.sequences.predict_tab import PredictTab
        from biodeep_gui.gui.tabs.sequences.results_tab import ResultsTab
        from biodeep_gui.gui.tabs.sequences.variants_tab import VariantsTab
        from biodeep_gui.gui.tabs.training_tab import TrainingTab

        self.model_tab = ModelTab()
        self.training_tab = TrainingTab()
        self.results_tab = ResultsTab()
        self.filters_tab = FiltersTab()
        self.mutation_tab = MutationTab()
        self.predict_tab = PredictTab()
        self.compare_tab = CompareTab()
        self.variants_tab = VariantsTab()
        self.discovery_tab = DiscoveryTab()
        self.scans_tab = ScansTab()
        self.reconstructions_tab = ReconstructionsTab()
        built = (self.model_tab, self.training_tab, self.results_tab, self.filters_tab, self.mutation_tab,
                 self.predict_tab, self.compare_tab, self.variants_tab, self.discovery_tab, self.scans_tab,
                 self.reconstructions_tab)
        for i, tab in enumerate(built, start=1):
            self.tabs.widget(i).setWidget(tab)
            if hasattr(tab, "shutdown"):  # the tab's own clean-up; its runners are in the registry already
                self.workers.on_shutdown(tab.shutdown)
        seq, scans = self.sequences, self.scans
        self.training_tab.sigStartRequested.connect(self.start_training)
        self.training_tab.sigStopRequested.connect(self.stop_training)
        self.train_runner.sigItems.connect(self.training_tab.add_items)
        self.predict_tab.sigPredictRequested.connect(seq.predict_file)
        self.predict_tab.sigOpenInMutationMap.connect(seq.open_in_mutation_map)
        self.compare_tab.sigRunSelected.connect(seq.show_run_of)
        self.compare_tab.sigRunRenamed.connect(seq.run_renamed)
        # linked interpretation views: a filter picked in one is shown in the other
        self.filters_tab.sigFilterSelected.connect(self.mutation_tab.highlight_filter)
        self.filters_tab.sigAnalysisReady.connect(self.mutation_tab.set_filter_analysis)
        self.mutation_tab.sigFilterClicked.connect(seq.show_filter)
        self.variants_tab.sigFilterClicked.connect(seq.show_filter)
        self.filters_tab.sigAnalysisReady.connect(self.variants_tab.set_filter_analysis)
        # brain scans: the same Training tab as sequences, one training at a time; the scans runner's items
        # also feed the Reconstructions tab
        self.scans_tab.sigTrainRequested.connect(scans.start_training)
        self.scans_tab.sigMessage.connect(self.show_status)
        self.scans_tab.sigCohortLoaded.connect(scans.on_cohort_loaded)
        self.scans_tab.sigRouteChanged.connect(self.model_tab.set_scans_route)
        self.scans_runner.sigItems.connect(self.reconstructions_tab.show_items)
        self.model_tab.sigDeviceChanged.connect(self.update_device_label)
        self.model_tab.sigDeviceChanged.connect(self.variants_tab.set_device)  # variants score on the chosen device
        self.model_tab.sigInspected.connect(self.update_device_label)
        self.model_tab.sigInspected.connect(self.handoff.on_inspected)
        self.model_tab.restore_settings(QSettings())
        if not self.model_tab.is_scans():
            self._dna_arch = self.model_tab.architecture()
        self.model_tab.arch_combo.currentIndexChanged.connect(self._model_arch_changed)
        self._ready = True
        self._sync_model_tab()
        self.update_device_label()
        self.sigReady.emit()

    def show_tab(self, tab: QWidget) -> None:
        """Bring one of the tab widgets (e.g. ``self.results_tab``) to the front, in its science."""
        for i in range(self.tabs.count()):
            if self.tabs.widget(i).widget() is tab:
                self._show_index(i)
                return

    @Slot(str)
    def show_tab_titled(self, title: str) -> None:
        """Bring the tab titled ``title`` to the front (the next-step link)."""
        for i in range(self.tabs.count()):
            if self.tabs.tabText(i) == title:
                self._show_index(i)
                return

    def _show_index(self, i: int) -> None:
        self.set_science(science_of(self.tabs.tabText(i), self._science))
        self.tabs.setCurrentIndex(i)

    # ---- the two sciences ------------------------------------------------------------------------------------
    def science(self) -> str:
        """The science shown: ``gui.sciences.DNA`` ('dna') or ``SCANS`` ('scans')."""
        return self._science

    @Slot(str)
    def set_science(self, science: str) -> None:
        """Show the tabs of ``science`` only (the tabs keep their indices; the others are hidden), remember the
        choice, and show its page in the Model tab. Opening data or a run of the other science calls this too."""
        if science == self._science:
            return
        self._science = science
        shown = [i for i, (_t, _tip, sciences) in enumerate(SCIENCE_TABS) if science in sciences]
        for i in shown:  # shown first: Qt moves the current tab off a hidden one on its own
            self.tabs.setTabVisible(i, True)
        if self.tabs.currentIndex() not in shown:  # the tab where the science starts comes to the front
            self.tabs.setCurrentIndex(next(i for i in shown if SCIENCE_TABS[i][0] == FIRST[science]))
        for i in range(self.tabs.count()):
            if i not in shown:
                self.tabs.setTabVisible(i, False)
        self.domain_switch.set_science(science)
        for key, act in self.science_actions.items():
            act.setChecked(key == science)
        self.session.remember_science(science)
        self._sync_model_tab()
        self._update_next_step()

    def _sync_model_tab(self) -> None:
        """The Model tab shows the page of the science in front: the scans pipeline, or the last sequence net."""
        if not self._ready:
            return
        if self._science == SCANS_SCIENCE and not self.model_tab.is_scans():
            from biodeep_gui.gui.tabs.model_forms import SCANS_ARCH

            self.model_tab.set_architecture(SCANS_ARCH)
        elif self._science == DNA and self.model_tab.is_scans():
            self.model_tab.set_architecture(self._dna_arch)

    @Slot()
    def _model_arch_changed(self, *_) -> None:
        """A network of the other science was picked in the Model tab: its science comes to the front."""
        if self.model_tab.is_scans():
            self.set_science(SCANS_SCIENCE)
        else:
            self._dna_arch = self.model_tab.architecture()
            self.set_science(DNA)

    @Slot()
    def _update_next_step(self, *_) -> None:
        text, target = HINTS.get((self._science, self.tabs.tabText(self.tabs.currentIndex())), ("", ""))
        self.next_step.set_hint(text, target)

    def current_tab(self) -> QWidget:
        """The tab widget in front (not its scroll area)."""
        return self.tabs.currentWidget().widget()

    # ---- menus and status bar -----------------------------------------------------------------------------
    def _action(self, menu, text: str, slot, shortcut=None, tip: str = "") -> QAction:
        act = QAction(text, self)
        if shortcut is not None:
            act.setShortcuts(shortcut if isinstance(shortcut, list) else [shortcut])
        if tip:
            act.setStatusTip(tip)
            act.setToolTip(tip)
        act.triggered.connect(slot)
        menu.addAction(act)
        return act

    def _build_menus(self) -> None:
        bar, seq, proj = self.menuBar(), self.sequences, self.projects
        f = bar.addMenu("&File")
        self.act_open_seq = self._action(f, "Open sequences…", seq.ask_open_sequences, QKeySequence.StandardKey.Open,
                                         "Open FASTA/FASTQ, CSV/TSV or BED files")
        self._action(f, "Clear encoded cache…", seq.ask_clear_cache, None,
                     "Delete the sequences encoded on disk by earlier runs (they are encoded again when needed)")
        f.addSeparator()
        self._action(f, "Open project…", proj.ask_open_project, QKeySequence("Ctrl+Shift+O"),
                     "Open a saved BioDeep project (data, runs and settings)")
        self.recent_menu = f.addMenu("Recent projects")
        proj.attach_recent_menu(self.recent_menu)
        self._action(f, "Save project", proj.save_project, QKeySequence.StandardKey.Save,
                     "Save the data references, runs and settings")
        self._action(f, "Save project as…", proj.ask_save_project_as, QKeySequence("Ctrl+Shift+S"))
        f.addSeparator()
        self._action(f, "Open run…", seq.ask_open_run, None, "Open the folder of a trained run")
        self._action(f, "Follow a run folder…", self.handoff.ask_follow, None,
                     "Watch the curves of a run another process writes (a cluster job on a shared disk), then "
                     "open its results when it ends")
        self.act_save_run = self._action(f, "Save run as…", seq.ask_save_run_as, None,
                                         "Copy the run shown in Results to a folder of your choice")
        self.act_export = self._action(f, "Export figure…", self.ask_export_figure, QKeySequence("Ctrl+E"),
                                       "Save the plot of this tab as PNG or SVG")
        self.reports.attach(f, self._action(f, "Export report…", self.reports.ask_export_report, None,
                                            "Write one HTML or PDF report of the run shown: data, settings, "
                                            "curves, metrics, versions"))
        f.addSeparator()
        self._action(f, "Quit", self.close, QKeySequence.StandardKey.Quit)
        f.aboutToShow.connect(self._update_file_menu)

        v = bar.addMenu("&View")
        self.science_actions = {}
        for n, (key, label) in enumerate(LABELS.items(), start=1):
            act = self._action(v, label, self._science_action, QKeySequence(f"Ctrl+Shift+{n}"),
                               f"Show the tabs for {label.lower()}")
            act.setCheckable(True)
            act.setData(key)
            self.science_actions[key] = act

        t = bar.addMenu("&Training")
        self.act_start = self._action(t, "Start training", self.start_training, QKeySequence("Ctrl+R"),
                                      "Train the chosen network on the opened sequences")
        self.act_stop = self._action(t, "Stop training", self.stop_training,
                                     [QKeySequence(Qt.Key.Key_Escape), QKeySequence("Ctrl+.")],
                                     "Stop after the current batch; the best epoch so far is kept")
        for act in (self.act_start, self.act_stop):
            act.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        self._action(t, "Resume interrupted training…", seq.offer_resume,
                     tip="Go on with a training that a crash, a kill or Stop interrupted, from its last epoch")
        t.addSeparator()
        self._action(t, "Run on a cluster…", self.handoff.ask_run_on_cluster,
                     tip="Export these settings with a ready sbatch script or torchrun command")

        h, self.help = bar.addMenu("&Help"), HelpDialogs(self)
        self._action(h, "Guide", self.help.show_guide, QKeySequence.StandardKey.HelpContents, "Steps, tabs, numbers")
        self._action(h, "Glossary", self.help.show_glossary, None, "Every number and term in one sentence")
        self._action(h, "Open demo data", seq.open_demo,
                     tip="Write the synthetic demo data set and open its bound and background sequences")
        self._action(h, "About BioDeep", self.session.show_about)

    @Slot()
    def _science_action(self) -> None:
        self.set_science(str(self.sender().data()))

    def _build_status_bar(self) -> None:
        sb = self.statusBar()
        self.device_label = QLabel()
        self.device_label.setToolTip("The device the next (or current) training runs on; change it in the Model tab.")
        self.memory_label = QLabel()
        self.memory_label.setToolTip("Memory used by BioDeep (resident set size).")
        sb.addPermanentWidget(self.device_label)
        sb.addPermanentWidget(self.memory_label)
        self._memory_timer = QTimer(self)
        self._memory_timer.setInterval(1000)
        self._memory_timer.timeout.connect(self._update_memory)
        self._memory_timer.start()
        self._update_memory()
        self.update_device_label()

    @Slot()
    def _update_memory(self) -> None:
        rss = process_memory()
        self.memory_label.setText(f"Memory: {rss / 2**20:,.0f} MB" if rss else "")

    @Slot()
    def update_device_label(self, *_) -> None:
        if not self._ready:
            self.device_label.setText("Device: CPU")
        elif self.train_runner.is_running():
            self.device_label.setText(f"Training on: {device_text(self.model_tab, self.sequences.training_device)}")
        elif self.scans_runner.is_running():
            self.device_label.setText(f"Training on: {device_text(self.model_tab, self.scans.training_device)}")
        else:
            self.device_label.setText(f"Device: {device_text(self.model_tab, self.model_tab.device())}")

    @Slot(str)
    def show_status(self, text: str) -> None:
        self.statusBar().showMessage(text, 10_000)

    @Slot()
    def _update_file_menu(self) -> None:
        self.build_tabs()
        self.act_save_run.setEnabled(self.results_tab.current_run() is not None)
        self.act_export.setEnabled(hasattr(self.current_tab(), "export_figure"))

    # ---- routing ----------------------------------------------------------------------------------------------
    @Slot()
    def start_training(self) -> None:
        """Train the Model tab's network on the opened sequences, or the autoencoder → classifier on the Scans
        tab's cohort when that is the Model tab's choice (Ctrl+R)."""
        self.build_tabs()
        if self.training_busy():
            return
        if self.model_tab.is_scans():
            self.scans_tab.request_training()
        else:
            self.sequences.start_training()

    @Slot()
    def stop_training(self) -> None:
        """Ask the running training (sequences or scans) to stop after the current batch (Esc, Ctrl+.)."""
        for runner in (self.train_runner, self.scans_runner):
            if runner.is_running():
                self.training_tab.set_stopping()
                runner.cancel()
        self.handoff.stop()

    def training_busy(self, say: bool = True) -> bool:
        """Whether a training (sequences or scans) runs; if so and ``say``, say so in the status bar."""
        busy = self.train_runner.is_running() or self.scans_runner.is_running() or self.handoff.runner.is_running()
        if busy and say:
            self.statusBar().showMessage("A training is running or followed: stop it first (Esc) or wait for it to "
                                         "finish.", 8000)
        return busy

    def open_run(self, path: str | Path):
        """Open a run folder: a sequence run is shown in Results (and returned), a scans run in Reconstructions."""
        try:
            kind = run_kind(path)
        except BioDeepError as exc:
            self.session.show_error("Cannot open this run", str(exc))
            return None
        if kind == SCANS:
            self.set_science(SCANS_SCIENCE)
            return self.scans.open_run(path)
        self.set_science(DNA)
        return self.sequences.open_run(path)

    @Slot()
    def ask_export_figure(self) -> None:
        """Save the plot of the tab in front (File ▸ Export figure)."""
        self.build_tabs()
        tab = self.current_tab()
        if not hasattr(tab, "export_figure"):
            self.session.show_error("No figure here", "Switch to the Training, Results or Compare tab to export "
                                                      "its plot.")
            return
        run = self.results_tab.current_run()
        name = self.tabs.tabText(self.tabs.currentIndex()).lower()
        self.session.export_figure(tab, f"{name}{'-' + run.path.name if run else ''}.png")

    def open_dialogs(self) -> list[QMessageBox]:
        """Message boxes shown by the window and not yet closed."""
        return self.session.open_dialogs()

    # ---- start-up and closing -------------------------------------------------------------------------------
    def event(self, e: QEvent) -> bool:
        handled = super().event(e)
        if e.type() == QEvent.Type.Paint and not self._painted:
            # The first frame is on screen: now the deferred tabs can be built and, a little later, device
            # discovery (torch's import, ~1.4 s holding the GIL much of it) can start in a worker.
            self._painted = True
            if self._defer_pending:
                self._defer_pending = False
                QTimer.singleShot(0, self.build_tabs)
            QTimer.singleShot(STARTUP_DELAY_MS, self._start_background_work)
        return handled

    def showEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().showEvent(event)
        if self._defer_pending:  # should no paint come (unusual platforms), build anyway
            QTimer.singleShot(DEFER_FALLBACK_MS, self.build_tabs)

    @Slot()
    def _start_background_work(self) -> None:
        if self.closing:
            return
        if not self._ready:
            self.sigReady.connect(self._start_background_work)
            return
        self.model_tab.refresh()
        if self.sequences.interrupted_runs():
            self.sequences.offer_resume()

    def is_busy(self) -> bool:
        """Whether any task of the window or its tabs (loading, training, predicting, inspecting…) is running."""
        return self.workers.is_busy()

    def shutdown(self) -> None:
        """Cancel every task and join every worker thread (training stops within one batch)."""
        self.closing = True
        self.workers.shutdown()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt API)
        if self.train_runner.is_running():
            self.training_tab.set_stopping()
            self.statusBar().showMessage("Stopping the training before closing…")
        self.session.save_settings(self.model_tab if self._ready else None)
        self.shutdown()
        self.session.close_dialogs()
        event.accept()
