"""Sequence run folders: write one, read it back (no code from the folder is ever executed)."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from biodeep_gui.core.common.errors import RunFolderError
from biodeep_gui.core.common.fileio import atomic_write
from biodeep_gui.core.sequences.config import SCHEMA_VERSION, RunConfig, migrate
from biodeep_gui.core.training.runs import (
    HISTORY_FILE,
    LEGACY_PREDICTIONS_FILE,
    METRICS_FILE,
    PREDICTIONS_FILE,
    RUN_FILE,
    SEQUENCES,
    WEIGHTS_FILE,
    _num,
    history_csv,
    kind_of,
    load_weights,
    read_history,
    read_json_file,
    read_run_doc,
    read_tensors,
    run_file,
    write_json,
    write_tensors,
)


@dataclass
class ModelInfo:
    """What is needed to rebuild the network and read its outputs."""

    arch: str
    params: dict[str, Any]
    length: int
    n_outputs: int
    task: str
    label_names: list[str] = field(default_factory=list)
    class_names: list[str] = field(default_factory=list)
    target_mean: list[float] | None = None
    target_std: list[float] | None = None
    n_parameters: int = 0


def write_run(run_dir: str | Path, cfg: RunConfig, info: ModelInfo, tensors: dict[str, Any], *,
              history: list[dict[str, Any]], metrics: dict[str, float], status: str,
              provenance_info: dict[str, Any], predictions: dict[str, np.ndarray] | None = None,
              extra: dict[str, Any] | None = None) -> Path:
    """Write (or update) a run folder; each file atomically, ``run.json`` last so it never points at missing files.

    Parameters
    ----------
    tensors : name -> torch tensor or numpy array (weights or baseline coefficients)
    predictions : e.g. {'y_true': (N, T), 'y_pred': (N, K)} on the test set
    extra : more plain-data entries for ``run.json`` (e.g. best_epoch)
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    write_tensors(run_dir, WEIGHTS_FILE, tensors, metadata={"format": "biodeep", "arch": info.arch})
    atomic_write(run_dir / HISTORY_FILE, history_csv(history))
    write_json(run_dir, METRICS_FILE, metrics)
    if predictions is not None:
        write_tensors(run_dir, PREDICTIONS_FILE, predictions, dtype=np.float32)
    doc = {"kind": SEQUENCES, "schema_version": SCHEMA_VERSION, "config": cfg.to_dict(), "model": info.__dict__,
           "provenance": provenance_info, "status": status, **(extra or {})}
    write_json(run_dir, RUN_FILE, doc)
    return run_dir


@dataclass
class Run:
    """A run folder read back (no code from the folder is ever executed)."""

    path: Path
    config: RunConfig
    info: ModelInfo
    provenance: dict[str, Any]
    status: str
    history: list[dict[str, float]]
    metrics: dict[str, float]
    doc: dict[str, Any]

    @property
    def name(self) -> str:
        return self.config.name or self.path.name

    def tensors(self) -> dict[str, np.ndarray]:
        return read_tensors(self.path, WEIGHTS_FILE, "weights")

    def predictions(self) -> dict[str, np.ndarray] | None:
        """Test targets and predictions (``predictions.safetensors``; 0.1.0 runs: ``test_predictions...``)."""
        for name in (PREDICTIONS_FILE, LEGACY_PREDICTIONS_FILE):
            if run_file(self.path, name).exists():
                return read_tensors(self.path, name, "predictions")
        return None

    def objective(self):
        from biodeep_gui.core.training.loop import Objective

        i = self.info
        as_arr = lambda v: None if v is None else np.asarray(v, np.float32)  # noqa: E731
        return Objective(i.task, target_mean=as_arr(i.target_mean), target_std=as_arr(i.target_std))

    def model(self):
        """The deep model with its weights (CPU, eval mode)."""
        import torch

        from biodeep_gui.core.sequences.models import build_model

        model = build_model(self.info.arch, self.info.length, self.info.n_outputs, self.info.params)
        state = {k: torch.from_numpy(v.copy()) for k, v in self.tensors().items()}
        load_weights(model, state, self.path / WEIGHTS_FILE, f"a {self.info.arch} model with these settings")
        return model.eval()

    def predict(self, codes: np.ndarray, batch_size: int = 512, device: str = "cpu") -> np.ndarray:
        """Predictions for (N, L) codes: probabilities (classification) or values (regression), (N, K)."""
        from biodeep_gui.core.sequences.models import get_architecture

        if codes.shape[1] != self.info.length:
            raise RunFolderError(f"the model expects sequences of {self.info.length} bases, got {codes.shape[1]}")
        if get_architecture(self.info.arch).kind == "sklearn":
            from biodeep_gui.core.sequences.baselines import BaselineModel

            raw = BaselineModel.from_tensors(self.info.arch, int(self.info.params.get("k", 5)),
                                             self.tensors()).raw_output(codes)
        else:
            import torch

            from biodeep_gui.core.sequences.batches import SequenceBatches
            from biodeep_gui.core.training.loop import predict_outputs

            src = SequenceBatches(codes, np.zeros(len(codes), np.float32)).to(torch.device(device))
            raw, _ = predict_outputs(self.model().to(device), src, batch_size)
        return self.objective().transform(raw)


def load_run(run_dir: str | Path) -> Run:
    """Read a run folder; a clear ``RunFolderError`` for anything missing, malformed or from a newer version."""
    from biodeep_gui.core.common.errors import ConfigError

    run_dir = Path(run_dir)
    rf, doc = read_run_doc(run_dir)
    if kind_of(doc, rf) != SEQUENCES:
        raise RunFolderError(f"{rf}: a brain-scans run, not a sequence run (open it with the scans tools)")
    if "config" not in doc or not ("model" in doc or "network" in doc):
        raise RunFolderError(f"{rf}: not a BioDeep run description (no 'config'/'model' sections)")
    doc = migrate_run(doc, rf)
    try:
        cfg = RunConfig.from_dict(doc["config"])
        info = _model_info(doc["model"])
    except (ConfigError, TypeError, ValueError) as exc:
        raise RunFolderError(f"{rf}: invalid run description ({exc})") from None
    if not run_file(run_dir, WEIGHTS_FILE).exists():
        raise RunFolderError(f"{run_dir}: {WEIGHTS_FILE} is missing; the run was not saved completely")
    history = read_history(run_dir)
    raw = read_json_file(run_dir, METRICS_FILE, "metrics file")
    metrics = {str(k): _num(v) for k, v in raw.items()}
    return Run(run_dir, cfg, info, doc.get("provenance", {}), doc.get("status", "complete"), history, metrics, doc)


def _model_info(raw: Any) -> ModelInfo:
    """The model section of run.json, each field checked (a hand-edited or crafted file says what is wrong)."""
    from biodeep_gui.core.sequences.models import get_architecture

    if not isinstance(raw, dict):
        raise ValueError("the 'model' section is not a table")
    info = ModelInfo(**raw)
    spec = get_architecture(info.arch) if isinstance(info.arch, str) else None
    if spec is None:
        raise ValueError(f"model.arch = {info.arch!r} is not an architecture name")
    for name in ("length", "n_outputs"):
        v = getattr(info, name)
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            raise ValueError(f"model.{name} = {v!r} is not a positive whole number")
    if info.task not in ("binary", "multiclass", "regression"):
        raise ValueError(f"model.task = {info.task!r} is not binary, multiclass or regression")
    if not isinstance(info.params, dict):
        raise ValueError("model.params is not a table of hyper-parameters")
    info.params = spec.resolve(info.params)
    for name in ("label_names", "class_names"):
        v = getattr(info, name)
        if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
            raise ValueError(f"model.{name} is not a list of names")
    for name in ("target_mean", "target_std"):
        v = getattr(info, name)
        if v is not None and (not isinstance(v, list) or len(v) != info.n_outputs
                              or not all(isinstance(x, (int, float)) and math.isfinite(x) for x in v)):
            raise ValueError(f"model.{name} is not a list of {info.n_outputs} finite numbers")
    return info


def migrate_run(doc: dict[str, Any], where: Path) -> dict[str, Any]:
    """Bring a run description of an older schema up to date.

    Schema 1 (BioDeep 0.0.x) stored the model section under ``network`` with ``input_length``.
    """
    from biodeep_gui.core.common.errors import ConfigError

    version = doc.get("schema_version", 1)
    if not isinstance(version, int) or isinstance(version, bool):
        raise RunFolderError(f"{where}: schema_version = {version!r} is not a whole number")
    if not isinstance(doc.get("config"), dict):
        raise RunFolderError(f"{where}: the 'config' section is not a table of settings")
    if version > SCHEMA_VERSION:
        raise RunFolderError(f"{where}: saved by a newer BioDeep (schema {version}); please update BioDeep")
    doc = dict(doc)
    if version < 2 and "network" in doc:
        net = dict(doc.pop("network"))
        net["length"] = net.pop("input_length", net.get("length"))
        doc["model"] = net
    try:
        doc["config"] = migrate({"schema_version": version, **doc["config"]})
    except ConfigError as exc:
        raise RunFolderError(f"{where}: {exc}") from None
    doc["schema_version"] = SCHEMA_VERSION
    return doc


def output_columns(run) -> list[str]:
    """Names of a run's prediction columns: p_<class> for classification, the label names for regression."""
    i = run.info
    if i.task == "multiclass":
        return [f"p_{c}" for c in i.class_names]
    if i.task == "binary":
        return [f"p_{n}" for n in (i.label_names or [f"task{k}" for k in range(i.n_outputs)])]
    return list(i.label_names or [f"output{k}" for k in range(i.n_outputs)])
