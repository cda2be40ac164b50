import json

import numpy as np
import pytest

from biodeep_gui.core.sequences.config import RunConfig
from biodeep_gui.core.sequences.pipeline import DataReport, RunSummary, evaluate, train_run
from biodeep_gui.core.sequences.run import load_run
from biodeep_gui.core.training.loop import EpochReport, TrainingError
from biodeep_gui.core.training.reports import StageReport

from .helpers import planted


def _cfg(arch, epochs=2, **train):
    cfg = RunConfig(name=f"t-{arch}")
    cfg.model.arch = arch
    if arch == "cnn":
        cfg.model.params = {"filters": 8, "filter_width": 11}
    cfg.train.epochs = epochs
    cfg.train.device = "cpu"
    for k, v in train.items():
        setattr(cfg.train, k, v)
    return cfg


@pytest.mark.parametrize("arch", ["cnn", "kmer"])
def test_train_run_saves_a_complete_run(tmp_path, arch):
    ss = planted(n=300, length=40)
    items = list(train_run(_cfg(arch), tmp_path / "run", data=ss))
    assert isinstance(items[0], StageReport) and any(isinstance(i, DataReport) for i in items)
    summary = items[-1]
    assert isinstance(summary, RunSummary) and not summary.cancelled
    assert 0.0 <= summary.metrics["test_auroc"] <= 1.0
    run = load_run(tmp_path / "run")
    assert run.status == "complete"
    assert run.metrics["test_auroc"] == pytest.approx(summary.metrics["test_auroc"])
    pred = run.predictions()
    assert pred["y_true"].shape == pred["y_pred"].shape == (len(ss) // 10, 1)
    # the saved model reproduces the stored test predictions
    assert evaluate(run, planted(n=300, length=40).subset(np.arange(10)))["auroc"] >= 0.0
    if arch == "cnn":
        assert len(run.history) == 2 and {"val_auroc", "train_loss"} <= set(run.history[0])


def test_checkpoint_each_epoch_and_cancel_keeps_work(tmp_path):
    ss = planted(n=300, length=40)
    out = tmp_path / "run"
    epochs_seen = []
    stop = {"now": False}
    for item in train_run(_cfg("cnn", epochs=50), out, data=ss, should_stop=lambda: stop["now"]):
        if isinstance(item, EpochReport):
            epochs_seen.append(item.epoch)
            doc = json.loads((out / "run.json").read_text())
            assert doc["status"] == "training" and doc["best_epoch"] >= 1  # checkpoint already on disk
            if item.epoch == 2:
                stop["now"] = True
        last = item
    assert last.cancelled and last.epochs_run == 2
    assert load_run(out).status == "cancelled"


def test_cancel_before_first_epoch_saves_nothing(tmp_path):
    items = list(train_run(_cfg("cnn"), tmp_path / "run", data=planted(n=200, length=40), should_stop=lambda: True))
    assert items[-1].cancelled and items[-1].run_dir == ""
    assert not (tmp_path / "run" / "run.json").exists()


def test_failure_marks_the_checkpoint(tmp_path):
    ss = planted(n=300, length=40, task="regression")
    cfg = _cfg("mlp", epochs=5, lr=1e6, optimizer="sgd")
    with pytest.raises(TrainingError):
        list(train_run(cfg, tmp_path / "run", data=ss))
    if (tmp_path / "run" / "run.json").exists():
        assert json.loads((tmp_path / "run" / "run.json").read_text())["status"] == "failed"


def test_same_split_for_deep_and_baseline(tmp_path):
    ss = planted(n=300, length=40)
    list(train_run(_cfg("cnn", epochs=1), tmp_path / "a", data=ss))
    a = load_run(tmp_path / "a")
    list(train_run(_cfg("linear"), tmp_path / "b", data=ss))
    b = load_run(tmp_path / "b")
    assert a.doc["test_ids_sha"] == b.doc["test_ids_sha"]
    np.testing.assert_array_equal(a.predictions()["y_true"], b.predictions()["y_true"])


def test_resume_after_interruption_matches_an_uninterrupted_run(tmp_path):
    """Cancel after epoch 2 (as a crash would leave it), resume: same history and weights as 4 straight epochs."""
    from biodeep_gui.core.sequences.pipeline import resumable, resume_run

    ss = planted(n=300, length=40)
    list(train_run(_cfg("cnn", epochs=4), tmp_path / "straight", data=ss))

    stop = {"now": False}
    for item in train_run(_cfg("cnn", epochs=4), tmp_path / "resumed", data=ss, should_stop=lambda: stop["now"]):
        if isinstance(item, EpochReport) and item.epoch == 2:
            stop["now"] = True
    assert resumable(tmp_path / "resumed")
    items = list(resume_run(tmp_path / "resumed", data=ss))
    replayed = [i.epoch for i in items if isinstance(i, EpochReport)]
    assert replayed == [1, 2, 3, 4]  # the curves of epochs 1-2 come back, then 3-4 are trained
    assert not resumable(tmp_path / "resumed")

    a, b = load_run(tmp_path / "straight"), load_run(tmp_path / "resumed")
    assert b.status == "complete" and len(b.history) == 4
    for ra, rb in zip(a.history, b.history):
        assert ra["train_loss"] == pytest.approx(rb["train_loss"], rel=1e-5)
    for k, v in a.tensors().items():
        np.testing.assert_allclose(b.tensors()[k], v, rtol=1e-5, atol=1e-6)
    assert b.metrics["test_auroc"] == pytest.approx(a.metrics["test_auroc"])


def test_nothing_to_resume(tmp_path):
    from biodeep_gui.core.common.errors import RunFolderError
    from biodeep_gui.core.sequences.pipeline import resumable, resume_run

    list(train_run(_cfg("cnn", epochs=1), tmp_path / "done", data=planted(n=200, length=40)))
    assert not resumable(tmp_path / "done")
    with pytest.raises(RunFolderError, match="no checkpoint"):
        list(resume_run(tmp_path / "done", data=planted(n=200, length=40)))


def test_a_run_saved_before_the_split_method_was_recorded_resumes_on_its_own_split(tmp_path):
    """Older runs were split by scikit-learn: resuming (and interpreting) them remakes that split."""
    from biodeep_gui.core.sequences.pipeline import _ids_digest, prepare_data, resume_run, split_method_of
    from biodeep_gui.core.sequences.splits import LEGACY_SPLIT_METHOD, SPLIT_METHOD

    ss = planted(n=300, length=40)
    stop = {"now": False}
    for item in train_run(_cfg("cnn", epochs=2), tmp_path / "old", data=ss, should_stop=lambda: stop["now"]):
        if isinstance(item, EpochReport):
            stop["now"] = True
    doc = json.loads((tmp_path / "old" / "run.json").read_text())
    assert doc["split"]["method"] == SPLIT_METHOD
    del doc["split"]["method"]  # as BioDeep wrote it before
    (tmp_path / "old" / "run.json").write_text(json.dumps(doc))
    list(resume_run(tmp_path / "old", data=ss))
    run = load_run(tmp_path / "old")
    legacy = prepare_data(run.config, ss, LEGACY_SPLIT_METHOD).test_set
    assert run.doc["test_ids_sha"] == _ids_digest(legacy.ids)
    assert run.doc["test_ids_sha"] != _ids_digest(prepare_data(run.config, ss).test_set.ids)
    assert split_method_of(run.doc) == LEGACY_SPLIT_METHOD
