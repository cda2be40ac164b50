"""The brain-scan workflow inside the main window: Scans tab -> training in a worker -> Reconstructions tab."""
from __future__ import annotations

import pytest
import torch
from PySide6.QtCore import Qt

from biodeep_gui.core.scans.synthetic import write_demo_cohort
from tests.gui.conftest import shot

TIMEOUT = 240_000


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # small 3-D convolutions spin with two threads on a shared 2-core machine
    yield
    torch.set_num_threads(before)


def test_scans_train_in_the_window_and_reopen_the_run(qtbot, window, tmp_path):
    """Cohort in the Scans tab, settings in the Model tab ("Autoencoder → classifier"), Start in the Training tab:
    progress and per-phase curves there, then the results in Reconstructions."""
    from biodeep_gui.gui.tabs.model_forms import SCANS_ARCH

    window.build_tabs()
    titles = [window.tabs.tabText(i) for i in range(window.tabs.count())]
    assert titles[-2:] == ["Scans", "Reconstructions"]
    demo = write_demo_cohort(tmp_path / "demo", 8, (16, 20, 16), seed=0)
    tab = window.scans_tab
    window.model_tab.set_architecture(SCANS_ARCH)
    window.start_training()  # no cohort loaded yet: a message and the Scans tab, nothing starts
    assert not window.scans_runner.is_running() and window.current_tab() is tab
    assert any("Load a cohort" in d.text() for d in window.open_dialogs())
    tab.form.images_edit.setText(str(demo.images))
    tab.form.labels_edit.setText(str(demo.table))
    tab.form.fill_columns()
    with qtbot.waitSignal(tab.load_runner.sigFinished, timeout=TIMEOUT):
        qtbot.mouseClick(tab.form.load_button, Qt.MouseButton.LeftButton)
    m = window.model_tab
    assert m._grid == (16, 20, 16)  # the Model tab sizes the autoencoder for the loaded cohort's grid
    m.set_architecture(SCANS_ARCH)
    page = m._param_widgets[SCANS_ARCH]
    for name, value in (("depth", 2), ("code_size", 8), ("epochs", 2), ("batch_size", 2), ("folds", 2),
                        ("permutations", 2)):
        page[name].setValue(value)
    assert not m.epochs_spin.isEnabled() and m.seed_spin.isEnabled()  # the sequence settings do not apply
    cfg = m.scans_config(tab.data_config())
    cfg.train.cnn_epochs, cfg.train.preview_every = 1, 1  # settings the form does not show are kept from here
    m.set_scans_config(cfg)
    tab.out_edit.setText(str(tmp_path / "scans-run"))
    epochs_seen = []
    window.scans_runner.sigItems.connect(lambda _items: epochs_seen.append(window.training_tab.curves.n_epochs()))
    with qtbot.waitSignal(window.scans_runner.sigFinished, timeout=TIMEOUT) as done:
        qtbot.mouseClick(window.training_tab.start_button, Qt.MouseButton.LeftButton)
        assert window.current_tab() is window.training_tab
    summary = done.args[0]
    assert summary.run_dir == str(tmp_path / "scans-run")
    assert max(epochs_seen) >= 1  # live per-epoch curves in the Training tab
    qtbot.waitUntil(lambda: window.reconstructions_tab.run is not None, timeout=TIMEOUT)
    saved = window.reconstructions_tab.run.config
    assert saved.model.autoencoder == {"depth": 2, "channels": 8, "code_size": 8, "noise_std": 0.1}
    assert (saved.train.epochs, saved.train.cnn_epochs, saved.cv.folds) == (2, 1, 2)
    assert "Cross-validated accuracy (2 folds)" in window.training_tab.run_label.text()
    assert window.training_tab.speed_label.text().endswith("scans/s")
    assert window.current_tab() is window.reconstructions_tab
    assert window.reconstructions_tab.folds_table.rowCount() > 0
    shot(window, "window_reconstructions")
    window.show_tab(window.training_tab)
    shot(window, "window_scans_training")

    window.show_tab(window.sequences_tab)
    window.reconstructions_tab.run = None
    assert window.open_run(tmp_path / "scans-run") is None  # a scans run opens in its own tab, not Results
    assert window.current_tab() is window.reconstructions_tab and window.reconstructions_tab.run is not None
