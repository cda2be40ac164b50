"""Project files: save the session (data references, runs, Model tab settings), open it again, and find data
files that moved since; the recent-projects list.

The project itself is a core ``Project`` (``core.project``: plain JSON, paths relative to the file); this
controller only gathers it from the tabs and gives it back to them.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

from PySide6.QtCore import QObject, QSettings, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QMainWindow, QMenu

from biodeep_gui.core.common.errors import BioDeepError
from biodeep_gui.core.project import PROJECT_SUFFIX, Project, load_project, missing_files, relocate, save_project
from biodeep_gui.core.sequences.run import load_run
from biodeep_gui.gui.controllers.sequences import SequencesController
from biodeep_gui.gui.session import APP_NAME, Session, choose_save_path

PROJECT_FILTER = f"BioDeep projects (*{PROJECT_SUFFIX} *.json);;All files (*)"
MAX_RECENT = 8
#: The data fields of a project whose files are asked for when they moved.
DATA_FIELDS = ("fasta", "background", "table", "bed", "genome", "test_file")


class ProjectsController(QObject):
    """The window's project: ``project()`` gathers it, ``save_project_as`` / ``open_project`` write and read it.

    Parameters
    ----------
    window : the main window (parent): its tabs, title and status bar
    session : dialogs and remembered folders
    sequences : the runs of the session and the data loading
    """

    def __init__(self, window: QMainWindow, session: Session, sequences: SequencesController):
        super().__init__(window)
        self._w, self.session, self.sequences = window, session, sequences
        self._project = Project()
        self._recent_menu: QMenu | None = None

    def project(self) -> Project:
        """The project as it stands: current data settings, runs and model / training settings."""
        w = self._w
        w.build_tabs()
        p = self._project
        _, loaded_cfg = w.sequences_tab.current_data()
        p.data = dataclasses.asdict(loaded_cfg or w.sequences_tab.data_config())
        p.runs = [str(r.path) for r in self.sequences.runs()]
        p.model = dataclasses.asdict(w.model_tab.model_config())
        p.train = dataclasses.asdict(w.model_tab.train_config())
        cohort = w.scans_tab.data_config()
        # the cohort (and its class names) is kept once the user has pointed at images or a label table
        p.scans = dataclasses.asdict(cohort) if (cohort.images or cohort.labels or cohort.timeseries) else {}
        return p

    @Slot()
    def save_project(self) -> Path | None:
        """Save to the project's file (Ctrl+S), asking for a name the first time."""
        if not self._project.path:
            return self.ask_save_project_as()
        return self.save_project_as(self._project.path)

    def save_project_as(self, path: str | Path) -> Path | None:
        path = Path(path)
        if not path.name.endswith((PROJECT_SUFFIX, ".json")):
            path = path.with_name(path.name + PROJECT_SUFFIX)
        p = self.project()
        if not p.path or p.name == "Untitled project":
            p.name = path.name.removesuffix(PROJECT_SUFFIX).removesuffix(".json")
        try:
            written = save_project(p, path)
        except OSError as exc:
            self.session.show_error("Project not saved", f"{path}: {exc.strerror or exc}")
            return None
        self.sequences.runs_home = p.runs_folder()
        self._add_recent(written)
        self._update_title()
        self._w.statusBar().showMessage(f"Project saved: {written}", 5000)
        return written

    @Slot()
    def ask_save_project_as(self) -> Path | None:
        start = Path(self.session.folder("project")) / f"{self._project.name.replace(' ', '_')}{PROJECT_SUFFIX}"
        path = choose_save_path(self._w, "Save project", str(start), PROJECT_FILTER, inputs=self.session.inputs(),
                                refuse=self.session.refuse)
        if path is None:
            return None
        self.session.remember_folder("project", Path(path).parent)
        return self.save_project_as(path)

    @Slot()
    def ask_open_project(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self._w, "Open project", self.session.folder("project"),
                                              PROJECT_FILTER)
        if path:
            self.session.remember_folder("project", Path(path).parent)
            self.open_project(path)

    def open_project(self, path: str | Path) -> bool:
        """Open a project: settings, runs and data. Files that moved are asked for instead of failing."""
        w = self._w
        w.build_tabs()
        try:
            project = load_project(path)
        except BioDeepError as exc:
            self.session.show_error("Cannot open project", str(exc))
            return False
        self._relocate_moved(project)
        self._project = project
        self.sequences.runs_home = project.runs_folder()
        self._update_title()
        self._add_recent(Path(project.path))
        w.model_tab.set_model_config(project.model_config())
        w.model_tab.set_train_config(project.train_config())
        cfg = project.data_config()
        w.sequences_tab.set_data_config(cfg)
        cohort = project.scans_data_config()
        if cohort is not None:
            w.scans_tab.set_data_config(cohort)
        problems, runs = [], []
        for r in project.runs:
            try:
                runs.append(load_run(r))
            except BioDeepError as exc:
                problems.append(str(exc))
        self.sequences.set_runs(runs)
        still = [m for m in missing_files(project) if m in self._data_paths(project)]
        if still:
            problems.insert(0, "Data files not found: " + ", ".join(still) + ". Choose them in the Sequences tab.")
        elif cfg.input_files():
            self.sequences.open_data(cfg)
        if problems:
            self.session.show_error("Project opened with problems", "\n\n".join(problems))
        w.show_tab(w.sequences_tab)
        return True

    @staticmethod
    def _data_paths(project: Project) -> set:
        return {project.data.get(k) for k in DATA_FIELDS}

    def _relocate_moved(self, project: Project) -> None:
        """Ask once for each data file that is not where the project says; the siblings follow a moved folder."""
        asked: set[str] = set()
        while True:
            missing = [m for m in missing_files(project) if m in self._data_paths(project) and m not in asked]
            if not missing:
                return
            old = missing[0]
            asked.add(old)
            new = self.ask_moved_file(old)
            if not new:
                continue
            new_p, old_p = Path(new), Path(old)
            # the rest of the folder probably moved along: fix the siblings too
            if new_p.name == old_p.name:
                relocate(project, old_p.parent, new_p.parent)
            else:
                relocate(project, old, new)

    def ask_moved_file(self, old: str) -> str:
        """Ask the user where a data file of the project is now ('' if they cancel)."""
        name = Path(old).name
        path, _ = QFileDialog.getOpenFileName(self._w, f"Where is {name} now? (it was in {Path(old).parent})",
                                              self.session.folder("data"),
                                              f"{name} (*{Path(name).suffix});;All files (*)")
        return path

    def _update_title(self) -> None:
        name = self._project.name if self._project.path else ""
        self._w.setWindowTitle(f"{name} — {APP_NAME}" if name else APP_NAME)

    # ---- recent projects ------------------------------------------------------------------------------------
    def recent_projects(self) -> list[str]:
        value = QSettings().value("recent/projects", [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in (value or [])]

    def _add_recent(self, path: Path) -> None:
        items = [str(path)] + [p for p in self.recent_projects() if p != str(path)]
        QSettings().setValue("recent/projects", items[:MAX_RECENT])

    def attach_recent_menu(self, menu: QMenu) -> None:
        """Fill ``menu`` (File ▸ Recent projects) with the recent projects each time it is about to show."""
        self._recent_menu = menu
        menu.aboutToShow.connect(self._fill_recent_menu)

    @Slot()
    def _fill_recent_menu(self) -> None:
        menu = self._recent_menu
        menu.clear()
        recent = self.recent_projects()
        for p in recent:
            act = menu.addAction(Path(p).name.removesuffix(PROJECT_SUFFIX))
            act.setToolTip(p)
            act.setStatusTip(p)
            act.setEnabled(Path(p).exists())
            act.setData(p)
            act.triggered.connect(self._open_recent)
        if not recent:
            menu.addAction("(none yet)").setEnabled(False)

    @Slot()
    def _open_recent(self) -> None:
        act = self.sender()
        if isinstance(act, QAction) and act.data():
            self.open_project(str(act.data()))
