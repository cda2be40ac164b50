"""Run folders, one format for both sciences: what a trained model needs to be reloaded, compared and trusted.

A run folder holds

- ``run.json``: ``kind`` (``"sequences"`` or ``"scans"``; a run.json without it is a BioDeep 0.1.0 sequence run),
  schema version, the full configuration, the model description, provenance (package versions, seed, device,
  SHA-256 of every input file) and status (``training`` while checkpoints are written each epoch, then
  ``complete`` or ``cancelled``); optionally ``display_name``, the name a user gave the run (``rename_run``);
- ``model.safetensors``: weights (deep models) or coefficients (baselines); never a pickle;
- ``history.csv``: one row per epoch; ``metrics.json``: flat name -> number metrics;
- ``predictions.safetensors``: held-out targets and predictions, for the ROC/PR curves and scatter plots
  (sequence runs of BioDeep 0.1.0 named it ``test_predictions.safetensors``; still read);
- ``training_digest.safetensors`` (sequence runs): sorted 64-bit hashes of the training and validation
  sequences, so ``evaluate`` and Predict can say how many inputs the model was trained on;
- ``results.json`` where a kind has structured results beyond flat metrics (scans: folds, permutations, ROC);
- ``folds/``: one weights file per cross-validation fold (scans);
- ``checkpoint.safetensors`` while training and after a cancel: the last epoch's weights and optimiser state,
  so an interrupted run can be resumed (removed when the run completes).

Every file is written atomically, so a crash mid-save leaves the previous version whole. Every file is read
through ``run_file``, which refuses names that leave the folder (absolute, ``..``, links pointing out of it).
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
PREDICTIONS_FILE = "predictions.safetensors"
LEGACY_PREDICTIONS_FILE = "test_predictions.safetensors"  # sequence runs of BioDeep 0.1.0
CHECKPOINT_FILE = "checkpoint.safetensors"  # last epoch's weights + optimiser state, for resuming
TRAINING_DIGEST_FILE = "training_digest.safetensors"  # sorted 64-bit hashes of the training / validation inputs
RESULTS_FILE = "results.json"
FOLDS_DIR = "folds"

SEQUENCES = "sequences"
SCANS = "scans"
RUN_KINDS = (SEQUENCES, SCANS)


def provenance(cfg, device: str, known_sha256: dict[str, str] | None = None) -> dict[str, Any]:
    """Package versions, seed, device and the SHA-256 of every input file.

    ``cfg``: a RunConfig or a ScansConfig (anything with ``data.input_files()`` and ``train.seed``).
    ``known_sha256``: path -> digest already computed in this run (the encoded cache's check of its inputs), not
    read again.
    """
    import sklearn
    import torch

    files = {}
    for p in cfg.data.input_files():
        if known_sha256 and p in known_sha256:
            files[p] = known_sha256[p]
            continue
        try:
            files[p] = sha256_file(p)
        except OSError:
            files[p] = None
    return {"biodeep": __version__, "torch": torch.__version__, "numpy": np.__version__,
            "scikit_learn": sklearn.__version__, "python": platform.python_version(), "platform": platform.platform(),
            "seed": cfg.train.seed, "device": device, "input_sha256": files,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds")}


def run_file(run_dir: str | Path, name: str) -> Path:
    """``run_dir / name`` for a file of the run folder; the one way every run file is reached, for both kinds.

    ``name`` may hold sub-folders (``folds/fold1.safetensors``). Refused with a ``RunFolderError``: a name that is
    not a relative path inside the folder (absolute, ``..``, empty) and a path that a link makes resolve outside
    the run folder. Whether the file exists is left to the caller.
    """
    run_dir = Path(run_dir)
    if not isinstance(name, str) or not name.strip() or "\x00" in name:
        raise RunFolderError(f"{run_dir}: {name!r} is not a file name inside the run folder")
    rel = Path(name.replace("\\", "/"))
    if rel.is_absolute() or rel.anchor or ".." in rel.parts:
        raise RunFolderError(f"{run_dir}: {name!r} points outside the run folder; refusing to read it")
    path = run_dir / rel
    try:
        real, root = path.resolve(), run_dir.resolve()
    except (OSError, RuntimeError) as exc:  # a link loop
        raise RunFolderError(f"{path}: a broken link ({_short(exc)}); refusing to read it") from None
    if root not in real.parents:
        raise RunFolderError(f"{path}: points outside the run folder (to {real}); refusing to read it")
    return path


#: Largest JSON file of a run folder read (run.json holds the configuration and a few digests: kilobytes).
MAX_RUN_JSON_BYTES = 64 * 1024 * 1024


def _check_regular(path: Path, what: str) -> None:
    """The read guard before a run folder's JSON is opened: a FIFO or device named run.json would block the
    reader forever (the window froze on File > Open run), and a huge file is not a run description."""
    from biodeep_gui.core.common.errors import InputFileError
    from biodeep_gui.core.common.fileio import check_readable_file

    try:
        check_readable_file(path, what, max_bytes=MAX_RUN_JSON_BYTES)
    except InputFileError as exc:
        raise RunFolderError(str(exc)) from None


def read_run_doc(run_dir: str | Path) -> tuple[Path, dict[str, Any]]:
    """(path of run.json, its content as a table); a ``RunFolderError`` naming the folder for anything else."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise RunFolderError(f"{run_dir}: not a folder; choose the folder of a saved run")
    rf = run_file(run_dir, RUN_FILE)
    if not rf.exists():
        raise RunFolderError(f"{run_dir}: no {RUN_FILE} here; this is not a BioDeep run folder")
    _check_regular(rf, "a run description (run.json)")
    try:
        doc = json.loads(rf.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError, OSError) as exc:
        raise RunFolderError(f"{rf}: damaged run description ({_short(exc)})") from None
    if not isinstance(doc, dict):
        raise RunFolderError(f"{rf}: not a BioDeep run description (a {type(doc).__name__}, not a table)")
    return rf, doc


def kind_of(doc: dict[str, Any], where: Path | str = RUN_FILE) -> str:
    """The kind of run a run.json describes: ``"sequences"`` or ``"scans"`` (no ``kind``: a 0.1.0 sequence run)."""
    kind = doc.get("kind", SEQUENCES)
    if kind not in RUN_KINDS:
        raise RunFolderError(f"{where}: unknown kind of run {kind!r} (expected one of {', '.join(RUN_KINDS)})")
    return kind


def display_name(doc: dict[str, Any]) -> str:
    """The name a user gave the run (``display_name`` in run.json), or "" when it has none or it is not text."""
    name = doc.get("display_name")
    return name.strip() if isinstance(name, str) else ""


def rename_run(run_dir: str | Path, name: str) -> Path:
    """Give a run a display name, stored in its run.json (rewritten atomically; the folder is not moved).

    An empty ``name`` removes the display name, so the run shows its folder name again. Every other field of
    run.json is kept as it was, so runs renamed here still load in the version that wrote them.

    Raises
    ------
    RunFolderError : not a run folder, a damaged run.json, a run still training (its trainer rewrites run.json
        every epoch and would drop the name), or a name with line breaks or over 200 characters
    """
    rf, doc = read_run_doc(run_dir)
    if doc.get("status") == "training":
        raise RunFolderError(f"{rf}: the run is still training; rename it once it has finished")
    name = str(name).strip()
    if len(name) > 200 or any(c in name for c in "\n\r\x00"):
        raise RunFolderError(f"{rf}: a run name is one line of at most 200 characters")
    if name:
        doc["display_name"] = name
    else:
        doc.pop("display_name", None)
    atomic_write(rf, json.dumps(json_safe(doc), indent=2, sort_keys=True))
    return rf


def read_json_file(run_dir: str | Path, name: str, what: str) -> dict[str, Any]:
    """A JSON table of the run folder (``{}`` when the file is absent); ``RunFolderError`` if damaged."""
    p = run_file(run_dir, name)
    if not p.exists():
        return {}
    _check_regular(p, f"a {what} (JSON)")
    try:
        raw = json.loads(p.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError, OSError) as exc:
        raise RunFolderError(f"{p}: damaged {what} ({_short(exc)})") from None
    if not isinstance(raw, dict):
        raise RunFolderError(f"{p}: damaged {what} (a {type(raw).__name__}, not a table)")
    return raw


def read_tensors(run_dir: str | Path, name: str, what: str = "weights") -> dict[str, np.ndarray]:
    """The arrays of a safetensors file of the run folder, through ``run_file``; never unpickles anything."""
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    p = run_file(run_dir, name)
    if not p.is_file():
        raise RunFolderError(f"{p}: the {what} file is missing; the run was not saved completely")
    try:
        return load_file(str(p))
    except (SafetensorError, OSError, ValueError, TypeError) as exc:
        raise RunFolderError(f"{p}: not a readable safetensors {what} file ({_short(exc)})") from None


def write_tensors(run_dir: str | Path, name: str, tensors: dict[str, Any], metadata: dict[str, str] | None = None,
                  dtype: Any = None) -> Path:
    """Write named arrays (numpy or torch) as a safetensors file of the run folder, atomically."""
    from safetensors.numpy import save as save_np

    arrays = {}
    for k, v in tensors.items():
        a = v.detach().cpu().numpy() if hasattr(v, "detach") else np.asarray(v)
        arrays[k] = np.ascontiguousarray(a if dtype is None else a.astype(dtype))
    path = Path(run_dir) / name
    atomic_write(path, save_np(arrays, metadata=metadata))
    return path


def write_json(run_dir: str | Path, name: str, doc: Any) -> Path:
    """Write a JSON file of the run folder (NaN stored as null), atomically."""
    path = Path(run_dir) / name
    atomic_write(path, json.dumps(json_safe(doc), indent=2, sort_keys=True))
    return path


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."


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


def history_csv(history: list[dict[str, Any]]) -> str:
    """The ``history.csv`` text of a list of per-epoch rows (columns: every key, in order of first appearance)."""
    keys: list[str] = []
    for row in history:
        keys += [k for k in row if k not in keys]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=keys, lineterminator="\n")
    w.writeheader()
    w.writerows(history)
    return buf.getvalue()


def read_history(run_dir: str | Path) -> list[dict[str, Any]]:
    """The rows of a run folder's ``history.csv`` as numbers (``[]`` when absent); ``RunFolderError`` if damaged."""
    hf = run_file(run_dir, HISTORY_FILE)
    if not hf.exists():
        return []
    try:
        text = hf.read_text(encoding="utf-8")
        return [{k: _num(v) for k, v in row.items()} for row in csv.DictReader(io.StringIO(text))]
    except (UnicodeDecodeError, csv.Error, OSError, AttributeError) as exc:
        raise RunFolderError(f"{hf}: damaged training history ({exc})") from None


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


def load_weights(model, state: dict[str, Any], where: Path, what: str) -> None:
    """Load ``state`` (name -> torch tensor) into ``model``; NaN/inf weights or a mismatch are a ``RunFolderError``
    naming ``where`` (``what`` says which architecture the weights should fit)."""
    import torch

    bad = [k for k, v in state.items() if v.is_floating_point() and not torch.isfinite(v).all()]
    if bad:
        raise RunFolderError(f"{where}: weights hold NaN or infinite values ({bad[0]}); "
                             "the training diverged or the file is damaged")
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise RunFolderError(f"{where}: weights do not fit {what} ({str(exc).splitlines()[0]})") from None


def check_weight_shapes(build, state: dict[str, Any], where: Path, what: str, optional: tuple[str, ...] = ()) -> None:
    """Refuse weights that do not fit the network ``build()`` makes, before that network takes any memory.

    ``build`` runs on torch's meta device (shapes only, no storage), so a run.json that declares a huge input
    length or grid is refused by comparison with its weights file (whose size is real) instead of allocating what
    it declares. ``optional``: names the caller may fill in itself when the file lacks them (older folders).

    Raises
    ------
    RunFolderError naming ``where`` and the first tensor that does not fit
    """
    import torch

    try:
        with torch.device("meta"):
            ghost = build()
    except (NotImplementedError, RuntimeError):  # an operation without a meta kernel: load_weights still checks
        return
    # a 0-d tensor (a batch-norm counter) may be stored with shape (1,); load_state_dict takes either
    expected = {k: tuple(v.shape) or (1,) for k, v in ghost.state_dict().items()}
    given = {k: tuple(v.shape) or (1,) for k, v in state.items()}
    missing = [k for k in expected if k not in given and k not in optional]
    extra = [k for k in given if k not in expected]
    wrong = [k for k in expected if k in given and expected[k] != given[k]]
    if missing or extra or wrong:
        if wrong:
            k = wrong[0]
            why = f"{k} has shape {given[k]} in the file, the network needs {expected[k]}"
        else:
            why = f"missing {missing[0]}" if missing else f"unexpected {extra[0]}"
        raise RunFolderError(f"{where}: weights do not fit {what} ({why})")
