"""Variants tab, standalone: a real run (small CNN on SYNTHETIC planted motifs), a VCF scored in the tab's
worker, the table and the plot checked against the core's own scoring, click -> row, Cancel, remembered folders."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("cyvcf2")

from PySide6.QtCore import QSettings, Qt  # noqa: E402

from tests.core.variants_data import site_snvs, train_tiny_cnn, vcf_text, write_genome  # noqa: E402
from tests.gui.conftest import shot  # noqa: E402


@pytest.fixture(scope="module")
def variant_setup(tmp_path_factory):
    from biodeep_gui.core.sequences.run import load_run

    d = tmp_path_factory.mktemp("variants_tab")
    run = load_run(train_tiny_cnn(d))
    case = write_genome(d)
    contigs = {c: len(s) for c, s in case.chromosomes.items()}
    records, breaks = site_snvs(case)
    chrom = case.chromosomes["chr1"]
    bad = ("chr1", 5000, "bad_ref", "ACGT"[("ACGT".index(chrom[4999]) + 1) % 4],
           "ACGT"[("ACGT".index(chrom[4999]) + 2) % 4])
    recs = sorted(records + [bad], key=lambda r: (r[0], r[1]))
    (d / "calls.vcf").write_text(vcf_text(recs, contigs))
    # a big VCF for the cancel test: 40,000 SNVs along chr1 and chr2
    rng = np.random.default_rng(1)
    big = []
    for c in ("chr1", "chr2"):
        s = case.chromosomes[c]
        for p in np.sort(rng.choice(np.arange(100, len(s) - 100), 20_000, replace=False)):
            r = s[p]
            big.append((c, int(p) + 1, ".", r, "ACGT"[("ACGT".index(r) + 1) % 4]))
    (d / "big.vcf").write_text(vcf_text(big, contigs))
    return d, run, case, recs


def _tab(qtbot, run):
    from biodeep_gui.gui.tabs.sequences.variants_tab import VariantsTab

    tab = VariantsTab()
    qtbot.addWidget(tab)
    tab.resize(1280, 800)
    tab.show()
    qtbot.waitExposed(tab)
    tab.set_run(run)
    return tab


def test_variants_tab_scores_a_vcf_and_links_plot_and_table(qtbot, variant_setup):
    from biodeep_gui.core.sequences.interpret.progress import drain
    from biodeep_gui.core.sequences.variants import score_variants

    d, run, case, recs = variant_setup
    tab = _tab(qtbot, run)
    assert not tab.score_btn.isEnabled() and not tab.cancel_btn.isEnabled()
    tab.set_files(vcf=d / "calls.vcf", genome=case.genome)
    assert tab.score_btn.isEnabled()
    with qtbot.waitSignal(tab.sigScored, timeout=120_000) as blocker:
        qtbot.mouseClick(tab.score_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not tab.is_busy(), timeout=10_000)
    eff = blocker.args[0]
    assert eff is tab.effects() and len(eff) == len(recs)
    # what the table shows is the core's scoring of the same files
    ref = drain(score_variants(run, d / "calls.vcf", case.genome))
    np.testing.assert_allclose(eff.delta, ref.delta, equal_nan=True)
    model = tab.table.model()
    assert model.rowCount() == len(recs) and model.columnCount() == 11
    headers = [model.headerData(c, Qt.Orientation.Horizontal) for c in range(model.columnCount())]
    assert headers == ["chrom", "pos", "id", "ref", "alt", "ref_check", "window", "ref_score", "alt_score", "delta",
                       "logit_delta"]
    assert [model.index(r, 2).data() for r in range(3)] == [rec[2] for rec in recs[:3]]
    assert "Warning: 1 variant(s) have a REF that differs" in tab.status.text()
    assert tab.progress.value() == 1000
    # the REF-mismatch row is in the table, unscored, and not plotted
    bad_row = [a.id for a in eff.alleles].index("bad_ref")
    assert eff.ref_check[bad_row] == "mismatch" and tab.point_position(bad_row) is None
    assert len(tab.scatter.data) == len(recs) - 1
    # sort by delta: the most negative first, the unscored row last
    tab.table.sortByColumn(9, Qt.SortOrder.AscendingOrder)
    top = model.index(0, 2).data()
    deltas = np.where(np.isfinite(eff.delta[:, 0]), eff.delta[:, 0], np.inf)
    assert top == eff.alleles[int(np.argmin(deltas))].id and "_break" in top
    assert model.index(model.rowCount() - 1, 2).data() == "bad_ref"
    # clicking a point selects its row (whatever the sort), and the ring marks it
    row = int(np.argmin(deltas))
    pts = tab.scatter.pointsAt(pg_point(tab, row))
    assert len(pts)
    tab._on_points_clicked(tab.scatter, pts)
    assert tab.selected_row() == row
    rx, ry = tab.ring.getData()
    assert (rx[0], ry[0]) == pytest.approx(tab.point_position(row))
    # the selected variant up close: its two windows' mutation maps and the filters it weakens
    qtbot.waitUntil(lambda: tab.detail.detail() is not None and not tab.detail.is_busy(), timeout=60_000)
    det = tab.detail.detail()
    assert det.allele == eff.alleles[row] and len(det.ref_map.codes) == run.info.length
    forward = drain(score_variants(run, d / "calls.vcf", case.genome, both_strands=False))  # the maps' strand
    assert det.alt_map.reference - det.ref_map.reference == pytest.approx(forward.logit_delta[row, 0], abs=1e-4)
    assert det.filters and det.filters[0].change < 0  # a site-breaking SNV: the strongest change is a loss
    assert tab.detail.ref_view.mutation_map() is det.ref_map and tab.detail.ref_view.highlight()
    with qtbot.waitSignal(tab.sigFilterClicked) as clicked:
        tab.detail.filters.linkActivated.emit(f"filter:{det.filters[0].index}")
    assert clicked.args == [det.filters[0].index]
    # the Filters tab's analysis of this run (here against the insect collection) names the listed filters
    from biodeep_gui.core.sequences.interpret.analysis import analyse_filters

    assert "once the Filters tab has analysed" in tab.detail.filters.text()
    analysis = drain(analyse_filters(run, influence=False, collection="insects", cache_dir=str(d / "tomtom")))
    tab.set_filter_analysis(analysis)
    text = tab.detail.filters.text()
    assert "once the Filters tab has analysed" not in text
    for c in det.filters:
        best = analysis.named(c.index)
        assert (f"({best.name}, JASPAR2026 CORE insects)" in text) if best is not None else \
            f"filter {c.index + 1}</a>:" in text
    # folders remembered for the next file dialogs
    assert QSettings().value("variants/vcf_dir") == str(d) and QSettings().value("variants/genome_file") == str(case.genome)
    path = shot(tab, "variants_tab")
    assert path.exists()
    tab.shutdown()


def pg_point(tab, row):
    from PySide6.QtCore import QPointF

    x, y = tab.point_position(row)
    return QPointF(x, y)


def test_variants_tab_cancel_keeps_the_previous_results(qtbot, variant_setup):
    d, run, case, recs = variant_setup
    tab = _tab(qtbot, run)
    tab.set_files(vcf=d / "calls.vcf", genome=case.genome)
    with qtbot.waitSignal(tab.sigScored, timeout=120_000):
        tab.score()
    qtbot.waitUntil(lambda: not tab.is_busy(), timeout=10_000)
    first = tab.effects()
    tab.set_files(vcf=d / "big.vcf")
    with qtbot.waitSignal(tab.runner.sigFailed, timeout=120_000):
        qtbot.mouseClick(tab.score_btn, Qt.MouseButton.LeftButton)
        assert tab.cancel_btn.isEnabled() and not tab.score_btn.isEnabled()
        qtbot.mouseClick(tab.cancel_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not tab.is_busy(), timeout=10_000)
    assert tab.status.text().startswith("Cancelled")
    assert tab.effects() is first and tab.table.model().rowCount() == len(recs)
    assert tab.score_btn.isEnabled() and not tab.cancel_btn.isEnabled()
    # a new run clears the table
    tab.set_run(None)
    assert tab.table.model().rowCount() == 0 and not tab.score_btn.isEnabled()
    tab.shutdown()


def test_variants_tab_reports_a_bad_vcf(qtbot, variant_setup, tmp_path):
    d, run, case, _ = variant_setup
    tab = _tab(qtbot, run)
    (tmp_path / "bad.vcf").write_text("not a vcf\n")
    tab.set_files(vcf=tmp_path / "bad.vcf", genome=case.genome)
    with qtbot.waitSignal(tab.runner.sigFailed, timeout=60_000):
        tab.score()
    qtbot.waitUntil(lambda: not tab.is_busy(), timeout=10_000)
    assert "Could not score the variants" in tab.status.text() and "not a readable VCF" in tab.status.text()
    tab.shutdown()
