"""Honest evaluation: overlap with training, no validation set refused, BED split units and chromosome hold-out,
bootstrap intervals and the paired test."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from biodeep_gui.core.common import metrics as M
from biodeep_gui.core.common.errors import ConfigError
from biodeep_gui.core.sequences.config import DataConfig, ModelConfig, RunConfig
from biodeep_gui.core.sequences.dataset import BACKGROUND_TAG, SequenceSet
from biodeep_gui.core.sequences.pipeline import prepare_data, sequence_hashes, train_run
from biodeep_gui.core.sequences.splits import default_holdout, split_indices
from biodeep_gui.core.training.config import TrainConfig

from .helpers import planted


def _run(cfg, out, data):
    items = list(train_run(cfg, out, data=data))
    return items[-1]


# ---- val_fraction = 0 -----------------------------------------------------------------------------------------

def test_no_validation_set_is_refused_with_the_setting_named(tmp_path):
    cfg = RunConfig(data=DataConfig(val_fraction=0.0, test_fraction=0.2), model=ModelConfig("cnn", {}),
                    train=TrainConfig(epochs=2, device="cpu"))
    with pytest.raises(ConfigError, match=r"data\.val_fraction = 0 leaves no validation sequences"):
        _run(cfg, tmp_path / "r", planted(n=100, length=30))
    assert not (tmp_path / "r").exists()  # nothing half-saved


# ---- hashes and overlap -----------------------------------------------------------------------------------------

def test_sequence_hashes_equal_rows_equal_hashes():
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 4, (500, 40)).astype(np.uint8)
    codes[7] = codes[3]
    h = sequence_hashes(codes)
    assert h.dtype == np.uint64 and h[7] == h[3]
    assert len(np.unique(h)) == 499
    one = codes[:1].copy()
    one[0, 39] = (one[0, 39] + 1) % 4  # one base changed: another hash
    assert sequence_hashes(one)[0] != h[0]


# ---- BED split units ------------------------------------------------------------------------------------------

def _bed_like(peaks: list[tuple[str, int]], width: int, flank: bool) -> SequenceSet:
    """A set shaped as ``bed.load_bed`` makes it: peak windows, then one background per peak."""
    ids = [f"{c}:{s}-{s + width}" for c, s in peaks]
    chroms = [c for c, _ in peaks]
    for (c, s), pid in zip(peaks, ids):
        ids.append(pid + BACKGROUND_TAG + (f"flank:{c}:{s + 3 * width}-{s + 4 * width}" if flank else "shuffled"))
        chroms.append(c)
    n = len(ids)
    labels = np.r_[np.ones(len(peaks)), np.zeros(len(peaks))].astype(np.float32)[:, None]
    return SequenceSet(ids, np.zeros((n, width), np.uint8), labels, "binary", ["bound"], ["background", "bound"],
                       np.full(n, width, np.int32), groups=np.array(chroms, dtype=str))


def _windows(ss: SequenceSet):
    out = []
    for i, rid in enumerate(ss.ids):
        head, _, how = rid.partition(BACKGROUND_TAG)
        text = how[len("flank:"):] if how.startswith("flank:") else head
        chrom, span = text.rsplit(":", 1)
        a, b = span.split("-")
        out.append((chrom, int(a), int(b), i))
    return out


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["chr1", "chr2"]), st.integers(0, 20_000)), min_size=6, max_size=60,
                unique=True),
       st.booleans(), st.integers(0, 5))
def test_overlapping_windows_never_cross_splits(peaks, flank, seed):
    ss = _bed_like(peaks, 100, flank)
    try:
        sp = split_indices(ss, val_fraction=0.2, test_fraction=0.2, seed=seed)
    except ConfigError as exc:  # everything overlaps into fewer than three regions: nothing honest to split
        assert "independent unit" in str(exc)
        return
    part = np.empty(len(ss), int)
    for k, name in enumerate(("train", "val", "test")):
        part[sp[name]] = k
    win = _windows(ss)
    for c1, a1, b1, i in win:
        for c2, a2, b2, j in win:
            if c1 == c2 and a1 < b2 and a2 < b1:  # overlap by at least one base
                assert part[i] == part[j], (ss.ids[i], ss.ids[j])
    for i, rid in enumerate(ss.ids):  # each background with its peak
        if BACKGROUND_TAG in rid:
            assert part[i] == part[ss.ids.index(rid.split(BACKGROUND_TAG)[0])]


def test_overlapping_peaks_loaded_from_bed_stay_together(tmp_path):
    """Through ``load_bed`` itself (flank backgrounds): clusters of overlapping peaks land in one split."""
    from biodeep_gui.core.sequences.bed import load_bed, window_units

    rng = np.random.default_rng(4)
    genome = tmp_path / "g.fa"
    genome.write_text("".join(f">chr{c}\n" + "".join(rng.choice(list("ACGT"), 60_000)) + "\n" for c in (1, 2)))
    lines = []
    for c in (1, 2):
        for k in range(25):
            start = 2000 + k * 2000
            lines += [f"chr{c}\t{start + d}\t{start + d + 100}\n" for d in (0, 40, 80)[: 1 + k % 3]]
    bed = tmp_path / "p.bed"
    bed.write_text("".join(lines))
    ss = load_bed(bed, genome, width=100, background_method="flank", seed=0)
    units = window_units(ss.ids)
    assert units is not None and len(np.unique(units)) < len(ss) // 2
    sp = split_indices(ss, val_fraction=0.2, test_fraction=0.2, seed=1)
    part = np.empty(len(ss), int)
    for k, name in enumerate(("train", "val", "test")):
        part[sp[name]] = k
    win = _windows(ss)
    for c1, a1, b1, i in win:
        for c2, a2, b2, j in win:
            if c1 == c2 and a1 < b2 and a2 < b1:
                assert part[i] == part[j]
    assert len(set(part)) == 3


def test_chromosome_holdout_is_the_default_on_three_chromosomes(tmp_path):
    rng = np.random.default_rng(1)
    peaks = [(c, int(s)) for c in ("chr1", "chr2", "chr3", "chr4") for s in rng.choice(50_000, 40, replace=False)
             * 100 // 100]
    ss = _bed_like(peaks, 50, flank=False)
    codes = rng.integers(0, 4, ss.codes.shape).astype(np.uint8)
    ss.codes[:] = codes
    chosen = default_holdout(ss, 0.25, seed=0)
    assert len(chosen) == 1 and chosen == default_holdout(ss, 0.25, seed=0)
    assert default_holdout(_bed_like(peaks[:80], 50, False), 0.25) == []  # two chromosomes: no default

    cfg = RunConfig(data=DataConfig(kind="bed", val_fraction=0.2, test_fraction=0.25),
                    model=ModelConfig("kmer", {"k": 3}), train=TrainConfig(device="cpu"))
    prep = prepare_data(cfg, ss)
    assert prep.holdout == chosen and prep.holdout_default
    assert set(prep.test_set.groups) == set(chosen)
    assert not set(ss.groups[np.r_[prep.train, prep.val]]) & set(chosen)
    assert chosen[0] in prep.notes[0] and "default" in prep.notes[0]

    summary = _run(cfg, tmp_path / "bed", ss)
    doc = json.loads((tmp_path / "bed" / "run.json").read_text())
    assert doc["split"]["holdout_chromosomes"] == chosen and doc["split"]["holdout_default"]
    assert doc["config"]["data"]["holdout_chromosomes"] == chosen  # resuming remakes the same split
    assert summary.n_test == len(prep.test_set)

    # a BED run started by an older BioDeep (no 'split' record) is not resumed on a different split
    from biodeep_gui.core.sequences.pipeline import resume_run

    run_json = tmp_path / "bed" / "run.json"
    old = json.loads(run_json.read_text())
    old.pop("split")
    run_json.write_text(json.dumps(old))
    with pytest.raises(ConfigError, match="older BioDeep"):
        resume_run(tmp_path / "bed", data=ss)

    # named chromosomes win over the default
    named = RunConfig(data=DataConfig(kind="bed", holdout_chromosomes=["chr4"], val_fraction=0.2),
                      model=ModelConfig("kmer", {"k": 3}), train=TrainConfig(device="cpu"))
    p2 = prepare_data(named, ss)
    assert p2.holdout == ["chr4"] and not p2.holdout_default


# ---- bootstrap intervals and the paired test -------------------------------------------------------------------

def _scores(n, separation, seed):
    rng = np.random.default_rng(seed)
    y = (np.arange(n) % 2).astype(np.float32)[:, None]
    p = 1 / (1 + np.exp(-(separation * (y[:, 0] - 0.5) + rng.normal(0, 1, n))))
    return y, p[:, None].astype(np.float32)


def test_bootstrap_interval_covers_the_estimate_and_shrinks_with_more_data():
    widths = []
    for n in (100, 400, 1600):
        y, p = _scores(n, 1.5, seed=n)
        point = M.binary_metrics(y, p)
        ci = M.bootstrap_intervals("binary", y, p, seed=0)
        for name in ("auroc", "auprc", "accuracy", "f1"):
            lo, hi = ci[name]
            assert lo <= point[name] <= hi, name
        widths.append(ci["auroc"][1] - ci["auroc"][0])
    assert widths[0] > widths[1] > widths[2]
    assert widths[0] / widths[2] == pytest.approx(4, rel=0.35)  # ~1/sqrt(n)
    y, p = _scores(200, 1.5, seed=3)
    assert M.bootstrap_intervals("binary", y, p, seed=4) == M.bootstrap_intervals("binary", y, p, seed=4)


def test_bootstrap_matches_sklearn_on_the_full_set_for_every_task():
    rng = np.random.default_rng(2)
    full = lambda n: np.arange(n)[None]  # noqa: E731
    y, p = _scores(150, 1.0, seed=1)
    p = np.round(p, 1)  # ties
    for task, yt, out in (("binary", y, p),
                          ("multiclass", rng.integers(0, 3, 150)[:, None], rng.dirichlet([1, 1, 1], 150)),
                          ("regression", rng.normal(size=(150, 2)), rng.normal(size=(150, 2)))):
        ref = M.task_metrics(task, yt if task != "multiclass" else yt[:, 0], out)
        got = M.resampled_metrics(task, yt, out, full(150))
        for k, v in ref.items():
            assert got[k][0] == pytest.approx(v, abs=1e-9), (task, k)


def test_paired_test_identical_models_vs_a_clearly_better_one():
    y, weak = _scores(300, 0.6, seed=5)
    same = M.paired_bootstrap("binary", y, weak, weak.copy(), "auroc", seed=0)
    assert same["difference"] == 0 and same["p_value"] > 0.05
    _, strong = _scores(300, 3.0, seed=5)
    better = M.paired_bootstrap("binary", y, strong, weak, "auroc", seed=0)
    assert better["difference"] > 0.2 and better["p_value"] < 0.05 and better["low"] > 0
    # two equally good but different models: not distinguishable
    _, other = _scores(300, 0.6, seed=6)
    assert M.paired_bootstrap("binary", y, other, weak, "auroc", seed=0)["p_value"] > 0.05


def test_runs_save_intervals_and_the_training_digest(tmp_path):
    cfg = RunConfig(data=DataConfig(val_fraction=0.2, test_fraction=0.3), model=ModelConfig("kmer", {"k": 3}),
                    train=TrainConfig(device="cpu", class_weighting=True))
    summary = _run(cfg, tmp_path / "k", planted(n=300, length=40))
    doc = json.loads((tmp_path / "k" / "run.json").read_text())
    lo, hi = doc["test_intervals"]["auroc"]
    assert lo <= summary.metrics["test_auroc"] <= hi and summary.intervals["auroc"] == (lo, hi)
    assert doc["bootstrap"] == {"n_boot": 1000, "seed": 0, "level": 0.95, "stratified": True, "n_test": 90}
    base = doc["baseline"]
    assert base["C_chosen_on_validation"] and base["class_weighting"] and base["monitor"] == "auroc"
    assert base["C"] in [c for c, _ in base["tuning"]] and len(base["tuning"]) == 7
    from safetensors.numpy import load_file

    digest = load_file(str(tmp_path / "k" / "training_digest.safetensors"))
    assert digest["train"].dtype == np.uint64 and len(digest["train"]) == 150 and len(digest["val"]) == 60
    assert np.all(np.diff(digest["train"].astype(np.float64)) >= 0)
    assert not math.isnan(summary.metrics["val_auroc"])


def test_bootstrap_of_a_large_test_set_is_drawn_in_blocks():
    """200 resamples of 100,000 test sequences: seeded, and never all 20 M indices (160 MB) at once."""
    import tracemalloc

    from biodeep_gui.core.common.metrics import bootstrap_intervals

    rng = np.random.default_rng(0)
    y = (rng.random((100_000, 1)) < 0.3).astype(np.float32)
    p = np.clip(0.3 * y + 0.7 * rng.random((100_000, 1)), 0, 1)
    tracemalloc.start()
    try:
        a = bootstrap_intervals("binary", y, p, n_boot=200, seed=1, names=("auroc",))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    b = bootstrap_intervals("binary", y, p, n_boot=200, seed=1, names=("auroc",))
    assert a == b
    from sklearn.metrics import roc_auc_score

    assert a["auroc"][0] < roc_auc_score(y[:, 0], p[:, 0]) < a["auroc"][1]
    assert peak < 100 * 2**20, f"{peak / 2**20:.0f} MB"
