"""Sequence-set summaries: exact counts on hand-made sets, and a property check against a plain-Python count."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from biodeep_gui.core.sequences import summary
from biodeep_gui.core.sequences.dataset import SequenceSet
from biodeep_gui.core.sequences.encoding import PAD_CODE, encode, fit_length


def _set(seqs, labels, task, length=None, class_names=(), label_names=("label",)):
    length = length or max(len(s) for s in seqs)
    codes = np.stack([fit_length(encode(s), length) for s in seqs])
    return SequenceSet(ids=[f"r{i}" for i in range(len(seqs))], codes=codes,
                       labels=np.asarray(labels, np.float32).reshape(len(seqs), -1), task=task,
                       label_names=list(label_names), class_names=list(class_names),
                       lengths=np.array([len(s) for s in seqs], np.int32))


def test_gc_and_ambiguous_fractions_ignore_padding():
    ss = _set(["GGCC", "ATAT", "GCNN", "NNNN", "AC"], [1, 0, 1, 0, 1], "binary", length=4)
    s = summary.summarize(ss)
    assert s.n_records == 5 and s.length == 4
    np.testing.assert_allclose(s.gc[:3], [1.0, 0.0, 1.0])
    assert math.isnan(s.gc[3])  # no unambiguous base at all
    assert s.gc[4] == 0.5  # "AC" padded to 4: padding is not a base
    np.testing.assert_allclose(s.ambiguous, [0, 0, 0.5, 1.0, 0])
    assert s.ambiguous_fraction == 6 / 18  # 6 N among 4+4+4+4+2 real bases
    assert s.n_with_ambiguous == 2
    assert (s.length_min, s.length_max, s.n_padded, s.n_cropped) == (2, 4, 1, 0)


def test_binary_class_balance_per_column_and_names():
    ss = _set(["ACGT"] * 4, [[1, 0], [1, 1], [0, 1], [1, 1]], "binary", label_names=("ctcf", "rest"))
    bal = summary.class_balance(ss)
    assert [(c.name, c.count) for c in bal["ctcf"]] == [("0", 1), ("1", 3)]
    assert [(c.name, c.count) for c in bal["rest"]] == [("0", 1), ("1", 3)]
    assert bal["ctcf"][1].fraction == 0.75
    named = _set(["ACGT"] * 3, [1, 0, 0], "binary", class_names=("background", "bound"))
    assert [(c.name, c.count) for c in summary.class_balance(named)["label"]] == [("background", 2), ("bound", 1)]
    assert summary.label_text(named, 0) == "bound"


def test_multiclass_balance_and_label_text():
    ss = _set(["ACGT"] * 5, [0, 2, 2, 1, 2], "multiclass", class_names=("a", "b", "c"))
    bal = summary.class_balance(ss)["class"]
    assert [(c.name, c.count) for c in bal] == [("a", 1), ("b", 1), ("c", 3)]
    assert summary.label_text(ss, 1) == "c"


def test_regression_stats_skip_missing():
    ss = _set(["ACGT"] * 4, [1.0, 3.0, np.nan, 2.0], "regression", label_names=("affinity",))
    (st_,) = summary.regression_stats(ss)
    assert st_.name == "affinity" and st_.n_missing == 1
    assert (st_.mean, st_.minimum, st_.maximum) == (2.0, 1.0, 3.0)
    assert summary.label_text(ss, 2) == "?"
    assert summary.summarize(ss).classes == {}


def test_profiling_cap_keeps_exact_counts():
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 4, size=(1000, 30)).astype(np.uint8)
    ss = SequenceSet([str(i) for i in range(1000)], codes, rng.integers(0, 2, (1000, 1)).astype(np.float32),
                     "binary", ["label"])
    s = summary.summarize(ss, max_profiled=100)
    assert s.n_records == 1000 and s.n_profiled == 100
    assert s.profiled[0] == 0 and s.profiled[-1] == 999
    assert sum(c.count for c in s.classes["label"]) == 1000
    np.testing.assert_allclose(s.gc, summary.gc_content(codes[s.profiled]))


def test_histogram_integer_bins_cover_every_length():
    counts, edges = summary.histogram(np.array([50, 50, 51, 80, 100]), bins=10)
    assert counts.sum() == 5
    assert edges[0] == 49.5 and edges[-1] >= 100.5
    assert np.all(np.diff(edges) == np.diff(edges)[0])  # whole-unit, equal bins
    c1, e1 = summary.histogram(np.array([200, 200, 200]))
    assert c1.tolist() == [3] and e1.tolist() == [199.5, 200.5]
    c2, e2 = summary.histogram(np.array([0.1, 0.5, np.nan, 0.9]), bins=4, value_range=(0, 1))
    assert c2.sum() == 3 and e2.tolist() == [0, 0.25, 0.5, 0.75, 1.0]
    assert summary.histogram(np.array([np.nan]))[0].size == 0


def test_record_preview_drops_padding_and_marks_truncation():
    ss = _set(["ACG", "A" * 70], [0, 1], "binary", length=70)
    assert summary.record_preview(ss, 0) == "ACG"
    assert summary.record_preview(ss, 1) == "A" * 60 + "…"


@settings(max_examples=40, deadline=None)
@given(st.lists(st.text(alphabet="ACGTNRY", min_size=1, max_size=25), min_size=1, max_size=12))
def test_gc_matches_plain_count(seqs):
    length = max(len(s) for s in seqs)
    codes = np.stack([fit_length(encode(s), length) for s in seqs])
    got = summary.gc_content(codes)
    for s, g in zip(seqs, got):
        acgt = sum(ch in "ACGT" for ch in s)
        if acgt == 0:
            assert math.isnan(g)
        else:
            assert g == sum(ch in "GC" for ch in s) / acgt
    counts = summary.base_counts(codes)
    assert counts["bases"].tolist() == [len(s) for s in seqs]
    assert int((codes == PAD_CODE).sum()) == codes.size - sum(len(s) for s in seqs)


def _fake_run(name, arch, task, metrics, digest="abc"):
    """A run description as ``load_run`` returns it, built from plain data (no training needed to rank)."""
    from biodeep_gui.core.sequences.config import RunConfig
    from biodeep_gui.core.sequences.run import ModelInfo, Run

    return Run(path=Path(f"/runs/{name}"), config=RunConfig(name=name),
               info=ModelInfo(arch, {}, 50, 1, task), provenance={}, status="complete", history=[],
               metrics=metrics, doc={"test_ids_sha": digest} if digest else {})


def test_compare_runs_measures_deep_models_against_best_baseline_per_test_set():
    runs = [_fake_run("cnn", "cnn", "binary", {"test_auroc": 0.91, "val_auroc": 0.90}),
            _fake_run("kmer", "kmer", "binary", {"test_auroc": 0.80, "val_auroc": 0.82}),
            _fake_run("linear", "linear", "binary", {"test_auroc": 0.70, "val_auroc": 0.75}),
            _fake_run("mlp", "mlp", "binary", {"test_auroc": float("nan")}),
            _fake_run("other-split", "cnn", "binary", {"test_auroc": 0.95, "val_auroc": 0.93}, digest="zzz")]
    c = summary.compare_runs(runs)
    assert [x.baseline for x in c] == [False, True, True, False, False]
    assert c[0].best_in_group and not c[1].best_in_group
    assert c[0].vs_best_baseline == 0.91 - 0.80 and c[0].best_baseline == "kmer"
    assert c[1].vs_best_baseline == 0.0 and c[2].vs_best_baseline == 0.70 - 0.80
    assert math.isnan(c[3].vs_best_baseline) and not c[3].best_in_group
    # a different test set is its own group: best there, but no baseline to compare with
    assert c[4].best_in_group and math.isnan(c[4].vs_best_baseline) and c[4].best_baseline == ""


def test_compare_runs_chooses_by_validation_not_test():
    """The run one would pick is the one with the best *validation* score, even when another scores higher on
    test; the baseline measured against is chosen the same way."""
    runs = [_fake_run("cnn", "cnn", "binary", {"test_auroc": 0.93, "val_auroc": 0.86}),
            _fake_run("danq", "cnn-lstm", "binary", {"test_auroc": 0.90, "val_auroc": 0.91}),
            _fake_run("kmer", "kmer", "binary", {"test_auroc": 0.84, "val_auroc": 0.80}),
            _fake_run("linear", "linear", "binary", {"test_auroc": 0.86, "val_auroc": 0.78})]
    c = summary.compare_runs(runs)
    assert [x.best_in_group for x in c] == [False, True, False, False]
    assert c[1].best_baseline == "kmer" and c[1].vs_best_baseline == pytest.approx(0.90 - 0.84)
    assert c[1].paired is None and c[0].paired is None  # fake runs have no saved predictions


def test_compare_runs_uses_pearson_for_regression_and_config_without_digest():
    runs = [_fake_run("cnn", "cnn", "regression", {"test_pearson": 0.6, "val_pearson": 0.55}, digest=None),
            _fake_run("linear", "linear", "regression", {"test_pearson": 0.65, "val_pearson": 0.6}, digest=None)]
    c = summary.compare_runs(runs)
    assert c[0].main_metric == "pearson" and c[0].group == c[1].group
    assert c[1].best_in_group and abs(c[0].vs_best_baseline + 0.05) < 1e-12
