"""Reconstruction objective and metrics; classification metrics."""
from __future__ import annotations

import math

import numpy as np

CLASSIFICATION_METRICS = ("accuracy", "balanced_accuracy", "auroc", "sensitivity", "specificity")
# ---------------------------------------------------------------------------------------------------------------
# reconstruction objective and metrics
# ---------------------------------------------------------------------------------------------------------------
def _masked_rows(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """(N, V) float32 rows of ``a`` and ``b`` restricted to ``mask`` (all values when ``mask`` is None)."""
    a = np.asarray(a, np.float32).reshape(len(a), -1)
    b = np.asarray(b, np.float32).reshape(len(b), -1)
    if mask is not None:
        idx = np.flatnonzero(np.asarray(mask, bool).ravel())
        a, b = a.take(idx, axis=1), b.take(idx, axis=1)
    return a, b


def _row_correlation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    # float32 values, float64 sums: 9x faster than float64 arrays (this runs every epoch on the GPU path) and
    # equal to 1e-9
    a = a - a.mean(axis=1, dtype=np.float64, keepdims=True).astype(np.float32)
    b = b - b.mean(axis=1, dtype=np.float64, keepdims=True).astype(np.float32)
    ab = np.einsum("ij,ij->i", a, b, dtype=np.float64)
    den = np.sqrt(np.einsum("ij,ij->i", a, a, dtype=np.float64) * np.einsum("ij,ij->i", b, b, dtype=np.float64))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, ab / np.where(den > 0, den, 1), np.nan)


def masked_correlation(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Pearson correlation per sample between ``a`` and ``b`` inside ``mask``.

    Parameters
    ----------
    a, b : (N, ...) with the same shape; mask : bool of shape a.shape[-3:] (volumes) or ``None`` (all values)

    Returns
    -------
    (N,) float64 (nan for a constant sample)
    """
    return _row_correlation(*_masked_rows(a, b, mask))


def template_scores(x: np.ndarray, reconstruction: np.ndarray, template: np.ndarray | None,
                    mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The two numbers that say whether a reconstruction learned anything beyond the template.

    Parameters
    ----------
    x, reconstruction : (N, ...) originals and reconstructions (same units)
    template : (...) the mean image of the training subjects (one sample's shape), or ``None`` (all zeros: feature
        vectors already centred on the training mean)
    mask : bool of shape x.shape[-3:] (volumes) or ``None`` (all values)

    Returns
    -------
    template_r : (N,) correlation of the template with each original inside the mask: what a reconstruction that
        ignores the subject reaches (the baseline to beat); nan for an all-zero template
    residual_r : (N,) correlation of (reconstruction - template) with (x - template) inside the mask: how much of
        the subject's own deviation from the template the reconstruction explains
    """
    x = np.asarray(x, np.float32)
    rec = np.asarray(reconstruction, np.float32)
    if template is None:
        t = np.zeros(x.shape[1:], np.float32)
    else:
        t = np.asarray(template, np.float32).reshape(x.shape[1:])
    tt = np.broadcast_to(t, x.shape)
    return masked_correlation(x, tt, mask), masked_correlation(x - t, rec - t, mask)


class ReconstructionObjective:
    """The reconstruction objective for ``training.fit`` (the ``Objective`` interface: ``prepare``, ``loss``,
    ``transform``, ``metrics``): mean squared error inside the mask (over all values for feature vectors), outputs
    used as they are, metrics = voxelwise correlation and MSE inside the mask, and ``residual_correlation``: the
    correlation of (output - template) with (target - template) inside the mask, the part of each subject's
    deviation from the template that is explained (with no template given, the template is 0).

    mask : (X, Y, Z) bool, or ``None`` for feature vectors
    template : (X, Y, Z) (or (F,)) the training subjects' mean, or ``None``
    """

    task = "reconstruction"

    def __init__(self, mask: np.ndarray | None, template: np.ndarray | None = None):
        self.mask = None if mask is None else np.asarray(mask, bool)
        self.template = None if template is None else np.asarray(template, np.float32)
        self._m = None
        self._n = 1.0
        self._t = None

    def prepare(self, device) -> None:
        import torch

        self._idx = None
        if self.mask is not None:
            self._m = torch.as_tensor(self.mask, dtype=torch.float32, device=device)[None, None]
            self._n = float(self.mask.sum())
            self._idx = torch.as_tensor(np.flatnonzero(self.mask.ravel()), device=device)
        self._t = None
        if self.template is not None:
            t = torch.as_tensor(self.template.reshape(1, -1), dtype=torch.float32, device=device)
            self._t = t if self._idx is None else t.index_select(1, self._idx)

    def evaluate(self, model, source, batch_size: int) -> dict[str, float]:
        """Loss, mean per-sample correlation and MSE inside the mask of ``model`` on ``source``, computed on the
        source's device (as ``reconstruction_metrics``): no volume is copied to the host, one sync at the end.
        ``training.fit`` uses this instead of ``predict_outputs`` + ``metrics``. The forward passes run on the
        model's fast path (``models.fastpath.fast_path_of``: bf16 autocast, channels_last_3d) and their outputs are
        cast to float32 before the loss and the metrics."""
        import torch

        from biodeep_gui.core.scans.models.fastpath import fast_path_of

        model.eval()
        fast = fast_path_of(model)
        dev = source.device
        loss = torch.zeros((), dtype=torch.float64, device=dev)
        sq = torch.zeros((), dtype=torch.float64, device=dev)
        corr = torch.zeros((), dtype=torch.float64, device=dev)
        n_corr = torch.zeros((), dtype=torch.float64, device=dev)
        res = torch.zeros((), dtype=torch.float64, device=dev)
        n_res = torch.zeros((), dtype=torch.float64, device=dev)

        def row_corr(a, b):
            a = a - a.double().mean(1, keepdim=True).float()
            b = b - b.double().mean(1, keepdim=True).float()
            den = torch.sqrt((a.double() ** 2).sum(1) * (b.double() ** 2).sum(1))
            ok = den > 0
            return torch.where(ok, (a.double() * b.double()).sum(1) / torch.where(ok, den, 1), 0).sum(), ok.sum()
        n = n_values = 0
        with torch.inference_mode():
            for x, y in source.batches(batch_size):
                with fast.autocast(dev.type):
                    out = model(fast.batch(x))
                out = out.float()
                loss += self.loss(out, y).double() * len(x)
                a, b = y.reshape(len(y), -1), out.reshape(len(out), -1)
                if self._idx is not None:
                    a, b = a.index_select(1, self._idx), b.index_select(1, self._idx)
                sq += ((a - b).double() ** 2).sum()
                c, k = row_corr(a, b)
                corr, n_corr = corr + c, n_corr + k
                t = self._t if self._t is not None else torch.zeros((1, a.shape[1]), device=a.device)
                c, k = row_corr(a - t, b - t)
                res, n_res = res + c, n_res + k
                n, n_values = n + len(x), n_values + a.numel()
        if not n:
            return {"correlation": math.nan, "residual_correlation": math.nan, "mse": math.nan, "loss": math.nan}
        loss, sq, corr, n_corr, res, n_res = (float(v) for v in torch.stack([loss, sq, corr, n_corr, res,
                                                                            n_res]).cpu())
        return {"correlation": corr / n_corr if n_corr else math.nan,
                "residual_correlation": res / n_res if n_res else math.nan, "mse": sq / n_values, "loss": loss / n}

    def loss(self, output, target):
        d = (output.float() - target) ** 2
        if self._m is None:
            return d.mean()
        return (d * self._m).sum() / (self._n * len(d))

    def transform(self, output: np.ndarray) -> np.ndarray:
        return output

    def metrics(self, y_true: np.ndarray, transformed: np.ndarray) -> dict[str, float]:
        out = reconstruction_metrics(y_true, transformed, self.mask)
        if len(y_true):
            out["residual_correlation"] = float(np.nanmean(template_scores(y_true, transformed, self.template,
                                                                           self.mask)[1]))
        return out


def reconstruction_metrics(y_true: np.ndarray, pred: np.ndarray, mask: np.ndarray | None) -> dict[str, float]:
    """Mean per-sample correlation and mean squared error inside the mask."""
    a, b = _masked_rows(y_true, pred, mask)
    if not a.size:
        return {"correlation": math.nan, "mse": math.nan}
    d = a - b
    return {"correlation": float(np.nanmean(_row_correlation(a, b))), "mse": float(np.einsum("ij,ij->", d, d, dtype=np.float64) / d.size)}


def classification_metrics(y_true: np.ndarray, prob: np.ndarray, threshold: float = 0.5) -> dict[str, float]:
    """Accuracy, balanced accuracy, AUROC, sensitivity (positive recall) and specificity (negative recall).

    y_true : (N,) 0/1; prob : (N,) probability of the positive class
    """
    from sklearn.metrics import roc_auc_score

    y = np.asarray(y_true).reshape(-1).astype(int)
    p = np.asarray(prob, float).reshape(-1)
    pred = (p >= threshold).astype(int)
    pos, neg = y == 1, y == 0
    sens = float((pred[pos] == 1).mean()) if pos.any() else math.nan
    spec = float((pred[neg] == 0).mean()) if neg.any() else math.nan
    return {"accuracy": float((pred == y).mean()) if len(y) else math.nan,
            "balanced_accuracy": float(np.nanmean([sens, spec])) if pos.any() or neg.any() else math.nan,
            "auroc": float(roc_auc_score(y, p)) if pos.any() and neg.any() else math.nan,
            "sensitivity": sens, "specificity": spec}


