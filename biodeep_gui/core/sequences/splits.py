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
    """``{'train', 'val', 'test'}`` -> sorted (n,) int32 record indices (int64 past 2**31 records), plus ``notes``:
    how the split was made.

    ``notes`` holds plain sentences for the user, e.g. why a split could not be stratified.
    """

    def __init__(self, train: np.ndarray, val: np.ndarray, test: np.ndarray, notes: list[str] | None = None):
        top = max((int(np.max(a)) for a in (train, val, test) if len(a)), default=0)
        dt = _index_dtype(top + 1)
        super().__init__(train=np.sort(np.asarray(train, dt)), val=np.sort(np.asarray(val, dt)),
                         test=np.sort(np.asarray(test, dt)))
        self.notes: list[str] = list(notes or [])


def _check_fractions(val_fraction: float, test_fraction: float) -> None:
    if not (0 <= val_fraction < 1 and 0 <= test_fraction < 1 and val_fraction + test_fraction < 1):
        raise ConfigError(f"val_fraction ({val_fraction}) and test_fraction ({test_fraction}) must be in [0, 1) "
                          f"and sum to less than 1")


def _strata(ss: SequenceSet) -> np.ndarray | None:
    """(N,) class of each record for stratification, or None (regression, multi-task, unlabelled)."""
    if ss.task in ("binary", "multiclass") and ss.labels.ndim == 2 and ss.labels.shape[1] == 1:
        return np.asarray(ss.labels[:, 0]).astype(np.int32)  # 4 bytes per record while splitting
    return None


def _units(ss: SequenceSet) -> tuple[np.ndarray, np.ndarray]:
    """Split units: (unit of each record (N,), first record of each unit (U,)).

    A BED window, its background and every window overlapping it share one unit.
    """
    n = len(ss)
    if ss.groups is None:  # not BED-derived: every record is free (``SequenceSet.pair_keys``)
        units = np.arange(n, dtype=_index_dtype(n))
        return units, units
    from biodeep_gui.core.sequences.bed import window_units

    # ids are read one at a time (a cached set decodes them from its byte buffer): no list of N strings is built
    keys = window_units(ss.ids)
    if keys is None:
        keys = ss.pair_keys()
    _, first, unit_of = np.unique(keys, return_index=True, return_inverse=True)
    return unit_of.ravel().astype(_index_dtype(n), copy=False), first.astype(_index_dtype(n), copy=False)


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


#: How ``split_indices`` draws records; saved with each run (``run.json`` "split" "method") so that resuming
#: remakes the same split. Runs saved without it were split by scikit-learn's ``train_test_split``.
SPLIT_METHOD = "permutation-1"
LEGACY_SPLIT_METHOD = "sklearn"


def _index_dtype(n: int) -> type:
    # int32 halves the per-record index memory of genome-scale sets; int64 only past 2**31 records
    return np.int32 if n < 2**31 - 1 else np.int64


def _positions(mask: np.ndarray, dtype: type, chunk: int = 1 << 20) -> np.ndarray:
    """``np.flatnonzero(mask)`` as ``dtype``, found a chunk at a time: numpy's own answer is int64 for the whole
    array, 8 bytes per hit at once."""
    return np.concatenate([np.flatnonzero(mask[s:s + chunk]).astype(dtype) + dtype(s)
                           for s in range(0, len(mask), chunk)] or [np.zeros(0, dtype)])


def _draw(candidates: np.ndarray, n_take: int, strata: np.ndarray | None,
          rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Seeded draw of ``n_take`` of ``candidates`` (U,), stratified by ``strata`` (U,) small ints when given.

    ``strata`` are class indices (>= 0). Each class contributes its proportional share (largest remainders
    decide the rounding, ties by class order); within a class the records taken are the first of a seeded
    permutation. Only index arrays of the candidates' dtype are made: no per-record Python objects. Returns
    (rest, taken), each in candidate order.
    """
    n = len(candidates)
    take = np.zeros(n, bool)
    if strata is None:
        take[rng.permutation(n)[:n_take]] = True
    else:
        counts = np.bincount(strata)
        exact = n_take * counts / n
        quota = np.floor(exact).astype(np.int64)
        short = n_take - int(quota.sum())
        if short:
            quota[np.argsort(-(exact - quota), kind="stable")[:short]] += 1
        for c in np.flatnonzero(counts):
            # one class's positions at a time, as int32: a few bytes per record at most
            members = _positions(strata == c, candidates.dtype.type)
            take[rng.permutation(members)[:quota[c]]] = True
            del members
    return candidates[~take], candidates[take]


def _take(candidates: np.ndarray, n_take: int, strata: np.ndarray | None, seed: int, what: str,
          ss: SequenceSet, notes: list[str], method: str = SPLIT_METHOD) -> tuple[np.ndarray, np.ndarray]:
    """Pick ``n_take`` of ``candidates`` (unit numbers); stratified where possible. Returns (rest, taken)."""
    if n_take <= 0:
        return candidates, candidates[:0]
    if method == LEGACY_SPLIT_METHOD:
        return _take_legacy(candidates, n_take, strata, seed, what, ss, notes)
    rng = np.random.default_rng([int(seed), 0x5E])
    if strata is not None:
        counts = np.bincount(strata)  # strata are class indices: no sorted copy as np.unique would make
        classes = np.flatnonzero(counts)
        counts = counts[classes]
        reason = _unstratifiable(classes, counts, n_take, len(candidates), what, ss)
        if reason is None:
            return _draw(candidates, n_take, strata, rng)
        notes.append(f"The {what} split is not stratified by class: {reason}.")
    return _draw(candidates, n_take, None, rng)


def _unstratifiable(classes: np.ndarray, counts: np.ndarray, n_take: int, n_candidates: int, what: str,
                    ss: SequenceSet) -> str | None:
    """Why a split of ``n_take`` of ``n_candidates`` records cannot keep every class on both sides (None: it can).

    classes, counts : (C,) the class indices present among the candidates and their record counts
    """
    if counts.min() < 2:
        return (f"class {_class_name(ss, int(classes[counts.argmin()]))!r} has only {int(counts.min())} record(s) "
                f"left to split")
    if n_take < len(classes) or n_candidates - n_take < len(classes):
        return (f"the {what} set ({n_take} records) or what remains ({n_candidates - n_take}) is smaller than the "
                f"number of classes ({len(classes)})")
    return None


def _take_legacy(candidates: np.ndarray, n_take: int, strata: np.ndarray | None, seed: int, what: str,
                 ss: SequenceSet, notes: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """The split of runs saved before ``SPLIT_METHOD`` (scikit-learn), kept so that those runs resume on the
    records they started with. It holds about 110 bytes per record, hence not used for new runs."""
    from sklearn.model_selection import train_test_split

    if strata is not None:
        classes, counts = np.unique(strata, return_counts=True)
        reason = _unstratifiable(classes, counts, n_take, len(candidates), what, ss)
        if reason is None:
            try:
                return train_test_split(candidates, test_size=n_take, random_state=seed, shuffle=True,
                                        stratify=strata)
            except ValueError as exc:  # sklearn's own limits, in its words
                reason = str(exc)
        notes.append(f"The {what} split is not stratified by class: {reason}.")
    return train_test_split(candidates, test_size=n_take, random_state=seed, shuffle=True)


def _count(fraction: float, n: int) -> int:
    return 0 if fraction <= 0 else max(1, int(round(fraction * n)))


def split_indices(ss: SequenceSet, *, val_fraction: float = 0.1, test_fraction: float = 0.1, seed: int = 0,
                  holdout_groups: Sequence[str] = (), method: str = SPLIT_METHOD) -> Splits:
    """Split a set into train / validation / test record indices.

    Parameters
    ----------
    ss : the set (N records)
    val_fraction, test_fraction : fractions of all N records (each split gets at least one record when its
                                  fraction is > 0); ``test_fraction`` is ignored with ``holdout_groups``
    seed : same seed, same split
    holdout_groups : group names (chromosomes of a BED set, ``ss.groups``) forming the test set; the rest is
                     split into train and validation
    method : ``SPLIT_METHOD`` (numpy, a few bytes per record) or ``LEGACY_SPLIT_METHOD`` (the scikit-learn
             split of runs saved before it, to resume them on their own records)

    Returns
    -------
    Splits
        ``{'train', 'val', 'test'}`` -> sorted int32 index arrays, disjoint, together all N records;
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
    units = np.arange(n_units, dtype=_index_dtype(n_units))

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
        train_units, val_units = _take(rest, n_val, strata_rest, seed, "validation", ss, notes, method)
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
        rest, test_units = _take(units, n_test, strata_units, seed, "test", ss, notes, method)
        strata_rest = None if strata_units is None else strata_units[rest]
        train_units, val_units = _take(rest, n_val, strata_rest, seed + 1, "validation", ss, notes, method)

    part = np.empty(n_units, np.int8)
    part[train_units], part[val_units], part[test_units] = 0, 1, 2
    record_part = part[unit_of]
    dt = _index_dtype(n)
    return Splits(*(_positions(record_part == k, dt) for k in (0, 1, 2)), notes)


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
                        seed: int = 0, method: str = SPLIT_METHOD) -> Splits:
    """Use an explicit test set; validation is drawn from the training set only.

    Parameters
    ----------
    train_ss : training records (N1)
    test_ss : test records (N2): same length, task, label columns and classes (``sequences.load_test_set``
              reads it so), and no id in common with ``train_ss``
    val_fraction : fraction of the N1 training records used for validation
    seed : same seed, same split
    method : as in ``split_indices``

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
    inner = split_indices(train_ss, val_fraction=val_fraction, test_fraction=0.0, seed=seed, method=method)
    return Splits(inner["train"], inner["val"], np.arange(len(test_ss)),
                  [f"Test set: {len(test_ss)} records from {', '.join(test_ss.sources) or 'the test file'}."]
                  + inner.notes)
