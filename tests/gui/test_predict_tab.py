"""Predict tab with a real trained run: request, show real scores, sort, filter, export a CSV that reads back."""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import csv  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PySide6.QtCore import QPoint, Qt  # noqa: E402

from biodeep_gui.core.sequences.encoding import decode  # noqa: E402
from biodeep_gui.core.sequences.tables import load_unlabelled  # noqa: E402
from tests.core.helpers import GC_BOX, planted_gc_box  # noqa: E402

SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


@pytest.fixture(scope="module")
def run(train_gc_box):
    return train_gc_box("cnn", "GC-box CNN", epochs=10)


@pytest.fixture
def new_fasta(tmp_path):
    """40 new sequences of the model's length; the 'hit' ones carry the motif."""
    rng = np.random.default_rng(7)
    lines = []
    for i in range(40):
        seq = decode(rng.integers(0, 4, 50).astype(np.uint8))
        name = f"hit{i}" if i % 4 == 0 else f"peak{i}"
        if i % 4 == 0:
            seq = seq[:20] + GC_BOX + seq[29:]
        lines += [f">{name}", seq]
    path = tmp_path / "new_peaks.fa"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def tab(qtbot):
    from biodeep_gui.gui.tabs.sequences.predict_tab import PredictTab

    w = PredictTab()
    qtbot.addWidget(w)
    w.resize(1000, 700)
    w.show()
    return w


def _score(run, path):
    """What the main window does off the GUI thread when the tab asks for predictions."""
    ss = load_unlabelled(path, length=run.info.length)
    return ss.ids, run.predict(ss.codes)


def test_no_run_no_predict(qtbot, tab, new_fasta):
    tab.file_picker.set_path(str(new_fasta))
    assert not tab.predict_button.isEnabled()
    assert "No model yet" in tab.model_label.text()
    assert not tab.export_button.isEnabled()


def test_predict_request_scores_sort_filter_and_export(qtbot, tab, run, new_fasta, tmp_path):
    tab.set_run(run)
    assert "GC-box CNN" in tab.model_label.text() and "50 bp input" in tab.model_label.text()
    assert not tab.predict_button.isEnabled()  # no file yet
    qtbot.keyClicks(tab.file_picker.edit, str(new_fasta))
    assert tab.predict_button.isEnabled()
    with qtbot.waitSignal(tab.sigPredictRequested, timeout=2000) as blocker:
        qtbot.mouseClick(tab.predict_button, Qt.MouseButton.LeftButton)
    assert blocker.args == [str(new_fasta)]

    tab.set_busy(True, "Scoring 40 sequences…")
    assert not tab.predict_button.isEnabled()
    ids, scores = _score(run, blocker.args[0])
    tab.show_predictions(ids, scores, ["P(bound)"])
    assert not tab.progress.isVisible() and tab.predict_button.isEnabled()
    assert tab.row_count() == 40 and tab.summary.text() == "40 sequences scored from new_peaks.fa"

    # Highest score first by default; the planted motif should score high.
    shown = [float(tab.proxy.index(r, 1).data()) for r in range(40)]
    assert shown == sorted(shown, reverse=True)
    top = [tab.proxy.index(r, 0).data() for r in range(10)]
    assert sum(name.startswith("hit") for name in top) >= 6
    qtbot.wait(50)
    SHOTS.mkdir(parents=True, exist_ok=True)
    tab.grab().save(str(SHOTS / "predict_tab.png"))

    # Clicking the score header flips the order.
    header = tab.table.horizontalHeader()
    pos = QPoint(header.sectionViewportPosition(1) + header.sectionSize(1) // 2, header.height() // 2)
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    shown = [float(tab.proxy.index(r, 1).data()) for r in range(40)]
    assert shown == sorted(shown)

    # Export all rows: the CSV reads back to the model's scores, id by id, at full precision.
    out = tab.export_csv(tmp_path / "all.csv")
    with open(out, newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["id", "P(bound)"] and len(rows) == 41
    by_id = dict(zip(ids, scores[:, 0]))
    assert all(float(v) == pytest.approx(float(by_id[i]), rel=1e-6) for i, v in rows[1:])
    assert [float(v) for _, v in rows[1:]] == sorted(float(v) for _, v in rows[1:])  # in the order shown

    # Filter, then export only what is shown.
    qtbot.keyClicks(tab.filter_edit, "HIT")
    assert tab.row_count() == 10 and tab.summary.text() == "10 of 40 sequences shown"
    rows = list(csv.reader(open(tab.export_csv(tmp_path / "hits.csv"), newline="")))
    assert len(rows) == 11 and all(r[0].startswith("hit") for r in rows[1:])
    assert not list(tmp_path.glob(".*.tmp"))  # atomic write leaves no temporary file

    # A later failure is shown without losing the table.
    tab.show_error("other.fa: record 3 ('x'): character 'Z' at position 5 is not a nucleotide code")
    assert tab.problems.isVisible() and tab.row_count() == 10


def test_multi_column_scores_sort_numerically(tab):
    ids = ["a", "b", "c", "d"]
    scores = np.array([[0.1, 9.0], [0.3, 10.0], [0.2, 100.0], [np.nan, 2.0]])
    tab.show_predictions(ids, scores, ["P(x)", "value"])
    tab.table.sortByColumn(2, Qt.SortOrder.AscendingOrder)
    assert [tab.proxy.index(r, 0).data() for r in range(4)] == ["d", "a", "b", "c"]  # 2 < 9 < 10 < 100
    tab.table.sortByColumn(1, Qt.SortOrder.DescendingOrder)
    assert [tab.proxy.index(r, 0).data() for r in range(4)] == ["b", "c", "a", "d"]  # nan last
    tab.table.sortByColumn(0, Qt.SortOrder.DescendingOrder)
    assert [tab.proxy.index(r, 0).data() for r in range(4)] == ["d", "c", "b", "a"]
    with pytest.raises(ValueError, match="column names"):
        tab.show_predictions(ids, scores, ["only one"])


def test_sequences_used_in_training_are_warned_about(qtbot, tab, run, new_fasta, tmp_path):
    """Scoring a file that holds training sequences shows a visible 'Warning:' with their count; test-set
    sequences and new ones do not count; a reverse complement of a training sequence does."""
    from biodeep_gui.core.sequences.encoding import reverse_complement
    from biodeep_gui.core.sequences.pipeline import prepare_data
    from biodeep_gui.gui.controllers.sequences import predict_task

    from .conftest import shot

    data = planted_gc_box()
    prep = prepare_data(run.config, data)
    picked = [(f"train{i}", decode(data.codes[i])) for i in prep.train[:8]]
    picked += [(f"val{i}", decode(data.codes[i])) for i in prep.val[:2]]
    picked += [(f"rc{i}", decode(reverse_complement(data.codes[i]))) for i in prep.train[8:11]]
    picked += [(f"test{i}", decode(data.codes[i])) for i in np.flatnonzero(np.isin(
        np.arange(len(data)), np.r_[prep.train, prep.val], invert=True))[:4]]
    mixed = tmp_path / "mixed.fa"
    mixed.write_text(new_fasta.read_text() + "".join(f">{n}\n{s}\n" for n, s in picked))

    tab.resize(1280, 800)
    tab.set_run(run)
    tab.file_picker.set_path(str(mixed))
    p = predict_task(run, str(mixed))
    assert p.overlap["known"] and p.overlap["n"] == 57
    assert (p.overlap["count"], p.overlap["in_training"], p.overlap["in_validation"],
            p.overlap["reverse_complement"]) == (13, 11, 2, 3)
    tab.show_predictions(p.ids, p.scores, p.columns, p.overlap)
    assert tab.overlap_label.isVisible()
    assert tab.overlap_label.text().startswith("Warning: 13 of 57 input sequences (22.8%)")
    assert shot(tab, "predict_tab_overlap").exists()

    # New sequences only: a quiet line that says so; a run without a digest: overlap unknown, said plainly
    p = predict_task(run, str(new_fasta))
    tab.show_predictions(p.ids, p.scores, p.columns, p.overlap)
    assert p.overlap["count"] == 0 and tab.overlap_label.text().startswith("None of these 40 sequences")
    tab.show_overlap({"known": False, "n": 40})
    assert tab.overlap_label.text().startswith("Warning:") and "unknown" in tab.overlap_label.text()
    tab.set_run(None)
    assert not tab.overlap_label.isVisible()
