"""The filter influence on a set memory-mapped from the encoded cache reads its validation split a batch at a
time, and gives what it gives on the same sequences in memory."""
from __future__ import annotations

import numpy as np

from biodeep_gui.core.sequences import cache
from biodeep_gui.core.sequences.config import DataConfig
from biodeep_gui.core.sequences.interpret.analysis import (
    analyse_filters,
    fit_codes,
    prepared_splits,
    validation_data,
)
from biodeep_gui.core.sequences.interpret.influence import filter_influence
from biodeep_gui.core.sequences.interpret.progress import drain


class CountingCodes:
    """(N, L) codes that record how many rows each read copies (a whole copy through ``np.asarray`` counts N)."""

    def __init__(self, codes: np.ndarray):
        self.codes, self.reads = codes, []
        self.shape, self.dtype, self.ndim = codes.shape, codes.dtype, 2

    def __len__(self) -> int:
        return len(self.codes)

    def __getitem__(self, index):
        out = np.asarray(self.codes[index])
        self.reads.append(len(out) if out.ndim == 2 else 1)
        return out

    def __array__(self, dtype=None, copy=None):
        self.reads.append(len(self.codes))
        return np.asarray(self.codes, dtype=dtype)


def _cached(runs, tmp_path):
    root = runs.root
    return cache.load_cached(DataConfig(fasta=str(root / "bound.fa"), background=str(root / "background.fa"),
                                        cache="on"), root=tmp_path / "cache")


def test_influence_of_a_cached_validation_split_is_read_batch_by_batch(planted_fasta_runs, tmp_path):
    run = planted_fasta_runs.cnn
    data = _cached(planted_fasta_runs, tmp_path)
    codes, labels, where = validation_data(run, data)
    n = len(codes)
    assert isinstance(codes, cache.Rows) and where == "the validation split" and n > 16
    assert fit_codes(codes, run.info.length) is codes  # already the model's length: not copied
    counting = cache.Rows(CountingCodes(np.asarray(data.codes)), codes.rows)
    got = filter_influence(run.model(), counting, labels, run.objective(), batch_size=16)
    ref = filter_influence(run.model(), np.asarray(codes), labels, run.objective(), batch_size=16)
    assert max(counting.base.reads) == 16 and sum(counting.base.reads) == 2 * n  # two passes, 16 rows a read
    np.testing.assert_allclose(got.metric_change, ref.metric_change)
    np.testing.assert_allclose(got.output_change, ref.output_change)
    assert got.n_sequences == ref.n_sequences == n


def test_filters_analysis_of_a_cached_set_equals_the_in_memory_one(planted_fasta_runs, tmp_path):
    run, mem = planted_fasta_runs.cnn, planted_fasta_runs.data
    data = _cached(planted_fasta_runs, tmp_path)
    assert np.array_equal(prepared_splits(run, data).val, prepared_splits(run, mem).val)
    for max_sequences in (50, 20000):  # a subset of the set scanned for activations, and all of it
        a = drain(analyse_filters(run, data, match=False, max_sequences=max_sequences))
        b = drain(analyse_filters(run, mem, match=False, max_sequences=max_sequences))
        np.testing.assert_array_equal(a.motifs.n_sites, b.motifs.n_sites)
        np.testing.assert_allclose(a.motifs.counts, b.motifs.counts)
        np.testing.assert_allclose(a.influence.metric_change, b.influence.metric_change)
        assert a.notes == b.notes
