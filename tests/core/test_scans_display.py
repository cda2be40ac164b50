"""What a finished scans run shows: the permutation p with its floor, and the training curves of each fold."""
from __future__ import annotations

import math

from biodeep_gui.core.scans.reports import permutation_p_text, phase_curves
from biodeep_gui.core.training.runs import read_history


def test_permutation_p_states_its_floor():
    assert permutation_p_text(1 / 21, 20) == "p = 0.0476, the smallest possible with 20 permutations"
    assert permutation_p_text(0.5, 20) == "p = 0.5 (the smallest possible with 20 permutations is 0.0476)"
    assert "smallest possible with 100 permutations is 0.0099" in permutation_p_text(0.03, 100)


def test_phase_curves_split_a_scans_history_by_fold_and_phase(tiny_scans_run):
    rows = read_history(tiny_scans_run)
    curves = phase_curves(rows)
    assert sum(len(c.rows) for c in curves) == len(rows)  # every epoch in exactly one curve
    keys = [(c.fold, c.phase) for c in curves]
    assert len(set(keys)) == len(keys)
    for c in curves:
        assert all(int(r["fold"]) == c.fold and r["phase"] == c.phase for r in c.rows)
        assert c.label == ("final fit" if c.phase == "final" else f"fold {c.fold}: "
                           + {"autoencoder": "autoencoder", "cnn": "3-D CNN"}[c.phase])
        if c.phase == "autoencoder":
            assert c.monitor == "correlation"
        kept = [int(r["epoch"]) for r in c.rows if r["is_best"] == 1.0]
        assert c.best_epoch == (kept[-1] if kept else 0)
    assert {c.phase for c in curves} >= {"autoencoder"}


def test_phase_curves_of_a_sequence_history_are_empty():
    assert phase_curves([{"epoch": 1.0, "train_loss": 0.5, "val_loss": math.nan}]) == []


def test_class_names_are_an_optional_display_setting_old_runs_load_without(tmp_path):
    import pytest

    from biodeep_gui.core.common.errors import ConfigError
    from biodeep_gui.core.scans.config import ScansConfig, format_class_names, parse_class_names
    from biodeep_gui.core.scans.run import load_scans_run
    from tests.test_legacy_formats import SCANS

    old = load_scans_run(SCANS)  # written by 0.1.0, before class names existed
    assert old.config.data.class_names == {} and old.config.data.class_label("1") == "1"
    cfg = ScansConfig()
    cfg.data.class_names = parse_class_names("1=autism; 2 = control")
    assert cfg.data.class_names == {"1": "autism", "2": "control"}
    assert format_class_names(cfg.data.class_names) == "1=autism, 2=control"
    cfg.save(tmp_path / "scans.json")
    back = ScansConfig.load(tmp_path / "scans.json")
    assert back.data.class_label("1") == "autism" and back.data.class_label("3") == "3"
    for text, words in (("1 autism", "is not VALUE=NAME"), ("1=a, 1=b", "named twice"), ("=x", "not VALUE=NAME")):
        with pytest.raises(ConfigError, match=words):
            parse_class_names(text)
    cfg.data.class_names = {"1": "same", "2": "Same"}
    with pytest.raises(ConfigError, match="data.class_names .* the same name"):
        cfg.validate()
    cfg.data.class_names = {"1": ""}
    with pytest.raises(ConfigError, match="data.class_names"):
        cfg.validate()


def test_cli_summary_names_the_classes_down_to_the_confusion():
    from biodeep_gui.cli.scans import format_summary
    from biodeep_gui.core.scans.reports import ScansSummary

    s = ScansSummary("run", "volumes", {"logistic": {"accuracy": (0.75, 0.1)}}, {}, {}, {}, 2, False, 1.0, "cpu", 10,
                     confusion={"logistic": [[3, 1], [2, 4]]}, classes=["2", "1"])
    text = format_summary(s, {"1": "autism", "2": "control"})
    assert "Classes: autism (positive, label 1) against control (label 2)" in text
    assert ("Confusion (" in text and "true control: 3 called control, 1 called autism; "
            "true autism: 2 called control, 4 called autism" in text)
    assert "true 2: 3 called 2" in format_summary(s)  # without names: the codes as in the table
