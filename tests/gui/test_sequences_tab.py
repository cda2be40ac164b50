"""Sequences tab driven like a user: fill the form, drop files, open real files through the core loader."""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl  # noqa: E402
from PySide6.QtGui import QDragEnterEvent, QDropEvent  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from biodeep_gui.core.common.errors import BioDeepError  # noqa: E402
from biodeep_gui.core.sequences.config import DataConfig  # noqa: E402
from biodeep_gui.core.sequences.io import load_sequences  # noqa: E402
from biodeep_gui.gui.tabs.sequences.data_files import file_kind, looks_like_background, read_table_header  # noqa: E402
from biodeep_gui.gui.tabs.sequences.data_form import KIND_BED, KIND_LABELLED, KIND_PAIR, KIND_TABLE  # noqa: E402
from biodeep_gui.gui.tabs.sequences.sequences_tab import SequencesTab  # noqa: E402

SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
MOTIF = "GGGCGGGGC"


def _fasta(path: Path, n: int, seed: int, motif: bool, prefix: str) -> Path:
    rng = np.random.default_rng(seed)
    lines = []
    for i in range(n):
        length = int(rng.integers(40, 61))
        seq = "".join(rng.choice(list("ACGT"), length))
        if motif:
            p = int(rng.integers(0, length - len(MOTIF) - 4))  # never over the N's below
            seq = seq[:p] + MOTIF + seq[p + len(MOTIF):]
        if i % 25 == 0:
            seq = seq[:-3] + "NN" + seq[-1:]
        lines += [f">{prefix}{i}", seq]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def tab(qtbot):
    w = SequencesTab()
    qtbot.addWidget(w)
    w.resize(1300, 850)
    w.show()
    return w


@pytest.fixture
def pair(tmp_path):
    return (_fasta(tmp_path / "ctcf_peaks.fa", 150, 1, True, "peak"),
            _fasta(tmp_path / "ctcf_background.fa", 150, 2, False, "bg"))


def _type_path(qtbot, picker, path):
    picker.edit.clear()
    qtbot.keyClicks(picker.edit, str(path))
    qtbot.keyClick(picker.edit, Qt.Key.Key_Return)


def _drop(widget, paths) -> bool:
    """Drag files over the widget and drop them, as the window system does; True when both were accepted."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    enter = QDragEnterEvent(QPoint(20, 20), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, enter)  # Qt delivers a drop only to a widget that accepted the drag
    drop = QDropEvent(QPointF(20, 20), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, drop)
    return bool(enter.isAccepted() and drop.isAccepted())  # read now: events must not outlive their mime data


def test_filled_form_emits_the_data_config(qtbot, tab, pair):
    bound, background = pair
    tab.form.kind_combo.setCurrentIndex(tab.form.kind_combo.findData(KIND_PAIR))
    _type_path(qtbot, tab.form.bound_picker, bound)
    _type_path(qtbot, tab.form.background_picker, background)
    tab.form.length_spin.setValue(48)
    tab.form.policy_combo.setCurrentIndex(tab.form.policy_combo.findData("strict"))
    tab.form.task_combo.setCurrentIndex(tab.form.task_combo.findData("binary"))
    tab.form.val_spin.setValue(15)
    tab.form.test_spin.setValue(20)
    with qtbot.waitSignal(tab.sigOpenRequested, timeout=2000) as blocker:
        qtbot.mouseClick(tab.open_button, Qt.MouseButton.LeftButton)
    cfg = blocker.args[0]
    assert isinstance(cfg, DataConfig)
    assert (cfg.kind, cfg.fasta, cfg.background) == ("fasta", str(bound), str(background))
    assert (cfg.length, cfg.length_policy, cfg.task) == (48, "strict", "binary")
    assert (cfg.val_fraction, cfg.test_fraction) == (0.15, 0.2)
    assert not tab.problem_text()


def test_open_refuses_incomplete_or_impossible_settings(qtbot, tab, pair, tmp_path):
    tab.form.set_input_kind(KIND_PAIR)
    with qtbot.assertNotEmitted(tab.sigOpenRequested):
        qtbot.mouseClick(tab.open_button, Qt.MouseButton.LeftButton)
    assert "Choose the bound FASTA file" in tab.problem_text()

    tab.form.bound_picker.set_path(str(pair[0]))
    tab.form.background_picker.set_path(str(tmp_path / "moved.fa"))
    with qtbot.assertNotEmitted(tab.sigOpenRequested):
        qtbot.mouseClick(tab.open_button, Qt.MouseButton.LeftButton)
    assert "moved.fa does not exist" in tab.problem_text()

    tab.form.background_picker.set_path(str(pair[1]))
    tab.form.val_spin.setValue(60)
    tab.form.test_spin.setValue(40)
    with qtbot.assertNotEmitted(tab.sigOpenRequested):
        qtbot.mouseClick(tab.open_button, Qt.MouseButton.LeftButton)
    assert "less than 100 %" in tab.problem_text()


def test_table_header_offers_columns_and_multi_task_labels(qtbot, tab, tmp_path):
    table = tmp_path / "chip.tsv"
    table.write_text("# exported by a lab pipeline\nname\tsequence\tctcf\trest\n"
                     "a\tACGTACGTAA\t1\t0\nb\tTTTTACGTAA\t0\t1\n")
    assert read_table_header(table) == ["name", "sequence", "ctcf", "rest"]
    tab.form.set_input_kind(KIND_TABLE)
    _type_path(qtbot, tab.form.table_picker, table)
    assert [tab.form.sequence_column.itemText(i) for i in range(tab.form.sequence_column.count())] == \
        ["name", "sequence", "ctcf", "rest"]
    assert tab.form.sequence_column.currentText() == "sequence"
    assert tab.form.id_column.currentText() == "name"
    assert tab.form.checked_label_columns() == ["ctcf"]
    rest = tab.form.label_list.findItems("rest", Qt.MatchFlag.MatchExactly)[0]
    rest.setCheckState(Qt.CheckState.Checked)
    with qtbot.waitSignal(tab.sigOpenRequested, timeout=2000) as blocker:
        qtbot.mouseClick(tab.open_button, Qt.MouseButton.LeftButton)
    cfg = blocker.args[0]
    assert (cfg.kind, cfg.table, cfg.sequence_column, cfg.label_columns, cfg.id_column) == \
        ("table", str(table), "sequence", ["ctcf", "rest"], "name")


def test_dropped_files_land_in_the_right_pickers(qtbot, tab, pair, tmp_path):
    bound, background = pair
    accepted = _drop(tab, [background, bound])  # background first: recognised by its name anyway
    assert accepted
    assert tab.form.input_kind() == KIND_PAIR
    assert tab.form.bound_picker.path() == str(bound) and tab.form.background_picker.path() == str(background)

    csv_file = tmp_path / "scores.csv"
    csv_file.write_text("id,seq,label\nx,ACGT,1\n")
    _drop(tab, [csv_file])
    assert tab.form.input_kind() == KIND_TABLE and tab.form.table_picker.path() == str(csv_file)
    assert tab.form.sequence_column.currentText() == "seq" and tab.form.checked_label_columns() == ["label"]

    bed = tmp_path / "peaks.narrowPeak.gz"
    bed.write_bytes(b"")
    genome = tmp_path / "hg38.fa.gz"
    genome.write_bytes(b"")
    _drop(tab, [genome, bed])
    assert tab.form.input_kind() == KIND_BED
    assert (tab.form.bed_picker.path(), tab.form.genome_picker.path()) == (str(bed), str(genome))

    one = _fasta(tmp_path / "labelled.fasta", 3, 5, False, "r")
    _drop(tab, [one])
    assert tab.form.input_kind() == KIND_LABELLED and tab.form.labelled_picker.path() == str(one)

    text_drag = QMimeData()
    text_drag.setText("ACGT")
    enter = QDragEnterEvent(QPoint(20, 20), Qt.DropAction.CopyAction, text_drag, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(tab, enter)
    assert not enter.isAccepted()  # only files can be dropped

    doc = tmp_path / "notes.docx"
    doc.write_bytes(b"")
    _drop(tab, [doc])
    assert "notes.docx" in tab.problem_text() and "Not a sequence file" in tab.problem_text()
    assert tab.form.labelled_picker.path() == str(one)  # nothing already chosen was lost


def test_file_name_rules():
    assert file_kind("x.FA.gz") == "fasta" and file_kind("x.fastq.bz2") == "fasta"
    assert file_kind("x.tsv") == "table" and file_kind("x.narrowPeak") == "bed"
    assert file_kind("x.docx") is None
    assert looks_like_background("ctcf_shuffled.fa") and looks_like_background("NEG-set.fa")
    assert not looks_like_background("ctcf_peaks.fa") and not looks_like_background("bgee.fa")


def test_config_round_trip_for_every_input_kind(tab, tmp_path):
    configs = [
        DataConfig(kind="fasta", fasta="/d/b.fa", background="/d/n.fa", length=120, task="binary"),
        DataConfig(kind="fasta", fasta="/d/l.fa", length_policy="strict", val_fraction=0.2, test_fraction=0.05),
        DataConfig(kind="table", table="/d/missing.csv", sequence_column="dna", label_columns=["a", "b"],
                   id_column="gene", task="regression", test_file="/d/test.csv"),
        DataConfig(kind="bed", bed="/d/p.bed", genome="/d/g.fa", width=300, background_method="flank",
                   holdout_chromosomes=["chr8", "chr9"]),
    ]
    for cfg in configs:
        tab.set_data_config(cfg)
        assert tab.data_config() == cfg


def test_open_real_files_then_show_data_and_errors(qtbot, tab, pair, tmp_path):
    bound, background = pair
    _drop(tab, [bound, background])
    with qtbot.waitSignal(tab.sigOpenRequested, timeout=2000) as blocker:
        qtbot.mouseClick(tab.open_button, Qt.MouseButton.LeftButton)
    cfg = blocker.args[0]
    tab.set_busy(True, "Reading 300 sequences…")
    assert not tab.open_button.isEnabled() and tab.form.progress.isVisible()
    ss = load_sequences(cfg)  # the window does this off the GUI thread
    tab.set_busy(False)
    tab.show_data(ss, cfg)

    assert tab.open_button.isEnabled() and not tab.form.progress.isVisible()
    assert tab.view.headline.text() == "300 sequences · 60 bp · binary task"
    assert tab.view.records_model.rowCount() == 200
    assert tab.view.table_caption.text() == "First 200 of 300 records"
    first = [tab.view.records_model.index(0, c).data() for c in range(5)]
    assert first[0] == ss.ids[0] and first[1] == "bound"
    assert int(first[2]) == int(ss.lengths[0]) and MOTIF in first[4]
    details = tab.view.details.text()
    assert "background 150 (50%)" in details and "bound 150 (50%)" in details
    assert "N / ambiguous bases" in details and "12 sequences hold at least one" in details
    assert tab.view.length_plot.n_bins() > 0 and tab.view.gc_plot.n_bins() == 50
    assert tab.view.balance_plot.n_bars() == 2
    SHOTS.mkdir(parents=True, exist_ok=True)
    tab.grab().save(str(SHOTS / "sequences_tab.png"))

    # A bad file: the loader's message is shown and the loaded data stay on screen.
    bad = tmp_path / "bad.fa"
    bad.write_text(">ok\nACGT\n>broken\nACXGT\n")
    with pytest.raises(BioDeepError) as err:
        load_sequences(DataConfig(kind="fasta", fasta=str(bad), background=str(background)))
    tab.show_error(str(err.value))
    assert "bad.fa" in tab.problem_text() and tab.problems.isVisible()
    assert tab.view.headline.text() == "300 sequences · 60 bp · binary task"
    assert tab.view.records_model.rowCount() == 200
    assert tab.current_data()[0] is ss
    tab.grab().save(str(SHOTS / "sequences_tab_error.png"))


def test_regression_table_shows_value_histogram(qtbot, tab, tmp_path):
    rng = np.random.default_rng(3)
    rows = ["id,sequence,affinity"] + [f"r{i},{''.join(rng.choice(list('ACGT'), 30))},{rng.normal():.3f}"
                                       for i in range(40)]
    table = tmp_path / "affinity.csv"
    table.write_text("\n".join(rows) + "\n")
    _drop(tab, [table])
    with qtbot.waitSignal(tab.sigOpenRequested, timeout=2000) as blocker:
        qtbot.mouseClick(tab.open_button, Qt.MouseButton.LeftButton)
    cfg = blocker.args[0]
    ss = load_sequences(cfg)
    tab.show_data(ss, cfg)
    assert ss.task == "regression"
    assert tab.view.label_stack.currentWidget() is tab.view.values_plot and tab.view.values_plot.n_bins() > 0
    assert "Values (affinity)" in tab.view.details.text()
    assert tab.view.table_caption.text() == "All 40 records"
