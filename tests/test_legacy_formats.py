"""Folders written by BioDeep 0.1.0 (tests/fixtures/legacy_v0_1_0, committed before the layered layout) keep opening.

Every assertion compares with values read from the fixture files themselves, so a loader that silently drops or
renames a field fails here.
"""
from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from biodeep_gui.core.project import load_project
from biodeep_gui.core.runs import open_run, run_kind
from biodeep_gui.core.scans.run import ScansRun, load_scans_run
from biodeep_gui.core.sequences.fasta import read_records
from biodeep_gui.core.sequences.run import Run, load_run

LEGACY = Path(__file__).resolve().parent / "fixtures" / "legacy_v0_1_0"
CNN = LEGACY / "runs" / "cnn"
SCANS = LEGACY / "runs" / "scans"


def _json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _safetensors(path: Path) -> dict[str, np.ndarray]:
    from safetensors.numpy import load_file

    return load_file(str(path))


# ---- the sequence run ----------------------------------------------------------------------------------------------

def test_legacy_sequence_run_has_no_kind_and_the_old_predictions_name():
    """What makes it a 0.1.0 folder: no 'kind' in run.json, predictions under test_predictions.safetensors."""
    assert "kind" not in _json(CNN / "run.json")
    assert (CNN / "test_predictions.safetensors").exists() and not (CNN / "predictions.safetensors").exists()
    assert run_kind(CNN) == "sequences"


def test_legacy_sequence_run_config_and_model():
    doc = _json(CNN / "run.json")
    run = load_run(CNN)
    assert isinstance(run, Run) and run.status == doc["status"] == "complete"
    assert run.config.model.arch == doc["config"]["model"]["arch"] == "cnn"
    assert run.config.train.epochs == doc["config"]["train"]["epochs"] == 2
    assert run.config.train.lr == doc["config"]["train"]["lr"]
    assert run.config.data.fasta == doc["config"]["data"]["fasta"] == "data/pos.fa"
    assert run.info.length == doc["model"]["length"] == 40
    assert run.info.task == "binary" and run.info.class_names == doc["model"]["class_names"]
    assert run.info.params["filters"] == doc["model"]["params"]["filters"] == 4
    assert run.provenance["biodeep"] == "0.1.0" and run.provenance["seed"] == 0


def test_legacy_sequence_run_metrics_history_and_predictions():
    run = load_run(CNN)
    assert run.metrics == pytest.approx(_json(CNN / "metrics.json"))
    assert run.metrics["test_auroc"] == pytest.approx(0.5625)
    rows = list(csv.DictReader((CNN / "history.csv").open(encoding="utf-8")))
    assert [int(r["epoch"]) for r in run.history] == [int(r["epoch"]) for r in rows] == [1, 2]
    assert run.history[1]["val_loss"] == pytest.approx(float(rows[1]["val_loss"]))
    preds = run.predictions()
    stored = _safetensors(CNN / "test_predictions.safetensors")
    assert preds is not None and set(preds) == set(stored) == {"y_true", "y_pred"}
    for k in stored:
        np.testing.assert_array_equal(preds[k], stored[k])
    assert preds["y_pred"].shape == (8, 1) and set(np.unique(preds["y_true"])) <= {0.0, 1.0}


def test_legacy_sequence_run_predicts_sequences():
    from biodeep_gui.core.sequences.encoding import encode, one_hot_numpy

    run = load_run(CNN)
    seqs = [s for _, s in read_records(LEGACY / "data" / "pos.fa")[:3]] + \
           [s for _, s in read_records(LEGACY / "data" / "neg.fa")[:2]]
    codes = np.stack([encode(s)[:40] for s in seqs]).astype(np.uint8)
    assert codes.shape == (5, 40)
    got = run.predict(codes)
    # the same network rebuilt by hand from the stored weights
    from biodeep_gui.core.sequences.models import build_model

    model = build_model("cnn", 40, 1, run.info.params)
    model.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in _safetensors(CNN / "model.safetensors").items()})
    with torch.no_grad():
        ref = torch.sigmoid(model.eval()(torch.from_numpy(one_hot_numpy(codes)))).numpy()
    assert got.shape == (5, 1) and np.all((got > 0) & (got < 1))
    np.testing.assert_allclose(got, ref, rtol=1e-5)


def test_open_run_reads_the_legacy_sequence_run():
    run = open_run(CNN)
    assert isinstance(run, Run) and run.metrics["val_auroc"] == pytest.approx(_json(CNN / "metrics.json")["val_auroc"])


# ---- the scans run -------------------------------------------------------------------------------------------------

def test_legacy_scans_run_kind_metrics_and_results():
    doc = _json(SCANS / "run.json")
    assert run_kind(SCANS) == doc["kind"] == "scans"
    run = load_scans_run(SCANS)
    assert run.status == doc["status"] == "complete"
    assert run.metrics == _json(SCANS / "metrics.json")
    assert run.metrics["logistic_accuracy_mean"] == pytest.approx(0.625)
    results = _json(SCANS / "results.json")
    assert run.results == results
    assert run.results["cv_scheme"] == "stratified 2-fold by label and site"
    assert run.results["arms"] == ["mlp", "logistic", "cnn"] and run.results["classes"] == ["2", "1"]
    assert [f["fold"] for f in run.results["folds"]] == [1, 2]
    assert run.config.cv.folds == doc["config"]["cv"]["folds"] == 2
    assert run.config.data.label_column == "DX_GROUP"
    assert [s["id"] for s in run.subjects] == [s["id"] for s in doc["cohort"]["subjects"]] and len(run.subjects) == 8
    assert run.grid is not None and run.grid.shape == tuple(doc["model"]["grid"]["shape"]) == (12, 14, 12)


def test_legacy_scans_run_predictions_and_weights():
    run = load_scans_run(SCANS)
    stored = _safetensors(SCANS / "predictions.safetensors")
    preds = run.predictions()
    assert set(preds) == set(stored) and {"y_true", "fold", "prob_logistic"} <= set(preds)
    np.testing.assert_array_equal(preds["prob_logistic"], stored["prob_logistic"])
    assert preds["fold"].shape == (8,) and set(preds["fold"].astype(int)) == {1, 2}
    for fold in (0, 1, 2):
        model, extra = run.autoencoder(fold)
        assert extra["mask"].shape == (12, 14, 12)
        with torch.no_grad():
            out = model(torch.zeros((1, 1, 12, 14, 12)))
        assert out.shape == (1, 1, 12, 14, 12) and torch.isfinite(out).all()


def test_open_run_reads_the_legacy_scans_run():
    run = open_run(SCANS)
    assert isinstance(run, ScansRun) and run.results["cv_scheme"].startswith("stratified")


# ---- the project ---------------------------------------------------------------------------------------------------

def test_legacy_project_loads():
    raw = _json(LEGACY / "legacy.biodeep.json")
    project = load_project(LEGACY / "legacy.biodeep.json")
    assert project.name == raw["name"] == "legacy demo"
    assert [Path(r) for r in project.runs] == [CNN]
    assert Path(project.data["fasta"]) == LEGACY / "data" / "pos.fa"
    assert Path(project.data["background"]) == LEGACY / "data" / "neg.fa"
    assert project.model_config().arch == raw["model"]["arch"] == "cnn"
    assert project.model_config().params == raw["model"]["params"]
    assert project.train_config().epochs == raw["train"]["epochs"] == 20
    assert project.data_config().width == raw["data"]["width"] == 200
    # and its run opens
    assert run_kind(project.runs[0]) == "sequences"
    assert isinstance(open_run(project.runs[0]), Run)
