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
