"""Packaging: the PyInstaller spec, the self-test, the per-user folders, and (on demand) the frozen bundle.

Always run (fast): the spec parses, bundles resources/ and excludes nothing the app imports; ``run_self_test``
passes in-process; ``biodeep_gui.paths`` follows each platform's rules and never uses the install folder.

On demand (marked ``packaging``, minutes): build the bundle and run its ``--self-test``::

    BIODEEP_PACKAGING=1 QT_QPA_PLATFORM=offscreen .venv/bin/python -m pytest tests/test_packaging.py -m packaging -s
"""
from __future__ import annotations

import ast
import io
import os
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "packaging" / "biodeep.spec"


def spec_namespace(tmp_path: Path) -> dict:
    """The spec's definitions, executed as PyInstaller would but without building (no ``Analysis`` defined)."""
    ns = {"SPECPATH": str(SPEC.parent), "workpath": str(tmp_path), "__file__": str(SPEC)}
    exec(compile(SPEC.read_text(encoding="utf-8"), str(SPEC), "exec"), ns)
    return ns


# ---- the spec ----------------------------------------------------------------------------------------------------

def test_spec_parses_and_bundles_resources(tmp_path):
    ast.parse(SPEC.read_text(encoding="utf-8"))
    ns = spec_namespace(tmp_path)
    assert "a" not in ns, "the build part ran without PyInstaller"
    sources = {Path(src).resolve(): dest for src, dest in ns["DATAS"]}
    assert sources.get((ROOT / "resources").resolve()) == "resources"
    # the resource helper's frozen layout: <_MEIPASS>/resources/...
    assert (ROOT / "resources" / "motifs" / "JASPAR2026_CORE_vertebrates.meme").is_file()
    assert ns["APP_NAME"] == "BioDeep"
    from biodeep_gui import __version__

    assert ns["VERSION"] == __version__


def test_spec_excludes_unused_qt_and_torch_test_pieces(tmp_path):
    ns = spec_namespace(tmp_path)
    excludes = set(ns["EXCLUDES"])
    for used in ("PySide6.QtCore", "PySide6.QtGui", "PySide6.QtWidgets", "PySide6.QtSvg", "PySide6.QtOpenGL",
                 "PySide6.QtOpenGLWidgets", "sympy"):
        assert used not in excludes
    for unused in ("PySide6.QtWebEngineCore", "PySide6.QtQml", "PySide6.QtQuick", "PySide6.QtNetwork",
                   "PySide6.Qt3DCore", "PySide6.QtMultimedia", "PyQt5", "tkinter", "pytest",
                   "torch.utils.tensorboard", "torch.testing._internal.opinfo"):
        assert unused in excludes
    keep = ns["keep"]
    assert keep("torch/bin/torch_shm_manager") and keep("torch\\bin\\torch_shm_manager.exe")
    for dropped in ("torch/bin/protoc", "torch/test/test_api", "PySide6/Qt/translations/qtbase_de.qm", "torch/include/ATen/ATen.h",
                    "torch/lib/libtorchbind_test.so", "torch/lib/libjitbackend_test.so",
                    "torch\\lib\\backend_with_compiler.dll", "torch/_C/__init__.pyi", "torch/lib/c10.lib"):
        assert not keep(dropped), dropped
    # auditwheel-patched libraries break when stripped: only the listed ones are
    lib = str(tmp_path / "libscipy_openblas.so")
    assert ns["stripped"]("scipy.libs/libscipy_openblas.so", lib, tmp_path) == lib
    assert all(d.startswith(("torch/lib/", "llvmlite/")) for d in ns["STRIP_LIBRARIES"])
    for kept in ("torch/lib/libtorch_cpu.so", "torch/lib/libc10.so", "torch\\lib\\torch_cpu.dll",
                 "resources/motifs/JASPAR2026_CORE_vertebrates.meme", "PySide6/Qt/plugins/platforms/libqoffscreen.so",
                 "torch/_inductor/config.py"):
        assert keep(kept), kept


def test_excluded_modules_are_never_imported_by_the_app():
    """Import the GUI, train each architecture a step and draw a plot: none of the excluded modules is loaded."""
    code = textwrap.dedent("""
        import os, sys
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        ns = {"SPECPATH": sys.argv[1], "workpath": sys.argv[2]}
        exec(compile(open(sys.argv[3], encoding="utf-8").read(), sys.argv[3], "exec"), ns)
        from PySide6.QtWidgets import QApplication
        app = QApplication([])
        import pkgutil, importlib
        import biodeep_gui
        for m in pkgutil.walk_packages(biodeep_gui.__path__, "biodeep_gui."):
            if m.name != "biodeep_gui.__main__":
                importlib.import_module(m.name)
        import torch
        from biodeep_gui.core.sequences.models import DEEP_ARCHITECTURES, build_model
        for arch in DEEP_ARCHITECTURES:
            model = build_model(arch, 60, 1, {})
            opt = torch.optim.Adam(model.parameters())
            model(torch.randn(4, 4, 60)).sum().backward()
            opt.step()
        import pyqtgraph as pg
        w = pg.PlotWidget(); w.plot([1, 2, 3]); w.grab()
        hard = [e for e in ns["EXCLUDES"] if e not in ns["OPTIONAL_EXCLUDES"]]
        loaded = sorted(m for m in sys.modules if any(m == e or m.startswith(e + ".") for e in hard))
        print("LOADED", loaded)
    """)
    out = subprocess.run([sys.executable, "-c", code, str(SPEC.parent), str(ROOT / "build" / "spec-check"),
                          str(SPEC)], capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-3000:]
    line = [ln for ln in out.stdout.splitlines() if ln.startswith("LOADED")][-1]
    assert line == "LOADED []", line


def test_entry_script_dispatches(tmp_path):
    ns = spec_namespace(tmp_path)
    script = ns["entry_script"](tmp_path / "work")
    text = script.read_text(encoding="utf-8")
    compile(text, str(script), "exec")
    assert "run_self_test" in text and "freeze_support" in text and "biodeep_gui.gui.app" in text
    # a CLI command through the frozen entry point (here: run from source)
    out = subprocess.run([sys.executable, str(script), "archs"], capture_output=True, text=True, timeout=300,
                         cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert out.returncode == 0, out.stderr[-2000:]
    assert "cnn-lstm" in out.stdout


def test_build_script_is_one_command():
    build = ROOT / "packaging" / "build"
    text = build.read_text(encoding="utf-8")
    compile(text, str(build), "exec")
    out = subprocess.run([sys.executable, str(build), "--help"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "--self-test" in out.stdout


# ---- the self-test, in-process -------------------------------------------------------------------------------

def test_self_test_passes_in_process(tmp_path, monkeypatch):
    monkeypatch.setenv("BIODEEP_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    from biodeep_gui.gui.selftest import run_self_test

    buf = io.StringIO()
    rc = run_self_test(stream=buf)
    report = buf.getvalue()
    assert rc == 0, report
    for step in ("versions", "demo data", "train mlp", "train cnn", "train cnn-lstm", "logo view"):
        assert f"[ok] {step}" in report, report
    assert "PyTorch" in report and "Qt" in report and "numpy" in report
    folder = tmp_path / "home" / "logs" / "selftest"
    assert (folder / "selftest.txt").read_text(encoding="utf-8").strip().endswith(str(folder))
    from PySide6.QtGui import QImage

    logo = QImage(str(folder / "logo_view.png"))
    assert logo.width() >= 300 and logo.height() >= 100
    if "[ok] first window" in report:
        assert QImage(str(folder / "main_window.png")).width() >= 400
    if "[ok] reconstruction view" in report:
        assert QImage(str(folder / "reconstruction_view.png")).width() >= 600
    # no settings or data were written to the user's real folders
    assert not (tmp_path / "home" / "data").exists() or not any((tmp_path / "home" / "data").iterdir())


def test_self_test_reports_a_failing_step(tmp_path, monkeypatch):
    monkeypatch.setenv("BIODEEP_HOME", str(tmp_path / "home"))
    import biodeep_gui.gui.selftest as st

    def broken(*_a, **_k):
        raise RuntimeError("demo writer broke")

    monkeypatch.setattr(st, "_demo_data", broken)
    monkeypatch.setattr(st, "_has", lambda module: False)  # skip the window: this test is about the report
    buf = io.StringIO()
    assert st.run_self_test(stream=buf) == 1
    text = buf.getvalue()
    assert "[FAILED] demo data: RuntimeError: demo writer broke" in text
    assert "self-test FAILED: demo data" in text


# ---- per-user folders --------------------------------------------------------------------------------------------

def test_user_dirs_follow_each_platform(tmp_path):
    from biodeep_gui.core.common import paths

    home = Path("/home/ada")
    linux = paths.user_dirs(system="linux", env={}, home=home)
    assert linux.data == home / ".local/share/BioDeep" and linux.cache == home / ".cache/BioDeep"
    assert linux.config == home / ".config/BioDeep" and linux.log == home / ".local/state/BioDeep/logs"
    assert linux.crash == home / ".local/state/BioDeep/crash"
    xdg = paths.user_dirs(system="linux", home=home, env={"XDG_DATA_HOME": "/data/ada", "XDG_CACHE_HOME": "rel",
                                                          "XDG_STATE_HOME": "/state"})
    assert xdg.data == Path("/data/ada/BioDeep") and xdg.log == Path("/state/BioDeep/logs")
    assert xdg.cache == home / ".cache/BioDeep"  # relative XDG paths are invalid and ignored
    win = paths.user_dirs(system="win32", home=Path("C:/Users/ada"),
                          env={"APPDATA": "C:/Users/ada/AppData/Roaming", "LOCALAPPDATA": "C:/Users/ada/AppData/Local"})
    assert win.data == Path("C:/Users/ada/AppData/Roaming/BioDeep")
    assert win.log == Path("C:/Users/ada/AppData/Local/BioDeep/Logs")
    assert win.cache == Path("C:/Users/ada/AppData/Local/BioDeep/Cache")
    assert win.crash == Path("C:/Users/ada/AppData/Local/BioDeep/CrashReports")
    mac = paths.user_dirs(system="darwin", env={}, home=Path("/Users/ada"))
    assert mac.data == Path("/Users/ada/Library/Application Support/BioDeep")
    assert mac.cache == Path("/Users/ada/Library/Caches/BioDeep") and mac.log == Path("/Users/ada/Library/Logs/BioDeep")
    one = paths.user_dirs(system="win32", env={"BIODEEP_HOME": str(tmp_path)}, home=home)
    assert {one.get(k).parent for k in paths.KINDS} == {tmp_path}
    with pytest.raises(ValueError):
        one.get("desktop")


def test_ensure_dir_falls_back_when_the_folder_cannot_be_made(tmp_path, monkeypatch):
    from biodeep_gui.core.common import paths

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the home folder should be")  # mkdir fails even for root
    monkeypatch.setenv("BIODEEP_HOME", str(blocker / "home"))
    got = paths.ensure_dir("log")
    assert got.is_dir() and blocker not in got.parents
    assert got.name == "log" and "BioDeep" in got.parent.name


def test_never_inside_the_install_folder(tmp_path, monkeypatch):
    from biodeep_gui.core.common import paths

    install = tmp_path / "Program Files" / "BioDeep"
    install.mkdir(parents=True)
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", str(install / "BioDeep.exe"))
    monkeypatch.setenv("BIODEEP_HOME", str(install / "portable"))
    got = paths.cache_dir()
    assert install not in got.parents and got.is_dir()
    monkeypatch.setenv("BIODEEP_HOME", str(tmp_path / "elsewhere"))
    assert paths.cache_dir() == tmp_path / "elsewhere" / "cache"


# ---- the frozen bundle (on demand) -----------------------------------------------------------------------------

def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in folder.rglob("*") if p.is_file() and not p.is_symlink()}


@pytest.mark.packaging
@pytest.mark.skipif(os.environ.get("BIODEEP_PACKAGING") != "1", reason="set BIODEEP_PACKAGING=1 to build the bundle")
def test_frozen_bundle_builds_and_passes_its_self_test(tmp_path):
    build = subprocess.run([sys.executable, str(ROOT / "packaging" / "build")], cwd=ROOT, capture_output=True,
                           text=True, timeout=3600)
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    m = re.search(r"bundle: .*?([\d,]+) MB", build.stdout)
    assert m, build.stdout
    size_mb = int(m.group(1).replace(",", ""))
    exe = ROOT / "dist" / ("BioDeep.app/Contents/MacOS/BioDeep" if sys.platform == "darwin" else
                           "BioDeep/BioDeep.exe" if os.name == "nt" else "BioDeep/BioDeep")
    bundle = ROOT / "dist" / ("BioDeep.app" if sys.platform == "darwin" else "BioDeep")
    before = _snapshot(bundle)
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", BIODEEP_HOME=str(tmp_path / "home"))
    t0 = time.perf_counter()
    run = subprocess.run([str(exe), "--self-test"], capture_output=True, text=True, timeout=900, env=env,
                         cwd=tmp_path)
    wall = time.perf_counter() - t0
    report = (tmp_path / "home" / "logs" / "selftest" / "selftest.txt").read_text(encoding="utf-8")
    print(f"\nbundle {size_mb} MB; frozen --self-test exit {run.returncode} in {wall:.1f} s\n{report}")
    assert run.returncode == 0, report + run.stderr[-3000:]
    assert "[ok] train cnn-lstm" in report and "[ok] logo view" in report
    assert "[FAILED]" not in report
    assert _snapshot(bundle) == before, "the frozen app wrote into its own install folder"
    assert size_mb < 1024


@pytest.mark.packaging
@pytest.mark.skipif(os.environ.get("BIODEEP_PACKAGING") != "1", reason="set BIODEEP_PACKAGING=1 to build the bundle")
def test_frozen_command_line_trains_and_matches_jaspar(tmp_path):
    """The installed app headless: demo data, one epoch of a CNN, Tomtom against the bundled JASPAR (numba compiles
    in the frozen app); nothing is written into the install folder. Uses the bundle the test above built."""
    bundle = ROOT / "dist" / ("BioDeep.app" if sys.platform == "darwin" else "BioDeep")
    exe = bundle / ("Contents/MacOS/BioDeep" if sys.platform == "darwin" else
                    "BioDeep.exe" if os.name == "nt" else "BioDeep")
    if not exe.exists():
        pytest.skip("no bundle in dist/: run the build test first")
    before = _snapshot(bundle)
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", BIODEEP_HOME=str(tmp_path / "home"),
               XDG_CACHE_HOME=str(tmp_path / "cache"))

    def run(*args: str) -> str:
        out = subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=900, env=env, cwd=tmp_path)
        assert out.returncode == 0, f"{args[0]}: {out.stderr[-3000:]}"
        return out.stdout + out.stderr

    run("demo", "--out", "demo")
    run("train", "--fasta", "demo/bound.fa", "--background", "demo/background.fa", "--arch", "cnn", "--epochs", "1",
        "--param", "filters=8", "--quiet", "--out", "run")
    text = run("motifs", "run", "--out", "motifs", "--max-sequences", "300", "--no-influence")
    assert "JASPAR2026" in text
    assert (tmp_path / "motifs" / "matches.tsv").read_text(encoding="utf-8").count("\n") >= 2
    assert _snapshot(bundle) == before, "the frozen app wrote into its own install folder"


def test_spec_carries_the_variant_and_attribution_libraries(tmp_path):
    """cyvcf2, tangermeme and modisco-lite are imported inside functions; numba needs their sources frozen."""
    import importlib.util

    ns = spec_namespace(tmp_path)
    for name in ("cyvcf2", "tangermeme.deep_lift_shap", "tangermeme.ersatz", "modiscolite.tfmodisco"):
        assert name in ns["HIDDEN_IMPORTS"]
        assert importlib.util.find_spec(name) is not None, name  # the names are real modules
        assert name.split(".")[0] not in ns["EXCLUDES"]
    assert {"memelite", "tangermeme", "modiscolite"} <= set(ns["NUMBA_SOURCE_PACKAGES"])
    assert "module_collection_mode" in SPEC.read_text(encoding="utf-8")
