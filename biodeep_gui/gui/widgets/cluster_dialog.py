"""Training ▸ Run on a cluster…: the run's settings plus a ready ``sbatch`` script or ``torchrun`` command.

The dialog only edits a ``core.training.cluster.ClusterJob`` and previews what ``export_job`` will write; the
files are written by the core, and nothing is submitted: the user copies the folder to the cluster (or uses a
shared disk), runs ``sbatch train.sbatch`` there, and follows the run folder from File ▸ Follow a run folder….
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal, Slot
from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from biodeep_gui.core.common.errors import BioDeepError
from biodeep_gui.core.training.cluster import (
    CONFIG_NAME,
    ClusterJob,
    export_job,
    sbatch_script,
    suggest_memory_gb,
    torchrun_command,
)

SBATCH, TORCHRUN = "sbatch", "torchrun"


class ClusterDialog(QDialog):
    """Resources and paths of a cluster job, a live preview, and Export… / Copy.

    Parameters
    ----------
    config : the run's configuration (``RunConfig`` or ``ScansConfig``); its device is set to 'cuda' or 'cpu' from
             the GPU choice when exported
    verb : 'train' (sequences) or 'scans train'
    out_dir : the run folder the job should write (on a disk the cluster sees)
    memory_bytes : the Model tab's training-memory estimate for one process (``None``: unknown)
    inputs : the data files the configuration reads (an export never goes into or over them)

    Signals
    -------
    sigExported(dict) : the files written ({'config', 'sbatch', 'command'} -> path) and the job's run folder
                        ('out_dir')
    """

    sigExported = Signal(object)

    def __init__(self, config: Any, verb: str, out_dir: str, memory_bytes: int | None, inputs: list[str],
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Run on a cluster")
        self._config, self._verb, self._memory, self._inputs = config, verb, memory_bytes, inputs
        scans = verb != "train"

        self.launcher = QComboBox()
        self.launcher.addItem("Slurm batch script (sbatch)", SBATCH)
        self.launcher.addItem("One machine (torchrun command)", TORCHRUN)
        self.launcher.setToolTip("A Slurm script starts one torchrun per node with srun; the plain command runs "
                                 "on one machine you log in to.")
        self.gpus = QCheckBox("One GPU per process")
        self.gpus.setChecked(True)
        self.gpus.setToolTip("Each process trains on its own GPU (NCCL). Unticked: CPU processes (gloo).")
        self.nodes = _spin(1, 1024, 1, "Machines the job spreads over (data-parallel: each trains on its share "
                                       "of the sequences).")
        self.per_node = _spin(1, 64, 1, "Processes per machine: one per GPU, or CPU processes.")
        self.cpus = _spin(1, 256, 4, "CPU cores per process (reading and batching the data).")
        self.memory = _spin(1, 100_000, 16, "Host memory per machine in GB, filled from the Model tab's memory "
                                            "estimate plus each process's libraries, with a quarter spare.")
        self.memory.setSuffix(" GB")
        self.time = QLineEdit("4:00:00")
        self.time.setToolTip("Wall-clock limit, H:MM:SS or D-HH:MM:SS. A run that hits it keeps its checkpoint: "
                             "Training ▸ Resume goes on from there.")
        self.partition = QLineEdit()
        self.partition.setPlaceholderText("the cluster's default")
        self.account = QLineEdit()
        self.account.setPlaceholderText("the cluster's default")
        self.setup = QPlainTextEdit(f"source {Path(sys.prefix) / 'bin' / 'activate'}")
        self.setup.setToolTip("Lines that make BioDeep and torchrun available on the nodes, e.g. 'module load "
                              "cuda' and 'source ~/biodeep/.venv/bin/activate'.")
        self.setup.setFixedHeight(56)
        self.out_dir = QLineEdit(out_dir)
        self.out_dir.setToolTip("The run folder the job writes. It must be on a disk the cluster's nodes and this "
                                "computer both see to follow it from here (File ▸ Follow a run folder…).")
        self.export_dir = QLineEdit(str(Path(out_dir).parent / f"{_job_name(config, out_dir)}-job"))
        self.export_dir.setToolTip("Where Export writes the settings file (biodeep_config.json), the sbatch script "
                                   "and the torchrun command; the script names the settings file by this path.")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self.ask_export_dir)
        export_row = QHBoxLayout()
        export_row.addWidget(self.export_dir, 1)
        export_row.addWidget(browse)
        if scans:  # folds, not samples, are what a scans run shares out (core.scans.pipeline)
            for w in (self.nodes, self.per_node):
                w.setToolTip("Brain-scan training gives each process its share of the cross-validation folds and "
                             "of the permutations; more processes than folds leave some idle.")

        form = QFormLayout()
        form.addRow("Launcher", self.launcher)
        form.addRow("Machines", self.nodes)
        form.addRow("Processes per machine", self.per_node)
        form.addRow("", self.gpus)
        form.addRow("CPU cores per process", self.cpus)
        form.addRow("Memory per machine", self.memory)
        form.addRow("Time limit", self.time)
        form.addRow("Partition", self.partition)
        form.addRow("Account", self.account)
        form.addRow("Set-up on the nodes", self.setup)
        form.addRow("Run folder", self.out_dir)
        form.addRow("Export folder", export_row)

        self.preview = QPlainTextEdit()
        self.preview.setReadOnly(True)
        self.preview.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.preview.setMinimumHeight(160)
        self.message = QLabel()
        self.message.setWordWrap(True)
        note = QLabel("The data files named in the settings and the run folder must be reachable from the cluster "
                      "under the same paths (a shared disk), or edited in the exported settings file.")
        note.setWordWrap(True)
        note.setStyleSheet("color: #5f6368;")
        self.copy_button = QPushButton("Copy")
        self.copy_button.setToolTip("Copy the script or command to the clipboard.")
        self.export_button = QPushButton("Export")
        self.export_button.setToolTip("Write the settings file, the sbatch script and the torchrun command into the "
                                      "export folder.")
        self.export_button.setDefault(True)
        close = QPushButton("Close")
        buttons = QHBoxLayout()
        buttons.addWidget(self.message, 1)
        buttons.addWidget(self.copy_button)
        buttons.addWidget(self.export_button)
        buttons.addWidget(close)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(note)
        lay.addWidget(self.preview, 1)
        lay.addLayout(buttons)

        self.per_node.valueChanged.connect(self._suggest_memory)
        for w in (self.nodes, self.per_node, self.cpus, self.memory):
            w.valueChanged.connect(self.refresh)
        for w in (self.time, self.partition, self.account, self.out_dir, self.export_dir):
            w.textChanged.connect(self.refresh)
        self.setup.textChanged.connect(self.refresh)
        self.launcher.currentIndexChanged.connect(self.refresh)
        self.gpus.toggled.connect(self.refresh)
        self.copy_button.clicked.connect(self.copy)
        self.export_button.clicked.connect(self.export)
        close.clicked.connect(self.reject)
        self._suggest_memory()
        self.resize(720, 600)  # fits a 1024 x 640 laptop screen

    def job(self) -> ClusterJob:
        """The job as the form says (not checked: ``ClusterJob.check`` names what is wrong)."""
        return ClusterJob(name=_job_name(self._config, self.out_dir.text()), out_dir=self.out_dir.text().strip(),
                          nodes=self.nodes.value(), processes_per_node=self.per_node.value(),
                          gpus=self.gpus.isChecked(), cpus_per_process=self.cpus.value(),
                          memory_gb=self.memory.value(), time=self.time.text().strip(),
                          partition=self.partition.text().strip(), account=self.account.text().strip(),
                          setup=self.setup.toPlainText(), verb=self._verb)

    def text(self) -> str:
        """The preview: the sbatch script or the torchrun command (``ConfigError`` when a setting is wrong)."""
        config_path = Path(self.export_dir.text().strip() or ".").absolute() / CONFIG_NAME
        job = self.job()
        if self.launcher.currentData() == SBATCH:
            return sbatch_script(job, config_path)
        return torchrun_command(job, config_path)

    @Slot()
    def refresh(self) -> None:
        try:
            self.preview.setPlainText(self.text())
        except BioDeepError as exc:
            self.message.setText(f"<span style='color:#b3261e'>{exc}</span>")
            self.export_button.setEnabled(False)
            self.copy_button.setEnabled(False)
            return
        self.message.setText("")
        self.export_button.setEnabled(True)
        self.copy_button.setEnabled(True)

    @Slot()
    def _suggest_memory(self) -> None:
        # without the Model tab's estimate (not computed yet) the libraries alone still scale with the processes
        self.memory.setValue(suggest_memory_gb(self._memory or 0, self.per_node.value()))
        self.refresh()

    @Slot()
    def copy(self) -> None:
        QGuiApplication.clipboard().setText(self.preview.toPlainText())
        self.message.setText("Copied.")

    @Slot()
    def ask_export_dir(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export the job into a folder",
                                                  str(Path(self.export_dir.text()).parent))
        if folder:
            self.export_dir.setText(folder)

    @Slot()
    def export(self) -> dict[str, Path] | None:
        """Write the job's files into the export folder; a readable message in the dialog if they cannot be."""
        folder = self.export_dir.text().strip()
        config = self._config
        device = "cuda" if self.gpus.isChecked() else "cpu"
        if hasattr(config, "train") and hasattr(config.train, "device"):
            config = _with_device(config, device)
        try:
            files = export_job(config, self.job(), folder, self._inputs)
        except (BioDeepError, OSError) as exc:
            self.message.setText(f"<span style='color:#b3261e'>Not exported: {exc}</span>")
            return None
        submit = (f"submit it there with: sbatch {files['sbatch']}" if self.launcher.currentData() == SBATCH
                  else f"run it with: bash {files['command']}")
        self.message.setText(f"Written to {folder}; {submit}. Then File ▸ Follow a run folder… "
                             f"{self.out_dir.text().strip()}")
        self.sigExported.emit({**files, "out_dir": self.out_dir.text().strip()})
        return files


def _spin(lo: int, hi: int, value: int, tip: str) -> QSpinBox:
    s = QSpinBox()
    s.setRange(lo, hi)
    s.setValue(value)
    s.setToolTip(tip)
    return s


def _job_name(config: Any, out_dir: str) -> str:
    raw = getattr(config, "name", "") or Path(out_dir.strip() or "biodeep").name or "biodeep"
    name = "".join(c if c.isalnum() or c in "-_." else "-" for c in raw)[:64]
    return name or "biodeep"


def _with_device(config: Any, device: str) -> Any:
    """A copy of ``config`` whose training runs on ``device`` (the cluster's, not this computer's)."""
    import dataclasses

    return dataclasses.replace(config, train=dataclasses.replace(config.train, device=device))

