"""The live training curves: cheap redraws while a run is live, the whole picture when it ends."""
from __future__ import annotations

import pytest

from biodeep_gui.gui.widgets.curves import TrainingCurves


def _y_range(plot):
    return tuple(plot.getViewBox().viewRange()[1])


def _points(curve) -> int:
    x, _ = curve.getData()
    return 0 if x is None else len(x)


def test_live_axes_stay_put_and_a_new_epoch_is_drawn_in_two_steps(qtbot):
    c = TrainingCurves()
    qtbot.addWidget(c)
    c.resize(900, 600)
    c.show()
    c.reset("auroc", epochs=10)
    assert tuple(c.loss_plot.getViewBox().viewRange()[0]) == pytest.approx((-0.2, 10.2))  # the planned epochs
    c.add_batch(1, 1, 4, 0.70)
    c.redraw()
    loss_range = _y_range(c.loss_plot)
    assert loss_range[0] == 0.0 and loss_range[1] > 0.70  # from 0, with head-room
    for b in range(2, 5):  # lower losses fall inside: the axis (its text, its cached pixmap) is left alone
        c.add_batch(1, b, 4, 0.70 - 0.05 * b)
        c.redraw()
        assert _y_range(c.loss_plot) == loss_range
    c.add_epoch(1, 0.6, 0.65, 0.62, 1)
    c.redraw()  # first the loss plot ...
    assert _points(c.val_curve) == 1 and _points(c.metric_curve) == 0
    c.redraw()  # ... then, at the next tick, the metric plot
    assert _points(c.metric_curve) == 1
    assert _y_range(c.metric_plot) == pytest.approx((0.6, 1.0))  # AUROC: up to its best value at once
    c.add_epoch(2, 0.5, 0.55, 0.91, 2)
    c.redraw()
    c.redraw()
    assert _y_range(c.metric_plot) == pytest.approx((0.6, 1.0)) and c.best_epoch() == 2
    c.fit_view()  # the run ended: both plots fit their data
    qtbot.wait(50)  # pyqtgraph applies auto-range when it next paints
    assert c.epoch_points() == 2 and _y_range(c.metric_plot)[1] < 1.0


def test_a_finished_run_is_framed_from_epoch_zero(qtbot):
    """The whole picture of a finished (or reopened) run starts at epoch 0, so the first epoch's point is inside
    the frame instead of on the axis."""
    c = TrainingCurves()
    qtbot.addWidget(c)
    c.resize(900, 600)
    c.show()
    c.reset("auroc", epochs=0)
    for e in range(1, 6):
        c.add_epoch(e, 1.0 / e, 1.1 / e, 0.5 + e / 20, e)
    c.fit_view()
    for plot in (c.loss_plot, c.metric_plot):
        x0, x1 = plot.getViewBox().viewRange()[0]
        assert x0 < 0.5 and x1 >= 5  # epoch 1 sits half an epoch or more inside the left edge
