"""Filters tab and logo view: real runs, real analysis in the tab's worker, real widgets driven with qtbot.

The run is a small CNN trained on SYNTHETIC planted-motif data (CTCF / SPI1 sites) through the real loaders.
"""
import re

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QImage

from tests.gui.conftest import shot


def _analysed_tab(qtbot, run, data, cache):
    from biodeep_gui.gui.tabs.sequences.filters_tab import FiltersTab

    tab = FiltersTab()
    tab.set_cache_dir(cache)
    qtbot.addWidget(tab)
    tab.resize(1400, 900)
    tab.show()
    qtbot.waitExposed(tab)
    with qtbot.waitSignal(tab.sigAnalysisReady, timeout=600_000) as blocker:
        tab.set_run(run, data)  # visible: the analysis starts by itself
    qtbot.waitUntil(lambda: not tab.is_busy(), timeout=10_000)
    return tab, blocker.args[0]


def test_filters_tab_shows_logos_with_matches_sorted_and_exports(qtbot, planted_fasta_runs, tmp_path):
    run, data = planted_fasta_runs.cnn, planted_fasta_runs.data
    tab, a = _analysed_tab(qtbot, run, data, tmp_path / "cache")
    assert tab.analysis() is a and a.motifs.n_filters == 8 and a.matches.release == "JASPAR2026"
    cards = tab.cards()
    assert len(cards) == 8 and not tab.placeholder.isVisible()
    # what each card shows is the core's PFM and the core's best match
    for c in cards:
        np.testing.assert_allclose(c.logo.matrix(), a.motifs.pfms[c.index])
        assert c.logo.mode() == "bits" and c.logo.title() == f"Filter {c.index + 1}"
        best = a.matches.best(c.index)
        n = int(a.motifs.n_sites[c.index])
        if best is not None:
            assert n >= a.min_sites  # only filters with enough sites are matched at all
            assert best.name in c.caption.text() and f"{best.p_value:.1e}" in c.caption.text()
            assert f"{n:,} sites" in c.caption.text()  # n_sites beside the match
        if 0 < n < a.min_sites:
            assert f"too few sites ({n})" in c.caption.text()
    assert "match a JASPAR2026 motif at q < 0.1 with at least 10 sites" in tab.status.text()
    # default order: importance (influence), then by match quality, then by number
    assert tab.display_order() == [int(i) for i in a.influence.order()]
    tab.sort.setCurrentIndex(tab.sort.findData("match"))
    p = [a.matches.best(f).p_value if a.matches.best(f) else 1.0 for f in tab.display_order()]
    assert p == sorted(p)
    tab.sort.setCurrentIndex(tab.sort.findData("index"))
    assert tab.display_order() == list(range(8))
    # the first card is selected: the detail shows it above its top matches, aligned
    first = tab.selected_filters()[0]
    n_match = len(a.matches.per_filter[first][:3])
    assert len(tab.detail_stack().items()) == 1 + n_match
    assert tab.detail.match_table.rowCount() == len(a.matches.per_filter[first])
    assert tab.detail.match_table.item(0, 1).text() == a.matches.per_filter[first][0].motif_id
    assert tab.detail.match_table.item(0, 5).text() == f"{int(a.motifs.n_sites[first]):,}"

    # one signed influence number per filter: the card, the detail panel and matches.tsv agree
    tab.export(tmp_path / "all")
    tsv = [r.split("\t") for r in (tmp_path / "all" / "matches.tsv").read_text().splitlines()]
    col = {name: k for k, name in enumerate(tsv[0])}
    loss_in_tsv = {int(r[0]) - 1: float(r[col["loss_change"]]) for r in tsv[1:]}
    number = r"validation loss ([+-][0-9.e+-]+), AUROC ([+-][0-9.e+-]+) without it"
    for c in tab.cards():
        f = c.index
        card = re.search(number, c.caption.text())
        tab.select_filter(f)
        detail = re.search(number, tab.detail.detail_info.text())
        assert card and detail and card.groups() == detail.groups(), (c.caption.text(), tab.detail.detail_info.text())
        assert float(card.group(1)) == pytest.approx(loss_in_tsv[f], rel=5e-3, abs=1e-12)
        assert np.sign(float(card.group(1))) == np.sign(loss_in_tsv[f]) == np.sign(a.influence.loss_change[f])
        assert float(card.group(2)) == pytest.approx(a.influence.metric_change[f], rel=5e-3, abs=1e-12)
    tab.select_filter(first)
    tab.sort.setCurrentIndex(tab.sort.findData("importance"))
    assert tab.minimumSizeHint().width() <= 1280
    tab.resize(1280, 800)
    qtbot.waitUntil(lambda: tab.width() == 1280)
    shot(tab, "filters_tab")

    # click a logo: it is selected and announced; ctrl-click adds a second one
    target = tab.cards()[3]
    with qtbot.waitSignal(tab.sigFilterSelected) as sel:
        qtbot.mouseClick(target.logo, Qt.MouseButton.LeftButton, pos=QPoint(40, 40))
    assert sel.args == [target.index] and tab.selected_filters() == [target.index]
    assert target.logo.is_selected() and tab.detail.detail_title.text() == f"Filter {target.index + 1}"
    other = tab.cards()[5]
    qtbot.mouseClick(other.logo, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ControlModifier, QPoint(40, 40))
    assert tab.selected_filters() == [target.index, other.index]

    # the raw-weights view shows the centred convolution weights
    tab.view.setCurrentIndex(tab.view.findData("weights"))
    np.testing.assert_allclose(tab.cards()[0].logo.matrix(), a.motifs.weight_logos()[tab.cards()[0].index])
    assert tab.cards()[0].logo.mode() == "weights"
    shot(tab, "filters_tab_weights")
    tab.view.setCurrentIndex(tab.view.findData("bits"))

    # export the selection: MEME, TSV and logos of those two filters only
    from Bio import motifs as bio_motifs

    chosen = sorted(tab.selected_filters())
    tab.export(tmp_path / "out", chosen)
    with open(tmp_path / "out" / "filters.meme") as fh:
        names = [m.name for m in bio_motifs.parse(fh, "minimal")]
    assert names == [f"filter_{f + 1}" for f in chosen if a.motifs.n_sites[f] >= a.min_sites]
    rows = (tmp_path / "out" / "matches.tsv").read_text().splitlines()[1:]
    assert {int(r.split("\t")[0]) for r in rows} == {f + 1 for f in chosen}
    logos = sorted(pp.name for pp in (tmp_path / "out" / "logos").glob("filter_??.*"))
    assert logos == sorted(f"filter_{f + 1:02d}.{x}" for f in chosen for x in ("pdf", "png", "svg"))
    tab.shutdown()


def test_recompute_with_a_user_motif_file_and_cancel(qtbot, planted_fasta_runs, tmp_path):
    from biodeep_gui.core.sequences.motif_db import bundled_jaspar, write_meme

    run, data = planted_fasta_runs.cnn, planted_fasta_runs.data
    tab, _a = _analysed_tab(qtbot, run, data, tmp_path / "cache")
    mine = write_meme(bundled_jaspar()[:60], tmp_path / "sixty.meme")
    tab.set_motif_file(str(mine))
    assert tab.motif_db.currentText() == "File: sixty.meme"
    tab.threshold.setValue(0.7)
    with qtbot.waitSignal(tab.sigAnalysisReady, timeout=600_000) as blocker:
        qtbot.mouseClick(tab.compute_btn, Qt.MouseButton.LeftButton)
    a = blocker.args[0]
    assert a.matches.release == "sixty.meme" and a.matches.n_targets == 60 and a.motifs.threshold == 0.7
    qtbot.waitUntil(lambda: not tab.is_busy(), timeout=10_000)

    # raise the minimum number of sites above some filters' counts: those lose their matches and say why
    firing = sorted(int(n) for n in a.motifs.n_sites if n > 0)
    tab.min_sites.setValue(firing[len(firing) // 2] + 1)
    tab.set_motif_file(None)
    with qtbot.waitSignal(tab.sigAnalysisReady, timeout=600_000) as blocker:
        qtbot.mouseClick(tab.compute_btn, Qt.MouseButton.LeftButton)
    b = blocker.args[0]
    qtbot.waitUntil(lambda: not tab.is_busy(), timeout=10_000)
    assert b.min_sites == tab.min_sites.value() and b.n_too_few() >= 1
    for c in tab.cards():
        n = int(b.motifs.n_sites[c.index])
        if 0 < n < b.min_sites:
            assert b.matches.per_filter[c.index] == [] and b.status(c.index) == "too few sites"
            assert f"too few sites ({n}): not named" in c.caption.text() and "<b>" not in c.caption.text()
    few = next(c.index for c in tab.cards() if b.status(c.index) == "too few sites")
    tab.select_filter(few)
    assert "too few sites" in tab.detail.detail_info.text() and tab.detail.match_table.rowCount() == 0
    assert f"with too few sites are not matched" in tab.status.text()
    tab.resize(1280, 800)
    qtbot.waitUntil(lambda: tab.width() == 1280)
    shot(tab, "filters_tab_min_sites")
    # cancel a fresh computation: the worker stops and the tab says so
    with qtbot.waitSignal(tab.runner.sigRunningChanged, timeout=600_000,
                          check_params_cb=lambda running: running is False):
        tab.compute()
        qtbot.mouseClick(tab.cancel_btn, Qt.MouseButton.LeftButton)
    assert tab.status.text() == "Cancelled." or tab.analysis() is not a
    assert not tab.is_busy() and tab.compute_btn.isEnabled()


def test_runs_without_filters_say_why(qtbot, planted_fasta_runs):
    from biodeep_gui.gui.tabs.sequences.filters_tab import FiltersTab

    kmer = planted_fasta_runs.kmer
    tab = FiltersTab()
    qtbot.addWidget(tab)
    tab.show()
    tab.set_run(kmer, None)
    assert "convolutional" in tab.placeholder.text() and not tab.compute_btn.isEnabled()
    assert not tab.is_busy()
    tab.set_run(None)
    assert "Train or open" in tab.placeholder.text()


# -------------------------------------------------------------------------------------------- logo view


KNOWN = np.array([[1.0, 0, 0, 0],  # A, 2 bits
                  [0.5, 0.5, 0, 0],  # A and C, 0.5 bit each (1 bit of information)
                  [0.25, 0.25, 0.25, 0.25],  # nothing
                  [0, 0, 0.9, 0.1],  # mostly G
                  [0.1, 0.2, 0.3, 0.4]])


def test_logo_letter_heights_are_right(qtbot, tmp_path):
    from biodeep_gui.figures import logos as LV

    plot = QRectF(10, 20, 500, 300)  # 150 px per bit
    glyphs = LV.glyph_rects(KNOWN, "bits", plot)
    by = {(g.column, g.letter): g for g in glyphs}
    assert by[(0, "A")].rect.height() == pytest.approx(300) and by[(0, "A")].rect.top() == pytest.approx(20)
    assert by[(1, "A")].rect.height() == pytest.approx(75) and by[(1, "C")].rect.height() == pytest.approx(75)
    assert not any(g.column == 2 for g in glyphs)
    ic = 2 + 0.9 * np.log2(0.9) + 0.1 * np.log2(0.1)
    assert by[(3, "G")].rect.height() == pytest.approx(0.9 * ic * 150)
    assert by[(3, "T")].rect.height() == pytest.approx(0.1 * ic * 150)
    assert by[(3, "G")].rect.bottom() == pytest.approx(by[(3, "T")].rect.top())  # tallest on top
    assert by[(3, "T")].rect.bottom() == pytest.approx(plot.bottom())
    # probability view: every stack reaches the top
    prob = LV.glyph_rects(KNOWN, "probability", plot)
    assert sum(g.rect.height() for g in prob if g.column == 4) == pytest.approx(300)
    # weights view: negative letters hang below the zero line, upside down
    w = np.array([[1.0, -1.0, 0.5, -0.5]])
    wg = {g.letter: g for g in LV.glyph_rects(w, "weights", plot)}
    zero = plot.top() + plot.height() / 2
    assert wg["G"].rect.bottom() == pytest.approx(zero) and wg["A"].rect.bottom() == pytest.approx(wg["G"].rect.top())
    assert wg["T"].rect.top() == pytest.approx(zero) and wg["C"].rect.top() == pytest.approx(wg["T"].rect.bottom())
    assert wg["A"].rect.height() == pytest.approx(2 * wg["G"].rect.height()) and wg["A"].rect.top() == pytest.approx(20)
    assert wg["C"].flipped and wg["T"].flipped and not wg["A"].flipped
    # each glyph's outline fills its rectangle exactly
    g = by[(3, "G")]
    br = LV.glyph_path(g.letter, g.rect).boundingRect()
    for a, b in ((br.left(), g.rect.left()), (br.top(), g.rect.top()), (br.width(), g.rect.width()),
                 (br.height(), g.rect.height())):
        assert a == pytest.approx(b, abs=1e-6)


def test_logo_widget_and_files_look_right(qtbot, tmp_path):
    from biodeep_gui.figures import logos as LV
    from biodeep_gui.gui.widgets.logo_view import LogoView

    view = LogoView()
    qtbot.addWidget(view)
    view.set_matrix(KNOWN)
    view.set_title("known PFM", "A, A/C, -, G, mixed")
    view.resize(QSize(420, 200))
    view.show()
    qtbot.waitExposed(view)
    image = view.grab().toImage()
    # sample the middle of each big letter's rectangle: its colour is the letter's colour
    checked = 0
    for gl in view.glyphs():
        if gl.rect.height() < 40:
            continue
        # a point well inside the letter's outline (its 3 x 3 neighbourhood too): the pixel there has its colour
        path = LV.glyph_path(gl.letter, gl.rect)
        inside = next(QPoint(int(x), int(y))
                      for y in np.linspace(gl.rect.top() + 2, gl.rect.bottom() - 2, 25)
                      for x in np.linspace(gl.rect.left() + 2, gl.rect.right() - 2, 15)
                      if all(path.contains(QPointF(x + dx, y + dy)) for dx in (-1.5, 0, 1.5) for dy in (-1.5, 0, 1.5)))
        c = QColor(image.pixel(inside))
        want = LV.COLOURS[gl.letter]
        assert abs(c.red() - want.red()) + abs(c.green() - want.green()) + abs(c.blue() - want.blue()) < 30, gl
        checked += 1
    assert checked == 2  # the 2-bit A of column 1 and the 1.4-bit G of column 4
    shot(view, "logo_known_pfm")
    for ext in ("png", "svg", "pdf"):
        path = LV.save_logo(KNOWN, tmp_path / f"known.{ext}", title="known")
        assert path.stat().st_size > 1000
    assert QImage(str(tmp_path / "known.png")).width() == 2 * LV.logo_size(5).width()
    assert "<svg" in (tmp_path / "known.svg").read_text()
    assert (tmp_path / "known.pdf").read_bytes()[:4] == b"%PDF"
    with pytest.raises(ValueError, match="logos are saved as"):
        LV.save_logo(KNOWN, tmp_path / "known.gif")
    with pytest.raises(ValueError, match="mode"):
        view.set_mode("height")


def test_the_collection_of_another_group_is_matched_and_recorded(qtbot, planted_fasta_runs, tmp_path):
    from biodeep_gui.core.sequences.motif_db import bundled_jaspar

    tab, a = _analysed_tab(qtbot, planted_fasta_runs.cnn, planted_fasta_runs.data, tmp_path / "cache")
    assert a.matches.release == "JASPAR2026" and tab.collection() == "vertebrates"
    row = tab.motif_db.findText("JASPAR 2026 CORE plants")
    tab.motif_db.setCurrentIndex(row)
    tab.motif_db.activated.emit(row)
    assert tab.collection() == "plants"
    with qtbot.waitSignal(tab.sigAnalysisReady, timeout=600_000) as blocker:
        qtbot.mouseClick(tab.compute_btn, Qt.MouseButton.LeftButton)
    plants = blocker.args[0]
    assert plants.matches.release == "JASPAR2026 CORE plants"
    assert plants.matches.n_targets == len(bundled_jaspar("plants"))
    qtbot.waitUntil(lambda: not tab.is_busy(), timeout=10_000)
    tab.shutdown()
