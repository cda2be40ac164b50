import math

import numpy as np
import pytest
import torch

from biodeep_gui.core.sequences.batches import SequenceBatches
from biodeep_gui.core.sequences.models import build_model
from biodeep_gui.core.training.config import TrainConfig
from biodeep_gui.core.training.loop import (
    BatchReport,
    EpochReport,
    FitResult,
    Objective,
    TrainingError,
    fit,
    predict_outputs,
    resolve_device,
)

from .helpers import planted


def _setup(task="binary", n=400):
    ss = planted(n=n, task=task)
    tr, va = np.arange(0, int(n * 0.8)), np.arange(int(n * 0.8), n)
    obj = Objective.for_labels(ss.task, ss.labels[tr], ss.n_outputs, False)
    return ss, tr, va, obj


def _run(cfg, should_stop=lambda: False, task="binary", arch="cnn"):
    ss, tr, va, obj = _setup(task)
    torch.manual_seed(0)
    model = build_model(arch, ss.length, ss.n_outputs, {"filters": 8, "filter_width": 11} if arch == "cnn" else {})
    items = list(fit(model, SequenceBatches(ss.codes[tr], obj.scale_targets(ss.labels[tr])),
                     SequenceBatches(ss.codes[va], obj.scale_targets(ss.labels[va])), obj, cfg,
                     device=torch.device("cpu"), val_targets=ss.labels[va], should_stop=should_stop,
                     report_interval=0.0))
    return items, model, ss, va, obj


def test_fit_learns_a_planted_motif_and_reports():
    cfg = TrainConfig(epochs=6, batch_size=32, lr=5e-3, patience=0, seed=0)
    items, model, ss, va, obj = _run(cfg)
    epochs = [i for i in items if isinstance(i, EpochReport)]
    batches = [i for i in items if isinstance(i, BatchReport)]
    result = items[-1]
    assert isinstance(result, FitResult) and len(epochs) == 6 and batches
    assert result.history[-1].val_metrics["auroc"] > 0.9
    assert epochs[result.best_epoch - 1].is_best
    # the model holds the best epoch's weights at the end
    raw, _ = predict_outputs(model, SequenceBatches(ss.codes[va], ss.labels[va]), 64)
    best_auroc = epochs[result.best_epoch - 1].val_metrics["auroc"]
    assert obj.metrics(ss.labels[va], obj.transform(raw))["auroc"] == pytest.approx(best_auroc, abs=1e-6)


def test_fit_is_deterministic():
    cfg = TrainConfig(epochs=2, batch_size=64, seed=3)
    a = [r.train_loss for r in _run(cfg)[0] if isinstance(r, EpochReport)]
    b = [r.train_loss for r in _run(cfg)[0] if isinstance(r, EpochReport)]
    assert a == b


def test_cancel_stops_within_one_batch():
    calls = {"n": 0}

    def stop():
        calls["n"] += 1
        return calls["n"] > 3

    items, *_ = _run(TrainConfig(epochs=50, batch_size=16), should_stop=stop)
    result = items[-1]
    assert result.cancelled and not result.history
    assert calls["n"] == 4  # polled before each batch; stopped at the first True


def test_early_stopping():
    cfg = TrainConfig(epochs=40, batch_size=64, lr=1e-2, patience=2, seed=0)
    items, *_ = _run(cfg)
    result = items[-1]
    assert result.stopped_early and len(result.history) < 40
    assert len(result.history) - result.best_epoch == 2


def test_regression_targets_are_standardised_and_mapped_back():
    cfg = TrainConfig(epochs=6, batch_size=32, lr=5e-3, seed=0)
    items, model, ss, va, obj = _run(cfg, task="regression")
    assert obj.target_mean is not None and abs(float(obj.target_mean[0]) - 1.0) < 0.2
    assert items[-1].history[-1].val_metrics["pearson"] > 0.8


def test_nan_loss_is_a_clear_error():
    cfg = TrainConfig(epochs=2, batch_size=32, lr=1e6, optimizer="sgd", seed=0)
    with pytest.raises(TrainingError, match="learning rate"):
        _run(cfg, task="regression", arch="mlp")


def test_rc_augmentation_keeps_labels():
    ss, tr, va, obj = _setup()
    src = SequenceBatches(ss.codes[:8], ss.labels[:8])
    g = torch.Generator().manual_seed(0)
    (x, y), = list(src.batches(8, augment=True, generator=g))
    assert torch.equal(y, torch.as_tensor(ss.labels[:8]))
    # every row is either the original or its reverse complement
    from biodeep_gui.core.sequences.encoding import one_hot_numpy, reverse_complement
    fwd, rc = one_hot_numpy(ss.codes[:8]), one_hot_numpy(reverse_complement(ss.codes[:8]).copy())
    for i in range(8):
        assert np.allclose(x[i].numpy(), fwd[i]) or np.allclose(x[i].numpy(), rc[i])


def test_resolve_device():
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type in {"cpu", "cuda", "mps"}
    with pytest.raises(TrainingError, match="unknown device"):
        resolve_device("tpu7")
    if not torch.cuda.is_available():
        with pytest.raises(TrainingError, match="CUDA"):
            resolve_device("cuda")


def test_class_weighting():
    y = np.array([[1], [0], [0], [0]], np.float32)
    obj = Objective.for_labels("binary", y, 1, True)
    assert obj.pos_weight[0] == pytest.approx(3.0)
    assert Objective.for_labels("binary", y, 1, False).pos_weight is None


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_smoke():
    ss, tr, va, obj = _setup()
    model = build_model("cnn", ss.length, 1)
    items = list(fit(model, SequenceBatches(ss.codes[tr], ss.labels[tr]), SequenceBatches(ss.codes[va], ss.labels[va]),
                     obj, TrainConfig(epochs=1, amp=True), device=torch.device("cuda"), val_targets=ss.labels[va]))
    assert isinstance(items[-1], FitResult) and math.isfinite(items[-1].history[0].train_loss)
    assert next(model.parameters()).device.type == "cuda"


def test_batch_indices_is_the_one_sampler():
    from biodeep_gui.core.training.loop import batch_indices

    in_order = list(batch_indices(10, 4))
    assert in_order == [slice(0, 4), slice(4, 8), slice(8, 12)]
    shuffled = list(batch_indices(10, 4, shuffle=True, generator=torch.Generator().manual_seed(3)))
    assert [len(b) for b in shuffled] == [4, 4, 2]
    expected = torch.randperm(10, generator=torch.Generator().manual_seed(3))
    assert torch.equal(torch.cat(shuffled), expected)  # one randperm per epoch: same seed, same order as before
    assert list(batch_indices(0, 4)) == []
