"""Training ▸ Run on a cluster… and File ▸ Follow a run folder…, driven through the window."""
import json
import shutil
import subprocess

from PySide6.QtCore import Qt

from biodeep_gui.core.sequences.config import RunConfig
from biodeep_gui.core.training.runs import HISTORY_FILE, RUN_FILE

from .conftest import shot
from .test_training_e2e import open_demo_pair


def test_run_on_a_cluster_exports_the_settings_and_a_valid_sbatch_script(window, qtbot, demo_files, tmp_path):
    assert window.handoff.ask_run_on_cluster() is None  # nothing opened yet: it says what is missing
    assert any("Sequences tab" in b.text() for b in window.open_dialogs())
    open_demo_pair(window, qtbot, demo_files)
    dlg = window.handoff.ask_run_on_cluster()
    qtbot.waitExposed(dlg)
    dlg.nodes.setValue(2)
    dlg.per_node.setValue(4)
    dlg.partition.setText("gpu")
    dlg.export_dir.setText(str(tmp_path / "job"))
    assert "#SBATCH --nodes=2" in dlg.preview.toPlainText() and "--nproc_per_node=4" in dlg.preview.toPlainText()
    dlg.time.setText("four hours")
    assert not dlg.export_button.isEnabled() and "time" in dlg.message.text()
    dlg.time.setText("4:00:00")
    shot(dlg, "cluster_dialog")
    qtbot.mouseClick(dlg.export_button, Qt.MouseButton.LeftButton)
    sbatch = tmp_path / "job" / "train.sbatch"
    assert sbatch.read_text() == dlg.preview.toPlainText()  # what was shown is what was written
    assert subprocess.run(["bash", "-n", str(sbatch)]).returncode == 0
    cfg = RunConfig.load(tmp_path / "job" / "biodeep_config.json")
    assert cfg.train.device == "cuda" and cfg.data.fasta == str(demo_files["bound"])
    assert cfg.model == window.model_tab.model_config()

    dlg.export_dir.setText(str(demo_files["bound"].parent))  # the folder holding the data: refused, not written
    qtbot.mouseClick(dlg.export_button, Qt.MouseButton.LeftButton)
    assert "Not exported" in dlg.message.text() and not (demo_files["bound"].parent / "train.sbatch").exists()
    dlg.close()


def _as_training(run_dir, epochs_done: int) -> None:
    doc = json.loads((run_dir / RUN_FILE).read_text())
    doc["status"] = "training"
    (run_dir / RUN_FILE).write_text(json.dumps(doc))
    lines = (run_dir / HISTORY_FILE).read_text().splitlines()
    (run_dir / HISTORY_FILE).write_text("\n".join(lines[: 1 + epochs_done]) + "\n")


def test_a_followed_run_draws_its_epochs_then_opens_in_results(window, qtbot, train_gc_box, tmp_path):
    done = train_gc_box("cnn", "followed", epochs=3).path
    job = tmp_path / "job"
    shutil.copytree(done, job)
    _as_training(job, 1)  # a cluster job after its first epoch
    assert window.handoff.follow(job)
    tab = window.training_tab
    qtbot.waitUntil(lambda: "Epoch 1/3" in tab.log_text(), timeout=30_000)
    assert window.training_busy(say=False)  # the Training tab is in use: Start waits
    for name in (HISTORY_FILE, RUN_FILE):  # the job writes its last epochs and ends
        shutil.copy(done / name, job / name)
    with qtbot.waitSignal(window.handoff.runner.sigFinished, timeout=30_000):
        pass
    log = tab.log_text()
    assert [f"Epoch {e}/3" in log for e in (1, 2, 3)] == [True] * 3 and log.count("Epoch 1/3") == 1
    assert "finished" in tab.run_label.text()
    assert window.results_tab.current_run().path == job
    assert window.current_tab() is window.results_tab


def test_stop_ends_following_and_a_missing_folder_is_refused(window, qtbot, tmp_path):
    assert not window.handoff.follow(tmp_path / "not-yet")
    assert any("not a folder" in b.text() for b in window.open_dialogs())
    assert window.handoff.follow(tmp_path)  # a queued job's folder: waiting for run.json
    qtbot.waitUntil(lambda: "Waiting" in window.training_tab.log_text(), timeout=30_000)
    with qtbot.waitSignal(window.handoff.runner.sigFinished, timeout=10_000):
        qtbot.mouseClick(window.training_tab.stop_button, Qt.MouseButton.LeftButton)
    assert "Stopped following" in window.training_tab.run_label.text()
    assert window.training_tab.start_button.isEnabled() and not window.training_busy(say=False)


def test_a_scans_job_spreads_its_folds_over_the_processes_chosen(qtbot, tmp_path):
    from biodeep_gui.core.scans.config import ScansConfig
    from biodeep_gui.gui.widgets.cluster_dialog import TORCHRUN, ClusterDialog

    dlg = ClusterDialog(ScansConfig(), "scans train", str(tmp_path / "runs" / "scans"), None, [])
    qtbot.addWidget(dlg)
    assert dlg.per_node.isEnabled() and dlg.nodes.isEnabled() and "folds" in dlg.per_node.toolTip()
    dlg.per_node.setValue(3)
    dlg.launcher.setCurrentIndex(dlg.launcher.findData(TORCHRUN))
    command = dlg.preview.toPlainText()
    assert "--nproc_per_node=3" in command and "-m biodeep_gui scans train --config" in command
