"""Compare tab on real runs (CNN, k-mer and linear baselines on the same split): rows, ranking, curves, selection."""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import math  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PySide6.QtCore import QPoint, Qt  # noqa: E402

SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


@pytest.fixture(scope="module")
def runs(train_gc_box):
    return [train_gc_box("cnn", "GC-box CNN"), train_gc_box("kmer", "3-mer baseline"),
            train_gc_box("linear", "one-hot linear")]


@pytest.fixture
def tab(qtbot):
    from biodeep_gui.gui.tabs.sequences.compare_tab import CompareTab

    w = CompareTab()
    qtbot.addWidget(w)
    w.resize(1200, 800)
    w.show()
    return w


def _column(tab, title):
    return tab.model.headers().index(title)


def _cell(tab, row, title):
    return tab.proxy.index(row, _column(tab, title)).data()


def test_rows_metrics_and_difference_to_best_baseline(qtbot, tab, runs):
    assert tab.empty.isVisible() and tab.model.rowCount() == 0
    tab.set_runs(runs)
    assert not tab.empty.isVisible() and tab.proxy.rowCount() == 3
    assert tab.view_order() == ["GC-box CNN", "3-mer baseline", "one-hot linear"]
    headers = tab.model.headers()
    assert headers[:5] == ["Run", "Architecture", "Parameters", "Status", "Best epoch"]
    assert headers[5] == "Validation AUROC"  # what runs are chosen by
    assert headers[6:10] == ["Test AUROC", "Test AUPRC", "Test Accuracy", "Test F1"]
    assert headers[-1] == "vs best baseline"

    cnn, kmer, linear = runs
    assert _cell(tab, 0, "Architecture") == "CNN (DeepBind)" and _cell(tab, 1, "Architecture") == "k-mer baseline"
    assert _cell(tab, 0, "Parameters") == f"{cnn.info.n_parameters:,}"
    assert _cell(tab, 0, "Best epoch") == str(cnn.doc["best_epoch"]) and _cell(tab, 1, "Best epoch") == "—"
    assert _cell(tab, 0, "Status") == "complete"
    for r, run in enumerate(runs):
        # the test value with its 95 % bootstrap interval, which holds it
        text = _cell(tab, r, "Test AUROC")
        assert text.startswith(f"{run.metrics['test_auroc']:.3f} (")
        lo, hi = (float(x) for x in text.split("(")[1].rstrip(")").split("–"))
        assert lo <= run.metrics["test_auroc"] <= hi and hi > lo  # narrow near AUROC 1, never a single point
        assert _cell(tab, r, "Validation AUROC") == f"{run.metrics['val_auroc']:.3f}"

    # the baseline measured against is the one with the better *validation* score
    chosen_base = max((kmer, linear), key=lambda r: r.metrics["val_auroc"])
    diff = cnn.metrics["test_auroc"] - chosen_base.metrics["test_auroc"]
    paired = tab.comparisons()[0].paired
    assert paired is not None and 0 < paired["p_value"] <= 1 and paired["difference"] == pytest.approx(diff)
    assert _cell(tab, 0, "vs best baseline").startswith(f"{diff:+.3f} (p = ")
    # All three share one test set (same data and seed), so every row compares.
    assert len({c.group for c in tab.comparisons()}) == 1

    # The verdict says which wins and by how much.
    verdict = tab.verdict.text()
    assert "GC-box CNN" in verdict and f"{diff:+.3f}" in verdict
    assert ("beats" if paired["p_value"] < 0.05 and diff > 0 else "falls short of" if paired["p_value"] < 0.05
            else "is not distinguishable from") in verdict
    assert "paired bootstrap p = " in verdict and "chosen by validation AUROC" in verdict

    # Exactly the run with the best validation score is highlighted (background + bold).
    scores = [r.metrics["val_auroc"] for r in runs]
    best = int(np.argmax(scores))
    for r in range(3):
        bg = tab.model.index(r, 0).data(Qt.ItemDataRole.BackgroundRole)
        assert (bg is not None) == (r == best)
        assert bool(tab.model.index(r, 0).data(Qt.ItemDataRole.FontRole)) == (r == best)
    from .conftest import shot

    tab.resize(1280, 800)
    qtbot.wait(50)
    assert shot(tab, "compare_tab").exists()


def test_sorting_by_header_click(qtbot, tab, runs):
    tab.set_runs(runs)
    header = tab.table.horizontalHeader()
    col = _column(tab, "Test AUROC")
    pos = QPoint(header.sectionViewportPosition(col) + header.sectionSize(col) // 2, header.height() // 2)
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    first = [float(_cell(tab, r, "Test AUROC").split()[0]) for r in range(3)]
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    second = [float(_cell(tab, r, "Test AUROC").split()[0]) for r in range(3)]
    assert sorted(first) in (first, first[::-1]) and second == first[::-1]

    tab.table.sortByColumn(_column(tab, "Parameters"), Qt.SortOrder.DescendingOrder)
    params = [int(_cell(tab, r, "Parameters").replace(",", "")) for r in range(3)]
    assert params == sorted(params, reverse=True)  # numeric, not alphabetical


def test_curves_overlay_deep_runs_and_baseline_lines(tab, runs):
    tab.set_runs(runs)
    assert tab.metric_combo.currentData() == "auroc"
    cnn, kmer, linear = runs
    items = tab.plot.items
    assert set(items) == {str(r.path) for r in runs}
    x, y = items[str(cnn.path)].getData()
    assert x.tolist() == [1.0, 2.0, 3.0]
    assert np.allclose(y, [row["val_auroc"] for row in cnn.history])
    for base in (kmer, linear):
        bx, by = items[str(base.path)].getData()
        assert bx.tolist() == [1.0, 3.0] and np.allclose(by, base.metrics["val_auroc"])
        assert items[str(base.path)].opts["pen"].style() == Qt.PenStyle.DashLine
    names = [label.text for _, label in tab.plot.legend.items]
    assert names == ["GC-box CNN", "3-mer baseline (baseline)", "one-hot linear (baseline)"]
    colours = {items[str(r.path)].opts["pen"].color().name() for r in runs}
    assert len(colours) == 3  # one colour per run

    tab.metric_combo.setCurrentIndex(tab.metric_combo.findData("loss"))
    x, y = tab.plot.items[str(cnn.path)].getData()
    assert np.allclose(y, [row["val_loss"] for row in cnn.history])


def test_baselines_alone_are_drawn_as_visible_lines(tab, runs):
    _, kmer, linear = runs
    tab.set_runs([kmer, linear])
    for base in (kmer, linear):
        bx, by = tab.plot.items[str(base.path)].getData()
        assert bx[1] - bx[0] >= 1.0 and np.allclose(by, base.metrics["val_auroc"])  # not a zero-length line


def test_selecting_a_row_emits_its_folder(qtbot, tab, runs):
    tab.set_runs(runs)
    row = tab.view_order().index("3-mer baseline")
    rect = tab.table.visualRect(tab.proxy.index(row, 0))
    with qtbot.waitSignal(tab.sigRunSelected, timeout=2000) as blocker:
        qtbot.mouseClick(tab.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert blocker.args == [str(runs[1].path)]
    assert tab.selected_run_dir() == str(runs[1].path)
    pen = tab.plot.items[str(runs[1].path)].opts["pen"]
    assert pen.widthF() > tab.plot.items[str(runs[0].path)].opts["pen"].widthF()  # its curve stands out

    # Refreshing the list keeps the selection without re-emitting.
    with qtbot.assertNotEmitted(tab.sigRunSelected):
        tab.set_runs(runs)
    assert tab.selected_run_dir() == str(runs[1].path)


def test_runs_on_another_split_are_not_compared(tab, runs, train_gc_box, tmp_path):
    other = train_gc_box("cnn", "CNN seed 1", seed=1)
    tab.set_runs([*runs, other])
    rows = {c.run.name: c for c in tab.comparisons()}
    assert rows["CNN seed 1"].group != rows["GC-box CNN"].group
    assert math.isnan(rows["CNN seed 1"].vs_best_baseline)
    r = tab.view_order().index("CNN seed 1")
    assert _cell(tab, r, "vs best baseline") == "—"
    assert "compared only within their own set" in tab.verdict.text()
    assert tab.export_figure(tmp_path / "curves.svg").read_text().count("<svg") == 1


def test_rename_from_the_table_persists_across_reopening(qtbot, tab, runs, tmp_path):
    import shutil

    from biodeep_gui.core.runs import open_run
    from biodeep_gui.core.sequences.run import load_run

    copy = tmp_path / "run_copy"
    shutil.copytree(runs[1].path, copy)  # the session's runs stay untouched
    tab.set_runs([runs[0], load_run(copy)])
    row = tab.view_order().index("3-mer baseline")
    # what the delegate does when the user edits the Run cell (F2 / Rename…) and presses Enter
    with qtbot.waitSignal(tab.sigRunRenamed) as blocker:
        tab.proxy.setData(tab.proxy.index(row, 0), "  k-mer, reviewer's pick  ")
    assert blocker.args == [str(copy)]
    assert "k-mer, reviewer's pick" in tab.view_order()
    assert open_run(copy).name == "k-mer, reviewer's pick"  # read back from run.json, not from the table
    assert (copy / "run.json").exists() and not (tmp_path / "k-mer, reviewer's pick").exists()  # not moved
    assert not tab.rename_message.isVisible()

    # an empty name gives the run its own name back
    tab.rename_run(str(copy), "")
    assert open_run(copy).name == "3-mer baseline"

    # a name on two lines is refused with a message; run.json is unchanged
    before = (copy / "run.json").read_bytes()
    assert not tab.rename_run(str(copy), "two\nlines")
    assert tab.rename_message.isVisible() and "one line" in tab.rename_message.text()
    assert (copy / "run.json").read_bytes() == before


def test_rename_in_the_window_reaches_results_and_the_session(qtbot, window, runs, tmp_path):
    import shutil

    from biodeep_gui.core.sequences.run import load_run

    copy = tmp_path / "cnn_copy"
    shutil.copytree(runs[0].path, copy)
    seq = window.sequences
    seq.open_run(copy)
    assert window.results_tab.title.text() == "GC-box CNN"
    assert window.compare_tab.rename_run(str(copy), "first try, 3 epochs")
    assert window.results_tab.title.text() == "first try, 3 epochs"  # the run shown follows its new name
    assert [r.name for r in seq.runs() if r.path == copy] == ["first try, 3 epochs"]
    assert load_run(copy).name == "first try, 3 epochs"  # reopened from disk
