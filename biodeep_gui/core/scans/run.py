"""Scans run folders: written atomically, read back without executing anything."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from biodeep_gui.core.common.errors import ConfigError, InputFileError, RunFolderError
from biodeep_gui.core.common.fileio import atomic_write
from biodeep_gui.core.scans.batches import VolumeBatches
from biodeep_gui.core.scans.cohort import Cohort, build_cohort
from biodeep_gui.core.scans.config import SCANS_SCHEMA_VERSION, ScansConfig
from biodeep_gui.core.scans.evaluation import masked_correlation
from biodeep_gui.core.scans.nifti import Grid
from biodeep_gui.core.scans.preprocess import Preprocessor
from biodeep_gui.core.scans.reports import FoldResult
from biodeep_gui.core.scans.steps import _volumes, normalisation_stats, volume_items
from biodeep_gui.core.scans.volumes import subject_stats
from biodeep_gui.core.training.runs import json_safe, provenance

RUN_FILE = "run.json"
MODEL_FILE = "model.safetensors"
HISTORY_FILE = "history.csv"
METRICS_FILE = "metrics.json"
RESULTS_FILE = "results.json"
PREDICTIONS_FILE = "predictions.safetensors"
FOLDS_DIR = "folds"
# ---------------------------------------------------------------------------------------------------------------
# run folder
# ---------------------------------------------------------------------------------------------------------------
def _save_fold(out_dir: Path, k: int, model, mask: np.ndarray | None, cohort: Cohort, test: np.ndarray) -> dict:
    from safetensors.numpy import save as save_np

    tensors = {f"model.{name}": v.detach().cpu().numpy() for name, v in model.state_dict().items()}
    if mask is not None:
        tensors["mask"] = mask.astype(np.uint8)
    rel = f"{FOLDS_DIR}/fold{k}.safetensors"
    atomic_write(out_dir / rel, save_np({n: np.ascontiguousarray(v) for n, v in tensors.items()},
                                        metadata={"format": "biodeep-scans", "fold": str(k)}))
    return {"fold": k, "weights": rel, "test": [cohort.ids[i] for i in test]}


def _write_run(out_dir: Path, cfg: ScansConfig, cohort: Cohort, info: dict, fold_of: np.ndarray, fold_docs: list,
               history: list, fold_results: list[FoldResult], probs: dict[str, np.ndarray], recon: dict, arms,
               *, status: str, n_parameters: int, device: str, permutation=None, site=None, recon_summary=None,
               summary_metrics=None, final=None, how: str = "", warnings: Sequence[str] = (),
               elapsed: float = math.nan, roc=None, confusion=None) -> None:
    """Write every file of the run folder atomically, ``run.json`` last."""
    from safetensors.numpy import save as save_np

    from biodeep_gui.core.training.runs import _history_csv

    out_dir.mkdir(parents=True, exist_ok=True)
    if final is not None:
        tensors = {k: (v.numpy() if hasattr(v, "numpy") else np.asarray(v)) for k, v in final["tensors"].items()}
        atomic_write(out_dir / MODEL_FILE, save_np({k: np.ascontiguousarray(v) for k, v in tensors.items()},
                                                   metadata={"format": "biodeep-scans", "arch": info["arch"]}))
    atomic_write(out_dir / HISTORY_FILE, _history_csv(history))
    atomic_write(out_dir / PREDICTIONS_FILE, save_np({
        "y_true": cohort.y.astype(np.float32), "fold": fold_of.astype(np.float32),
        **{f"prob_{a}": probs[a].astype(np.float32) for a in arms},
        "recon_correlation": recon["correlation"].astype(np.float32), "recon_mse": recon["mse"].astype(np.float32)}))
    flat: dict[str, float] = {}
    for arm, ms in (summary_metrics or {}).items():
        for m, (mean, sd) in ms.items():
            flat[f"{arm}_{m}_mean"], flat[f"{arm}_{m}_sd"] = mean, sd
    for arm, p in (permutation or {}).items():
        flat[f"{arm}_permutation_p"], flat[f"{arm}_chance_accuracy"] = p["p_value"], p["chance"]
    if site:
        flat["site_balanced_accuracy"], flat["site_chance"] = site["balanced_accuracy"], site["chance"]
    if recon_summary:
        flat.update({f"reconstruction_{k}": v for k, v in recon_summary.items()})
    atomic_write(out_dir / METRICS_FILE, json.dumps(json_safe(flat), indent=2, sort_keys=True))
    results = {"folds": [{"fold": r.fold, "test_subjects": r.test_subjects, "metrics": r.metrics,
                          "site_balanced_accuracy": r.site_balanced_accuracy} for r in fold_results],
               "summary": {a: {m: list(v) for m, v in ms.items()} for a, ms in (summary_metrics or {}).items()},
               "permutation": permutation or {}, "site_predictability": site or {},
               "reconstruction": recon_summary or {}, "cv_scheme": how, "arms": list(arms), "roc": roc or {},
               "confusion": confusion or {}, "classes": list(cohort.classes)}
    atomic_write(out_dir / RESULTS_FILE, json.dumps(json_safe(results), indent=2, sort_keys=True))
    subjects = [{"id": s.id, "label": s.label, "path": s.path, "site": s.site, "fold": int(f)}
                for s, f in zip(cohort.subjects, fold_of)]
    doc = {"kind": "scans", "schema_version": SCANS_SCHEMA_VERSION, "config": cfg.to_dict(),
           "model": {**info, "n_parameters": n_parameters, "final_weights": MODEL_FILE if final else None,
                     "final_best_epoch": final["best_epoch"] if final else None},
           "cohort": {"classes": cohort.classes, "positive_label": cohort.positive_label, "table": cohort.table,
                      "folder": cohort.folder, "subjects": subjects},
           "folds": fold_docs, "status": status, "warnings": list(warnings), "elapsed_s": elapsed,
           "provenance": provenance(cfg, device)}
    atomic_write(out_dir / RUN_FILE, json.dumps(json_safe(doc), indent=2, sort_keys=True))


@dataclass
class SubjectReconstruction:
    """One subject on the model grid (RAS), normalised: original, reconstruction, their difference and the mask."""

    subject: str
    fold: int
    original: np.ndarray
    reconstruction: np.ndarray
    difference: np.ndarray
    mask: np.ndarray
    voxel_size: tuple[float, float, float]
    correlation: float
    mse: float


@dataclass
class ScansRun:
    """A scans run folder read back (weights are safetensors; nothing is unpickled)."""

    path: Path
    config: ScansConfig
    doc: dict[str, Any]
    metrics: dict[str, Any]
    results: dict[str, Any]

    @property
    def status(self) -> str:
        return self.doc.get("status", "")

    @property
    def subjects(self) -> list[dict[str, Any]]:
        return self.doc["cohort"]["subjects"]

    @property
    def grid(self) -> Grid | None:
        g = self.doc["model"].get("grid")
        return Grid.from_dict(g) if g else None

    def predictions(self) -> dict[str, np.ndarray]:
        from safetensors.numpy import load_file

        return load_file(str(self.path / PREDICTIONS_FILE))

    def _weights(self, rel: str) -> dict[str, np.ndarray]:
        from safetensors import SafetensorError
        from safetensors.numpy import load_file

        p = self.path / rel
        try:
            return load_file(str(p))
        except (SafetensorError, OSError, ValueError) as exc:
            raise RunFolderError(f"{p}: not a readable safetensors weights file ({exc})") from None

    def autoencoder(self, fold: int = 0):
        """(model (CPU, eval), extra tensors such as 'mask') of fold ``fold``, or of the final fit (0)."""
        import torch

        from biodeep_gui.core.scans.models import build_scans_model

        if fold == 0:
            rel = self.doc["model"].get("final_weights")
            if not rel:
                raise RunFolderError(f"{self.path}: this run has no final autoencoder (final fit was off or cancelled)")
        else:
            docs = {f["fold"]: f for f in self.doc.get("folds", [])}
            if fold not in docs:
                raise RunFolderError(f"{self.path}: no weights for fold {fold}")
            rel = docs[fold]["weights"]
        tensors = self._weights(rel)
        m = self.doc["model"]
        size = tuple(m["grid"]["shape"]) if m.get("grid") else int(m["n_features"])
        model = build_scans_model(m["arch"], size, m["params"])
        state = {k[len("model."):]: torch.from_numpy(v.copy()) for k, v in tensors.items() if k.startswith("model.")}
        try:
            model.load_state_dict(state)
        except RuntimeError as exc:
            raise RunFolderError(f"{self.path / rel}: weights do not fit the saved architecture "
                                 f"({str(exc).splitlines()[0]})") from None
        return model.eval(), {k: v for k, v in tensors.items() if not k.startswith("model.")}

    def preprocessor(self, cache_dir: str | Path | None = None) -> Preprocessor:
        """A preprocessor for this run's cohort with its settings (re-reads headers; uses the cache)."""
        cohort = build_cohort(self.config.data)
        return Preprocessor(cohort, self.config.data, cache_dir)

    def reconstruct_subject(self, subject_id: str, prep: Preprocessor | None = None) -> SubjectReconstruction:
        """A subject reconstructed by the fold autoencoder that held it out (the final one if it had no fold)."""
        import torch

        subj = {s["id"]: s for s in self.subjects}
        if subject_id not in subj:
            raise RunFolderError(f"{self.path}: no subject {subject_id!r} in this run")
        if self.doc["model"].get("grid") is None:
            raise RunFolderError(f"{self.path}: a connectivity run has no volumes to reconstruct")
        fold = int(subj[subject_id]["fold"])
        model, extra = self.autoencoder(fold)
        mask = extra["mask"].astype(bool)
        prep = prep or self.preprocessor()
        i = prep.cohort.ids.index(subject_id)
        stats = normalisation_stats(prep, [i], mask, self.config.data.normalise)
        src = VolumeBatches(_volumes(prep), mask, stats, volume_items(prep, [i]), preload=False)
        with torch.inference_mode():
            x = np.stack([src.item(k) for k in range(len(src))])
            rec = model(torch.from_numpy(x[:, None]))[:, 0].numpy() * mask
        original, reconstruction = x.mean(axis=0), rec.mean(axis=0)
        corr = float(np.nanmean(masked_correlation(x, rec, mask)))
        mse = float(((x - rec)[:, mask] ** 2).mean())
        return SubjectReconstruction(subject_id, fold, original, reconstruction, (reconstruction - original) * mask,
                                     mask, prep.grid.voxel_size, corr, mse)

    def reconstruct_file(self, path: str | Path, out_path: str | Path) -> Path:
        """Reconstruct a new NIfTI file with the final autoencoder and write it with the input's affine and header.

        The input goes through the run's preprocessing (reorientation, 4-D summary or frames, resampling,
        normalisation inside the run's mask); the reconstruction is mapped back to intensities (the subject's own
        mean/std) and to the input's voxel grid through the affines. Outside the mask the output is 0. A 4-D input
        gives a 3-D output for summary runs (the header's dimensions follow) and a 4-D one for frames runs.

        Raises
        ------
        InputFileError : unreadable input, or a grid different from the model's when the run did not resample
        """
        import torch

        from biodeep_gui.core.scans.nifti import _load_image, read_image_data
        from biodeep_gui.core.scans.volumes import resample_volume, summarise

        grid = self.grid
        if grid is None:
            raise RunFolderError(f"{self.path}: a connectivity run has no volumes to reconstruct")
        d = self.config.data
        model, extra = self.autoencoder(0)
        mask = extra["mask"].astype(bool)
        original = _load_image(path)
        data, affine, header = read_image_data(path, d.canonicalise)
        if data.ndim == 4 and d.summary != "frames":
            data = summarise(data, d.summary, header.tr, d.band_hz)
        frames = data[..., None] if data.ndim == 3 else data
        g = Grid(tuple(frames.shape[:3]), affine)  # type: ignore[arg-type]
        if not g.same_as(grid):
            if not d.resample:
                raise InputFileError(path, f"is on a different grid ({g.describe()}) from the model's "
                                           f"({grid.describe()})", expected="the training grid")
            frames = resample_volume(frames, affine, grid, order=1)
        vols = np.moveaxis(frames, -1, 0)  # (T, X, Y, Z)
        mean, std = subject_stats(vols, mask) if d.normalise == "zscore" else (0.0, 1.0)
        x = ((vols - mean) / std * mask).astype(np.float32)
        with torch.inference_mode():
            rec = np.concatenate([model(torch.from_numpy(x[i:i + 4, None]))[:, 0].numpy()
                                  for i in range(0, len(x), 4)])
        rec = (rec * std + mean) * mask
        target = Grid(header.spatial_shape, np.asarray(original.affine, float))
        back = resample_volume(np.moveaxis(rec, 0, -1), grid.affine, target, order=1)
        if back.shape[-1] == 1 or data.ndim == 3:
            back = back[..., 0] if back.ndim == 4 else back
        hdr = original.header.copy()
        hdr.set_data_dtype(np.float32)
        out_img = type(original)(back.astype(np.float32), original.affine, hdr)
        out_img.set_qform(original.get_qform(), int(original.header["qform_code"]))
        out_img.set_sform(original.get_sform(), int(original.header["sform_code"]))
        out_img.header.set_slope_inter(1.0, 0.0)
        raw = out_img.to_bytes()
        if str(out_path).lower().endswith(".gz"):
            import gzip

            raw = gzip.compress(raw, compresslevel=6)
        atomic_write(out_path, raw)
        return Path(out_path)


def load_scans_run(run_dir: str | Path) -> ScansRun:
    """Read a scans run folder; a clear ``RunFolderError`` for anything missing, damaged or not a scans run."""
    run_dir = Path(run_dir)
    rf = run_dir / RUN_FILE
    if not run_dir.is_dir():
        raise RunFolderError(f"{run_dir}: not a folder; choose the folder of a saved scans run")
    if not rf.exists():
        raise RunFolderError(f"{run_dir}: no {RUN_FILE} here; this is not a BioDeep run folder")
    try:
        doc = json.loads(rf.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RunFolderError(f"{rf}: damaged run description ({exc})") from None
    if not isinstance(doc, dict) or doc.get("kind") != "scans":
        raise RunFolderError(f"{rf}: not a brain-scans run (open it with the sequence tools instead)")
    if int(doc.get("schema_version", 1)) > SCANS_SCHEMA_VERSION:
        raise RunFolderError(f"{rf}: saved by a newer BioDeep (schema {doc['schema_version']}); please update")
    try:
        cfg = ScansConfig.from_dict(doc["config"])
    except (ConfigError, KeyError) as exc:
        raise RunFolderError(f"{rf}: invalid configuration ({exc})") from None

    def read(name: str) -> dict:
        p = run_dir / name
        if not p.exists():
            return {}
        try:
            return json.loads(p.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise RunFolderError(f"{p}: damaged file ({exc})") from None

    return ScansRun(run_dir, cfg, doc, read(METRICS_FILE), read(RESULTS_FILE))
