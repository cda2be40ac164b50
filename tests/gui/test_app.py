"""The window, its menus and settings, the worker mechanism, the Model tab and projects, driven as a user would."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt, QThread
from PySide6.QtGui import QKeySequence

from biodeep_gui.core.common.errors import InputFileError
from biodeep_gui.core.project import Project, save_project
from biodeep_gui.core.sequences.config import DataConfig
from biodeep_gui.core.sequences.models import ARCHITECTURES
from biodeep_gui.core.training.config import TrainConfig
from biodeep_gui.gui.workers import WORKER_NICE, TaskRunner, error_message

from .conftest import shot

ROOT = Path(__file__).resolve().parents[2]
TAB_TITLES = ["Sequences", "Model", "Training", "Results", "Filters", "Mutation map", "Predict", "Compare", "Variants",
              "Found motifs", "Scans", "Reconstructions"]


# ---- start-up ---------------------------------------------------------------------------------------------------
def test_window_paints_without_importing_torch(tmp_path):
    """A fresh process shows the window with torch not imported (it costs ~1.4 s at start-up), nor pyqtgraph
    (~0.5 s): the Sequences tab's plots are made just after the first paint."""
    code = textwrap.dedent("""
        import sys
        from PySide6.QtCore import QEvent, QObject, QTimer
        from biodeep_gui.gui.app import create_app

        class FirstPaint(QObject):
            def eventFilter(self, obj, event):
                if event.type() == QEvent.Type.Paint and not hasattr(self, "seen"):
                    self.seen = True
                    print("torch imported at first paint:", "torch" in sys.modules, flush=True)
                    print("pyqtgraph imported at first paint:", "pyqtgraph" in sys.modules, flush=True)
                    print("all tabs built at first paint:", window.is_ready(), flush=True)
                return False

        app, window, _ = create_app([])
        window.sigReady.connect(window.close)  # the other tabs are built just after the first paint
        watcher = FirstPaint()
        app.installEventFilter(watcher)  # the first paint of any widget of the window
        window.update()
        app.exec()
        print("tabs:", [window.tabs.tabText(i) for i in range(window.tabs.count())])
        print("all tabs built:", window.is_ready(), type(window.compare_tab).__name__)
    """)
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", BIODEEP_HOME=str(tmp_path / "home"),
               XDG_CONFIG_HOME=str(tmp_path / "config"))
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=180)
    assert out.returncode == 0, out.stderr
    assert "torch imported at first paint: False" in out.stdout
    assert "pyqtgraph imported at first paint: False" in out.stdout
    assert "all tabs built at first paint: False" in out.stdout
    assert "'Sequences', 'Model', 'Training', 'Results', 'Filters', 'Mutation map', 'Predict', 'Compare'" in out.stdout
    assert "all tabs built: True CompareTab" in out.stdout


def test_tabs_menus_and_shortcuts(window):
    assert [window.tabs.tabText(i) for i in range(window.tabs.count())] == TAB_TITLES
    menus = {a.text().replace("&", ""): a.menu() for a in window.menuBar().actions()}
    assert list(menus) == ["File", "View", "Training", "Help"]
    file_items = [a.text() for a in menus["File"].actions() if a.text()]
    for item in ("Open sequences…", "Open project…", "Recent projects", "Save project", "Save project as…",
                 "Open run…", "Save run as…", "Export figure…", "Quit"):
        assert item in file_items
    assert [a.text() for a in menus["Help"].actions()] == ["Guide", "Glossary", "Open demo data", "About BioDeep"]
    assert window.act_open_seq.shortcut() == QKeySequence(QKeySequence.StandardKey.Open)
    assert window.act_start.shortcut() == QKeySequence("Ctrl+R")
    stops = [s.toString() for s in window.act_stop.shortcuts()]
    assert "Esc" in stops and "Ctrl+." in stops
    shot(window, "app_window_start")


def test_status_bar_shows_device_and_memory(window, qtbot):
    qtbot.waitUntil(lambda: window.memory_label.text().startswith("Memory:"), timeout=3000)
    mb = float(window.memory_label.text().split()[1].replace(",", ""))
    assert 20 < mb < 100_000
    assert window.device_label.text().startswith("Device: ")
    qtbot.waitUntil(lambda: window.model_tab.devices() is not None, timeout=120_000)
    assert "CPU" in window.device_label.text()


def test_about_lists_versions(window, qtbot):
    box = window.session.show_about()
    text = box.text()
    for word in ("BioDeep", "PyTorch", "Qt", "Python", "CUDA"):
        assert word in text
    from PySide6.QtCore import qVersion

    assert qVersion() in text
    box.close()
    qtbot.waitUntil(lambda: not window.open_dialogs())


def test_settings_are_remembered(qtbot):
    from biodeep_gui.gui.main_window import MainWindow

    w = MainWindow()
    qtbot.addWidget(w)
    w.show()
    w.resize(720, 540)
    w.model_tab.set_architecture("cnn-lstm")
    w.model_tab.set_params("cnn-lstm", {"cell": "gru", "rnn_hidden": 24})
    w.model_tab.epochs_spin.setValue(7)
    w.model_tab.rc_check.setChecked(True)
    w.close()

    w2 = MainWindow()
    qtbot.addWidget(w2)
    assert w2.model_tab.architecture() == "cnn-lstm"
    assert w2.model_tab.params()["cell"] == "gru" and w2.model_tab.params()["rnn_hidden"] == 24
    assert w2.model_tab.train_config().epochs == 7 and w2.model_tab.train_config().rc_augment
    assert (w2.width(), w2.height()) == (720, 540)
    w2.close()


# ---- the worker mechanism ---------------------------------------------------------------------------------------
def _count(n, *, should_stop, pause=0.0):
    for i in range(n):
        if should_stop():
            return "cancelled"
        if pause:
            time.sleep(pause)
        yield i
    return "done"


def _forever(*, should_stop):
    i = 0
    while not should_stop():
        time.sleep(0.002)
        i += 1
        yield i
    return i


def _thread_facts(*, should_stop):
    yield threading.get_native_id()
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) if sys.platform.startswith("linux") else None


def _raise(exc, *, should_stop):
    yield 1
    raise exc


def test_items_arrive_in_batches_in_order_in_the_gui_thread(qtbot):
    runner = TaskRunner(name="test")
    batches, threads = [], []
    runner.sigItems.connect(lambda items: (batches.append(list(items)), threads.append(QThread.currentThread())))
    with qtbot.waitSignal(runner.sigFinished, timeout=30_000) as blocker:
        runner.start(_count, 300, pause=0.002)
    assert blocker.args == ["done"]
    assert not runner.is_running()
    flat = [x for b in batches for x in b]
    assert flat == list(range(300))
    assert len(batches) < 60  # batched (~10 per second), not one signal per item
    assert all(t is qtbot_thread(qtbot) for t in threads)


def qtbot_thread(qtbot):
    from PySide6.QtWidgets import QApplication

    return QApplication.instance().thread()


def test_cancel_stops_a_running_task_promptly(qtbot):
    runner = TaskRunner(name="test")
    got = []
    runner.sigItems.connect(got.extend)
    runner.start(_forever)
    qtbot.waitUntil(lambda: len(got) > 5, timeout=10_000)
    with qtbot.waitSignal(runner.sigFinished, timeout=5_000) as blocker:
        runner.cancel()
    assert runner.was_cancelled() and not runner.is_running()
    assert blocker.args[0] >= len(got)


def test_shutdown_joins_a_busy_worker(qtbot):
    runner = TaskRunner(name="test")
    runner.start(_forever)
    qtbot.wait(50)
    runner.shutdown()
    assert not runner.is_running()
    from biodeep_gui.gui.workers import running_threads

    assert "test" not in running_threads()


def test_window_registry_sees_every_runner_and_shutdown_joins_them(window, qtbot):
    """is_busy and shutdown read one registry: the window's own runners and those its tabs own."""
    from biodeep_gui.gui.workers import running_threads

    window.build_tabs()
    own = {r.name for r in window.workers.runners()}
    assert {"data", "training", "predict", "scans", "scans-cohort", "mutagenesis", "filters"} <= own
    tab_runner = TaskRunner(window.predict_tab, name="tab-task")  # a runner a tab might add later
    assert tab_runner in window.workers.runners() and not window.is_busy()
    tab_runner.start(_forever)
    window.train_runner.start(_forever)
    assert window.is_busy() and set(window.workers.running()) == {"tab-task", "training"}
    window.shutdown()
    assert not window.is_busy() and not {"tab-task", "training"} & set(running_threads())


def test_a_second_task_while_one_runs_is_refused(qtbot):
    runner = TaskRunner(name="test")
    runner.start(_forever)
    with pytest.raises(RuntimeError, match="already running"):
        runner.start(_forever)
    runner.shutdown()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread niceness is a Linux feature")
def test_worker_thread_runs_at_lower_priority(qtbot):
    runner = TaskRunner(name="test")
    with qtbot.waitSignal(runner.sigFinished, timeout=10_000) as blocker:
        runner.start(_thread_facts)
    assert blocker.args[0] >= WORKER_NICE
    normal = TaskRunner(name="test", priority="normal")
    with qtbot.waitSignal(normal.sigFinished, timeout=10_000) as blocker:
        normal.start(_thread_facts)
    assert blocker.args[0] < WORKER_NICE


def test_errors_become_messages_with_details(qtbot):
    runner = TaskRunner(name="test")
    err = InputFileError("reads.fa", "a sequence holds digits", record=3, record_id="s3")
    with qtbot.waitSignal(runner.sigFailed, timeout=10_000) as blocker:
        runner.start(_raise, err)
    message, details = blocker.args
    assert message == str(err) and "reads.fa: record 3 ('s3')" in message
    assert "Traceback" in details and "InputFileError" in details
    with qtbot.waitSignal(runner.sigFailed, timeout=10_000) as blocker:
        runner.start(_raise, ZeroDivisionError("division by zero"))
    assert blocker.args[0] == "unexpected error (ZeroDivisionError: division by zero)"
    assert error_message(MemoryError()).startswith("the computer ran out of memory")


def test_plain_function_call(qtbot):
    runner = TaskRunner(name="test")
    with qtbot.waitSignal(runner.sigFinished, timeout=10_000) as blocker:
        runner.call(sorted, [3, 1, 2], reverse=True)
    assert blocker.args == [[3, 2, 1]]


# ---- Model tab ----------------------------------------------------------------------------------------------------
def test_model_form_is_generated_from_the_param_specs(qtbot):
    from biodeep_gui.gui.tabs.model_tab import ModelTab

    tab = ModelTab()
    qtbot.addWidget(tab)
    # the sequence networks, a separator, then the brain-scan pipeline
    assert [tab.arch_combo.itemData(i) for i in range(tab.arch_combo.count())] == [*ARCHITECTURES, None, "scans"]
    labels = [tab.arch_combo.itemText(i) for i in range(tab.arch_combo.count())]
    assert labels[:3] == ["Fully connected", "CNN (DeepBind)", "CNN-LSTM (DanQ)"]
    for name, spec in ARCHITECTURES.items():
        widgets = tab._param_widgets[name]
        assert list(widgets) == [p.name for p in spec.params]
        for p in spec.params:
            assert p.help in widgets[p.name].toolTip()
        tab.set_architecture(name)
        assert tab.params() == {p.name: p.default for p in spec.params}
        assert spec.summary == tab.summary_label.text()
    tab.set_architecture("cnn")
    tab._param_widgets["cnn"]["filters"].setValue(12)
    tab.epochs_spin.setValue(3)
    cfg = tab.run_config(DataConfig(fasta="a.fa", background="b.fa"), name="x")
    assert cfg.model.arch == "cnn" and cfg.model.params["filters"] == 12 and cfg.train.epochs == 3
    assert cfg.train.device == "cpu"
    assert tab.epochs_spin.toolTip() and tab.batch_spin.toolTip() and tab.lr_spin.toolTip()
    tab.set_architecture("kmer")
    assert not tab.epochs_spin.isEnabled() and tab.seed_spin.isEnabled() and not tab.device_combo.isEnabled()


def test_model_tab_counts_parameters_and_lists_devices(qtbot):
    """The count shown is the real model's, built in the worker; CUDA is greyed out with the reason when unusable."""
    from biodeep_gui.core.common import devices
    from biodeep_gui.core.sequences.models import build_model
    from biodeep_gui.core.training.architecture import count_parameters
    from biodeep_gui.gui.tabs.model_tab import ModelTab

    tab = ModelTab()
    qtbot.addWidget(tab)
    tab.resize(1100, 760)
    tab.show()
    tab.set_architecture("cnn-lstm")
    tab.set_data_shape(120, 1)
    with qtbot.waitSignal(tab.sigInspected, timeout=120_000):
        tab.refresh()
    qtbot.waitUntil(lambda: not tab.is_busy() and tab.inspection() is not None
                    and tab.inspection().arch == "cnn-lstm", timeout=60_000)
    expected = count_parameters(build_model("cnn-lstm", 120, 1, tab.params()))
    assert tab.params_label.text() == f"{expected:,} trainable parameters"
    assert "first_conv" in tab.diagram.toPlainText() and "LSTM" in tab.diagram.toPlainText()
    assert "Estimated training memory" in tab.memory_label.text()
    found = devices.available_devices()
    names = [tab.device_model.item(i).data(Qt.ItemDataRole.UserRole) for i in range(tab.device_model.rowCount())]
    assert names == [d.name for d in found]
    for i, d in enumerate(found):
        item = tab.device_model.item(i)
        assert item.isEnabled() == d.usable
        if not d.usable:
            assert d.reason in item.toolTip()
            assert "not usable" in tab.device_note.text()
    shot(tab, "model_tab_cnn_lstm")
    tab.shutdown()


def test_model_tab_autoencoder_classifier_entry(qtbot, tmp_path):
    """"Autoencoder → classifier" is a Model-tab architecture: its page is generated from the scans Param specs,
    the real 3-D autoencoder is built in the worker for the cohort's grid, and the form makes the ScansConfig."""
    from biodeep_gui.core.common.errors import ConfigError
    from biodeep_gui.core.scans.config import ScansDataConfig
    from biodeep_gui.core.scans.models import SCANS_ARCHITECTURES, build_scans_model
    from biodeep_gui.core.training.architecture import count_parameters
    from biodeep_gui.gui.tabs.model_forms import SCANS_ARCH, SCANS_PARAMS, SCANS_SUMMARY
    from biodeep_gui.gui.tabs.model_tab import ModelTab

    tab = ModelTab()
    qtbot.addWidget(tab)
    tab.resize(1100, 760)
    tab.show()
    tab.set_architecture(SCANS_ARCH)
    assert tab.is_scans() and tab.summary_label.text() == SCANS_SUMMARY
    assert tab.params() == {p.name: p.default for p in SCANS_PARAMS}
    assert [p.name for p in SCANS_ARCHITECTURES["autoencoder3d"].params] == list(tab.params())[:4]
    assert not tab.epochs_spin.isEnabled() and not tab.rc_check.isEnabled()
    assert tab.seed_spin.isEnabled() and tab.device_combo.isEnabled()
    with pytest.raises(ConfigError, match="brain scans"):
        tab.run_config(DataConfig(fasta="a.fa", background="b.fa"))

    tab.set_scans_grid((20, 24, 18))
    tab._param_widgets[SCANS_ARCH]["code_size"].setValue(16)
    tab.refresh()
    qtbot.waitUntil(lambda: not tab.is_busy() and tab.inspection() is not None
                    and tab.inspection().arch == SCANS_ARCH, timeout=120_000)
    qtbot.waitUntil(lambda: not tab.is_busy(), timeout=60_000)  # the debounced re-inspection with code size 16
    ae = {k: v for k, v in tab.params().items() if k in ("depth", "channels", "code_size", "noise_std")}
    expected = count_parameters(build_scans_model("autoencoder3d", (20, 24, 18), ae))
    assert tab.params_label.text() == f"{expected:,} trainable parameters"
    assert "20 × 24 × 18" in tab.shape_label.text() and "1 × 20 × 24 × 18" in tab.diagram.toPlainText()
    assert "Estimated training memory" in tab.memory_label.text() and "batch size 4" in tab.memory_label.text()
    shot(tab, "model_tab_scans")

    tab.seed_spin.setValue(7)
    tab._param_widgets[SCANS_ARCH]["leave_site_out"].setChecked(True)
    cfg = tab.scans_config(ScansDataConfig(images="imgs", labels="t.csv", site_column="SITE"), name="r")
    assert cfg.model.autoencoder == {**ae, "code_size": 16} and cfg.model.cnn == {"depth": 3, "channels": 8}
    assert (cfg.train.seed, cfg.train.epochs, cfg.train.device, cfg.cv.leave_site_out) == (7, 30, "cpu", True)
    cfg.train.head_epochs = 11  # not on the form: kept once a configuration was shown
    tab.set_scans_config(cfg)
    again = tab.scans_config(cfg.data, name="r")
    assert again == cfg
    conn = tab.scans_config(ScansDataConfig(route="connectivity", timeseries="ts", labels="t.csv"))
    assert conn.model.autoencoder == {"code_size": 16}  # the fully-connected autoencoder takes only the code size
    tab.set_scans_route("connectivity")
    page = tab._param_widgets[SCANS_ARCH]
    assert not page["depth"].isEnabled() and not page["cnn_arm"].isEnabled() and page["code_size"].isEnabled()
    tab.set_scans_route("volumes")
    assert page["depth"].isEnabled()

    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    tab.save_settings(settings)
    other = ModelTab()
    qtbot.addWidget(other)
    other.restore_settings(settings)
    assert other.is_scans() and other.params() == tab.params()
    tab.shutdown()
    other.shutdown()


def test_memory_warning_when_the_estimate_is_too_big(qtbot):
    from biodeep_gui.gui.tabs.model_inspection import ModelInspection
    from biodeep_gui.gui.tabs.model_tab import ModelTab

    tab = ModelTab()
    qtbot.addWidget(tab)
    tab._show_memory(ModelInspection("cnn", memory_bytes=3 * 2**30, available_bytes=4 * 2**30))
    assert "Warning" in tab.memory_label.text() and "half" in tab.memory_label.text()
    tab._show_memory(ModelInspection("cnn", memory_bytes=100 * 2**20, available_bytes=4 * 2**30))
    assert "Warning" not in tab.memory_label.text() and "100.0 MB" in tab.memory_label.text()


# ---- data loading and projects --------------------------------------------------------------------------------------
def test_bad_file_shows_a_readable_problem_and_the_window_stays_usable(window, qtbot, tmp_path):
    bad = tmp_path / "bound.fa"
    bad.write_text(">s1\nACGT\n>s2\nAC1GT\n")
    bg = tmp_path / "background.fa"
    bg.write_text(">b1\nACGT\n>b2\nTTGA\n")
    window.sequences_tab.add_files([str(bad), str(bg)])
    with qtbot.waitSignal(window.data_runner.sigFailed, timeout=60_000):
        window.sequences_tab.open_button.click()
    problem = window.sequences_tab.problem_text()
    assert "bound.fa" in problem and "s2" in problem
    assert "Traceback" not in problem
    assert window.sequences_tab.open_button.isEnabled()
    window.start_training()  # nothing loaded: a message, not a crash
    assert any("Open sequences first" in d.text() for d in window.open_dialogs())


def test_project_round_trip_and_moved_data_are_asked_for(window, qtbot, tmp_path, demo_files, monkeypatch):
    data = tmp_path / "data"
    data.mkdir()
    for key in ("bound", "background"):
        (data / demo_files[key].name).write_bytes(demo_files[key].read_bytes())
    cfg = DataConfig(fasta=str(data / "bound.fa"), background=str(data / "background.fa"))
    with qtbot.waitSignal(window.data_runner.sigFinished, timeout=60_000):
        window.sequences.open_data(cfg)
    window.model_tab.set_architecture("cnn-lstm")
    window.model_tab.epochs_spin.setValue(4)
    path = window.projects.save_project_as(tmp_path / "proj" / "study")
    assert path.name == "study.biodeep.json" and path.exists()
    assert str(path) in window.projects.recent_projects()
    window.recent_menu.aboutToShow.emit()
    recent = window.recent_menu.actions()
    assert recent[0].text() == "study" and recent[0].data() == str(path)

    moved = tmp_path / "moved"
    data.rename(moved)
    asked = []
    monkeypatch.setattr(window.projects, "ask_moved_file", lambda old: asked.append(old) or str(moved / Path(old).name))
    window.model_tab.set_architecture("mlp")
    with qtbot.waitSignal(window.data_runner.sigFinished, timeout=60_000):
        assert window.projects.open_project(path)
    assert asked == [str(data / "bound.fa")]  # one question; background.fa followed its folder
    ss, loaded = window.sequences_tab.current_data()
    assert loaded.background == str(moved / "background.fa") and len(ss) == 2000
    assert window.model_tab.architecture() == "cnn-lstm" and window.model_tab.train_config().epochs == 4
    assert window.windowTitle().startswith("study")


def test_a_project_remembers_the_cohort_and_its_class_names(window, tmp_path):
    from biodeep_gui.core.scans.config import ScansDataConfig

    window.build_tabs()
    cohort = ScansDataConfig(images=str(tmp_path / "images"), labels=str(tmp_path / "participants.tsv"),
                             class_names={"1": "autism", "2": "control"})
    window.scans_tab.set_data_config(cohort)
    path = window.projects.save_project_as(tmp_path / "scans-study")
    window.scans_tab.set_data_config(ScansDataConfig())  # forgotten in the window...
    assert window.scans_tab.data_config().class_names == {}
    assert window.projects.open_project(path)  # ...and back from the project
    again = window.scans_tab.data_config()
    assert again.class_names == {"1": "autism", "2": "control"} and again.labels == cohort.labels


def test_opening_a_damaged_project_says_why(window, tmp_path):
    bad = tmp_path / "broken.biodeep.json"
    bad.write_text("{ not json")
    assert not window.projects.open_project(bad)
    assert any("not a readable project file" in d.text() for d in window.open_dialogs())


def test_project_with_runs_listed(window, tmp_path):
    p = Project(name="empty")
    p.runs = [str(tmp_path / "gone-run")]
    path = save_project(p, tmp_path / "p.biodeep.json")
    assert window.projects.open_project(path)
    assert window.sequences.runs() == []
    assert any("gone-run" in d.text() for d in window.open_dialogs())


def test_exception_hook_logs_and_offers_the_details(qapp, tmp_path, monkeypatch):
    from biodeep_gui.gui.app import ExceptionDialog

    hook = ExceptionDialog()
    shown = []
    monkeypatch.setattr(hook, "show", lambda kind, value, details, log: shown.append((value, details, log)))
    try:
        raise KeyError("lost")
    except KeyError as exc:
        hook(type(exc), exc, exc.__traceback__)
    value, details, log = shown[0]
    assert isinstance(value, KeyError) and "Traceback" in details
    assert log == tmp_path / "biodeep-home" / "logs" / "errors.log"
    assert "KeyError: 'lost'" in log.read_text()


def test_settings_never_touch_the_users_file(tmp_path):
    s = QSettings()
    assert str(tmp_path) in s.fileName()


def test_train_config_round_trip_through_the_form(qtbot):
    from biodeep_gui.gui.tabs.model_tab import ModelTab

    tab = ModelTab()
    qtbot.addWidget(tab)
    cfg = TrainConfig(epochs=9, batch_size=32, lr=0.0005, optimizer="sgd", weight_decay=0.01, patience=0,
                      grad_clip=1.5, class_weighting=True, rc_augment=True, seed=42, device="cpu")
    tab.set_train_config(cfg)
    assert tab.train_config() == cfg


def test_help_open_demo_data(window, qtbot, tmp_path):
    """Help > Open demo data writes the synthetic set into the user data folder and opens the bound/background pair."""
    help_menu = [a.menu() for a in window.menuBar().actions() if a.text() == "&Help"][0]
    demo = [a for a in help_menu.actions() if a.text() == "Open demo data"][0]
    demo.trigger()
    qtbot.waitUntil(lambda: window.sequences_tab.current_data()[0] is not None, timeout=180_000)
    ss, cfg = window.sequences_tab.current_data()
    folder = tmp_path / "biodeep-home" / "data" / "demo"
    assert cfg.fasta == str(folder / "bound.fa") and cfg.background == str(folder / "background.fa")
    assert len(ss) == 2000 and ss.task == "binary"
    assert window.predict_tab.file_picker.path() == str(folder / "predict_me.fa")
    assert window.current_tab() is window.sequences_tab
