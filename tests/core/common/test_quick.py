"""BIODEEP_QUICK (core.common.quick): caps settings only when set, and says what it capped."""
from biodeep_gui.core.common import quick
from biodeep_gui.core.scans.config import ScansConfig
from biodeep_gui.core.training.config import TrainConfig


def test_unset_changes_nothing(monkeypatch):
    monkeypatch.delenv(quick.ENV, raising=False)
    t = TrainConfig(epochs=20)
    assert quick.shorten(t) == [] and t.epochs == 20
    assert quick.size(2000, 600) == 2000
    assert quick.notice(["epochs capped at 1"]) == ""
    monkeypatch.setenv(quick.ENV, "0")
    assert not quick.active() and quick.shorten(t) == [] and t.epochs == 20


def test_set_caps_epochs_folds_and_permutations(monkeypatch):
    monkeypatch.setenv(quick.ENV, "1")
    t, s = TrainConfig(epochs=20), ScansConfig()
    capped = quick.shorten(t, s.train, s.cv)
    assert t.epochs == 1 and s.train.epochs == 1 and s.train.cnn_epochs == 1
    assert s.cv.folds == 2 and s.cv.permutations == 2
    assert "epochs capped at 1" in capped and "permutations capped at 2" in capped
    assert quick.notice(capped).startswith("BIODEEP_QUICK is set: epochs capped at 1")
    assert quick.size(2000, 600) == 600 and quick.size(300, 600) == 300
    small = TrainConfig(epochs=1)
    assert quick.shorten(small) == []  # already within the cap: nothing said
