"""The overlap of a cached set with a run's training sequences is hashed by rows, a chunk at a time, both strands,
and equals that of the same sequences in memory."""
from __future__ import annotations

import numpy as np

from biodeep_gui.core.sequences import cache
from biodeep_gui.core.sequences.config import DataConfig
from biodeep_gui.core.sequences.encoding import COMPLEMENT_CODES
from biodeep_gui.core.sequences.pipeline import sequence_hashes, training_overlap

from .helpers import ChunkOnly


def test_reverse_complement_hashes_chunk_by_chunk():
    codes = np.random.default_rng(0).integers(0, 5, (300, 37)).astype(np.uint8)
    rows = np.arange(300)
    chunked = ChunkOnly(codes)
    got = sequence_hashes(chunked, chunk=64, rows=rows, reverse_complement=True)
    np.testing.assert_array_equal(got, sequence_hashes(COMPLEMENT_CODES[codes][:, ::-1]))
    assert max(chunked.reads) == 64
    np.testing.assert_array_equal(sequence_hashes(codes, rows=rows), sequence_hashes(codes))


def test_training_overlap_of_a_cached_set(planted_fasta_runs, tmp_path):
    run, mem = planted_fasta_runs.cnn, planted_fasta_runs.data
    root = planted_fasta_runs.root
    data = cache.load_cached(DataConfig(fasta=str(root / "bound.fa"), background=str(root / "background.fa"),
                                        cache="on"), root=tmp_path / "cache")
    expected = training_overlap(run, np.asarray(mem.codes))
    assert expected["known"] and expected["in_training"] > 0 and expected["in_validation"] > 0
    assert training_overlap(run, ChunkOnly(np.asarray(data.codes))) == expected
    assert training_overlap(run, data.codes) == expected
    rc = np.ascontiguousarray(COMPLEMENT_CODES[np.asarray(mem.codes)][:, ::-1])
    flipped = training_overlap(run, rc)
    assert flipped["count"] == expected["count"] and flipped["reverse_complement"] > 0  # found on the other strand
