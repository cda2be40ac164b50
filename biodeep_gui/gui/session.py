"""What a window remembers and says: settings and geometry, remembered folders, message boxes, the About box.

``Session`` is a QObject child of the window; the controllers use it for every dialog so that ``open_dialogs``
lists them all, and for the folders the file dialogs start in.
"""
from __future__ import annotations

import importlib.metadata
import importlib.util
import platform
import re
import sys
from pathlib import Path

from PySide6.QtCore import QObject, QSettings, Qt, Slot, qVersion
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QFileDialog, QMainWindow, QMessageBox

from biodeep_gui import __version__
from biodeep_gui.core.common import paths
from biodeep_gui.core.common.errors import ConfigError

APP_NAME = "BioDeep"
ORG_NAME = "BioDeep"


def versions() -> dict[str, str]:
    """Versions for the About box and bug reports, without importing torch (1.4 s) just to ask."""
    out = {"BioDeep": __version__, "Python": platform.python_version(), "Qt": qVersion()}
    try:
        out["PySide6"] = importlib.metadata.version("PySide6-Essentials")
    except importlib.metadata.PackageNotFoundError:
        try:
            out["PySide6"] = importlib.metadata.version("PySide6")
        except importlib.metadata.PackageNotFoundError:
            pass
    try:
        out["PyTorch"] = importlib.metadata.version("torch")
    except importlib.metadata.PackageNotFoundError:
        out["PyTorch"] = "not installed"
    out["CUDA (PyTorch build)"] = _torch_cuda_version() or "none (CPU-only build)"
    out["pyqtgraph"] = _dist_version("pyqtgraph")
    out["Platform"] = platform.platform()
    return out


def _dist_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _torch_cuda_version() -> str:
    """The CUDA version torch was built with, read from ``torch/version.py`` unless torch is already imported."""
    torch = sys.modules.get("torch")
    if torch is not None:
        return str(torch.version.cuda or "")
    spec = importlib.util.find_spec("torch")
    if spec is None or not spec.submodule_search_locations:
        return ""
    try:
        text = (Path(list(spec.submodule_search_locations)[0]) / "version.py").read_text(encoding="utf-8")
    except OSError:
        return ""
    m = re.search(r"^cuda\s*(?::[^=]*)?=\s*['\"]([^'\"]+)['\"]", text, re.M)
    return m.group(1) if m else ""


def choose_save_path(parent, title: str, start: str = "", filters: str = "", *, kind: str = "file",
                     inputs=(), own_suffixes: tuple[str, ...] = (), refuse=None) -> Path | None:
    """Ask where to write, and apply the one output rule of the CLI (``fileio.check_output_path``) to the answer.

    Every place the window writes a file or folder chosen by the user asks through here, so that a save dialog can
    never overwrite an input, a file inside a run folder, or a folder of someone else's files.

    Parameters
    ----------
    parent : the dialog's parent widget
    title : the dialog's title, also the setting named in a refusal ("Export predictions 'x.csv' is the input ...")
    start : the file or folder the dialog starts at
    filters : 'file' only: name filters; when the user typed no suffix, the chosen filter's first one is added
    kind : 'file' (a save-file dialog), 'folder' (files written into a chosen folder) or 'run' (a new run folder)
    inputs : files and folders that this write reads or belongs to (they are never written over)
    own_suffixes : 'folder' only: what this export writes, so that exporting again into the same folder works
    refuse : called with the one-line reason when the path is refused (a tab's own message line); without it, a
        warning box (parented to ``parent``) says it

    Returns
    -------
    The accepted path, or None (cancelled or refused: nothing was written).
    """
    if kind == "file":
        path, chosen = QFileDialog.getSaveFileName(parent, title, start, filters)
        named = chosen if "*." in chosen else filters  # "All files (*)" chosen: the first filter's suffix
        if path and not Path(path).suffix and "*." in named:
            path += "." + named.split("*.", 1)[1].split(")", 1)[0].split()[0]
    elif kind == "run":
        path, _ = QFileDialog.getSaveFileName(parent, title, start, "Run folder (*)")
    else:
        path = QFileDialog.getExistingDirectory(parent, title, start)
    if not path:
        return None
    return check_save_path(parent, path, title, kind=kind, inputs=inputs, own_suffixes=own_suffixes, refuse=refuse)


def check_save_path(parent, path: str | Path, title: str, *, kind: str = "file", inputs=(),
                    own_suffixes: tuple[str, ...] = (), refuse=None) -> Path | None:
    """``choose_save_path`` without the dialog: the output rule on a path the window chose itself (a new run
    folder) or received. Returns the path, or None after telling ``refuse`` (or a warning box) why."""
    from biodeep_gui.core.common.fileio import check_output_path

    try:
        return check_output_path(path, [i for i in inputs if i], kind, setting=title, own_suffixes=own_suffixes)
    except ConfigError as exc:
        if refuse is not None:
            refuse(str(exc))
        else:
            box = QMessageBox(QMessageBox.Icon.Warning, "Not saved", str(exc), QMessageBox.StandardButton.Ok, parent)
            box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            box.open()  # non-blocking: training and redraws go on behind it
        return None


class Session(QObject):
    """Settings, remembered folders and non-blocking message boxes of one window (its parent)."""

    def __init__(self, window: QMainWindow):
        super().__init__(window)
        self._window = window
        self._dialogs: list[QMessageBox] = []

    # ---- settings -------------------------------------------------------------------------------------------
    def restore_geometry(self) -> None:
        """The window's size, position and state from last time; else 1280 x 860, shrunk to fit the screen."""
        s, w = QSettings(), self._window
        geometry = s.value("window/geometry")
        if geometry is None or not w.restoreGeometry(geometry):
            screen = QGuiApplication.primaryScreen()
            avail = screen.availableGeometry() if screen else None
            width, height = 1280, 860
            if avail is not None:
                width, height = min(width, int(avail.width() * 0.95)), min(height, int(avail.height() * 0.9))
            w.resize(width, height)
        state = s.value("window/state")
        if state is not None:
            w.restoreState(state)

    def save_settings(self, model_tab=None) -> None:
        """The window's geometry and state, and the Model tab's settings when it exists."""
        s = QSettings()
        s.setValue("window/geometry", self._window.saveGeometry())
        s.setValue("window/state", self._window.saveState())
        if model_tab is not None:
            model_tab.save_settings(s)
        s.sync()

    def science(self, default: str) -> str:
        """The science ('dna' or 'scans', ``gui.sciences``) the window showed last time; ``default`` at first."""
        return str(QSettings().value("window/science", default))

    def remember_science(self, science: str) -> None:
        QSettings().setValue("window/science", science)

    def data_setting(self, key: str, default: str) -> str:
        """A data setting the user chose last time (``key`` 'cache': the encoded-cache mode); ``default`` at first."""
        return str(QSettings().value(f"data/{key}", default))

    def remember_data_setting(self, key: str, value: str) -> None:
        QSettings().setValue(f"data/{key}", value)

    def folder(self, kind: str, default: Path | None = None) -> str:
        """The folder a file dialog for ``kind`` ('data', 'run', 'project', 'export') starts in."""
        value = QSettings().value(f"folders/{kind}", "")
        if value and Path(str(value)).is_dir():
            return str(value)
        return str(default or Path.home())

    def remember_folder(self, kind: str, folder: Path) -> None:
        QSettings().setValue(f"folders/{kind}", str(folder))

    # ---- dialogs --------------------------------------------------------------------------------------------
    def show_error(self, title: str, message: str, details: str = "") -> QMessageBox:
        """A warning that does not block the event loop (training and redraws go on behind it)."""
        box = QMessageBox(QMessageBox.Icon.Warning, title, message, QMessageBox.StandardButton.Ok, self._window)
        if details:
            box.setDetailedText(details)
        return self.open_box(box)

    def show_info(self, title: str, message: str) -> QMessageBox:
        """An information box that does not block the event loop."""
        box = self.show_error(title, message)
        box.setIcon(QMessageBox.Icon.Information)
        return box

    def ask(self, title: str, question: str) -> QMessageBox:
        """A Yes / No question that does not block; connect to ``box.button(QMessageBox.StandardButton.Yes)``."""
        box = QMessageBox(QMessageBox.Icon.Question, title, question,
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, self._window)
        return self.open_box(box)

    def open_box(self, box: QMessageBox) -> QMessageBox:
        """Show a message box without blocking the event loop; it is listed in ``open_dialogs`` until closed."""
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.finished.connect(self._dialog_closed)
        self._dialogs.append(box)
        box.open()
        return box

    @Slot()
    def _dialog_closed(self) -> None:
        self._dialogs = [d for d in self._dialogs if d is not self.sender()]

    def open_dialogs(self) -> list[QMessageBox]:
        """Message boxes shown through this session and not yet closed."""
        return list(self._dialogs)

    def close_dialogs(self) -> None:
        for d in list(self._dialogs):
            d.close()

    def show_about(self) -> QMessageBox:
        rows = "".join(f"<tr><td>{k}</td><td>&nbsp;&nbsp;{v}</td></tr>" for k, v in versions().items())
        box = QMessageBox(QMessageBox.Icon.Information, f"About {APP_NAME}",
                          f"<h3>{APP_NAME} {__version__}</h3><p>Deep learning for biologists, without code: "
                          f"networks that learn where a transcription factor binds from DNA sequences, and "
                          f"networks that learn a diagnosis from brain scans (MRI).</p><table>{rows}</table>"
                          f"<p>Data and runs are kept in {paths.data_dir()}</p>",
                          QMessageBox.StandardButton.Ok, self._window)
        box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        box.setEscapeButton(QMessageBox.StandardButton.Ok)  # Esc and the title bar close it, even with 2 buttons
        copy = box.addButton("Copy versions", QMessageBox.ButtonRole.ActionRole)
        copy.clicked.disconnect()  # keep the box open after copying
        copy.clicked.connect(self._copy_versions)
        return self.open_box(box)

    def export_figure(self, tab, name: str) -> Path | None:
        """Ask where to save the plot of ``tab`` (its ``export_figure(path)``), starting from the file ``name``."""
        from biodeep_gui.gui.widgets.plots import EXPORT_FORMATS

        start = str(Path(self.folder("export")) / name)
        path = choose_save_path(self._window, "Export figure", start, EXPORT_FORMATS, inputs=self.inputs(),
                                refuse=self.refuse)
        if path is None:
            return None
        self.remember_folder("export", Path(path).parent)
        try:
            tab.export_figure(path)
        except (OSError, ValueError) as exc:
            self.show_error("Figure not saved", str(exc))
            return None
        self._window.statusBar().showMessage(f"Figure saved as {path}", 5000)
        return Path(path)

    def inputs(self) -> list[str]:
        """The files and run folders the window has open (the sequences, the cohort, the run in Results): what no
        save dialog may write over. Tabs not built yet have nothing open."""
        w, out = self._window, []
        seq = getattr(w, "sequences_tab", None)
        if seq is not None:
            _data, d = seq.current_data()
            if d is not None:
                out += [d.fasta, d.background, d.table, d.bed, d.genome, d.test_file]
        scans = getattr(w, "scans_tab", None)
        if scans is not None:
            d = scans.data_config()
            out += [d.images, d.labels, d.mask, d.atlas, d.timeseries]
        results = getattr(w, "results_tab", None)
        run = results.current_run() if results is not None else None
        if run is not None:
            out.append(str(run.path))
        return [p for p in out if p]

    def refuse(self, message: str) -> None:
        """Say why a chosen output path was refused (``choose_save_path``'s ``refuse``)."""
        self.show_error("Not saved", message)

    @Slot()
    def _copy_versions(self) -> None:
        QApplication.clipboard().setText("\n".join(f"{k}: {v}" for k, v in versions().items()))
