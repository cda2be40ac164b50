"""Reopening a finished brain-scans run (File ▸ Open run…, or a followed run that ends) shows each fold's training
curves in the Training tab, read back from the run folder by the core; a folder without per-fold histories gives a
plain line, not an error. Driven through the real window on the session's tiny scans run."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from PySide6.QtCore import QPointF
from PySide6.QtGui import QImage, QPainter

from biodeep_gui.core.scans.run import load_scans_run
from biodeep_gui.core.training.runs import HISTORY_FILE, RUN_FILE
from tests.conftest import train_tiny_scans
from tests.gui.conftest import shot


@pytest.fixture(scope="module")
def scans_run_4_epochs(tmp_path_factory):
    """A tiny scans run of 4 epochs per fold (``train_tiny_scans``, 2 permutations): enough epochs for curves a
    person can read on the screenshots."""
    return train_tiny_scans(tmp_path_factory.mktemp("reopen-scans"), epochs=4, permutations=2, patience=10)


def _combo_labels(tab) -> list[str]:
    return [tab.phase_combo.itemText(i) for i in range(tab.phase_combo.count())]


def _drawn(tab) -> tuple[list, list]:
    x, y = tab.curves.train_curve.getData()
    return ([] if x is None else list(x)), ([] if y is None else list(y))


def test_open_run_shows_the_folds_training_curves(window, qtbot, scans_run_4_epochs):
    tiny_scans_run = scans_run_4_epochs
    window.resize(1024, 640)
    tab = window.training_tab
    expected = load_scans_run(tiny_scans_run).phase_curves()
    assert len({p.fold for p in expected}) >= 2  # two folds at least: a chooser with something to choose
    assert all(len(p.rows) == 4 for p in expected)
    assert tab.phase_box.isHidden()
    window.open_run(tiny_scans_run)
    assert not window.open_dialogs()
    assert not tab.phase_box.isHidden() and _combo_labels(tab) == [p.label for p in expected]
    for i, p in enumerate(expected):
        tab.phase_combo.setCurrentIndex(i)
        x, y = _drawn(tab)
        assert x == [r["epoch"] for r in p.rows]
        np.testing.assert_allclose(y, [r["train_loss"] for r in p.rows])
    assert "2 folds" in tab.run_label.text()
    tab.phase_combo.setCurrentIndex(0)
    for plot in (tab.curves.loss_plot, tab.curves.metric_plot):  # every y axis keeps labelled ticks
        image = QImage(200, 400, QImage.Format.Format_ARGB32)
        painter = QPainter(image)
        texts = [t[2] for t in plot.getAxis("left").generateDrawSpecs(painter)[2]]
        painter.end()
        assert len(texts) >= 2, (plot.titleLabel.text, plot.viewRange()[1])
    tab.phase_combo.setCurrentIndex(0)
    window.show_tab(tab)
    qtbot.wait(50)
    for plot, legend, curves in ((tab.curves.loss_plot, tab.curves.legends[0], (tab.curves.train_curve,
                                                                                  tab.curves.val_curve)),
                                 (tab.curves.metric_plot, tab.curves.legends[1], (tab.curves.metric_curve,))):
        box = legend.sceneBoundingRect()
        for curve in curves:  # no epoch's point under a legend
            x, y = curve.getData()
            assert not any(box.contains(plot.getViewBox().mapViewToScene(QPointF(a, b))) for a, b in zip(x, y))
    shot(window, "polish5_reopened_scans_curves_1024x640")
    window.resize(1280, 800)
    shot(window, "polish5_reopened_scans_curves_1280x800")


def test_a_run_without_per_fold_history_says_so_plainly(window, qtbot, tiny_scans_run, tmp_path):
    tab = window.training_tab
    window.open_run(tiny_scans_run)  # curves of another run first: they must not stay on screen
    assert _drawn(tab)[0]
    old = tmp_path / "old-scans"
    shutil.copytree(tiny_scans_run, old)
    lines = (old / HISTORY_FILE).read_text().splitlines()
    head = lines[0].split(",")
    keep = [i for i, c in enumerate(head) if c not in ("fold", "phase")]
    (old / HISTORY_FILE).write_text("\n".join(",".join(line.split(",")[i] for i in keep) for line in lines) + "\n")
    window.open_run(old)
    assert window.reconstructions_tab.run.path == old  # the run itself opened
    assert not window.open_dialogs()  # a plain line, not an error
    assert tab.phase_box.isHidden() and _drawn(tab) == ([], [])
    assert "no per-fold training history" in tab.run_label.text()
    assert tab.curves.isHidden() and "no per-fold training history" in tab.no_curves.text()  # no empty axes
    window.resize(1024, 640)
    window.show_tab(tab)
    shot(window, "polish5_reopened_old_scans_1024x640")
    (old / HISTORY_FILE).write_bytes(b"\xff\xfe\x00bad")  # damaged: named, the rest of the run still opens
    window.open_run(old)
    assert not window.open_dialogs() and window.reconstructions_tab.run.path == old
    assert "could not be read" in tab.run_label.text() and str(old / HISTORY_FILE) in tab.run_label.text()
    window.open_run(tiny_scans_run)  # a run with curves again: they come back in place of the line
    assert not tab.curves.isHidden() and tab.no_curves.isHidden() and _drawn(tab)[0]


def test_a_followed_scans_run_shows_its_folds_when_it_ends(window, qtbot, tiny_scans_run, tmp_path):
    job = tmp_path / "job"
    shutil.copytree(tiny_scans_run, job)
    doc = json.loads((job / RUN_FILE).read_text())
    doc["status"] = "training"
    (job / RUN_FILE).write_text(json.dumps(doc))
    lines = (tiny_scans_run / HISTORY_FILE).read_text().splitlines()
    (job / HISTORY_FILE).write_text("\n".join(lines[:2]) + "\n")  # the job after its first epoch
    assert window.handoff.follow(job)
    tab = window.training_tab
    qtbot.waitUntil(lambda: "Epoch 1" in tab.log_text(), timeout=30_000)
    assert tab.phase_box.isHidden()  # live: one curve at a time
    for name in (HISTORY_FILE, RUN_FILE):  # the job ends
        shutil.copy(tiny_scans_run / name, job / name)
    with qtbot.waitSignal(window.handoff.runner.sigFinished, timeout=30_000):
        pass
    assert window.reconstructions_tab.run.path == job
    assert _combo_labels(tab) == [p.label for p in load_scans_run(job).phase_curves()]
    assert not tab.phase_box.isHidden() and _drawn(tab)[0]
