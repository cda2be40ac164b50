"""A baseline fitted on a random subset of a large training split says so in the Results details and in the
Compare tab (its row's tooltip and the verdict)."""
from __future__ import annotations

import pytest

from tests.gui.conftest import shot


@pytest.fixture
def capped_run(tmp_path, monkeypatch):
    from biodeep_gui.core.sequences import baselines as B
    from biodeep_gui.core.sequences.config import DataConfig, ModelConfig, RunConfig
    from biodeep_gui.core.sequences.pipeline import train_run
    from biodeep_gui.core.sequences.run import load_run
    from biodeep_gui.core.training.config import TrainConfig
    from tests.core.helpers import planted

    monkeypatch.setattr(B, "BASELINE_MAX_TRAIN", 100)  # stands for the 100,000 of a genome-scale set
    monkeypatch.setattr(B, "BASELINE_MAX_VAL", 50)
    cfg = RunConfig(data=DataConfig(val_fraction=0.2, test_fraction=0.2), model=ModelConfig("kmer", {"k": 3}),
                    train=TrainConfig(device="cpu", seed=2))
    for _ in train_run(cfg, tmp_path / "kmer subset", data=planted(n=600, length=60, seed=5)):
        pass
    return load_run(tmp_path / "kmer subset")


def test_results_and_compare_say_the_baseline_was_fitted_on_a_subset(qtbot, capped_run):
    from PySide6.QtCore import Qt

    from biodeep_gui.gui.tabs.sequences.compare_tab import CompareTab
    from biodeep_gui.gui.tabs.sequences.results_tab import ResultsTab

    fitted = "fitted on 100 of 360 training sequences (random subset, seed 2)"
    results = ResultsTab()
    qtbot.addWidget(results)
    results.resize(1200, 800)
    results.show()
    results.show_run(capped_run)
    text = results.details.text()
    assert "Baseline" in text and fitted in text and "C scored on 50 of 120 validation sequences" in text
    shot(results, "scalebase_results_baseline_subset")

    compare = CompareTab()
    qtbot.addWidget(compare)
    compare.resize(1200, 800)
    compare.show()
    compare.set_runs([capped_run])
    assert f"kmer subset was {fitted}" in compare.verdict.text()
    tip = compare.proxy.index(0, 1).data(Qt.ItemDataRole.ToolTipRole)
    assert f"\nThis baseline was {fitted}; C scored on 50 of 120" in tip
    shot(compare, "scalebase_compare_baseline_subset")
