"""``BioDeep --self-test``: prove that an installed (frozen) BioDeep really works, offscreen, in about a minute.

Steps, each reported on one line as ``ok`` or ``FAILED`` with the reason:

1. versions: BioDeep, Python, PyTorch, Qt / PySide6, numpy, platform, frozen or not;
2. first window: the main window is built, shown and painted (offscreen); the time from process start to the
   first paint is printed (the installer's start-up figure);
3. demo data: the synthetic demo files are written to a temporary folder and read back;
4. training: one small epoch of each deep architecture (mlp, cnn, cnn-lstm) on CPU through
   ``core.experiment.train_run``; each run folder is read back and predicts finite probabilities;
5. logo view: the CNN's first-layer filter logos are computed and the ``LogoView`` widget is rendered to a PNG;
6. reconstruction view (when the scans feature is installed): a tiny 3-D autoencoder is cross-validated on a
   synthetic cohort of 8 subjects through ``core.scans_training.train_scans``; the Reconstructions tab takes its
   items as during training, reads the run back, reconstructs the worst subject in its worker, and is rendered
   to a PNG.

``BIODEEP_SELFTEST_ONLY=startup`` runs step 2 alone, to time the start-up. The report and the images go to
``<user log folder>/selftest/`` (see ``biodeep_gui.paths``), so a windowed
build, which has no console on Windows, still leaves a readable result. Nothing else is written outside a
temporary folder: the window's settings and data folder are redirected there.

Hook for the app: ``biodeep_gui.gui.app.main(argv)`` calls ``run_self_test()`` and returns its exit code when
``"--self-test"`` is in ``argv``, before it creates its own ``QApplication``.
"""
from __future__ import annotations

import contextlib
import importlib.util
import os
import platform
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Callable, TextIO

from biodeep_gui.core.common.system import seconds_since_process_start

DEEP_ARCHS = ("mlp", "cnn", "cnn-lstm")
#: Small networks so that one epoch of each takes seconds on a laptop CPU.
SMALL_PARAMS = {
    "mlp": {"hidden": 32, "layers": 1},
    "cnn": {"filters": 16, "filter_width": 11, "hidden": 16},
    "cnn-lstm": {"filters": 16, "filter_width": 11, "pool": 13, "rnn_hidden": 8, "hidden": 16},
}
N_TRAIN_SEQUENCES = 240
#: ``BIODEEP_SELFTEST_ONLY=startup`` runs the first-window step alone (to time start-up).
ONLY_ENV = "BIODEEP_SELFTEST_ONLY"


class _Report:
    """Prints each step to the console and keeps the lines for the report file."""

    def __init__(self, stream: TextIO | None):
        self.stream = stream
        self.lines: list[str] = []
        self.failed: list[str] = []

    def say(self, text: str) -> None:
        self.lines.append(text)
        if self.stream is not None:  # a windowed Windows build has no console: sys.stdout is None
            print(text, file=self.stream, flush=True)

    def step(self, name: str, fn: Callable[[], str]) -> bool:
        t0 = time.perf_counter()
        try:
            detail = fn()
        except Exception as exc:  # a self-test reports every failure and goes on with the next step
            self.failed.append(name)
            self.say(f"[FAILED] {name}: {type(exc).__name__}: {exc}")
            for line in traceback.format_exc().rstrip().splitlines():
                self.say("         " + line)
            return False
        self.say(f"[ok] {name} ({time.perf_counter() - t0:.1f} s){': ' + detail if detail else ''}")
        return True


def versions() -> dict[str, str]:
    """Versions this BioDeep runs with (imports torch)."""
    import numpy
    import torch
    from PySide6 import __version__ as pyside_version
    from PySide6.QtCore import qVersion

    from biodeep_gui import __version__

    return {"BioDeep": __version__, "Python": platform.python_version(), "PyTorch": torch.__version__,
            "Qt": qVersion(), "PySide6": pyside_version, "numpy": numpy.__version__,
            "platform": platform.platform(), "frozen": "yes" if getattr(sys, "frozen", False) else "no"}


def _qt_app():
    """The running QApplication, or a new offscreen one."""
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        app = QApplication([sys.argv[0] if sys.argv else "biodeep", "-platform", "offscreen"])
        app.setOrganizationName("BioDeep")
        app.setApplicationName("BioDeep")
    return app


@contextlib.contextmanager
def _settings_in(folder: Path):
    """Qt settings (the window saves its geometry on close) go to ``folder`` meanwhile, not the user's own."""
    from PySide6.QtCore import QSettings, QStandardPaths

    fmt = QSettings.defaultFormat()
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(folder))
    try:
        yield
    finally:
        # Qt's own default for user-scope INI files (there is no getter to save it)
        default = os.environ.get("APPDATA") if sys.platform == "win32" else None
        default = default or QStandardPaths.writableLocation(QStandardPaths.StandardLocation.GenericConfigLocation)
        QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, default)
        QSettings.setDefaultFormat(fmt)


def _non_white_fraction(image) -> float:
    """Share of pixels that are not (nearly) white in a QImage."""
    import numpy as np
    from PySide6.QtGui import QImage

    img = image.convertToFormat(QImage.Format.Format_RGB32)
    w, h = img.width(), img.height()
    if w == 0 or h == 0:
        return 0.0
    arr = np.frombuffer(img.constBits(), np.uint8, count=img.bytesPerLine() * h).reshape(h, img.bytesPerLine())
    rgb = arr[:, : 4 * w].reshape(h, w, 4)[:, :, :3]
    return float((rgb.min(axis=2) < 235).mean())


def _wait_for(app, predicate: Callable[[], bool], timeout_s: float) -> bool:
    end = time.perf_counter() + timeout_s
    while time.perf_counter() < end:
        app.processEvents()
        if predicate():
            return True
        time.sleep(0.005)
    return predicate()


def _first_window(app, out: Path) -> str:
    from PySide6.QtCore import QEvent, QObject

    from biodeep_gui.gui.main_window import MainWindow

    painted: list[float] = []

    class _PaintSpy(QObject):
        def eventFilter(self, obj, event):  # noqa: N802 (Qt API)
            if event.type() == QEvent.Type.Paint and not painted:
                painted.append(time.perf_counter())
            return False

    t0 = time.perf_counter()
    win = MainWindow()
    spy = _PaintSpy()
    win.installEventFilter(spy)
    win.show()
    if not _wait_for(app, lambda: bool(painted), 15.0):
        raise RuntimeError("the main window was shown but never painted within 15 s")
    since_start = seconds_since_process_start()
    built = painted[0] - t0
    image = win.grab().toImage()
    image.save(str(out / "main_window.png"))
    ink = _non_white_fraction(image)
    win.close()  # joins the window's worker threads (device discovery)
    app.processEvents()
    win.removeEventFilter(spy)
    win.deleteLater()
    app.processEvents()
    if ink < 0.01:
        raise RuntimeError(f"the main window image is blank ({ink:.1%} of pixels drawn)")
    start = f"{since_start:.2f} s after process start, " if since_start is not None else ""
    return f"first paint {start}{built:.2f} s after MainWindow() was called"


def demo_window_check(app, window, timeout_s: float = 120.0) -> int:
    """``biodeep gui --demo`` under ``BIODEEP_QUICK`` (the README test): wait until the shown ``window`` has
    opened the demo sequences, render it to ``<user log folder>/selftest/demo_window.png``, close it (joining its
    threads) and return 0; 1 with a one-line reason when the demo did not open or the image is blank."""
    from biodeep_gui.core.common import paths, quick

    print(quick.notice(what="the app closes itself once the demo data are open"), file=sys.stderr, flush=True)
    tab = window.sequences_tab
    opened = _wait_for(app, lambda: tab.current_data()[0] is not None and not window.data_runner.is_running(),
                       timeout_s)
    problem = "" if opened else f"the demo sequences were not open within {timeout_s:.0f} s"
    if opened:
        out = paths.log_dir() / "selftest"
        out.mkdir(parents=True, exist_ok=True)
        image = window.grab().toImage()
        path = out / "demo_window.png"
        ink = _non_white_fraction(image)
        if not image.save(str(path)):
            problem = f"{path}: the window image could not be written"
        elif ink < 0.01:
            problem = f"the window showing the demo is blank ({ink:.1%} of pixels drawn)"
        else:
            print(f"demo open: {len(tab.current_data()[0])} sequences; window rendered to {path}", flush=True)
    window.close()  # joins the window's worker threads
    app.processEvents()
    if problem:
        print(f"biodeep gui --demo: {problem}", file=sys.stderr, flush=True)
    return 1 if problem else 0


def _demo_data(tmp: Path) -> tuple[dict, object]:
    import numpy as np

    from biodeep_gui.core.sequences.fasta import load_fasta_pair
    from biodeep_gui.core.sequences.synthetic import write_demo

    files = write_demo(tmp / "demo")
    ss = load_fasta_pair(files["bound"], files["background"])
    rng = np.random.default_rng(0)
    pos = rng.choice(np.flatnonzero(ss.labels[:, 0] == 1), N_TRAIN_SEQUENCES // 2, replace=False)
    neg = rng.choice(np.flatnonzero(ss.labels[:, 0] == 0), N_TRAIN_SEQUENCES // 2, replace=False)
    return files, ss.subset(np.sort(np.concatenate([pos, neg])))


def _train_one(arch: str, data, tmp: Path) -> tuple[str, object]:
    import numpy as np

    from biodeep_gui.core.sequences.config import DataConfig, ModelConfig, RunConfig
    from biodeep_gui.core.sequences.pipeline import RunSummary, train_run
    from biodeep_gui.core.sequences.run import load_run
    from biodeep_gui.core.training.config import TrainConfig

    cfg = RunConfig(data=DataConfig(kind="fasta", fasta=data.sources[0], background=data.sources[1]),
                    model=ModelConfig(arch, dict(SMALL_PARAMS[arch])),
                    train=TrainConfig(epochs=1, batch_size=32, patience=0, device="cpu", seed=0),
                    name=f"selftest-{arch}")
    out = tmp / "runs" / arch
    summary = None
    for item in train_run(cfg, out, data=data):
        if isinstance(item, RunSummary):
            summary = item
    if summary is None or summary.epochs_run != 1:
        raise RuntimeError(f"{arch}: training did not finish its epoch ({summary})")
    run = load_run(out)
    if run.status != "complete":
        raise RuntimeError(f"{arch}: the saved run has status {run.status!r}")
    p = run.predict(data.codes[:16])
    if p.shape != (16, 1) or not np.all(np.isfinite(p)) or p.min() < 0 or p.max() > 1:
        raise RuntimeError(f"{arch}: predictions of the saved run are not probabilities: shape {p.shape}")
    auroc = summary.metrics.get("test_auroc", float("nan"))
    return (f"{summary.n_parameters:,} parameters, {summary.samples_per_s:,.0f} seq/s, test AUROC {auroc:.2f} "
            f"after one epoch"), run


def _logo(app, run, data, out: Path) -> str:
    import numpy as np
    from PySide6.QtCore import QSize

    from biodeep_gui.core.sequences.interpret.filters import filter_motifs
    from biodeep_gui.gui.widgets.logo_view import LogoView

    fm = filter_motifs(run.model(), data.codes)
    best = int(np.argmax(fm.n_sites))
    view = LogoView(mode="bits")
    view.set_matrix(fm.pfms[best])
    view.set_title(f"filter {best + 1}", f"{int(fm.n_sites[best])} sites")
    view.resize(QSize(460, 160))
    image = view.grab().toImage()
    app.processEvents()
    path = out / "logo_view.png"
    if not image.save(str(path)):
        raise RuntimeError(f"{path}: the logo image could not be written")
    ink = _non_white_fraction(image)
    letters = len(view.glyphs())
    view.deleteLater()
    if ink < 0.02 or letters == 0:
        raise RuntimeError(f"the logo view is blank ({letters} letters, {ink:.1%} of pixels drawn)")
    return f"{fm.n_filters} filters, filter {best + 1} drawn with {letters} letters -> {path}"


def _reconstruction(app, tmp: Path, out: Path) -> str:
    from biodeep_gui.core.scans.config import ScansConfig
    from biodeep_gui.core.scans.pipeline import train_scans
    from biodeep_gui.core.scans.reports import ScansSummary
    from biodeep_gui.core.scans.synthetic import write_demo_cohort
    from biodeep_gui.gui.tabs.scans.reconstructions_tab import ReconstructionsTab

    demo = write_demo_cohort(tmp / "cohort", 8, (8, 10, 8), seed=0)
    cfg = ScansConfig()
    d = cfg.data
    d.images, d.labels, d.file_column, d.site_column = str(demo.images), str(demo.table), "FILE_ID", "SITE_ID"
    d.cache_dir = str(tmp / "scans-cache")
    cfg.model.autoencoder = {"depth": 2, "channels": 4, "code_size": 8}
    cfg.model.cnn_arm = False
    t = cfg.train
    t.epochs, t.batch_size, t.head_epochs, t.preview_every, t.device = 2, 2, 20, 1, "cpu"
    cfg.cv.folds, cfg.cv.permutations, cfg.cv.final_fit = 2, 0, False
    items = list(train_scans(cfg, tmp / "scans-run"))
    summary = items[-1]
    if not isinstance(summary, ScansSummary) or not summary.run_dir:
        raise RuntimeError(f"the scans training did not save a run ({type(summary).__name__})")
    tab = ReconstructionsTab()
    tab.resize(1200, 760)
    try:
        tab.show_items(items)  # live previews, fold results, then the saved run read back (reconstructs in a worker)
        if not _wait_for(app, lambda: not tab.recon_runner.is_running(), 60.0):
            raise RuntimeError("reconstructing the worst subject did not finish within 60 s")
        app.processEvents()
        if tab.original.volume is None or tab.reconstruction.volume is None:
            raise RuntimeError("the reconstruction view shows no volumes")
        image = tab.grab().toImage()
        path = out / "reconstruction_view.png"
        if not image.save(str(path)):
            raise RuntimeError(f"{path}: the reconstruction image could not be written")
        ink = _non_white_fraction(image)
        if ink < 0.05:
            raise RuntimeError(f"the reconstruction view is blank ({ink:.1%} of pixels drawn)")
    finally:
        tab.shutdown()
        tab.deleteLater()
        app.processEvents()
    return f"{len(demo.subjects)} synthetic subjects, 2 folds, {tab.errors.rowCount()} subjects ranked -> {path}"


def _has(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def run_self_test(stream: TextIO | None = None) -> int:
    """Run every step; print a report; return 0 when all passed, 1 otherwise.

    Parameters
    ----------
    stream : where to print (default ``sys.stdout``; ``None`` there in a windowed Windows build)
    """
    stream = sys.stdout if stream is None else stream
    from biodeep_gui.core.common import paths

    report = _Report(stream)
    out = paths.log_dir() / "selftest"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="biodeep-selftest-"))
    old_home = os.environ.get(paths.HOME_ENV)
    os.environ[paths.HOME_ENV] = str(tmp / "userhome")  # the window's data folders: temporary ones
    t_all = time.perf_counter()
    report.say("BioDeep self-test")
    try:
        app = _qt_app()
        if _has("biodeep_gui.gui.main_window"):
            with _settings_in(tmp / "settings"):
                report.step("first window", lambda: _first_window(app, out))
        else:
            report.say("[skipped] first window: this build has no main window (biodeep_gui.gui.main_window)")
        if os.environ.get(ONLY_ENV) == "startup":
            report.say(f"[skipped] the other steps: {ONLY_ENV}=startup")
            return _finish(report, out, t_all)
        report.step("versions", lambda: ", ".join(f"{k} {v}" for k, v in versions().items()))
        state: dict = {}

        def demo() -> str:
            state["files"], state["data"] = _demo_data(tmp)
            d = state["data"]
            return f"{len(state['files'])} files written; {len(d)} of the bound/background sequences ({d.length} bp)"

        if report.step("demo data", demo):
            for arch in DEEP_ARCHS:
                def train(arch=arch) -> str:
                    detail, state[arch] = _train_one(arch, state["data"], tmp)
                    return detail

                report.step(f"train {arch}", train)
            if "cnn" in state:
                report.step("logo view", lambda: _logo(app, state["cnn"], state["data"], out))
        if _has("biodeep_gui.core.scans.pipeline") and _has("biodeep_gui.gui.tabs.scans.reconstructions_tab"):
            report.step("reconstruction view", lambda: _reconstruction(app, tmp, out))
        else:
            report.say("[skipped] reconstruction view: the brain-scan feature is not in this build")
    finally:
        if old_home is None:
            os.environ.pop(paths.HOME_ENV, None)
        else:
            os.environ[paths.HOME_ENV] = old_home
        shutil.rmtree(tmp, ignore_errors=True)
    return _finish(report, out, t_all)


def _finish(report: _Report, out: Path, t0: float) -> int:
    ok = not report.failed
    report.say(f"self-test {'passed' if ok else 'FAILED: ' + ', '.join(report.failed)} "
               f"in {time.perf_counter() - t0:.1f} s; report and images in {out}")
    try:
        (out / "selftest.txt").write_text("\n".join(report.lines) + "\n", encoding="utf-8")
    except OSError:
        pass  # the console report is enough
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(run_self_test())
