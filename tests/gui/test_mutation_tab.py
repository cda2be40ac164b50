"""Mutation map tab: a real run, the map computed in the tab's worker, the heat map and linked filters checked
against independent core calls. Uses the session run of ``test_filters_tab`` (a small CNN on SYNTHETIC data)."""
import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt

from tests.gui.conftest import shot


def _tab(qtbot, run, data):
    from biodeep_gui.gui.tabs.sequences.mutation_tab import MutationTab

    tab = MutationTab()
    qtbot.addWidget(tab)
    tab.resize(1300, 760)
    tab.show()
    qtbot.waitExposed(tab)
    tab.set_run(run, data)
    return tab


def _compute(qtbot, tab):
    with qtbot.waitSignal(tab.runner.sigFinished, timeout=300_000):
        qtbot.mouseClick(tab.compute_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not tab.is_busy(), timeout=10_000)
    return tab.reading_result()


def test_mutation_map_of_a_data_sequence(qtbot, planted_fasta_runs, tmp_path):
    from biodeep_gui.core.sequences.interpret.mutagenesis import saturation_mutagenesis

    run, data = planted_fasta_runs.cnn, planted_fasta_runs.data
    tab = _tab(qtbot, run, data)
    assert tab.picker.count() == len(data) and tab.output.currentText() == "binding score (log-odds)"
    i = int(np.flatnonzero(data.labels[:, 0] == 1)[0])
    tab.set_sequence_index(i)
    r = _compute(qtbot, tab)
    # the map shown is the core's mutagenesis of that sequence, run independently here
    expected = saturation_mutagenesis(run.model(), data.codes[i])
    np.testing.assert_allclose(r.mm.delta, expected.delta, atol=1e-5)
    assert tab.map_view().mutation_map() is r.mm and r.mm.length == data.length
    assert r.probability == pytest.approx(float(run.predict(data.codes[i:i + 1])[0, 0]), abs=1e-5)
    assert data.ids[i] in tab.reading.text() and "binding score (log-odds)" in tab.reading.text()
    # colours: the strongest drop is blue, the strongest rise red, unchanged cells near-white
    view = tab.map_view()
    assert view.colour_max() == pytest.approx(np.abs(r.mm.delta).max())
    low = np.unravel_index(np.argmin(r.mm.delta), r.mm.delta.shape)
    c = view.cell_colour(*low)
    assert c.blue() > c.red() + 60
    ref = (0, int(r.mm.codes[0]))
    assert min(view.cell_colour(*ref).getRgb()[:3]) > 235
    # the letters track follows the importance choice
    np.testing.assert_allclose(view.importance(), r.mm.saliency)
    tab.importance.setCurrentIndex(1)
    np.testing.assert_allclose(view.importance(), r.mm.ism_importance)
    tab.importance.setCurrentIndex(0)
    # clicking a cell shows that position's changes
    with qtbot.waitSignal(view.sigPositionClicked) as clicked:
        qtbot.mouseClick(view, Qt.MouseButton.LeftButton,
                         pos=QPoint(int(view.x_of(low[0]) + 2), int(view.heatmap_rect().top() + 3)))
    assert clicked.args == [low[0]] and f"Position {low[0] + 1}" in tab.hotspot_text()
    assert "Compute the Filters tab" in tab.hotspot_text()
    shot(tab, "mutation_tab")
    # exports: image formats and the table
    for ext in ("png", "svg", "pdf", "tsv"):
        path = tab.export(tmp_path / f"map.{ext}")
        assert path.stat().st_size > 500
    assert (tmp_path / "map.tsv").read_text().count("\n") == 2 + data.length
    tab.shutdown()


def test_linked_filters_name_hot_spots_and_highlight_sites(qtbot, planted_fasta_runs, tmp_path):
    from biodeep_gui.core.sequences.interpret.filters import activation_map, filter_sites
    from biodeep_gui.gui.tabs.sequences.filters_tab import FiltersTab

    run, data = planted_fasta_runs.cnn, planted_fasta_runs.data
    tab = _tab(qtbot, run, data)
    filters = FiltersTab()
    filters.set_cache_dir(tmp_path / "cache")
    qtbot.addWidget(filters)
    filters.sigFilterSelected.connect(tab.highlight_filter)
    filters.sigAnalysisReady.connect(tab.set_filter_analysis)
    filters.show()
    with qtbot.waitSignal(filters.sigAnalysisReady, timeout=600_000) as ready:
        filters.set_run(run, data)
    qtbot.waitUntil(lambda: not filters.is_busy(), timeout=10_000)
    analysis = ready.args[0]
    fm = analysis.motifs
    # a positive sequence and a matched filter that fires in it, found with the core directly
    model = run.model()
    choice = None
    for i in np.flatnonzero(data.labels[:, 0] == 1):
        sites = filter_sites(activation_map(model, data.codes[i]), fm.max_activation, fm.threshold, fm.width,
                             fm.padding, data.length)
        fired = sorted((f for f in range(fm.n_filters) if sites[f] and analysis.matches.best(f) is not None),
                       key=lambda f: analysis.matches.best(f).q_value)  # the best-matched filter first
        if fired:
            choice = (int(i), fired[0], sites)
            break
    assert choice is not None
    i, f, sites = choice
    tab.set_sequence_index(i)
    _compute(qtbot, tab)
    filters.select_filter(f)  # clicking filter f in the Filters tab shades where it fires here
    assert tab.highlighted_filter() == f
    assert tab.map_view().highlight() == [(s, e) for s, e, _ in sites[f]]
    assert "fires at" in tab.status.text()
    # clicking inside a site names the filter and its JASPAR match
    start, stop, _ = sites[f][0]
    p = (start + stop) // 2
    view = tab.map_view()
    qtbot.mouseClick(view, Qt.MouseButton.LeftButton, pos=QPoint(int(view.x_of(p) + 2), 30))
    text = tab.hotspot_text()
    best = analysis.matches.best(f)
    assert f"Filter {f + 1}</a> fires here" in text
    if best.q_value < 0.1:
        assert best.name in text and best.motif_id in text
    else:
        assert "no JASPAR match at q < 0.1" in text
    assert [g for g, _a in tab.filters_at(p)][0] in {g for g in range(fm.n_filters) if any(s <= p < e for s, e, _ in sites[g])}
    shot(tab, "mutation_tab_linked")
    with qtbot.waitSignal(tab.sigFilterClicked) as link:
        tab.hotspot.linkActivated.emit(f"filter:{f}")
    assert link.args == [f]
    tab.shutdown()
    filters.shutdown()


def test_pasted_sequences_and_bad_input(qtbot, planted_fasta_runs):
    run, data, kmer = planted_fasta_runs.cnn, planted_fasta_runs.data, planted_fasta_runs.kmer
    tab = _tab(qtbot, run, data)
    tab.set_pasted_sequence("ACGTTGCA GGCC\nXTT")
    qtbot.mouseClick(tab.compute_btn, Qt.MouseButton.LeftButton)
    assert "position 13" in tab.status.text() and not tab.is_busy()
    tab.set_pasted_sequence("A" * (run.info.length + 1))
    qtbot.mouseClick(tab.compute_btn, Qt.MouseButton.LeftButton)
    assert f"at most {run.info.length}" in tab.status.text()
    short = "CCACTAGGGGGCGCTAT"  # shorter than the model input: centred in padding, only its bases mutated
    tab.set_pasted_sequence(short.lower())
    r = _compute(qtbot, tab)
    assert r.mm.sequence == short and r.mm.length == len(short) and r.mm.delta.shape == (len(short), 4)
    assert "pasted sequence" in tab.reading.text()
    # without data, the tab reads the run's own files so that their sequences can be picked
    with qtbot.waitSignal(tab.runner.sigFinished, timeout=300_000):
        tab.set_run(run, None)
    qtbot.waitUntil(lambda: not tab.is_busy(), timeout=10_000)
    assert tab.picker.count() == len(data) and tab.picker.itemText(0).startswith(data.ids[0])
    # a baseline run has no network to mutate
    tab.set_run(kmer, data)
    assert "baseline" in tab.title.text() and not tab.compute_btn.isEnabled()
    tab.set_run(None)
    assert not tab.compute_btn.isEnabled()
