"""Scans and Reconstructions tabs and the slice viewer, driven through their real widgets (pytest-qt, offscreen).

Screenshots go to artifacts/screenshots/ (scans_tab.png, reconstructions_tab.png, slice_viewer.png) for a person
to look at.
"""
from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from PySide6.QtCore import Qt

from biodeep_gui.core.scans.synthetic import write_demo_cohort
from biodeep_gui.gui.tabs.scans.reconstructions_tab import ReconstructionsTab
from biodeep_gui.gui.tabs.scans.scans_tab import ScansTab
from biodeep_gui.gui.widgets.slice_viewer import SliceViewer
from tests.gui.conftest import shot

TIMEOUT = 60_000


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # see tests/core/test_scans_training.py: threads spin on a shared machine
    yield
    torch.set_num_threads(before)


def _volume(shape=(20, 24, 18)) -> np.ndarray:
    """An asymmetric test volume: value = 100 i + 10 j + k, so every slice is recognisable."""
    i, j, k = np.indices(shape)
    return (100 * i + 10 * j + k).astype(np.float32)


def test_slice_viewer_slices_crosshair_window_and_links(qtbot):
    a, b = SliceViewer("A"), SliceViewer("B")
    for v in (a, b):
        qtbot.addWidget(v)
    vol = _volume()
    a.set_volume(vol, (2.0, 2.0, 3.0))
    b.set_volume(vol * 2, (2.0, 2.0, 3.0))
    assert a.crosshair() == (10, 12, 9)
    np.testing.assert_array_equal(a.slice_image(0), vol[:, :, 9])  # axial: x across, y up
    np.testing.assert_array_equal(a.slice_image(1), vol[:, 12, :])
    np.testing.assert_array_equal(a.slice_image(2), vol[10, :, :])
    a.link(b)
    moved = []
    b.sigCrosshairMoved.connect(moved.append)
    a.click_view(0, x_mm=5.0 * 2 + 1, y_mm=3 * 2 + 1)  # axial view, physical mm: voxel (5, 3)
    assert a.crosshair() == (5, 3, 9) and b.crosshair() == (5, 3, 9) and moved[-1] == (5, 3, 9)
    a.sliders[0].setValue(4)  # the axial slider moves k
    assert b.crosshair() == (5, 3, 4)
    np.testing.assert_array_equal(b.slice_image(0), 2 * vol[:, :, 4])
    a.set_window(100.0, 900.0)
    assert a.window() == (100.0, 900.0) and a.images[0].levels is not None
    a.high.setValue(1200.0)  # typing in the window box
    assert a.window() == (100.0, 1200.0)
    a.set_overlay(np.abs(vol - vol.mean()))
    assert a.overlays[0].image is not None and "overlay" in a.info.text()
    assert "voxel (5, 3, 4)" in a.info.text()
    a.resize(900, 360)
    a.show()
    qtbot.waitExposed(a)
    shot(a, "slice_viewer")


@pytest.fixture()
def demo(tmp_path):
    return write_demo_cohort(tmp_path / "demo", 8, (16, 20, 16), seed=0)


def _load(qtbot, tab: ScansTab, demo) -> None:
    tab.form.images_edit.setText(str(demo.images))
    tab.form.labels_edit.setText(str(demo.table))
    tab.form.fill_columns()
    with qtbot.waitSignal(tab.load_runner.sigFinished, timeout=TIMEOUT):
        qtbot.mouseClick(tab.form.load_button, Qt.MouseButton.LeftButton)


def test_scans_tab_loads_audits_and_shows_a_subject(qtbot, demo, monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    tab = ScansTab()
    qtbot.addWidget(tab)
    tab.resize(1400, 900)
    tab.show()
    _load(qtbot, tab, demo)
    # the column guesses picked the ABIDE-style columns
    assert (tab.form.subject_combo.currentText(), tab.form.label_combo.currentText(), tab.form.file_combo.currentText(),
            tab.form.site_combo.currentText()) == ("SUB_ID", "DX_GROUP", "FILE_ID", "SITE_ID")
    assert tab.table.rowCount() == 8
    assert [tab.table.item(r, 7).text() for r in range(8)] == ["ready"] * 8
    assert tab.table.item(0, 3).text() == "16×20×16" and tab.table.item(0, 6).text() == "LAS"
    audit = [tab.audit_list.item(i).text() for i in range(tab.audit_list.count())]
    assert any("LAS" in t and "handled" in t for t in audit)
    assert "8 subjects (2: 4, 1: 4; positive class 1)" in tab.status_label.text()
    qtbot.waitUntil(lambda: tab.viewer.volume is not None, timeout=TIMEOUT)
    assert tab.viewer.volume.shape == (16, 20, 16) and "Subject 50001" in tab.viewer.title.text()
    with qtbot.waitSignal(tab.view_runner.sigFinished, timeout=TIMEOUT):
        tab.table.selectRow(3)
    assert "Subject 50004" in tab.viewer.title.text()
    shot(tab, "scans_tab")
    with qtbot.waitSignal(tab.sigTrainRequested, timeout=2000) as sig:
        qtbot.mouseClick(tab.train_button, Qt.MouseButton.LeftButton)
    data_cfg, out = sig.args
    assert data_cfg.file_column == "FILE_ID" and data_cfg.site_column == "SITE_ID" and out == ""
    assert tab.grid_shape() == (16, 20, 16)
    tab.shutdown()


def test_scans_tab_offers_resampling_for_mismatched_grids(qtbot, tmp_path, monkeypatch):
    import nibabel as nib

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    demo = write_demo_cohort(tmp_path / "demo", 4, (12, 14, 12), seed=1)
    odd = sorted(demo.images.iterdir())[0]
    img = nib.load(str(odd))
    data = img.get_fdata()[:, :, :10]  # a different grid
    nib.save(nib.Nifti1Image(data.astype(np.float32), img.affine), str(odd))
    tab = ScansTab()
    qtbot.addWidget(tab)
    _load(qtbot, tab, demo)
    assert tab.fix_resample.isEnabled() and re.search(r"\d+ problems? to fix", tab.status_label.text())
    assert any("different grids" in tab.audit_list.item(i).text() for i in range(tab.audit_list.count()))
    with qtbot.waitSignal(tab.load_runner.sigFinished, timeout=TIMEOUT):
        qtbot.mouseClick(tab.fix_resample, Qt.MouseButton.LeftButton)
    assert tab.form.resample_check.isChecked() and not tab.fix_resample.isEnabled()
    assert [tab.table.item(r, 7).text() for r in range(4)] == ["ready"] * 4
    tab.shutdown()


def test_scans_tab_shows_bad_files_in_the_table(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    demo = write_demo_cohort(tmp_path / "demo", 4, (8, 10, 8), seed=2)
    bad = sorted(demo.images.iterdir())[2]
    bad.write_bytes(bad.read_bytes()[:300])
    tab = ScansTab()
    qtbot.addWidget(tab)
    _load(qtbot, tab, demo)
    statuses = [tab.table.item(r, 7).text() for r in range(4)]
    assert statuses.count("ready") == 3
    bad_row = next(r for r in range(4) if statuses[r] != "ready")
    assert bad.name in statuses[bad_row] or bad.name in tab.table.item(bad_row, 7).toolTip()
    tab.form.labels_edit.setText(str(tmp_path / "missing.csv"))
    with qtbot.waitSignal(tab.load_runner.sigFailed, timeout=TIMEOUT):
        tab.load_cohort()
    assert "missing.csv" in tab.status_label.text()
    tab.shutdown()


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A small real run (core only): 12 SYNTHETIC subjects, 2 folds, and the items it yielded."""
    from biodeep_gui.core.scans.config import ScansConfig
    from biodeep_gui.core.scans.pipeline import train_scans

    tmp = tmp_path_factory.mktemp("recon")
    demo = write_demo_cohort(tmp / "demo", 12, (16, 20, 16), seed=3)
    cfg = ScansConfig()
    d = cfg.data
    d.images, d.labels, d.file_column, d.site_column = str(demo.images), str(demo.table), "FILE_ID", "SITE_ID"
    d.cache_dir = str(tmp / "cache")
    cfg.model.autoencoder = {"depth": 2, "code_size": 16}
    cfg.model.cnn = {"depth": 2}
    cfg.train.epochs, cfg.train.batch_size, cfg.train.lr, cfg.train.preview_every = 12, 2, 2e-3, 4
    cfg.train.cnn_epochs, cfg.cv.folds, cfg.cv.permutations = 3, 2, 5
    items = list(train_scans(cfg, tmp / "run"))
    return {"items": items, "run": tmp / "run"}


def test_reconstructions_tab_live_items_then_saved_run(qtbot, trained):
    from biodeep_gui.core.scans.reports import ReconstructionPreview

    tab = ReconstructionsTab()
    qtbot.addWidget(tab)
    tab.resize(1500, 1000)
    tab.show()
    items = trained["items"]
    tab.show_items(items[:-1])  # everything but the summary: the live view during training
    last_preview = [i for i in items if isinstance(i, ReconstructionPreview)][-1]
    assert f"held-out subject {last_preview.subject}" in tab.heading.text()
    np.testing.assert_array_equal(tab.reconstruction.volume, last_preview.reconstruction)
    assert tab.folds_table.rowCount() == 2 * 4  # 2 folds x (mlp, logistic, cnn, site-only baseline)
    assert tab.errors.rowCount() == 12
    assert [tab.errors.horizontalHeaderItem(c).text() for c in (6, 7)] == ["Template\nr", "Residual\nr"]
    assert all(0 < tab.errors.item(r, 6).value <= 1 for r in range(12))  # the template baseline, per subject
    assert "template alone r = " in tab.heading.text()
    with qtbot.waitSignal(tab.sigSubjectShown, timeout=TIMEOUT) as shown:
        tab.show_items(items[-1:])  # the summary: the run folder is read back, the worst subject shown
    worst = tab.errors.item(0, 1).text()
    assert shown.args == [worst] and "held it out" in tab.heading.text()
    mses = [tab.errors.item(r, 5).value for r in range(12)]
    assert mses == sorted(mses, reverse=True)
    assert tab.folds_table.item(tab.folds_table.rowCount() - 1, 0).text() == "mean ± sd"
    assert "Permutation test" in tab.summary_label.text() and "Site from the codes" in tab.summary_label.text()
    text = tab.summary_label.text()
    assert "<b>template</b> (training mean image) r = " in text and "deviation explained" in text
    assert "Site only (baseline)" in text and "<b>Chance</b>" in text
    assert "the smallest possible with 5 permutations" in text  # the floor is stated beside p
    assert "shuffled within sites" in text
    assert len(tab.roc.items) == 4 and tab.arm_combo.count() == 4
    # clicking another subject reconstructs it with the fold that held it out
    target = tab.errors.item(5, 1).text()
    with qtbot.waitSignal(tab.sigSubjectShown, timeout=TIMEOUT) as shown:
        qtbot.mouseClick(tab.errors.viewport(), Qt.MouseButton.LeftButton,
                         pos=tab.errors.visualItemRect(tab.errors.item(5, 1)).center())
    assert shown.args == [target]
    # one crosshair moves all three viewers; the difference is reconstruction - original inside the mask
    tab.original.click_view(1, 4 * tab.original.voxel_size[0] + 1, 6 * tab.original.voxel_size[2] + 1)
    pos = tab.original.crosshair()
    assert tab.reconstruction.crosshair() == pos == tab.difference.crosshair()
    np.testing.assert_allclose(tab.difference.volume, (tab.reconstruction.volume - tab.original.volume)
                               * tab.original.mask, atol=1e-5)
    tab.overlay_check.setChecked(True)
    assert tab.original.overlay is not None
    shot(tab, "reconstructions_tab")
    tab.side.setCurrentIndex(1)
    shot(tab, "reconstructions_tab_classification")
    tab.shutdown()


def test_scans_tab_connectivity_route_from_roi_tables(qtbot, tmp_path, monkeypatch):
    from biodeep_gui.core.scans.synthetic import write_demo_timeseries

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    demo = write_demo_timeseries(tmp_path / "ts", 6, n_regions=5, n_timepoints=20)
    tab = ScansTab()
    qtbot.addWidget(tab)
    with qtbot.waitSignal(tab.sigRouteChanged, timeout=2000) as route:
        tab.form.route_combo.setCurrentIndex(tab.form.route_combo.findData("connectivity"))
    assert route.args == ["connectivity"] and tab.form.timeseries_row.isEnabled()
    tab.form.timeseries_edit.setText(str(demo.images))
    tab.form.labels_edit.setText(str(demo.table))
    tab.form.fill_columns()
    with qtbot.waitSignal(tab.load_runner.sigFinished, timeout=TIMEOUT):
        tab.load_cohort()
    assert [tab.table.item(r, 7).text() for r in range(6)] == ["ready"] * 6
    assert tab.viewer.volume is None  # nothing to show for region time series
    with qtbot.waitSignal(tab.sigTrainRequested, timeout=2000) as sig:
        tab.request_training()
    data_cfg = sig.args[0]
    assert data_cfg.route == "connectivity" and data_cfg.timeseries == str(demo.images)
    tab.shutdown()
