"""Cross-validation folds (stratified, leave-site-out), inner splits and label permutations within sites."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from biodeep_gui.core.common.errors import ConfigError


# ---------------------------------------------------------------------------------------------------------------
# folds
# ---------------------------------------------------------------------------------------------------------------
def make_folds(y: np.ndarray, sites: Sequence[str] | None, k: int, *, leave_site_out: bool = False,
               seed: int = 0) -> tuple[list[tuple[np.ndarray, np.ndarray]], str]:
    """Cross-validation splits of subjects.

    Stratified k-fold by label and, when sites are given, by label x site (falling back to label only when a
    label x site group has fewer than k subjects); or one fold per site (``leave_site_out``).

    Returns
    -------
    folds : [(train indices, test indices)]
    how : a sentence describing the scheme (shown to the user)
    """
    from sklearn.model_selection import StratifiedKFold

    y = np.asarray(y)
    n = len(y)
    if leave_site_out:
        if not sites:
            raise ConfigError("leave-site-out needs a site column in the labels table")
        names = sorted(set(sites))
        if len(names) < 2:
            raise ConfigError(f"leave-site-out needs at least 2 sites; the table has one ({names[0]})")
        s = np.asarray(sites)
        folds = []
        for name in names:
            test = np.flatnonzero(s == name)
            train = np.flatnonzero(s != name)
            if len(set(y[train])) < 2:
                raise ConfigError(f"leaving out site {name} leaves one class only in training")
            folds.append((train, test))
        return folds, f"leave-one-site-out over {len(names)} sites"
    counts = np.bincount(y.astype(int), minlength=2)
    if counts.min() < k:
        raise ConfigError(f"only {counts.min()} subjects in the smaller class: use at most {counts.min()} folds")
    strata, how = y.astype(str), f"stratified {k}-fold by label"
    if sites:
        joint = np.array([f"{a}|{b}" for a, b in zip(y, sites)])
        if min(np.unique(joint, return_counts=True)[1]) >= k:
            strata, how = joint, f"stratified {k}-fold by label and site"
        else:
            how += " (some label x site groups are smaller than the number of folds, so not by site)"
    skf = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    return [(np.sort(tr), np.sort(te)) for tr, te in skf.split(np.zeros(n), strata)], how


def inner_split(train: np.ndarray, y: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Split a fold's training subjects into fitting and inner-validation subjects (stratified when possible)."""
    from sklearn.model_selection import train_test_split

    train = np.asarray(train)
    n_val = max(1, int(round(fraction * len(train))))
    if len(train) - n_val < 1:
        raise ConfigError(f"{len(train)} training subjects are too few to hold out an inner validation set")
    labels = np.asarray(y)[train]
    strat = labels if n_val >= len(set(labels)) and min(np.bincount(labels)) >= 2 else None
    fit_idx, val_idx = train_test_split(train, test_size=n_val, random_state=seed, stratify=strat)
    return np.sort(fit_idx), np.sort(val_idx)




def permute_within(y: np.ndarray, blocks: Sequence[str] | None, rng: np.random.Generator) -> np.ndarray:
    """A random permutation of the labels ``y`` that only exchanges subjects of the same block (site).

    With ``blocks`` None (no site column) every subject is exchangeable with every other. Within sites, the null
    hypothesis tested is "the label carries no information beyond the site": a classifier that only learned site
    differences reaches the same accuracy on permuted labels, because each site keeps its own mix of labels.
    """
    y = np.asarray(y)
    if blocks is None or not len(blocks):
        return rng.permutation(y)
    b = np.asarray(blocks)
    if len(b) != len(y):
        raise ValueError(f"{len(y)} labels but {len(b)} site entries")
    out = y.copy()
    for name in np.unique(b):
        idx = np.flatnonzero(b == name)
        out[idx] = y[idx[rng.permutation(len(idx))]]
    return out


def exchangeability_blocks(sites: Sequence[str] | None) -> list[str] | None:
    """The blocks labels are permuted within: the sites when there are two or more, else ``None`` (all subjects
    exchangeable; one site is one block, the same thing)."""
    return list(sites) if sites is not None and len(set(sites)) > 1 else None


def draw_permutations(y: np.ndarray, blocks: Sequence[str] | None, n: int, seed: int) -> np.ndarray:
    """``n`` relabellings of ``y`` by ``permute_within``, drawn in order from one seeded generator.

    Returns
    -------
    (n, N) labels: row i is the i-th permutation. Every arm of a run is tested against the same rows, whether its
    classifier is refitted in the permutation stage (logistic, MLP) or inside each fold (the fine-tuned
    Heinsfeld-style network, whose pretrained encoders exist only while their fold runs).
    """
    rng = np.random.default_rng(seed)
    y = np.asarray(y)
    out = np.empty((max(0, int(n)), len(y)), dtype=y.dtype)
    for i in range(len(out)):
        out[i] = permute_within(y, blocks, rng)
    return out
