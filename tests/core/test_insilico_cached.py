"""In-silico backgrounds from a cached test split read only the rows they shuffle."""
from __future__ import annotations

import numpy as np

from biodeep_gui.core.sequences.cache import Rows
from biodeep_gui.core.sequences.interpret.insilico import background_sequences


class ChunkOnly:
    """(N, L) codes that refuse to be copied whole (``np.asarray``) and record the rows of each read."""

    def __init__(self, codes):
        self.codes, self.reads = codes, []
        self.shape, self.dtype, self.ndim = codes.shape, codes.dtype, 2

    def __len__(self):
        return len(self.codes)

    def __getitem__(self, index):
        out = np.asarray(self.codes[index])
        self.reads.append(len(out))
        return out

    def __array__(self, dtype=None, copy=None):
        raise AssertionError("the whole split was copied")


def test_backgrounds_of_a_row_view_read_only_the_picked_rows():
    codes = np.random.default_rng(1).integers(0, 4, (500, 30)).astype(np.uint8)
    split = np.arange(499, 0, -2)  # 250 rows, out of order
    base = ChunkOnly(codes)
    got = background_sequences(Rows(base, split), n=12, seed=3)
    np.testing.assert_array_equal(got, background_sequences(codes[split], n=12, seed=3))
    assert base.reads == [12] and got.shape == (12, 30)
