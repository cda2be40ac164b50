"""Run folders: what a trained model needs to be reloaded, compared and trusted.

A run folder holds

- ``run.json``: schema version, the full ``RunConfig``, the model description (architecture, input length,
  outputs, task, class names, target scaling), provenance (package versions, seed, device, SHA-256 of every
  input file) and status (``training`` while checkpoints are written each epoch, then ``complete`` or
  ``cancelled``);
- ``model.safetensors``: weights (deep models) or coefficients (baselines); never a pickle;
- ``history.csv``: one row per epoch; ``metrics.json``: ``test_*`` and ``val_*`` metrics;
- ``test_predictions.safetensors``: test targets and predictions, for the ROC/PR curves and scatter plots;
- ``checkpoint.safetensors`` while training and after a cancel: the last epoch's weights and optimiser state,
  so an interrupted run can be resumed (removed when the run completes).

Every file is written atomically, so a crash mid-save leaves the previous version whole.
"""
from __future__ import annotations

import csv
import io
import json
import math
import platform
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from biodeep_gui import __version__
from biodeep_gui.core.common.errors import RunFolderError
from biodeep_gui.core.common.fileio import atomic_write, sha256_file

RUN_FILE = "run.json"
WEIGHTS_FILE = "model.safetensors"
HISTORY_FILE = "history.csv"
METRICS_FILE = "metrics.json"
PREDICTIONS_FILE = "test_predictions.safetensors"
CHECKPOINT_FILE = "checkpoint.safetensors"  # last epoch's weights + optimiser state, for resuming


def provenance(cfg, device: str) -> dict[str, Any]:
    """Package versions, seed, device and the SHA-256 of every input file.

    ``cfg``: a RunConfig or a ScansConfig (anything with ``data.input_files()`` and ``train.seed``).
    """
    import sklearn
    import torch

    files = {}
    for p in cfg.data.input_files():
        try:
            files[p] = sha256_file(p)
        except OSError:
            files[p] = None
    return {"biodeep": __version__, "torch": torch.__version__, "numpy": np.__version__,
            "scikit_learn": sklearn.__version__, "python": platform.python_version(), "platform": platform.platform(),
            "seed": cfg.train.seed, "device": device, "input_sha256": files,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds")}


def run_file(run_dir: Path, name: str) -> Path:
    """``run_dir / name``, refused when a link makes it resolve outside the run folder."""
    path = run_dir / name
    if path.is_symlink() or path.exists():
        real, root = path.resolve(), run_dir.resolve()
        if root not in real.parents:
            raise RunFolderError(f"{path}: points outside the run folder (to {real}); refusing to read it")
    return path


def write_checkpoint(run_dir: str | Path, model_state: dict[str, Any], optimizer_state: dict[str, Any],
                     meta: dict[str, Any]) -> None:
    """Save the last epoch's weights and optimiser state (flattened to named tensors) atomically."""
    import torch
    from safetensors.torch import save

    tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in model_state.items()}
    for idx, st in optimizer_state["state"].items():
        for name, v in st.items():
            if v is not None:
                tensors[f"optim.{idx}.{name}"] = torch.as_tensor(v).detach().cpu().contiguous()
    doc = {**meta, "param_groups": optimizer_state["param_groups"]}
    atomic_write(Path(run_dir) / CHECKPOINT_FILE, save(tensors, metadata={"meta": json.dumps(json_safe(doc))}))


def read_checkpoint(run_dir: str | Path) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """(model_state, optimizer_state, meta) written by ``write_checkpoint``; never unpickles."""
    from safetensors import SafetensorError, safe_open

    path = run_file(Path(run_dir), CHECKPOINT_FILE)
    if not path.exists():
        raise RunFolderError(f"{run_dir}: no checkpoint to resume from (the run finished or was never started)")
    try:
        with safe_open(str(path), framework="pt") as fh:
            meta = json.loads(fh.metadata()["meta"])
            model_state, state = {}, {}
            for key in fh.keys():
                kind, rest = key.split(".", 1)
                if kind == "model":
                    model_state[rest] = fh.get_tensor(key)
                else:
                    idx, name = rest.split(".", 1)
                    state.setdefault(int(idx), {})[name] = fh.get_tensor(key)
    except (SafetensorError, OSError, KeyError, ValueError) as exc:
        raise RunFolderError(f"{path}: damaged checkpoint ({exc})") from None
    return model_state, {"state": state, "param_groups": meta.pop("param_groups")}, meta


def _history_csv(history: list[dict[str, Any]]) -> str:
    keys: list[str] = []
    for row in history:
        keys += [k for k in row if k not in keys]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=keys, lineterminator="\n")
    w.writeheader()
    w.writerows(history)
    return buf.getvalue()


def _num(v: Any) -> Any:
    if v in ("", None):
        return math.nan
    try:
        return float(v)
    except (TypeError, ValueError):
        return v


def json_safe(obj: Any) -> Any:
    """JSON has no NaN: store it as null."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    if isinstance(obj, np.generic):
        return json_safe(obj.item())
    return obj
