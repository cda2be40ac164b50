"""The attribution logo track under the Mutation map: DeepLIFT/SHAP or integrated gradients of the same sequence.

``AttributionTrackView`` paints the letters (``figures.attributions.paint_attribution_track``) column for column
under a ``MutationMapView`` (same left edge and pixels per base); ``AttributionPanel`` holds the method choice,
the track in a scroll area that follows the map's, one line of explanation, and its own worker, so the track
is computed beside the mutation map and never blocks the window. The science is
``core.sequences.interpret.attributions``.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from biodeep_gui.figures.attributions import paint_attribution_track
from biodeep_gui.figures.mutation_maps import LABEL_W
from biodeep_gui.gui.workers import TaskRunner

TRACK_H = 90


class AttributionTrackView(QWidget):
    """An (L, 4) signed attribution matrix as letters, ``x0 + i * px`` aligned with the mutation map."""

    def __init__(self, parent: QWidget | None = None, *, x0: float = 4.0):
        super().__init__(parent)
        self._x0 = float(x0)
        self._px = 14.0
        self._matrix: np.ndarray | None = None
        self.setSizePolicy(QSizePolicy.Fixed, QSizePolicy.Fixed)
        self.setFixedSize(self.sizeHint())

    def set_matrix(self, matrix: np.ndarray | None) -> None:
        self._matrix = None if matrix is None else np.asarray(matrix, dtype=np.float64)
        self.setFixedSize(self.sizeHint())
        self.update()

    def matrix(self) -> np.ndarray | None:
        return self._matrix

    def set_pixels_per_base(self, px: float) -> None:
        self._px = float(max(2.0, min(60.0, px)))
        self.setFixedSize(self.sizeHint())
        self.update()

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        n = 0 if self._matrix is None else len(self._matrix)
        return QSize(int(self._x0 + n * self._px + 8), TRACK_H)

    def paintEvent(self, _event) -> None:  # noqa: N802 - Qt's name
        painter = QPainter(self)
        painter.fillRect(self.rect(), Qt.white)
        if self._matrix is not None and len(self._matrix):
            # with axes off the logo keeps 2 px left, 6 px right, 2 px top and bottom: place it so that column i
            # spans exactly [x0 + i px, x0 + (i + 1) px), as the map's cells do
            n = len(self._matrix)
            paint_attribution_track(painter, QRectF(self._x0 - 2, 0, n * self._px + 8, TRACK_H), self._matrix,
                                    axes=False)
        painter.end()


class AttributionPanel(QWidget):
    """Method box + attribution track + explanation, computed in its own worker (see the module notes).

    Signals
    -------
    sigComputed(object) : the ``Attributions`` of the sequence shown
    """

    sigComputed = Signal(object)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        from biodeep_gui.core.sequences.interpret.attributions import METHOD_NAMES

        self._run = None
        self._codes: np.ndarray | None = None
        self._output = 0
        self._result = None
        self._pending = False
        self.runner = TaskRunner(self, name="attributions", priority="normal")
        self.runner.sigFinished.connect(self._on_finished)
        self.runner.sigFailed.connect(self._on_failed)
        self.method = QComboBox()
        for key, name in METHOD_NAMES.items():
            self.method.addItem(f"{name} (shuffled references)", key)
        self.method.setToolTip("DeepLIFT/SHAP: exact for the MLP and CNN, its letters sum to the output minus the "
                               "shuffled references' output. Integrated gradients: any network.")
        self.method.currentIndexChanged.connect(lambda _i: self.recompute())
        self.view = AttributionTrackView()
        self.scroll = QScrollArea()
        self.scroll.setWidget(self.view)
        self.scroll.setWidgetResizable(False)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll.setFixedHeight(TRACK_H + 4)
        self.scroll.setFrameShape(QFrame.Shape.StyledPanel)
        self.info = QLabel("Attribution letters appear here with the mutation map.")
        self.info.setWordWrap(True)
        name = QLabel("Attribution")
        name.setFixedWidth(LABEL_W)
        name.setAlignment(Qt.AlignRight | Qt.AlignVCenter)
        name.setStyleSheet("color: #333; padding-right: 4px;")
        top = QHBoxLayout()
        top.addWidget(QLabel("Attribution letters"))
        top.addWidget(self.method)
        top.addStretch(1)
        row = QHBoxLayout()
        row.setSpacing(0)
        row.addWidget(name)
        row.addWidget(self.scroll, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(top)
        lay.addLayout(row)
        lay.addWidget(self.info)

    # -- public API ------------------------------------------------------------------------------------------
    def follow(self, scroll: QScrollArea) -> None:
        """Scroll with the mutation map's scroll area."""
        scroll.horizontalScrollBar().valueChanged.connect(self.scroll.horizontalScrollBar().setValue)

    def set_pixels_per_base(self, px: float) -> None:
        self.view.set_pixels_per_base(px)

    def set_run(self, run) -> None:
        if self.runner.is_running():
            self.runner.cancel()
            self.runner.join()
        self._run, self._codes, self._result = run, None, None
        self.view.set_matrix(None)
        self.info.setText("Attribution letters appear here with the mutation map.")

    def compute(self, codes: np.ndarray, output: int = 0) -> None:
        """Attributions of ``codes`` (the sequence, unpadded) for network output ``output``, in the worker."""
        self._codes, self._output = np.asarray(codes, dtype=np.uint8), int(output)
        self.recompute()

    def recompute(self) -> None:
        from biodeep_gui.core.sequences.interpret.attributions import attribute_sequence

        if self._run is None or self._codes is None:
            return
        if self.runner.is_running():
            self._pending = True  # the newest request runs when this one ends
            return
        self.info.setText(f"Computing {self.method.currentText().split(' (')[0]}…")
        self.runner.call(attribute_sequence, self._run, self._codes, method=self.method.currentData(),
                         output=self._output)

    def result(self):
        """The ``Attributions`` shown (None before one arrives)."""
        return self._result

    def text(self) -> str:
        return self.info.text()

    def is_busy(self) -> bool:
        return self.runner.is_running()

    def shutdown(self) -> None:
        self.runner.shutdown()

    # -- worker ------------------------------------------------------------------------------------------------
    def _on_finished(self, attr) -> None:
        from biodeep_gui.core.sequences.interpret.attributions import sequence_slice

        if self._pending:
            self._pending = False
            self.recompute()
            return
        self._result = attr
        sl = sequence_slice(attr.codes[0])
        self.view.set_matrix(attr.matrix(0)[sl])
        total = float(attr.contributions[0].sum())
        text = (f"{attr.method_name} against {attr.n_references} dinucleotide-shuffled references: letters sum "
                f"to {total:+.3f} = output {attr.outputs[0]:.3f} minus the references' mean "
                f"{attr.reference_outputs[0]:.3f}" + (" (up to the integration error)" if
                                                     attr.method == "integrated_gradients" else "") + ".")
        if attr.note:
            text += f" Note: {attr.note}."
        self.info.setText(text)
        self.sigComputed.emit(attr)

    def _on_failed(self, message: str, _details: str) -> None:
        self._pending = False
        self.info.setText(f"Could not compute the attributions: {message}")
