"""Start the desktop app: ``biodeep gui [--demo]`` and the ``biodeep-gui`` entry point call ``main``.

The window is painted before anything slow happens: torch is not imported at start-up (it costs ~1.4 s; the
model tab's worker imports it once the window is up), and the demo data are written by a worker.
Uncaught exceptions on the GUI thread are logged to the user data folder and shown in a dialog with the details
one click away, instead of a traceback in a terminal the user never sees.
"""
from __future__ import annotations

import argparse
import sys
import time
import traceback
from pathlib import Path
from typing import Sequence

from PySide6.QtCore import QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QMessageBox

from biodeep_gui import __version__
from biodeep_gui.core.common import quick
from biodeep_gui.core.common.resources import resource_path

ICON_NAMES = ("biodeep.svg", "biodeep.png", "icon.svg", "icon.png")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="biodeep gui", description="Open the BioDeep desktop app.")
    p.add_argument("--demo", action="store_true",
                   help="write the synthetic demo data to your BioDeep folder and open it")
    return p


def app_icon() -> QIcon | None:
    """The bundled application icon, if ``resources/icons`` holds one."""
    folder = resource_path("icons")
    for name in ICON_NAMES:
        if (folder / name).is_file():
            return QIcon(str(folder / name))
    found = sorted(folder.glob("*.png")) if folder.is_dir() else []
    return QIcon(str(found[0])) if found else None


def create_app(argv: Sequence[str] | None = None):
    """The ``QApplication`` (reused if one exists), the shown main window and the parsed options.

    Qt's own options (e.g. ``-platform offscreen``) are passed on to Qt.
    """
    from biodeep_gui.gui.main_window import MainWindow
    from biodeep_gui.gui.session import APP_NAME, ORG_NAME

    args, rest = build_parser().parse_known_args(list(sys.argv[1:] if argv is None else argv))
    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "biodeep", *rest])
    app.setOrganizationName(ORG_NAME)
    app.setApplicationName(APP_NAME)
    app.setApplicationVersion(__version__)
    icon = app_icon()
    if icon is not None:
        app.setWindowIcon(icon)
    window = MainWindow(defer_tabs=True)  # the tabs behind the first are built right after the first paint
    window.show()
    if args.demo:
        QTimer.singleShot(0, window.sequences.open_demo)
    return app, window, args


def main(argv: list[str] | None = None) -> int:
    """Run the app until its window closes; the exit status. ``--self-test`` runs the offscreen self-test."""
    if "--self-test" in (sys.argv[1:] if argv is None else argv):
        from biodeep_gui.gui.selftest import run_self_test

        return run_self_test()
    app, window, args = create_app(argv)
    if args.demo and quick.active():  # the README test: open the demo, render it, close (see core.common.quick)
        from biodeep_gui.gui.selftest import demo_window_check

        return demo_window_check(app, window)
    previous = sys.excepthook
    sys.excepthook = ExceptionDialog(window)
    try:
        return int(app.exec())
    finally:
        sys.excepthook = previous


class ExceptionDialog:
    """``sys.excepthook`` for the GUI: log the traceback, then show it in a dialog with "Copy details"."""

    def __init__(self, parent=None):
        self.parent = parent
        self._showing = False

    def log_path(self) -> Path:
        from biodeep_gui.core.common import paths

        return paths.log_dir() / "errors.log"

    def __call__(self, kind, value, tb) -> None:
        if issubclass(kind, KeyboardInterrupt):
            sys.__excepthook__(kind, value, tb)
            return
        details = "".join(traceback.format_exception(kind, value, tb))
        log = self.log_path()
        try:
            log.parent.mkdir(parents=True, exist_ok=True)
            with open(log, "a", encoding="utf-8") as fh:
                fh.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} BioDeep {__version__}\n{details}\n")
        except OSError:
            log = None
        sys.stderr.write(details)
        if self._showing or QApplication.instance() is None:
            return  # one dialog at a time: an error inside the dialog must not open dialogs forever
        self._showing = True
        try:
            self.show(kind, value, details, log)
        finally:
            self._showing = False

    def show(self, kind, value, details: str, log: Path | None) -> None:
        from biodeep_gui.gui.workers import error_message

        box = QMessageBox(QMessageBox.Icon.Critical, "BioDeep: unexpected error",
                          f"Something went wrong: {error_message(value)}.\n\nYour data and saved runs are not "
                          "affected; you can go on working." +
                          (f"\n\nThe details were saved to {log}." if log else ""),
                          QMessageBox.StandardButton.Ok, self.parent)
        box.setDetailedText(details)
        box.setEscapeButton(QMessageBox.StandardButton.Ok)
        copy = box.addButton("Copy details", QMessageBox.ButtonRole.ActionRole)
        copy.clicked.disconnect()  # copying must not close the box
        copy.clicked.connect(lambda: QApplication.clipboard().setText(details))
        box.exec()


if __name__ == "__main__":
    sys.exit(main())
