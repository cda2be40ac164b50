"""The brain-scan workflow inside the main window: Scans tab -> training in a worker -> Reconstructions tab."""
from __future__ import annotations

import pytest
import torch
from PySide6.QtCore import Qt

from biodeep_gui.core.synthetic_scans import write_demo_cohort
from tests.gui.conftest import shot

TIMEOUT = 240_000


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # small 3-D convolutions spin with two threads on a shared 2-core machine
    yield
    torch.set_num_threads(before)


def test_scans_train_in_the_window_and_reopen_the_run(qtbot, window, tmp_path):
    window._build_tabs()
    titles = [window.tabs.tabText(i) for i in range(window.tabs.count())]
    assert titles[-2:] == ["Scans", "Reconstructions"]
    demo = write_demo_cohort(tmp_path / "demo", 8, (16, 20, 16), seed=0)
    tab = window.scans_tab
    tab.images_edit.setText(str(demo.images))
    tab.labels_edit.setText(str(demo.table))
    tab._fill_columns()
    with qtbot.waitSignal(tab.load_runner.sigFinished, timeout=TIMEOUT):
        qtbot.mouseClick(tab.load_button, Qt.MouseButton.LeftButton)
    cfg = tab.config()
    cfg.model.autoencoder = {"depth": 2, "code_size": 8}
    cfg.model.cnn = {"depth": 2}
    cfg.train.epochs, cfg.train.batch_size, cfg.train.cnn_epochs, cfg.train.preview_every = 2, 2, 1, 1
    cfg.cv.folds, cfg.cv.permutations = 2, 2
    tab.set_config(cfg)
    tab.out_edit.setText(str(tmp_path / "scans-run"))
    with qtbot.waitSignal(window.scans_runner.sigFinished, timeout=TIMEOUT) as done:
        qtbot.mouseClick(tab.train_button, Qt.MouseButton.LeftButton)
    assert done.args[0].run_dir == str(tmp_path / "scans-run")
    assert window.current_tab() is window.reconstructions_tab
    qtbot.waitUntil(lambda: window.reconstructions_tab.run is not None, timeout=TIMEOUT)
    assert window.reconstructions_tab.folds_table.rowCount() > 0
    shot(window, "window_reconstructions")

    window.show_tab(window.sequences_tab)
    window.reconstructions_tab.run = None
    assert window.open_run(tmp_path / "scans-run") is None  # a scans run opens in its own tab, not Results
    assert window.current_tab() is window.reconstructions_tab and window.reconstructions_tab.run is not None
