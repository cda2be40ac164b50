"""GUI test set-up: offscreen Qt, private settings and data folders, and no worker thread left behind.

Every test in ``tests/gui`` gets

- ``QT_QPA_PLATFORM=offscreen`` (set before the QApplication exists);
- its own QSettings folder (INI files under the test's tmp folder) and ``BIODEEP_HOME``, so a test never
  reads or writes the user's settings, runs or demo data;
- a check after the test: a worker thread still running fails the test (it is then cancelled and joined so the
  next test starts clean), as napari's fixture does for QThreads.
"""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from PySide6.QtCore import QCoreApplication, QSettings  # noqa: E402

SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


@pytest.fixture(autouse=True)
def _isolated_gui_state(qapp, tmp_path, monkeypatch):
    """Private settings and data folders; fail the test if it leaves a worker thread running."""
    from biodeep_gui.gui.workers import running_threads, stop_all_threads

    settings_dir = tmp_path / "qsettings"
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(settings_dir))
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.SystemScope, str(settings_dir / "system"))
    QCoreApplication.setOrganizationName("BioDeepTests")
    QCoreApplication.setApplicationName("BioDeep")
    monkeypatch.setenv("BIODEEP_HOME", str(tmp_path / "biodeep-home"))
    monkeypatch.delenv("BIODEEP_DATA_DIR", raising=False)
    before = set(running_threads())
    yield
    left = [n for n in running_threads() if n not in before]
    if left:
        stop_all_threads()
        pytest.fail(f"the test left worker thread(s) running: {', '.join(left)}; cancel and join them "
                    "(TaskRunner.shutdown, or close the window) before the test ends")


@pytest.fixture
def window(qtbot):
    """A shown main window, closed (every worker cancelled and joined) at the end of the test."""
    from biodeep_gui.gui.main_window import MainWindow

    w = MainWindow()
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.close()


@pytest.fixture(scope="session")
def demo_files(tmp_path_factory):
    """The synthetic demo data written once per session by the core (bound.fa, background.fa, predict_me.fa…)."""
    from biodeep_gui.core.sequences.synthetic import write_demo

    return {k: Path(v) for k, v in write_demo(tmp_path_factory.mktemp("demo")).items()}


def shot(widget, name: str) -> Path:
    """Save a screenshot of ``widget`` under artifacts/screenshots (git-ignored) for a person to look at."""
    from PySide6.QtWidgets import QApplication

    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    for _ in range(3):  # pending layout requests first: a label just given two lines of text needs them
        QApplication.processEvents()
    widget.grab().save(str(path))
    return path
