"""The DNA-sequence workflow of the window: open data, train, keep the runs of the session, predict, resume.

Three ``TaskRunner``s do the long work — reading sequences (or writing the demo data), training, predicting —
each over a core function (``load_data_task``, ``train_run``, ``predict_task``). Their results come back to slots
of ``SequencesController``, which passes them to the tabs. Nothing here computes science or imports torch.
"""
from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Slot
from PySide6.QtWidgets import QFileDialog, QMainWindow, QMessageBox

from biodeep_gui.core.common import paths
from biodeep_gui.core.common.errors import BioDeepError
from biodeep_gui.core.sequences.config import DataConfig
from biodeep_gui.core.sequences.models import ARCHITECTURES
from biodeep_gui.core.sequences.pipeline import train_run
from biodeep_gui.core.sequences.run import Run, load_run
from biodeep_gui.core.training.reports import StageReport
from biodeep_gui.core.training.runs import RUN_FILE
from biodeep_gui.gui.controllers import device_text
from biodeep_gui.gui.session import Session, check_save_path, choose_save_path
from biodeep_gui.gui.tabs.sequences.summary_view import cache_note
from biodeep_gui.gui.workers import TaskRunner

SEQUENCE_FILTER = ("Sequences (*.fa *.fasta *.fna *.fas *.fq *.fastq *.csv *.tsv *.txt *.bed *.narrowPeak *.gz);;"
                   "All files (*)")


def demo_folder() -> Path:
    return paths.data_dir() / "demo"


@dataclass
class LoadedData:
    """What the data-loading task hands back to the window."""

    config: DataConfig
    data: Any  # core.sequences.SequenceSet
    summary: Any  # core.summary.SequenceSummary


def load_data_task(cfg: DataConfig, seed: int = 0, *, should_stop):
    """Worker task: read the sequences a ``DataConfig`` describes and summarise them (core functions only)."""
    from biodeep_gui.core.sequences import summary
    from biodeep_gui.core.sequences.cache import wants_cache
    from biodeep_gui.core.sequences.io import load_sequences

    names = ", ".join(Path(p).name for p in cfg.input_files())
    size = sum(Path(p).stat().st_size for p in cfg.input_files() if Path(p).is_file())
    how = " through the encoded cache on disk" if wants_cache(cfg) else ""
    yield StageReport("load", f"Reading {names} ({size / 1e6:.1f} MB){how}…")
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
    overlap: dict | None = None  # pipeline.training_overlap: inputs the model was trained / validated on
    codes: Any = None  # (N, L) uint8 bases as the model read them (for the mutation map of one of them)


def predict_task(run: Run, path: str) -> Predictions:
    """Worker function: score the sequences of ``path`` with ``run`` (CPU), and count those it was trained on."""
    from biodeep_gui.core.sequences.pipeline import training_overlap
    from biodeep_gui.core.sequences.run import output_columns
    from biodeep_gui.core.sequences.tables import load_unlabelled

    ss = load_unlabelled(path, length=run.info.length)
    return Predictions(list(ss.ids), run.predict(ss.codes), output_columns(run), path,
                       training_overlap(run, ss.codes), ss.codes)


class SequencesController(QObject):
    """Sequences → Model → Training → Results / Filters / Mutation map / Predict / Compare.

    Parameters
    ----------
    window : the main window (parent); its tabs, status bar, ``build_tabs``, ``show_tab``, ``open_run``,
             ``training_busy``, ``update_device_label`` and ``closing`` are used
    session : the window's dialogs and remembered folders
    data_runner, train_runner, predict_runner : the window's runners for reading data, training and predicting
    """

    def __init__(self, window: QMainWindow, session: Session, data_runner: TaskRunner, train_runner: TaskRunner,
                 predict_runner: TaskRunner):
        super().__init__(window)
        self._w, self.session = window, session
        self.data_runner, self.train_runner, self.predict_runner = data_runner, train_runner, predict_runner
        self._runs: list[Run] = []
        self._pending_open: DataConfig | None = None
        self._run_dir: Path | None = None
        self.training_device = "cpu"
        #: where new runs go when set (``runs/`` beside the project file); else the user data folder's ``runs/``
        self.runs_home: Path | None = None
        data_runner.sigItems.connect(self._on_data_items)
        data_runner.sigFinished.connect(self._on_data_finished)
        data_runner.sigFailed.connect(self._on_data_failed)
        train_runner.sigFinished.connect(self._on_training_finished)
        train_runner.sigFailed.connect(self._on_training_failed)
        predict_runner.sigFinished.connect(self._on_predicted)
        predict_runner.sigFailed.connect(self._on_predict_failed)
        # the encoded-cache choice is the user's, like a preference: kept between sessions (a project's own
        # data settings replace it when the project is opened)
        tab = window.sequences_tab
        tab.set_cache_mode(session.data_setting("cache", tab.cache_mode()))
        tab.sigCacheModeChosen.connect(self._remember_cache_mode)

    # ---- data -----------------------------------------------------------------------------------------------
    @Slot(object)
    def open_data(self, cfg: DataConfig) -> None:
        """Load the sequences ``cfg`` describes, off the GUI thread; the Sequences tab shows the result."""
        w = self._w
        w.build_tabs()
        if self.data_runner.is_running():
            self._pending_open = cfg  # the newest request wins once the current read ends
            self.data_runner.cancel()
            return
        w.sequences_tab.set_busy(True, "Reading…")
        w.statusBar().showMessage("Reading sequences…")
        self.data_runner.start(load_data_task, cfg, w.model_tab.train_config().seed)

    @Slot(str)
    def _remember_cache_mode(self, mode: str) -> None:
        self.session.remember_data_setting("cache", mode)

    @Slot(object)
    def _on_data_items(self, items: list) -> None:
        for item in items:
            if isinstance(item, StageReport):
                if item.stage != "demo":
                    self._w.sequences_tab.set_busy(True, item.message)
                self._w.statusBar().showMessage(item.message)

    @Slot(object)
    def _on_data_finished(self, result: Any) -> None:
        w = self._w
        w.build_tabs()
        if isinstance(result, dict):  # the demo files were written: open the bound / background pair
            self._open_demo_files(result)
            return
        pending, self._pending_open = self._pending_open, None
        if pending is not None:
            self.open_data(pending)
            return
        w.sequences_tab.set_busy(False)
        w.statusBar().clearMessage()
        if not isinstance(result, LoadedData):
            return
        w.sequences_tab.show_data(result.data, result.config, result.summary)
        d = result.data
        w.model_tab.set_data_shape(d.length, d.n_outputs, d.task, d.label_names, d.class_names)
        note = cache_note(result.data)
        w.statusBar().showMessage(f"Opened {len(result.data):,} sequences" + (f"; {note}" if note else ""), 10_000)

    @Slot(str, str)
    def _on_data_failed(self, message: str, details: str) -> None:
        pending, self._pending_open = self._pending_open, None
        if pending is not None:
            self.open_data(pending)
            return
        self._w.statusBar().clearMessage()
        self._w.sequences_tab.show_error(message)
        self._w.show_tab(self._w.sequences_tab)

    @Slot()
    def ask_open_sequences(self) -> None:
        tab = self._w.sequences_tab
        files, _ = QFileDialog.getOpenFileNames(self._w, "Open sequences", self.session.folder("data"),
                                                SEQUENCE_FILTER)
        if not files:
            return
        self.session.remember_folder("data", Path(files[0]).parent)
        self._w.show_tab(tab)
        tab.add_files(files)
        if not tab.problem_text() and tab.open_button.isEnabled():
            tab.open_button.click()  # same checks as the button: a problem is shown, not loaded

    @Slot()
    def open_demo(self) -> None:
        """Write the synthetic demo data (once) to the user data folder and open bound.fa + background.fa."""
        w = self._w
        w.build_tabs()
        if self.data_runner.is_running():
            w.statusBar().showMessage("Still reading the previous files; try again in a moment.", 5000)
            return
        w.show_tab(w.sequences_tab)
        w.sequences_tab.set_busy(True, "Preparing the demo data…")
        self.data_runner.start(write_demo_task, str(demo_folder()))

    def _open_demo_files(self, files: dict) -> None:
        cfg = DataConfig(kind="fasta", fasta=str(files["bound"]), background=str(files["background"]),
                         cache=self._w.sequences_tab.cache_mode())
        self._w.sequences_tab.set_data_config(cfg)
        self._w.predict_tab.file_picker.set_path(str(files["predict_me"]), emit=False)
        self.open_data(cfg)

    # ---- the encoded cache ----------------------------------------------------------------------------------
    def _open_cache_folder(self) -> Path | None:
        """The encoded-cache folder of the sequences open now (memory-mapped: never deleted), if they are cached."""
        data, _cfg = self._w.sequences_tab.current_data()
        folder = getattr(data, "cache_dir", None)
        return Path(folder) if folder is not None else None

    def _cache_busy(self) -> bool:
        """Whether sequences are being read or a training runs (it may read a set opened before the one shown)."""
        return self.data_runner.is_running() or self._w.training_busy(say=False)

    def _say_cache_busy(self) -> QMessageBox:
        return self.session.show_info("Encoded cache in use", "Sequences are being read or a training is running: "
                                                              "clear the encoded cache once it ends.")

    @Slot()
    def ask_clear_cache(self) -> QMessageBox:
        """File ▸ Clear encoded cache…: say how much disk the encoded sets take, and delete them if the user agrees."""
        from biodeep_gui.core.common.devices import format_bytes
        from biodeep_gui.core.common.words import count_words
        from biodeep_gui.core.sequences.cache import default_root
        from biodeep_gui.core.sequences.cache_folders import cache_folders

        if self._cache_busy():
            return self._say_cache_busy()
        keep = self._open_cache_folder()
        folders = [(p, n) for p, n in cache_folders() if keep is None or p.resolve() != keep.resolve()]
        kept = " The set open in the Sequences tab is kept." if keep is not None else ""
        if not folders:
            return self.session.show_info("Encoded cache is empty", f"No encoded sequences to delete in "
                                                                    f"{default_root()}.{kept}")
        box = self.session.ask("Clear encoded cache?",
                               f"Delete {count_words(len(folders), 'encoded set')} in {default_root()}? This frees "
                               f"{format_bytes(sum(n for _p, n in folders))} of disk.\n\nYour sequence files are not "
                               f"touched: a later run encodes them again when it needs to.{kept}")
        box.button(QMessageBox.StandardButton.Yes).clicked.connect(self.clear_cache)
        return box

    @Slot()
    def clear_cache(self) -> None:
        """Delete the encoded sets but the one open now; the freed space is said in the status bar."""
        from biodeep_gui.core.common.devices import format_bytes
        from biodeep_gui.core.sequences.cache_folders import clear_cache

        if self._cache_busy():  # the question does not block: a read or a training may have started since
            self._say_cache_busy()
            return
        freed, problems = clear_cache(keep=[self._open_cache_folder()])
        self._w.statusBar().showMessage(f"Encoded cache cleared: {format_bytes(freed)} freed", 10_000)
        if problems:
            self.session.show_error("Encoded cache not fully cleared", "\n".join(problems))

    # ---- training -------------------------------------------------------------------------------------------
    def runs_folder(self) -> Path:
        """Where new runs go: ``runs_home`` (``runs/`` beside the project file), else the user data folder's."""
        folder = self.runs_home or paths.data_dir() / "runs"
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    @Slot()
    def start_training(self) -> None:
        """Train the Model tab's network on the opened sequences, into a new folder of ``runs_folder``."""
        w = self._w
        w.build_tabs()
        if w.training_busy():
            return
        data, data_cfg = w.sequences_tab.current_data()
        if data is None:
            w.show_tab(w.sequences_tab)
            self.session.show_error("No sequences yet", "Open sequences first (Sequences tab, or Help ▸ Open demo "
                                                        "data), then start training.")
            return
        if data.task == "none":
            self.session.show_error("No labels", "These sequences have no labels to learn from. Open bound + "
                                                 "background files, a FASTA with labels in the headers, or a table "
                                                 "with a label column.")
            return
        arch = w.model_tab.architecture()
        name = f"{arch}-{time.strftime('%Y%m%d-%H%M%S')}"
        out, n = self.runs_folder() / name, 2
        while out.exists():
            out = self.runs_folder() / f"{name}-{n}"
            n += 1
        try:
            cfg = w.model_tab.run_config(data_cfg, name=out.name)
        except BioDeepError as exc:
            w.show_tab(w.model_tab)
            self.session.show_error("Invalid settings", str(exc))
            return
        d = cfg.data  # the one output rule of the CLI: never an input, inside a run or a folder of other files
        if check_save_path(w, out, "Run folder", kind="run", refuse=self.session.refuse,
                           inputs=[d.fasta, d.background, d.table, d.bed, d.genome, d.test_file]) is None:
            return
        spec = ARCHITECTURES[arch]
        self.training_device = cfg.train.device if spec.kind == "torch" else "cpu"
        what = (f"{spec.label}, {cfg.train.epochs} epochs, batch {cfg.train.batch_size}, on "
                f"{device_text(w.model_tab, self.training_device)}" if spec.kind == "torch" else spec.label)
        w.training_tab.begin(out.name, cfg.train.epochs if spec.kind == "torch" else 1, what)
        w.show_tab(w.training_tab)
        self._run_dir = out
        self.train_runner.start(train_run, cfg, out, data=data)
        w.update_device_label()

    @Slot(object)
    def _on_training_finished(self, summary: Any) -> None:
        self._w.training_tab.finish(summary)
        self._w.update_device_label()
        if summary is not None and getattr(summary, "run_dir", ""):
            try:
                run = load_run(summary.run_dir)
            except BioDeepError as exc:
                self.session.show_error("Run could not be read back", str(exc))
                return
            self.add_run(run, show=True)

    @Slot(str, str)
    def _on_training_failed(self, message: str, details: str) -> None:
        self._w.training_tab.fail(message)
        self._w.update_device_label()
        kept = ""
        if self._run_dir is not None and (self._run_dir / RUN_FILE).exists():
            kept = f"\n\nThe last checkpoint (best epoch so far) is kept in {self._run_dir}."
            self._w.training_tab.log_message(f"The last checkpoint is kept in {self._run_dir}")
        if not self._w.closing:
            self.session.show_error("Training failed", f"Training stopped: {message}{kept}", details)

    # ---- resuming interrupted training ----------------------------------------------------------------------
    def interrupted_runs(self) -> list[Path]:
        """Run folders in the runs folder whose training was interrupted (crash, kill, cancel), newest first."""
        from biodeep_gui.core.sequences.pipeline import resumable

        found = [p for p in self.runs_folder().iterdir() if p.is_dir() and resumable(p)]
        return sorted(found, key=lambda p: (p / RUN_FILE).stat().st_mtime, reverse=True)

    @Slot()
    def offer_resume(self) -> QMessageBox | None:
        """Ask whether to resume the newest interrupted training (curves and history come back with it)."""
        runs = self.interrupted_runs()
        if not runs:
            return self.session.show_info("Nothing to resume", "No interrupted training was found in "
                                                               f"{self.runs_folder()}.")
        path = runs[0]
        try:
            run = load_run(path)
        except BioDeepError:
            return None
        box = self.session.ask("Resume training?",
                               f"The training of {path.name} stopped after epoch {len(run.history)} of "
                               f"{run.config.train.epochs} (status: {run.status}).\n\nResume it from there? Its "
                               "curves and history are kept.")
        # the box lives in the GUI thread: a lambda is safe here (no worker signal)
        box.button(QMessageBox.StandardButton.Yes).clicked.connect(lambda: self.resume_training(path))
        return box

    def resume_training(self, path: str | Path) -> None:
        """Go on with an interrupted run from its last checkpoint, in the training worker."""
        from biodeep_gui.core.sequences.pipeline import resume_run

        w = self._w
        w.build_tabs()
        if w.training_busy(say=False):
            self.session.show_error("Training is running", "Stop the current training before resuming another one.")
            return
        path = Path(path)
        try:
            run = load_run(path)
        except BioDeepError as exc:
            self.session.show_error("Cannot resume", str(exc))
            return
        w.training_tab.begin(path.name, run.config.train.epochs,
                             f"resuming {run.config.model.arch} after epoch {len(run.history)}")
        w.show_tab(w.training_tab)
        self._run_dir = path
        self.training_device = run.config.train.device
        self.train_runner.start(resume_run, path)

    # ---- runs ----------------------------------------------------------------------------------------------
    def runs(self) -> list[Run]:
        """Every run of this session: trained here, opened, or listed in the project."""
        return list(self._runs)

    def set_runs(self, runs: list[Run]) -> None:
        """Replace the session's runs (a project was opened); the newest is shown."""
        self._runs = []
        for run in runs:
            self.add_run(run, show=False)
        self._w.compare_tab.set_runs(self._runs)
        self.show_run(self._runs[-1] if self._runs else None)

    def add_run(self, run: Run, show: bool = True) -> None:
        """Add (or refresh) a run in the session list; show it in Results and Predict."""
        self._runs = [r for r in self._runs if Path(r.path) != Path(run.path)] + [run]
        self._w.compare_tab.set_runs(self._runs)
        if show:
            self.show_run(run)

    def show_run(self, run: Run | None) -> None:
        """Make ``run`` the current run of Results, Filters, Mutation map and Predict (None: no run)."""
        w = self._w
        w.build_tabs()
        if run is None:
            w.results_tab.clear()
        else:
            w.results_tab.show_run(run)
        data = self._data_of(run)
        w.filters_tab.set_run(run, data)
        w.mutation_tab.set_run(run, data)
        w.predict_tab.set_run(run)
        w.variants_tab.set_run(run)
        w.discovery_tab.set_run(run)

    def _data_of(self, run: Run | None):
        """The opened sequences if ``run`` was trained on these very files at this length, else None (the
        interpretation tabs then read the run's own data files)."""
        data, cfg = self._w.sequences_tab.current_data()
        if run is None or data is None or cfg is None:
            return None
        same_files = [str(Path(p)) for p in run.config.data.input_files()] == [str(Path(p)) for p in cfg.input_files()]
        return data if same_files and data.length == run.info.length else None

    @Slot(str)
    def run_renamed(self, run_dir: str) -> None:
        """Take the renamed run (reloaded by Compare) into the session; the tabs showing it show its new name."""
        renamed = [r for r in self._w.compare_tab.runs() if str(r.path) == run_dir]
        if not renamed:
            return
        self._runs = [renamed[0] if str(r.path) == run_dir else r for r in self._runs]
        shown = self._w.results_tab.current_run()
        if shown is not None and str(shown.path) == run_dir:
            self.show_run(renamed[0])

    @Slot(str)
    def show_run_of(self, run_dir: str) -> None:
        """Show the session's run kept in ``run_dir`` (a row picked in Compare)."""
        for run in self._runs:
            if str(run.path) == run_dir:
                self.show_run(run)
                return

    @Slot(int)
    def show_filter(self, index: int) -> None:
        self._w.filters_tab.select_filter(index)
        self._w.show_tab(self._w.filters_tab)

    def open_run(self, path: str | Path) -> Run | None:
        """Open a sequence run folder: added to the session, shown in Results. A readable message if it is not."""
        self._w.build_tabs()
        try:
            run = load_run(path)
        except BioDeepError as exc:
            self.session.show_error("Cannot open this run", str(exc))
            return None
        self.add_run(run, show=True)
        self._w.show_tab(self._w.results_tab)
        return run

    @Slot()
    def ask_open_run(self) -> None:
        """File ▸ Open run: the window opens the folder chosen (a sequence run here, a scans run in its own tab)."""
        path = QFileDialog.getExistingDirectory(self._w, "Open a run folder",
                                                self.session.folder("run", self.runs_folder()))
        if path:
            self.session.remember_folder("run", Path(path).parent)
            self._w.open_run(path)

    def save_run_as(self, dest: str | Path) -> Path | None:
        """Copy the run shown in Results to the new folder ``dest``; the copy is opened in its place."""
        self._w.build_tabs()
        run = self._w.results_tab.current_run()
        if run is None:
            self.session.show_error("No run", "Train a model or open a run first; Save run as copies the run shown "
                                              "in Results.")
            return None
        dest = Path(dest)
        if dest.exists():
            self.session.show_error("Folder exists", f"{dest} already exists; choose a new folder name.")
            return None
        try:
            shutil.copytree(run.path, dest)
        except OSError as exc:
            self.session.show_error("Run not saved", f"{dest}: the run could not be copied ({exc.strerror or exc}).")
            return None
        self._w.statusBar().showMessage(f"Run saved as {dest}", 5000)
        return dest

    @Slot()
    def ask_save_run_as(self) -> None:
        run = self._w.results_tab.current_run()
        if run is None:
            self.session.show_error("No run", "Train a model or open a run first.")
            return
        start = str(Path(self.session.folder("run", Path(run.path).parent)) / f"{run.path.name}-copy")
        path = choose_save_path(self._w, "Save run as (a new folder)", start, kind="run",
                                inputs=[*self.session.inputs(), str(run.path)], refuse=self.session.refuse)
        if path is not None:
            self.session.remember_folder("run", Path(path).parent)
            self.save_run_as(path)

    # ---- predict --------------------------------------------------------------------------------------------
    @Slot(str)
    def predict_file(self, path: str) -> None:
        self._w.build_tabs()
        run = self._w.predict_tab.current_run()
        if run is None or self.predict_runner.is_running():
            return
        self._w.predict_tab.set_busy(True, f"Scoring {Path(path).name}…")
        self.predict_runner.call(predict_task, run, path)

    @Slot(object)
    def _on_predicted(self, p: Predictions) -> None:
        self._w.predict_tab.show_predictions(p.ids, p.scores, p.columns, p.overlap, p.codes)

    @Slot(str, str)
    def open_in_mutation_map(self, record_id: str, bases: str) -> None:
        """A scored sequence (Predict) opened in the Mutation map tab and mapped right away."""
        w = self._w
        w.show_tab(w.mutation_tab)
        w.mutation_tab.map_sequence(bases)

    @Slot(str, str)
    def _on_predict_failed(self, message: str, details: str) -> None:
        self._w.predict_tab.show_error(message)
