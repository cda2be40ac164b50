"""The cohort form of the Scans tab: where the images, the label table and the ROI data are, and how scans are
brought to one grid.

``CohortForm`` makes the ``ScansDataConfig`` (``data_config``) and shows one (``set_data_config``); of the files it
reads only the label table's first line, to offer its column names (``fill_columns``).
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QToolButton,
    QWidget,
)

from biodeep_gui.core.common.errors import BioDeepError
from biodeep_gui.core.scans.config import SUMMARIES, ScansDataConfig, format_class_names, parse_class_names

NONE_COLUMN = "(none)"
#: first matching column name (case-insensitive) is pre-selected for each role
GUESSES = {"subject": ("SUB_ID", "participant_id", "subject_id", "subject", "ID"),
           "label": ("DX_GROUP", "diagnosis", "dx", "label", "group", "class"),
           "file": ("FILE_ID", "file", "filename", "path"),
           "site": ("SITE_ID", "site", "scanner", "centre", "center")}
SUMMARY_LABELS = {"mean": "Anatomy / scanner (mean image)", "std": "Temporal standard deviation",
                  "alff": "ALFF (0.01–0.08 Hz amplitude)", "frames": "Every frame as a sample"}


def with_browse(edit: QLineEdit, slot) -> QWidget:
    """``edit`` with a "…" (Browse) button after it that calls ``slot``."""
    w = QWidget()
    h = QHBoxLayout(w)
    h.setContentsMargins(0, 0, 0, 0)
    h.addWidget(edit, 1)
    b = QToolButton()
    b.setText("…")
    b.setToolTip("Browse")
    b.clicked.connect(slot)
    h.addWidget(b)
    return w


class CohortForm(QGroupBox):
    """The "Cohort" box: route, images or ROI time series, label table and its columns, preprocessing switches,
    and the Load / Demo buttons (which the tab connects).

    Signals
    -------
    sigRouteChanged(str) : 'volumes' or 'connectivity' was chosen
    sigProblem(str) : the label table could not be read, or the class names are not VALUE=NAME (the message says
                      which)
    """

    sigRouteChanged = Signal(str)
    sigProblem = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__("Cohort", parent)
        self.images_edit = QLineEdit()
        self.images_edit.setPlaceholderText("folder of .nii / .nii.gz files (searched recursively)")
        self.labels_edit = QLineEdit()
        self.labels_edit.setPlaceholderText("CSV/TSV table with one row per subject")
        self.labels_edit.editingFinished.connect(self.fill_columns)
        self.subject_combo, self.label_combo = QComboBox(), QComboBox()
        self.file_combo, self.site_combo = QComboBox(), QComboBox()
        for combo in (self.subject_combo, self.label_combo, self.file_combo, self.site_combo):
            combo.setEditable(True)
            combo.setMinimumContentsLength(10)
        self.class_names_edit = QLineEdit()
        self.class_names_edit.setPlaceholderText("e.g. 1=autism, 2=control")
        self.class_names_edit.setToolTip("What each value of the label column is called in the results (confusion "
                                         "matrix, subject tables, printed results). Display only: training does "
                                         "not depend on it.")
        self.class_names_edit.editingFinished.connect(self._class_names_edited)
        self._class_names: dict[str, str] = {}
        self.summary_combo = QComboBox()
        for key in SUMMARIES:
            self.summary_combo.addItem(SUMMARY_LABELS[key], key)
        self.summary_combo.setToolTip("Whole volumes: how a series of fMRI images over time becomes the one image the "
                                      "autoencoder reads; single (3-D) images are used as they are. The mean image "
                                      "shows anatomy and the scanner, not brain function: for function read brain "
                                      "connectivity (Input)")
        self.mask_edit = QLineEdit()
        self.mask_edit.setPlaceholderText("computed per fold from the training subjects")
        self.route_combo = QComboBox()
        self.route_combo.addItem("Automatic: connectivity for fMRI series, whole volumes for single images", "auto")
        self.route_combo.addItem("Whole volumes: 3-D autoencoder", "volumes")
        self.route_combo.addItem("Brain connectivity: correlations between regions", "connectivity")
        self.route_combo.setToolTip("Connectivity: region time series (nilearn: detrended, band-passed 0.01-0.1 Hz, "
                                    "z-scored) -> correlation matrix -> Fisher z -> denoising autoencoder, from ROI "
                                    "tables or from 4-D images and an atlas. Inputs must already be preprocessed "
                                    "and registered (e.g. fMRIPrep or the ABIDE Preprocessed outputs); the built-in "
                                    "atlases assume MNI152 space")
        self.timeseries_edit = QLineEdit()
        self.timeseries_edit.setPlaceholderText("connectivity: folder of ROI time series (.1D/CSV/TSV)")
        self.atlas_edit = QLineEdit()
        self.atlas_edit.setPlaceholderText("power2011 (default), dosenbach2010, seitzman2018 (MNI152), or a labels "
                                           "image / x,y,z table")
        for combo in (self.route_combo, self.summary_combo):  # long entries: shown whole in the open list only,
            # so the form (and the tab) fits a 1024-pixel-wide window
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(18)
        self.route_combo.currentIndexChanged.connect(self._on_route)
        cohort_form = QFormLayout()
        cohort_form.addRow("Input", self.route_combo)
        cohort_form.addRow("Images", with_browse(self.images_edit, self._browse_images))
        self.timeseries_row = with_browse(self.timeseries_edit, self._browse_timeseries)
        self.atlas_row = with_browse(self.atlas_edit, self._browse_atlas)
        cohort_form.addRow("ROI time series", self.timeseries_row)
        cohort_form.addRow("Atlas", self.atlas_row)
        cohort_form.addRow("Labels table", with_browse(self.labels_edit, self._browse_labels))
        cohort_form.addRow("Subject column", self.subject_combo)
        cohort_form.addRow("Label column", self.label_combo)
        cohort_form.addRow("Class names", self.class_names_edit)
        cohort_form.addRow("File column", self.file_combo)
        cohort_form.addRow("Site column", self.site_combo)
        cohort_form.addRow("fMRI over time as", self.summary_combo)
        cohort_form.addRow("Brain mask", with_browse(self.mask_edit, self._browse_mask))
        self.canonical_check = QCheckBox("Turn every scan to the standard orientation (RAS)")
        self.canonical_check.setChecked(True)
        self.resample_check = QCheckBox("Resample every scan to one grid")
        self.voxel_spin = QDoubleSpinBox()
        self.voxel_spin.setRange(0.0, 20.0)
        self.voxel_spin.setDecimals(1)
        self.voxel_spin.setSuffix(" mm")
        self.voxel_spin.setSpecialValueText("first scan's grid")
        self.voxel_spin.setToolTip("Isotropic voxel size of the common grid; coarser grids train much faster")
        cohort_form.addRow(self.canonical_check)
        cohort_form.addRow(self.resample_check)
        cohort_form.addRow("Voxel size", self.voxel_spin)
        self.load_button = QPushButton("Load cohort")
        self.load_button.setDefault(True)
        self.demo_button = QPushButton("Demo cohort")
        self.demo_button.setToolTip("Write and load a SYNTHETIC 40-subject cohort (61×73×61, 3 mm)")
        row = QHBoxLayout()
        row.addWidget(self.load_button)
        row.addWidget(self.demo_button)
        cohort_form.addRow(row)
        self.setLayout(cohort_form)
        self._on_route()


    def _browse_images(self) -> None:
        d = QFileDialog.getExistingDirectory(self, "Folder of NIfTI images", self.images_edit.text())
        if d:
            self.images_edit.setText(d)

    def _browse_labels(self) -> None:
        f, _ = QFileDialog.getOpenFileName(self, "Labels table", self.labels_edit.text(),
                                           "Tables (*.csv *.tsv *.txt *.tab);;All files (*)")
        if f:
            self.labels_edit.setText(f)
            self.fill_columns()

    def _browse_mask(self) -> None:
        f, _ = QFileDialog.getOpenFileName(self, "Brain mask", self.mask_edit.text(),
                                           "NIfTI (*.nii *.nii.gz);;All files (*)")
        if f:
            self.mask_edit.setText(f)

    def _browse_timeseries(self) -> None:
        d = QFileDialog.getExistingDirectory(self, "Folder of ROI time series", self.timeseries_edit.text())
        if d:
            self.timeseries_edit.setText(d)

    def _browse_atlas(self) -> None:
        f, _ = QFileDialog.getOpenFileName(self, "Atlas labels image", self.atlas_edit.text(),
                                           "NIfTI (*.nii *.nii.gz);;All files (*)")
        if f:
            self.atlas_edit.setText(f)

    def _on_route(self) -> None:
        connectivity = self.route_combo.currentData() in ("connectivity", "auto")
        for w in (self.timeseries_row, self.atlas_row):
            w.setEnabled(connectivity)
        self.sigRouteChanged.emit(self.route_combo.currentData())

    def fill_columns(self) -> None:
        """Offer the table's column names (its first line only is read) and pre-select likely ones."""
        from biodeep_gui.core.scans.cohort import table_columns

        path = self.labels_edit.text().strip()
        if not path or not Path(path).is_file():
            return
        try:
            cols = table_columns(path)
        except BioDeepError as exc:
            self.sigProblem.emit(str(exc))
            return
        for role, combo, optional in (("subject", self.subject_combo, False), ("label", self.label_combo, False),
                                      ("file", self.file_combo, True), ("site", self.site_combo, True)):
            current = combo.currentText()
            combo.blockSignals(True)
            combo.clear()
            if optional:
                combo.addItem(NONE_COLUMN)
            combo.addItems(cols)
            lower = {c.lower(): c for c in cols}
            pick = current if current in cols else next((lower[g.lower()] for g in GUESSES[role]
                                                         if g.lower() in lower), None)
            combo.setCurrentText(pick if pick else (NONE_COLUMN if optional else cols[0]))
            combo.blockSignals(False)

    @staticmethod
    def _column(combo: QComboBox) -> str:
        t = combo.currentText().strip()
        return "" if t == NONE_COLUMN else t

    def data_config(self) -> ScansDataConfig:
        return ScansDataConfig(
            route=self.route_combo.currentData(), timeseries=self.timeseries_edit.text().strip(),
            atlas=self.atlas_edit.text().strip(),
            images=self.images_edit.text().strip(), labels=self.labels_edit.text().strip(),
            subject_column=self._column(self.subject_combo) or "SUB_ID",
            label_column=self._column(self.label_combo) or "DX_GROUP", file_column=self._column(self.file_combo),
            site_column=self._column(self.site_combo), summary=self.summary_combo.currentData(),
            class_names=dict(self._class_names),
            mask=self.mask_edit.text().strip(), canonicalise=self.canonical_check.isChecked(),
            resample=self.resample_check.isChecked(), voxel_size=float(self.voxel_spin.value()))

    def set_data_config(self, d: ScansDataConfig) -> None:
        """Fill the cohort form from a configuration (e.g. a saved run's)."""
        self.route_combo.setCurrentIndex(max(0, self.route_combo.findData(d.route)))
        self.timeseries_edit.setText(d.timeseries)
        self.atlas_edit.setText(d.atlas)
        self.images_edit.setText(d.images)
        self.labels_edit.setText(d.labels)
        self.fill_columns()
        for combo, value in ((self.subject_combo, d.subject_column), (self.label_combo, d.label_column),
                             (self.file_combo, d.file_column or NONE_COLUMN),
                             (self.site_combo, d.site_column or NONE_COLUMN)):
            combo.setCurrentText(value)
        self.set_class_names(d.class_names)
        self.summary_combo.setCurrentIndex(max(0, self.summary_combo.findData(d.summary)))
        self.mask_edit.setText(d.mask)
        self.canonical_check.setChecked(d.canonicalise)
        self.resample_check.setChecked(d.resample)
        self.voxel_spin.setValue(d.voxel_size)

    def set_class_names(self, names: dict[str, str]) -> None:
        """Show and use these class names (label value -> name)."""
        self._class_names = dict(names)
        self.class_names_edit.setText(format_class_names(self._class_names))
        self.class_names_edit.setStyleSheet("")

    @Slot()
    def _class_names_edited(self) -> None:
        """Take the typed names when they parse; otherwise keep the last good ones and say what is wrong."""
        try:
            self._class_names = parse_class_names(self.class_names_edit.text())
        except BioDeepError as exc:
            self.class_names_edit.setStyleSheet("QLineEdit { border: 1px solid #b3261e; }")
            self.sigProblem.emit(str(exc))
            return
        self.class_names_edit.setStyleSheet("")

    def set_demo(self, folder: str) -> None:
        """Point the form at the demo cohort in ``folder``, on a 6-mm grid."""
        self.images_edit.setText(str(Path(folder) / "images"))
        self.labels_edit.setText(str(Path(folder) / "participants.tsv"))
        self.fill_columns()
        self.file_combo.setCurrentText("FILE_ID")
        self.site_combo.setCurrentText("SITE_ID")
        self.resample_check.setChecked(True)
        self.voxel_spin.setValue(6.0)  # a 31×37×31 grid: the demo trains in minutes on a laptop CPU

    def apply_fix(self, fix: str) -> None:
        """Switch on the setting that remedies an audit finding ('canonicalise' or 'resample')."""
        if fix == "canonicalise":
            self.canonical_check.setChecked(True)
        elif fix == "resample":
            self.resample_check.setChecked(True)
