"""Fitted steps of a fold (module-level so that tests can record exactly which subjects each one is given)."""
from __future__ import annotations

import math
import warnings
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from biodeep_gui.core.scans.batches import FeatureBatches, VolumeBatches
from biodeep_gui.core.scans.config import ScansConfig
from biodeep_gui.core.scans.evaluation import ReconstructionObjective, masked_correlation, template_scores
from biodeep_gui.core.scans.models.fastpath import FastPath, choose_fast_path, fast_path_of
from biodeep_gui.core.scans.preprocess import Preprocessor
from biodeep_gui.core.scans.volumes import compute_mask, load_mask, subject_stats


# ---------------------------------------------------------------------------------------------------------------
# fitted steps (module-level so tests can record exactly which subjects each one is given)
# ---------------------------------------------------------------------------------------------------------------
def fit_mask(prep: Preprocessor, subjects: np.ndarray, cfg: ScansConfig) -> np.ndarray:
    """The brain mask for a fold: the user's mask file, or computed from ``subjects`` (training subjects only)."""
    assert prep.grid is not None
    if cfg.data.mask:
        return load_mask(cfg.data.mask, prep.grid, canonicalise=cfg.data.canonicalise, resample=cfg.data.resample)
    return compute_mask((prep.load(int(i)) for i in subjects), cfg.data.mask_coverage)


def normalisation_stats(prep: Preprocessor, subjects: Sequence[int], mask: np.ndarray, kind: str) -> np.ndarray:
    """(S, 2) mean and std of each listed subject inside ``mask`` (rows of other subjects stay (0, 1)).

    Each subject is normalised with its own statistics; the fold only provides the mask.
    """
    stats = np.tile(np.array([0.0, 1.0], np.float32), (len(prep.cohort), 1))
    if kind == "zscore":
        for i in subjects:
            stats[int(i)] = subject_stats(prep.load(int(i)), mask)
    return stats


def volume_items(prep: Preprocessor, subjects: Sequence[int]) -> np.ndarray:
    """(M, 2) (subject, frame) items of the listed subjects: one per 3-D volume, one per kept frame otherwise."""
    rows = []
    for i in subjects:
        a = prep.load(int(i))
        if prep.cfg.summary == "frames":
            rows += [(int(i), f) for f in range(a.shape[0])]
        else:
            rows.append((int(i), -1))
    return np.asarray(rows, np.int64).reshape(-1, 2)


def fit_template(prep: Preprocessor, subjects: Sequence[int], mask: np.ndarray, stats: np.ndarray | None
                 ) -> tuple[np.ndarray, float]:
    """The template of a fold: the mean normalised, masked image of ``subjects`` (the fold's training subjects only;
    frames are averaged per subject first, so every subject counts once) and the root mean square of their
    deviations from it inside the mask (the scale the autoencoder's inputs are divided by).

    Returns
    -------
    template : (X, Y, Z) float32 (0 outside the mask); scale : float > 0
    """
    subjects = [int(i) for i in subjects]
    items = volume_items(prep, subjects)
    src = VolumeBatches(_volumes(prep), mask, stats, items, preload=False)
    per_subject: dict[int, list[np.ndarray]] = {}
    for k, (s, _f) in enumerate(items):
        per_subject.setdefault(int(s), []).append(src.item(k))
    means = [np.mean(v, axis=0, dtype=np.float64) for v in per_subject.values()]
    template = np.mean(means, axis=0).astype(np.float32) * mask
    m = np.asarray(mask, bool)
    sq = [float(((src.item(k)[m] - template[m]) ** 2).mean()) for k in range(len(items))]
    scale = math.sqrt(float(np.mean(sq))) if sq else 1.0
    return template, (scale if scale > 1e-8 else 1.0)


def fit_autoencoder(model, prep: Preprocessor | None, fit_subjects: np.ndarray, val_subjects: np.ndarray, *,
                    cfg: ScansConfig, device, mask: np.ndarray | None, stats: np.ndarray | None,
                    features: np.ndarray | None = None, should_stop: Callable[[], bool] = lambda: False,
                    on_epoch: Callable[[Any], Any] | None = None, fast: FastPath | None = None) -> Iterator:
    """Train an autoencoder on ``fit_subjects`` (model selection on ``val_subjects``) with ``training.fit``.

    Volumes route: ``prep`` + ``mask`` + ``stats``; the model's template (``fit_template``) is fitted here on
    ``fit_subjects`` and ``val_subjects`` together (the fold's training subjects, never its test subjects), and the
    best epoch is the one whose reconstructions of ``val_subjects`` explain most of their deviation from the
    template (``residual_correlation``). Connectivity route: ``features`` (N, F) already standardised with the
    training subjects' mean, which is then the template (0). Yields fit's BatchReport/EpochReport (and whatever
    ``on_epoch(report)`` returns, if not None); the generator's return value is fit's ``FitResult`` (the model holds
    the best weights).

    fast : the fast path (``models.fastpath``); ``None``: ``choose_fast_path`` for ``device`` and ``cfg.train.amp``.
    It is applied to ``model`` (and recorded there, for ``encode`` and ``reconstruction_scores``) before training.
    """
    from biodeep_gui.core.training.loop import EpochReport, FitResult, fit

    tcfg = cfg.train.for_autoencoder()
    fast = fast or choose_fast_path(model, device, cfg.train.amp)
    fast.apply(model)
    template = None
    if features is None:
        assert prep is not None and mask is not None
        if hasattr(model, "set_template"):
            template, scale = fit_template(prep, np.concatenate([fit_subjects, val_subjects]), mask, stats)
            model.set_template(template, scale)
            tcfg.monitor = "residual_correlation"
        train_src = VolumeBatches(_volumes(prep), mask, stats, volume_items(prep, fit_subjects),
                                  memory_format=fast.memory_format)
        val_src = VolumeBatches(_volumes(prep), mask, stats, volume_items(prep, val_subjects),
                                memory_format=fast.memory_format)
    else:
        train_src, val_src = FeatureBatches(features[fit_subjects]), FeatureBatches(features[val_subjects])
    objective = ReconstructionObjective(mask if features is None else None, template)
    if getattr(model, "layerwise", False):  # stacked autoencoders (heinsfeld-sdae): pretrained layer by layer
        from biodeep_gui.core.scans.models.heinsfeld import fit_layerwise

        return (yield from fit_layerwise(model, train_src, val_src, tcfg, device=device, objective=objective,
                                         should_stop=should_stop))
    result = None
    # validation metrics come from objective.evaluate, on the device (no val_targets needed)
    for item in fit(model, train_src, val_src, objective, tcfg, device=device, val_targets=None,
                    should_stop=should_stop):
        if isinstance(item, FitResult):
            result = item
            continue
        yield item
        if isinstance(item, EpochReport) and on_epoch is not None:
            extra = on_epoch(item)
            if extra is not None:
                yield extra
    return result


class _Volumes:
    """Lazy ``prep.load(i)`` list: VolumeBatches indexes subjects, the cache serves memory-mapped arrays."""

    def __init__(self, prep: Preprocessor):
        self.prep = prep

    def __len__(self) -> int:
        return len(self.prep.cohort)

    def __getitem__(self, i: int) -> np.ndarray:
        return self.prep.load(int(i))


def _volumes(prep: Preprocessor) -> _Volumes:
    return _Volumes(prep)


def encode(model, source, batch_size: int = 16) -> np.ndarray:
    """Codes of every item of a batch source: (M, code_size) float32 (eval mode, no noise), computed on the model's
    fast path (``fastpath.fast_path_of``: bf16 autocast and channels_last_3d when it was trained so)."""
    import torch

    model.eval()
    fast = fast_path_of(model)
    out = []
    with torch.inference_mode():
        for x, _ in source.batches(batch_size):
            with fast.autocast(x.device.type):
                z = model.encode(fast.batch(x))
            out.append(z.float().cpu())  # bf16 codes under autocast: the run stores float32
    return torch.cat(out).numpy() if out else np.zeros((0, model.code_size), np.float32)


def per_subject_mean(values: np.ndarray, items: np.ndarray, subjects: Sequence[int]) -> np.ndarray:
    """Average item rows (frames) per subject, in the order of ``subjects``: (len(subjects), ...)."""
    return np.stack([values[items[:, 0] == int(s)].mean(axis=0) for s in subjects])


def model_template(model) -> np.ndarray | None:
    """The template a volume autoencoder reconstructs deviations from, (X, Y, Z) float32; ``None`` for networks
    without one (feature autoencoders work on features centred on the training mean: their template is 0)."""
    t = getattr(model, "template", None)
    return None if t is None else t.detach().float().cpu().numpy()[0, 0]


def reconstruction_scores(model, source, mask: np.ndarray | None, batch_size: int = 8
                          ) -> dict[str, np.ndarray]:
    """Per item scores inside the mask, streamed batch by batch: a dict of (M,) arrays.

    correlation, mse : of the reconstruction with the original
    template_correlation, template_mse : of the model's template with the original (the baseline a reconstruction
        must beat; nan correlation when the template is all zeros)
    residual_correlation : of (reconstruction - template) with (original - template): the deviation explained

    The reconstructions are computed on the model's fast path (``fastpath.fast_path_of``) and cast to float32
    before any score.
    """
    import torch

    model.eval()
    fast = fast_path_of(model)
    out: dict[str, list[np.ndarray]] = {k: [] for k in ("correlation", "mse", "template_correlation", "template_mse",
                                                         "residual_correlation")}
    m = None if mask is None else np.asarray(mask, bool)
    template = model_template(model)
    with torch.inference_mode():
        for x, _ in source.batches(batch_size):
            a = x.float().cpu().numpy()
            with fast.autocast(x.device.type):
                rec = model(fast.batch(x))
            b = rec.float().cpu().numpy()
            t = np.zeros(a.shape[1:], np.float32) if template is None else template.reshape(a.shape[1:])
            out["correlation"].append(masked_correlation(a, b, m))
            tr, rr = template_scores(a, b, t, m)
            out["template_correlation"].append(tr)
            out["residual_correlation"].append(rr)
            a2, b2 = a.reshape(len(a), -1), b.reshape(len(b), -1)
            t2 = np.broadcast_to(t.reshape(1, -1), a2.shape)
            if m is not None:
                a2, b2, t2 = a2[:, m.ravel()], b2[:, m.ravel()], t2[:, m.ravel()]
            out["mse"].append(((a2 - b2) ** 2).mean(axis=1))
            out["template_mse"].append(((a2 - t2) ** 2).mean(axis=1))
    return {k: np.concatenate(v) if v else np.zeros(0) for k, v in out.items()}


def harmonise_codes(z_train: np.ndarray, s_train: Sequence[str], z_test: np.ndarray, s_test: Sequence[str],
                    how: str) -> tuple[np.ndarray, np.ndarray]:
    """Within-fold harmonisation of codes by site, fitted on the training subjects only.

    how : 'none' (codes unchanged) or 'site-centre': every code minus the mean training code of its site; a test
        site absent from training (leave-site-out) is centred on the mean of all training codes instead (nothing is
        fitted on test subjects). Label-free: the permutation test can reuse harmonised codes.
    """
    if how == "none" or not len(s_train):
        return z_train, z_test
    if how != "site-centre":
        raise ValueError(f"unknown harmonisation {how!r}")
    s_train, s_test = np.asarray(s_train), np.asarray(s_test)
    overall = z_train.mean(axis=0)
    means = {s: z_train[s_train == s].mean(axis=0) for s in np.unique(s_train)}
    a = z_train - np.stack([means[s] for s in s_train])
    b = z_test - np.stack([means.get(s, overall) for s in s_test]) if len(s_test) else z_test
    return a.astype(np.float32), np.asarray(b, np.float32)


def site_one_hot(sites: Sequence[str], names: Sequence[str]) -> np.ndarray:
    """(N, len(names)) one-hot site matrix (a site not in ``names`` is a row of zeros)."""
    idx = {n: j for j, n in enumerate(names)}
    out = np.zeros((len(sites), len(names)), np.float32)
    for i, s in enumerate(sites):
        if s in idx:
            out[i, idx[s]] = 1.0
    return out


#: Inverse regularisation strengths tried for the logistic regression on the codes (scikit-learn's default grid).
LOGISTIC_CS = tuple(float(c) for c in np.logspace(-4, 4, 10))


def fit_code_classifiers(z_train: np.ndarray, y_train: np.ndarray, z_test: np.ndarray, *, cfg: ScansConfig,
                         device, seed: int, arms: Sequence[str] = ("mlp", "logistic"),
                         should_stop: Callable[[], bool] = lambda: False) -> dict[str, np.ndarray]:
    """Fit the classifiers on training codes only and return each arm's positive-class probability on ``z_test``.

    Codes are standardised with the training codes' mean and sd. 'logistic': scikit-learn logistic regression
    (balanced class weights) with ``cfg.cv.logistic_c``, or, when that is 0, the C of ``LOGISTIC_CS`` with the best
    accuracy in an inner stratified k-fold of the training codes (nested: the test codes play no part); 'mlp':
    ``CodeClassifier`` trained with ``training.fit`` (fixed epochs, AdamW weight decay, class-weighted loss).
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits

    out: dict[str, np.ndarray] = {}
    # one BLAS thread: these matrices are tiny, and on a busy machine threads spinning at their barriers made each
    # fit 20x slower (measured on 2 shared cores)
    with threadpool_limits(1, user_api="blas"):
        scaler = StandardScaler().fit(z_train)
        a, b = scaler.transform(z_train), scaler.transform(z_test)
        if "logistic" in arms:
            def logistic(c: float):
                return LogisticRegression(C=c, max_iter=5000, class_weight="balanced")

            c = cfg.cv.logistic_c
            k = int(min(4, np.bincount(y_train.astype(int), minlength=2).min()))
            # codes of a few dozen subjects are separable: a large C need not converge, and says so at every fit
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                if c <= 0 and k >= 2:
                    # on the 40-subject demo (2 grids x 2 seeds, same codes) this beat C = 1 every time: mean
                    # accuracy over folds 0.74 vs 0.68. The fits and folds are cross_val_score's (unshuffled
                    # stratified k-fold, accuracy), in a plain loop with the splits made once: the same scores
                    # without its per-call cloning and scoring overhead, which dominated these tiny fits and made
                    # up most of the permutation test's time.
                    splits = list(StratifiedKFold(k).split(a, y_train))
                    scores = [np.mean([float((logistic(cand).fit(a[tr], y_train[tr]).predict(a[te])
                                              == y_train[te]).mean()) for tr, te in splits])
                              for cand in LOGISTIC_CS]
                    c = LOGISTIC_CS[int(np.argmax(scores))]
                out["logistic"] = logistic(c if c > 0 else 1.0).fit(a, y_train).predict_proba(b)[:, 1]
    if "mlp" in arms:
        out["mlp"] = _fit_mlp_head(a, y_train, b, cfg=cfg, device=device, seed=seed, should_stop=should_stop)
    return out


def _fit_mlp_head(a: np.ndarray, y: np.ndarray, b: np.ndarray, *, cfg: ScansConfig, device, seed: int,
                  should_stop: Callable[[], bool]) -> np.ndarray:
    """Train ``CodeClassifier`` on standardised codes ``a`` (N, C) with labels ``y``; probabilities for ``b``."""
    import torch

    from biodeep_gui.core.scans.models import build_scans_model
    from biodeep_gui.core.training.loop import FitResult, Objective, fit, predict_outputs

    torch.manual_seed(seed)
    head = build_scans_model("mlp-head", a.shape[1], cfg.model.head)
    ya = y.astype(np.float32)[:, None]
    objective = Objective.for_labels("binary", ya, 1, cfg.train.class_weighting)
    tcfg = cfg.train.for_head()
    tcfg.seed = seed
    # fixed epochs (see ScansTrainConfig.for_head): the "validation" pass only reports the training loss, and no
    # per-epoch scikit-learn metrics are computed (they cost more than the epoch itself)
    for item in fit(head, FeatureBatches(a, ya), FeatureBatches(a, ya), objective, tcfg, device=device,
                    val_targets=ya, should_stop=should_stop, report_interval=1e9, metric_fn=lambda _y, _p: {}):
        if isinstance(item, FitResult):
            break
    raw, _loss = predict_outputs(head, FeatureBatches(b).to(device), 256)
    return objective.transform(raw)[:, 0]


def fit_cnn(prep: Preprocessor, fit_subjects: np.ndarray, val_subjects: np.ndarray, *, cfg: ScansConfig, device,
            mask: np.ndarray, stats: np.ndarray, y: np.ndarray,
            should_stop: Callable[[], bool] = lambda: False, fast: FastPath | None = None) -> Iterator:
    """Train the direct 3-D CNN on ``fit_subjects`` (best epoch by loss on ``val_subjects``); yields fit's reports,
    returns (model, objective, FitResult).

    fast : the fast path (``models.fastpath``); ``None``: ``choose_fast_path`` for ``device`` and ``cfg.train.amp``.
    """
    import torch

    from biodeep_gui.core.scans.models import build_scans_model
    from biodeep_gui.core.training.loop import FitResult, Objective, fit

    assert prep.grid is not None
    torch.manual_seed(cfg.train.seed)
    model = build_scans_model("cnn3d", prep.grid.shape, cfg.model.cnn)
    fast = fast or choose_fast_path(model, device, cfg.train.amp)
    fast.apply(model)
    it_fit, it_val = volume_items(prep, fit_subjects), volume_items(prep, val_subjects)
    yf = y[it_fit[:, 0]].astype(np.float32)[:, None]
    yv = y[it_val[:, 0]].astype(np.float32)[:, None]
    objective = Objective.for_labels("binary", yf, 1, cfg.train.class_weighting)
    result = None
    fmt = fast.memory_format
    for item in fit(model, VolumeBatches(_volumes(prep), mask, stats, it_fit, yf, memory_format=fmt),
                    VolumeBatches(_volumes(prep), mask, stats, it_val, yv, memory_format=fmt), objective,
                    cfg.train.for_cnn(),
                    device=device, val_targets=yv, should_stop=should_stop):
        if isinstance(item, FitResult):
            result = item
            continue
        yield item
    return model, objective, result


def site_predictability(z_train: np.ndarray, s_train: Sequence[str], z_test: np.ndarray,
                        s_test: Sequence[str]) -> float:
    """Balanced accuracy of predicting the site from the codes (a warning sign of site effects).

    Fitted on the training codes; scored on the test codes when every test site occurs in training, otherwise
    (leave-site-out) by 3-fold cross-validation inside the training codes.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import balanced_accuracy_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits

    s_train, s_test = np.asarray(s_train), np.asarray(s_test)
    if len(set(s_train)) < 2:
        return math.nan
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000, class_weight="balanced"))
    with threadpool_limits(1, user_api="blas"):
        if set(s_test) <= set(s_train):
            return float(balanced_accuracy_score(s_test, clf.fit(z_train, s_train).predict(z_test)))
        k = min(3, int(min(np.unique(s_train, return_counts=True)[1])))
        if k < 2:
            return math.nan
        pred = cross_val_predict(clf, z_train, s_train, cv=StratifiedKFold(k, shuffle=True, random_state=0))
        return float(balanced_accuracy_score(s_train, pred))


