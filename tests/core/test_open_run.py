"""core/runs.py: one call opens a run folder of either science; run_kind reads run.json only.

Tiny real trainings (one epoch, a few subjects, one torch thread) write the folders, so the format under test is
the one the pipelines write today.
"""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

from biodeep_gui.core.common.errors import RunFolderError
from biodeep_gui.core.runs import open_run, run_kind
from biodeep_gui.core.scans.run import ScansRun
from biodeep_gui.core.sequences.config import RunConfig
from biodeep_gui.core.sequences.pipeline import train_run
from biodeep_gui.core.sequences.run import Run
from biodeep_gui.core.training import runs as fmt

from .helpers import planted


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def sequence_run(tmp_path_factory):
    cfg = RunConfig(name="tiny")
    cfg.model.arch, cfg.model.params = "cnn", {"filters": 4, "filter_width": 5, "hidden": 4}
    cfg.train.epochs, cfg.train.device = 1, "cpu"
    out = tmp_path_factory.mktemp("seq") / "run"
    list(train_run(cfg, out, data=planted(n=200, length=40)))
    return out


@pytest.fixture(scope="module")
def scans_run(tiny_scans_run):
    return tiny_scans_run  # the session's tiny scans run (tests/conftest.py); tests only read it


def test_a_new_sequence_run_says_its_kind_and_opens(sequence_run):
    doc = json.loads((sequence_run / fmt.RUN_FILE).read_text())
    assert doc["kind"] == "sequences" == run_kind(sequence_run)
    run = open_run(sequence_run)
    assert isinstance(run, Run) and run.status == "complete" and run.config.name == "tiny"
    assert (sequence_run / "predictions.safetensors").exists()
    assert not (sequence_run / "test_predictions.safetensors").exists()
    preds = run.predictions()
    assert preds is not None and preds["y_true"].shape == preds["y_pred"].shape == (20, 1)
    out = run.predict(np.zeros((3, 40), np.uint8))
    assert out.shape == (3, 1) and np.all((out >= 0) & (out <= 1))


def test_a_new_scans_run_says_its_kind_and_opens(scans_run):
    doc = json.loads((scans_run / fmt.RUN_FILE).read_text())
    assert doc["kind"] == "scans" == run_kind(scans_run)
    run = open_run(scans_run)
    assert isinstance(run, ScansRun) and run.status == "complete"
    assert run.metrics == json.loads((scans_run / fmt.METRICS_FILE).read_text())
    assert run.results["arms"] == json.loads((scans_run / fmt.RESULTS_FILE).read_text())["arms"]
    assert sorted(p.name for p in (scans_run / fmt.FOLDS_DIR).iterdir()) == ["fold1.safetensors", "fold2.safetensors"]
    assert run.predictions()["y_true"].shape == (8,)
    _, extra = run.autoencoder(1)
    assert extra["mask"].shape == (8, 10, 8)


def test_both_kinds_write_the_same_file_names(sequence_run, scans_run):
    shared = {fmt.RUN_FILE, fmt.WEIGHTS_FILE, fmt.HISTORY_FILE, fmt.METRICS_FILE, fmt.PREDICTIONS_FILE}
    assert shared <= {p.name for p in sequence_run.iterdir()}
    assert shared | {fmt.RESULTS_FILE, fmt.FOLDS_DIR} <= {p.name for p in scans_run.iterdir()}


@pytest.mark.parametrize("which", ["sequences", "scans"])
def test_run_kind_reads_run_json_only(tmp_path, sequence_run, scans_run, which):
    src = sequence_run if which == "sequences" else scans_run
    d = tmp_path / "only-run-json"
    d.mkdir()
    shutil.copy(src / fmt.RUN_FILE, d / fmt.RUN_FILE)
    (d / fmt.WEIGHTS_FILE).write_bytes(b"not read")
    assert run_kind(d) == which


def test_run_kind_of_a_run_json_without_kind_is_sequences(tmp_path, sequence_run):
    d = tmp_path / "old"
    shutil.copytree(sequence_run, d)
    doc = json.loads((d / fmt.RUN_FILE).read_text())
    del doc["kind"]
    (d / fmt.RUN_FILE).write_text(json.dumps(doc))
    assert run_kind(d) == "sequences" and isinstance(open_run(d), Run)


@pytest.mark.parametrize("make, needle", [
    (lambda d: None, "no run.json"),
    (lambda d: (d / "run.json").write_text('{"kind": "proteins"}'), "unknown kind of run 'proteins'"),
    (lambda d: (d / "run.json").write_text("[1, 2]"), "not a table"),
    (lambda d: (d / "run.json").write_text("{broken"), "damaged run description"),
])
def test_run_kind_refuses_what_is_not_a_run(tmp_path, make, needle):
    d = tmp_path / "folder"
    d.mkdir()
    make(d)
    with pytest.raises(RunFolderError, match=needle):
        run_kind(d)
    with pytest.raises(RunFolderError, match=needle):
        open_run(d)
    with pytest.raises(RunFolderError, match="not a folder"):
        open_run(tmp_path / "missing")
