"""Scans run folders: written atomically, read back without executing anything.

The folder format (file names, the ``kind`` field, the path-safe accessor) is the one of
``core.training.runs``, shared with sequence runs; this module adds what only scans runs hold: ``results.json``
(folds, permutations, ROC), ``folds/fold<k>.safetensors`` (one autoencoder per fold, with its brain mask) and the
cohort table in ``run.json``. Everything read from a folder is checked: a damaged run gives a ``RunFolderError``
that names the file and what is wrong.
"""
from __future__ import annotations

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
from biodeep_gui.core.scans.evaluation import masked_correlation, template_scores
from biodeep_gui.core.scans.nifti import Grid
from biodeep_gui.core.scans.preprocess import Preprocessor
from biodeep_gui.core.scans.reports import FoldResult, PhaseCurves, phase_curves
from biodeep_gui.core.scans.steps import _volumes, model_template, normalisation_stats, volume_items
from biodeep_gui.core.scans.volumes import subject_stats
from biodeep_gui.core.training.runs import (
    FOLDS_DIR,
    HISTORY_FILE,
    METRICS_FILE,
    PREDICTIONS_FILE,
    RESULTS_FILE,
    RUN_FILE,
    SCANS,
    WEIGHTS_FILE,
    check_weight_shapes,
    display_name,
    history_csv,
    kind_of,
    load_weights,
    provenance,
    read_history,
    read_json_file,
    read_run_doc,
    read_tensors,
    run_file,
    write_json,
    write_tensors,
)


# ---------------------------------------------------------------------------------------------------------------
# run folder
# ---------------------------------------------------------------------------------------------------------------
def _save_fold(out_dir: Path, k: int, weights: dict[str, Any], mask: np.ndarray | None, cohort: Cohort,
               test: np.ndarray) -> dict:
    """Write fold ``k``'s autoencoder (``weights``: its state dict, possibly fitted in another process) and mask."""
    tensors = {f"model.{name}": v for name, v in weights.items()}
    if mask is not None:
        tensors["mask"] = mask.astype(np.uint8)
    rel = f"{FOLDS_DIR}/fold{k}.safetensors"
    write_tensors(out_dir, rel, tensors, metadata={"format": "biodeep-scans", "fold": str(k)})
    return {"fold": k, "weights": rel, "test": [cohort.ids[i] for i in test]}


def _write_run(out_dir: Path, cfg: ScansConfig, cohort: Cohort, info: dict, fold_of: np.ndarray, fold_docs: list,
               history: list, fold_results: list[FoldResult], probs: dict[str, np.ndarray], recon: dict, arms,
               *, status: str, n_parameters: int, device: str, permutation=None, site=None, recon_summary=None,
               summary_metrics=None, final=None, how: str = "", warnings: Sequence[str] = (),
               elapsed: float = math.nan, roc=None, confusion=None, chance=None,
               launch: dict[str, Any] | None = None) -> None:
    """Write every file of the run folder atomically, ``run.json`` last.

    launch : ``DistContext.provenance()`` (``world_size``, ``backend``), recorded in the provenance like a sequence
        run's; a single process when None
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    if final is not None:
        write_tensors(out_dir, WEIGHTS_FILE, final["tensors"],
                      metadata={"format": "biodeep-scans", "arch": info["arch"]})
    atomic_write(out_dir / HISTORY_FILE, history_csv(history))
    write_tensors(out_dir, PREDICTIONS_FILE, {
        "y_true": cohort.y, "fold": fold_of, **{f"prob_{a}": probs[a] for a in arms},
        **{f"recon_{k}": v for k, v in recon.items()}}, dtype=np.float32)
    flat: dict[str, float] = {}
    for arm, ms in (summary_metrics or {}).items():
        for m, (mean, sd) in ms.items():
            flat[f"{arm}_{m}_mean"], flat[f"{arm}_{m}_sd"] = mean, sd
    for arm, p in (permutation or {}).items():
        flat[f"{arm}_permutation_p"], flat[f"{arm}_chance_accuracy"] = p["p_value"], p["chance"]
        flat[f"{arm}_permutation_n"], flat[f"{arm}_permutation_floor"] = p["n"], p.get("floor", 1 / (1 + p["n"]))
        flat[f"{arm}_permutation_within_site"] = p.get("within_site", 0.0)
    for k, v in (chance or {}).items():
        flat[f"chance_{k}"] = v
    if site:
        flat["site_balanced_accuracy"], flat["site_chance"] = site["balanced_accuracy"], site["chance"]
    if recon_summary:
        flat.update({f"reconstruction_{k}": v for k, v in recon_summary.items()})
    write_json(out_dir, METRICS_FILE, flat)
    results = {"folds": [{"fold": r.fold, "test_subjects": r.test_subjects, "metrics": r.metrics,
                          "site_balanced_accuracy": r.site_balanced_accuracy,
                          "reconstruction": {sid: {"correlation": c, "mse": m,
                                                   "template_correlation": r.deviation.get(sid, (math.nan,) * 2)[0],
                                                   "residual_correlation": r.deviation.get(sid, (math.nan,) * 2)[1]}
                                             for sid, (c, m) in r.reconstruction.items()}}
                         for r in fold_results],
               "summary": {a: {m: list(v) for m, v in ms.items()} for a, ms in (summary_metrics or {}).items()},
               "permutation": permutation or {}, "site_predictability": site or {},
               "reconstruction": recon_summary or {}, "cv_scheme": how, "arms": list(arms), "roc": roc or {},
               "confusion": confusion or {}, "classes": list(cohort.classes), "chance": chance or {}}
    write_json(out_dir, RESULTS_FILE, results)
    subjects = [{"id": s.id, "label": s.label, "path": s.path, "site": s.site, "fold": int(f)}
                for s, f in zip(cohort.subjects, fold_of)]
    doc = {"kind": SCANS, "schema_version": SCANS_SCHEMA_VERSION, "config": cfg.to_dict(),
           "model": {**info, "n_parameters": n_parameters, "final_weights": WEIGHTS_FILE if final else None,
                     "final_best_epoch": final["best_epoch"] if final else None},
           "cohort": {"classes": cohort.classes, "positive_label": cohort.positive_label, "table": cohort.table,
                      "folder": cohort.folder, "subjects": subjects},
           "folds": fold_docs, "status": status, "warnings": list(warnings), "elapsed_s": elapsed,
           "provenance": {**provenance(cfg, device), **(launch or {"world_size": 1, "backend": "none"})}}
    write_json(out_dir, RUN_FILE, doc)


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
    template_correlation: float = math.nan  # the fold's template vs the original (the baseline)
    residual_correlation: float = math.nan  # (reconstruction - template) vs (original - template)


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
    def name(self) -> str:
        """The name the user gave the run, else its folder name."""
        return display_name(self.doc) or self.path.name

    @property
    def subjects(self) -> list[dict[str, Any]]:
        return self.doc["cohort"]["subjects"]

    @property
    def grid(self) -> Grid | None:
        g = self.doc["model"].get("grid")
        return Grid.from_dict(g) if g else None

    def predictions(self) -> dict[str, np.ndarray]:
        return read_tensors(self.path, PREDICTIONS_FILE, "predictions")

    def phase_curves(self) -> list[PhaseCurves]:
        """Each fold's training curves (and the final fit's), read back from ``history.csv``: one
        ``PhaseCurves`` per fold and phase, in training order. [] for a folder that keeps no per-fold history
        (no ``history.csv``, or one without 'fold' and 'phase' columns); ``RunFolderError`` if it is damaged."""
        return phase_curves(read_history(self.path))

    def _weights(self, rel: str) -> dict[str, np.ndarray]:
        return read_tensors(self.path, rel, "weights")

    def autoencoder(self, fold: int = 0):
        """(model (CPU, eval), extra tensors such as 'mask') of fold ``fold``, or of the final fit (0).

        Raises
        ------
        RunFolderError : no weights for that fold, a weights file that is unreadable, outside the folder, does not
            fit the saved architecture, holds non-finite values, or (volume runs) lacks a mask of the grid's shape
        """
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
        where = self.path / rel
        m = self.doc["model"]
        grid = self.grid
        size = grid.shape if grid is not None else int(m["n_features"])
        state = {k[len("model."):]: torch.from_numpy(v.copy()) for k, v in tensors.items() if k.startswith("model.")}
        try:
            # shapes first (meta device): a declared grid or feature count the weights do not have allocates nothing
            check_weight_shapes(lambda: build_scans_model(m["arch"], size, m["params"]), state, where,
                                "the saved architecture", optional=("template", "deviation_scale"))
            model = build_scans_model(m["arch"], size, m["params"])
        except (KeyError, TypeError, ValueError, ConfigError) as exc:
            raise RunFolderError(f"{self.path / RUN_FILE}: the model section does not describe a network this "
                                 f"BioDeep can build ({exc})") from None
        # folders saved before the template existed: template 0 and scale 1 are exactly the plain autoencoder
        for name in ("template", "deviation_scale"):
            if name not in state and name in model.state_dict():
                state[name] = model.state_dict()[name].clone()
        load_weights(model, state, where, "the saved architecture")
        extra = {k: v for k, v in tensors.items() if not k.startswith("model.")}
        if grid is not None:
            if "mask" not in extra:
                raise RunFolderError(f"{where}: the weights have no brain mask (a 'mask' tensor); the file is "
                                     "damaged or not from a BioDeep scans run")
            if tuple(extra["mask"].shape) != tuple(grid.shape):
                raise RunFolderError(f"{where}: the brain mask has shape {tuple(extra['mask'].shape)}, expected the "
                                     f"model grid's {tuple(grid.shape)}")
        return model.eval(), extra

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
        t_r, res_r = template_scores(x, rec, model_template(model), mask)
        return SubjectReconstruction(subject_id, fold, original, reconstruction, (reconstruction - original) * mask,
                                     mask, prep.grid.voxel_size, corr, mse, float(np.nanmean(t_r)),
                                     float(np.nanmean(res_r)))

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
    """Read a scans run folder; a clear ``RunFolderError`` for anything missing, damaged or not a scans run.

    Every section of ``run.json`` that later use relies on is checked here (types, shapes, weights paths inside
    the folder), so that a hand-edited or crafted folder is refused with the file and the problem named.
    """
    run_dir = Path(run_dir)
    rf, doc = read_run_doc(run_dir)
    if kind_of(doc, rf) != SCANS:
        raise RunFolderError(f"{rf}: not a brain-scans run (open it with the sequence tools instead)")
    version = doc.get("schema_version", 1)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise RunFolderError(f"{rf}: schema_version = {_clip(version)} is not a positive whole number")
    if version > SCANS_SCHEMA_VERSION:
        raise RunFolderError(f"{rf}: saved by a newer BioDeep (schema {version}); please update")
    if not isinstance(doc.get("config"), dict):
        raise RunFolderError(f"{rf}: the 'config' section is missing or not a table of settings")
    try:
        cfg = ScansConfig.from_dict(doc["config"])
    except (ConfigError, KeyError, TypeError, ValueError, AttributeError, RecursionError) as exc:
        raise RunFolderError(f"{rf}: invalid configuration ({exc})") from None
    try:
        _check_doc(run_dir, doc)
    except _Bad as exc:
        raise RunFolderError(f"{rf}: {exc}") from None
    return ScansRun(run_dir, cfg, doc, read_json_file(run_dir, METRICS_FILE, "metrics file"),
                    read_json_file(run_dir, RESULTS_FILE, "results file"))


class _Bad(Exception):
    """One problem in run.json (turned into a RunFolderError naming the file)."""


def _clip(v: Any) -> str:
    text = repr(v)
    return text if len(text) <= 60 else text[:57] + "..."


def _whole(v: Any, minimum: int = 0) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= minimum


def _check_doc(run_dir: Path, doc: dict[str, Any]) -> None:
    """Raise ``_Bad`` naming the first section of a scans run.json that later reads would trip over."""
    m = doc.get("model")
    if not isinstance(m, dict):
        raise _Bad("the 'model' section is missing or not a table")
    if not isinstance(m.get("arch"), str) or not m["arch"]:
        raise _Bad(f"model.arch = {_clip(m.get('arch'))} is not an architecture name")
    if not isinstance(m.get("params", {}), dict):
        raise _Bad("model.params is not a table of hyper-parameters")
    grid = m.get("grid")
    if grid is not None:
        if not isinstance(grid, dict):
            raise _Bad("model.grid is not a table (shape and affine)")
        shape, affine = grid.get("shape"), grid.get("affine")
        if not (isinstance(shape, list) and len(shape) == 3 and all(_whole(v, 1) for v in shape)):
            raise _Bad(f"model.grid.shape = {_clip(shape)} is not three positive whole numbers")
        try:
            a = np.asarray(affine, dtype=float)
        except (TypeError, ValueError):
            a = None
        if a is None or a.shape != (4, 4) or not np.isfinite(a).all():
            raise _Bad("model.grid.affine is not a 4 x 4 matrix of finite numbers")
    elif not _whole(m.get("n_features"), 1):
        raise _Bad(f"model.n_features = {_clip(m.get('n_features'))} is not a positive whole number "
                   "(a run without a grid needs it)")
    final = m.get("final_weights")
    if final is not None:
        if not isinstance(final, str):
            raise _Bad(f"model.final_weights = {_clip(final)} is not a file name")
        _inside(run_dir, final, "model.final_weights")
    folds = doc.get("folds", [])
    if not isinstance(folds, list):
        raise _Bad("the 'folds' section is not a list")
    for i, f in enumerate(folds):
        if not isinstance(f, dict) or not _whole(f.get("fold"), 1) or not isinstance(f.get("weights"), str):
            raise _Bad(f"folds[{i}] is not a table with a fold number and a weights file")
        if not isinstance(f.get("test", []), list):
            raise _Bad(f"folds[{i}].test is not a list of subjects")
        _inside(run_dir, f["weights"], f"folds[{i}].weights")
    cohort = doc.get("cohort")
    if not isinstance(cohort, dict):
        raise _Bad("the 'cohort' section is missing or not a table")
    subjects = cohort.get("subjects")
    if not isinstance(subjects, list):
        raise _Bad("cohort.subjects is not a list")
    for i, s in enumerate(subjects):
        if not isinstance(s, dict) or not isinstance(s.get("id"), str) or not _whole(s.get("fold"), 0):
            raise _Bad(f"cohort.subjects[{i}] is not a table with an id and a fold number")
    if not isinstance(cohort.get("classes", []), list):
        raise _Bad("cohort.classes is not a list")
    if not isinstance(doc.get("status", ""), str):
        raise _Bad(f"status = {_clip(doc.get('status'))} is not a word")


def _inside(run_dir: Path, rel: str, what: str) -> None:
    try:
        run_file(run_dir, rel)
    except RunFolderError as exc:
        raise _Bad(f"{what}: {exc}") from None
