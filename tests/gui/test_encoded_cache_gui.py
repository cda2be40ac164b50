"""The encoded cache from the window: the Sequences tab's control, its place in projects and settings, a cached
(memory-mapped) set shown, trained on and predicted with through the real widgets, and shown without copying
its codes.

The cache root is the per-user cache folder, which the autouse fixture of ``tests/gui/conftest.py`` moves under
the test's tmp folder (``BIODEEP_HOME``): ``tmp_path / "biodeep-home" / "cache" / "encoded"``.
"""
from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt

from biodeep_gui.core.sequences import summary as S
from biodeep_gui.core.sequences.cache import CachedSequenceSet, default_root, load_cached
from biodeep_gui.core.sequences.config import DataConfig
from biodeep_gui.core.sequences.synthetic import format_fasta, planted_motif_set
from biodeep_gui.gui.tabs.sequences.sequences_tab import SequencesTab

from .conftest import shot

MODES = {"auto": "Automatic (large inputs)", "on": "Always", "off": "Never"}


def _pair(folder: Path, n: int = 160, length: int = 60, seed: int = 1) -> tuple[Path, Path]:
    """A tiny SYNTHETIC bound / background FASTA pair (planted CTCF sites in half of the records)."""
    s = planted_motif_set(n=n, length=length, seed=seed, motifs=("MA0139",))
    folder.mkdir(parents=True, exist_ok=True)
    for name, want in (("bound.fa", 1), ("background.fa", 0)):
        keep = [i for i, y in enumerate(s.labels) if y == want]
        (folder / name).write_text(format_fasta([s.ids[i] for i in keep], [s.sequences[i] for i in keep]))
    return folder / "bound.fa", folder / "background.fa"


def _choose(combo, mode: str) -> None:
    """Pick an entry as a user does: the combo changes and says it was activated."""
    i = combo.findData(mode)
    combo.setCurrentIndex(i)
    combo.activated.emit(i)


@pytest.fixture
def tab(qtbot):
    w = SequencesTab()
    qtbot.addWidget(w)
    w.resize(1280, 800)
    w.show()
    return w


def test_the_control_feeds_the_data_config_and_is_filled_from_one(qtbot, tab):
    combo = tab.form.cache_combo
    assert [combo.itemText(i) for i in range(combo.count())] == list(MODES.values())
    assert tab.data_config().cache == "auto" == tab.cache_mode()
    tip = combo.toolTip()
    assert str(default_root()) in tip and "safe" in tip and "reuses" in tip and "memory" in tip
    for mode in MODES:
        with qtbot.waitSignal(tab.sigCacheModeChosen, timeout=1000) as chosen:
            _choose(combo, mode)
        assert chosen.args == [mode] and tab.data_config().cache == mode
    # a project or a run filling the form is not the user's choice: nothing to remember
    with qtbot.assertNotEmitted(tab.sigCacheModeChosen):
        tab.set_data_config(DataConfig(cache="on"))
    assert combo.currentText() == "Always" and tab.data_config().cache == "on"
    tab.set_cache_mode("sometimes")  # a damaged remembered value changes nothing
    assert tab.cache_mode() == "on"


def test_the_choice_is_remembered_between_sessions_and_kept_in_projects(qtbot, tmp_path):
    from biodeep_gui.gui.main_window import MainWindow

    first = MainWindow()
    qtbot.addWidget(first)
    assert first.sequences_tab.cache_mode() == "auto"
    _choose(first.sequences_tab.form.cache_combo, "off")
    project = first.projects.save_project_as(tmp_path / "p.biodeep.json")
    first.close()
    assert json.loads(project.read_text())["data"]["cache"] == "off"

    second = MainWindow()  # a new session: the user's last choice comes back
    qtbot.addWidget(second)
    assert second.sequences_tab.cache_mode() == "off"
    _choose(second.sequences_tab.form.cache_combo, "on")
    assert second.projects.open_project(project)  # the project's own setting replaces it...
    assert second.sequences_tab.cache_mode() == "off" and second.sequences_tab.data_config().cache == "off"
    second.close()

    third = MainWindow()  # ...but only the user's own pick is remembered
    qtbot.addWidget(third)
    assert third.sequences_tab.cache_mode() == "on"
    third.close()


def test_a_cached_set_is_shown_trained_and_predicted_from_the_window(window, qtbot, tmp_path):
    from tests.gui.test_training_e2e import choose_small_cnn_on_cpu

    window.resize(1280, 800)
    bound, background = _pair(tmp_path / "data")
    tab = window.sequences_tab
    tab.add_files([str(bound), str(background)])
    _choose(tab.form.cache_combo, "on")
    with qtbot.waitSignal(window.data_runner.sigFinished, timeout=120_000):
        qtbot.mouseClick(tab.open_button, Qt.MouseButton.LeftButton)
    ss, cfg = tab.current_data()
    root = tmp_path / "biodeep-home" / "cache" / "encoded"
    assert isinstance(ss, CachedSequenceSet) and cfg.cache == "on" and len(ss) == 160
    assert Path(ss.cache_dir).parent == root and (Path(ss.cache_dir) / "codes.npy").is_file()
    assert isinstance(ss.codes, np.memmap)  # shown straight from the disk
    built = f"encoded into the cache: {ss.cache_dir}"
    assert built in tab.view.details.text() and built in window.statusBar().currentMessage()
    assert tab.view.headline.text() == "160 sequences · 60 bp · binary task"
    assert tab.view.records_model.rowCount() == 160 and tab.view.table_caption.text() == "All 160 records"
    first = [tab.view.records_model.index(0, c).data() for c in range(5)]
    assert first[0] == ss.ids[0] and first[1] == "bound" and len(first[4]) == 60
    assert tab.view.length_plot.n_bins() > 0 and tab.view.balance_plot.n_bars() == 2
    shot(window, "guicache_cached_set_1280")

    with qtbot.waitSignal(window.data_runner.sigFinished, timeout=120_000):  # a later Open reuses it
        qtbot.mouseClick(tab.open_button, Qt.MouseButton.LeftButton)
    again, _ = tab.current_data()
    reused = f"encoded cache reused: {again.cache_dir}"
    assert again.cache_dir == ss.cache_dir and again.cache_hit
    assert reused in tab.view.details.text() and reused in window.statusBar().currentMessage()

    choose_small_cnn_on_cpu(window, qtbot, epochs=1)
    with qtbot.waitSignal(window.train_runner.sigFinished, timeout=300_000) as done:
        qtbot.mouseClick(window.training_tab.start_button, Qt.MouseButton.LeftButton)
    summary = done.args[0]
    assert not summary.cancelled and summary.epochs_run == 1
    run = window.results_tab.current_run()
    assert run is not None and Path(run.path) == Path(summary.run_dir)
    assert run.config.data.cache == "on" and len(run.history) == 1
    assert window.results_tab.current_run() is window.predict_tab.current_run()

    window.show_tab(window.predict_tab)
    window.predict_tab.file_picker.set_path(str(bound))
    with qtbot.waitSignal(window.predict_runner.sigFinished, timeout=120_000):
        qtbot.mouseClick(window.predict_tab.predict_button, Qt.MouseButton.LeftButton)
    assert window.predict_tab.row_count() == 80


def test_showing_a_cached_set_never_copies_its_codes(tab, tmp_path, monkeypatch):
    """The summary, the preview table and the histograms read a memory-mapped set in bounded slices."""
    monkeypatch.setattr(S, "_CHUNK_BYTES", 1 << 16)  # small chunks, so that a small set tells a copy apart
    bound, background = _pair(tmp_path / "data", n=2000, length=1000, seed=2)
    cfg = DataConfig(fasta=str(bound), background=str(background), cache="on")
    ss = load_cached(cfg)
    nbytes = ss.codes.shape[0] * ss.codes.shape[1]
    assert nbytes == 2_000_000

    tab.ensure_plots()  # importing pyqtgraph and making the plots is not what is measured
    sub = ss.subset(np.arange(0, 2000, 3))  # a split of it (cached rows, decoded ids)
    out: dict = {}
    steps = {
        "summarize": lambda: out.setdefault("summ", S.summarize(ss)),
        "summarize 500 profiled": lambda: out.setdefault("sampled", S.summarize(ss, max_profiled=500)),
        "summarize a split": lambda: out.setdefault("sub", S.summarize(sub)),
        "show the set": lambda: tab.show_data(ss, cfg, out["summ"]),
        "show the split": lambda: tab.show_data(sub, cfg, out["sub"]),
    }
    tracemalloc.start()
    try:
        np.array(ss.codes)  # the check sees a whole copy (numpy reports its buffers to tracemalloc)
        grown = {"a copy": tracemalloc.get_traced_memory()[1]}
        for name, step in steps.items():
            held = tracemalloc.get_traced_memory()[0]
            tracemalloc.reset_peak()
            step()
            grown[name] = tracemalloc.get_traced_memory()[1] - held
    finally:
        tracemalloc.stop()
    assert grown.pop("a copy") >= nbytes
    # a split's codes are a third of the set: copying them would take 667 kB
    assert max(grown.values()) < nbytes / 4, f"bytes allocated for {nbytes:,} bytes of codes: {grown}"
    summ, sampled = out["summ"], out["sampled"]
    assert sampled.n_profiled == 500 and summ.n_profiled == 2000
    np.testing.assert_allclose(sampled.gc, summ.gc[sampled.profiled])
    assert tab.view.table_caption.text() == f"First 200 of {len(sub):,} records"
    assert tab.view.records_model.index(0, 0).data() == sub.ids[0]


def test_clear_encoded_cache_says_what_it_frees_and_keeps_the_open_set(window, qtbot, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    from biodeep_gui.core.common.devices import format_bytes
    from biodeep_gui.core.sequences.cache_folders import cache_folders

    a_bound, a_background = _pair(tmp_path / "a")
    b_bound, b_background = _pair(tmp_path / "b", n=100, seed=3)
    opened = DataConfig(fasta=str(a_bound), background=str(a_background), cache="on")
    other = load_cached(DataConfig(fasta=str(b_bound), background=str(b_background), cache="on"))
    stray = default_root() / "my notes"  # not an encoded set: never counted nor deleted
    stray.mkdir()
    (stray / "keep.txt").write_text("mine")
    with qtbot.waitSignal(window.data_runner.sigFinished, timeout=120_000):
        window.sequences.open_data(opened)
    ss, _ = window.sequences_tab.current_data()
    assert sorted(p for p, _n in cache_folders()) == sorted([Path(ss.cache_dir), Path(other.cache_dir)])
    size = dict(cache_folders())[Path(other.cache_dir)]

    box = window.sequences.ask_clear_cache()
    text = box.text()
    assert box in window.open_dialogs() and f"Delete 1 encoded set in {default_root()}?" in text
    assert f"frees {format_bytes(size)} of disk" in text and "The set open in the Sequences tab is kept." in text
    box.grab().save("/tmp/guicache_clear_box.png")
    with monkeypatch.context() as busy:  # a read started while the question was open: nothing is deleted yet
        busy.setattr(window.data_runner, "is_running", lambda: True)
        box.button(QMessageBox.StandardButton.Yes).click()
        assert Path(other.cache_dir).is_dir()
        assert window.open_dialogs()[-1].windowTitle() == "Encoded cache in use"
        assert window.sequences.ask_clear_cache().windowTitle() == "Encoded cache in use"
    box = window.sequences.ask_clear_cache()
    box.button(QMessageBox.StandardButton.Yes).click()
    assert not Path(other.cache_dir).exists() and (Path(ss.cache_dir) / "codes.npy").is_file()
    assert (stray / "keep.txt").read_text() == "mine"
    assert window.statusBar().currentMessage() == f"Encoded cache cleared: {format_bytes(size)} freed"
    assert int(np.asarray(ss.codes[0]).size) == 60  # the open set still reads from its folder

    empty = window.sequences.ask_clear_cache()
    assert empty.windowTitle() == "Encoded cache is empty" and "is kept" in empty.text()
