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
