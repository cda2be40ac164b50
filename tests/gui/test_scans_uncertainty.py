"""What a finished scans run shows about its own uncertainty: each fold's training curves (a chooser on the
Training tab), driven through the real widgets on the session's tiny scans run."""
from __future__ import annotations

import numpy as np

from biodeep_gui.core.scans.reports import phase_curves
from biodeep_gui.core.training.runs import read_history
from biodeep_gui.gui.tabs.training_tab import TrainingTab
from tests.gui.conftest import shot


def test_fold_chooser_switches_the_training_curves(qtbot, tiny_scans_run):
    tab = TrainingTab()
    qtbot.addWidget(tab)
    tab.resize(1024, 640)
    tab.show()
    assert tab.phase_box.isHidden()  # nothing to choose before a scans run
    tab.load_phase_curves(tiny_scans_run)
    expected = phase_curves(read_history(tiny_scans_run))
    assert not tab.phase_box.isHidden()
    labels = [tab.phase_combo.itemText(i) for i in range(tab.phase_combo.count())]
    assert labels == [p.label for p in expected] and "fold 1: autoencoder" in labels and "fold 2: autoencoder" in labels
    seen = []
    for i, p in enumerate(expected):
        tab.phase_combo.setCurrentIndex(i)
        x, y = tab.curves.train_curve.getData()
        assert list(x) == [r["epoch"] for r in p.rows]
        np.testing.assert_allclose(y, [r["train_loss"] for r in p.rows])
        seen.append(tuple(y))
    assert len(set(seen)) == len(seen)  # each choice draws its own fold's losses
    shot(tab, "training_tab_fold_chooser")
    tab.begin("next", 3)  # a new run: the chooser goes until it ends
    assert tab.phase_box.isHidden()
    tab.finish(None)


def test_class_names_flow_into_the_reconstructions_confusion_matrix(qtbot, tiny_scans_run, tmp_path):
    import json
    import shutil

    from biodeep_gui.gui.tabs.scans.reconstructions_tab import ReconstructionsTab

    run = tmp_path / "named"
    shutil.copytree(tiny_scans_run, run)
    doc = json.loads((run / "run.json").read_text())
    classes = doc["cohort"]["classes"]
    assert len(classes) == 2
    doc["config"]["data"]["class_names"] = {classes[0]: "control", classes[1]: "autism"}
    (run / "run.json").write_text(json.dumps(doc))
    tab = ReconstructionsTab()
    qtbot.addWidget(tab)
    tab.resize(1280, 800)
    tab.show()
    with qtbot.waitSignal(tab.sigSubjectShown, timeout=60_000):
        tab.load_run(run)
    assert tab.confusion.class_names == ["control (neg.)", "autism (pos.)"]
    labels = {tab.errors.item(r, 2).text() for r in range(tab.errors.rowCount())}
    assert labels == {"control", "autism"}
    tab.side.setCurrentIndex(1)
    shot(tab, "reconstructions_class_names_1280")
    tab.shutdown()


def test_every_reconstruction_view_has_a_colour_bar_with_units_following_the_window(qtbot, tiny_scans_run):
    from biodeep_gui.gui.tabs.scans.reconstructions_tab import ReconstructionsTab

    tab = ReconstructionsTab()
    qtbot.addWidget(tab)
    tab.resize(1024, 640)
    tab.show()
    with qtbot.waitSignal(tab.sigSubjectShown, timeout=60_000):
        tab.load_run(tiny_scans_run)
    for viewer, unit in ((tab.original, "z-score"), (tab.reconstruction, "z-score"), (tab.difference, "Δ z-score")):
        assert viewer.units == unit and viewer.colour_bar.axis.labelText == unit
        levels = tuple(float(v) for v in viewer.images[0].getLevels())
        assert viewer.colour_bar.levels() == levels  # the bar spans the colours the views show
    lo, hi = tab.difference.window()
    assert lo == -hi  # a signed difference: the bar is centred on 0
    tab.original.set_window(-1.0, 2.0)
    assert tab.original.colour_bar.levels() == (-1.0, 2.0)
    assert tab.reconstruction.colour_bar.levels() == (-1.0, 2.0)  # the linked window moves its bar too
    shot(tab, "reconstructions_colour_bars_1024")
    tab.resize(1280, 800)
    shot(tab, "reconstructions_colour_bars_1280")
    tab.shutdown()
