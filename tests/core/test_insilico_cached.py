"""In-silico backgrounds from a cached test split read only the rows they shuffle."""
from __future__ import annotations

import numpy as np

from biodeep_gui.core.sequences.cache import Rows
from biodeep_gui.core.sequences.interpret.insilico import background_sequences

from .helpers import ChunkOnly


def test_backgrounds_of_a_row_view_read_only_the_picked_rows():
    codes = np.random.default_rng(1).integers(0, 4, (500, 30)).astype(np.uint8)
    split = np.arange(499, 0, -2)  # 250 rows, out of order
    base = ChunkOnly(codes)
    got = background_sequences(Rows(base, split), n=12, seed=3)
    np.testing.assert_array_equal(got, background_sequences(codes[split], n=12, seed=3))
    assert base.reads == [12] and got.shape == (12, 30)
