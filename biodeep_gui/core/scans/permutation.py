"""The permutation test of a scans run: the classifiers on the codes refitted on relabelled subjects.

``permutation_test`` reuses each fold's codes (the autoencoders never see labels, so they are the same under any
relabelling) and refits the classifiers on labels permuted within sites. The Heinsfeld-style network's supervised
fine-tuning uses labels, so it is refitted inside each fold on the same permutations (``finetune_null``) and gets
its p-value beside the others. Under ``torchrun`` the permutations are spread over the processes (permutation i on
process i mod N) and gathered in order: every permutation is fitted with the seeds it has in one process, so the
null is the single-process one whatever the number of processes.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Sequence

import numpy as np

from biodeep_gui.core.scans.config import ScansConfig
from biodeep_gui.core.scans.cv import draw_permutations, exchangeability_blocks
from biodeep_gui.core.scans.steps import fit_code_classifiers
from biodeep_gui.core.training.reports import StageReport

if TYPE_CHECKING:  # the module itself imports torch lazily, like the rest of the scans pipeline
    from biodeep_gui.core.training.distributed import DistContext

#: offset of the permutation generator's seed from ``train.seed``
PERMUTATION_SEED = 1000


@dataclass
class FoldCodes:
    """What the permutation test needs from a finished fold: its subjects and the codes the classifiers read
    (after harmonisation, if any; codes never depend on labels, so they are the same under any relabelling).

    train : (n_train,) and test : (n_test,) subject indices; z_train : (n_train, C) and z_test : (n_test, C) codes
    """

    train: np.ndarray
    test: np.ndarray
    z_train: np.ndarray
    z_test: np.ndarray


def finetune_null(model, x: np.ndarray, train: np.ndarray, test: np.ndarray, perms: np.ndarray, device,
                  seed: int, should_stop: Callable[[], bool], fold: int, n_folds: int):
    """The fine-tuned (Heinsfeld-style) arm's held-out accuracy in one fold under each permutation (a generator:
    yields StageReports, returns (P,) accuracies; nan from the first one a cancel interrupted).

    x : (N, F) the fold's standardised connectivity vectors; perms : (P, N) permuted labels. The pretrained encoders
    never saw labels, so only the supervised fine-tuning is redone, with the same seed as the fit on the true
    labels: the labels are the one thing that differs.
    """
    from biodeep_gui.core.scans.models.heinsfeld import finetune_classifier

    acc = np.full(len(perms), np.nan)
    last = time.perf_counter()
    for i, labels in enumerate(perms):
        if should_stop():
            break
        prob = finetune_classifier(model, x[train], labels[train], x[test], device=device, seed=seed,
                                   should_stop=should_stop)
        if should_stop():  # a fine-tuning stopped half-way is no null sample
            break
        acc[i] = float(((prob >= 0.5) == labels[test]).mean())
        if time.perf_counter() - last > 2 or i == len(perms) - 1:
            last = time.perf_counter()
            yield StageReport("permutation", f"Fold {fold} of {n_folds}: fine-tuning on permuted labels, "
                                             f"{i + 1} of {len(perms)}")
    return acc


def permutation_test(states: Sequence[FoldCodes], y: np.ndarray, cfg: ScansConfig, device="cpu", *,
                     sites: Sequence[str] | None = None, should_stop: Callable[[], bool] = lambda: False,
                     fold_nulls: dict[str, tuple[float, np.ndarray]] | None = None, dist: DistContext | None = None):
    """Chance level and p-value of the code classifiers' cross-validated accuracy (a generator: yields
    StageReports, returns arm -> {'accuracy', 'chance', 'null_sd', 'p_value', 'n', 'floor', 'within_site'}).

    The folds and their codes are kept (the autoencoders never saw labels); only the labels are permuted and the
    classifiers refitted. With ``sites``, labels are shuffled among subjects of the same site only (exchangeability
    blocks), so that a classifier that only learned site differences is not called significant when the diagnosis
    is confounded with the site. p = (1 + #{permuted accuracy >= observed}) / (1 + permutations), so p can never
    be below its floor 1 / (1 + permutations).

    fold_nulls : arm -> (observed accuracy, (P,) null accuracies) of arms refitted inside the folds on the same
        permutations (``draw_permutations`` with the same seed); they get the same p-value and record.
    dist : a distributed context: every process calls this with the same states, fits permutations
        ``rank, rank + N, ...`` and all get the same result (one gather); None or a world of 1: all here.
    """
    from biodeep_gui.core.training.distributed import DistContext

    dist = dist or DistContext()
    n_perm = cfg.cv.permutations
    arms = ("logistic", "mlp") if cfg.cv.permute_mlp else ("logistic",)
    blocks = exchangeability_blocks(sites)
    perms = draw_permutations(y, blocks, n_perm, cfg.train.seed + PERMUTATION_SEED)

    def cv_accuracy(labels: np.ndarray) -> dict[str, float]:
        accs: dict[str, list[float]] = {a: [] for a in arms}
        for j, st in enumerate(states):
            p = fit_code_classifiers(st.z_train, labels[st.train], st.z_test, cfg=cfg, device=device,
                                     seed=cfg.train.seed + j + 1, arms=arms)
            for a in arms:
                accs[a].append(float(((p[a] >= 0.5) == labels[st.test]).mean()))
        return {a: float(np.mean(v)) for a, v in accs.items()}

    observed = cv_accuracy(y)
    mine = range(dist.rank, n_perm, dist.world_size)
    null = np.full((n_perm, len(arms)), np.nan)  # row i: permutation i (nan: not fitted here, or cancelled)
    yield StageReport("permutation", f"Permutation test: {n_perm} relabellings"
                                     f"{' within each site' if blocks else ''} of the "
                                     f"{' and '.join(arms)} classifier{'s' if len(arms) > 1 else ''} on the codes"
                                     + (f", spread over {dist.world_size} processes" if dist.distributed else ""))
    last = time.perf_counter()
    for done, i in enumerate(mine, start=1):
        if should_stop():
            break
        acc = cv_accuracy(perms[i])
        if should_stop():  # classifiers stopped half-way give no valid null sample
            break
        null[i] = [acc[a] for a in arms]
        if time.perf_counter() - last > 2 or done == len(mine):
            last = time.perf_counter()
            yield StageReport("permutation", f"Permutation {i + 1} of {n_perm}")
    if dist.distributed:  # each row was fitted by exactly one process: the others left it nan
        parts = dist.gather_objects(null[list(mine)])
        for rank, rows in enumerate(parts):
            null[rank::dist.world_size][:len(rows)] = rows
    # a cancel keeps the permutations before the first one missing, as a single process would have
    missing = np.isnan(null).any(axis=1)
    kept = int(np.argmax(missing)) if missing.any() else n_perm
    nulls = {a: (observed[a], null[:kept, j]) for j, a in enumerate(arms)}
    nulls.update(fold_nulls or {})
    out = {}
    for a, (obs, v) in nulls.items():
        if len(v):
            out[a] = {"accuracy": obs, "chance": float(v.mean()), "null_sd": float(v.std()),
                      "p_value": float((1 + (v >= obs - 1e-12).sum()) / (1 + len(v))), "n": float(len(v)),
                      "floor": 1.0 / (1 + len(v)), "within_site": float(blocks is not None)}
    return out
