"""The "Discovered motifs" widget: patterns listed with logo, seqlet count, best match and p/q; export; the
collection box; discovery started and cancelled in the worker; a 1280x800 screenshot to look at."""
import numpy as np
import pytest
from PySide6.QtCore import Qt

from tests.gui.conftest import shot


def _result():
    from biodeep_gui.core.sequences.interpret.discovery import DiscoveredPattern, DiscoveryResult
    from biodeep_gui.core.sequences.interpret.matching import MotifMatch
    from biodeep_gui.core.sequences.motif_db import bundled_jaspar, find_motif

    targets = bundled_jaspar()
    ctcf, spi1 = find_motif("MA0139"), find_motif("MA0080")
    rng = np.random.default_rng(0)
    flat = rng.dirichlet(np.ones(4) * 5, size=12)
    pats = [DiscoveredPattern("pattern 1", 1, ctcf.pfm, (ctcf.pfm - 0.25) * 0.3, 122,
                              [MotifMatch(0, 1, targets.index(ctcf), ctcf.id, "CTCF", 0, "+", 19, 3e-14, 2e-10, 3e-11)]),
            DiscoveredPattern("pattern 2", 1, spi1.pfm[::-1, ::-1], (spi1.pfm - 0.25) * 0.2, 99,
                              [MotifMatch(1, 1, targets.index(spi1), spi1.id, "SPI1", 0, "-", 14, 1e-11, 5e-8, 1e-8)]),
            DiscoveredPattern("pattern 3", -1, flat, -(flat - 0.25) * 0.05, 21, [])]
    return DiscoveryResult(pats, "400 positives of all sequences", 400, "deeplift_shap", True, "",
                           "JASPAR2026", len(targets), {}, 42.0, ["an example note"], targets)


def test_discovered_motifs_are_listed_and_exported(qtbot, tmp_path):
    from biodeep_gui.core.sequences.motif_db import load_motifs
    from biodeep_gui.gui.tabs.sequences.discovery_tab import DiscoveryTab

    tab = DiscoveryTab()
    qtbot.addWidget(tab)
    tab.resize(1280, 800)
    tab.show()
    qtbot.waitExposed(tab)
    assert not tab.discover_btn.isEnabled() and "train or open a run" in tab.title.text()
    assert tab.collection.count() == 6 and tab.collection.itemData(1) == "plants"
    with qtbot.waitSignal(tab.sigResult):
        tab.set_result(_result())
    rows = tab.pattern_rows()
    assert [r[0] for r in rows] == ["pattern 1", "pattern 2", "pattern 3 (lowers)"]
    assert rows[0][2] == "122" and rows[0][4] == "CTCF (MA0139.2)" and rows[0][5] == "3e-14" and rows[0][6] == "2e-10"
    assert rows[2][4] == "no match"
    logo = tab.table.cellWidget(0, 1)
    assert logo is not None and not logo.pixmap().isNull() and logo.pixmap().width() >= 200
    assert "JASPAR2026" in tab.status.text() and "an example note" in tab.status.text()
    assert tab.export_btn.isEnabled()
    shot(tab, "discovered_motifs")
    paths = tab.export(tmp_path / "out")
    assert [p.name for p in paths] == ["patterns.meme", "patterns.tsv", "report.html"]
    assert [m.nsites for m in load_motifs(paths[0])] == [122, 99, 21]
    html = paths[2].read_text()
    assert html.count("data:image/png;base64,") >= 6 and "CTCF" in html and "<script" not in html


def test_discovery_runs_in_the_worker_and_cancels(qtbot, planted_ctcf_run):
    from biodeep_gui.gui.tabs.sequences.discovery_tab import DiscoveryTab

    tab = DiscoveryTab()
    qtbot.addWidget(tab)
    tab.set_run(planted_ctcf_run.run)
    assert tab.discover_btn.isEnabled() and "ctcf" in tab.title.text()
    qtbot.mouseClick(tab.discover_btn, Qt.MouseButton.LeftButton)
    assert tab.is_busy() and tab.cancel_btn.isEnabled() and not tab.discover_btn.isEnabled()
    with qtbot.waitSignal(tab.runner.sigFailed, timeout=120_000):
        qtbot.mouseClick(tab.cancel_btn, Qt.MouseButton.LeftButton)
    assert not tab.is_busy() and tab.status.text() == "Cancelled." and tab.discover_btn.isEnabled()
    tab.shutdown()


@pytest.mark.slow
def test_discovery_of_a_real_run_in_the_worker(qtbot, planted_ctcf_run):
    """All positives of the session's CTCF run through the widget's worker (~1-2 min): CTCF is found and named."""
    from biodeep_gui.gui.tabs.sequences.discovery_tab import DiscoveryTab

    tab = DiscoveryTab()
    qtbot.addWidget(tab)
    tab.resize(1280, 800)
    tab.show()
    qtbot.waitExposed(tab)
    tab.set_run(planted_ctcf_run.run)
    tab.split.setCurrentIndex(1)  # all positives: the test split is too small for MoDISco
    with qtbot.waitSignal(tab.sigResult, timeout=600_000):
        qtbot.mouseClick(tab.discover_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not tab.is_busy(), timeout=10_000)
    rows = tab.pattern_rows()
    assert rows and rows[0][4].startswith("CTCF") and float(rows[0][5]) < 1e-8
    shot(tab, "discovered_motifs_ctcf_run")
    tab.shutdown()
