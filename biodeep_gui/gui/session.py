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
        path, chosen = QFileDialog.getSaveFileName(self._window, "Export figure", start, EXPORT_FORMATS)
        if not path:
            return None
        if not Path(path).suffix:
            path += ".svg" if "svg" in chosen.lower() else ".png"
        self.remember_folder("export", Path(path).parent)
        try:
            tab.export_figure(path)
        except (OSError, ValueError) as exc:
            self.show_error("Figure not saved", str(exc))
            return None
        self._window.statusBar().showMessage(f"Figure saved as {path}", 5000)
        return Path(path)

    @Slot()
    def _copy_versions(self) -> None:
        QApplication.clipboard().setText("\n".join(f"{k}: {v}" for k, v in versions().items()))
