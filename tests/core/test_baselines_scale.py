"""Baselines at genome scale: fitted on a capped, seeded random subset that the run records; raw outputs of a split
computed chunk by chunk, so a split memory-mapped from the encoded cache is never copied whole."""
from __future__ import annotations

import json
import traceback

import numpy as np
import pytest

from biodeep_gui.core.sequences import baselines as B
from biodeep_gui.core.sequences.cache import load_cached
from biodeep_gui.core.sequences.config import DataConfig, ModelConfig, RunConfig
from biodeep_gui.core.sequences.pipeline import StageReport, prepare_data, train_run
from biodeep_gui.core.sequences.run import load_run
from biodeep_gui.core.training.config import TrainConfig

from .helpers import planted


class CountingCodes:
    """(N, L) codes that record how many rows each read copies (a whole copy through ``np.asarray`` counts N),
    and which function asked for them."""

    def __init__(self, codes: np.ndarray):
        self.codes, self.reads = codes, []
        self.shape, self.dtype, self.ndim = codes.shape, codes.dtype, 2

    def __len__(self) -> int:
        return len(self.codes)

    def _note(self, n: int) -> None:
        callers = {f.name for f in traceback.extract_stack()[:-2]}
        self.reads.append((n, callers))

    def __getitem__(self, index):
        out = np.asarray(self.codes[index])
        self._note(len(out) if out.ndim == 2 else 1)
        return out

    def __array__(self, dtype=None, copy=None):
        self._note(len(self.codes))
        return np.asarray(self.codes, dtype=dtype)

    def largest_read(self, excluding: str = "") -> int:
        return max([n for n, callers in self.reads if excluding not in callers] or [0])


def test_subset_rows_is_seeded_sorted_and_without_replacement():
    assert np.array_equal(B.subset_rows(30, 30, 0), np.arange(30))
    a, b, c = B.subset_rows(1000, 100, 3), B.subset_rows(1000, 100, 3), B.subset_rows(1000, 100, 4)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert len(np.unique(a)) == 100 and np.all(np.diff(a) > 0) and a.max() < 1000


@pytest.mark.parametrize("kind", ["linear", "kmer"])
def test_a_capped_fit_is_the_fit_of_its_subset_and_reads_only_those_rows(kind):
    ss = planted(n=200, length=40, seed=1)
    y = ss.labels
    counting = CountingCodes(ss.codes)
    capped = B.fit_baseline(kind, counting, y, "binary", k=3, C=1.0, seed=7, max_train=60)
    pick = B.subset_rows(200, 60, 7)
    ref = B.fit_baseline(kind, ss.codes[pick], y[pick], "binary", k=3, C=1.0, seed=7)
    np.testing.assert_array_equal(capped.coef, ref.coef)
    np.testing.assert_array_equal(capped.intercept, ref.intercept)
    assert (capped.n_train, capped.n_fitted) == (200, 60) and (ref.n_train, ref.n_fitted) == (60, 60)
    assert counting.largest_read() == 60  # the 60 rows, never the 200
    full = B.fit_baseline(kind, ss.codes, y, "binary", k=3, C=1.0, seed=7)
    assert full.n_fitted == 200 and not np.array_equal(full.coef, capped.coef)


def test_raw_output_of_rows_is_gathered_chunk_by_chunk():
    ss = planted(n=300, length=40, seed=2)
    model = B.fit_baseline("kmer", ss.codes, ss.labels, "binary", k=3, C=1.0)
    rows = np.random.default_rng(0).permutation(300)[:170]
    counting = CountingCodes(ss.codes)
    got = model.raw_output(counting, 16, rows=rows)
    np.testing.assert_array_equal(got, model.raw_output(ss.codes[rows]))
    assert got.shape == (170, 1) and counting.largest_read() == 16
    assert model.raw_output(ss.codes, rows=np.zeros(0, np.int64)).shape == (0, 1)


def _cfg(arch: str = "kmer", seed: int = 0) -> RunConfig:
    return RunConfig(data=DataConfig(val_fraction=0.2, test_fraction=0.2), model=ModelConfig(arch, {"k": 3}),
                     train=TrainConfig(device="cpu", seed=seed))


def test_below_the_caps_a_run_fits_exactly_as_before(tmp_path):
    """The run's coefficients and test predictions are those of fitting every training row, C scored on every
    validation row (what the pipeline did before the caps)."""
    from biodeep_gui.core.common import metrics as M
    from biodeep_gui.core.training.loop import Objective

    ss = planted(n=300, length=50, seed=3)
    cfg = _cfg()
    items = list(train_run(cfg, tmp_path / "run", data=ss))
    prep = prepare_data(cfg, ss)
    objective = Objective.for_labels(ss.task, ss.labels[prep.train], ss.n_outputs, False)
    val_codes, y_val = ss.codes[prep.val], ss.labels[prep.val]
    ref = B.fit_baseline("kmer", ss.codes[prep.train], objective.scale_targets(ss.labels[prep.train]), "binary",
                         k=3, C=0.0, score=lambda m: objective.metrics(
                             y_val, objective.transform(m.raw_output(val_codes)))[M.default_monitor("binary")])
    run = load_run(tmp_path / "run")
    t = run.tensors()
    np.testing.assert_array_equal(t["coef"], ref.coef)
    np.testing.assert_array_equal(t["intercept"], ref.intercept)
    np.testing.assert_allclose(run.predictions()["y_pred"],
                               objective.transform(ref.raw_output(prep.test_set.codes)), rtol=0, atol=0)
    base = run.doc["baseline"]
    assert (base["n_train"], base["n_fitted"]) == (len(prep.train), len(prep.train))
    assert base["fitted_on"] == f"fitted on all {len(prep.train):,} training sequences"
    assert any(isinstance(i, StageReport) and i.message.endswith(f"on all {len(prep.train)} training sequences")
               for i in items)


def _cached(tmp_path, n: int = 600, length: int = 60):
    from biodeep_gui.core.sequences.synthetic import format_fasta

    ss = planted(n=n, length=length, seed=5)
    for name, want in (("bound.fa", 1), ("background.fa", 0)):
        keep = np.flatnonzero(ss.labels[:, 0] == want)
        seqs = ["".join("ACGT"[c] for c in ss.codes[i]) for i in keep]
        (tmp_path / name).write_text(format_fasta([ss.ids[i] for i in keep], seqs))
    return load_cached(DataConfig(fasta=str(tmp_path / "bound.fa"), background=str(tmp_path / "background.fa"),
                                  cache="on"), root=tmp_path / "cache")


def test_above_the_caps_a_cached_run_fits_a_recorded_subset_without_copying_a_split(tmp_path, monkeypatch):
    monkeypatch.setattr(B, "BASELINE_MAX_TRAIN", 100)
    monkeypatch.setattr(B, "BASELINE_MAX_VAL", 50)
    monkeypatch.setattr(B, "RAW_OUTPUT_CHUNK", 32)
    ss = _cached(tmp_path)
    cfg = _cfg(seed=4)
    prep = prepare_data(cfg, ss)
    n_train, n_val = len(prep.train), len(prep.val)
    assert n_train == 360 and n_val == 120
    counting = CountingCodes(ss.codes)
    ss.codes = counting
    items = list(train_run(cfg, tmp_path / "run", data=ss))

    # the training digest hashes its rows in its own chunks; every other read is at most a cap or a chunk
    assert counting.largest_read(excluding="sequence_hashes") == 100
    sizes = sorted(n for n, callers in counting.reads if "sequence_hashes" not in callers)
    assert sizes.count(100) == 1 and sizes.count(50) == 1 and max(sizes[:-2]) <= 32
    doc = json.loads((tmp_path / "run" / "run.json").read_text())
    base = doc["baseline"]
    assert (base["n_train"], base["n_fitted"], base["subset_seed"]) == (n_train, 100, 4)
    assert (base["n_val"], base["n_val_scored"]) == (n_val, 50)
    assert base["fitted_on"] == (f"fitted on 100 of {n_train} training sequences (random subset, seed 4); "
                                 f"C scored on 50 of {n_val} validation sequences (random subset, same seed)")
    stages = [i.message for i in items if isinstance(i, StageReport)]
    assert f"Fitting the k-mer baseline on 100 of {n_train} training sequences (random subset, seed 4)" in stages
    assert any(f"chosen on the validation set (50 of {n_val}, random subset)" in s for s in stages)

    # the saved model is the fit of exactly those rows
    from biodeep_gui.core.training.loop import Objective

    ss.codes = counting.codes
    train_rows = prep.train[B.subset_rows(n_train, 100, 4)]
    val_rows = prep.val[B.subset_rows(n_val, 50, 4)]
    objective = Objective.for_labels(ss.task, ss.labels[prep.train], ss.n_outputs, False)
    ref = B.fit_baseline("kmer", np.asarray(ss.codes[train_rows]), ss.labels[train_rows], "binary", k=3, C=0.0,
                         seed=4, score=lambda m: objective.metrics(ss.labels[val_rows], objective.transform(
                             m.raw_output(np.asarray(ss.codes[val_rows]))))["auroc"])
    run = load_run(tmp_path / "run")
    np.testing.assert_array_equal(run.tensors()["coef"], ref.coef)
    assert run.metrics["val_auroc"] == pytest.approx(objective.metrics(
        ss.labels[prep.val], objective.transform(ref.raw_output(np.asarray(ss.codes[prep.val]))))["auroc"])

    # the run report says it too
    from biodeep_gui.core.run_report import collect_report
    from biodeep_gui.core.sequences.interpret.progress import drain

    rep = drain(collect_report(tmp_path / "run", motifs="off", check_inputs=False))
    assert f"The baseline was {base['fitted_on']}." in rep.notes["curves"]


@pytest.mark.parametrize("kind", ["linear", "kmer"])
def test_features_built_chunk_by_chunk_are_those_built_at_once(kind, monkeypatch):
    ss = planted(n=150, length=40, seed=6)
    whole = B.fit_baseline(kind, ss.codes, ss.labels, "binary", k=3, C=1.0)
    monkeypatch.setattr(B, "RAW_OUTPUT_CHUNK", 16)
    x16, x = B._training_features(kind, ss.codes, 3), (B.kmer_counts(ss.codes, 3) if kind == "kmer"
                                                         else B.onehot_features(ss.codes))
    if kind == "kmer":
        assert (x16 != x).nnz == 0 and np.array_equal(x16.indptr, x.indptr)
    else:
        np.testing.assert_array_equal(x16, x)
    chunked = B.fit_baseline(kind, ss.codes, ss.labels, "binary", k=3, C=1.0)
    np.testing.assert_array_equal(chunked.coef, whole.coef)
    np.testing.assert_array_equal(chunked.scale, whole.scale)
