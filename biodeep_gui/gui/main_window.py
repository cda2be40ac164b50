"""The main window: tabs for the sequence workflow, menus, status bar, settings, projects and the long tasks.

The window owns the state of a session (the opened sequences, every run trained or opened, the project) and the
three long tasks — loading data, training, predicting — each run by a ``TaskRunner`` over a core function or
generator. The tabs only ask (signals) and show (methods); the window passes data between them. Nothing here
computes science, and nothing imports torch: the core functions run in the workers do.
"""
from __future__ import annotations

import dataclasses
import importlib.metadata
import importlib.util
import platform
import re
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QSettings, Qt, QTimer, Signal, Slot, qVersion
from PySide6.QtGui import QAction, QCloseEvent, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QScrollArea,
    QTabWidget,
    QWidget,
)

from biodeep_gui import __version__
from biodeep_gui.core.common import paths
from biodeep_gui.core.common.errors import BioDeepError
from biodeep_gui.core.project import PROJECT_SUFFIX, Project, load_project, missing_files, relocate, save_project
from biodeep_gui.core.sequences.config import DataConfig
from biodeep_gui.core.sequences.models import ARCHITECTURES
from biodeep_gui.core.sequences.pipeline import train_run
from biodeep_gui.core.sequences.run import Run, load_run
from biodeep_gui.core.training.reports import StageReport
from biodeep_gui.core.training.runs import RUN_FILE
from biodeep_gui.gui.tabs.sequences.sequences_tab import SequencesTab
from biodeep_gui.gui.workers import TaskRunner

APP_NAME = "BioDeep"
#: Seconds a thread may hold the GIL while another waits (Python default 0.005); see MainWindow.__init__.
GIL_SWITCH_S = 0.0005
ORG_NAME = "BioDeep"
PROJECT_FILTER = f"BioDeep projects (*{PROJECT_SUFFIX} *.json);;All files (*)"
SEQUENCE_FILTER = ("Sequences (*.fa *.fasta *.fna *.fas *.fq *.fastq *.csv *.tsv *.txt *.bed *.narrowPeak *.gz);;"
                   "All files (*)")
MAX_RECENT = 8
#: Milliseconds after the window is first painted before device discovery (and torch) starts in a worker.
STARTUP_DELAY_MS = 400
#: Milliseconds after the first show by which the deferred tabs are built even if no paint was seen.
DEFER_FALLBACK_MS = 1500
def _is_scans_run(path: str | Path) -> bool:
    """Whether a folder is a brain-scans run (its run.json says ``"kind": "scans"``)."""
    import json

    try:
        if not (Path(path) / RUN_FILE).is_file():  # a named pipe there would block the window
            return False
        doc = json.loads((Path(path) / RUN_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(doc, dict) and doc.get("kind") == "scans"


def demo_folder() -> Path:
    return paths.data_dir() / "demo"


def process_memory() -> int | None:
    """Resident memory of this process in bytes (Linux: current VmRSS; elsewhere the peak from getrusage)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if sys.platform == "darwin" else peak * 1024  # bytes on macOS, KiB on Linux/BSD
    except (ImportError, OSError):
        return None


def versions() -> dict[str, str]:
    """Versions for the About box and bug reports, without importing torch (1.4 s) just to ask."""
    out = {"BioDeep": __version__, "Python": platform.python_version(), "Qt": qVersion()}
    try:
        out["PySide6"] = importlib.metadata.version("PySide6-Essentials")
    except importlib.metadata.PackageNotFoundError:
        try:
            out["PySide6"] = importlib.metadata.version("PySide6")
        except importlib.metadata.PackageNotFoundError:
            pass
    try:
        out["PyTorch"] = importlib.metadata.version("torch")
    except importlib.metadata.PackageNotFoundError:
        out["PyTorch"] = "not installed"
    out["CUDA (PyTorch build)"] = _torch_cuda_version() or "none (CPU-only build)"
    out["pyqtgraph"] = _dist_version("pyqtgraph")
    out["Platform"] = platform.platform()
    return out


def _dist_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _torch_cuda_version() -> str:
    """The CUDA version torch was built with, read from ``torch/version.py`` unless torch is already imported."""
    torch = sys.modules.get("torch")
    if torch is not None:
        return str(torch.version.cuda or "")
    spec = importlib.util.find_spec("torch")
    if spec is None or not spec.submodule_search_locations:
        return ""
    try:
        text = (Path(list(spec.submodule_search_locations)[0]) / "version.py").read_text(encoding="utf-8")
    except OSError:
        return ""
    m = re.search(r"^cuda\s*(?::[^=]*)?=\s*['\"]([^'\"]+)['\"]", text, re.M)
    return m.group(1) if m else ""


@dataclass
class LoadedData:
    """What the data-loading task hands back to the window."""

    config: DataConfig
    data: Any  # core.sequences.SequenceSet
    summary: Any  # core.summary.SequenceSummary


def load_data_task(cfg: DataConfig, seed: int = 0, *, should_stop):
    """Worker task: read the sequences a ``DataConfig`` describes and summarise them (core functions only)."""
    from biodeep_gui.core.sequences import summary
    from biodeep_gui.core.sequences.io import load_sequences

    names = ", ".join(Path(p).name for p in cfg.input_files())
    size = sum(Path(p).stat().st_size for p in cfg.input_files() if Path(p).is_file())
    yield StageReport("load", f"Reading {names} ({size / 1e6:.1f} MB)…")
    ss = load_sequences(cfg, seed=seed)
    if should_stop():
        return None
    yield StageReport("summary", f"Summarising {len(ss):,} sequences…")
    return LoadedData(cfg, ss, summary.summarize(ss))


def write_demo_task(folder: str, *, should_stop):
    """Worker task: write the synthetic demo files into ``folder`` (kept if already there)."""
    from biodeep_gui.core.sequences.synthetic import write_demo

    folder_p = Path(folder)
    if (folder_p / "bound.fa").is_file() and (folder_p / "background.fa").is_file() \
            and (folder_p / "predict_me.fa").is_file():
        return {"bound": folder_p / "bound.fa", "background": folder_p / "background.fa",
                "predict_me": folder_p / "predict_me.fa"}
    yield StageReport("demo", f"Writing the demo data to {folder}…")
    return write_demo(folder)


@dataclass
class Predictions:
    ids: list[str]
    scores: Any  # (N, K) numpy
    columns: list[str]
    path: str


def predict_task(run: Run, path: str) -> Predictions:
    """Worker function: score the sequences of ``path`` with ``run`` (CPU)."""
    from biodeep_gui.core.sequences.run import output_columns
    from biodeep_gui.core.sequences.tables import load_unlabelled

    ss = load_unlabelled(path, length=run.info.length)
    return Predictions(list(ss.ids), run.predict(ss.codes), output_columns(run), path)


class MainWindow(QMainWindow):
    """BioDeep's window: Sequences → Model → Training → Results → Filters → Mutation map → Predict → Compare."""

    #: (title, tooltip) of the tabs, in order
    TABS = (("Sequences", "Open the sequences and labels to learn from."),
            ("Model", "Choose the network, its settings and the device."),
            ("Training", "Train and watch the curves."),
            ("Results", "Test metrics and plots of a run."),
            ("Filters", "What the first-layer filters of a CNN learned: sequence logos matched to JASPAR."),
            ("Mutation map", "What each base of one sequence contributes: in-silico saturation mutagenesis."),
            ("Predict", "Score new sequences with a trained run."),
            ("Compare", "All runs side by side, deep models against baselines."),
            ("Scans", "Brain scans: load a NIfTI cohort with its label table, audit it, train autoencoder → "
                      "classifier."),
            ("Reconstructions", "Originals, reconstructions and differences; cross-validated classification."))

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
        self._runs: list[Run] = []
        self._project = Project()
        self._closing = False
        self._ready = False
        self._dialogs: list[QMessageBox] = []
        self._pending_open: DataConfig | None = None
        self._run_dir: Path | None = None
        self._training_device = "cpu"
        self._scans_cfg = None  # the ScansConfig of the running scans training

        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        for title, tip in self.TABS:
            # a scroll area lets the window shrink below a tab's minimum size (small laptop screens)
            scroll = QScrollArea()
            scroll.setWidgetResizable(True)
            scroll.setFrameShape(QScrollArea.Shape.NoFrame)
            self.tabs.addTab(scroll, title)
            self.tabs.setTabToolTip(self.tabs.count() - 1, tip)
        self.setCentralWidget(self.tabs)
        self.sequences_tab = SequencesTab()
        self.tabs.widget(0).setWidget(self.sequences_tab)

        self.data_runner = TaskRunner(self, name="data")
        self.train_runner = TaskRunner(self, name="training")
        self.predict_runner = TaskRunner(self, name="predict")
        self.scans_runner = TaskRunner(self, name="scans")
        self.data_runner.sigItems.connect(self._on_data_items)
        self.data_runner.sigFinished.connect(self._on_data_finished)
        self.data_runner.sigFailed.connect(self._on_data_failed)
        self.train_runner.sigFinished.connect(self._on_training_finished)
        self.train_runner.sigFailed.connect(self._on_training_failed)
        self.predict_runner.sigFinished.connect(self._on_predicted)
        self.predict_runner.sigFailed.connect(self._on_predict_failed)
        self.sequences_tab.sigOpenRequested.connect(self.open_data)

        self._build_menus()
        self._build_status_bar()
        self._restore_geometry()
        self._defer_pending = defer_tabs  # build the other tabs once the first frame is painted
        if not defer_tabs:
            self._build_tabs()

    sigReady = Signal()
    _defer_pending = False  # class defaults: Qt sends events while __init__ is still running
    _painted = False

    def is_ready(self) -> bool:
        """Whether every tab has been built (see ``defer_tabs``)."""
        return self._ready

    @Slot()
    def _build_tabs(self) -> None:
        """The tabs behind Sequences, their connections and remembered settings.

        Idempotent: every entry point that needs those tabs calls it first, so an action taken in the instant
        between the first paint and the deferred build still finds them.
        """
        if self._ready or self._closing:
            return
        self.sequences_tab.ensure_plots()
        from biodeep_gui.gui.tabs.model_tab import ModelTab
        from biodeep_gui.gui.tabs.scans.reconstructions_tab import ReconstructionsTab
        from biodeep_gui.gui.tabs.scans.scans_tab import ScansTab
        from biodeep_gui.gui.tabs.sequences.compare_tab import CompareTab
        from biodeep_gui.gui.tabs.sequences.filters_tab import FiltersTab
        from biodeep_gui.gui.tabs.sequences.mutation_tab import MutationTab
        from biodeep_gui.gui.tabs.sequences.predict_tab import PredictTab
        from biodeep_gui.gui.tabs.sequences.results_tab import ResultsTab
        from biodeep_gui.gui.tabs.training_tab import TrainingTab

        self.model_tab = ModelTab()
        self.training_tab = TrainingTab()
        self.results_tab = ResultsTab()
        self.filters_tab = FiltersTab()
        self.mutation_tab = MutationTab()
        self.predict_tab = PredictTab()
        self.compare_tab = CompareTab()
        self.scans_tab = ScansTab()
        self.reconstructions_tab = ReconstructionsTab()
        for i, tab in enumerate((self.model_tab, self.training_tab, self.results_tab, self.filters_tab,
                                 self.mutation_tab, self.predict_tab, self.compare_tab, self.scans_tab,
                                 self.reconstructions_tab), start=1):
            self.tabs.widget(i).setWidget(tab)
        # brain scans: the same worker class and Training tab as sequences, one training at a time; the runner
        # is separate because its items also feed the Reconstructions tab
        self.scans_tab.sigTrainRequested.connect(self.start_scans_training)
        self.scans_tab.sigMessage.connect(self._show_status_message)
        self.scans_tab.sigCohortLoaded.connect(self._on_cohort_loaded)
        self.scans_tab.sigRouteChanged.connect(self.model_tab.set_scans_route)
        self.scans_runner.sigItems.connect(self.reconstructions_tab.show_items)
        self.scans_runner.sigItems.connect(self._on_scans_items)
        self.scans_runner.sigFinished.connect(self._on_scans_finished)
        self.scans_runner.sigFailed.connect(self._on_scans_failed)
        # linked interpretation views: a filter picked in one is shown in the other
        self.filters_tab.sigFilterSelected.connect(self.mutation_tab.highlight_filter)
        self.filters_tab.sigAnalysisReady.connect(self.mutation_tab.set_filter_analysis)
        self.mutation_tab.sigFilterClicked.connect(self._show_filter)
        self.train_runner.sigItems.connect(self.training_tab.add_items)
        self.training_tab.sigStartRequested.connect(self.start_training)
        self.training_tab.sigStopRequested.connect(self.stop_training)
        self.predict_tab.sigPredictRequested.connect(self.predict_file)
        self.compare_tab.sigRunSelected.connect(self._on_compare_selected)
        self.model_tab.sigDeviceChanged.connect(self._update_device_label)
        self.model_tab.sigInspected.connect(self._update_device_label)
        self.model_tab.restore_settings(QSettings())
        self._ready = True
        self._update_device_label()
        self.sigReady.emit()

    def show_tab(self, tab: QWidget) -> None:
        """Bring one of the tab widgets (e.g. ``self.results_tab``) to the front."""
        for i in range(self.tabs.count()):
            if self.tabs.widget(i).widget() is tab:
                self.tabs.setCurrentIndex(i)
                return

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
        bar = self.menuBar()
        f = bar.addMenu("&File")
        self.act_open_seq = self._action(f, "Open sequences…", self.ask_open_sequences, QKeySequence.StandardKey.Open,
                                         "Open FASTA/FASTQ, CSV/TSV or BED files")
        f.addSeparator()
        self._action(f, "Open project…", self.ask_open_project, QKeySequence("Ctrl+Shift+O"),
                     "Open a saved BioDeep project (data, runs and settings)")
        self.recent_menu = f.addMenu("Recent projects")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        self._action(f, "Save project", self.save_project, QKeySequence.StandardKey.Save,
                     "Save the data references, runs and settings")
        self._action(f, "Save project as…", self.ask_save_project_as, QKeySequence("Ctrl+Shift+S"))
        f.addSeparator()
        self._action(f, "Open run…", self.ask_open_run, None, "Open the folder of a trained run")
        self.act_save_run = self._action(f, "Save run as…", self.ask_save_run_as, None,
                                         "Copy the run shown in Results to a folder of your choice")
        self.act_export = self._action(f, "Export figure…", self.ask_export_figure, QKeySequence("Ctrl+E"),
                                       "Save the plot of this tab as PNG or SVG")
        f.addSeparator()
        self._action(f, "Quit", self.close, QKeySequence.StandardKey.Quit)
        f.aboutToShow.connect(self._update_file_menu)

        t = bar.addMenu("&Training")
        self.act_start = self._action(t, "Start training", self.start_training, QKeySequence("Ctrl+R"),
                                      "Train the chosen network on the opened sequences")
        self.act_stop = self._action(t, "Stop training", self.stop_training,
                                     [QKeySequence(Qt.Key.Key_Escape), QKeySequence("Ctrl+.")],
                                     "Stop after the current batch; the best epoch so far is kept")
        for act in (self.act_start, self.act_stop):
            act.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        self._action(t, "Resume interrupted training…", self.offer_resume,
                     tip="Go on with a training that a crash, a kill or Stop interrupted, from its last epoch")

        h = bar.addMenu("&Help")
        self._action(h, "Open demo data", self.open_demo,
                     tip="Write the synthetic demo data set and open its bound and background sequences")
        self._action(h, "About BioDeep", self.show_about)

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
        self._update_device_label()

    @Slot()
    def _update_memory(self) -> None:
        rss = process_memory()
        self.memory_label.setText(f"Memory: {rss / 2**20:,.0f} MB" if rss else "")

    @Slot()
    def _update_device_label(self, *_):
        if not self._ready:
            self.device_label.setText("Device: CPU")
        elif self.train_runner.is_running() or self.scans_runner.is_running():
            self.device_label.setText(f"Training on: {self._device_text(self._training_device)}")
        else:
            self.device_label.setText(f"Device: {self._device_text(self.model_tab.device())}")

    def _device_text(self, name: str) -> str:
        for d in self.model_tab.devices() or []:
            if d.name == name:
                return d.label
        return {"cpu": "CPU"}.get(name, name)

    def _update_file_menu(self) -> None:
        self._build_tabs()
        self.act_save_run.setEnabled(self.results_tab.current_run() is not None)
        self.act_export.setEnabled(hasattr(self.current_tab(), "export_figure"))

    # ---- data -----------------------------------------------------------------------------------------------
    @Slot(object)
    def open_data(self, cfg: DataConfig) -> None:
        """Load the sequences ``cfg`` describes, off the GUI thread; the Sequences tab shows the result."""
        self._build_tabs()
        if self.data_runner.is_running():
            self._pending_open = cfg  # the newest request wins once the current read ends
            self.data_runner.cancel()
            return
        self.sequences_tab.set_busy(True, "Reading…")
        self.statusBar().showMessage("Reading sequences…")
        self.data_runner.start(load_data_task, cfg, self.model_tab.train_config().seed)

    @Slot(object)
    def _on_data_items(self, items: list) -> None:
        for item in items:
            if isinstance(item, StageReport):
                if item.stage == "demo":
                    self.statusBar().showMessage(item.message)
                else:
                    self.sequences_tab.set_busy(True, item.message)
                    self.statusBar().showMessage(item.message)

    @Slot(object)
    def _on_data_finished(self, result: Any) -> None:
        self._build_tabs()
        if isinstance(result, dict):  # the demo files were written: open the bound / background pair
            self._open_demo_files(result)
            return
        pending, self._pending_open = self._pending_open, None
        if pending is not None:
            self.open_data(pending)
            return
        self.sequences_tab.set_busy(False)
        self.statusBar().clearMessage()
        if not isinstance(result, LoadedData):
            return
        self.sequences_tab.show_data(result.data, result.config, result.summary)
        self.model_tab.set_data_shape(result.data.length, result.data.n_outputs)
        self._project.data = dataclasses.asdict(result.config)
        self.statusBar().showMessage(f"Opened {len(result.data):,} sequences", 5000)

    @Slot(str, str)
    def _on_data_failed(self, message: str, details: str) -> None:
        pending, self._pending_open = self._pending_open, None
        if pending is not None:
            self.open_data(pending)
            return
        self.statusBar().clearMessage()
        self.sequences_tab.show_error(message)
        self.show_tab(self.sequences_tab)

    def ask_open_sequences(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Open sequences", self._folder("data"), SEQUENCE_FILTER)
        if not paths:
            return
        self._remember_folder("data", Path(paths[0]).parent)
        self.show_tab(self.sequences_tab)
        self.sequences_tab.add_files(paths)
        if not self.sequences_tab.problem_text() and self.sequences_tab.open_button.isEnabled():
            self.sequences_tab.open_button.click()  # same checks as the button: a problem is shown, not loaded

    def open_demo(self) -> None:
        """Write the synthetic demo data (once) to the user data folder and open bound.fa + background.fa."""
        self._build_tabs()
        if self.data_runner.is_running():
            self.statusBar().showMessage("Still reading the previous files; try again in a moment.", 5000)
            return
        self.show_tab(self.sequences_tab)
        self.sequences_tab.set_busy(True, "Preparing the demo data…")
        self.data_runner.start(write_demo_task, str(demo_folder()))

    def _open_demo_files(self, files: dict) -> None:
        cfg = DataConfig(kind="fasta", fasta=str(files["bound"]), background=str(files["background"]))
        self.sequences_tab.set_data_config(cfg)
        self.predict_tab.file_picker.set_path(str(files["predict_me"]), emit=False)
        self.open_data(cfg)

    # ---- training -------------------------------------------------------------------------------------------
    def runs_folder(self) -> Path:
        """Where new runs go: ``runs/`` beside the project file, else the user data folder's ``runs/``."""
        folder = self._project.runs_folder() or paths.data_dir() / "runs"
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    @Slot()
    def start_training(self) -> None:
        """Train the Model tab's network on the opened sequences, or the autoencoder → classifier on the Scans
        tab's cohort when that is the Model tab's choice (Ctrl+R)."""
        self._build_tabs()
        if self._training_busy():
            return
        if self.model_tab.is_scans():
            self.scans_tab.request_training()
            return
        data, data_cfg = self.sequences_tab.current_data()
        if data is None:
            self.show_tab(self.sequences_tab)
            self.show_error("No sequences yet", "Open sequences first (Sequences tab, or Help ▸ Open demo data), "
                                                "then start training.")
            return
        if data.task == "none":
            self.show_error("No labels", "These sequences have no labels to learn from. Open bound + background "
                                         "files, a FASTA with labels in the headers, or a table with a label column.")
            return
        arch = self.model_tab.architecture()
        stamp = time.strftime("%Y%m%d-%H%M%S")
        name = f"{arch}-{stamp}"
        out = self.runs_folder() / name
        n = 2
        while out.exists():
            out = self.runs_folder() / f"{name}-{n}"
            n += 1
        try:
            cfg = self.model_tab.run_config(data_cfg, name=out.name)
        except BioDeepError as exc:
            self.show_tab(self.model_tab)
            self.show_error("Invalid settings", str(exc))
            return
        spec = ARCHITECTURES[arch]
        self._training_device = cfg.train.device if spec.kind == "torch" else "cpu"
        what = (f"{spec.label}, {cfg.train.epochs} epochs, batch {cfg.train.batch_size}, on "
                f"{self._device_text(self._training_device)}" if spec.kind == "torch" else spec.label)
        self.training_tab.begin(out.name, cfg.train.epochs if spec.kind == "torch" else 1, what)
        self.show_tab(self.training_tab)
        self._run_dir = out
        self.train_runner.start(train_run, cfg, out, data=data)
        self._update_device_label()

    @Slot()
    def stop_training(self) -> None:
        """Ask the running training (sequences or scans) to stop after the current batch (Esc, Ctrl+.)."""
        for runner in (self.train_runner, self.scans_runner):
            if runner.is_running():
                self.training_tab.set_stopping()
                runner.cancel()

    @Slot(object)
    def _on_training_finished(self, summary: Any) -> None:
        self.training_tab.finish(summary)
        self._update_device_label()
        if summary is not None and getattr(summary, "run_dir", ""):
            try:
                run = load_run(summary.run_dir)
            except BioDeepError as exc:
                self.show_error("Run could not be read back", str(exc))
                return
            self.add_run(run, show=True)

    def _training_busy(self) -> bool:
        """Whether a training (sequences or scans) runs; if so, say so in the status bar."""
        busy = self.train_runner.is_running() or self.scans_runner.is_running()
        if busy:
            self.statusBar().showMessage("A training is running: stop it first (Esc) or wait for it to finish.", 8000)
        return busy

    # ---- brain scans ---------------------------------------------------------------------------------------
    @Slot(object, str)
    def start_scans_training(self, data_cfg: Any, out_dir: str = "") -> None:
        """Cross-validate autoencoder → classifier on the Scans tab's cohort with the Model tab's settings;
        progress and curves in Training, live reconstructions in Reconstructions."""
        from biodeep_gui.core.common.fileio import check_output_path
        from biodeep_gui.core.scans.pipeline import train_scans
        from biodeep_gui.gui.tabs.model_tab import SCANS_ARCH

        self._build_tabs()
        if self._training_busy():
            return
        if self.scans_tab.cohort is None:
            self.show_tab(self.scans_tab)
            self.show_error("No cohort yet", "Load a cohort in the Scans tab first (or click Demo cohort): its audit "
                                             "shows problems before any training starts.")
            return
        self.model_tab.set_architecture(SCANS_ARCH)
        out = Path(out_dir) if out_dir else self.runs_folder() / f"scans-{time.strftime('%Y%m%d-%H%M%S')}"
        try:
            cfg = self.model_tab.scans_config(data_cfg, name=out.name)
            d = cfg.data  # the one output rule of the CLI: never an input, a run or a folder of other files
            check_output_path(out, [d.images, d.labels, d.mask, d.atlas, d.timeseries], "run", setting="Run folder")
        except BioDeepError as exc:  # the cohort (Scans tab) or the settings (Model tab): the message says which
            self.show_error("Cannot start brain-scan training", str(exc))
            return
        self._scans_cfg = cfg
        self._training_device = cfg.train.device
        folds = "leave-one-site-out" if cfg.cv.leave_site_out else f"{cfg.cv.folds}-fold"
        self.training_tab.begin(out.name, cfg.train.epochs, f"autoencoder → classifier, {folds} cross-validation, "
                                f"on {self._device_text(cfg.train.device)}", unit="scans")
        self.show_tab(self.training_tab)
        self.statusBar().showMessage(f"Training on brain scans; the run goes to {out}", 10_000)
        self.scans_runner.start(train_scans, cfg, out)
        self._update_device_label()

    @Slot(object)
    def _on_scans_items(self, items: list) -> None:
        """Relay a scans run's reports to the Training tab; each fold's phase starts fresh curves."""
        from biodeep_gui.core.scans.reports import FoldReport

        batch: list = []
        for item in items:
            if isinstance(item, FoldReport):
                self.training_tab.add_items(batch)
                batch = []
                t = self._scans_cfg.train
                self.training_tab.begin_phase(item.message, t.cnn_epochs if item.phase == "cnn" else t.epochs,
                                              curves=item.phase != "classifier")
            else:
                batch.append(item)
        self.training_tab.add_items(batch)

    @Slot(object)
    def _on_cohort_loaded(self, _cohort: Any) -> None:
        grid = self.scans_tab.grid_shape()
        if grid is not None:
            self.model_tab.set_scans_grid(grid)

    @Slot(str)
    def _show_status_message(self, text: str) -> None:
        self.statusBar().showMessage(text, 10_000)

    @Slot(object)
    def _on_scans_finished(self, summary: Any) -> None:
        self.training_tab.finish_scans(summary)
        self._update_device_label()
        done = getattr(summary, "run_dir", "")
        self.statusBar().showMessage(f"Brain-scan run saved in {done}" if done else "Brain-scan training stopped",
                                     10_000)
        if done and not summary.cancelled:
            self.show_tab(self.reconstructions_tab)  # per-fold results, ROC, reconstructions

    @Slot(str, str)
    def _on_scans_failed(self, message: str, details: str) -> None:
        self.training_tab.fail(message)
        self._update_device_label()
        if not self._closing:
            self.show_error("Brain-scan training failed", f"Training stopped: {message}", details)

    @Slot(str, str)
    def _on_training_failed(self, message: str, details: str) -> None:
        self.training_tab.fail(message)
        self._update_device_label()
        kept = ""
        if self._run_dir is not None and (self._run_dir / RUN_FILE).exists():
            kept = f"\n\nThe last checkpoint (best epoch so far) is kept in {self._run_dir}."
            self.training_tab.log_message(f"The last checkpoint is kept in {self._run_dir}")
        if not self._closing:
            self.show_error("Training failed", f"Training stopped: {message}{kept}", details)

    # ---- runs ----------------------------------------------------------------------------------------------
    def runs(self) -> list[Run]:
        """Every run of this session: trained here, opened, or listed in the project."""
        return list(self._runs)

    def add_run(self, run: Run, show: bool = True) -> None:
        """Add (or refresh) a run in the session list; show it in Results and Predict."""
        self._runs = [r for r in self._runs if Path(r.path) != Path(run.path)] + [run]
        self.compare_tab.set_runs(self._runs)
        if str(run.path) not in self._project.runs:
            self._project.runs.append(str(run.path))
        if show:
            self.show_run(run)

    def show_run(self, run: Run | None) -> None:
        """Make ``run`` the current run of Results, Filters, Mutation map and Predict (None: no run)."""
        self._build_tabs()
        if run is None:
            self.results_tab.clear()
        else:
            self.results_tab.show_run(run)
        data = self._data_of(run)
        self.filters_tab.set_run(run, data)
        self.mutation_tab.set_run(run, data)
        self.predict_tab.set_run(run)

    def _data_of(self, run: Run | None):
        """The opened sequences if ``run`` was trained on these very files at this length, else None (the
        interpretation tabs then read the run's own data files)."""
        data, cfg = self.sequences_tab.current_data()
        if run is None or data is None or cfg is None:
            return None
        same_files = [str(Path(p)) for p in run.config.data.input_files()] == [str(Path(p)) for p in cfg.input_files()]
        return data if same_files and data.length == run.info.length else None

    @Slot(int)
    def _show_filter(self, index: int) -> None:
        self.filters_tab.select_filter(index)
        self.show_tab(self.filters_tab)

    def open_run(self, path: str | Path) -> Run | None:
        """Open a run folder: added to the session, shown in Results. A readable message if it is not a run."""
        self._build_tabs()
        if _is_scans_run(path):
            try:
                self.reconstructions_tab.load_run(path)
            except BioDeepError as exc:
                self.show_error("Cannot open this run", str(exc))
                return None
            cfg = self.reconstructions_tab.run.config  # its settings, ready to train again or to adjust
            self.scans_tab.set_data_config(cfg.data)
            self.model_tab.set_scans_config(cfg)
            self.show_tab(self.reconstructions_tab)
            return None
        try:
            run = load_run(path)
        except BioDeepError as exc:
            self.show_error("Cannot open this run", str(exc))
            return None
        self.add_run(run, show=True)
        self.show_tab(self.results_tab)
        return run

    def ask_open_run(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open a run folder", self._folder("run", self.runs_folder()))
        if path:
            self._remember_folder("run", Path(path).parent)
            self.open_run(path)

    def save_run_as(self, dest: str | Path) -> Path | None:
        """Copy the run shown in Results to the new folder ``dest``; the copy is opened in its place."""
        self._build_tabs()
        run = self.results_tab.current_run()
        if run is None:
            self.show_error("No run", "Train a model or open a run first; Save run as copies the run shown in Results.")
            return None
        dest = Path(dest)
        if dest.exists():
            self.show_error("Folder exists", f"{dest} already exists; choose a new folder name.")
            return None
        try:
            shutil.copytree(run.path, dest)
        except OSError as exc:
            self.show_error("Run not saved", f"{dest}: the run could not be copied ({exc.strerror or exc}).")
            return None
        self.statusBar().showMessage(f"Run saved as {dest}", 5000)
        return dest

    def ask_save_run_as(self) -> None:
        run = self.results_tab.current_run()
        if run is None:
            self.show_error("No run", "Train a model or open a run first.")
            return
        start = str(Path(self._folder("run", Path(run.path).parent)) / f"{run.path.name}-copy")
        path, _ = QFileDialog.getSaveFileName(self, "Save run as (a new folder)", start, "Run folder (*)")
        if path:
            self._remember_folder("run", Path(path).parent)
            self.save_run_as(path)

    @Slot(str)
    def _on_compare_selected(self, run_dir: str) -> None:
        for run in self._runs:
            if str(run.path) == run_dir:
                self.show_run(run)
                return

    # ---- predict --------------------------------------------------------------------------------------------
    @Slot(str)
    def predict_file(self, path: str) -> None:
        self._build_tabs()
        run = self.predict_tab.current_run()
        if run is None or self.predict_runner.is_running():
            return
        self.predict_tab.set_busy(True, f"Scoring {Path(path).name}…")
        self.predict_runner.call(predict_task, run, path)

    @Slot(object)
    def _on_predicted(self, p: Predictions) -> None:
        self.predict_tab.show_predictions(p.ids, p.scores, p.columns)

    @Slot(str, str)
    def _on_predict_failed(self, message: str, details: str) -> None:
        self.predict_tab.show_error(message)

    # ---- figures --------------------------------------------------------------------------------------------
    def ask_export_figure(self) -> None:
        self._build_tabs()
        tab = self.current_tab()
        if not hasattr(tab, "export_figure"):
            self.show_error("No figure here", "Switch to the Training, Results or Compare tab to export its plot.")
            return
        name = self.tabs.tabText(self.tabs.currentIndex()).lower()
        run = self.results_tab.current_run()
        start = str(Path(self._folder("export")) / f"{name}{'-' + run.path.name if run else ''}.png")
        from biodeep_gui.gui.widgets.plots import EXPORT_FORMATS

        path, chosen = QFileDialog.getSaveFileName(self, "Export figure", start, EXPORT_FORMATS)
        if not path:
            return
        if not Path(path).suffix:
            path += ".svg" if "svg" in chosen.lower() else ".png"
        self._remember_folder("export", Path(path).parent)
        try:
            tab.export_figure(path)
        except (OSError, ValueError) as exc:
            self.show_error("Figure not saved", str(exc))
            return
        self.statusBar().showMessage(f"Figure saved as {path}", 5000)

    # ---- projects -------------------------------------------------------------------------------------------
    def project(self) -> Project:
        """The project as it stands: current data settings, runs and model / training settings."""
        self._build_tabs()
        p = self._project
        _, loaded_cfg = self.sequences_tab.current_data()
        p.data = dataclasses.asdict(loaded_cfg or self.sequences_tab.data_config())
        p.runs = [str(r.path) for r in self._runs]
        p.model = dataclasses.asdict(self.model_tab.model_config())
        p.train = dataclasses.asdict(self.model_tab.train_config())
        return p

    def save_project(self) -> Path | None:
        """Save to the project's file (Ctrl+S), asking for a name the first time."""
        if not self._project.path:
            return self.ask_save_project_as()
        return self.save_project_as(self._project.path)

    def save_project_as(self, path: str | Path) -> Path | None:
        path = Path(path)
        if not path.name.endswith((PROJECT_SUFFIX, ".json")):
            path = path.with_name(path.name + PROJECT_SUFFIX)
        p = self.project()
        if not p.path or p.name == "Untitled project":
            p.name = path.name.removesuffix(PROJECT_SUFFIX).removesuffix(".json")
        try:
            written = save_project(p, path)
        except OSError as exc:
            self.show_error("Project not saved", f"{path}: {exc.strerror or exc}")
            return None
        self._add_recent(written)
        self._update_title()
        self.statusBar().showMessage(f"Project saved: {written}", 5000)
        return written

    def ask_save_project_as(self) -> Path | None:
        start = str(Path(self._folder("project")) / f"{self._project.name.replace(' ', '_')}{PROJECT_SUFFIX}")
        path, _ = QFileDialog.getSaveFileName(self, "Save project", start, PROJECT_FILTER)
        if not path:
            return None
        self._remember_folder("project", Path(path).parent)
        return self.save_project_as(path)

    def ask_open_project(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open project", self._folder("project"), PROJECT_FILTER)
        if path:
            self._remember_folder("project", Path(path).parent)
            self.open_project(path)

    def open_project(self, path: str | Path) -> bool:
        """Open a project: settings, runs and data. Files that moved are asked for instead of failing."""
        self._build_tabs()
        try:
            project = load_project(path)
        except BioDeepError as exc:
            self.show_error("Cannot open project", str(exc))
            return False
        data_paths = {project.data.get(k) for k in ("fasta", "background", "table", "bed", "genome", "test_file")}
        asked: set[str] = set()
        while True:
            missing = [m for m in missing_files(project) if m in data_paths and m not in asked]
            if not missing:
                break
            old = missing[0]
            asked.add(old)
            new = self.ask_moved_file(old)
            if not new:
                continue
            new_p, old_p = Path(new), Path(old)
            # the rest of the folder probably moved along: fix the siblings too
            if new_p.name == old_p.name:
                relocate(project, old_p.parent, new_p.parent)
            else:
                relocate(project, old, new)
            data_paths = {project.data.get(k) for k in ("fasta", "background", "table", "bed", "genome", "test_file")}
        self._project = project
        self._update_title()
        self._add_recent(Path(project.path))
        self.model_tab.set_model_config(project.model_config())
        self.model_tab.set_train_config(project.train_config())
        cfg = project.data_config()
        self.sequences_tab.set_data_config(cfg)
        problems, runs = [], []
        for r in project.runs:
            try:
                runs.append(load_run(r))
            except BioDeepError as exc:
                problems.append(str(exc))
        self._runs = []
        for run in runs:
            self.add_run(run, show=False)
        self.compare_tab.set_runs(self._runs)
        self.show_run(self._runs[-1] if self._runs else None)
        still = [m for m in missing_files(project) if m in data_paths]
        if still:
            problems.insert(0, "Data files not found: " + ", ".join(still) + ". Choose them in the Sequences tab.")
        elif cfg.input_files():
            self.open_data(cfg)
        if problems:
            self.show_error("Project opened with problems", "\n\n".join(problems))
        self.show_tab(self.sequences_tab)
        return True

    def ask_moved_file(self, old: str) -> str:
        """Ask the user where a data file of the project is now ('' if they cancel)."""
        name = Path(old).name
        path, _ = QFileDialog.getOpenFileName(self, f"Where is {name} now? (it was in {Path(old).parent})",
                                              self._folder("data"), f"{name} (*{Path(name).suffix});;All files (*)")
        return path

    def _update_title(self) -> None:
        name = self._project.name if self._project.path else ""
        self.setWindowTitle(f"{name} — {APP_NAME}" if name else APP_NAME)

    # ---- recent projects and folders ------------------------------------------------------------------------
    def recent_projects(self) -> list[str]:
        value = QSettings().value("recent/projects", [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in (value or [])]

    def _add_recent(self, path: Path) -> None:
        items = [str(path)] + [p for p in self.recent_projects() if p != str(path)]
        QSettings().setValue("recent/projects", items[:MAX_RECENT])

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        recent = self.recent_projects()
        for p in recent:
            act = self.recent_menu.addAction(Path(p).name.removesuffix(PROJECT_SUFFIX))
            act.setToolTip(p)
            act.setStatusTip(p)
            act.setEnabled(Path(p).exists())
            act.setData(p)
            act.triggered.connect(self._open_recent)
        if not recent:
            self.recent_menu.addAction("(none yet)").setEnabled(False)

    @Slot()
    def _open_recent(self) -> None:
        act = self.sender()
        if isinstance(act, QAction) and act.data():
            self.open_project(str(act.data()))

    def _folder(self, kind: str, default: Path | None = None) -> str:
        value = QSettings().value(f"folders/{kind}", "")
        if value and Path(str(value)).is_dir():
            return str(value)
        return str(default or Path.home())

    def _remember_folder(self, kind: str, folder: Path) -> None:
        QSettings().setValue(f"folders/{kind}", str(folder))

    # ---- settings, dialogs, closing -------------------------------------------------------------------------
    def _restore_geometry(self) -> None:
        s = QSettings()
        geometry = s.value("window/geometry")
        if geometry is None or not self.restoreGeometry(geometry):
            screen = QGuiApplication.primaryScreen()
            avail = screen.availableGeometry() if screen else None
            w, h = 1280, 860
            if avail is not None:
                w, h = min(w, int(avail.width() * 0.95)), min(h, int(avail.height() * 0.9))
            self.resize(w, h)
        state = s.value("window/state")
        if state is not None:
            self.restoreState(state)

    def save_settings(self) -> None:
        s = QSettings()
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/state", self.saveState())
        if self._ready:
            self.model_tab.save_settings(s)
        s.sync()

    def show_error(self, title: str, message: str, details: str = "") -> QMessageBox:
        """A warning that does not block the event loop (training and redraws go on behind it)."""
        box = QMessageBox(QMessageBox.Icon.Warning, title, message, QMessageBox.StandardButton.Ok, self)
        if details:
            box.setDetailedText(details)
        return self._open_box(box)

    def _open_box(self, box: QMessageBox) -> QMessageBox:
        """Show a message box without blocking the event loop; it is listed in ``open_dialogs`` until closed."""
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.finished.connect(self._dialog_closed)
        self._dialogs.append(box)
        box.open()
        return box

    @Slot()
    def _dialog_closed(self) -> None:
        self._dialogs = [d for d in self._dialogs if d is not self.sender()]

    def open_dialogs(self) -> list[QMessageBox]:
        """Message boxes shown by ``show_error``/``show_about`` and not yet closed."""
        return list(self._dialogs)

    def show_about(self) -> QMessageBox:
        rows = "".join(f"<tr><td>{k}</td><td>&nbsp;&nbsp;{v}</td></tr>" for k, v in versions().items())
        box = QMessageBox(QMessageBox.Icon.Information, f"About {APP_NAME}",
                          f"<h3>{APP_NAME} {__version__}</h3><p>Deep learning for biologists: train and read "
                          f"networks on DNA sequences without code.</p><table>{rows}</table>"
                          f"<p>Data and runs are kept in {paths.data_dir()}</p>",
                          QMessageBox.StandardButton.Ok, self)
        box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        box.setEscapeButton(QMessageBox.StandardButton.Ok)  # Esc and the title bar close it, even with 2 buttons
        copy = box.addButton("Copy versions", QMessageBox.ButtonRole.ActionRole)
        copy.clicked.disconnect()  # keep the box open after copying
        copy.clicked.connect(self._copy_versions)
        return self._open_box(box)

    @Slot()
    def _copy_versions(self) -> None:
        QApplication.clipboard().setText("\n".join(f"{k}: {v}" for k, v in versions().items()))

    def is_busy(self) -> bool:
        """Whether any task (loading, training, predicting, inspecting the model) is running."""
        return any(r.is_running() for r in self._runners()) or (self._ready and any(
            t.is_busy() for t in (self.model_tab, self.filters_tab, self.mutation_tab)))

    def _runners(self) -> list[TaskRunner]:
        return [self.train_runner, self.data_runner, self.predict_runner, self.scans_runner]

    def shutdown(self) -> None:
        """Cancel every task and join every worker thread (training stops within one batch)."""
        self._closing = True
        for r in self._runners():
            r.cancel()
        if self._ready:
            for tab in (self.model_tab, self.filters_tab, self.mutation_tab, self.scans_tab,
                        self.reconstructions_tab):
                tab.shutdown()
        for r in self._runners():
            r.join()

    def event(self, e: QEvent) -> bool:
        handled = super().event(e)
        if e.type() == QEvent.Type.Paint and not self._painted:
            # The first frame is on screen: now the deferred tabs can be built and, a little later, device
            # discovery (torch's import, ~1.4 s holding the GIL much of it) can start in a worker.
            self._painted = True
            if self._defer_pending:
                self._defer_pending = False
                QTimer.singleShot(0, self._build_tabs)
            QTimer.singleShot(STARTUP_DELAY_MS, self._start_background_work)
        return handled

    def showEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().showEvent(event)
        if self._defer_pending:  # should no paint come (unusual platforms), build anyway
            QTimer.singleShot(DEFER_FALLBACK_MS, self._build_tabs)

    @Slot()
    def _start_background_work(self) -> None:
        if self._closing:
            return
        if not self._ready:
            self.sigReady.connect(self._start_background_work)
            return
        self.model_tab.refresh()
        if self.interrupted_runs():
            self.offer_resume()

    # ---- resuming interrupted training ----------------------------------------------------------------------
    def interrupted_runs(self) -> list[Path]:
        """Run folders in the runs folder whose training was interrupted (crash, kill, cancel), newest first."""
        from biodeep_gui.core.sequences.pipeline import resumable

        folder = self.runs_folder()
        found = [p for p in folder.iterdir() if p.is_dir() and resumable(p)]
        return sorted(found, key=lambda p: (p / RUN_FILE).stat().st_mtime, reverse=True)

    @Slot()
    def offer_resume(self) -> QMessageBox | None:
        """Ask whether to resume the newest interrupted training (curves and history come back with it)."""
        runs = self.interrupted_runs()
        if not runs:
            return self.show_info("Nothing to resume", "No interrupted training was found in "
                                                       f"{self.runs_folder()}.")
        path = runs[0]
        try:
            run = load_run(path)
        except BioDeepError:
            return None
        done = len(run.history)
        box = QMessageBox(QMessageBox.Icon.Question, "Resume training?",
                          f"The training of {path.name} stopped after epoch {done} of {run.config.train.epochs} "
                          f"(status: {run.status}).\n\nResume it from there? Its curves and history are kept.",
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, self)
        yes = box.button(QMessageBox.StandardButton.Yes)
        yes.clicked.connect(lambda: self.resume_training(path))  # the box lives in the GUI thread
        return self._open_box(box)

    def resume_training(self, path: str | Path) -> None:
        """Go on with an interrupted run from its last checkpoint, in the training worker."""
        from biodeep_gui.core.sequences.pipeline import resume_run

        self._build_tabs()
        if self.train_runner.is_running() or self.scans_runner.is_running():
            self.show_error("Training is running", "Stop the current training before resuming another one.")
            return
        path = Path(path)
        try:
            run = load_run(path)
        except BioDeepError as exc:
            self.show_error("Cannot resume", str(exc))
            return
        self.training_tab.begin(path.name, run.config.train.epochs,
                                f"resuming {run.config.model.arch} after epoch {len(run.history)}")
        self.show_tab(self.training_tab)
        self._run_dir = path
        self._training_device = run.config.train.device
        self.train_runner.start(resume_run, path)

    def show_info(self, title: str, message: str) -> QMessageBox:
        """An information box that does not block the event loop."""
        box = self.show_error(title, message)
        box.setIcon(QMessageBox.Icon.Information)
        return box

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt API)
        if self.train_runner.is_running():
            self.training_tab.set_stopping()
            self.statusBar().showMessage("Stopping the training before closing…")
        self.save_settings()
        self.shutdown()
        for d in list(self._dialogs):
            d.close()
        event.accept()
