"""The brain-scans workflow of the window: train autoencoder → classifier on the Scans tab's cohort, open runs.

One ``TaskRunner`` iterates ``core.scans.pipeline.train_scans``; its items feed the Training tab (curves, one
phase per fold) and the Reconstructions tab (live reconstructions). Sequence and scans trainings share the
Training tab, so only one of them runs at a time (the window's ``training_busy``).
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import QObject, Slot
from PySide6.QtWidgets import QMainWindow

from biodeep_gui.core.common.errors import BioDeepError
from biodeep_gui.core.common.fileio import check_output_path
from biodeep_gui.gui.controllers import device_text
from biodeep_gui.gui.session import Session
from biodeep_gui.gui.workers import TaskRunner


class ScansController(QObject):
    """Scans → Model → Training → Reconstructions.

    Parameters
    ----------
    window : the main window (parent); its tabs, status bar, ``build_tabs``, ``show_tab``, ``training_busy``,
             ``update_device_label`` and ``closing`` are used
    session : the window's dialogs
    runner : the window's runner for scans training
    runs_folder : returns the folder new runs go to (shared with the sequence runs)
    """

    def __init__(self, window: QMainWindow, session: Session, runner: TaskRunner, runs_folder: Callable[[], Path]):
        super().__init__(window)
        self._w, self.session, self.runner, self.runs_folder = window, session, runner, runs_folder
        self._cfg = None  # the ScansConfig of the running training
        self.training_device = "cpu"
        runner.sigItems.connect(self._on_items)
        runner.sigFinished.connect(self._on_finished)
        runner.sigFailed.connect(self._on_failed)

    @Slot(object, str)
    def start_training(self, data_cfg: Any, out_dir: str = "") -> None:
        """Cross-validate autoencoder → classifier on the Scans tab's cohort with the Model tab's settings;
        progress and curves in Training, live reconstructions in Reconstructions."""
        from biodeep_gui.core.scans.pipeline import train_scans
        from biodeep_gui.gui.tabs.model_forms import SCANS_ARCH

        w = self._w
        w.build_tabs()
        if w.training_busy():
            return
        if w.scans_tab.cohort is None:
            w.show_tab(w.scans_tab)
            self.session.show_error("No cohort yet", "Load a cohort in the Scans tab first (or click Demo cohort): "
                                                     "its audit shows problems before any training starts.")
            return
        w.model_tab.set_architecture(SCANS_ARCH)
        out = Path(out_dir) if out_dir else self.runs_folder() / f"scans-{time.strftime('%Y%m%d-%H%M%S')}"
        try:
            cfg = w.model_tab.scans_config(data_cfg, name=out.name)
            d = cfg.data  # the one output rule of the CLI: never an input, a run or a folder of other files
            check_output_path(out, [d.images, d.labels, d.mask, d.atlas, d.timeseries], "run", setting="Run folder")
        except BioDeepError as exc:  # the cohort (Scans tab) or the settings (Model tab): the message says which
            self.session.show_error("Cannot start brain-scan training", str(exc))
            return
        self._cfg = cfg
        self.training_device = cfg.train.device
        folds = "leave-one-site-out" if cfg.cv.leave_site_out else f"{cfg.cv.folds}-fold"
        w.training_tab.begin(out.name, cfg.train.epochs, f"autoencoder → classifier, {folds} cross-validation, "
                             f"on {device_text(w.model_tab, cfg.train.device)}", unit="scans")
        w.show_tab(w.training_tab)
        w.statusBar().showMessage(f"Training on brain scans; the run goes to {out}", 10_000)
        self.runner.start(train_scans, cfg, out)
        w.update_device_label()

    @Slot(object)
    def _on_items(self, items: list) -> None:
        """Relay a scans run's reports to the Training tab; each fold's phase starts fresh curves."""
        from biodeep_gui.core.scans.reports import FoldReport

        tab = self._w.training_tab
        batch: list = []
        for item in items:
            if isinstance(item, FoldReport):
                tab.add_items(batch)
                batch = []
                t = self._cfg.train
                tab.begin_phase(item.message, t.cnn_epochs if item.phase == "cnn" else t.epochs,
                                curves=item.phase != "classifier")
            else:
                batch.append(item)
        tab.add_items(batch)

    @Slot(object)
    def _on_finished(self, summary: Any) -> None:
        w = self._w
        w.training_tab.finish_scans(summary)
        w.update_device_label()
        done = getattr(summary, "run_dir", "")
        w.statusBar().showMessage(f"Brain-scan run saved in {done}" if done else "Brain-scan training stopped",
                                  10_000)
        if done and not summary.cancelled:
            w.show_tab(w.reconstructions_tab)  # per-fold results, ROC, reconstructions

    @Slot(str, str)
    def _on_failed(self, message: str, details: str) -> None:
        self._w.training_tab.fail(message)
        self._w.update_device_label()
        if not self._w.closing:
            self.session.show_error("Brain-scan training failed", f"Training stopped: {message}", details)

    @Slot(object)
    def on_cohort_loaded(self, _cohort: Any) -> None:
        """A cohort was loaded in the Scans tab: the Model tab's scans settings follow its grid."""
        grid = self._w.scans_tab.grid_shape()
        if grid is not None:
            self._w.model_tab.set_scans_grid(grid)

    def open_run(self, path: str | Path) -> None:
        """Open a scans run in Reconstructions and its folds' training curves in Training; its settings go to the
        Scans and Model tabs, ready to train again."""
        w = self._w
        w.build_tabs()
        try:
            w.reconstructions_tab.load_run(path)
        except BioDeepError as exc:
            self.session.show_error("Cannot open this run", str(exc))
            return
        run = w.reconstructions_tab.run
        try:
            phases, problem = run.phase_curves(), ""
        except BioDeepError as exc:  # a damaged history.csv: the rest of the run still opens
            phases, problem = [], f"its training curves could not be read: {exc}"
        w.training_tab.show_opened_run(run.name, phases, problem)
        cfg = run.config
        w.scans_tab.set_data_config(cfg.data)
        w.model_tab.set_scans_config(cfg)
        w.show_tab(w.reconstructions_tab)
