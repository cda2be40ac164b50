"""Evaluation metrics: thin wrappers over scikit-learn and SciPy, averaged over tasks (label columns)."""
from __future__ import annotations

import math
import warnings

import numpy as np

#: Which way is better for each metric name (True: higher).
HIGHER_IS_BETTER = {"auroc": True, "auprc": True, "accuracy": True, "f1": True, "balanced_accuracy": True,
                    "pearson": True, "spearman": True, "r2": True, "mse": False, "loss": False}


def binary_metrics(y_true: np.ndarray, prob: np.ndarray, threshold: float = 0.5) -> dict[str, float]:
    """AUROC, AUPRC, accuracy and F1, averaged over the T tasks where both classes occur.

    Parameters
    ----------
    y_true : (N, T) 0/1
    prob : (N, T) predicted probability of class 1
    """
    from sklearn.metrics import accuracy_score, average_precision_score, f1_score, roc_auc_score

    y_true, prob = np.asarray(y_true).reshape(len(y_true), -1), np.asarray(prob).reshape(len(prob), -1)
    out: dict[str, list[float]] = {"auroc": [], "auprc": [], "accuracy": [], "f1": []}
    for t in range(y_true.shape[1]):
        y, p = y_true[:, t], prob[:, t]
        pred = (p >= threshold).astype(int)
        out["accuracy"].append(accuracy_score(y, pred))
        out["f1"].append(f1_score(y, pred, zero_division=0))
        if 0 < y.sum() < len(y):
            out["auroc"].append(roc_auc_score(y, p))
            out["auprc"].append(average_precision_score(y, p))
    return {k: float(np.mean(v)) if v else math.nan for k, v in out.items()}


#: Thresholds of the multi-task summaries: the fraction of tasks whose AUROC/AUPRC reaches each.
TASK_THRESHOLDS = (0.7, 0.8, 0.9)


def per_task_metrics(y_true: np.ndarray, prob: np.ndarray, names: list[str] | None = None,
                     prefix: str = "") -> dict[str, float]:
    """Per-task AUROC and AUPRC of a multi-task binary problem (DeepSEA/Basset style), with their summaries.

    Parameters
    ----------
    y_true : (N, T) 0/1
    prob : (N, T) predicted probabilities
    names : (T,) task names (default task0, task1, ...)
    prefix : put before every key (e.g. 'test_')

    Returns
    -------
    flat dict: ``{prefix}auroc_median``, ``{prefix}auroc_frac_ge_0.7`` / ``0.8`` / ``0.9`` (same for auprc),
    ``{prefix}n_tasks_scored`` (tasks where both classes occur; the others are NaN and left out of the
    summaries), and per task ``{prefix}task/{name}/auroc`` and ``.../auprc``.
    """
    from sklearn.metrics import average_precision_score, roc_auc_score

    y_true, prob = np.asarray(y_true).reshape(len(y_true), -1), np.asarray(prob).reshape(len(prob), -1)
    names = list(names) if names and len(names) == y_true.shape[1] else [f"task{t}" for t in range(y_true.shape[1])]
    per = {"auroc": np.full(y_true.shape[1], np.nan), "auprc": np.full(y_true.shape[1], np.nan)}
    for t in range(y_true.shape[1]):
        y, p = y_true[:, t], prob[:, t]
        if 0 < y.sum() < len(y):
            per["auroc"][t] = roc_auc_score(y, p)
            per["auprc"][t] = average_precision_score(y, p)
    out: dict[str, float] = {f"{prefix}n_tasks_scored": float(np.isfinite(per["auroc"]).sum())}
    for m, vals in per.items():
        ok = vals[np.isfinite(vals)]
        out[f"{prefix}{m}_median"] = float(np.median(ok)) if ok.size else math.nan
        for th in TASK_THRESHOLDS:
            out[f"{prefix}{m}_frac_ge_{th:g}"] = float((ok >= th).mean()) if ok.size else math.nan
    for t, name in enumerate(names):
        for m in per:
            out[f"{prefix}task/{name}/{m}"] = float(per[m][t])
    return out


def multiclass_metrics(y_true: np.ndarray, prob: np.ndarray) -> dict[str, float]:
    """Accuracy, macro F1, balanced accuracy and one-vs-rest macro AUROC.

    Parameters
    ----------
    y_true : (N,) or (N, 1) class index
    prob : (N, C) class probabilities (rows sum to 1)
    """
    from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score, roc_auc_score

    y = np.asarray(y_true).reshape(-1).astype(int)
    prob = np.asarray(prob)
    pred = prob.argmax(axis=1)
    res = {"accuracy": float(accuracy_score(y, pred)),
           "f1": float(f1_score(y, pred, average="macro", zero_division=0)),
           "balanced_accuracy": float(balanced_accuracy_score(y, pred)), "auroc": math.nan}
    present = np.unique(y)
    if len(present) == prob.shape[1]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res["auroc"] = float(roc_auc_score(y, prob, multi_class="ovr", average="macro"))
    return res


def regression_metrics(y_true: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """Pearson, Spearman, MSE and R², averaged over the T outputs.

    Parameters
    ----------
    y_true, pred : (N, T)
    """
    from scipy.stats import pearsonr, spearmanr
    from sklearn.metrics import mean_squared_error, r2_score

    y_true, pred = np.asarray(y_true).reshape(len(y_true), -1), np.asarray(pred).reshape(len(pred), -1)
    out: dict[str, list[float]] = {"pearson": [], "spearman": [], "mse": [], "r2": []}
    for t in range(y_true.shape[1]):
        y, p = y_true[:, t], pred[:, t]
        constant = np.ptp(y) == 0 or np.ptp(p) == 0
        out["pearson"].append(math.nan if constant else float(pearsonr(y, p)[0]))
        out["spearman"].append(math.nan if constant else float(spearmanr(y, p)[0]))
        out["mse"].append(float(mean_squared_error(y, p)))
        out["r2"].append(float(r2_score(y, p)) if len(y) > 1 else math.nan)
    return {k: float(np.nanmean(v)) if not all(math.isnan(x) for x in v) else math.nan for k, v in out.items()}


def task_metrics(task: str, y_true: np.ndarray, output: np.ndarray) -> dict[str, float]:
    """Metrics for a task from transformed outputs (probabilities or values)."""
    if task == "binary":
        return binary_metrics(y_true, output)
    if task == "multiclass":
        return multiclass_metrics(y_true, output)
    if task == "regression":
        return regression_metrics(y_true, output)
    raise ValueError(f"no metrics for task {task!r}")


def default_monitor(task: str) -> str:
    return {"binary": "auroc", "multiclass": "accuracy", "regression": "pearson"}.get(task, "loss")


def roc_pr_curves(y_true: np.ndarray, prob: np.ndarray) -> dict[str, np.ndarray]:
    """ROC and precision-recall curves of the first task (binary) for plotting.

    Returns
    -------
    dict with fpr, tpr (ROC) and recall, precision (PR), each 1-D
    """
    from sklearn.metrics import precision_recall_curve, roc_curve

    y, p = np.asarray(y_true).reshape(len(y_true), -1)[:, 0], np.asarray(prob).reshape(len(prob), -1)[:, 0]
    fpr, tpr, _ = roc_curve(y, p)
    precision, recall, _ = precision_recall_curve(y, p)
    return {"fpr": fpr, "tpr": tpr, "recall": recall, "precision": precision}


def confusion(y_true: np.ndarray, pred_class: np.ndarray, n_classes: int) -> np.ndarray:
    """(C, C) confusion matrix: rows true class, columns predicted."""
    from sklearn.metrics import confusion_matrix

    return confusion_matrix(np.asarray(y_true).reshape(-1).astype(int), np.asarray(pred_class).reshape(-1),
                            labels=list(range(n_classes)))


def threshold_counts(y_true: np.ndarray, prob: np.ndarray, threshold: float = 0.5) -> dict[str, float]:
    """Calls at one threshold of a binary task: ``prob >= threshold`` is called positive.

    Parameters
    ----------
    y_true : (N,) 0/1; prob : (N,) predicted probability of class 1

    Returns
    -------
    dict with tp, fp, fn, tn (counts) and sensitivity (recall), specificity, precision, accuracy (NaN when
    undefined, e.g. precision with no positive call)
    """
    y = np.asarray(y_true, np.float64).reshape(-1) > 0.5
    called = np.asarray(prob, np.float64).reshape(-1) >= threshold
    tp, fp = int(np.sum(called & y)), int(np.sum(called & ~y))
    fn, tn = int(np.sum(~called & y)), int(np.sum(~called & ~y))

    def ratio(a: int, b: int) -> float:
        return a / b if b else math.nan

    return {"tp": tp, "fp": fp, "fn": fn, "tn": tn, "sensitivity": ratio(tp, tp + fn),
            "specificity": ratio(tn, tn + fp), "precision": ratio(tp, tp + fp), "accuracy": ratio(tp + tn, len(y))}


# ---- uncertainty: bootstrap over test sequences -----------------------------------------------------------------
#
# A test metric on a few hundred sequences is uncertain by several hundredths. ``bootstrap_intervals`` resamples the
# test sequences with replacement (within each class for classification, so every resample keeps the class
# balance) and reports the 2.5th and 97.5th percentiles of each metric (percentile bootstrap, Efron & Tibshirani
# 1993). ``paired_bootstrap`` compares two models on the *same* resamples of the same test sequences. Both are
# seeded (same inputs, same interval) and vectorised: all resamples of a metric are computed at once in numpy, in
# blocks of at most ``_BLOCK`` resampled values, so 1,000 resamples of 10,000 sequences take about a second.

#: Resamples used unless told otherwise.
N_BOOTSTRAP = 1000
# resampled values per block (resamples x sequences): the metrics of a block take ~90 bytes per value
# (measured), so this bounds the working set to ~45 MB whatever the test set's size
_BLOCK = 500_000
_ONE_DRAW = 4_000_000  # up to this many values (32 MB of indices) all resamples come from one seeded stream


def bootstrap_strata(task: str, y_true: np.ndarray) -> np.ndarray | None:
    """(N,) class of each test sequence for a stratified bootstrap, or None (regression, multi-task)."""
    y = np.asarray(y_true)
    y = y.reshape(len(y), -1)
    if task in ("binary", "multiclass") and y.shape[1] == 1 and np.isfinite(y).all():
        return y[:, 0].astype(np.int64)
    return None


def bootstrap_indices(n: int, n_boot: int, seed: int = 0, strata: np.ndarray | None = None) -> np.ndarray:
    """(n_boot, n) int64 resample indices: with replacement, within each stratum when ``strata`` is given."""
    rng = np.random.default_rng([int(seed), 0x5EED])
    if strata is None:
        return rng.integers(0, n, size=(n_boot, n))
    out = np.empty((n_boot, n), np.int64)
    col = 0
    for c in np.unique(strata):
        members = np.flatnonzero(strata == c)
        out[:, col:col + members.size] = members[rng.integers(0, members.size, size=(n_boot, members.size))]
        col += members.size
    return out


def _ranks(x: np.ndarray) -> np.ndarray:
    """Mid-ranks along the last axis (ties share their mean rank)."""
    from scipy.stats import rankdata

    return rankdata(x, axis=-1)


def _auroc_rows(y: np.ndarray, s: np.ndarray) -> np.ndarray:
    """(B,) AUROC of each row of 0/1 labels ``y`` (B, N) and scores ``s`` (B, N) (Mann-Whitney, mid-ranks)."""
    n1 = y.sum(axis=1)
    n0 = y.shape[1] - n1
    with np.errstate(invalid="ignore", divide="ignore"):
        auc = ((_ranks(s) * y).sum(axis=1) - n1 * (n1 + 1) / 2) / (n1 * n0)
    return np.where((n1 > 0) & (n0 > 0), auc, np.nan)


def _average_precision_rows(y: np.ndarray, s: np.ndarray) -> np.ndarray:
    """(B,) average precision of each row, as scikit-learn computes it (tied scores form one threshold)."""
    order = np.argsort(-s, axis=1, kind="stable")
    ys = np.take_along_axis(y, order, axis=1)
    ss = np.take_along_axis(s, order, axis=1)
    n = ys.shape[1]
    tp = np.cumsum(ys, axis=1)
    is_end = np.ones_like(ys, dtype=bool)
    is_end[:, :-1] = ss[:, :-1] != ss[:, 1:]
    ends = np.where(is_end, np.arange(n)[None, :], n)
    block_end = np.minimum.accumulate(ends[:, ::-1], axis=1)[:, ::-1]  # last index of each position's tie block
    precision_at_end = np.take_along_axis(tp, block_end, axis=1) / (block_end + 1)
    n1 = ys.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        ap = (ys * precision_at_end).sum(axis=1) / n1
    return np.where(n1 > 0, ap, np.nan)


def _binary_rows(y: np.ndarray, p: np.ndarray) -> dict[str, np.ndarray]:
    pred = p >= 0.5
    tp = (pred & (y == 1)).sum(axis=1)
    fp = (pred & (y == 0)).sum(axis=1)
    fn = (~pred & (y == 1)).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(2 * tp + fp + fn > 0, 2 * tp / (2 * tp + fp + fn), 0.0)
    return {"auroc": _auroc_rows(y, p), "auprc": _average_precision_rows(y, p),
            "accuracy": (pred == (y == 1)).mean(axis=1), "f1": f1}


def _pearson_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (a * b).sum(axis=1) / np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))


def resampled_metrics(task: str, y_true: np.ndarray, output: np.ndarray, idx: np.ndarray,
                      names: tuple[str, ...] | None = None) -> dict[str, np.ndarray]:
    """Metrics of every resample: ``idx`` (B, N) indices into the N test sequences -> name -> (B,) values.

    The same definitions as ``task_metrics`` (a test checks they agree with scikit-learn on the full set).
    """
    y_true = np.asarray(y_true, np.float64).reshape(len(y_true), -1)
    output = np.asarray(output, np.float64).reshape(len(output), -1)
    if task == "binary":
        per_task = [_binary_rows(y_true[idx, t], output[idx, t]) for t in range(y_true.shape[1])]
        out = {k: np.nanmean(np.stack([m[k] for m in per_task]), axis=0) if len(per_task) > 1 else per_task[0][k]
               for k in per_task[0]}
    elif task == "multiclass":
        y = y_true[:, 0].astype(np.int64)[idx]  # (B, N)
        prob = output[idx]  # (B, N, C)
        n_cls = output.shape[1]
        pred = prob.argmax(axis=2)
        recalls, f1s, aucs = [], [], []
        for c in range(n_cls):
            t, p = y == c, pred == c
            tp, fp, fn = (t & p).sum(1), (~t & p).sum(1), (t & ~p).sum(1)
            with np.errstate(invalid="ignore", divide="ignore"):
                recalls.append(np.where(t.sum(1) > 0, tp / t.sum(1), np.nan))
                f1s.append(np.where(2 * tp + fp + fn > 0, 2 * tp / (2 * tp + fp + fn), 0.0))
            aucs.append(_auroc_rows(t.astype(np.float64), prob[:, :, c]))
        present = np.stack([(y == c).any(axis=1) for c in range(n_cls)])  # (C, B)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            out = {"accuracy": (pred == y).mean(axis=1),
                   "balanced_accuracy": np.nanmean(np.stack(recalls), axis=0),
                   "auroc": np.where(present.all(axis=0), np.mean(np.stack(aucs), axis=0), np.nan)}
        pred_or_true = np.stack([((y == c) | (pred == c)).any(axis=1) for c in range(n_cls)])
        out["f1"] = np.stack(f1s).sum(0) / np.maximum(pred_or_true.sum(0), 1)  # sklearn: classes in y or pred
    elif task == "regression":
        cols: dict[str, list[np.ndarray]] = {"pearson": [], "spearman": [], "mse": [], "r2": []}
        for t in range(y_true.shape[1]):
            a, b = y_true[idx, t], output[idx, t]
            cols["pearson"].append(_pearson_rows(a, b))
            cols["spearman"].append(_pearson_rows(_ranks(a), _ranks(b)))
            sse = ((a - b) ** 2).sum(axis=1)
            sst = ((a - a.mean(axis=1, keepdims=True)) ** 2).sum(axis=1)
            cols["mse"].append(sse / a.shape[1])
            with np.errstate(invalid="ignore", divide="ignore"):
                cols["r2"].append(np.where(sst > 0, 1 - sse / sst, np.nan))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            out = {k: np.nanmean(np.stack(v), axis=0) for k, v in cols.items()}
    else:
        raise ValueError(f"no metrics for task {task!r}")
    return {k: v for k, v in out.items() if names is None or k in names}


def _blocks(n: int, n_boot: int):
    step = max(1, _BLOCK // max(n, 1))
    for s in range(0, n_boot, step):
        yield s, min(n_boot, s + step)


def _resample_blocks(n: int, n_boot: int, seed: int, strata: np.ndarray | None):
    """(a, b, (b - a, n) resample indices) per block of resamples.

    Up to ``_ONE_DRAW`` indices in all they are ``bootstrap_indices(n, n_boot, seed, strata)``
    (the intervals stored by earlier runs stay reproducible); a larger test set draws each block from its own
    seeded stream instead of holding every index at once (200 resamples of 200,000 test sequences: 320 MB).
    """
    if n * n_boot <= _ONE_DRAW:
        idx_all = bootstrap_indices(n, n_boot, seed, strata)
        for a, b in _blocks(n, n_boot):
            yield a, b, idx_all[a:b]
        return
    for a, b in _blocks(n, n_boot):
        yield a, b, bootstrap_indices(n, b - a, (int(seed) << 20) + a + 1, strata)


def bootstrap_intervals(task: str, y_true: np.ndarray, output: np.ndarray, *, n_boot: int = N_BOOTSTRAP,
                        seed: int = 0, level: float = 0.95,
                        names: tuple[str, ...] | None = None) -> dict[str, tuple[float, float]]:
    """Percentile bootstrap intervals of the test metrics.

    Parameters
    ----------
    task : 'binary' | 'multiclass' | 'regression'
    y_true : (N, T) or (N,) targets, as for ``task_metrics``
    output : (N, K) probabilities or values
    n_boot : resamples (1,000 by default)
    seed : same inputs and seed, same interval
    level : coverage (0.95: the 2.5th and 97.5th percentiles)
    names : metrics to keep (default: all of the task's)

    Returns
    -------
    name -> (low, high); (nan, nan) where the metric is undefined in too many resamples (e.g. one class only)
    """
    y_true = np.asarray(y_true)
    n = len(y_true)
    if n < 2:
        return {}
    values: dict[str, list[np.ndarray]] = {}
    for _, _, idx in _resample_blocks(n, n_boot, seed, bootstrap_strata(task, y_true)):
        for k, v in resampled_metrics(task, y_true, output, idx, names).items():
            values.setdefault(k, []).append(v)
    tail = (1 - level) / 2 * 100
    out = {}
    for k, parts in values.items():
        v = np.concatenate(parts)
        v = v[np.isfinite(v)]
        out[k] = ((float(np.percentile(v, tail)), float(np.percentile(v, 100 - tail)))
                  if v.size >= 0.9 * n_boot else (math.nan, math.nan))
    return out


def paired_bootstrap(task: str, y_true: np.ndarray, output_a: np.ndarray, output_b: np.ndarray, metric: str, *,
                     n_boot: int = N_BOOTSTRAP, seed: int = 0, level: float = 0.95) -> dict[str, float]:
    """Is model A better than model B on the same test sequences? A paired bootstrap of the metric difference.

    Each resample draws test sequences with replacement (stratified by class for classification) and computes
    ``metric(A) - metric(B)`` on the *same* drawn sequences, so the between-sequence variation that both models
    share cancels. The two-sided p-value is twice the smaller tail of the resampled differences around 0, with
    the +1 correction of Davison & Hinkley (1997), so it is never 0; identical predictions give p = 1.

    Parameters
    ----------
    output_a, output_b : (N, K) predictions of the two models for the same N test sequences, in the same order
    metric : e.g. 'auroc', 'pearson' (``HIGHER_IS_BETTER`` tells the direction; the difference is A - B as is)

    Returns
    -------
    dict: difference (A - B on all N sequences), low, high (percentile interval of the difference), p_value,
    n_boot, n (test sequences)
    """
    y_true = np.asarray(y_true)
    n = len(y_true)
    point_a = resampled_metrics(task, y_true, output_a, np.arange(n)[None], (metric,))[metric][0]
    point_b = resampled_metrics(task, y_true, output_b, np.arange(n)[None], (metric,))[metric][0]
    diffs = []
    for _, _, idx in _resample_blocks(n, n_boot, seed, bootstrap_strata(task, y_true)):
        da = resampled_metrics(task, y_true, output_a, idx, (metric,))[metric]
        db = resampled_metrics(task, y_true, output_b, idx, (metric,))[metric]
        diffs.append(da - db)
    d = np.concatenate(diffs)
    d = d[np.isfinite(d)]
    if not d.size:
        return {"difference": float(point_a - point_b), "low": math.nan, "high": math.nan, "p_value": math.nan,
                "n_boot": n_boot, "n": n}
    tail = (1 - level) / 2 * 100
    p = min(1.0, 2 * min(1 + int((d <= 0).sum()), 1 + int((d >= 0).sum())) / (d.size + 1))
    return {"difference": float(point_a - point_b), "low": float(np.percentile(d, tail)),
            "high": float(np.percentile(d, 100 - tail)), "p_value": float(p), "n_boot": int(d.size), "n": n}
