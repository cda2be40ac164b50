"""Genome-scale multi-task: per-task AUROC/AUPRC, their summaries, and the synthetic multi-task generator."""
import json
import math

import numpy as np

from biodeep_gui.core.common.metrics import per_task_metrics
from biodeep_gui.core.sequences.synthetic_multitask import multitask_set


def test_per_task_metrics_and_summaries_on_a_known_input():
    y = np.array([[0, 0, 0, 1], [0, 1, 0, 1], [1, 0, 1, 1], [1, 1, 1, 1]], float)
    p = np.array([[0.1, 0.9, 0.1, 0.5], [0.2, 0.1, 0.3, 0.5], [0.8, 0.8, 0.2, 0.5], [0.9, 0.2, 0.9, 0.5]])
    # task a: perfect (1.0); task b: reversed (0.0); task c: 3 of 4 pairs ranked right (0.75); d: one class only
    m = per_task_metrics(y, p, ["a", "b", "c", "d"], prefix="test_")
    assert m["test_task/a/auroc"] == 1.0 and m["test_task/b/auroc"] == 0.0 and m["test_task/c/auroc"] == 0.75
    assert math.isnan(m["test_task/d/auroc"]) and m["test_n_tasks_scored"] == 3
    assert m["test_auroc_median"] == 0.75
    assert m["test_auroc_frac_ge_0.7"] == 2 / 3 and m["test_auroc_frac_ge_0.8"] == 1 / 3
    assert m["test_auroc_frac_ge_0.9"] == 1 / 3
    assert m["test_task/a/auprc"] == 1.0 and "test_auprc_median" in m


def test_synthetic_multitask_labels_are_the_planted_motifs():
    from biodeep_gui.core.sequences.synthetic_motifs import motif_scores
    from biodeep_gui.core.sequences.synthetic_multitask import task_motifs

    ss = multitask_set(n=300, length=100, n_tasks=6, rate=0.2, max_sites=3, seed=1)
    assert ss.labels.shape == (300, 6) and ss.task == "binary" and len(set(ss.label_names)) == 6
    assert 0.1 < ss.labels.mean() < 0.3
    again = multitask_set(n=300, length=100, n_tasks=6, rate=0.2, max_sites=3, seed=1)
    np.testing.assert_array_equal(again.codes, ss.codes)
    m = task_motifs(6)[0]
    best = motif_scores(ss.codes, m).max(axis=(1, 2))
    pos, neg = best[ss.labels[:, 0] == 1], best[ss.labels[:, 0] == 0]
    assert pos.mean() > neg.mean() + 2  # the planted sites score well above chance hits


def test_a_multitask_run_reports_per_task_metrics(tmp_path):
    from biodeep_gui.core.sequences.config import RunConfig
    from biodeep_gui.core.sequences.pipeline import RunSummary, train_run

    ss = multitask_set(n=600, length=80, n_tasks=5, rate=0.3, max_sites=3, seed=0)
    cfg = RunConfig()
    cfg.model.arch, cfg.model.params = "cnn", {"filters": 16, "filter_width": 12}
    cfg.train.epochs, cfg.train.batch_size, cfg.train.lr, cfg.train.device = 2, 32, 0.01, "cpu"
    summary = [x for x in train_run(cfg, tmp_path / "run", data=ss) if isinstance(x, RunSummary)][-1]
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    for name in ss.label_names:
        assert f"test_task/{name}/auroc" in metrics and f"test_task/{name}/auprc" in metrics
    assert metrics["test_n_tasks_scored"] == 5
    assert 0 <= metrics["test_auroc_frac_ge_0.7"] <= 1 and summary.metrics["test_auroc_median"] > 0.5
