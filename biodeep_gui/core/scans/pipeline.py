"""Brain-scan training: autoencoder -> codes -> classifiers, evaluated by cross-validation that cannot leak.

``train_scans(cfg, out_dir, should_stop)`` is the one generator the CLI and the GUI worker iterate. It yields the
same report types as the sequence side (``experiment.StageReport``, ``training.BatchReport``/``EpochReport``)
plus ``CohortReport``, ``FoldReport``, ``ReconstructionPreview`` and ``FoldResult``, and ends with a
``ScansSummary``. Per fold, every fitted step sees the fold's training subjects only:

1. ``fit_mask``: brain mask from the training subjects (unless the user gave a mask file);
2. per-subject intensity normalisation inside that mask (each subject's own mean/std);
3. ``fit_autoencoder``: the template (``fit_template``: the training subjects' mean normalised image) and the
   autoencoder of each subject's deviation from it (``training.fit``, MSE inside the mask, best epoch by the
   residual correlation on an inner validation split of the training subjects);
4. codes of every subject from the fold's encoder (optionally centred per site, ``harmonise_codes``);
   ``fit_code_classifiers``: standardisation, an MLP head (``training.fit``) and a logistic regression, fitted on
   the training codes; with two or more sites, the same logistic regression on the site alone (``site_only``);
5. ``fit_cnn``: the direct 3-D CNN comparison arm on the same split.

Test subjects are only ever encoded, reconstructed and classified; every reconstruction score comes with the
template's own score on the same subject (``template_correlation``) and the deviation explained
(``residual_correlation``). The permutation test (``core.scans.permutation``) reuses each fold's codes and refits the
classifiers on labels permuted within sites; the Heinsfeld-style network's fine-tuning is refitted inside each fold
on the same permutations.

Under ``torchrun``/``srun`` the folds are independent fits, so they are spread over the processes rather than
made data-parallel: process r fits folds r + 1, r + 1 + N, ... (``_fit_fold``: seeded by the fold, not the process,
so every fold is the one a single process fits), the ``FoldOutcome``s (plain data) are gathered after each round,
and process 0 alone records them and writes the run folder.

``load_scans_run`` reads a run folder back: fold and final autoencoders, reconstructions of subjects or new files.
"""
from __future__ import annotations

import math
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from biodeep_gui.core.common.errors import BioDeepError
from biodeep_gui.core.scans.batches import FeatureBatches, VolumeBatches
from biodeep_gui.core.scans.cohort import Cohort, build_cohort
from biodeep_gui.core.scans.config import ScansConfig
from biodeep_gui.core.scans.cv import draw_permutations, exchangeability_blocks, inner_split, make_folds
from biodeep_gui.core.scans.evaluation import (
    CLASSIFICATION_METRICS,
    classification_metrics,
    masked_correlation,
    template_scores,
)
from biodeep_gui.core.scans.permutation import PERMUTATION_SEED, FoldCodes, finetune_null, permutation_test
from biodeep_gui.core.scans.preprocess import Preprocessor, resolved_config
from biodeep_gui.core.scans.reports import CohortReport, FoldReport, FoldResult, ReconstructionPreview, ScansSummary
from biodeep_gui.core.scans.run import _save_fold, _write_run
from biodeep_gui.core.scans.steps import (
    _volumes,
    encode,
    fit_autoencoder,
    fit_cnn,
    fit_code_classifiers,
    fit_mask,
    harmonise_codes,
    model_template,
    normalisation_stats,
    per_subject_mean,
    reconstruction_scores,
    site_one_hot,
    site_predictability,
    volume_items,
)
from biodeep_gui.core.training.reports import StageReport, history_row

_finetune_null = finetune_null  # its name when it lived here (tests import it from this module)


# ---------------------------------------------------------------------------------------------------------------
# the whole run
# ---------------------------------------------------------------------------------------------------------------
@dataclass
class FoldOutcome:
    """A finished fold as plain data: what the process that writes the run needs, whichever process fitted it.

    probs : arm -> (n_test,) positive-class probabilities of the held-out subjects; recon : score name ->
    (n_test,) held-out reconstruction scores; weights : the fold autoencoder's state dict (CPU tensors);
    mask : (X, Y, Z) bool brain mask (None on the connectivity route); history : the fold's epoch rows;
    sdae_null : (P,) the fine-tuned arm's held-out accuracy under each permutation, or None
    """

    result: FoldResult
    codes: FoldCodes
    probs: dict[str, np.ndarray]
    recon: dict[str, np.ndarray]
    weights: dict[str, Any]
    mask: np.ndarray | None
    history: list[dict[str, Any]]
    sdae_null: np.ndarray | None
    n_parameters: int


@dataclass
class _CrossValidation:
    """What every fold reads; the same in every process of a launch.

    features : (N, F) connectivity vectors, or None on the volumes route; items_all : (n_items, 2) subject and
    frame of every training sample; folds : (train, test) subject indices; perms : (P, N) permuted labels for the
    fine-tuned arm's null, or None
    """

    cfg: ScansConfig
    cohort: Cohort
    prep: Preprocessor
    features: np.ndarray | None
    items_all: np.ndarray
    folds: list[tuple[np.ndarray, np.ndarray]]
    arms: list[str]
    site_names: list[str]
    perms: np.ndarray | None
    device: Any
    previews: bool
    should_stop: Callable[[], bool]


def train_scans(cfg: ScansConfig, out_dir: str | Path, *, should_stop: Callable[[], bool] = lambda: False,
                cohort: Cohort | None = None, cache_dir: str | Path | None = None,
                report_interval: float = 0.1) -> Iterator:
    """Cross-validate the autoencoder -> classifier pipeline, fit the final autoencoder, and save a run folder.

    Yields StageReport, CohortReport, FoldReport, BatchReport, EpochReport, ReconstructionPreview, FoldResult and
    finally a ``ScansSummary``. Cancelling (``should_stop``) stops within one batch; completed folds are saved
    with status 'cancelled'.

    Under ``torchrun``/``srun`` (``training.distributed``) every process iterates this generator: process r fits
    folds r + 1, r + 1 + N, ... (N processes; each fold seeded as in one process), the finished folds are gathered
    after each round, the permutations are spread the same way, and process 0 alone fits the final autoencoder,
    writes the run folder (``world_size`` and ``backend`` in its provenance) and yields the FoldResults and the
    summary; the other processes return without a summary once their share is gathered (with an empty one when
    the run was cancelled before any fold finished).

    Raises
    ------
    InputFileError : a bad input file (named); ConfigError : an impossible setting
    TrainingError : training diverged or ran out of memory
    BioDeepError : under a launcher, any process's error, naming the fold and the process (on every process)
    """
    from biodeep_gui.core.training.distributed import init_from_env
    from biodeep_gui.core.training.loop import resolve_device

    cfg.validate()
    dist = init_from_env(resolve_device(cfg.train.device))
    try:
        yield from _train_scans(cfg, Path(out_dir), dist, should_stop, cohort, cache_dir)
    finally:
        dist.close()


def _prepare(prep: Preprocessor, should_stop: Callable[[], bool]) -> Iterator[StageReport]:
    n = len(prep.cohort)
    for status in prep.iter_prepare(should_stop, raise_errors=True):
        if status.index % 5 == 4 or status.index == n - 1:
            yield StageReport("load", f"Prepared {status.index + 1} of {n} subjects")


def _train_scans(cfg: ScansConfig, out_dir: Path, dist, should_stop: Callable[[], bool], cohort: Cohort | None,
                 cache_dir: str | Path | None) -> Iterator:
    import torch

    t0 = time.perf_counter()
    cfg = resolved_config(cfg, cohort)  # route 'auto' decided from the files (4-D fMRI -> connectivity)
    d = cfg.data
    volumes_route = d.route == "volumes"
    seed = cfg.train.seed
    torch.manual_seed(seed)
    np.random.seed(seed)  # sklearn estimators below get explicit seeds; this covers library defaults

    yield StageReport("load", "Reading the labels table and image headers")
    cohort = cohort or build_cohort(d)
    cohort.check()
    prep = Preprocessor(cohort, d, cache_dir)
    n = len(cohort)
    y = cohort.y
    sites = cohort.sites
    yield StageReport("load", f"Preparing {n} subjects (cached in {prep.cache_dir})")
    # one writer for the cache: process 0 fills it while the others wait at the broadcast, then they read it
    error = None
    if dist.is_main:
        try:
            yield from _prepare(prep, should_stop)
        except BioDeepError as exc:
            if not dist.distributed:
                raise
            error = exc
    failure, stopped = dist.broadcast((str(error or ""), should_stop()))
    if failure:
        raise error or BioDeepError(failure)
    if stopped or should_stop():
        yield _empty_summary(cfg, out_dir, t0, cancelled=True)
        return
    features, items_all, n_features, late = None, np.zeros((0, 2), np.int64), 0, None
    try:
        if not dist.is_main:
            yield from _prepare(prep, should_stop)
        if volumes_route:
            items_all = volume_items(prep, range(n))
            n_features = int(np.prod(prep.grid.shape))  # type: ignore[union-attr]
        else:
            features = np.stack([np.asarray(prep.load(i)) for i in range(n)]).astype(np.float32)
            items_all = np.stack([np.arange(n), -np.ones(n, int)], 1)
            n_features = features.shape[1]
    except BioDeepError as exc:  # e.g. a node that reads the files otherwise: reported at the first round's gather
        if not dist.distributed:
            raise
        late = exc
    device = dist.device  # the run's device; under a launcher with CUDA, this process's cuda:LOCAL_RANK
    folds, how = make_folds(y, sites, cfg.cv.folds, leave_site_out=cfg.cv.leave_site_out, seed=seed)
    warnings = [f.message for f in cohort.flags if f.severity != "info"] + cohort.notes + prep.notes
    site_counts = dict(sorted(Counter(sites).items())) if sites else {}
    if late is None:
        yield CohortReport(n, cohort.classes, cohort.class_counts(), site_counts, d.route,
                           prep.grid.describe() if prep.grid else "", len(items_all), n_features, warnings)
    world = dist.world_size
    spread = (f"; folds spread over {world} processes ({dist.backend}), process r fitting folds r + 1, "
              f"r + 1 + {world}, ..." if dist.distributed else "")
    yield StageReport("split", f"Cross-validation: {how}; device {device}{spread}")

    arms = ["mlp", "logistic"] + (["cnn"] if volumes_route and cfg.model.cnn_arm else [])
    if not volumes_route:
        arms += ["logistic_features"] + (["sdae"] if cfg.autoencoder_arch() == "heinsfeld-sdae" else [])
    site_names = sorted(set(sites)) if sites else []
    if len(site_names) >= 2:
        arms.append("site_only")  # the baseline: diagnosis from the site alone, same folds
    probs = {a: np.full(n, np.nan) for a in arms}
    # the fine-tuned network's null: its labels are used inside each fold, so it is refitted there on the same
    # permutations the permutation stage gives the other arms (rows of perms), one column per fold
    perms = (draw_permutations(y, exchangeability_blocks(sites or None), cfg.cv.permutations,
                               cfg.train.seed + PERMUTATION_SEED) if "sdae" in arms and cfg.cv.permutations else None)
    sdae_null = np.full((len(perms), len(folds)), np.nan) if perms is not None else None
    cv = _CrossValidation(cfg, cohort, prep, features, items_all, folds, arms, site_names, perms, device,
                          dist.is_main and volumes_route and bool(cfg.train.preview_every), should_stop)
    fold_of = np.zeros(n, np.int64)
    fold_results: list[FoldResult] = []
    fold_states: list[FoldCodes] = []
    recon = {k: np.full(n, np.nan) for k in RECONSTRUCTION_SCORES}
    history: list[dict[str, Any]] = []
    fold_docs: list[dict[str, Any]] = []
    n_parameters = 0
    cancelled = False
    arch = cfg.autoencoder_arch()
    info = {"arch": arch, "params": _resolved(arch, cfg.model.autoencoder),
            "grid": prep.grid.to_dict() if prep.grid else None, "n_features": n_features,
            "frames": d.summary == "frames" and volumes_route, "region_labels": prep.region_labels}
    launch = dist.provenance()

    for first in range(0, len(folds), world):  # one round: a fold per process, then one gather
        k = first + dist.rank + 1
        outcome, failure, error = None, "", None
        if late is not None:
            failure, error, late = f"process {dist.rank} of {world}: {late}", late, None
        elif k <= len(folds) and not should_stop():
            try:
                outcome = yield from _fit_fold(cv, k)
            except Exception as exc:  # under a launcher every process must reach the gather, or the others wait
                if not dist.distributed:
                    raise
                why = str(exc) if isinstance(exc, BioDeepError) else f"{type(exc).__name__}: {exc}"
                failure, error = f"fold {k} (process {dist.rank} of {world}): {why}", exc
        stop = should_stop() or (k <= len(folds) and outcome is None and not failure)
        parts = dist.gather_objects((outcome, failure, stop))
        failures = [f for _, f, _ in parts if f]
        if failures:
            if error is not None and not isinstance(error, BioDeepError):
                raise error  # a bug: its traceback from the process it happened in
            raise BioDeepError(failures[0])
        for o in (p[0] for p in parts if p[0] is not None):
            test = o.codes.test
            for arm, v in o.probs.items():
                probs[arm][test] = v
            for key, v in o.recon.items():
                recon[key][test] = v
            fold_of[test] = o.result.fold
            if sdae_null is not None and o.sdae_null is not None:
                sdae_null[:, o.result.fold - 1] = o.sdae_null
            history += o.history
            n_parameters = o.n_parameters
            fold_results.append(o.result)
            fold_states.append(o.codes)
            if dist.is_main:
                fold_docs.append(_save_fold(out_dir, o.result.fold, o.weights, o.mask, cohort, test))
                yield o.result
        if dist.is_main and fold_results:
            _write_run(out_dir, cfg, cohort, info, fold_of, fold_docs, history, fold_results, probs, recon, arms,
                       status="training", n_parameters=n_parameters, device=str(device), launch=launch)
        if any(p[2] for p in parts):
            cancelled = True
            break

    if not fold_results:
        yield _empty_summary(cfg, out_dir, t0, cancelled=True)
        return
    permutation: dict[str, dict[str, float]] = {}
    if cfg.cv.permutations and not cancelled and len(fold_states) == len(folds):
        fold_nulls = {}
        if sdae_null is not None and not np.isnan(sdae_null).any():
            observed = float(np.mean([((probs["sdae"][st.test] >= 0.5) == y[st.test]).mean() for st in fold_states]))
            fold_nulls["sdae"] = (observed, sdae_null.mean(axis=1))
        permutation = yield from permutation_test(fold_states, y, cfg, device, sites=sites or None,
                                                  should_stop=should_stop, fold_nulls=fold_nulls, dist=dist)
    if not dist.is_main:
        return  # its folds and permutations are with process 0, which writes the run
    final_doc = None
    if cfg.cv.final_fit and not cancelled and not should_stop():
        final_doc = yield from _final_fit(prep, features, cfg, device, history, should_stop, n)
    status = "cancelled" if cancelled or should_stop() else "complete"
    summary_metrics = _summarise_folds(fold_results, arms)
    roc, confusion = pooled_curves(cohort.y, probs)
    site = {}
    if sites:
        vals = [f.site_balanced_accuracy for f in fold_results if not math.isnan(f.site_balanced_accuracy)]
        site = {"balanced_accuracy": float(np.mean(vals)) if vals else math.nan, "chance": 1 / len(set(sites)),
                "n_sites": float(len(set(sites)))}
    recon_summary = summarise_reconstruction(recon)
    chance = chance_levels(y)
    if site and site["balanced_accuracy"] > site["chance"] + 0.2:
        warnings.append(f"site can be predicted from the codes (balanced accuracy {site['balanced_accuracy']:.2f}, "
                        f"chance {site['chance']:.2f}): the codes carry scanner/site effects")
    _write_run(out_dir, cfg, cohort, info, fold_of, fold_docs, history, fold_results, probs, recon, arms,
               status=status, n_parameters=n_parameters, device=str(device), permutation=permutation,
               site=site, recon_summary=recon_summary, summary_metrics=summary_metrics, final=final_doc,
               how=how, warnings=warnings, elapsed=time.perf_counter() - t0, roc=roc, confusion=confusion,
               chance=chance, launch=launch)
    yield ScansSummary(str(out_dir), d.route, summary_metrics, permutation, site, recon_summary, len(folds),
                       status == "cancelled", time.perf_counter() - t0, str(device), n_parameters, warnings, roc,
                       confusion, list(cohort.classes), chance)


#: The per-subject reconstruction scores of held-out subjects (``summarise_reconstruction``).
RECONSTRUCTION_SCORES = ("correlation", "mse", "template_correlation", "template_mse", "residual_correlation")


def _fit_fold(cv: _CrossValidation, k: int):
    """Fit and evaluate fold ``k`` (1-based) on its training subjects only (a generator: yields reports, returns a
    ``FoldOutcome``, or None when cancelled half-way).

    Everything random is seeded from ``train.seed + k``, so the fold is the same whichever process fits it.
    """
    import torch

    from biodeep_gui.core.scans.models import build_scans_model
    from biodeep_gui.core.scans.models.heinsfeld import finetune_classifier
    from biodeep_gui.core.training.architecture import count_parameters

    cfg, prep, cohort, device, should_stop, arms = cv.cfg, cv.prep, cv.cohort, cv.device, cv.should_stop, cv.arms
    volumes_route, features = cv.features is None, cv.features
    y, sites, n, n_folds = cohort.y, cohort.sites, len(cohort), len(cv.folds)
    train, test = cv.folds[k - 1]
    history: list[dict[str, Any]] = []
    arch = cfg.autoencoder_arch()
    fold_seed = cfg.train.seed + k
    fit_idx, val_idx = inner_split(train, y, cfg.train.inner_val_fraction, fold_seed)
    yield FoldReport(k, n_folds, "autoencoder", len(train), len(test),
                     f"Fold {k} of {n_folds}: autoencoder on {len(fit_idx)} subjects "
                     f"({len(val_idx)} for model selection), {len(test)} held out")
    torch.manual_seed(fold_seed)
    if volumes_route:
        assert prep.grid is not None
        mask = fit_mask(prep, train, cfg)
        stats = normalisation_stats(prep, range(n), mask, cfg.data.normalise)
        model = build_scans_model(arch, prep.grid.shape, cfg.model.autoencoder)
        fold_features = None
    else:
        mask = stats = None
        mu, sd = features[train].mean(axis=0), features[train].std(axis=0)  # fitted on training subjects
        fold_features = (features - mu) / np.where(sd > 0, sd, 1.0)
        model = build_scans_model(arch, features.shape[1], cfg.model.autoencoder)
    on_epoch = _previewer(model, prep, mask, stats, int(test[0]), k, cfg, device) if cv.previews else None
    result = yield from _relay(fit_autoencoder(model, prep, fit_idx, val_idx, cfg=cfg, device=device, mask=mask,
                                               stats=stats, features=fold_features, should_stop=should_stop,
                                               on_epoch=on_epoch), history, k, "autoencoder")
    if result is None or result.cancelled:  # a half-trained fold is not evaluated
        return None
    # codes and held-out reconstructions
    model.to(device)
    if volumes_route:
        src = VolumeBatches(_volumes(prep), mask, stats, cv.items_all, preload=False).to(device)
        z = per_subject_mean(encode(model, src), cv.items_all, range(n))
        test_items = cv.items_all[np.isin(cv.items_all[:, 0], test)]
        scores = reconstruction_scores(model, VolumeBatches(_volumes(prep), mask, stats, test_items,
                                                            preload=False).to(device), mask)
        scores = {key: per_subject_mean(v, test_items, test) for key, v in scores.items()}
    else:
        z = encode(model, FeatureBatches(fold_features).to(device))
        scores = reconstruction_scores(model, FeatureBatches(fold_features[test]).to(device), None)
        # features are standardised with the training subjects' mean: in those units the template is 0, and its
        # baseline is the training mean's correlation with each subject's raw features
        scores["template_correlation"] = masked_correlation(features[test],
                                                            np.broadcast_to(mu, features[test].shape))
    corr_s, mse_s = scores["correlation"], scores["mse"]
    yield FoldReport(k, n_folds, "classifier", len(train), len(test),
                     f"Fold {k}: classifiers on the codes (held-out reconstruction r = {np.nanmean(corr_s):.3f}, "
                     f"template r = {np.nanmean(scores['template_correlation']):.3f}, deviation explained "
                     f"r = {np.nanmean(scores['residual_correlation']):.3f})")
    z_train, z_test = z[train], z[test]
    if sites and cfg.cv.harmonise != "none":
        z_train, z_test = harmonise_codes(z_train, [sites[i] for i in train], z_test, [sites[i] for i in test],
                                          cfg.cv.harmonise)
    p = fit_code_classifiers(z_train, y[train], z_test, cfg=cfg, device=device, seed=fold_seed,
                             should_stop=should_stop)
    if "site_only" in arms:
        p["site_only"] = fit_code_classifiers(
            site_one_hot([sites[i] for i in train], cv.site_names), y[train],
            site_one_hot([sites[i] for i in test], cv.site_names), cfg=cfg, device=device, seed=fold_seed,
            arms=("logistic",))["logistic"]
    null = None
    if not volumes_route:
        p["logistic_features"] = fit_code_classifiers(fold_features[train], y[train], fold_features[test],
                                                      cfg=cfg, device=device, seed=fold_seed,
                                                      arms=("logistic",))["logistic"]
        if "sdae" in arms:  # Heinsfeld-style supervised fine-tuning on this fold's training subjects only
            p["sdae"] = finetune_classifier(model, fold_features[train], y[train], fold_features[test],
                                            device=device, seed=fold_seed, should_stop=should_stop)
            if cv.perms is not None:
                null = yield from finetune_null(model, fold_features, train, test, cv.perms, device, fold_seed,
                                                should_stop, k, n_folds)
    if should_stop():  # classifiers stopped half-way: the fold is not recorded
        return None
    if "cnn" in arms:
        yield FoldReport(k, n_folds, "cnn", len(train), len(test), f"Fold {k}: direct 3-D CNN classifier")
        cnn, cnn_obj, cnn_res = yield from _relay(
            fit_cnn(prep, fit_idx, val_idx, cfg=cfg, device=device, mask=mask, stats=stats, y=y,
                    should_stop=should_stop), history, k, "cnn")
        if cnn_res is not None and cnn_res.history and not cnn_res.cancelled:
            from biodeep_gui.core.training.loop import predict_outputs

            raw, _ = predict_outputs(cnn, VolumeBatches(_volumes(prep), mask, stats, test_items,
                                                        preload=False).to(device), cfg.train.batch_size)
            p["cnn"] = per_subject_mean(cnn_obj.transform(raw)[:, 0], test_items, test)
    site_acc = (site_predictability(z_train, [sites[i] for i in train], z_test, [sites[i] for i in test])
                if sites else math.nan)
    fr = FoldResult(k, n_folds, [cohort.ids[i] for i in test],
                    {a: classification_metrics(y[test], p[a]) for a in arms
                     if a in p and not np.isnan(p[a]).any()},
                    {cohort.ids[i]: (float(c), float(m)) for i, c, m in zip(test, corr_s, mse_s)}, site_acc,
                    {cohort.ids[i]: (float(t), float(r)) for i, t, r in
                     zip(test, scores["template_correlation"], scores["residual_correlation"])})
    weights = {name: v.detach().cpu() for name, v in model.state_dict().items()}
    return FoldOutcome(fr, FoldCodes(train, test, z_train, z_test), {a: np.asarray(v) for a, v in p.items()},
                       {key: np.asarray(scores[key]) for key in RECONSTRUCTION_SCORES}, weights, mask, history,
                       null, count_parameters(model))


def summarise_reconstruction(recon: dict[str, np.ndarray]) -> dict[str, float]:
    """Mean (and sd) over held-out subjects of every per-subject reconstruction score (nan-safe): correlation,
    mse, template_correlation, template_mse, residual_correlation -> '<name>_mean' (and '<name>_sd' for the
    correlations)."""
    out: dict[str, float] = {}
    for key, v in recon.items():
        v = np.asarray(v, float)
        ok = v[~np.isnan(v)]
        out[f"{key}_mean"] = float(ok.mean()) if len(ok) else math.nan
        if "correlation" in key:
            out[f"{key}_sd"] = float(ok.std(ddof=1)) if len(ok) > 1 else math.nan
    return out


def chance_levels(y: np.ndarray) -> dict[str, float]:
    """Accuracy of always predicting the larger class, and balanced accuracy / AUROC of any constant guess."""
    counts = np.bincount(np.asarray(y).astype(int), minlength=2)
    return {"majority_accuracy": float(counts.max() / max(counts.sum(), 1)), "balanced_accuracy": 0.5,
            "auroc": 0.5}


def pooled_curves(y: np.ndarray, probs: dict[str, np.ndarray]
                  ) -> tuple[dict[str, dict[str, list[float]]], dict[str, list[list[int]]]]:
    """ROC curve and 2 x 2 confusion matrix (rows true, columns predicted; threshold 0.5) of each arm's pooled
    out-of-fold probabilities (subjects without a probability, e.g. from a cancelled fold, left out)."""
    from sklearn.metrics import confusion_matrix, roc_curve

    roc, conf = {}, {}
    for arm, p in probs.items():
        ok = ~np.isnan(p)
        if not ok.any():
            continue
        yy, pp = np.asarray(y)[ok], p[ok]
        conf[arm] = confusion_matrix(yy, (pp >= 0.5).astype(int), labels=[0, 1]).tolist()
        if len(set(yy)) == 2:
            fpr, tpr, _ = roc_curve(yy, pp)
            roc[arm] = {"fpr": fpr.tolist(), "tpr": tpr.tolist()}
    return roc, conf


def _resolved(arch: str, params: dict[str, Any]) -> dict[str, Any]:
    from biodeep_gui.core.scans.models import SCANS_ARCHITECTURES

    return SCANS_ARCHITECTURES[arch].resolve(params)


def _relay(gen: Iterator, history: list[dict[str, Any]], fold: int, phase: str):
    """Yield what a fitting generator yields (recording each epoch in ``history``); return its return value."""
    from biodeep_gui.core.training.loop import EpochReport

    while True:
        try:
            item = next(gen)
        except StopIteration as stop:
            return stop.value
        if isinstance(item, EpochReport):
            history.append({"fold": fold, "phase": phase, **history_row(item)})
        yield item


def _previewer(model, prep, mask, stats, subject: int, fold: int, cfg: ScansConfig, device):
    """An ``on_epoch`` callback returning a ReconstructionPreview of a held-out subject every few epochs."""
    import torch

    every = cfg.train.preview_every
    src = VolumeBatches(_volumes(prep), mask, stats, volume_items(prep, [subject])[:1], preload=True)
    original = src.item(0)

    def on_epoch(report):
        if report.epoch % every and report.epoch != report.epochs:
            return None
        was_training = model.training
        model.eval()
        with torch.inference_mode():
            x = torch.from_numpy(original[None, None]).to(device)
            rec = model(x)[0, 0].float().cpu().numpy()
        model.train(was_training)
        corr = float(masked_correlation(original[None], rec[None], mask)[0])
        t_r, res_r = template_scores(original[None], rec[None], model_template(model), mask)
        return ReconstructionPreview(fold, report.epoch, prep.cohort.ids[subject], original, rec * mask, mask,
                                     prep.grid.voxel_size, corr, float(t_r[0]), float(res_r[0]))

    return on_epoch


def _final_fit(prep: Preprocessor, features: np.ndarray | None, cfg: ScansConfig, device, history, should_stop, n):
    """The autoencoder (and mask / feature scaling) fitted on every subject: the model ``scans reconstruct`` uses."""
    import torch

    from biodeep_gui.core.scans.models import build_scans_model

    y = prep.cohort.y
    everyone = np.arange(n)
    fit_idx, val_idx = inner_split(everyone, y, cfg.train.inner_val_fraction, cfg.train.seed)
    yield FoldReport(0, 0, "final", n, 0, f"Final autoencoder on all {n} subjects")
    torch.manual_seed(cfg.train.seed)
    arch = cfg.autoencoder_arch()
    extra: dict[str, np.ndarray] = {}
    if features is None:
        mask = fit_mask(prep, everyone, cfg)
        stats = normalisation_stats(prep, everyone, mask, cfg.data.normalise)
        model = build_scans_model(arch, prep.grid.shape, cfg.model.autoencoder)
        feats = None
        extra["mask"] = mask.astype(np.uint8)
    else:
        mask = stats = None
        mu, sd = features.mean(axis=0), features.std(axis=0)
        sd = np.where(sd > 0, sd, 1.0)
        feats = (features - mu) / sd
        model = build_scans_model(arch, features.shape[1], cfg.model.autoencoder)
        extra.update(feature_mean=mu.astype(np.float32), feature_sd=sd.astype(np.float32))
    result = yield from _relay(fit_autoencoder(model, prep, fit_idx, val_idx, cfg=cfg, device=device, mask=mask,
                                               stats=stats, features=feats, should_stop=should_stop), history, 0,
                               "final")
    if result is None or result.cancelled:
        return None
    return {"tensors": {**{f"model.{k}": v.detach().cpu() for k, v in model.state_dict().items()}, **extra},
            "best_epoch": result.best_epoch}


def _summarise_folds(results: list[FoldResult], arms: Sequence[str]) -> dict[str, dict[str, tuple[float, float]]]:
    out: dict[str, dict[str, tuple[float, float]]] = {}
    for a in arms:
        rows = [r.metrics[a] for r in results if a in r.metrics]
        if not rows:
            continue
        out[a] = {}
        for m in CLASSIFICATION_METRICS:
            v = np.array([r[m] for r in rows], float)
            v = v[~np.isnan(v)]
            out[a][m] = (float(v.mean()) if len(v) else math.nan, float(v.std(ddof=1)) if len(v) > 1 else math.nan)
    return out


def _empty_summary(cfg: ScansConfig, out_dir: Path, t0: float, cancelled: bool) -> ScansSummary:
    return ScansSummary("", cfg.data.route, {}, {}, {}, {}, 0, cancelled, time.perf_counter() - t0, "", 0)



