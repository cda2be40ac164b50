"""Beyond this computer: Training ▸ Run on a cluster… and File ▸ Follow a run folder….

``ask_run_on_cluster`` opens a ``ClusterDialog`` on the settings the Start button would train with (sequences, or
brain scans when that is the Model tab's choice), with memory filled from the Model tab's last estimate.
``follow`` iterates ``core.training.follow.follow_run`` in a worker: the Training tab draws a run another process
writes (a cluster job on a shared disk, a CLI run) like one trained here, and when it ends the run opens in
Results or Reconstructions.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Slot
from PySide6.QtWidgets import QFileDialog, QMainWindow

from biodeep_gui.core.common.errors import BioDeepError
from biodeep_gui.gui.session import Session
from biodeep_gui.gui.widgets.cluster_dialog import ClusterDialog
from biodeep_gui.gui.workers import TaskRunner


class HandoffController(QObject):
    """Exports cluster jobs and follows run folders written elsewhere.

    Parameters
    ----------
    window : the main window: its tabs, ``build_tabs``, ``show_tab``, ``training_busy``, ``open_run``
    session : the window's dialogs and remembered folders
    runner : the window's runner for following a folder (its own: a followed run never blocks training here)
    runs_folder : where new runs go (the default run folder of an exported job)
    """

    def __init__(self, window: QMainWindow, session: Session, runner: TaskRunner, runs_folder):
        super().__init__(window)
        self._w, self.session, self.runner, self.runs_folder = window, session, runner, runs_folder
        self.dialog: ClusterDialog | None = None
        self.followed: Path | None = None
        self._memory: int | None = None
        runner.sigItems.connect(self._on_items)
        runner.sigFinished.connect(self._on_finished)
        runner.sigFailed.connect(self._on_failed)

    @Slot(object)
    def on_inspected(self, inspection: Any) -> None:
        """Keep the Model tab's last training-memory estimate (it sizes the job's memory)."""
        self._memory = getattr(inspection, "memory_bytes", None)

    # ---- Run on a cluster -----------------------------------------------------------------------------------
    @Slot()
    def ask_run_on_cluster(self) -> ClusterDialog | None:
        """Open the cluster dialog on the settings Start would train with; a message says what is missing."""
        w = self._w
        w.build_tabs()
        try:
            config, verb, inputs = self._current_config()
        except BioDeepError as exc:
            self.session.show_error("Nothing to hand over yet", str(exc))
            return None
        out = self.runs_folder() / f"{config.name}"
        if self.dialog is not None:
            self.dialog.close()
        self.dialog = ClusterDialog(config, verb, str(out), self._memory, inputs, w)
        self.dialog.sigExported.connect(self._on_exported)
        self.dialog.open()
        return self.dialog

    def _current_config(self) -> tuple[Any, str, list[str]]:
        w = self._w
        stamp = time.strftime("%Y%m%d-%H%M%S")
        if w.model_tab.is_scans():
            if w.scans_tab.cohort is None:
                raise BioDeepError("load a cohort in the Scans tab first: the job trains on its images and table")
            cfg = w.model_tab.scans_config(w.scans_tab.data_config(), name=f"scans-{stamp}")
            d = cfg.data
            return cfg, "scans train", [str(p) for p in (d.images, d.labels, d.mask, d.atlas, d.timeseries) if p]
        data, data_cfg = w.sequences_tab.current_data()
        if data is None:
            raise BioDeepError("open sequences in the Sequences tab first: the job trains on those files")
        arch = w.model_tab.architecture()
        cfg = w.model_tab.run_config(data_cfg, name=f"{arch}-{stamp}")
        return cfg, "train", [str(p) for p in data_cfg.input_files()]

    @Slot(object)
    def _on_exported(self, files: dict) -> None:
        self._w.statusBar().showMessage(f"Cluster job written to {Path(files['sbatch']).parent}; follow "
                                        f"{files['out_dir']} with File ▸ Follow a run folder…", 15_000)

    # ---- Follow a run folder --------------------------------------------------------------------------------
    @Slot()
    def ask_follow(self) -> None:
        path = QFileDialog.getExistingDirectory(self._w, "Follow a run folder (it may not exist yet: choose its "
                                                         "parent and type the name)",
                                                self.session.folder("run", self.runs_folder()))
        if path:
            self.session.remember_folder("run", Path(path).parent)
            self.follow(path)

    def follow(self, path: str | Path) -> bool:
        """Follow the run folder ``path`` in the Training tab until its run ends (Stop ends following)."""
        from biodeep_gui.core.training.follow import follow_run

        w = self._w
        w.build_tabs()
        if w.training_busy() or self.runner.is_running():
            return False
        path = Path(path)
        if not path.is_dir():
            self.session.show_error("Cannot follow this folder", f"{path}: not a folder. Choose the run folder the "
                                                                 "job writes (it appears when the job starts).")
            return False
        self.followed = path
        w.training_tab.begin(path.name, 0, f"following {path} (written by another process)")
        w.show_tab(w.training_tab)
        self.runner.start(follow_run, path)
        return True

    def stop(self) -> None:
        """Stop following (the run itself goes on wherever it runs)."""
        if self.runner.is_running():
            self.runner.cancel()

    @Slot(object)
    def _on_items(self, items: list) -> None:
        self._w.training_tab.add_items(items)

    @Slot(object)
    def _on_finished(self, progress: Any) -> None:
        tab = self._w.training_tab
        if progress is None or not getattr(progress, "finished", False):
            tab.end_following("Stopped following; the run goes on where it runs.")
            return
        if progress.status == "failed":
            tab.fail(f"{progress.name} failed" + (f": {progress.error}" if progress.error else ""))
            return
        words = "finished" if progress.status == "complete" else "was stopped (its best epoch was kept)"
        tab.end_following(f"{progress.name} {words}; its results are open.")
        self._w.open_run(progress.run_dir)

    @Slot(str, str)
    def _on_failed(self, message: str, details: str) -> None:
        self._w.training_tab.fail(message)
        if not self._w.closing:
            self.session.show_error("Cannot follow this run", message, details)
