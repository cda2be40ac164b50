"""figures/: logos and mutation maps written offscreen to PNG / SVG / PDF, atomically, without any widget."""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before the QApplication (pytest-qt's qapp) exists

import subprocess  # noqa: E402
import sys  # noqa: E402
import xml.etree.ElementTree as ET  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PySide6.QtCore import QRectF, QSize  # noqa: E402
from PySide6.QtGui import QColor, QImage  # noqa: E402

import biodeep_gui  # noqa: E402

PFM = np.array([[1.0, 0, 0, 0], [0.5, 0.5, 0, 0], [0.25, 0.25, 0.25, 0.25], [0, 0, 0.9, 0.1], [0.1, 0.2, 0.3, 0.4]])
SVG_NS = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def mutation_map():
    """A 24 bp map with seeded changes (0 at the reference bases) and saliency."""
    from biodeep_gui.core.sequences.interpret.mutagenesis import MutationMap

    rng = np.random.default_rng(0)
    seq = "ACGTTGCAAGCTAGCTAGGATCCA"
    codes = np.array(["ACGT".index(c) for c in seq], np.uint8)
    delta = rng.normal(size=(len(seq), 4)).astype(np.float32)
    delta[np.arange(len(seq)), codes] = 0
    return MutationMap(seq, codes, 0, 0.3, delta, rng.normal(size=len(seq)).astype(np.float32),
                       rng.normal(size=(len(seq), 4)).astype(np.float32))


def _non_white(img: QImage) -> float:
    """Share of pixels that are not (nearly) white."""
    img = img.convertToFormat(QImage.Format.Format_RGB32)
    ptr = img.constBits()
    a = np.frombuffer(ptr, np.uint8, count=img.sizeInBytes()).reshape(img.height(), img.bytesPerLine())
    rgb = a[:, : img.width() * 4].reshape(img.height(), img.width(), 4)[..., :3]
    return float((rgb.min(axis=2) < 235).mean())


def _has_colour(img: QImage, want: QColor, tol: int = 30) -> bool:
    img = img.convertToFormat(QImage.Format.Format_RGB32)
    a = np.frombuffer(img.constBits(), np.uint8, count=img.sizeInBytes()).reshape(img.height(), img.bytesPerLine())
    bgr = a[:, : img.width() * 4].reshape(img.height(), img.width(), 4)[..., :3].astype(int)
    d = np.abs(bgr - np.array([want.blue(), want.green(), want.red()])).sum(axis=2)
    return bool((d < tol).any())


def _check_svg(path: Path) -> None:
    root = ET.parse(path).getroot()  # well-formed XML
    assert root.tag == f"{SVG_NS}svg"
    assert len(list(root.iter(f"{SVG_NS}path"))) > 5  # the letters are vector outlines


def _check_pdf(path: Path) -> None:
    raw = path.read_bytes()
    assert raw[:5] == b"%PDF-" and b"%%EOF" in raw[-32:]


def test_logo_files(qapp, tmp_path):
    from biodeep_gui.figures.logos import COLOURS, logo_size, save_logo

    for ext in ("png", "svg", "pdf"):
        assert save_logo(PFM, tmp_path / f"logo.{ext}", title="known", subtitle="5 columns") == tmp_path / f"logo.{ext}"
    img = QImage(str(tmp_path / "logo.png"))
    assert not img.isNull()
    assert (img.width(), img.height()) == (2 * logo_size(5).width(), 2 * logo_size(5).height())
    assert 0.03 < _non_white(img) < 0.6
    assert _has_colour(img, COLOURS["A"]) and _has_colour(img, COLOURS["G"])  # the two tall letters
    _check_svg(tmp_path / "logo.svg")
    _check_pdf(tmp_path / "logo.pdf")
    assert (tmp_path / "logo.pdf").stat().st_mode & 0o777 == 0o644  # a figure is meant to be shared
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary file left


def test_aligned_logo_stack_is_one_figure(qapp, tmp_path):
    from biodeep_gui.figures.logos import logo_size, save_logos

    save_logos([(PFM, "filter", ""), (PFM[1:4], "match", "p = 0.01")], tmp_path / "stack.png",
               aligned=[(0, 6), (2, 6)])
    img = QImage(str(tmp_path / "stack.png"))
    assert (img.width(), img.height()) == (2 * logo_size(6).width(), 2 * 2 * logo_size(6).height())
    assert _non_white(img.copy(0, img.height() // 2, img.width(), img.height() // 2)) > 0.02  # the lower logo


def test_mutation_map_files(qapp, tmp_path, mutation_map):
    from biodeep_gui.figures.mutation_maps import LABEL_W, NEGATIVE, POSITIVE, save_mutation_map, total_height

    for ext in ("png", "svg", "pdf"):
        save_mutation_map(mutation_map, tmp_path / f"mm.{ext}", title="seq 1", highlight=[(3, 8)],
                          highlight_label="filter 2", px_per_base=10)
    img = QImage(str(tmp_path / "mm.png"))
    assert (img.width(), img.height()) == (2 * (LABEL_W + 24 * 10 + 12), 2 * (56 + total_height()))
    assert _non_white(img) > 0.1
    # the strongest changes reach the ends of the diverging scale
    assert _has_colour(img, QColor(*POSITIVE.astype(int)), 12) and _has_colour(img, QColor(*NEGATIVE.astype(int)), 12)
    _check_svg(tmp_path / "mm.svg")
    _check_pdf(tmp_path / "mm.pdf")


def test_write_figure_scale_background_and_suffix(qapp, tmp_path):
    from biodeep_gui.figures.export import write_figure

    def draw(painter):
        painter.fillRect(QRectF(10, 10, 20, 20), QColor("#ff0000"))

    write_figure(tmp_path / "a.PNG", QSize(40, 30), draw, scale=3, background=None)
    img = QImage(str(tmp_path / "a.PNG"))
    assert (img.width(), img.height()) == (120, 90)
    assert img.pixelColor(0, 0).alpha() == 0 and img.pixelColor(60, 60) == QColor("#ff0000")
    with pytest.raises(ValueError, match=r"b\.gif: figures are saved as \.png, \.svg, \.pdf"):
        write_figure(tmp_path / "b.gif", QSize(40, 30), draw)
    assert not (tmp_path / "b.gif").exists()


@pytest.mark.parametrize("ext", ["png", "svg", "pdf"])
def test_failed_writes_leave_the_old_file(qapp, tmp_path, monkeypatch, ext):
    """A draw that raises, or a rename that fails, leaves the previous figure byte for byte (atomic write)."""
    from biodeep_gui.core.common import fileio
    from biodeep_gui.figures.export import write_figure
    from biodeep_gui.figures.logos import save_logo

    path = save_logo(PFM, tmp_path / f"logo.{ext}", title="old")
    old = path.read_bytes()

    def broken(painter):
        painter.fillRect(QRectF(0, 0, 5, 5), QColor("#000000"))
        raise RuntimeError("drawing failed half-way")

    with pytest.raises(RuntimeError, match="half-way"):
        write_figure(path, QSize(50, 50), broken)
    assert path.read_bytes() == old

    def no_replace(src, dst):
        raise OSError(f"cannot replace {dst}")

    monkeypatch.setattr(fileio.os, "replace", no_replace)
    with pytest.raises(OSError, match="cannot replace"):
        save_logo(PFM[::-1], path, title="new")
    assert path.read_bytes() == old
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]  # the temporary file was removed


def test_write_into_a_vanished_folder_fails_cleanly(qapp, tmp_path, monkeypatch):
    """The folder is removed between drawing and writing: an OSError, and no stray file anywhere."""
    import shutil

    from biodeep_gui.core.common import fileio
    from biodeep_gui.figures.logos import save_logo

    folder = tmp_path / "out"
    real_mkstemp = fileio.tempfile.mkstemp

    def vanish_then_mkstemp(*args, **kwargs):
        shutil.rmtree(folder)
        return real_mkstemp(*args, **kwargs)

    monkeypatch.setattr(fileio.tempfile, "mkstemp", vanish_then_mkstemp)
    with pytest.raises(OSError):
        save_logo(PFM, folder / "logo.png")
    assert list(tmp_path.iterdir()) == []


BLOCKED = r"""
import sys, importlib, pkgutil
class Block:
    def find_spec(self, name, path=None, target=None):
        if (name.startswith(('PySide6.QtWidgets', 'pyqtgraph', 'biodeep_gui.gui', 'biodeep_gui.cli'))):
            raise ImportError('blocked: ' + name)
sys.meta_path.insert(0, Block())
import numpy as np
import biodeep_gui.figures as figures
for m in pkgutil.walk_packages(figures.__path__, 'biodeep_gui.figures.'):
    importlib.import_module(m.name)
from biodeep_gui.figures.logos import save_logo
try:
    save_logo(np.eye(4), sys.argv[1])
except RuntimeError as exc:
    print('no app:', exc)
"""


def test_figures_import_without_widgets_and_need_an_application(tmp_path):
    """Every figures module imports with QtWidgets, pyqtgraph, gui and cli blocked; with no Qt application a
    figure is a clear error (figures never create the application: the caller does)."""
    root = Path(biodeep_gui.__file__).parents[1]
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    out = subprocess.run([sys.executable, "-c", BLOCKED, str(tmp_path / "x.png")], capture_output=True, text=True,
                         cwd=root, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("no app: drawing a figure needs a Qt application")
    assert not (tmp_path / "x.png").exists()
