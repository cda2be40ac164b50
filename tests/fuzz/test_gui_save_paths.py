"""The window's save dialogs keep the CLI's output rule: an input file, a file inside a run folder, or a folder of
someone else's files chosen as the output is refused with a message, and nothing is written over (checksums).

Every save dialog asks through ``gui.session.choose_save_path``; the dialogs are answered here by stubs, the way a
user's choice arrives.
"""
from __future__ import annotations

import hashlib
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PySide6.QtWidgets import QFileDialog, QWidget  # noqa: E402

from biodeep_gui.gui.session import choose_save_path  # noqa: E402

# The GUI suite's fixtures: private settings / data folders, a shown window closed at the end, no thread left
from tests.gui.conftest import _isolated_gui_state, shot, window  # noqa: E402,F401


def _digest(*paths: Path) -> dict[str, str]:
    """sha256 of every regular file under ``paths``."""
    out = {}
    for p in paths:
        files = [p] if p.is_file() else sorted(f for f in p.rglob("*") if f.is_file())
        for f in files:
            out[str(f)] = hashlib.sha256(f.read_bytes()).hexdigest()
    return out


def _answer(monkeypatch, path, chosen: str = "") -> None:
    """Every save / folder dialog answers ``path`` (as a user picking it)."""
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(path), chosen)))
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(lambda *a, **k: str(path)))


@pytest.fixture(scope="module")
def run(train_gc_box):
    return train_gc_box("cnn", "GC-box CNN", epochs=3)


# ---- the helper itself --------------------------------------------------------------------------------------------
def test_an_input_file_is_refused_and_kept(qtbot, monkeypatch, tmp_path):
    parent = QWidget()
    qtbot.addWidget(parent)
    data = tmp_path / "peaks.fa"
    data.write_text(">a\nACGT\n")
    before = _digest(data)
    said = []
    _answer(monkeypatch, data)
    assert choose_save_path(parent, "Export predictions", "", "CSV table (*.csv)", inputs=[str(data)],
                            refuse=said.append) is None
    assert len(said) == 1 and "Export predictions" in said[0] and "is the input" in said[0] and str(data) in said[0]
    assert _digest(data) == before


def test_a_file_inside_a_run_folder_is_refused(qtbot, monkeypatch, run):
    parent = QWidget()
    qtbot.addWidget(parent)
    before = _digest(run.path)
    for name in ("run.json", "model.safetensors", "new.csv"):
        said = []
        _answer(monkeypatch, run.path / name)
        assert choose_save_path(parent, "Export figure", "", "PNG image (*.png)", refuse=said.append) is None
        assert "inside the run folder" in said[0], name
    assert _digest(run.path) == before


def test_a_typed_name_gets_the_filter_suffix(qtbot, monkeypatch, tmp_path):
    parent = QWidget()
    qtbot.addWidget(parent)
    _answer(monkeypatch, tmp_path / "figure", "SVG vector figure (*.svg)")
    assert choose_save_path(parent, "Export figure", "", "PNG image (*.png);;SVG vector figure (*.svg)") == \
        tmp_path / "figure.svg"
    _answer(monkeypatch, tmp_path / "scores", "All files (*)")  # no suffix in the chosen filter: the first one's
    assert choose_save_path(parent, "Export", "", "CSV table (*.csv);;All files (*)") == tmp_path / "scores.csv"


def test_export_folders_refuse_other_files_but_take_their_own(qtbot, monkeypatch, tmp_path):
    parent = QWidget()
    qtbot.addWidget(parent)
    foreign = tmp_path / "thesis"
    foreign.mkdir()
    (foreign / "chapter1.docx").write_bytes(b"\x50\x4b\x03\x04 not ours")
    before = _digest(foreign)
    said = []
    _answer(monkeypatch, foreign)
    assert choose_save_path(parent, "Export the filters to a folder", kind="folder", own_suffixes=(".meme", ".tsv"),
                            refuse=said.append) is None
    assert "already holds files" in said[0] and _digest(foreign) == before
    ours = tmp_path / "filters"
    ours.mkdir()
    (ours / "filters.meme").write_text("MEME version 4\n")
    _answer(monkeypatch, ours)
    assert choose_save_path(parent, "Export the filters to a folder", kind="folder",
                            own_suffixes=(".meme", ".tsv")) == ours  # exporting again into the same folder


def test_without_a_refuse_callback_a_warning_box_says_why(qtbot, monkeypatch, tmp_path):
    from PySide6.QtWidgets import QMessageBox

    parent = QWidget()
    qtbot.addWidget(parent)
    data = tmp_path / "labels.tsv"
    data.write_text("id\tlabel\n")
    _answer(monkeypatch, data)
    assert choose_save_path(parent, "Save project", "", "", inputs=[str(data)]) is None
    boxes = [b for b in parent.findChildren(QMessageBox) if b.isVisible()]
    assert len(boxes) == 1 and "is the input" in boxes[0].text()
    boxes[0].close()


# ---- the tabs and controllers that write --------------------------------------------------------------------------
def test_predict_export_onto_its_own_input_or_into_the_run_is_refused(qtbot, monkeypatch, tmp_path, run):
    from biodeep_gui.core.sequences.tables import load_unlabelled
    from biodeep_gui.gui.tabs.sequences.predict_tab import PredictTab

    fasta = tmp_path / "new.fa"
    rng = np.random.default_rng(0)
    fasta.write_text("".join(f">s{i}\n{''.join(rng.choice(list('ACGT'), 50))}\n" for i in range(6)))
    tab = PredictTab()
    qtbot.addWidget(tab)
    tab.set_run(run)
    tab.file_picker.set_path(str(fasta))
    ss = load_unlabelled(str(fasta), length=run.info.length)
    tab.show_predictions(ss.ids, run.predict(ss.codes), ["P(bound)"])
    before = _digest(fasta, run.path)
    for target, why in ((fasta, "is the input"), (run.path / "run.json", "lies inside the input")):
        _answer(monkeypatch, target, "CSV table (*.csv)")
        with qtbot.assertNotEmitted(tab.sigExported):
            tab._export_clicked()
        assert why in tab.problems.text() and str(target) in tab.problems.text()
    tab.resize(1000, 600)
    tab.show()
    shot(tab, "predict_export_refused")
    assert _digest(fasta, run.path) == before
    good = tmp_path / "scores.csv"
    _answer(monkeypatch, good, "CSV table (*.csv)")
    with qtbot.waitSignal(tab.sigExported):
        tab._export_clicked()
    assert good.read_text().startswith("id,")


def test_results_figure_export_starts_outside_the_run_and_refuses_its_files(qtbot, monkeypatch, run):
    from biodeep_gui.gui.tabs.sequences.results_tab import ResultsTab

    tab = ResultsTab()
    qtbot.addWidget(tab)
    tab.resize(1000, 700)
    tab.show()
    tab.show_run(run)
    starts = []

    def dialog(_parent, _title, start, _filters):
        starts.append(start)
        return str(run.path / "history.csv"), "PNG image (*.png)"

    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(dialog))
    before = _digest(run.path)
    with qtbot.assertNotEmitted(tab.sigFigureExported):
        tab._export_clicked()
    assert Path(starts[0]).parent == Path(run.path).parent  # the suggested name is beside the run, not inside it
    assert "lies inside the input" in tab.notice.text() and "history.csv" in tab.notice.text()
    assert _digest(run.path) == before


def test_window_figure_export_and_save_run_as_keep_runs_and_inputs(qtbot, monkeypatch, window, run, tmp_path):
    window.build_tabs()
    window.results_tab.show_run(run)
    before = _digest(run.path)
    _answer(monkeypatch, run.path / "metrics.json", "PNG image (*.png)")
    assert window.session.export_figure(window.training_tab, "curves.png") is None
    assert any("metrics.json' lies inside" in b.text() for b in window.session.open_dialogs())
    window.session.close_dialogs()
    # Save run as: onto the run itself, into it, or onto another existing run
    other = tmp_path / "other-run"
    import shutil

    shutil.copytree(run.path, other)
    other_before = _digest(other)
    for target in (run.path, run.path / "copy", other):
        _answer(monkeypatch, target)
        window.sequences.ask_save_run_as()
        assert window.session.open_dialogs(), target
        window.session.close_dialogs()
    assert _digest(run.path) == before and _digest(other) == other_before
    _answer(monkeypatch, tmp_path / "saved-copy")
    window.sequences.ask_save_run_as()
    assert (tmp_path / "saved-copy" / "run.json").is_file()
