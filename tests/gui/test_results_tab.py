"""Results tab on real runs trained by the core: metrics text, ROC/PR curves, confusion matrix, scatter, export."""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PySide6.QtGui import QImage  # noqa: E402

from biodeep_gui.core.sequences.run import load_run  # noqa: E402

SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


@pytest.fixture(scope="module")
def runs(train_gc_box):
    return {"cnn": train_gc_box("cnn", "GC-box CNN"),
            "kmer": train_gc_box("kmer", "3-mer baseline"),
            "multiclass": train_gc_box("cnn", "two motifs", task="multiclass"),
            "regression": train_gc_box("cnn", "affinity CNN", task="regression")}


@pytest.fixture
def tab(qtbot):
    from biodeep_gui.gui.tabs.sequences.results_tab import ResultsTab

    w = ResultsTab()
    qtbot.addWidget(w)
    w.resize(1300, 800)
    w.show()
    return w


def test_binary_run_shows_test_auroc_and_roc_pr_curves(qtbot, tab, runs):
    run = runs["cnn"]
    assert tab.body.currentIndex() == 0  # empty state before any run
    tab.show_run(run)
    assert tab.title.text() == "GC-box CNN"
    assert "CNN (DeepBind)" in tab.subtitle.text() and "best epoch" in tab.subtitle.text()
    assert tab.metric_text("auroc") == f"{run.metrics['test_auroc']:.3f}"
    assert tab.metric_text("auprc", "val") == f"{run.metrics['val_auprc']:.3f}"
    assert tab.metric_text("f1") and tab.metric_text("accuracy")
    assert tab.current_plot() is tab.curves_view
    fpr, tpr = tab.roc_curve.getData()
    n_test = len(run.predictions()["y_true"])
    assert len(fpr) > 2 and fpr[0] == 0 and fpr[-1] == 1 and tpr[-1] == 1
    assert np.all(np.diff(fpr) >= 0) and np.all(np.diff(tpr) >= 0)
    recall, precision = tab.pr_curve.getData()
    assert len(recall) > 2 and precision.max() <= 1
    legend = [label.text for _, label in tab.roc_legend.items]
    assert f"GC-box CNN: AUROC = {run.metrics['test_auroc']:.3f}" in legend
    assert f"({n_test:,} test sequences)" in tab.roc_item.titleLabel.text
    qtbot.wait(50)
    SHOTS.mkdir(parents=True, exist_ok=True)
    tab.grab().save(str(SHOTS / "results_tab_binary.png"))


def test_baseline_run_has_no_epochs(tab, runs):
    tab.show_run(runs["kmer"])
    assert "fitted in one step" in tab.subtitle.text()
    assert tab.metric_text("auroc") == f"{runs['kmer'].metrics['test_auroc']:.3f}"
    assert len(tab.roc_curve.getData()[0]) > 2


def test_multiclass_run_shows_confusion_counts(qtbot, tab, runs):
    run = runs["multiclass"]
    tab.show_run(run)
    assert tab.current_plot() is tab.confusion_plot
    preds = run.predictions()
    m = tab.confusion_plot.matrix
    assert m.shape == (3, 3) and m.sum() == len(preds["y_true"])
    truth = preds["y_true"][:, 0].astype(int)
    assert m.sum(axis=1).tolist() == np.bincount(truth, minlength=3).tolist()
    shown = sorted(int(t.toPlainText().replace(",", "")) for t in tab.confusion_plot._texts)
    assert shown == sorted(m.ravel().tolist())
    assert tab.metric_text("accuracy") == f"{run.metrics['test_accuracy']:.3f}"
    qtbot.wait(50)
    tab.grab().save(str(SHOTS / "results_tab_multiclass.png"))


def test_regression_run_shows_scatter_with_identity_and_pearson(qtbot, tab, runs):
    run = runs["regression"]
    tab.show_run(run)
    assert tab.current_plot() is tab.scatter_plot
    assert tab.scatter_plot.n_points() == len(run.predictions()["y_true"])
    x, y = tab.scatter_plot.identity.getData()
    assert np.allclose(x, y) and x[0] < x[1]
    assert f"Pearson r = {run.metrics['test_pearson']:.3f}" in tab.scatter_plot.note.toPlainText()
    assert tab.metric_text("r2") == f"{run.metrics['test_r2']:.3f}"
    assert tab.metric_text("mse") and tab.metric_text("spearman")
    qtbot.wait(50)
    tab.grab().save(str(SHOTS / "results_tab_regression.png"))


def test_export_figure_png_and_svg(tab, runs, tmp_path):
    tab.show_run(runs["cnn"])
    assert tab.export_button.isEnabled()
    png = tab.export_figure(tmp_path / "roc.png")
    img = QImage(str(png))
    assert not img.isNull() and img.width() >= 800
    svg = tab.export_figure(tmp_path / "roc.svg").read_text()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg and "ROC curve" in svg
    with pytest.raises(ValueError, match="png or .svg"):
        tab.export_figure(tmp_path / "roc.pdf")


def test_run_without_predictions_and_clear(tab, runs, tmp_path):
    import shutil

    from biodeep_gui.core.training.runs import PREDICTIONS_FILE

    copy = tmp_path / "copy"
    shutil.copytree(runs["cnn"].path, copy)
    (copy / PREDICTIONS_FILE).unlink()
    tab.show_run(load_run(copy))
    assert tab.current_plot() is tab.no_plot and not tab.export_button.isEnabled()
    assert tab.metric_text("auroc")  # the metrics file still gives the numbers
    tab.clear()
    assert tab.current_run() is None and tab.body.currentIndex() == 0


def test_every_test_metric_has_its_interval_and_calls_follow_the_threshold(qtbot, tab, runs):
    from biodeep_gui.core.sequences.summary import test_intervals

    run = runs["cnn"]
    tab.show_run(run)
    saved = test_intervals(run)
    assert set(saved) >= {"auroc", "auprc", "accuracy", "f1"}
    for name, (lo, hi) in saved.items():
        if tab.metric_text(name):
            assert tab.metric_text(name, "interval") == f"{lo:.3f} to {hi:.3f}"
            assert lo <= run.metrics[f"test_{name}"] <= hi
    p = run.predictions()
    y, prob = np.asarray(p["y_true"]).reshape(-1), np.asarray(p["y_pred"]).reshape(-1)
    for threshold in (0.5, 0.9, 0.1):
        tab.threshold.setValue(threshold)
        called = prob >= threshold
        tp, fn = int(np.sum(called & (y == 1))), int(np.sum(~called & (y == 1)))
        fp, tn = int(np.sum(called & (y == 0))), int(np.sum(~called & (y == 0)))
        text = tab.calls.text()
        cells = [int(c.split("<")[0].replace(",", "")) for c in text.split("text-align:right'>")[1:]]
        assert cells == [tp, fn, fp, tn] and sum(cells) == len(y)
        assert tab.calls_box.isVisible()
    tab.show_run(runs["regression"])  # no calls for a regression run
    assert not tab.calls_box.isVisible()
    assert tab.metric_text("pearson", "interval") != "—"
    tab.resize(1024, 640)
    qtbot.wait(50)
    tab.show_run(run)
    SHOTS.mkdir(parents=True, exist_ok=True)
    tab.grab().save(str(SHOTS / "results_tab_intervals_1024.png"))
