"""After a crash or a stop, the app offers to resume the interrupted training, curves and history included."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from biodeep_gui.core.sequences.config import RunConfig
from biodeep_gui.core.sequences.pipeline import train_run
from biodeep_gui.core.sequences.run import load_run
from biodeep_gui.core.training.loop import EpochReport
from tests.core.helpers import planted


def _interrupted_run(folder):
    """A run stopped after epoch 2 of 4 (what a killed process leaves: status 'training'/'cancelled' + checkpoint)."""
    cfg = RunConfig(name="interrupted")
    cfg.model.arch, cfg.model.params = "cnn", {"filters": 4, "filter_width": 7}
    cfg.train.epochs, cfg.train.device = 4, "cpu"
    ss = planted(n=200, length=40)
    # the run must be resumable from its own files: write the data where the config points
    from biodeep_gui.core.sequences.encoding import decode

    folder.mkdir(parents=True, exist_ok=True)
    pos = folder.parent / "bound.fa"
    neg = folder.parent / "background.fa"
    pos.write_text("".join(f">{i}\n{decode(c)}\n" for i, c, y in zip(ss.ids, ss.codes, ss.labels[:, 0]) if y == 1))
    neg.write_text("".join(f">{i}\n{decode(c)}\n" for i, c, y in zip(ss.ids, ss.codes, ss.labels[:, 0]) if y == 0))
    cfg.data.fasta, cfg.data.background = str(pos), str(neg)
    stop = {"now": False}
    for item in train_run(cfg, folder / "cnn-interrupted", should_stop=lambda: stop["now"]):
        if isinstance(item, EpochReport) and item.epoch == 2:
            stop["now"] = True
    return folder / "cnn-interrupted"


def test_offer_and_resume(qtbot, window):
    window.build_tabs()
    assert window.sequences.interrupted_runs() == []
    run_dir = _interrupted_run(window.sequences.runs_folder())
    assert window.sequences.interrupted_runs() == [run_dir]
    box = window.sequences.offer_resume()
    assert box in window.open_dialogs() and "after epoch 2 of 4" in box.text()
    with qtbot.waitSignal(window.train_runner.sigFinished, timeout=120_000):
        qtbot.mouseClick(box.button(QMessageBox.StandardButton.Yes), Qt.MouseButton.LeftButton)
    run = load_run(run_dir)
    assert run.status == "complete" and [int(r["epoch"]) for r in run.history] == [1, 2, 3, 4]
    assert window.training_tab.curves.epoch_points() == 4  # the replayed epochs are drawn too
    assert window.sequences.interrupted_runs() == []
    info = window.sequences.offer_resume()
    assert "Nothing to resume" in info.windowTitle()
