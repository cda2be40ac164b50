"""The mutation map tab finds a record typed by id in a set memory-mapped from the encoded cache without decoding
every id (``cache.Ids.index``)."""
import numpy as np


def test_typed_id_of_a_cached_set_is_found_without_decoding_all_ids(qtbot, planted_fasta_runs, tmp_path,
                                                                    monkeypatch):
    from biodeep_gui.core.sequences import cache
    from biodeep_gui.core.sequences.config import DataConfig
    from biodeep_gui.gui.tabs.sequences import mutation_tab
    from biodeep_gui.gui.tabs.sequences.mutation_tab import MutationTab

    root = planted_fasta_runs.root
    data = cache.load_cached(DataConfig(fasta=str(root / "bound.fa"), background=str(root / "background.fa"),
                                        cache="on"), root=tmp_path / "cache")
    every = list(data.ids)
    monkeypatch.setattr(mutation_tab, "MAX_LISTED", 10)  # the picker lists 10; the others are found by id
    decoded = []
    plain = cache.Ids.__getitem__
    monkeypatch.setattr(cache.Ids, "__getitem__", lambda self, i: decoded.append(i) or plain(self, i))

    tab = MutationTab()
    qtbot.addWidget(tab)
    tab.set_run(planted_fasta_runs.cnn, data)
    assert tab.picker.count() == 10
    decoded.clear()
    for i in (len(every) - 1, 10, 250):
        tab.picker.setEditText(f"{every[i]}  (typed)")
        assert tab._picked_index() == i
    tab.picker.setEditText("no-such-record")
    assert tab._picked_index() is None
    assert decoded == []  # nothing decoded: the id was matched in the packed buffer
    assert np.array_equal(np.asarray(data.codes[250]), planted_fasta_runs.data.codes[250])
