"""Bad files through the window's open paths: a readable error, the app stays usable, loaded data stay shown.

Each bad file is opened the way a user does it: the Sequences tab's form and its Open button (the tab's
``sigOpenRequested`` -> ``MainWindow.open_data`` -> worker -> core loader), and File > Open sequences (the file
dialog, answered here by a stub). The window must show the error in the Sequences tab naming the file, keep the
sequences loaded before, and open good files afterwards.
"""
from __future__ import annotations

import gzip
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path  # noqa: E402

from biodeep_gui.core.sequences.config import DataConfig  # noqa: E402

# The GUI suite's fixtures: private settings / data folders, a shown window closed at the end, no thread left
from tests.gui.conftest import _isolated_gui_state, demo_files, window  # noqa: E402,F401

TIMEOUT_MS = 60_000


def _write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


def bad_inputs(folder: Path, demo: dict[str, Path]) -> list[tuple[str, DataConfig, Path]]:
    """(case, form settings, the file the message must name)."""
    good_bound, good_bg, genome = str(demo["bound"]), str(demo["background"]), str(demo["genome"])
    cases = []

    def pair(case, name, data, side="background"):
        p = _write(folder, name, data)
        cfg = DataConfig(kind="fasta", fasta=good_bound if side == "background" else str(p),
                         background=str(p) if side == "background" else good_bg)
        cases.append((case, cfg, p))

    def labelled(case, name, data):
        p = _write(folder, name, data)
        cases.append((case, DataConfig(kind="fasta", fasta=str(p)), p))

    def table(case, name, data):
        p = _write(folder, name, data)
        cases.append((case, DataConfig(kind="table", table=str(p), sequence_column="sequence",
                                       label_columns=["label"]), p))

    def bed(case, name, data):
        p = _write(folder, name, data)
        cases.append((case, DataConfig(kind="bed", bed=str(p), genome=genome, width=200), p))

    pair("empty background", "empty_background.fa", b"")
    pair("binary bound file", "binary_bound.fa", bytes(range(256)) * 8, side="bound")
    pair("UTF-16 background", "utf16_background.fa", ">a\nACGT\n".encode("utf-16"))
    pair("truncated gzip background", "cut_background.fa.gz", gzip.compress(b">a\nACGT\n" * 400)[:40])
    pair("latin-1 byte in a sequence", "latin1_background.fa", b">a\nAC\xe9GT\n")
    pair("huge line with a bad character", "huge_background.fa", b">a\n" + b"ACGT" * 250_000 + b"Z\n")
    labelled("labelled FASTA without labels", "no_labels.fa", b">a\nACGT\n>b\nACGA\n")
    labelled("labelled FASTA with a NaN label", "nan_label.fa", b">a label=nan\nACGT\n>b label=1.5\nACGA\n")
    table("table with an inf label", "inf_label.csv", b"sequence,label\nACGT,inf\nACGA,1.5\nAAAA,2\n")
    table("table with a ragged row", "ragged.csv", b"sequence,label\nACGT,1\nACGA,0,7\n")
    table("table with a bad sequence", "bad_sequence.csv", b"sequence,label\nACGT,1\nAC!A,0\n")
    bed("BED interval past the chromosome end", "outside.bed", b"chr1\t209900\t210500\n")
    bed("BED with text coordinates", "text_coordinates.bed", b"chr1\tten\ttwenty\n")
    return cases


def _open_and_wait(qtbot, window, cfg: DataConfig) -> str:
    tab = window.sequences_tab
    tab.set_data_config(cfg)
    assert tab.open_button.isEnabled()
    tab.open_button.click()
    qtbot.waitUntil(lambda: tab.open_button.isEnabled() and not window.data_runner.is_running(), timeout=TIMEOUT_MS)
    return tab.problem_text()


def _shown(window):
    tab = window.sequences_tab
    data, cfg = tab.current_data()
    return data, cfg, tab.view.headline.text(), tab.view.records_model.rowCount()


def _load_good(qtbot, window, demo) -> tuple:
    problem = _open_and_wait(qtbot, window, DataConfig(kind="fasta", fasta=str(demo["bound"]),
                                                      background=str(demo["background"])))
    assert problem == ""
    shown = _shown(window)
    assert shown[0] is not None and len(shown[0]) == 2000
    return shown


def test_bad_files_through_the_open_button(qtbot, window, demo_files, tmp_path):
    before = _load_good(qtbot, window, demo_files)
    cases = bad_inputs(tmp_path, demo_files)
    for case, cfg, named in cases:
        problem = _open_and_wait(qtbot, window, cfg)
        assert named.name in problem, f"{case}: the error does not name {named.name}: {problem!r}"
        assert "Traceback" not in problem and len(problem) < 2000, f"{case}: {problem[:300]!r}"
        after = _shown(window)
        assert after[0] is before[0], f"{case}: the sequences loaded before were replaced"
        assert after[2:] == before[2:], f"{case}: what the tab shows changed"
        assert window.isVisible() and not window.open_dialogs(), f"{case}: a dialog was left open"
    # still usable: a good file opens and replaces the data
    problem = _open_and_wait(qtbot, window, DataConfig(kind="fasta", fasta=str(demo_files["labelled"])))
    assert problem == ""
    data = window.sequences_tab.current_data()[0]
    assert data is not before[0] and len(data) == 2000 and data.task == "binary"
    assert len(cases) >= 12


def test_bad_files_through_the_file_dialog(qtbot, window, demo_files, tmp_path, monkeypatch):
    """File > Open sequences with the dialog answered: the files go to the form, Open is pressed for the user."""
    import biodeep_gui.gui.controllers.sequences as mw

    before = _load_good(qtbot, window, demo_files)
    bad = [("binary.fa", bytes(range(256)) * 8), ("utf16.fa", ">a label=1\nACGT\n".encode("utf-16")),
           ("nan.csv", b"sequence,label\nACGT,nan\nACGA,1.5\nAAAA,2\n")]
    for name, data in bad:
        path = _write(tmp_path, name, data)
        monkeypatch.setattr(mw.QFileDialog, "getOpenFileNames", staticmethod(lambda *a, **k: ([str(path)], "")))
        window.sequences.ask_open_sequences()
        tab = window.sequences_tab
        qtbot.waitUntil(lambda: tab.open_button.isEnabled() and not window.data_runner.is_running()
                        and bool(tab.problem_text()), timeout=TIMEOUT_MS)
        assert name in tab.problem_text(), tab.problem_text()
        assert _shown(window)[0] is before[0]
        assert window.tabs.tabText(window.tabs.currentIndex()) == "Sequences"


def test_a_crafted_run_folder_through_open_run(qtbot, window, tmp_path):
    """File > Open run on a folder whose weights are a pickle payload: a message, nothing executed."""
    import pickle

    marker = tmp_path / "code-ran"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    folder = tmp_path / "run-from-a-stranger"
    folder.mkdir()
    (folder / "run.json").write_bytes(pickle.dumps(Payload()))
    (folder / "model.safetensors").write_bytes(pickle.dumps(Payload()))
    assert window.open_run(folder) is None
    qtbot.waitUntil(lambda: bool(window.open_dialogs()), timeout=5000)
    box = window.open_dialogs()[-1]
    assert "run.json" in box.text() and not marker.exists()
    box.close()
    assert window.isVisible()


def test_special_files_through_the_open_paths(qtbot, window, demo_files, tmp_path, monkeypatch):
    """A named pipe or /dev/zero chosen as a sequence file or table (issue 12): refused by name, the window never
    blocks (the table's header is read in the GUI thread), the data loaded before stay shown."""
    import biodeep_gui.gui.controllers.sequences as mw

    if not hasattr(os, "mkfifo"):
        return
    before = _load_good(qtbot, window, demo_files)
    fifo = tmp_path / "pipe.fa"
    os.mkfifo(fifo)
    cases = [("FIFO as the bound file", DataConfig(kind="fasta", fasta=str(fifo),
                                                   background=str(demo_files["background"])), str(fifo)),
             ("/dev/zero as a labelled FASTA", DataConfig(kind="fasta", fasta="/dev/zero"), "/dev/zero"),
             ("FIFO as a table", DataConfig(kind="table", table=str(fifo), sequence_column="sequence",
                                            label_columns=["label"]), str(fifo))]
    for case, cfg, named in cases:
        problem = _open_and_wait(qtbot, window, cfg)
        assert named in problem and ("named pipe" in problem or "device" in problem), f"{case}: {problem!r}"
        assert _shown(window)[0] is before[0], f"{case}: the sequences loaded before were replaced"
    # the table picker reads the header in the GUI thread: a FIFO is refused there, not opened
    tab = window.sequences_tab
    tab.form.table_picker.set_path(str(fifo))
    assert "named pipe" in tab.problem_text()
    # File > Open sequences with a FIFO chosen in the dialog
    monkeypatch.setattr(mw.QFileDialog, "getOpenFileNames", staticmethod(lambda *a, **k: ([str(fifo)], "")))
    window.sequences.ask_open_sequences()
    qtbot.waitUntil(lambda: tab.open_button.isEnabled() and not window.data_runner.is_running()
                    and "named pipe" in tab.problem_text(), timeout=TIMEOUT_MS)
    assert _shown(window)[0] is before[0] and window.isVisible()


def test_scans_training_refuses_a_run_folder_that_would_destroy_files(qtbot, window, tmp_path):
    """The Scans tab's "Run folder" follows the CLI's output rule: not the data folder, not an existing run."""
    import hashlib

    from PySide6.QtCore import Qt

    from biodeep_gui.core.scans.synthetic import write_demo_cohort

    window.build_tabs()
    demo = write_demo_cohort(tmp_path / "demo", 8, (16, 20, 16), seed=0)
    tab = window.scans_tab
    tab.form.images_edit.setText(str(demo.images))
    tab.form.labels_edit.setText(str(demo.table))
    tab.form.labels_edit.editingFinished.emit()
    with qtbot.waitSignal(tab.load_runner.sigFinished, timeout=TIMEOUT_MS):
        qtbot.mouseClick(tab.form.load_button, Qt.MouseButton.LeftButton)

    def digest():
        return {str(f): hashlib.sha256(f.read_bytes()).hexdigest() for f in (tmp_path / "demo").rglob("*")
                if f.is_file()}

    import shutil

    run = shutil.copytree(Path(__file__).parents[1] / "fixtures" / "legacy_v0_1_0" / "runs" / "scans",
                          tmp_path / "demo" / "old-run")
    before = digest()
    for out, said in ((tmp_path / "demo", "holds the input file"), (demo.images, "is the input"),
                      (demo.table, "is the input"), (run, "is an existing run"), (tmp_path / "demo" / "README.txt",
                                                                                  "existing file")):
        window.scans.start_training(tab.data_config(), str(out))
        assert not window.scans_runner.is_running()
        texts = [d.text() + " " + getattr(d, "informativeText", lambda: "")() for d in window.open_dialogs()]
        assert any(said in t and "Run folder" in t for t in texts), texts
        for d in window.open_dialogs():
            d.close()
    assert digest() == before


def test_a_fifo_in_the_other_open_dialogs_never_freezes_the_window(qtbot, window, tmp_path, monkeypatch):
    """A named pipe chosen in File > Open run (as the folder's run.json), File > Open project, the Predict tab's
    file, the cohort's labels table and the Filters tab's motif file: refused by name, never opened. A watchdog
    ends the process (a failure, not a hung suite) if any of them blocks the GUI thread on the pipe."""
    import faulthandler

    from PySide6.QtWidgets import QFileDialog

    if not hasattr(os, "mkfifo"):
        return
    window.build_tabs()
    fifo = tmp_path / "pipe.tsv"
    os.mkfifo(fifo)
    run = tmp_path / "run-with-a-pipe"
    run.mkdir()
    os.mkfifo(run / "run.json")
    faulthandler.dump_traceback_later(120, exit=True)
    try:
        def said(*needles: str) -> str:
            qtbot.waitUntil(lambda: bool(window.open_dialogs()), timeout=TIMEOUT_MS)
            text = " ".join(d.text() for d in window.open_dialogs())
            for d in window.open_dialogs():
                d.close()
            assert all(n in text for n in needles), text
            return text

        monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(lambda *a, **k: str(run)))
        window.sequences.ask_open_run()
        said("run.json", "named pipe")
        monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (str(fifo), "")))
        window.projects.ask_open_project()
        said(str(fifo), "pipe (FIFO)")

        predict = window.predict_tab
        predict.file_picker.set_path(str(fifo))
        predict._predict_clicked()
        assert str(fifo) in predict.problems.text() and "not a regular file" in predict.problems.text()

        form = window.scans_tab.form
        form.labels_edit.setText(str(fifo))
        form.labels_edit.editingFinished.emit()  # reads the table's first line in the GUI thread: not a pipe
        assert form.subject_combo.count() == 0 or str(fifo) not in form.subject_combo.itemText(0)

        filters = window.filters_tab
        filters._on_motif_db(1)  # "Motif file..." chosen: the same stubbed dialog answers the pipe
        assert window.isVisible()
    finally:
        faulthandler.cancel_dump_traceback_later()
