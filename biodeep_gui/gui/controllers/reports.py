"""File ▸ Export report…: the run shown in the window written as one HTML or PDF report, in a worker thread.

The report is ``figures.report.write_report`` (the command line's ``biodeep report``): it reads the run folder,
matches the CNN's filters with JASPAR (the first Tomtom call compiles, about a minute), draws every figure and
writes the file atomically. The controller owns its runner (registered with the window's ``workers``, so closing
the window cancels and joins it) and only relays progress and the result to the status bar and message boxes.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QMainWindow, QMenu

from biodeep_gui.core.common.errors import BioDeepError
from biodeep_gui.gui.session import Session

#: File dialog filter; the suffix chooses the format.
REPORT_FILTER = "HTML report (*.html);;PDF report (*.pdf)"


class ReportController(QObject):
    """Export a report of the run in front: the Reconstructions tab's scans run when that tab is shown, else the
    sequence run of Results (else a scans run opened earlier).

    Parameters
    ----------
    window : the main window (parent); its ``workers``, ``build_tabs``, tabs and status bar are used
    session : the window's dialogs and remembered folders
    """

    def __init__(self, window: QMainWindow, session: Session):
        super().__init__(window)
        self._w, self.session = window, session
        self.action: QAction | None = None
        self.runner = window.workers.add("report")
        self.runner.sigItems.connect(self._on_items)
        self.runner.sigFinished.connect(self._on_finished)
        self.runner.sigFailed.connect(self._on_failed)

    def attach(self, menu: QMenu, action: QAction) -> None:
        """Keep ``action`` (File ▸ Export report…) enabled only while a run is shown and no report is being
        written; checked each time ``menu`` opens."""
        self.action = action
        menu.aboutToShow.connect(self._update_action)

    @Slot()
    def _update_action(self) -> None:
        if self.action is not None:
            self.action.setEnabled(self.current_run_dir() is not None and not self.runner.is_running())

    def current_run_dir(self) -> Path | None:
        """The folder of the run the window shows (see the class notes), or None."""
        w = self._w
        w.build_tabs()
        scans = getattr(w.reconstructions_tab, "run", None)
        seq = w.results_tab.current_run()
        if scans is not None and (w.current_tab() is w.reconstructions_tab or seq is None):
            return Path(scans.path)
        return Path(seq.path) if seq is not None else None

    @Slot()
    def ask_export_report(self) -> None:
        """Ask where to write the report of the run in front, then write it in the background."""
        run_dir = self.current_run_dir()
        if run_dir is None:
            self.session.show_error("No run", "Train a model or open a run first (File ▸ Open run…).")
            return
        if self.runner.is_running():
            self._w.statusBar().showMessage("A report is being written; wait for it to finish.", 8000)
            return
        start = str(Path(self.session.folder("export", run_dir.parent)) / f"{run_dir.name}-report.html")
        path, chosen = QFileDialog.getSaveFileName(self._w, "Export report", start, REPORT_FILTER)
        if not path:
            return
        if not Path(path).suffix:
            path += ".pdf" if "pdf" in chosen.lower() else ".html"
        self.session.remember_folder("export", Path(path).parent)
        self.export_report(run_dir, path)

    def export_report(self, run_dir: str | Path, out: str | Path, motifs: str = "match") -> bool:
        """Write the report of ``run_dir`` to ``out`` (.html or .pdf) in a worker thread; False (and a message)
        when the run or the output path is refused before anything starts."""
        from biodeep_gui.core.common.fileio import check_output_path
        from biodeep_gui.core.common.paths import cache_dir
        from biodeep_gui.core.run_report import report_inputs
        from biodeep_gui.figures.report import report_format, write_report

        try:
            report_format(out)
            check_output_path(out, report_inputs(run_dir), "file", setting="Report file")
        except BioDeepError as exc:
            self.session.show_error("Cannot write the report", str(exc))
            return False
        self._w.statusBar().showMessage(f"Writing the report of {Path(run_dir).name}…")
        self.runner.start(write_report, str(run_dir), str(out), motifs=motifs, cache_dir=str(cache_dir()))
        return True

    @Slot(object)
    def _on_items(self, items: list) -> None:
        if items and not self._w.closing:
            self._w.statusBar().showMessage(f"Report: {items[-1]}")

    @Slot(object)
    def _on_finished(self, path) -> None:
        self._w.statusBar().showMessage(f"Report saved as {path}", 10_000)

    @Slot(str, str)
    def _on_failed(self, message: str, details: str) -> None:
        self._w.statusBar().clearMessage()
        if not self._w.closing:
            self.session.show_error("Report not written", message, details)
