"""Splits: disjoint, complete, seeded, stratified, chromosome hold-out, BED pairs never straddle splits."""
import random

import numpy as np
import pytest

from biodeep_gui.core.common.errors import ConfigError, InputFileError
from biodeep_gui.core.sequences.bed import load_bed
from biodeep_gui.core.sequences.dataset import BACKGROUND_TAG, SequenceSet
from biodeep_gui.core.sequences.splits import concat_sets, split_indices, split_with_test_set


def make_set(labels, task="binary", class_names=None, groups=None, length=8, prefix="s"):
    labels = np.asarray(labels, np.float32).reshape(len(labels), -1)
    n = len(labels)
    codes = np.random.default_rng(0).integers(0, 4, (n, length)).astype(np.uint8)
    if class_names is None:
        class_names = ["0", "1"] if task == "binary" else (
            [str(i) for i in range(int(labels.max()) + 1)] if task == "multiclass" else [])
    return SequenceSet([f"{prefix}{i}" for i in range(n)], codes, labels, task, ["y"] * labels.shape[1],
                       class_names, np.full(n, length, np.int32),
                       None if groups is None else np.asarray(groups, dtype=str))


def check_partition(sp, n):
    parts = [sp["train"], sp["val"], sp["test"]]
    for p in parts:
        assert p.dtype == np.int32 and np.all(np.diff(p) > 0)  # small indices: genome-scale sets
    allidx = np.concatenate(parts)
    assert len(allidx) == n and len(np.unique(allidx)) == n


def make_genome(write, sizes=(("chr1", 6000), ("chr2", 4000), ("chr3", 3000))):
    rng = random.Random(4)
    text = ""
    for chrom, n in sizes:
        seq = "".join(rng.choice("ACGT") for _ in range(n))
        text += f">{chrom}\n" + "".join(seq[i:i + 70] + "\n" for i in range(0, n, 70))
    return write("genome.fa", text)


def bed_set(write, method="shuffle"):
    genome = make_genome(write)
    rng = random.Random(9)
    lines = []
    for chrom, size in (("chr1", 6000), ("chr2", 4000), ("chr3", 3000)):
        for s in sorted(rng.sample(range(100, size - 200, 60), 12)):
            lines.append(f"{chrom}\t{s}\t{s + 40}\n")
    return load_bed(write("peaks.bed", "".join(lines)), genome, width=40, background_method=method, seed=3)


# ---- basic properties ------------------------------------------------------------------------------------------


def test_partition_sizes_and_no_overlap():
    ss = make_set([1] * 300 + [0] * 700)
    sp = split_indices(ss, val_fraction=0.1, test_fraction=0.2, seed=0)
    check_partition(sp, 1000)
    assert (len(sp["train"]), len(sp["val"]), len(sp["test"])) == (700, 100, 200)


def test_deterministic_and_seed_dependent():
    ss = make_set([1] * 300 + [0] * 700)
    a = split_indices(ss, val_fraction=0.1, test_fraction=0.2, seed=5)
    b = split_indices(ss, val_fraction=0.1, test_fraction=0.2, seed=5)
    c = split_indices(ss, val_fraction=0.1, test_fraction=0.2, seed=6)
    assert all(np.array_equal(a[k], b[k]) for k in ("train", "val", "test"))
    assert not np.array_equal(a["test"], c["test"])


def test_binary_stratified_proportions():
    ss = make_set([1] * 300 + [0] * 700)
    sp = split_indices(ss, val_fraction=0.1, test_fraction=0.2, seed=1)
    for part, n in (("train", 700), ("val", 100), ("test", 200)):
        pos = ss.labels[sp[part], 0].sum()
        assert abs(pos - 0.3 * n) <= 1, (part, pos)
    assert sp.notes == []


def test_multiclass_stratified_proportions():
    labels = [0] * 500 + [1] * 300 + [2] * 150 + [3] * 50
    ss = make_set(labels, task="multiclass")
    sp = split_indices(ss, val_fraction=0.2, test_fraction=0.2, seed=2)
    check_partition(sp, 1000)
    for part in ("val", "test"):
        counts = np.bincount(ss.labels[sp[part], 0].astype(int), minlength=4)
        assert np.all(np.abs(counts - np.array([100, 60, 30, 10])) <= 1), (part, counts)


def test_tiny_class_falls_back_to_unstratified_with_reason():
    ss = make_set([0] * 40 + [1] * 59 + [2], task="multiclass", class_names=["a", "b", "rare"])
    sp = split_indices(ss, val_fraction=0.1, test_fraction=0.1, seed=0)
    check_partition(sp, 100)
    assert sp.notes and "not stratified" in sp.notes[0] and "'rare'" in sp.notes[0]


def test_test_split_smaller_than_class_count_note():
    ss = make_set([0, 1, 2] * 4, task="multiclass")
    sp = split_indices(ss, val_fraction=0.1, test_fraction=0.1, seed=0)
    check_partition(sp, 12)
    assert any("smaller than the number of classes" in n for n in sp.notes)


def test_regression_and_multitask_are_split_unstratified_without_notes():
    reg = make_set(np.linspace(0, 1, 50), task="regression")
    sp = split_indices(reg, val_fraction=0.2, test_fraction=0.2, seed=0)
    check_partition(sp, 50)
    assert sp.notes == [] and len(sp["test"]) == 10
    multi = make_set(np.random.default_rng(0).integers(0, 2, (50, 3)), task="binary")
    check_partition(split_indices(multi, val_fraction=0.2, test_fraction=0.2, seed=0), 50)


def test_zero_fractions_give_empty_splits():
    ss = make_set([0, 1] * 10)
    sp = split_indices(ss, val_fraction=0.0, test_fraction=0.0, seed=0)
    assert len(sp["train"]) == 20 and len(sp["val"]) == 0 and len(sp["test"]) == 0
    sp = split_indices(ss, val_fraction=0.0, test_fraction=0.5, seed=0)
    assert len(sp["val"]) == 0 and len(sp["test"]) == 10


def test_bad_fractions_and_too_few_records():
    ss = make_set([0, 1] * 10)
    for val, test in ((0.6, 0.5), (-0.1, 0.1), (0.1, 1.0)):
        with pytest.raises(ConfigError):
            split_indices(ss, val_fraction=val, test_fraction=test, seed=0)
    with pytest.raises(ConfigError, match="too few"):
        split_indices(make_set([0, 1]), val_fraction=0.3, test_fraction=0.3, seed=0)


# ---- chromosome hold-out ---------------------------------------------------------------------------------------


def test_holdout_groups_form_the_test_set():
    groups = ["chr1"] * 40 + ["chr2"] * 30 + ["chr3"] * 30
    ss = make_set([0, 1] * 50, groups=groups)
    sp = split_indices(ss, val_fraction=0.1, test_fraction=0.3, seed=0, holdout_groups=["chr2"])
    check_partition(sp, 100)
    assert set(ss.groups[sp["test"]]) == {"chr2"} and len(sp["test"]) == 30
    assert "chr2" not in set(ss.groups[sp["train"]]) | set(ss.groups[sp["val"]])
    assert len(sp["val"]) == 10
    assert "chr2" in sp.notes[0]


def test_holdout_absent_chromosome_and_no_groups():
    ss = make_set([0, 1] * 10, groups=["chr1"] * 10 + ["chr2"] * 10)
    with pytest.raises(ConfigError, match="'chrX'.*chr1, chr2"):
        split_indices(ss, val_fraction=0.1, test_fraction=0.1, seed=0, holdout_groups=["chrX"])
    with pytest.raises(ConfigError, match="BED"):
        split_indices(make_set([0, 1] * 10), val_fraction=0.1, test_fraction=0.1, seed=0, holdout_groups=["chr1"])
    with pytest.raises(ConfigError, match="nothing would be left"):
        split_indices(ss, val_fraction=0.1, test_fraction=0.1, seed=0, holdout_groups=["chr1", "chr2"])


# ---- BED pairs -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["shuffle", "flank"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_bed_peak_and_background_never_straddle_splits(write, method, seed):
    ss = bed_set(write, method)
    sp = split_indices(ss, val_fraction=0.2, test_fraction=0.3, seed=seed)
    check_partition(sp, len(ss))
    part_of = {}
    for name in ("train", "val", "test"):
        for i in sp[name]:
            part_of[ss.ids[i]] = name
    n_bg = 0
    for rid, part in part_of.items():
        if BACKGROUND_TAG in rid:
            n_bg += 1
            peak = rid.split(BACKGROUND_TAG)[0]
            assert part_of[peak] == part, (rid, part, part_of[peak])
    assert n_bg > 20
    assert len(sp["test"]) > 0 and len(sp["val"]) > 0


def test_bed_holdout_chromosome_keeps_pairs_and_chromosomes(write):
    ss = bed_set(write)
    sp = split_indices(ss, val_fraction=0.2, test_fraction=0.0, seed=0, holdout_groups=["chr3"])
    check_partition(sp, len(ss))
    assert set(ss.groups[sp["test"]]) == {"chr3"} and len(sp["test"]) == 24
    assert "chr3" not in set(ss.groups[np.concatenate([sp["train"], sp["val"]])])
    val_ids = {ss.ids[i] for i in sp["val"]}
    for rid in val_ids:
        assert rid.split(BACKGROUND_TAG)[0] in val_ids


# ---- explicit test set -----------------------------------------------------------------------------------------


def test_split_with_test_set_val_from_train_only():
    train = make_set([0, 1] * 50)
    test = make_set([1, 1, 0], prefix="t")
    sp = split_with_test_set(train, test, val_fraction=0.2, seed=0)
    assert sp["test"].tolist() == [0, 1, 2]
    assert len(sp["val"]) == 20 and len(sp["train"]) == 80
    assert not set(sp["train"]) & set(sp["val"])
    assert abs(train.labels[sp["val"], 0].sum() - 10) <= 1
    both = concat_sets(train, test)
    assert len(both) == 103 and both.ids[100:] == ["t0", "t1", "t2"]


def test_split_with_test_set_mismatches():
    train = make_set([0, 1] * 10)
    with pytest.raises(ConfigError, match="length"):
        split_with_test_set(train, make_set([0, 1], length=9, prefix="t"), val_fraction=0.1, seed=0)
    with pytest.raises(ConfigError, match="does not match"):
        split_with_test_set(train, make_set([0.5, 1.5], task="regression", prefix="t"), val_fraction=0.1, seed=0)
    clash = make_set([0, 1], prefix="s")
    clash.sources = ["test.fa"]
    with pytest.raises(InputFileError, match="test.fa.*'s0'.*both the training and the test"):
        split_with_test_set(train, clash, val_fraction=0.1, seed=0)
    multi = make_set([0, 1, 2] * 5, task="multiclass", class_names=["a", "b", "c"])
    with pytest.raises(ConfigError):
        split_with_test_set(multi, make_set([0, 1], task="multiclass", class_names=["a", "b"], prefix="t"),
                            val_fraction=0.1, seed=0)


def test_legacy_method_remakes_the_sklearn_split_of_older_runs():
    """Runs saved before the numpy split resume and are interpreted on the records sklearn gave them."""
    from sklearn.model_selection import train_test_split

    from biodeep_gui.core.sequences.splits import LEGACY_SPLIT_METHOD

    ss = make_set([1] * 300 + [0] * 700)
    old = split_indices(ss, val_fraction=0.1, test_fraction=0.2, seed=3, method=LEGACY_SPLIT_METHOD)
    strata = ss.labels[:, 0].astype(np.int64)
    rest, test = train_test_split(np.arange(1000), test_size=200, random_state=3, shuffle=True, stratify=strata)
    _, val = train_test_split(rest, test_size=100, random_state=4, shuffle=True, stratify=strata[rest])
    np.testing.assert_array_equal(old["test"], np.sort(test))
    np.testing.assert_array_equal(old["val"], np.sort(val))
    new = split_indices(ss, val_fraction=0.1, test_fraction=0.2, seed=3)
    check_partition(new, 1000)
    assert not np.array_equal(new["test"], old["test"])


def test_split_memory_is_a_few_bytes_per_record():
    """The split of a large set allocates index arrays only (sklearn's needed ~110 bytes per record)."""
    import tracemalloc

    n = 200_000
    ss = make_set(np.arange(n) % 3 == 0, length=4)
    tracemalloc.start()
    try:
        sp = split_indices(ss, val_fraction=0.1, test_fraction=0.1, seed=0)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    check_partition(sp, n)
    for part, size in (("train", 0.8 * n), ("val", 0.1 * n), ("test", 0.1 * n)):
        assert abs(ss.labels[sp[part], 0].sum() - size / 3) <= 1, part
    assert peak / n < 40, f"{peak / n:.1f} bytes per record"
