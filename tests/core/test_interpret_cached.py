"""The filter analysis on a set memory-mapped from the encoded cache reads its training split in chunks."""
from __future__ import annotations

import tracemalloc
from types import SimpleNamespace

import numpy as np

from biodeep_gui.core.sequences.cache import Rows, load_cached
from biodeep_gui.core.sequences.config import DataConfig
from biodeep_gui.core.sequences.interpret.analysis import training_codes
from biodeep_gui.core.sequences.interpret.filters import base_composition
from biodeep_gui.core.sequences.synthetic import format_fasta, planted_motif_set


def test_training_background_of_a_cached_set_is_counted_without_copying_it(tmp_path, monkeypatch):
    from biodeep_gui.core.sequences.interpret import filters

    monkeypatch.setattr(filters, "_COUNT_CHUNK_BYTES", 1 << 15)  # small chunks: a small split tells a copy apart
    s = planted_motif_set(n=1000, length=2000, seed=4, motifs=("MA0139",))
    for name, want in (("bound.fa", 1), ("background.fa", 0)):
        keep = [i for i, y in enumerate(s.labels) if y == want]
        (tmp_path / name).write_text(format_fasta([s.ids[i] for i in keep], [s.sequences[i] for i in keep]))
    ss = load_cached(DataConfig(fasta=str(tmp_path / "bound.fa"), background=str(tmp_path / "background.fa"),
                                cache="on"), root=tmp_path / "cache")
    train = np.arange(0, 1000, 5)[::-1].copy()  # 20 % of the rows, out of order (as a shuffled split is)
    expected = base_composition(np.array(ss.codes)[train])

    tracemalloc.start()
    try:
        codes, where = training_codes(None, ss, SimpleNamespace(train=train))
        sub_codes, _ = training_codes(None, ss.subset(np.arange(500)), SimpleNamespace(train=train[train < 500]))
        got = base_composition(codes)
        got_sub = base_composition(sub_codes)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert isinstance(codes, Rows) and isinstance(sub_codes, Rows) and where == "the training split"
    np.testing.assert_allclose(got, expected)
    np.testing.assert_allclose(got_sub, base_composition(np.array(ss.codes)[train[train < 500]]))
    assert peak < len(train) * 2000 / 4, peak  # the split's codes (400 kB) were never gathered at once
    assert codes.shape == (200, 2000) and np.array_equal(codes[3], np.asarray(ss.codes[train[3]]))
