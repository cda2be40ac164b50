"""The Model tab's two pages keep their own training defaults: the scans page starts from ``ScansTrainConfig``
(patience off, classes weighted), not from the sequence page's, and shows epochs / batch / learning rate once."""
from biodeep_gui.core.scans.config import ScansDataConfig, ScansTrainConfig
from biodeep_gui.core.training.config import TrainConfig
from tests.gui.conftest import shot


def _tab(qtbot):
    from biodeep_gui.gui.tabs.model_tab import ModelTab

    tab = ModelTab()
    qtbot.addWidget(tab)
    tab.resize(1024, 640)
    tab.show()
    qtbot.waitExposed(tab)
    return tab


def test_scans_page_starts_from_the_scans_defaults_and_keeps_its_own(qtbot):
    from biodeep_gui.gui.tabs.model_forms import SCANS_ARCH

    st, seq = ScansTrainConfig(), TrainConfig()
    assert (st.patience, st.class_weighting) != (seq.patience, seq.class_weighting)  # the test means something
    tab = _tab(qtbot)
    data = ScansDataConfig(images="imgs", labels="t.csv")
    # asked while the sequence page is shown (the Scans tab's Train button): the scans defaults, not the box's
    cfg = tab.scans_config(data)
    assert (cfg.train.patience, cfg.train.class_weighting, cfg.train.weight_decay) == \
        (st.patience, st.class_weighting, st.weight_decay)

    tab.set_architecture(SCANS_ARCH)
    assert tab.patience_spin.value() == st.patience and tab.class_weight_check.isChecked() == st.class_weighting
    # epochs, batch size and learning rate are on the scans page only: the Training box hides its own
    for w in (tab.epochs_spin, tab.batch_spin, tab.lr_spin, tab.optimizer_combo, tab.clip_spin, tab.rc_check):
        assert not w.isVisible()
    assert tab._param_widgets[SCANS_ARCH]["epochs"].isVisible() and tab.patience_spin.isVisible()
    shot(tab, "model_tab_scans_1024x640")

    tab.patience_spin.setValue(9)
    tab.set_architecture("cnn")  # the sequence page gets its values back, the scans page keeps its 9
    assert tab.patience_spin.value() == seq.patience and tab.class_weight_check.isChecked() == seq.class_weighting
    assert tab.epochs_spin.isVisible() and tab.lr_spin.isVisible()
    assert tab.train_config().patience == seq.patience and tab.scans_config(data).train.patience == 9
    tab.patience_spin.setValue(3)
    tab.set_architecture(SCANS_ARCH)
    assert tab.patience_spin.value() == 9 and tab.scans_config(data).train.patience == 9
    assert tab.train_config().patience == 3  # the sequence run settings, while the scans page is shown
    tab.shutdown()


def test_opened_runs_and_saved_settings_go_to_their_own_page(qtbot, tmp_path):
    from PySide6.QtCore import QSettings

    from biodeep_gui.core.scans.config import ScansConfig
    from biodeep_gui.gui.tabs.model_forms import SCANS_ARCH

    tab = _tab(qtbot)
    cfg = ScansConfig()
    cfg.data = ScansDataConfig(images="imgs", labels="t.csv")
    cfg.train.patience = 4
    tab.set_scans_config(cfg)  # an opened scans run, while the sequence page is shown
    assert tab.patience_spin.value() == TrainConfig().patience and tab.scans_config(cfg.data).train.patience == 4
    tab.set_train_config(TrainConfig(patience=12, class_weighting=True))
    s = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    tab.set_architecture(SCANS_ARCH)
    tab.save_settings(s)
    tab.shutdown()

    again = _tab(qtbot)
    again.restore_settings(s)
    assert again.is_scans() and again.patience_spin.value() == 4
    assert again.train_config().patience == 12 and again.train_config().class_weighting
    again.set_architecture("cnn")
    assert again.patience_spin.value() == 12
    again.shutdown()
