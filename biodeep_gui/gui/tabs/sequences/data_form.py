"""The Sequences tab's form: which input files, read how, split how; what ``Open`` asks the window to load.

``DataForm`` turns its fields into a ``DataConfig`` (``data_config``), fills them from one (``set_data_config``),
checks them before ``Open`` (``check``) and places dropped files in the right pickers (``place_files``). It never
reads sequences: only a table's header, to offer its column names.
"""
from __future__ import annotations

import csv
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QFrame,
    QGroupBox,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from biodeep_gui.core.common.errors import BioDeepError, ConfigError
from biodeep_gui.core.common.fileio import check_readable_file
from biodeep_gui.core.sequences.cache import AUTO_BED_BYTES, AUTO_BYTES, default_root
from biodeep_gui.core.sequences.config import DataConfig, RunConfig
from biodeep_gui.gui.tabs.sequences.data_files import (
    BED_FILTER,
    FASTA_FILTER,
    TABLE_FILTER,
    TEST_FILTER,
    file_kind,
    guess_columns,
    looks_like_background,
    read_table_header,
)
from biodeep_gui.gui.tabs.sequences.form_widgets import FilePicker

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
NONE_COLUMN = "(none)"


class DataForm(QScrollArea):
    """The input files and settings of the Sequences tab, in a scroll area.

    Signals
    -------
    sigOpenRequested(object) : ``Open`` was pressed and the form passed ``check``: the ``DataConfig`` to load
    sigProblem(str) : a problem with the form, in words; '' when the last one is solved
    sigCacheModeChosen(str) : the user picked an encoded-cache mode ('auto', 'on', 'off'); not emitted when a
        project or run fills the form, so that only the user's own choice is remembered between sessions
    """

    sigOpenRequested = Signal(object)
    sigProblem = Signal(str)
    sigCacheModeChosen = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
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
        self.cache_combo = QComboBox()
        self.cache_combo.addItem("Automatic (large inputs)", "auto")
        self.cache_combo.addItem("Always", "on")
        self.cache_combo.addItem("Never", "off")
        self.cache_combo.setToolTip(
            "<p>Encoded cache on disk: the sequences are translated once into a compact form kept on disk, and "
            "every later run on the same files (and the same length and task settings) reuses it instead of "
            "reading them again. The sequences then stay on disk while training, so millions of sequences fit "
            "in a laptop's memory.</p><p><b>Automatic</b>: only when the FASTA or table files are larger than "
            f"{AUTO_BYTES >> 20} MiB together, or a BED file of peaks is larger than {AUTO_BED_BYTES >> 20} MiB "
            "(about 50,000 peaks; the genome is read one window at a time either way). <b>Always</b> / "
            "<b>Never</b>: whatever their size.</p>"
            f"<p>The cache lives in {default_root()}. Deleting it is safe: it is made again when needed "
            "(File ▸ Clear encoded cache…).</p>")
        f.addRow("Test file:", self.test_picker)
        # two lines: on one, this label widened the label column and cut the combos' texts in a 1024-px window
        f.addRow("Encoded cache\non disk:", self.cache_combo)
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

        self.setWidgetResizable(True)
        self.setWidget(form_widget)
        self.setMinimumWidth(360)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        # Combos size to their longest entry by default; let them shrink so the form never needs a scrollbar.
        for combo in form_widget.findChildren(QComboBox):
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(10)
            combo.setMinimumWidth(100)  # an explicit minimum overrides the long-entry minimum size hint

        self.kind_combo.currentIndexChanged.connect(self._kind_changed)
        self.table_picker.sigChanged.connect(self._table_chosen)
        self.open_button.clicked.connect(self._open_clicked)
        self.cache_combo.activated.connect(self._cache_chosen)
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
            cache=self.cache_mode(),
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
        self.set_cache_mode(cfg.cache)

    def cache_mode(self) -> str:
        """``DataConfig.cache``: 'auto', 'on' or 'off'."""
        return self.cache_combo.currentData()

    def set_cache_mode(self, mode: str) -> None:
        """Choose 'auto', 'on' or 'off'; anything else (a damaged setting) leaves the choice as it is."""
        _select_data(self.cache_combo, mode)

    def checked_label_columns(self) -> list[str]:
        return [self.label_list.item(i).text() for i in range(self.label_list.count())
                if self.label_list.item(i).checkState() == Qt.CheckState.Checked]

    def set_busy(self, busy: bool, text: str = "") -> None:
        """While loading: Open disabled, an indeterminate progress bar and ``text`` (e.g. 'Reading 1.2 GB…')."""
        self.open_button.setEnabled(not busy)
        self.progress.setVisible(busy)
        self.busy_label.setText(text)
        self.busy_label.setVisible(busy and bool(text))

    def place_files(self, paths: list[str]) -> tuple[list[str], list[str]]:
        """Put files in the right pickers by their type (nothing is read but a table's header).

        ``.bed`` -> BED peaks (a FASTA alongside -> genome); ``.csv``/``.tsv`` -> table; two FASTA -> bound +
        background (a name with 'background', 'neg', 'shuffled', 'control'… is the background); one FASTA ->
        completes a half-filled bound/background or BED form, else a labelled FASTA.

        Returns
        -------
        the paths that were not recognised, and those left out (one input at a time)
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
        return unknown, ignored

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

    def _cache_chosen(self, _index: int) -> None:
        self.sigCacheModeChosen.emit(self.cache_mode())

    def _table_chosen(self, path: str) -> None:
        if not path:
            self._fill_columns([], self.sequence_column.currentText(), self.checked_label_columns(),
                               self.id_column.currentText())
            return
        try:
            cols = read_table_header(path)
        except FileNotFoundError:
            self.sigProblem.emit(f"{path}: file not found.")
            return
        except BioDeepError as exc:  # a named pipe, a device or a folder: refused before opening
            self.sigProblem.emit(str(exc))
            return
        except (OSError, UnicodeDecodeError, ValueError, csv.Error) as exc:
            self.sigProblem.emit(f"{path}: could not read the column names ({exc}).")
            return
        self.sigProblem.emit("")
        self._fill_columns(cols, *guess_columns(cols))

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

    def check(self, cfg: DataConfig) -> str:
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
        problem = self.check(cfg)
        self.sigProblem.emit(problem)
        if not problem:
            self.sigOpenRequested.emit(cfg)


def _select_data(combo: QComboBox, value) -> None:
    i = combo.findData(value)
    if i >= 0:
        combo.setCurrentIndex(i)
