"""Finding a record by its id in the packed id buffer of the encoded cache, without decoding the ids."""
from __future__ import annotations

import numpy as np
import pytest

from biodeep_gui.core.sequences import cache

NAMES = ["chr1:100-300", "p1", "p10", "xp1", "p", "β-globin", "p1x", "", "p100", "p10"]  # "p10" twice


def _ids(names, rows=None) -> cache.Ids:
    raw = [n.encode("utf-8") for n in names]
    offsets = np.zeros(len(raw) + 1, np.int64)
    np.cumsum([len(r) for r in raw], out=offsets[1:])
    return cache.Ids(np.frombuffer(b"".join(raw), np.uint8), offsets, rows)


@pytest.fixture
def no_decoding(monkeypatch):
    """Fail the test if any id is decoded."""
    def refuse(self, i):
        raise AssertionError(f"id {i} was decoded")

    monkeypatch.setattr(cache.Ids, "__getitem__", refuse)


@pytest.mark.parametrize("chunk", [1 << 20, 3])  # one step, and steps that split the records
def test_index_finds_whole_ids_only(no_decoding, monkeypatch, chunk):
    monkeypatch.setattr(cache.Ids, "SEARCH_CHUNK", chunk)
    ids = _ids(NAMES)
    assert ids.index("chr1:100-300") == 0  # first
    assert ids.index("p10") == 2  # the first of two records with that id
    assert ids.index("p100") == 8 and ids.index("p") == 4  # last; an id that is a prefix of others
    assert ids.index("p1") == 1 and ids.index("xp1") == 3 and ids.index("p1x") == 6  # prefix / suffix of others
    assert ids.index("β-globin") == 5 and ids.index("") == 7  # multi-byte UTF-8; an empty id
    for missing in ("p2", "chr1", "100-300", "p1000", "x", "globin"):  # substrings and extensions are not ids
        with pytest.raises(ValueError, match="not an id"):
            ids.index(missing)
    assert "p10" in ids and "p1" in ids and "p2" not in ids and 10 not in ids
    assert ids.index("p10", 3) == 9 and ids.index("p10", -2) == 9
    with pytest.raises(ValueError):
        ids.index("p10", 3, 9)


def test_index_of_a_row_view_is_the_position_in_the_view(no_decoding):
    rows = np.array([8, 5, 2, 0, 9])
    view = _ids(NAMES, rows)
    assert view.index("p100") == 0 and view.index("p10") == 2 and view.index("chr1:100-300") == 3
    with pytest.raises(ValueError):
        view.index("p1")  # in the cache, not in this view
    assert "β-globin" in view and "xp1" not in view


def test_index_agrees_with_decoding_on_a_built_cache(tmp_path, monkeypatch):
    from biodeep_gui.core.sequences.config import DataConfig

    names = [f"peak{i}" for i in range(0, 3000, 3)]
    (tmp_path / "b.fa").write_text("".join(f">{n} some description\nACGTACGTAA\n" for n in names))
    (tmp_path / "g.fa").write_text("".join(f">bg_{n}\nTTGCAACGTA\n" for n in names))
    ss = cache.load_cached(DataConfig(fasta=str(tmp_path / "b.fa"), background=str(tmp_path / "g.fa"), length=10,
                                      cache="on"), root=tmp_path / "c")
    every = list(ss.ids)
    sub = ss.subset(np.arange(len(ss))[::-7])
    sub_ids = list(sub.ids)
    monkeypatch.setattr(cache.Ids, "SEARCH_CHUNK", 256)
    monkeypatch.setattr(cache.Ids, "__getitem__", lambda self, i: pytest.fail("an id was decoded"))
    for name in ("peak0", "peak3", "peak2997", "bg_peak0", "bg_peak2997", every[777]):
        assert ss.ids.index(name) == every.index(name)
    assert "peak1" not in ss.ids and "peak" not in ss.ids and "bg_peak299" not in ss.ids
    for name in (sub_ids[0], sub_ids[-1], sub_ids[len(sub_ids) // 2]):
        assert sub.ids.index(name) == sub_ids.index(name)
