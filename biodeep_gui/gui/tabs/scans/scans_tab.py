"""The Scans tab: choose a NIfTI cohort and its label table, audit it, look at the scans, ask for training.

The tab computes nothing itself. "Load cohort" runs ``core.scans.scan_cohort`` (header audit, then each subject
preprocessed into the cache) on the tab's ``TaskRunner``; the audited cohort fills the table at once and each
subject's status follows. Selecting a subject loads its preprocessed volume (from the cache, off the GUI thread)
into the slice viewer. The audit's findings are listed with one-click fixes (reorient to RAS, resample to one
grid), which switch the setting on and load again. "Train" emits ``sigTrainRequested(ScansDataConfig, out_dir)``:
the main window adds the Model tab's autoencoder → classifier settings and runs ``core.scans_training.train_scans``
in a worker, with progress and curves in the Training tab. The cohort form itself is ``cohort_form.CohortForm``
(``self.form``).
"""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from biodeep_gui.core.common.errors import BioDeepError
from biodeep_gui.core.common.words import count_words
from biodeep_gui.core.scans.config import ScansDataConfig
from biodeep_gui.gui.tabs.scans.cohort_form import CohortForm, with_browse
from biodeep_gui.gui.widgets.slice_viewer import SliceViewer
from biodeep_gui.gui.workers import TaskRunner

COLUMNS = ("Subject", "Label", "Site", "Shape", "Voxel size (mm)", "TR (s)", "Orientation", "Status")
SEVERITY_COLOURS = {"error": "#b3261e", "warning": "#8a5a00", "info": "#3c4043"}


def load_view_volume(prep, index: int) -> tuple[int, Any]:
    """(index, (X, Y, Z) volume) of one subject from the preprocessing cache (runs in a worker thread)."""
    return index, prep.display_volume(index)


def scan_cohort_task(cfg: ScansDataConfig, cache_dir: str | None, *, should_stop):
    from biodeep_gui.core.scans.preprocess import scan_cohort

    yield from scan_cohort(cfg, cache_dir, should_stop=should_stop)


def write_demo_task(folder: str) -> str:
    from biodeep_gui.core.scans.synthetic import write_demo_cohort

    write_demo_cohort(folder)
    return folder


class ScansTab(QWidget):
    """Cohort form, cohort table with audit findings, slice viewer of the selected subject.

    Signals
    -------
    sigTrainRequested(object, str) : the cohort's ``ScansDataConfig`` and the run folder typed in ('' = let the main
        window choose one); the main window adds the Model tab's settings
    sigCohortLoaded(object) : the audited ``core.scans.Cohort``
    sigMessage(str) : a one-line status for the status bar
    sigRouteChanged(str) : 'volumes' or 'connectivity' was chosen (the Model tab greys out what does not apply)
    """

    sigTrainRequested = Signal(object, str)
    sigRouteChanged = Signal(str)
    sigCohortLoaded = Signal(object)
    sigMessage = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.cohort = None
        self.prep = None
        self._statuses: dict[int, str] = {}
        self._pending_view: int | None = None
        self._reload_after = False
        self.load_runner = TaskRunner(self, name="scans-cohort")
        self.view_runner = TaskRunner(self, name="scans-view")
        self.load_runner.sigItems.connect(self._on_load_items)
        self.load_runner.sigFinished.connect(self._on_load_finished)
        self.load_runner.sigFailed.connect(self._on_load_failed)
        self.load_runner.sigRunningChanged.connect(self._on_running)
        self.view_runner.sigFinished.connect(self._on_view_finished)
        self.view_runner.sigFailed.connect(self._on_view_failed)

        self.form = CohortForm()
        self.form.load_button.clicked.connect(self.load_cohort)
        self.form.demo_button.clicked.connect(self.open_demo)
        self.form.sigRouteChanged.connect(self.sigRouteChanged)
        self.form.sigProblem.connect(self._show_error)

        # -- training: the network, training and cross-validation settings live in the Model tab --
        self.out_edit = QLineEdit()
        self.out_edit.setPlaceholderText("default: a new folder under the runs folder")
        note = QLabel("The autoencoder, its training and the cross-validation are set in the <b>Model</b> tab "
                      "(“Autoencoder → classifier”), with the device; progress and curves show in <b>Training</b>. "
                      "fMRI inputs must already be preprocessed and registered (e.g. fMRIPrep or the ABIDE "
                      "Preprocessed outputs): BioDeep corrects no motion and registers nothing. The connectivity "
                      "atlases assume MNI152 space.")
        note.setWordWrap(True)
        note.setStyleSheet("color: #5f6368;")
        train_form = QFormLayout()
        train_form.addRow(note)
        train_form.addRow("Run folder", with_browse(self.out_edit, self._browse_out))
        self.train_button = QPushButton("Train autoencoder → classifier")
        self.train_button.setToolTip("Cross-validate the autoencoder → classifier pipeline on this cohort (Ctrl+R "
                                     "when the Model tab's architecture is Autoencoder → classifier)")
        self.train_button.clicked.connect(self.request_training)
        train_form.addRow(self.train_button)
        train_box = QGroupBox("Autoencoder → classifier")
        train_box.setLayout(train_form)

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.addWidget(self.form)
        left_layout.addWidget(train_box)
        left_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidget(left)
        scroll.setWidgetResizable(True)
        # as wide as the form needs beside its vertical scrollbar, so it never needs a horizontal one
        scroll.setMinimumWidth(max(360, left.minimumSizeHint().width() + scroll.verticalScrollBar().sizeHint().width()
                                      + 2 * scroll.frameWidth()))

        # -- cohort view --
        self.status_label = QLabel("Choose an images folder and a labels table, then Load cohort (or try the demo).")
        self.status_label.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.itemSelectionChanged.connect(self._on_selection)
        self.audit_list = QListWidget()
        self.audit_list.setWordWrap(True)
        self.audit_list.setMaximumHeight(96)
        self.fix_canonical = QPushButton("Reorient all to RAS")
        self.fix_canonical.setToolTip("Turn every scan to the standard orientation (right, anterior, superior: RAS) "
                                      "and load again")
        self.fix_canonical.clicked.connect(lambda: self.apply_fix("canonicalise"))
        self.fix_resample = QPushButton("Resample to one grid")
        self.fix_resample.setToolTip("Turn on resampling to the first scan's grid and load again")
        self.fix_resample.clicked.connect(lambda: self.apply_fix("resample"))
        fixes = QHBoxLayout()
        fixes.addWidget(QLabel("Audit"))
        fixes.addStretch(1)
        fixes.addWidget(self.fix_canonical)
        fixes.addWidget(self.fix_resample)
        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addWidget(self.status_label)
        top_layout.addWidget(self.progress)
        top_layout.addWidget(self.table, 1)
        top_layout.addLayout(fixes)
        top_layout.addWidget(self.audit_list)
        self.viewer = SliceViewer("Selected subject")
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(top)
        right.addWidget(self.viewer)
        right.setSizes([380, 420])
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(scroll)
        split.addWidget(right)
        split.setStretchFactor(1, 1)
        split.setSizes([380, 900])
        layout = QVBoxLayout(self)
        layout.addWidget(split)
        self._update_fix_buttons()

    # -- helpers ---------------------------------------------------------------------------------------------
    def _browse_out(self) -> None:
        d = QFileDialog.getExistingDirectory(self, "Run folder", self.out_edit.text())
        if d:
            self.out_edit.setText(d)

    # -- configuration -----------------------------------------------------------------------------------------
    def data_config(self) -> ScansDataConfig:
        return self.form.data_config()

    def set_data_config(self, d: ScansDataConfig) -> None:
        """Fill the cohort form from a configuration (e.g. a saved run's)."""
        self.form.set_data_config(d)

    def grid_shape(self) -> tuple[int, int, int] | None:
        """(X, Y, Z) of the loaded cohort's common grid (what the autoencoder is built for); None if unknown."""
        grid = getattr(self.prep, "grid", None)
        return tuple(grid.shape) if grid is not None else None  # type: ignore[return-value]

    # -- actions ---------------------------------------------------------------------------------------------
    @Slot()
    def load_cohort(self) -> None:
        """Audit the cohort and preprocess it into the cache (off the GUI thread)."""
        if self.load_runner.is_running():
            self._reload_after = True
            self.load_runner.cancel()
            return
        cfg = self.data_config()
        self._clear_cohort()
        self.status_label.setText("Reading the labels table and image headers…")
        self.status_label.setStyleSheet("")
        self.load_runner.start(scan_cohort_task, cfg, None)

    @Slot()
    def open_demo(self) -> None:
        """Write the SYNTHETIC demo cohort (once) and load it on a 6-mm grid."""
        from biodeep_gui.core.common import paths

        folder = paths.data_dir() / "demo_scans"
        if (folder / "participants.tsv").exists():
            self._use_demo(str(folder))
            return
        if self.load_runner.is_running():
            return
        self.status_label.setText(f"Writing the SYNTHETIC demo cohort to {folder}…")
        self._demo_pending = True
        self.load_runner.call(write_demo_task, str(folder))

    def _use_demo(self, folder: str) -> None:
        self.form.set_demo(folder)
        self.load_cohort()

    @Slot()
    def request_training(self) -> None:
        """Ask the window to train on this cohort (with the Model tab's autoencoder → classifier settings)."""
        self.sigTrainRequested.emit(self.data_config(), self.out_edit.text().strip())

    def apply_fix(self, fix: str) -> None:
        """One-click remedy of an audit finding: switch the setting on and load the cohort again."""
        self.form.apply_fix(fix)
        self.load_cohort()

    def shutdown(self) -> None:
        """Cancel and join the tab's tasks (call before the window closes)."""
        self.load_runner.shutdown()
        self.view_runner.shutdown()

    # -- results from the runners -------------------------------------------------------------------------------
    def _clear_cohort(self) -> None:
        self.cohort = self.prep = None
        self._statuses.clear()
        self.table.setRowCount(0)
        self.audit_list.clear()
        self.viewer.clear()
        self._update_fix_buttons()

    @Slot(object)
    def _on_load_items(self, items: list) -> None:
        from biodeep_gui.core.scans.cohort import Cohort
        from biodeep_gui.core.scans.preprocess import SubjectStatus

        for item in items:
            if isinstance(item, Cohort):
                self._show_cohort(item)
            elif isinstance(item, SubjectStatus):
                self._show_status(item)

    def _show_cohort(self, cohort) -> None:
        from biodeep_gui.core.scans.preprocess import Preprocessor

        self.cohort = cohort
        named = self.data_config()
        self.table.setRowCount(len(cohort.subjects))
        for r, s in enumerate(cohort.subjects):
            h = s.header
            cells = [s.id, named.class_label(s.label), s.site, "", "", "", "", s.status if s.error else "waiting"]
            if h is not None:
                cells[3] = "×".join(str(v) for v in h.shape)
                cells[4] = "×".join(f"{v:.3g}" for v in h.voxel_size)
                cells[5] = f"{h.tr:g}" if h.tr else ""
                cells[6] = h.axcodes
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if c == 7 and s.error:
                    item.setForeground(QColor(SEVERITY_COLOURS["error"]))
                    item.setToolTip(s.error)
                self.table.setItem(r, c, item)
        self.audit_list.clear()
        for f in cohort.flags:
            state = " — handled by the current settings" if f.handled else ""
            item = QListWidgetItem(f"{f.severity.upper()}: {f.message}{state}")
            item.setForeground(QColor(SEVERITY_COLOURS["info" if f.handled else f.severity]))
            item.setData(Qt.ItemDataRole.UserRole, f.fix)
            if f.files:
                item.setToolTip("\n".join(f.files[:20]) + ("\n…" if len(f.files) > 20 else ""))
            self.audit_list.addItem(item)
        for note in cohort.notes:
            self.audit_list.addItem(QListWidgetItem(f"NOTE: {note}"))
        if not cohort.flags and not cohort.notes:
            self.audit_list.addItem(QListWidgetItem("No problems found: one grid, one orientation, every file read."))
        counts = ", ".join(f"{named.class_label(k)}: {v}" for k, v in cohort.class_counts().items())
        errors = cohort.errors()
        positive = named.class_label(cohort.positive_label)
        text = (f"{len(cohort.subjects)} subjects ({counts}; positive class {positive})"
                if cohort.classes else f"{len(cohort.subjects)} subjects")
        try:
            self.prep = Preprocessor(cohort, self.data_config()) if cohort.kind == "nifti" else None
        except BioDeepError as exc:
            errors = errors or [exc]
            self.prep = None
        if self.prep is not None and self.prep.grid is not None:
            text += f"; common grid {self.prep.grid.describe()}"
        if errors:
            self._show_error(text + f". {count_words(len(errors), 'problem')} to fix before training (see the audit).")
        else:
            self.status_label.setText(text + ". Preparing the scans…")
        self.progress.setRange(0, max(1, len(cohort.subjects)))
        self.progress.setValue(0)
        self.progress.setVisible(True)
        self._update_fix_buttons()
        self.sigCohortLoaded.emit(cohort)

    def _show_status(self, st) -> None:
        self._statuses[st.index] = st.status
        item = QTableWidgetItem("ready" if st.status == "ok" else st.message)
        if st.status != "ok":
            item.setForeground(QColor(SEVERITY_COLOURS["error"]))
            item.setToolTip(st.message)
        self.table.setItem(st.index, 7, item)
        self.progress.setValue(st.index + 1)
        if st.index == 0 and not self.table.selectedItems():
            self.table.selectRow(0)

    @Slot(object)
    def _on_load_finished(self, result: Any) -> None:
        if getattr(self, "_demo_pending", False):
            self._demo_pending = False
            self._use_demo(str(result))
            return
        self.progress.setVisible(False)
        if self._reload_after:
            self._reload_after = False
            self.load_cohort()
            return
        if self.cohort is None:
            return
        bad = sum(1 for v in self._statuses.values() if v != "ok") + sum(1 for s in self.cohort.subjects if s.error
                                                                        and not self._statuses)
        if self.load_runner.was_cancelled():
            self.status_label.setText(self.status_label.text().replace(" Preparing the scans…", "") + " (stopped)")
        elif not self.cohort.errors() and not bad:
            self.status_label.setText(self.status_label.text().replace("Preparing the scans…",
                                                                       "Every scan is ready for training."))
        self.sigMessage.emit(f"Cohort loaded: {len(self.cohort.subjects)} subjects")

    @Slot(str, str)
    def _on_load_failed(self, message: str, details: str) -> None:
        self._demo_pending = False
        self.progress.setVisible(False)
        self._show_error(message)

    @Slot(bool)
    def _on_running(self, running: bool) -> None:
        self.form.load_button.setText("Stop" if running else "Load cohort")
        self.form.demo_button.setEnabled(not running)

    def _show_error(self, message: str) -> None:
        self.status_label.setText(message)
        self.status_label.setStyleSheet(f"color: {SEVERITY_COLOURS['error']};")

    def _update_fix_buttons(self) -> None:
        fixes = {f.fix for f in (self.cohort.flags if self.cohort else []) if f.fix and not f.handled}
        self.fix_canonical.setEnabled("canonicalise" in fixes)
        self.fix_resample.setEnabled("resample" in fixes)

    # -- the slice viewer ------------------------------------------------------------------------------------------
    @Slot()
    def _on_selection(self) -> None:
        rows = {i.row() for i in self.table.selectedItems()}
        if not rows or self.prep is None or self.prep.mode != "volumes":
            return
        self.show_subject(min(rows))

    def show_subject(self, index: int) -> None:
        """Load subject ``index``'s preprocessed volume into the viewer (off the GUI thread)."""
        if self.prep is None or self.cohort is None or self.cohort.subjects[index].error:
            return
        if self.view_runner.is_running():
            self._pending_view = index
            return
        self.viewer.title.setText(f"Subject {self.cohort.subjects[index].id} — loading…")
        self.view_runner.call(load_view_volume, self.prep, index)

    @Slot(object)
    def _on_view_finished(self, result: Any) -> None:
        index, vol = result
        if self.prep is not None and self.cohort is not None and index < len(self.cohort.subjects):
            s = self.cohort.subjects[index]
            self.viewer.title.setText(f"Subject {s.id} (label {s.label}) — as the network sees it before masking")
            self.viewer.set_volume(vol, self.prep.grid.voxel_size, self.prep.grid.affine)
        if self._pending_view is not None:
            nxt, self._pending_view = self._pending_view, None
            self.show_subject(nxt)

    @Slot(str, str)
    def _on_view_failed(self, message: str, details: str) -> None:
        self.viewer.title.setText(f"Could not show this subject: {message}")
        self._pending_view = None
