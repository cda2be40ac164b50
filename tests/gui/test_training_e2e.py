"""A biologist's session, end to end, through the real widgets: demo FASTA -> CNN on the CPU -> curves -> test
AUROC -> save and reopen the run -> predict -> a second run cancelled mid-way; closing during training; a failure.

The network is the DeepBind-style CNN made small (16 filters, seeded) so that 2 epochs on the 2,000 demo sequences
take seconds on an idle CPU core and still learn the planted motifs (test AUROC about 0.88).
"""
from __future__ import annotations

import math
import re
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from biodeep_gui.core.sequences.run import load_run
from biodeep_gui.gui.workers import running_threads

from .conftest import shot

#: the tabs this test drives (Filters and Mutation map start a long analysis when shown: their own tests cover them)
TAB_NAMES = ["sequences", "model", "training", "results", "predict", "compare"]


def open_demo_pair(window, qtbot, demo_files) -> None:
    """Place bound.fa + background.fa in the Sequences tab (as a drop does) and press Open."""
    tab = window.sequences_tab
    window.show_tab(tab)
    tab.add_files([str(demo_files["bound"]), str(demo_files["background"])])
    assert tab.form.bound_picker.path() == str(demo_files["bound"])
    assert tab.form.background_picker.path() == str(demo_files["background"])
    with qtbot.waitSignal(window.data_runner.sigFinished, timeout=120_000):
        qtbot.mouseClick(tab.open_button, Qt.MouseButton.LeftButton)
    ss, _ = tab.current_data()
    assert ss is not None and len(ss) == 2000 and ss.task == "binary"


def choose_small_cnn_on_cpu(window, qtbot, epochs: int) -> None:
    m = window.model_tab
    window.show_tab(m)
    m.arch_combo.setCurrentIndex(m.arch_combo.findData("cnn"))
    assert m.arch_combo.currentText() == "CNN (DeepBind)"
    p = m._param_widgets["cnn"]
    for name, value in (("filters", 16), ("filter_width", 15), ("hidden", 16)):
        p[name].setValue(value)
    m.device_combo.setCurrentIndex(m.device_combo.findData("cpu"))
    m.epochs_spin.setValue(epochs)
    m.patience_spin.setValue(0)
    m.batch_spin.setValue(32)
    m.lr_spin.setValue(0.01)
    m.seed_spin.setValue(0)
    assert m.device() == "cpu"


def test_a_whole_session_as_a_user(window, qtbot, demo_files, tmp_path, monkeypatch):
    window.resize(1280, 860)  # a laptop-sized window for the screenshots (the offscreen screen is 800 px)
    open_demo_pair(window, qtbot, demo_files)
    choose_small_cnn_on_cpu(window, qtbot, epochs=2)

    # ---- train 2 epochs ----------------------------------------------------------------------------------------
    with qtbot.waitSignal(window.train_runner.sigFinished, timeout=300_000) as done:
        qtbot.mouseClick(window.training_tab.start_button, Qt.MouseButton.LeftButton)
        assert window.current_tab() is window.training_tab
        assert not window.training_tab.start_button.isEnabled()
    summary = done.args[0]
    assert not summary.cancelled and summary.epochs_run == 2
    curves = window.training_tab.curves
    assert curves.epoch_points() == 2
    x, y = curves.train_curve.getData()
    assert list(x) == [1.0, 2.0] and all(math.isfinite(v) for v in y)
    assert curves.best_epoch() in (1, 2) and curves.best_lines[0].isVisible()
    assert window.training_tab.start_button.isEnabled()
    assert "Finished 2 epochs" in window.training_tab.log_text()

    # ---- File > Export figure, as PNG and SVG ------------------------------------------------------------------
    from PySide6.QtGui import QImage
    from PySide6.QtWidgets import QFileDialog

    for name in ("curves.png", "curves.svg"):
        target = tmp_path / name
        monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, t=target, **k: (str(t), ""))
        window.act_export.trigger()
        assert target.stat().st_size > 1000
    assert QImage(str(tmp_path / "curves.png")).width() >= 800
    assert "<svg" in (tmp_path / "curves.svg").read_text()[:2000]

    # ---- results: a test AUROC ---------------------------------------------------------------------------------
    run_dir = Path(summary.run_dir)
    assert run_dir.parent == Path(window.sequences.runs_folder()) and run_dir.name.startswith("cnn-")
    window.show_tab(window.results_tab)
    text = window.results_tab.metric_text("auroc")
    auroc = float(text)
    assert 0.7 < auroc <= 1.0  # it learned the planted motifs
    assert auroc == pytest.approx(summary.metrics["test_auroc"], abs=1e-3)
    lo, hi = summary.intervals["auroc"]  # the end-of-training line quotes the interval with the value
    assert f"(95 % interval {lo:.3f} to {hi:.3f})" in window.training_tab.run_label.text()
    assert window.results_tab.metric_text("auroc", "interval") == f"{lo:.3f} to {hi:.3f}"

    # ---- a k-mer baseline on the same data, for the comparison ---------------------------------------------------
    window.model_tab.arch_combo.setCurrentIndex(window.model_tab.arch_combo.findData("kmer"))
    with qtbot.waitSignal(window.train_runner.sigFinished, timeout=300_000) as done:
        qtbot.mouseClick(window.training_tab.start_button, Qt.MouseButton.LeftButton)
    kmer = done.args[0]
    assert kmer.arch == "kmer" and 0.5 < kmer.metrics["test_auroc"] <= 1.0
    assert [r.info.arch for r in window.compare_tab.runs()] == ["cnn", "kmer"]
    assert "k-mer" in window.compare_tab.verdict.text()
    window.compare_tab.select_run(str(run_dir))  # back to the CNN, as a user clicking its row
    assert window.results_tab.current_run().path == run_dir
    # the interpretation tabs follow, with the opened sequences (the run was trained on these files)
    assert window.filters_tab.run().path == run_dir and window.mutation_tab.picker.count() > 0

    # ---- predict on predict_me.fa ------------------------------------------------------------------------------
    window.show_tab(window.predict_tab)
    assert window.predict_tab.current_run().path == run_dir
    window.predict_tab.file_picker.set_path(str(demo_files["predict_me"]))
    with qtbot.waitSignal(window.predict_runner.sigFinished, timeout=120_000):
        qtbot.mouseClick(window.predict_tab.predict_button, Qt.MouseButton.LeftButton)
    assert window.predict_tab.row_count() == 300
    top = float(window.predict_tab.proxy.index(0, 1).data())
    assert 0.0 <= top <= 1.0

    for i, name in enumerate(TAB_NAMES):
        window.show_tab(getattr(window, f"{name}_tab"))
        qtbot.wait(50)
        shot(window, f"e2e_{i + 1}_{name}")

    # ---- save the run, reopen the copy -------------------------------------------------------------------------
    copy = window.sequences.save_run_as(tmp_path / "saved-run")
    assert copy is not None and (copy / "model.safetensors").exists()
    reopened = window.open_run(copy)
    assert reopened is not None and window.current_tab() is window.results_tab
    assert window.results_tab.current_run().path == copy
    assert window.results_tab.metric_text("auroc") == text
    assert load_run(copy).metrics == load_run(run_dir).metrics
    assert [r.path for r in window.sequences.runs()] == [run_dir, Path(kmer.run_dir), copy]
    assert len(window.compare_tab.runs()) == 3

    # ---- a second CNN run, cancelled mid-way -----------------------------------------------------------------------
    window.model_tab.set_architecture("cnn")
    window.model_tab.epochs_spin.setValue(200)
    qtbot.mouseClick(window.training_tab.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.training_tab.progress.format().startswith("Epoch"), timeout=120_000)
    with qtbot.waitSignal(window.train_runner.sigFinished, timeout=60_000) as stopped:
        qtbot.keyClick(window, Qt.Key.Key_Escape)  # the Stop shortcut
    assert stopped.args[0].cancelled
    assert not window.train_runner.is_running() and "training" not in running_threads()
    assert "Stop" in window.training_tab.log_text()
    assert window.training_tab.start_button.isEnabled()
    shot(window, "e2e_7_training_cancelled")


def test_closing_during_training_joins_the_thread(window, qtbot, demo_files):
    open_demo_pair(window, qtbot, demo_files)
    choose_small_cnn_on_cpu(window, qtbot, epochs=500)
    qtbot.mouseClick(window.training_tab.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.training_tab.progress.format().startswith("Epoch"), timeout=120_000)
    assert window.train_runner.is_running()
    window.close()
    assert not window.train_runner.is_running()
    assert running_threads() == []


def test_a_training_error_is_shown_and_the_app_stays_usable(window, qtbot, demo_files):
    """A real core error: training asked for on CUDA with a PyTorch that cannot use it."""
    from biodeep_gui.core.common.devices import cuda_unavailable_reason

    reason = cuda_unavailable_reason()
    if not reason:
        pytest.skip("CUDA is usable here; this failure needs a machine without it")
    open_demo_pair(window, qtbot, demo_files)
    choose_small_cnn_on_cpu(window, qtbot, epochs=1)
    m = window.model_tab
    qtbot.waitUntil(lambda: m.devices() is not None, timeout=120_000)
    cuda = m.device_combo.findData("cuda")
    assert cuda >= 0 and not m.device_model.item(cuda).isEnabled()  # the user cannot pick it ...
    m.device_combo.setCurrentIndex(cuda)  # ... but a device can vanish between listing and training
    with qtbot.waitSignal(window.train_runner.sigFailed, timeout=120_000) as failed:
        window.start_training()
    message = failed.args[0]
    assert "CUDA" in message and "Traceback" not in message
    assert re.search("ERROR: .*CUDA", window.training_tab.log_text())
    boxes = [d for d in window.open_dialogs() if d.windowTitle() == "Training failed"]
    assert boxes and reason.split(";")[0] in boxes[0].text()
    assert "Traceback" in boxes[0].detailedText()
    shot(window, "e2e_8_training_failed")
    for box in boxes:
        box.close()
    m.device_combo.setCurrentIndex(m.device_combo.findData("cpu"))
    qtbot.mouseClick(window.training_tab.start_button, Qt.MouseButton.LeftButton)  # usable: trains again on the CPU
    qtbot.waitUntil(lambda: window.training_tab.progress.format().startswith("Epoch"), timeout=120_000)
    with qtbot.waitSignal(window.train_runner.sigFinished, timeout=60_000):
        qtbot.mouseClick(window.training_tab.stop_button, Qt.MouseButton.LeftButton)
