"""The Sequences tab: choose the input files and settings, open them, and see what was loaded.

The tab never reads sequences itself: "Open" emits ``sigOpenRequested(DataConfig)``; the main window loads the
data off the GUI thread (``core.sequences.load_sequences``) and hands the result back through ``show_data`` or
``show_error``. Only the header row of a CSV/TSV table is read here, to offer its column names.
"""
from __future__ import annotations

import csv
import gzip
import io
import math
from pathlib import Path

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QFont, QFontDatabase
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QFrame,
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
    QSizePolicy,
    QSpinBox,
    QSplitter,
    QStackedWidget,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from biodeep_gui.core.common.errors import BioDeepError, ConfigError
from biodeep_gui.core.common.fileio import check_readable_file
from biodeep_gui.core.sequences import summary as S
from biodeep_gui.core.sequences.config import DataConfig, RunConfig
from biodeep_gui.core.sequences.dataset import SequenceSet

# Input kinds offered in the form (DataConfig.kind 'fasta' covers the first two).
KIND_PAIR, KIND_LABELLED, KIND_TABLE, KIND_BED = "pair", "labelled", "table", "bed"
KIND_LABELS = {
    KIND_PAIR: "Bound + background FASTA",
    KIND_LABELLED: "FASTA with labels in headers",
    KIND_TABLE: "Table (CSV/TSV)",
    KIND_BED: "BED peaks + genome FASTA",
}
KIND_HELP = {
    KIND_PAIR: "Two FASTA files: sequences the factor binds (label 1) and background sequences (label 0).",
    KIND_LABELLED: "One FASTA file whose headers carry the label: '>seq1 label=1' or '>seq1|1'. "
                   "Labels may be 0/1, class names or measured values.",
    KIND_TABLE: "A CSV or TSV table with one sequence column and one or more label columns "
                "(several label columns = several tasks learned at once).",
    KIND_BED: "Peaks in a BED file cut out of a genome FASTA as fixed-width windows centred on each peak, "
              "with a matched background made for you.",
}

FASTA_SUFFIXES = (".fa", ".fasta", ".fna", ".fas", ".ffn", ".fq", ".fastq", ".seq")
TABLE_SUFFIXES = (".csv", ".tsv", ".tab", ".txt")
BED_SUFFIXES = (".bed", ".narrowpeak", ".broadpeak")
_COMPRESSED = (".gz", ".bgz", ".bz2")
FASTA_FILTER = "FASTA or FASTQ (*.fa *.fasta *.fna *.fas *.fq *.fastq *.gz *.bgz);;All files (*)"
TABLE_FILTER = "Tables (*.csv *.tsv *.tab *.txt *.gz);;All files (*)"
BED_FILTER = "BED peaks (*.bed *.narrowPeak *.broadPeak *.gz);;All files (*)"
TEST_FILTER = "Sequences (*.fa *.fasta *.fna *.fq *.fastq *.csv *.tsv *.txt *.gz);;All files (*)"
#: Words in a file name that mark the background half of a dropped FASTA pair.
BACKGROUND_WORDS = ("background", "backgr", "bg", "neg", "negative", "negatives", "shuffled", "shuffle",
                    "control", "ctrl", "unbound", "random", "decoy")
PREVIEW_ROWS = 200
PREVIEW_BASES = 60
NONE_COLUMN = "(none)"

ERROR_STYLE = ("QFrame#problems { background: #fdecea; border: 1px solid #d93025; border-radius: 4px; }"
               "QFrame#problems QLabel { color: #8c1d18; }")


def file_kind(path: str | Path) -> str | None:
    """'fasta', 'table' or 'bed' from a file name (compression suffixes ignored); None when not recognised."""
    name = Path(path).name.lower()
    for comp in _COMPRESSED:
        if name.endswith(comp):
            name = name[: -len(comp)]
    suffix = Path(name).suffix
    if suffix in FASTA_SUFFIXES:
        return "fasta"
    if suffix in TABLE_SUFFIXES:
        return "table"
    if suffix in BED_SUFFIXES:
        return "bed"
    return None


def looks_like_background(path: str | Path) -> bool:
    """True when a file name says it holds background / negative sequences (e.g. ``ctcf_background.fa``)."""
    stem = Path(path).name.lower()
    words = [w for w in "".join(ch if ch.isalnum() else " " for ch in stem).split() if w]
    return any(w in BACKGROUND_WORDS for w in words)


def read_table_header(path: str | Path) -> list[str]:
    """Column names from the first non-comment line of a CSV/TSV file (gzip allowed).

    Tab-separated when the name ends in .tsv/.tab or the line holds a tab and no comma; comma-separated otherwise.

    Raises
    ------
    OSError, UnicodeDecodeError when the file cannot be read; ValueError when it has no header line;
    InputFileError for a named pipe, a device or a folder (refused before opening: it could block the window).
    """
    path = check_readable_file(path, "a CSV/TSV table")
    opener = gzip.open if path.name.lower().endswith((".gz", ".bgz")) else open
    with opener(path, "rt", encoding="utf-8-sig", newline="") as fh:
        for _ in range(1000):  # skip comment / blank lines, but never scan a whole file
            line = fh.readline()
            if not line:
                break
            if line.strip() and not line.lstrip().startswith("#"):
                name = path.name.lower().removesuffix(".gz").removesuffix(".bgz")
                tab = name.endswith((".tsv", ".tab")) or ("\t" in line and "," not in line)
                row = next(csv.reader(io.StringIO(line), delimiter="\t" if tab else ","))
                cols = [c.strip() for c in row]
                if any(cols):
                    return cols
    raise ValueError(f"{path}: no header row found (expected column names on the first line)")


class FilePicker(QWidget):
    """A path field with a "Browse…" button. ``sigChanged(str)`` fires when a file is chosen or typed."""

    sigChanged = Signal(str)
    #: Folder the next dialog opens in when the field is empty; the main window may restore it from QSettings.
    last_dir: str = ""

    def __init__(self, placeholder: str, file_filter: str, tooltip: str, dialog_title: str = "Choose a file",
                 parent=None):
        super().__init__(parent)
        self.file_filter = file_filter
        self.dialog_title = dialog_title
        self.edit = QLineEdit()
        self.edit.setPlaceholderText(placeholder)
        self.edit.setToolTip(tooltip)
        self.edit.setClearButtonEnabled(True)
        self.button = QToolButton()
        self.button.setText("Browse…")
        self.button.setToolTip(f"{dialog_title}…")
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.edit, 1)
        lay.addWidget(self.button)
        self.setToolTip(tooltip)
        self.button.clicked.connect(self._browse)
        self.edit.editingFinished.connect(self._typed)
        self._last_emitted = ""

    def path(self) -> str:
        return self.edit.text().strip()

    def set_path(self, path: str, emit: bool = True) -> None:
        self.edit.setText(str(path or ""))
        if path:
            FilePicker.last_dir = str(Path(path).parent)
        if emit:
            self._emit()

    def _typed(self) -> None:
        if self.path() != self._last_emitted:
            self._emit()

    def _emit(self) -> None:
        self._last_emitted = self.path()
        self.sigChanged.emit(self.path())

    def _browse(self) -> None:
        start = str(Path(self.path()).parent) if self.path() else FilePicker.last_dir
        path, _ = QFileDialog.getOpenFileName(self, self.dialog_title, start, self.file_filter)
        if path:
            self.set_path(path)


class RecordsModel(QAbstractTableModel):
    """The first records of a set (id, label, length, GC %, first bases), computed once for at most ``rows``.

    A model rather than thousands of ``QTableWidgetItem``s: the view asks only for the visible cells.
    """

    HEADERS = ("ID", "Label", "Length (bp)", "GC %", f"First {PREVIEW_BASES} bases")

    def __init__(self, parent=None):
        super().__init__(parent)
        self._rows: list[tuple[str, str, int, float, str]] = []

    def set_records(self, ss: SequenceSet | None, rows: int = PREVIEW_ROWS) -> None:
        self.beginResetModel()
        self._rows = []
        if ss is not None and len(ss):
            n = min(rows, len(ss))
            gc = S.gc_content(ss.codes[:n])
            lengths = ss.lengths if ss.lengths is not None else np.full(n, ss.length)
            self._rows = [(ss.ids[i], S.label_text(ss, i), int(lengths[i]), float(gc[i]) * 100.0,
                           S.record_preview(ss, i, PREVIEW_BASES)) for i in range(n)]
        self.endResetModel()

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802 (Qt API)
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.HEADERS)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row = self._rows[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            v = row[col]
            if col == 3:
                return "—" if not math.isfinite(v) else f"{v:.1f}"
            if col == 2:
                return f"{v:,}"
            return v
        if role == Qt.ItemDataRole.TextAlignmentRole and col in (2, 3):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.FontRole and col == 4:
            return QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        if role == Qt.ItemDataRole.ToolTipRole and col == 4:
            return "Padding is not shown; an ellipsis (…) means the sequence goes on."
        return None

    def headerData(self, section: int, orientation: Qt.Orientation,  # noqa: N802 (Qt API)
                   role: int = Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.HEADERS[section]
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Vertical:
            return str(section + 1)
        return None


class ProblemsPanel(QFrame):
    """A red box listing what went wrong, in words; hidden when there is nothing to say."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("problems")
        self.setStyleSheet(ERROR_STYLE)
        self.title = QLabel("<b>Problem</b>")
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.dismiss = QToolButton()
        self.dismiss.setText("Dismiss")
        self.dismiss.setToolTip("Hide this message")
        self.dismiss.clicked.connect(self.clear)
        top = QHBoxLayout()
        top.addWidget(self.title)
        top.addStretch(1)
        top.addWidget(self.dismiss)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(10, 6, 10, 8)
        lay.addLayout(top)
        lay.addWidget(self.label)
        self.hide()

    def show_message(self, msg: str) -> None:
        self.label.setText(msg)
        self.show()

    def clear(self) -> None:
        self.label.clear()
        self.hide()

    def text(self) -> str:
        return self.label.text()


class SequencesTab(QWidget):
    """Choose, open and inspect the sequences to learn from.

    Signals
    -------
    sigOpenRequested(object) : a validated ``DataConfig`` the window should load (off the GUI thread)
    """

    sigOpenRequested = Signal(object)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setAcceptDrops(True)
        self._data: SequenceSet | None = None
        self._data_cfg: DataConfig | None = None
        self._summary: S.SequenceSummary | None = None
        self._build_form()
        self._build_view()

        self.problems = ProblemsPanel()
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self._form_scroll)
        splitter.addWidget(self._view)
        splitter.setStretchFactor(0, 0)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([400, 800])
        splitter.setChildrenCollapsible(False)
        lay = QVBoxLayout(self)
        lay.addWidget(self.problems)
        lay.addWidget(splitter, 1)
        self.set_data_config(DataConfig())

    # ---- form --------------------------------------------------------------------------------------------
    def _build_form(self) -> None:
        form_widget = QWidget()
        outer = QVBoxLayout(form_widget)

        source = QGroupBox("1. Input files")
        src = QVBoxLayout(source)
        self.kind_combo = QComboBox()
        for key, label in KIND_LABELS.items():
            self.kind_combo.addItem(label, key)
            self.kind_combo.setItemData(self.kind_combo.count() - 1, KIND_HELP[key], Qt.ItemDataRole.ToolTipRole)
        self.kind_combo.setToolTip("What kind of files hold your sequences and labels.")
        self.kind_help = QLabel()
        self.kind_help.setWordWrap(True)
        self.kind_help.setStyleSheet("color: #5f6368;")
        self.pages = QStackedWidget()
        src.addWidget(self.kind_combo)
        src.addWidget(self.kind_help)
        src.addWidget(self.pages)

        # Bound + background
        page = QWidget()
        f = QFormLayout(page)
        self.bound_picker = FilePicker("bound.fa", FASTA_FILTER,
                                       "FASTA/FASTQ of sequences the factor binds (peaks): label 1.",
                                       "Choose the bound sequences")
        self.background_picker = FilePicker("background.fa", FASTA_FILTER,
                                            "FASTA/FASTQ of background sequences (not bound): label 0.",
                                            "Choose the background sequences")
        f.addRow("Bound:", self.bound_picker)
        f.addRow("Background:", self.background_picker)
        self.pages.addWidget(page)

        # Labelled FASTA
        page = QWidget()
        f = QFormLayout(page)
        self.labelled_picker = FilePicker("sequences.fa", FASTA_FILTER,
                                          "FASTA/FASTQ whose headers hold the label, e.g. '>seq1 label=1' or "
                                          "'>seq1|bound'.", "Choose a labelled FASTA file")
        f.addRow("FASTA:", self.labelled_picker)
        self.pages.addWidget(page)

        # Table
        page = QWidget()
        f = QFormLayout(page)
        self.table_picker = FilePicker("sequences.csv", TABLE_FILTER,
                                       "CSV or TSV table with a header row; the column names are offered below.",
                                       "Choose a table of sequences")
        self.sequence_column = QComboBox()
        self.sequence_column.setEditable(True)
        self.sequence_column.setToolTip("Column holding the DNA sequences.")
        self.label_list = QListWidget()
        self.label_list.setToolTip("Tick the label column(s) to learn. Several ticked columns are learned "
                                   "together as several tasks (multi-task).")
        self.label_list.setMaximumHeight(110)
        self.id_column = QComboBox()
        self.id_column.setToolTip("Optional column of record names; without one, records are named by row number.")
        f.addRow("Table:", self.table_picker)
        f.addRow("Sequence column:", self.sequence_column)
        f.addRow("Label column(s):", self.label_list)
        f.addRow("ID column:", self.id_column)
        self.pages.addWidget(page)

        # BED + genome
        page = QWidget()
        f = QFormLayout(page)
        self.bed_picker = FilePicker("peaks.bed", BED_FILTER,
                                     "Peaks (BED, narrowPeak): each becomes a window centred on the peak "
                                     "(on its summit for narrowPeak).", "Choose the peaks")
        self.genome_picker = FilePicker("genome.fa", FASTA_FILTER,
                                        "The genome FASTA the peaks refer to (same assembly, e.g. hg38); "
                                        "an index (.fai) is made next to it if missing.", "Choose the genome")
        self.width_spin = QSpinBox()
        self.width_spin.setRange(10, 100_000)
        self.width_spin.setSingleStep(50)
        self.width_spin.setSuffix(" bp")
        self.width_spin.setToolTip("Width of the window cut around each peak centre.")
        self.background_method = QComboBox()
        self.background_method.addItem("Shuffled peaks (same dinucleotides)", "shuffle")
        self.background_method.addItem("Flanking regions next to each peak", "flank")
        self.background_method.setToolTip(
            "Negatives to learn against. Shuffled: each peak's sequence shuffled keeping its dinucleotide "
            "content (no GC bias to learn). Flanking: genome windows beside each peak (same local context).")
        self.holdout_edit = QLineEdit()
        self.holdout_edit.setPlaceholderText("e.g. chr8, chr9 (empty: random split)")
        self.holdout_edit.setToolTip("Chromosomes held out entirely as the test set, separated by commas, so the "
                                     "model is tested on regions it has never seen. Empty: a random split.")
        f.addRow("Peaks (BED):", self.bed_picker)
        f.addRow("Genome FASTA:", self.genome_picker)
        f.addRow("Window width:", self.width_spin)
        f.addRow("Background:", self.background_method)
        f.addRow("Test chromosomes:", self.holdout_edit)
        self.pages.addWidget(page)
        outer.addWidget(source)

        settings = QGroupBox("2. Settings")
        f = QFormLayout(settings)
        self.length_spin = QSpinBox()
        self.length_spin.setRange(0, 1_000_000)
        self.length_spin.setSingleStep(50)
        self.length_spin.setSuffix(" bp")
        self.length_spin.setSpecialValueText("Longest sequence")
        self.length_spin.setToolTip("Length every sequence is brought to for the network. 0 = the longest "
                                    "sequence in the files.")
        self.policy_combo = QComboBox()
        self.policy_combo.addItem("Centre-crop longer, pad shorter", "fit")
        self.policy_combo.addItem("Refuse other lengths", "strict")
        self.policy_combo.setToolTip("What to do with sequences of another length: cut them to their centre or "
                                     "pad them evenly on both sides (padding is not a base), or stop with an "
                                     "error naming the first one.")
        self.task_combo = QComboBox()
        self.task_combo.addItem("Detect from the labels", "auto")
        self.task_combo.addItem("Binary (bound / not bound)", "binary")
        self.task_combo.addItem("Multiclass (one of several classes)", "multiclass")
        self.task_combo.addItem("Regression (a measured value)", "regression")
        self.task_combo.setToolTip("What to predict. Detect: 0/1 labels are binary, names are classes, other "
                                   "numbers are measured values (regression).")
        self.val_spin = self._percent_spin("Share of the sequences kept aside to choose the best epoch "
                                           "(never trained on).")
        self.test_spin = self._percent_spin("Share of the sequences kept aside for the final, unbiased test "
                                            "(ignored when a test file or test chromosomes are given).")
        self.test_picker = FilePicker("optional", TEST_FILTER,
                                      "Optional: a separate file of test sequences, in the same format and with "
                                      "labels. Without it, the test set is held out from the data above.",
                                      "Choose a test file")
        f.addRow("Target length:", self.length_spin)
        f.addRow("Other lengths:", self.policy_combo)
        f.addRow("Task:", self.task_combo)
        f.addRow("Validation set:", self.val_spin)
        f.addRow("Test set:", self.test_spin)
        f.addRow("Test file:", self.test_picker)
        outer.addWidget(settings)

        self.open_button = QPushButton("Open")
        self.open_button.setDefault(True)
        self.open_button.setMinimumHeight(32)
        self.open_button.setToolTip("Read the files with these settings and show a summary (you can also drop "
                                    "files onto this tab).")
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)
        self.progress.setTextVisible(False)
        self.progress.setMaximumHeight(10)
        self.progress.hide()
        self.busy_label = QLabel()
        self.busy_label.setWordWrap(True)
        self.busy_label.hide()
        self.hint = QLabel("Tip: drop FASTA, CSV/TSV or BED files anywhere on this tab.")
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet("color: #5f6368;")
        outer.addWidget(self.open_button)
        outer.addWidget(self.progress)
        outer.addWidget(self.busy_label)
        outer.addWidget(self.hint)
        outer.addStretch(1)

        self._form_scroll = QScrollArea()
        self._form_scroll.setWidgetResizable(True)
        self._form_scroll.setWidget(form_widget)
        self._form_scroll.setMinimumWidth(360)
        self._form_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self._form_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        # Combos size to their longest entry by default; let them shrink so the form never needs a scrollbar.
        for combo in form_widget.findChildren(QComboBox):
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(10)
            combo.setMinimumWidth(100)  # an explicit minimum overrides the long-entry minimum size hint

        self.kind_combo.currentIndexChanged.connect(self._kind_changed)
        self.table_picker.sigChanged.connect(self._table_chosen)
        self.open_button.clicked.connect(self._open_clicked)
        self._kind_changed(0)

    @staticmethod
    def _percent_spin(tooltip: str) -> QDoubleSpinBox:
        spin = QDoubleSpinBox()
        spin.setRange(0.0, 90.0)
        spin.setDecimals(1)
        spin.setSingleStep(5.0)
        spin.setSuffix(" %")
        spin.setToolTip(tooltip)
        return spin

    # ---- summary view ------------------------------------------------------------------------------------
    def _build_view(self) -> None:
        self._view = QStackedWidget()
        empty = QLabel("No sequences loaded yet.\n\nChoose your files on the left and press Open,\n"
                       "or drop FASTA, CSV/TSV or BED files anywhere on this tab.")
        empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        empty.setStyleSheet("color: palette(mid); font-size: 13pt;")
        self._view.addWidget(empty)

        page = QWidget()
        lay = QVBoxLayout(page)
        self.headline = QLabel()
        f = QFont()
        f.setPointSize(f.pointSize() + 4)
        f.setBold(True)
        self.headline.setFont(f)
        self.headline.setWordWrap(True)
        self.details = QLabel()
        self.details.setWordWrap(True)
        self.details.setTextFormat(Qt.TextFormat.RichText)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        lay.addWidget(self.headline)
        lay.addWidget(self.details)

        # the plots are made by ensure_plots, after the window's first paint: importing pyqtgraph takes ~0.5 s
        self.plots_box = QWidget()
        self.plots_box.setMinimumHeight(210)
        QHBoxLayout(self.plots_box).setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.plots_box, 3)

        self.table_caption = QLabel()
        lay.addWidget(self.table_caption)
        self.records_model = RecordsModel(self)
        self.records_view = QTableView()
        self.records_view.setModel(self.records_model)
        self.records_view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.records_view.setAlternatingRowColors(True)
        self.records_view.setWordWrap(False)
        self.records_view.verticalHeader().setDefaultSectionSize(22)
        header = self.records_view.horizontalHeader()
        header.setStretchLastSection(True)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        lay.addWidget(self.records_view, 4)
        self._view.addWidget(page)

    # ---- public API --------------------------------------------------------------------------------------
    def input_kind(self) -> str:
        """The form's input kind: 'pair', 'labelled', 'table' or 'bed'."""
        return self.kind_combo.currentData()

    def set_input_kind(self, kind: str) -> None:
        self.kind_combo.setCurrentIndex(list(KIND_LABELS).index(kind))

    def data_config(self) -> DataConfig:
        """The settings as a ``DataConfig`` (not validated; ``Open`` validates before emitting)."""
        kind = self.input_kind()
        cfg = DataConfig(
            length=self.length_spin.value(), length_policy=self.policy_combo.currentData(),
            task=self.task_combo.currentData(), val_fraction=round(self.val_spin.value() / 100.0, 4),
            test_fraction=round(self.test_spin.value() / 100.0, 4), test_file=self.test_picker.path(),
            width=self.width_spin.value(), background_method=self.background_method.currentData(),
        )
        if kind == KIND_PAIR:
            cfg.kind, cfg.fasta, cfg.background = "fasta", self.bound_picker.path(), self.background_picker.path()
        elif kind == KIND_LABELLED:
            cfg.kind, cfg.fasta = "fasta", self.labelled_picker.path()
        elif kind == KIND_TABLE:
            cfg.kind, cfg.table = "table", self.table_picker.path()
            cfg.sequence_column = self.sequence_column.currentText().strip()
            cfg.label_columns = self.checked_label_columns()
            idc = self.id_column.currentText()
            cfg.id_column = "" if idc == NONE_COLUMN else idc
        else:
            cfg.kind, cfg.bed, cfg.genome = "bed", self.bed_picker.path(), self.genome_picker.path()
            cfg.holdout_chromosomes = [c.strip() for c in self.holdout_edit.text().replace(";", ",").split(",")
                                       if c.strip()]
            cfg.test_file = ""  # BED input tests on held-out chromosomes, never on a separate file
        return cfg

    def set_data_config(self, cfg: DataConfig) -> None:
        """Fill the form from ``cfg`` (e.g. a reopened project); no file is read except a table's header."""
        if cfg.kind == "table":
            kind = KIND_TABLE
        elif cfg.kind == "bed":
            kind = KIND_BED
        else:
            kind = KIND_PAIR if cfg.background or (not cfg.fasta and self.input_kind() != KIND_LABELLED) \
                else KIND_LABELLED
        self.set_input_kind(kind)
        self.bound_picker.set_path(cfg.fasta if kind == KIND_PAIR else "", emit=False)
        self.background_picker.set_path(cfg.background, emit=False)
        self.labelled_picker.set_path(cfg.fasta if kind == KIND_LABELLED else "", emit=False)
        self.table_picker.set_path(cfg.table, emit=False)
        self._fill_columns(self._header_or_empty(cfg.table) if cfg.table else [],
                           cfg.sequence_column, list(cfg.label_columns), cfg.id_column)
        self.bed_picker.set_path(cfg.bed, emit=False)
        self.genome_picker.set_path(cfg.genome, emit=False)
        self.width_spin.setValue(cfg.width)
        _select_data(self.background_method, cfg.background_method)
        self.holdout_edit.setText(", ".join(cfg.holdout_chromosomes))
        self.test_picker.set_path(cfg.test_file, emit=False)
        self.length_spin.setValue(cfg.length)
        _select_data(self.policy_combo, cfg.length_policy)
        _select_data(self.task_combo, cfg.task)
        self.val_spin.setValue(cfg.val_fraction * 100.0)
        self.test_spin.setValue(cfg.test_fraction * 100.0)

    def checked_label_columns(self) -> list[str]:
        return [self.label_list.item(i).text() for i in range(self.label_list.count())
                if self.label_list.item(i).checkState() == Qt.CheckState.Checked]

    def ensure_plots(self) -> None:
        """Make the length, GC and label plots (once)."""
        if hasattr(self, "length_plot"):
            return
        from biodeep_gui.gui.widgets.plots import BarPlot, HistogramPlot

        self.length_plot = HistogramPlot("Sequence lengths", "Length (bp)", colour=0)
        self.length_plot.setToolTip("Lengths in the files, before centre-cropping or padding.")
        self.gc_plot = HistogramPlot("GC content", "GC %", colour=2)
        self.gc_plot.setToolTip("Share of G and C among the unambiguous bases of each sequence. Bound and "
                                "background sets with very different GC let a model cheat on GC alone.")
        self.balance_plot = BarPlot("Class balance")
        self.balance_plot.setToolTip("Records per class. A rare class may need class weighting (Training).")
        self.values_plot = HistogramPlot("Label values", "Value", colour=1)
        self.values_plot.setToolTip("Distribution of the measured values to predict (first target column).")
        self.label_stack = QStackedWidget()
        self.label_stack.addWidget(self.balance_plot)
        self.label_stack.addWidget(self.values_plot)
        for w in (self.length_plot, self.gc_plot, self.label_stack):
            w.setMinimumHeight(210)
            self.plots_box.layout().addWidget(w, 1)

    def show_data(self, ss: SequenceSet, cfg: DataConfig, summary: S.SequenceSummary | None = None) -> None:
        """Show what was loaded: headline, details, histograms, class balance and the first records.

        Parameters
        ----------
        ss : the loaded set
        cfg : the settings it was loaded with (the form is set to them)
        summary : ``core.summary.summarize(ss)`` if the caller computed it off the GUI thread; else computed here
        """
        self.ensure_plots()
        summ = summary if summary is not None else S.summarize(ss)
        self._data, self._data_cfg, self._summary = ss, cfg, summ
        self.set_data_config(cfg)
        self.problems.clear()

        task_words = {"binary": "binary task", "multiclass": f"{len(ss.class_names)}-class task",
                      "regression": "regression task", "none": "no labels"}.get(ss.task, ss.task)
        n_tasks = ss.labels.shape[1] if ss.labels.ndim == 2 else 0
        if ss.task == "binary" and n_tasks > 1:
            task_words = f"binary task × {n_tasks} labels"
        self.headline.setText(f"{summ.n_records:,} sequences · {summ.length:,} bp · {task_words}")
        self.details.setText(self._details_html(ss, cfg, summ))

        counts, edges = S.histogram(summ.lengths, bins=40)
        self.length_plot.set_histogram(counts, edges)
        counts, edges = S.histogram(summ.gc * 100.0, bins=50, value_range=(0.0, 100.0))
        self.gc_plot.set_histogram(counts, edges)
        if ss.task == "regression":
            counts, edges = S.histogram(ss.labels[:, 0], bins=40)
            self.values_plot.set_histogram(counts, edges)
            self.values_plot.set_title(f"Label values: {ss.label_names[0] if ss.label_names else 'target'}")
            self.label_stack.setCurrentWidget(self.values_plot)
        else:
            names, values, colours, notes = [], [], [], []
            for col, (label, classes) in enumerate(summ.classes.items()):
                for k, cls in enumerate(classes):
                    multi = len(summ.classes) > 1
                    names.append(f"{label}: {cls.name}" if multi else cls.name)
                    values.append(cls.count)
                    colours.append(col if multi else k)
                    notes.append(f"{cls.fraction:.0%}")
            self.balance_plot.set_bars(names, values, colours, notes)
            self.label_stack.setCurrentWidget(self.balance_plot)

        self.records_model.set_records(ss)
        self.records_view.resizeColumnsToContents()
        self.records_view.setColumnWidth(0, min(self.records_view.columnWidth(0), 220))
        shown = self.records_model.rowCount()
        self.table_caption.setText(f"First {shown:,} of {len(ss):,} records" if shown < len(ss)
                                   else f"All {len(ss):,} records")
        self._view.setCurrentIndex(1)

    def show_error(self, msg: str) -> None:
        """Show a problem in the red panel; whatever was loaded before stays shown."""
        self.set_busy(False)
        self.problems.show_message(msg)

    def set_busy(self, busy: bool, text: str = "") -> None:
        """While loading: Open disabled, an indeterminate progress bar and ``text`` (e.g. 'Reading 1.2 GB…')."""
        self.open_button.setEnabled(not busy)
        self.progress.setVisible(busy)
        self.busy_label.setText(text)
        self.busy_label.setVisible(busy and bool(text))

    def current_data(self) -> tuple[SequenceSet | None, DataConfig | None]:
        """The set last shown by ``show_data`` and its settings (None, None before)."""
        return self._data, self._data_cfg

    def current_summary(self) -> S.SequenceSummary | None:
        return self._summary

    def problem_text(self) -> str:
        """The message in the problems panel ('' when hidden)."""
        return "" if self.problems.isHidden() else self.problems.text()

    def add_files(self, paths: list[str]) -> list[str]:
        """Place files in the right pickers by their type, as a drop does.

        ``.bed`` -> BED peaks (a FASTA alongside -> genome); ``.csv``/``.tsv`` -> table; two FASTA -> bound +
        background (a name with 'background', 'neg', 'shuffled', 'control'… is the background); one FASTA ->
        completes a half-filled bound/background or BED form, else a labelled FASTA.

        Returns
        -------
        the paths that were not recognised (also reported in the problems panel)
        """
        kinds = {p: file_kind(p) for p in paths}
        fastas = [p for p in paths if kinds[p] == "fasta"]
        tables = [p for p in paths if kinds[p] == "table"]
        beds = [p for p in paths if kinds[p] == "bed"]
        unknown = [p for p in paths if kinds[p] is None]
        ignored: list[str] = []
        if beds:
            self.set_input_kind(KIND_BED)
            self.bed_picker.set_path(beds[0])
            if fastas:
                self.genome_picker.set_path(fastas[0])
            ignored = beds[1:] + fastas[1:] + tables
        elif tables:
            self.set_input_kind(KIND_TABLE)
            self.table_picker.set_path(tables[0])
            ignored = tables[1:] + fastas
        elif len(fastas) >= 2:
            bg = [p for p in fastas if looks_like_background(p)]
            background = bg[0] if bg else fastas[1]
            bound = next(p for p in fastas if p != background)
            self.set_input_kind(KIND_PAIR)
            self.bound_picker.set_path(bound)
            self.background_picker.set_path(background)
            ignored = [p for p in fastas if p not in (bound, background)]
        elif fastas:
            p = fastas[0]
            kind = self.input_kind()
            if kind == KIND_BED and self.bed_picker.path() and not self.genome_picker.path():
                self.genome_picker.set_path(p)
            elif kind == KIND_PAIR and (looks_like_background(p) or
                                        (self.bound_picker.path() and not self.background_picker.path())):
                self.background_picker.set_path(p)
            else:
                self.set_input_kind(KIND_LABELLED)
                self.labelled_picker.set_path(p)
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
            self.hint.setText("Files placed. Check the settings, then press Open.")
        return unknown

    # ---- events ------------------------------------------------------------------------------------------
    def dragEnterEvent(self, event) -> None:  # noqa: N802 (Qt API)
        if _local_files(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:  # noqa: N802
        if _local_files(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802
        paths = _local_files(event.mimeData())
        if not paths:
            event.ignore()
            return
        event.acceptProposedAction()
        self.add_files(paths)

    # ---- internals ---------------------------------------------------------------------------------------
    def _kind_changed(self, index: int) -> None:
        kind = self.kind_combo.itemData(index)
        self.pages.setCurrentIndex(index)
        # A stacked widget is as tall as its tallest page; let hidden pages take no room.
        for i in range(self.pages.count()):
            policy = QSizePolicy.Policy.Preferred if i == index else QSizePolicy.Policy.Ignored
            self.pages.widget(i).setSizePolicy(policy, policy)
        self.pages.adjustSize()
        self.kind_help.setText(KIND_HELP[kind])
        bed = kind == KIND_BED
        self.test_picker.setEnabled(not bed)
        self.test_picker.setToolTip("With BED peaks, hold out chromosomes instead of giving a test file." if bed
                                    else self.test_picker.edit.toolTip())

    def _table_chosen(self, path: str) -> None:
        if not path:
            self._fill_columns([], self.sequence_column.currentText(), self.checked_label_columns(),
                               self.id_column.currentText())
            return
        try:
            cols = read_table_header(path)
        except FileNotFoundError:
            self.problems.show_message(f"{path}: file not found.")
            return
        except BioDeepError as exc:
            self.problems.show_message(str(exc))
            return
        except (OSError, UnicodeDecodeError, ValueError, csv.Error) as exc:
            self.problems.show_message(f"{path}: could not read the column names ({exc}).")
            return
        self.problems.clear()
        self._fill_columns(cols, *_guess_columns(cols))

    def _header_or_empty(self, path: str) -> list[str]:
        try:
            return read_table_header(path)
        except (BioDeepError, OSError, UnicodeDecodeError, ValueError, csv.Error):
            return []  # the file may have moved; the saved column names are still offered

    def _fill_columns(self, cols: list[str], seq_col: str, label_cols: list[str], id_col: str) -> None:
        names = list(cols)
        for extra in [seq_col, *label_cols, id_col]:
            if extra and extra not in names and extra != NONE_COLUMN:
                names.append(extra)
        self.sequence_column.clear()
        self.sequence_column.addItems(names)
        if seq_col:
            self.sequence_column.setCurrentText(seq_col)
        self.label_list.clear()
        for name in names:
            item = QListWidgetItem(name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if name in label_cols else Qt.CheckState.Unchecked)
            self.label_list.addItem(item)
        self.id_column.clear()
        self.id_column.addItems([NONE_COLUMN] + names)
        self.id_column.setCurrentText(id_col or NONE_COLUMN)

    def _check(self, cfg: DataConfig) -> str:
        """The first problem with the form, in words, or ''."""
        kind = self.input_kind()
        needed = {
            KIND_PAIR: [(cfg.fasta, "bound FASTA"), (cfg.background, "background FASTA")],
            KIND_LABELLED: [(cfg.fasta, "labelled FASTA")],
            KIND_TABLE: [(cfg.table, "table")],
            KIND_BED: [(cfg.bed, "BED peaks"), (cfg.genome, "genome FASTA")],
        }[kind] + ([(cfg.test_file, "test")] if cfg.test_file else [])
        for path, what in needed:
            if not path:
                return f"Choose the {what} file first (Browse…, or drop it onto this tab)."
            if not Path(path).exists():
                return f"The {what} file {path} does not exist (moved or renamed?). Choose it again."
            try:  # a named pipe, a device or a folder: said here, never opened
                check_readable_file(path, f"a {what} file")
            except BioDeepError as exc:
                return str(exc)
        if kind == KIND_TABLE:
            if not cfg.sequence_column:
                return "Choose the column that holds the sequences."
            if not cfg.label_columns:
                return "Tick at least one label column (what the network should learn to predict)."
            if cfg.sequence_column in cfg.label_columns:
                return f"The column {cfg.sequence_column!r} cannot be both the sequences and a label."
        try:
            RunConfig(data=cfg).validate()
        except ConfigError as exc:
            msg = str(exc)
            if "fraction" in msg:
                return "The validation and test sets together must be less than 100 % of the sequences."
            return msg
        return ""

    def _open_clicked(self) -> None:
        cfg = self.data_config()
        problem = self._check(cfg)
        if problem:
            self.problems.show_message(problem)
            return
        self.problems.clear()
        self.sigOpenRequested.emit(cfg)

    def _details_html(self, ss: SequenceSet, cfg: DataConfig, s: S.SequenceSummary) -> str:
        rows = []
        if s.n_records:
            lens = (f"{s.length_min:,}–{s.length_max:,} bp (median {s.length_median:,.0f})"
                    if s.length_min != s.length_max else f"all {s.length_min:,} bp")
            fitted = []
            if s.n_cropped:
                fitted.append(f"{s.n_cropped:,} centre-cropped")
            if s.n_padded:
                fitted.append(f"{s.n_padded:,} padded")
            rows.append(("Lengths in the files", lens + (f"; {', '.join(fitted)} to {s.length:,} bp" if fitted
                                                         else "")))
            gc = "—" if not math.isfinite(s.mean_gc) else f"{s.mean_gc:.1%}"
            sampled = f" (profiled on {s.n_profiled:,} evenly spaced records)" if s.n_profiled < s.n_records else ""
            rows.append(("Mean GC content", gc + sampled))
            amb = f"{s.ambiguous_fraction:.2%} of bases"
            if s.n_with_ambiguous:
                amb += f"; {s.n_with_ambiguous:,} sequences hold at least one"
            rows.append(("N / ambiguous bases", amb))
        for label, classes in s.classes.items():
            parts = ", ".join(f"{_esc(c.name)} {c.count:,} ({c.fraction:.0%})" for c in classes)
            rows.append((f"Classes ({_esc(label)})" if len(s.classes) > 1 else "Classes", parts))
            if classes and min(c.fraction for c in classes) < 0.1:
                rows.append(("", "<span style='color:#b06000'>Unbalanced: consider class weighting "
                                 "(Training tab) and read AUPRC rather than accuracy.</span>"))
        for st in s.regression:
            rows.append((f"Values ({_esc(st.name)})",
                         f"mean {st.mean:.4g}, sd {st.std:.4g}, range {st.minimum:.4g} to {st.maximum:.4g}"
                         + (f"; {st.n_missing:,} missing" if st.n_missing else "")))
        files = ss.sources or cfg.input_files()
        if files:
            rows.append(("Files", "<br>".join(_esc(str(p)) for p in files)))
        cells = "".join(f"<tr><td style='padding-right:12px; color:#555'>{k}</td><td>{v}</td></tr>" for k, v in rows)
        return f"<table>{cells}</table>"


def _local_files(mime) -> list[str]:
    if mime is None or not mime.hasUrls():
        return []
    return [u.toLocalFile() for u in mime.urls() if u.isLocalFile() and u.toLocalFile()]


def _guess_columns(cols: list[str]) -> tuple[str, list[str], str]:
    """Likely sequence, label and id columns from their names."""
    low = [c.lower() for c in cols]
    seq = next((c for c, lc in zip(cols, low) if lc in ("sequence", "seq", "dna", "sequences")), "")
    seq = seq or next((c for c, lc in zip(cols, low) if "seq" in lc), "")
    ident = next((c for c, lc in zip(cols, low) if lc in ("id", "name", "ids", "seq_id", "sequence_id", "peak",
                                                           "record", "identifier")), "")
    labels = [c for c, lc in zip(cols, low) if lc in ("label", "labels", "class", "target", "y", "bound")]
    if not labels:
        labels = [c for c in cols if c not in (seq, ident)][:1]
    return seq, labels, ident


def _select_data(combo: QComboBox, value) -> None:
    i = combo.findData(value)
    if i >= 0:
        combo.setCurrentIndex(i)


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
