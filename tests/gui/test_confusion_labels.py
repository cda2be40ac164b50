"""The Results tab's confusion matrix names every column at 1024 x 640 and 1280 x 800: no label dropped by
pyqtgraph's tick culling, none drawn over its neighbour, a cut name a prefix of the full one (which the axis
tooltip lists). Read from what the real axis would draw, in the real window, on a real multiclass run."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtGui import QImage, QPainter

from tests.gui.conftest import shot

LONG = ["CTCF", "GATA1", "enhancer (active)", "promoter-proximal", "insulator", "heterochromatin", "poised",
        "repressed"]


def _drawn(plot) -> list[tuple]:
    """(rect, text) of every column label the bottom axis draws now (after its own culling)."""
    axis = plot.getPlotItem().getAxis("bottom")
    image = QImage(400, 200, QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    specs = axis.generateDrawSpecs(painter)[2]
    painter.end()
    return [(rect, text) for rect, _, text in specs]


def _check_every_name_shown(plot, names: list[str]) -> None:
    drawn = _drawn(plot)
    assert len(drawn) == len(names), [t for _, t in drawn]  # none dropped
    axis = plot.getPlotItem().getAxis("bottom")
    for (rect, text), name in zip(sorted(drawn, key=lambda d: d[0].center().x()), names):
        shown = text.strip("\n")
        assert shown == name or (shown.endswith("…") and len(shown) >= 3 and name.startswith(shown[:-1].rstrip()))
        assert axis.boundingRect().contains(rect)
        assert name in axis.toolTip()
    for line in (False, True):  # labels of one line never overlap (the second line starts with a line break)
        rects = sorted((r for r, t in drawn if t.startswith("\n") == line), key=lambda r: r.left())
        assert all(a.right() <= b.left() for a, b in zip(rects, rects[1:]))


@pytest.mark.parametrize("size", [(1024, 640), (1280, 800)])
def test_every_class_name_is_shown_under_the_confusion_matrix(window, qtbot, train_gc_box, size):
    run = train_gc_box("cnn", "two motifs", task="multiclass")
    window.resize(*size)
    window.sequences.add_run(run)
    window.show_tab(window.results_tab)
    plot = window.results_tab.confusion_plot
    assert window.results_tab.current_plot() is plot
    qtbot.waitUntil(lambda: len(_drawn(plot)) == 3, timeout=5_000)
    assert plot.column_labels() == list(run.info.class_names)  # short names: whole, on one line
    _check_every_name_shown(plot, list(run.info.class_names))
    counts = np.arange(64).reshape(8, 8)  # eight classes with long names: the case pyqtgraph mangled
    plot.set_matrix(counts, LONG)
    qtbot.wait(50)
    _check_every_name_shown(plot, LONG)
    assert any(t.startswith("\n") for t in plot.column_labels())  # staggered on two lines to make room
    shot(window, f"polish5_confusion_8_classes_{size[0]}x{size[1]}")
    plot.set_matrix(np.zeros((0, 0)), [])
    assert plot.column_labels() == [] and _drawn(plot) == []
