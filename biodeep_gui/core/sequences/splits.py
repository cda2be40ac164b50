"""Train / validation / test splits of a ``SequenceSet``: seeded, stratified, leak-free.

- Classification sets (binary with one label column, multiclass) are stratified by class, so each split keeps
  the class proportions; when a class is too small for that, the split is made unstratified and
  ``Splits.notes`` says why.
- Records that must stay together stay together: a BED peak and its background window (a shuffle or flank of
  it, see ``SequenceSet.pair_keys``), and every window that overlaps another (``bed.window_units``: peaks and
  flanks merged per chromosome), always land in the same split.
- ``holdout_groups`` (chromosome names, BED input) make those chromosomes the test set: the network is then
  tested on sequence it has never seen any part of. ``default_holdout`` picks them when a BED set spans three
  chromosomes or more (``pipeline.prepare_data`` does so unless chromosomes are named).
- ``split_with_test_set`` uses an explicit test file; validation comes from the training file only.

Fractions are of all records (``val_fraction=0.1``: a tenth of the records in validation).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from biodeep_gui.core.common.errors import ConfigError, InputFileError
from biodeep_gui.core.sequences.dataset import SequenceSet


class Splits(dict):
    """``{'train', 'val', 'test'}`` -> sorted (n,) int64 record indices, plus ``notes``: how the split was made.

    ``notes`` holds plain sentences for the user, e.g. why a split could not be stratified.
    """

    def __init__(self, train: np.ndarray, val: np.ndarray, test: np.ndarray, notes: list[str] | None = None):
        super().__init__(train=np.sort(np.asarray(train, np.int64)), val=np.sort(np.asarray(val, np.int64)),
                         test=np.sort(np.asarray(test, np.int64)))
        self.notes: list[str] = list(notes or [])


def _check_fractions(val_fraction: float, test_fraction: float) -> None:
    if not (0 <= val_fraction < 1 and 0 <= test_fraction < 1 and val_fraction + test_fraction < 1):
        raise ConfigError(f"val_fraction ({val_fraction}) and test_fraction ({test_fraction}) must be in [0, 1) "
                          f"and sum to less than 1")


def _strata(ss: SequenceSet) -> np.ndarray | None:
    """(N,) class of each record for stratification, or None (regression, multi-task, unlabelled)."""
    if ss.task in ("binary", "multiclass") and ss.labels.ndim == 2 and ss.labels.shape[1] == 1:
        return ss.labels[:, 0].astype(np.int64)
    return None


def _units(ss: SequenceSet) -> tuple[np.ndarray, np.ndarray]:
    """Split units: (unit of each record (N,), first record of each unit (U,)).

    A BED window, its background and every window overlapping it share one unit.
    """
    keys = ss.pair_keys()
    n = len(ss)
    if keys is None:
        return np.arange(n), np.arange(n)
    from biodeep_gui.core.sequences.bed import window_units

    merged = window_units(list(ss.ids))
    if merged is not None:
        keys = merged
    _, first, unit_of = np.unique(keys, return_index=True, return_inverse=True)
    return unit_of.ravel(), first


def default_holdout(ss: SequenceSet, test_fraction: float, seed: int = 0, min_chromosomes: int = 3) -> list[str]:
    """Chromosomes to hold out as the test set of a BED set spanning ``min_chromosomes`` or more; else [].

    Chromosomes are taken in a seeded random order, each kept when it brings the held-out share of split units
    closer to ``test_fraction``; at least one chromosome is held out and at least two are left to train and
    validate on. Same set, fraction and seed: same chromosomes.
    """
    if ss.groups is None or test_fraction <= 0:
        return []
    unit_of, first = _units(ss)
    names, counts = np.unique(ss.groups[first], return_counts=True)
    if len(names) < min_chromosomes:
        return []
    order = np.random.default_rng([int(seed), 0xC4]).permutation(len(names))
    target, total = test_fraction * counts.sum(), counts.sum()
    chosen: list[int] = []
    held = 0
    for j in order:
        if len(chosen) >= len(names) - 2:
            break
        if not chosen or abs(held + counts[j] - target) < abs(held - target):
            chosen.append(int(j))
            held += counts[j]
    assert total > 0
    return sorted(str(names[j]) for j in chosen)


def _class_name(ss: SequenceSet, c: int) -> str:
    return ss.class_names[c] if 0 <= c < len(ss.class_names) else str(c)


def _take(candidates: np.ndarray, n_take: int, strata: np.ndarray | None, seed: int, what: str,
          ss: SequenceSet, notes: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Pick ``n_take`` of ``candidates`` (unit numbers); stratified where possible. Returns (rest, taken)."""
    from sklearn.model_selection import train_test_split

    if n_take <= 0:
        return candidates, candidates[:0]
    if strata is not None:
        classes, counts = np.unique(strata, return_counts=True)
        reason = None
        if counts.min() < 2:
            reason = (f"class {_class_name(ss, int(classes[counts.argmin()]))!r} has only {int(counts.min())} "
                      f"record(s) left to split")
        elif n_take < len(classes) or len(candidates) - n_take < len(classes):
            reason = (f"the {what} set ({n_take} records) or what remains ({len(candidates) - n_take}) is smaller "
                      f"than the number of classes ({len(classes)})")
        if reason is None:
            try:
                rest, taken = train_test_split(candidates, test_size=n_take, random_state=seed, shuffle=True,
                                               stratify=strata)
                return rest, taken
            except ValueError as exc:  # sklearn's own limits, in its words
                reason = str(exc)
        notes.append(f"The {what} split is not stratified by class: {reason}.")
    rest, taken = train_test_split(candidates, test_size=n_take, random_state=seed, shuffle=True)
    return rest, taken


def _count(fraction: float, n: int) -> int:
    return 0 if fraction <= 0 else max(1, int(round(fraction * n)))


def split_indices(ss: SequenceSet, *, val_fraction: float = 0.1, test_fraction: float = 0.1, seed: int = 0,
                  holdout_groups: Sequence[str] = ()) -> Splits:
    """Split a set into train / validation / test record indices.

    Parameters
    ----------
    ss : the set (N records)
    val_fraction, test_fraction : fractions of all N records (each split gets at least one record when its
                                  fraction is > 0); ``test_fraction`` is ignored with ``holdout_groups``
    seed : same seed, same split
    holdout_groups : group names (chromosomes of a BED set, ``ss.groups``) forming the test set; the rest is
                     split into train and validation

    Returns
    -------
    Splits
        ``{'train', 'val', 'test'}`` -> sorted int64 index arrays, disjoint, together all N records;
        ``.notes`` explains any unstratified split.

    Raises
    ------
    ConfigError
        bad fractions, hold-out groups on a set without groups or naming a group that is not there, or too
        few records to give every split at least one.
    """
    _check_fractions(val_fraction, test_fraction)
    n = len(ss)
    unit_of, first = _units(ss)
    n_units = len(first)
    strata_all = _strata(ss)
    if ss.pair_keys() is not None:
        strata_units = None  # a unit holds a peak and its background: balanced by construction
    else:
        strata_units = strata_all
    notes: list[str] = []
    units = np.arange(n_units)

    if holdout_groups:
        if ss.groups is None:
            raise ConfigError("chromosome hold-out needs a set read from BED peaks and a genome (no chromosomes "
                              "are known for these records)")
        present = set(np.unique(ss.groups).tolist())
        missing = [g for g in holdout_groups if g not in present]
        if missing:
            raise ConfigError(f"hold-out chromosome(s) {', '.join(map(repr, missing))} not in the data; its "
                              f"chromosomes are: {', '.join(sorted(present))}")
        unit_group = ss.groups[first]
        in_test = np.isin(unit_group, list(holdout_groups))
        if in_test.all():
            raise ConfigError(f"the hold-out chromosome(s) {', '.join(holdout_groups)} hold every record; "
                              f"nothing would be left to train on")
        test_units, rest = units[in_test], units[~in_test]
        n_val = min(_count(val_fraction, n_units), len(rest) - 1)
        strata_rest = None if strata_units is None else strata_units[rest]
        train_units, val_units = _take(rest, n_val, strata_rest, seed, "validation", ss, notes)
        notes.insert(0, f"Test set: chromosome(s) {', '.join(holdout_groups)} ({int(in_test.sum())} of "
                        f"{n_units} {'peaks with their backgrounds' if n_units < n else 'records'}).")
    else:
        n_test, n_val = _count(test_fraction, n_units), _count(val_fraction, n_units)
        if n_units - n_test - n_val < 1:
            what = (f"{n} records" if n_units == n else
                    f"{n} records form only {n_units} independent unit(s) (overlapping BED windows and their "
                    f"backgrounds stay together) and")
            raise ConfigError(f"{what} are too few to split into train, validation ({n_val}) and test "
                              f"({n_test})")
        rest, test_units = _take(units, n_test, strata_units, seed, "test", ss, notes)
        strata_rest = None if strata_units is None else strata_units[rest]
        train_units, val_units = _take(rest, n_val, strata_rest, seed + 1, "validation", ss, notes)

    part = np.empty(n_units, np.int8)
    part[train_units], part[val_units], part[test_units] = 0, 1, 2
    record_part = part[unit_of]
    return Splits(np.flatnonzero(record_part == 0), np.flatnonzero(record_part == 1),
                  np.flatnonzero(record_part == 2), notes)


def concat_sets(a: SequenceSet, b: SequenceSet) -> SequenceSet:
    """Records of ``a`` then ``b`` in one set (same length, task, label columns and classes; no shared id)."""
    _check_compatible(a, b)

    def cat(x, y):
        return None if x is None or y is None else np.concatenate([x, y])

    return SequenceSet(ids=list(a.ids) + list(b.ids), codes=np.concatenate([a.codes, b.codes]),
                       labels=np.concatenate([a.labels, b.labels]), task=a.task, label_names=list(a.label_names),
                       class_names=list(a.class_names), lengths=cat(a.lengths, b.lengths),
                       groups=cat(a.groups, b.groups), sources=list(a.sources) + list(b.sources))


def _check_compatible(a: SequenceSet, b: SequenceSet) -> None:
    if a.length != b.length:
        raise ConfigError(f"cannot combine sequences of length {a.length} and {b.length}; load the test file "
                          f"with the training length")
    # binary 0/1 columns mean the same whatever the classes are called; class indices must agree
    if (a.task != b.task or a.labels.shape[1] != b.labels.shape[1]
            or (a.task == "multiclass" and list(a.class_names) != list(b.class_names))):
        raise ConfigError(f"the test set ({b.task}, {b.labels.shape[1]} label column(s), classes "
                          f"{b.class_names}) does not match the training set ({a.task}, {a.labels.shape[1]}, "
                          f"{a.class_names})")
    clash = set(a.ids).intersection(b.ids)
    if clash:
        first = next(i for i in b.ids if i in clash)
        src = b.sources[0] if b.sources else None
        raise InputFileError(src, f"id {first!r} is in both the training and the test data "
                                  f"({len(clash)} shared id(s)); a test record must not be trained on",
                             record=b.ids.index(first) + 1, record_id=first, expected="separate records")


def split_with_test_set(train_ss: SequenceSet, test_ss: SequenceSet, *, val_fraction: float = 0.1,
                        seed: int = 0) -> Splits:
    """Use an explicit test set; validation is drawn from the training set only.

    Parameters
    ----------
    train_ss : training records (N1)
    test_ss : test records (N2): same length, task, label columns and classes (``sequences.load_test_set``
              reads it so), and no id in common with ``train_ss``
    val_fraction : fraction of the N1 training records used for validation
    seed : same seed, same split

    Returns
    -------
    Splits
        ``train`` and ``val`` index ``train_ss``; ``test`` indexes ``test_ss`` (all of it: 0 .. N2 - 1).
        ``concat_sets(train_ss, test_ss)`` gives one set to index with ``test + N1`` if one is needed.

    Raises
    ------
    ConfigError, InputFileError
        a test set that does not match the training set, or shares ids with it.
    """
    _check_fractions(val_fraction, 0.0)
    _check_compatible(train_ss, test_ss)
    inner = split_indices(train_ss, val_fraction=val_fraction, test_fraction=0.0, seed=seed)
    return Splits(inner["train"], inner["val"], np.arange(len(test_ss)),
                  [f"Test set: {len(test_ss)} records from {', '.join(test_ss.sources) or 'the test file'}."]
                  + inner.notes)
