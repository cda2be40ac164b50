"""Every tab of both sciences fits common laptop screens: 1024×640, 1280×800 and 1366×768.

One window per state (empty, and with SYNTHETIC data and small trained runs opened) is built once for the module
and resized to each size. For every tab the science shows (and every page of a tab's own tab widget) the test
asserts that the tab bar needs no scroll buttons, that no scroll area needs a horizontal scrollbar, that no visible
one-line label or button is narrower than its text (clipped) and that no word-wrapped label is shorter than its
text needs (cut). Every screen is saved as /tmp/shell_fit/<tab>_<w>x<h>.png for a person to look at.
"""
from __future__ import annotations

import time
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, QEvent, QSettings
from PySide6.QtWidgets import (
    QAbstractScrollArea,
    QApplication,
    QGroupBox,
    QLabel,
    QPushButton,
    QScrollArea,
    QSplitter,
    QStackedWidget,
    QTabWidget,
    QToolButton,
    QWidget,
)

from biodeep_gui.gui.sciences import DNA, SCANS, titles

SIZES = [(1024, 640), (1280, 800), (1366, 768)]
OUT = Path("/tmp/shell_fit")
#: Seconds a worker (reading, inspecting, training a tiny run) may take before the set-up gives up.
WAIT_S = 120


def _wait(condition, what: str) -> None:
    """Process events until ``condition()`` holds; fail, naming ``what``, if it has not after WAIT_S."""
    deadline = time.monotonic() + WAIT_S
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        QApplication.processEvents()
        time.sleep(0.01)


def _settle() -> None:
    for _ in range(4):  # layout requests beget layout requests (a label given two lines, a reflowed grid)
        QApplication.processEvents()


@pytest.fixture(scope="module")
def _module_state(qapp, tmp_path_factory):
    """Private settings and data folders for the module's windows (the per-test ones come too late for them)."""
    root = tmp_path_factory.mktemp("fit")
    with pytest.MonkeyPatch.context() as mp:
        QSettings.setDefaultFormat(QSettings.Format.IniFormat)
        QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(root / "qsettings"))
        QCoreApplication.setOrganizationName("BioDeepTests")
        QCoreApplication.setApplicationName("BioDeep")
        mp.setenv("BIODEEP_HOME", str(root / "home"))
        yield root


def _new_window():
    from biodeep_gui.gui.main_window import MainWindow

    w = MainWindow()
    w.show()
    _settle()
    # device discovery starts a moment after the first paint: let it finish before the tests time their threads
    _wait(lambda: w.is_ready() and w.model_tab.devices() is not None and not w.is_busy(), "the window to start")
    return w


def _close(w) -> None:
    w.close()
    # deleted here, in the GUI thread: left to Python's cycle collector, which may run in a worker thread,
    # the widgets would be deleted from that thread (a crash)
    w.deleteLater()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    _settle()


@pytest.fixture(scope="module")
def empty_window(_module_state):
    w = _new_window()
    yield w
    _close(w)


@pytest.fixture(scope="module")
def scans_run(_module_state):
    """A tiny brain-scans run trained by the core (8 SYNTHETIC subjects, 2 folds) and its demo cohort."""
    import torch

    from biodeep_gui.core.scans.config import ScansConfig
    from biodeep_gui.core.scans.pipeline import train_scans
    from biodeep_gui.core.scans.synthetic import write_demo_cohort

    root = _module_state / "scans"
    demo = write_demo_cohort(root / "demo", 8, (16, 20, 16), seed=3)
    cfg = ScansConfig()
    d = cfg.data
    d.images, d.labels, d.file_column, d.site_column = str(demo.images), str(demo.table), "FILE_ID", "SITE_ID"
    d.cache_dir = str(root / "cache")
    cfg.model.autoencoder, cfg.model.cnn = {"depth": 2, "code_size": 16}, {"depth": 2}
    cfg.train.epochs, cfg.train.batch_size, cfg.train.lr, cfg.train.preview_every = 3, 2, 2e-3, 1
    cfg.train.cnn_epochs, cfg.cv.folds, cfg.cv.permutations = 1, 2, 2
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small 3-D convolutions spin with two threads on a shared 2-core machine
    try:
        for _ in train_scans(cfg, root / "run"):
            pass
    finally:
        torch.set_num_threads(threads)
    return {"demo": demo, "run": root / "run"}


@pytest.fixture(scope="module")
def loaded_window(_module_state, planted_fasta_runs, scans_run):
    """A window with sequences, a CNN and a k-mer run (filters analysed), a cohort and a scans run opened."""
    from biodeep_gui.core.sequences.config import DataConfig

    w = _new_window()
    root = planted_fasta_runs.root
    w.sequences.open_data(DataConfig(kind="fasta", fasta=str(root / "bound.fa"),
                                     background=str(root / "background.fa")))
    _wait(lambda: not w.is_busy() and w.sequences_tab.current_data()[0] is not None, "the sequences to open")
    w.open_run(planted_fasta_runs.kmer_dir)
    w.open_run(planted_fasta_runs.cnn_dir)
    w.show_tab(w.filters_tab)  # the analysis starts when the tab is shown
    _settle()
    _wait(lambda: not w.is_busy() and w.filters_tab.cards(), "the filter analysis")
    form = w.scans_tab.form
    form.images_edit.setText(str(scans_run["demo"].images))
    form.labels_edit.setText(str(scans_run["demo"].table))
    form.fill_columns()
    form.load_button.click()
    _wait(lambda: not w.is_busy() and w.scans_tab.cohort is not None, "the cohort to load")
    w.open_run(scans_run["run"])
    _wait(lambda: not w.is_busy(), "the scans run to open")
    yield w
    _close(w)


# ---- what "fits" means ------------------------------------------------------------------------------------------
def _shown(widget, window) -> bool:
    return widget.isVisibleTo(window) and widget.isVisible() and widget.width() > 0


def _widest(root, window) -> str:
    """The three widest visible controls under ``root`` (what to look at when it does not fit)."""
    boxes = (QScrollArea, QSplitter, QStackedWidget, QTabWidget, QGroupBox, QAbstractScrollArea)
    parts = [w for w in root.findChildren(QWidget) if _shown(w, window) and type(w) is not QWidget
             and not isinstance(w, boxes) and w.parent() is not None and not isinstance(w.parent(), QAbstractScrollArea)]
    parts.sort(key=lambda w: -w.minimumSizeHint().width())
    return ", ".join(f"{type(w).__name__} {getattr(w, 'text', lambda: '')()[:30]!r} {w.minimumSizeHint().width()}"
                     for w in parts[:3])


def problems(window) -> list[str]:
    """What does not fit in the window as it is now: one line per problem."""
    out = []
    bar = window.tabs.tabBar()
    arrows = [b for b in bar.findChildren(QToolButton) if b.isVisible()]
    if arrows or bar.sizeHint().width() > bar.width():
        out.append(f"tab bar needs {bar.sizeHint().width()} px, has {bar.width()} (scroll buttons shown)")
    page = window.tabs.currentWidget()
    areas = [page] + [a for a in page.findChildren(QScrollArea) if _shown(a, window)]
    for area in areas:
        if area.horizontalScrollBar().isVisible():
            inner = area.widget()
            out.append(f"horizontal scrollbar: {type(inner).__name__} needs {inner.minimumSizeHint().width()} px, "
                       f"has {area.viewport().width()}; widest parts: {_widest(inner, window)}")
    for w in [window.next_step.label] + page.findChildren(QLabel) + page.findChildren(QPushButton):
        if not _shown(w, window) or not w.text().strip():
            continue
        hint = w.sizeHint()
        if isinstance(w, QLabel) and w.wordWrap():
            need = w.heightForWidth(w.width())
            if need > w.height() + 1:
                out.append(f"label cut: {w.text()[:60]!r} needs {need} px high, has {w.height()}")
        elif w.width() + 1 < hint.width():
            out.append(f"{type(w).__name__} clipped: {w.text()[:60]!r} needs {hint.width()} px, has {w.width()}")
    return out


def _slug(text: str) -> str:
    return text.lower().replace(" ", "-")


def _check_every_tab(window, size, state: str) -> list[str]:
    """Show every tab of both sciences at ``size``, save a screenshot of each, and list what does not fit."""
    OUT.mkdir(parents=True, exist_ok=True)
    window.resize(*size)
    found = []
    for science in (DNA, SCANS):
        window.set_science(science)
        window.model_tab.refresh(with_devices=False)  # the Model tab describes the network of this science
        _wait(lambda: not window.is_busy(), "the Model tab's inspection")
        for title in titles(science):
            window.show_tab_titled(title)
            _settle()
            assert window.science() == science and window.tabs.tabText(window.tabs.currentIndex()) == title
            tab = window.current_tab()
            inner = [t for t in tab.findChildren(QTabWidget) if _shown(t, window)]
            pages = [(None, 0)] + [(t, i) for t in inner for i in range(t.count()) if i != t.currentIndex()]
            for sub, i in pages:
                before = sub.currentIndex() if sub is not None else None
                if sub is not None:
                    sub.setCurrentIndex(i)
                    _settle()
                shared = title in titles(DNA) and title in titles(SCANS)  # Model and Training: once per science
                name = _slug(title) + ("-scans" if shared and science == SCANS else "")
                if sub is not None:
                    name += "-" + _slug(sub.tabText(i))
                name += "" if state == "empty" else f"-{state}"
                window.grab().save(str(OUT / f"{name}_{size[0]}x{size[1]}.png"))
                found += [f"{name} at {size[0]}×{size[1]}: {p}" for p in problems(window)]
                if sub is not None:
                    sub.setCurrentIndex(before)
    return found


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_every_tab_fits_when_empty(empty_window, size):
    found = _check_every_tab(empty_window, size, "empty")
    _wait(lambda: not empty_window.is_busy(), "the tabs' workers")
    assert not found, "\n".join(found)


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_every_tab_fits_with_data_and_runs(loaded_window, size):
    assert len(loaded_window.filters_tab.cards()) == 8
    found = _check_every_tab(loaded_window, size, "loaded")
    _wait(lambda: not loaded_window.is_busy(), "the tabs' workers")
    assert not found, "\n".join(found)


def test_the_filter_grid_reflows_to_the_width(loaded_window):
    """The cards fill the grid's width: as many columns as fit, whatever width the tab was last laid out at."""
    from biodeep_gui.gui.tabs.sequences.filter_cards import CARD_W

    tab = loaded_window.filters_tab
    for size in ((1366, 768), (1024, 640), (1280, 800)):
        loaded_window.show_tab(loaded_window.results_tab)  # resized while hidden, as a user does
        loaded_window.resize(*size)
        _settle()
        loaded_window.show_tab(tab)
        _settle()
        width = tab.scroll.viewport().width()
        right = max(c.geometry().right() for c in tab.cards())
        assert width - right < CARD_W + 12, f"{width - right} px left empty at {size}"
        assert right <= width
