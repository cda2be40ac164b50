import json
import pickle

import numpy as np
import pytest
import torch

from biodeep_gui.core.common.errors import RunFolderError
from biodeep_gui.core.sequences.config import RunConfig
from biodeep_gui.core.sequences.models import build_model
from biodeep_gui.core.sequences.run import ModelInfo, load_run, write_run
from biodeep_gui.core.training.runs import provenance


def _save(tmp_path, arch="cnn"):
    torch.manual_seed(0)
    model = build_model(arch, 30, 1)
    cfg = RunConfig(name="r1")
    cfg.model.arch = arch
    info = ModelInfo(arch, {}, 30, 1, "binary", ["bound"], ["background", "bound"])
    d = tmp_path / "run"
    write_run(d, cfg, info, model.state_dict(), history=[{"epoch": 1, "train_loss": 0.5, "val_loss": 0.6}],
                   metrics={"test_auroc": 0.9, "test_f1": float("nan")}, status="complete",
                   provenance_info=provenance(cfg, "cpu"))
    return d, model


def test_round_trip_predicts_the_same(tmp_path):
    d, model = _save(tmp_path)
    run = load_run(d)
    assert run.status == "complete" and run.name == "r1"
    assert run.metrics["test_auroc"] == 0.9 and np.isnan(run.metrics["test_f1"])
    assert run.history[0]["val_loss"] == 0.6
    codes = np.random.default_rng(0).integers(0, 4, (6, 30)).astype(np.uint8)
    from biodeep_gui.core.sequences.encoding import one_hot_numpy
    with torch.no_grad():
        ref = torch.sigmoid(model.eval()(torch.from_numpy(one_hot_numpy(codes)))).numpy()
    np.testing.assert_allclose(run.predict(codes), ref, rtol=1e-5)
    prov = json.loads((d / "run.json").read_text())["provenance"]
    assert prov["torch"] == torch.__version__ and prov["seed"] == 0


def test_no_temp_files_left(tmp_path):
    d, _ = _save(tmp_path)
    assert sorted(p.name for p in d.iterdir()) == ["history.csv", "metrics.json", "model.safetensors", "run.json"]


def test_pickle_payload_is_refused_and_not_executed(tmp_path):
    d, _ = _save(tmp_path)
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    (d / "model.safetensors").write_bytes(pickle.dumps(Evil()))
    run = load_run(d)
    with pytest.raises(RunFolderError, match="safetensors"):
        run.model()
    assert not marker.exists()


@pytest.mark.parametrize("damage, needle", [
    (lambda d: (d / "run.json").unlink(), "not a BioDeep run folder"),
    (lambda d: (d / "run.json").write_text("{broken"), "damaged"),
    (lambda d: (d / "model.safetensors").unlink(), "missing"),
    (lambda d: (d / "run.json").write_text(json.dumps({"schema_version": 99, "config": {}, "model": {}})), "newer"),
])
def test_damaged_runs_are_clear(tmp_path, damage, needle):
    d, _ = _save(tmp_path)
    damage(d)
    with pytest.raises(RunFolderError, match=needle):
        load_run(d)


def test_wrong_architecture_weights(tmp_path):
    d, _ = _save(tmp_path)
    doc = json.loads((d / "run.json").read_text())
    doc["model"]["arch"] = "mlp"
    (d / "run.json").write_text(json.dumps(doc))
    with pytest.raises(RunFolderError, match="do not fit"):
        load_run(d).model()


def test_schema_1_run_folder_still_loads(tmp_path):
    """A run saved by BioDeep 0.0.x: 'network' section with 'input_length', flat label_column."""
    d, model = _save(tmp_path)
    doc = json.loads((d / "run.json").read_text())
    net = doc.pop("model")
    net["input_length"] = net.pop("length")
    doc["network"] = net
    doc["schema_version"] = 1
    doc["config"]["data"]["label_column"] = doc["config"]["data"].pop("label_columns")[0]
    doc["config"].pop("schema_version")
    (d / "run.json").write_text(json.dumps(doc))
    run = load_run(d)
    assert run.info.length == 30 and run.config.data.label_columns == ["label"]
    run.model()
