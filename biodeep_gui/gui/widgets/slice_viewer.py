"""Orthogonal slice viewer for 3-D volumes: axial, coronal and sagittal views with a crosshair.

Volumes are shown as the core hands them over: RAS voxel order (x to the subject's right, y anterior, z superior),
so the axial and coronal views use the neurological convention (the subject's right on the right of the screen)
and the axis letters at the view edges say so. Voxels are drawn at their physical size (``voxel_size``).

Each view is one ``pg.ImageItem`` (plus an optional overlay ``ImageItem`` for an error map), created once and
updated with ``setImage`` (pyqtgraph's create-once pattern). Clicking a view moves the crosshair; the three
sliders move the slices; two spin boxes set the intensity window. ``link`` joins viewers so that one crosshair
moves several (original, reconstruction, difference). A colour bar beside the views shows the window's values
and their units (``set_units``).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from biodeep_gui.gui.widgets.number_box import NumberBox
from biodeep_gui.gui.widgets.plots import decimals_for

#: (name, axis fixed by the view, (horizontal axis, vertical axis), edge letters (left, right, bottom, top))
VIEWS = (("Axial", 2, (0, 1), ("L", "R", "P", "A")),
         ("Coronal", 1, (0, 2), ("L", "R", "I", "S")),
         ("Sagittal", 0, (1, 2), ("P", "A", "I", "S")))


def _colormap(name: str) -> pg.ColorMap:
    if name == "gray":
        return pg.ColorMap([0.0, 1.0], [(0, 0, 0), (255, 255, 255)])
    return pg.colormap.get(name)


def _overlay_lut(name: str, n: int = 256) -> np.ndarray:
    """(n, 4) uint8 lookup table whose alpha rises with the value: small errors stay transparent."""
    lut = _colormap(name).getLookupTable(0.0, 1.0, n, alpha=True).astype(np.float64)
    lut[:, 3] = 255 * np.clip(np.linspace(-0.15, 1.0, n), 0, 1) ** 0.7
    return lut.astype(np.uint8)


class SliceViewer(QWidget):
    """Three orthogonal views of one volume with crosshair, slice sliders and an intensity window.

    Signals
    -------
    sigCrosshairMoved(object) : (i, j, k) voxel indices, when the user (or a linked viewer) moves the crosshair
    sigWindowChanged(float, float) : the intensity window (low, high)
    """

    sigCrosshairMoved = Signal(object)
    sigWindowChanged = Signal(float, float)

    def __init__(self, title: str = "", parent: QWidget | None = None):
        super().__init__(parent)
        self.volume: np.ndarray | None = None
        self.mask: np.ndarray | None = None
        self._shown: np.ndarray | None = None  # the volume with NaN (transparent) outside the mask
        self.overlay: np.ndarray | None = None
        self.voxel_size = (1.0, 1.0, 1.0)
        self.affine: np.ndarray | None = None
        self.position = (0, 0, 0)
        self._linked: list[SliceViewer] = []
        self._updating = False

        self.title = QLabel(title)
        f = QFont(self.title.font())
        f.setBold(True)
        self.title.setFont(f)
        self.title.setWordWrap(True)  # a subject's long title takes two lines rather than widen the viewer
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground("k")
        self.graphics.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.graphics.ci.setSpacing(2)
        self.boxes: list[pg.ViewBox] = []
        self.images: list[pg.ImageItem] = []
        self.overlays: list[pg.ImageItem] = []
        self.lines: list[tuple[pg.InfiniteLine, pg.InfiniteLine]] = []
        self.letters: list[list[pg.TextItem]] = []
        pen = pg.mkPen((255, 210, 0, 190), width=1)
        for col, (name, _axis, _hv, letters) in enumerate(VIEWS):
            box = self.graphics.addViewBox(row=0, col=col, lockAspect=True, enableMenu=False)
            box.setBackgroundColor("k")
            img = pg.ImageItem(axisOrder="col-major")
            over = pg.ImageItem(axisOrder="col-major")
            over.setZValue(5)
            over.setLookupTable(_overlay_lut("inferno"))
            box.addItem(img)
            box.addItem(over)
            vline = pg.InfiniteLine(angle=90, pen=pen, movable=False)
            hline = pg.InfiniteLine(angle=0, pen=pen, movable=False)
            for line in (vline, hline):
                line.setZValue(10)
                box.addItem(line, ignoreBounds=True)
            texts = []
            for letter in letters:
                t = pg.TextItem(letter, color=(230, 230, 230), anchor=(0.5, 0.5), fill=(0, 0, 0, 110))
                t.setZValue(20)
                box.addItem(t, ignoreBounds=True)
                texts.append(t)
            caption = pg.TextItem(name, color=(160, 200, 255), anchor=(0, 0))
            caption.setZValue(20)
            box.addItem(caption, ignoreBounds=True)
            texts.append(caption)
            self.boxes.append(box)
            self.images.append(img)
            self.overlays.append(over)
            self.lines.append((vline, hline))
            self.letters.append(texts)
        # what a colour means, in the volume's units: follows the window and the colour map, never edits them
        self.colour_bar = pg.ColorBarItem(values=(0.0, 1.0), colorMap=_colormap("gray"), width=12, interactive=False,
                                          colorMapMenu=False, pen=(200, 200, 200))
        self.colour_bar.axis.setTextPen((220, 220, 220))
        self.colour_bar.axis.enableAutoSIPrefix(False)  # 'z-score (x0.001)' with ticks of 500 misreads a z-score
        self.graphics.addItem(self.colour_bar, row=0, col=len(VIEWS))
        self.units = ""
        self.graphics.scene().sigMouseClicked.connect(self._on_click)

        self.sliders: list[QSlider] = []
        self.slider_labels: list[QLabel] = []
        sliders = QGridLayout()
        for col, (name, axis, _hv, _l) in enumerate(VIEWS):
            s = QSlider(Qt.Orientation.Horizontal)
            s.setObjectName(f"slider_{name.lower()}")
            s.setToolTip(f"{name} slice")
            s.valueChanged.connect(lambda v, a=axis: self._on_slider(a, v))
            lab = QLabel(f"{name}: –")
            sliders.addWidget(lab, 0, col)
            sliders.addWidget(s, 1, col)
            self.sliders.append(s)
            self.slider_labels.append(lab)

        self.low = NumberBox()
        self.high = NumberBox()
        for box, tip in ((self.low, "Intensity shown as black"), (self.high, "Intensity shown as white")):
            box.setRange(-1e9, 1e9)
            box.setDecimals(3)
            box.setKeyboardTracking(False)
            box.setToolTip(tip)
            box.valueChanged.connect(self._on_window_edit)
        self.auto_button = QPushButton("Auto window")
        self.auto_button.setToolTip("Window from the 1st to the 99.5th percentile of the non-zero voxels")
        self.auto_button.clicked.connect(self.auto_window)
        self.info = QLabel("No volume")
        self.info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        window_row = QHBoxLayout()
        window_row.addWidget(QLabel("Window"))
        window_row.addWidget(self.low)
        window_row.addWidget(QLabel("to"))
        window_row.addWidget(self.high)
        window_row.addWidget(self.auto_button)
        window_row.addStretch(1)
        # the voxel read-out sits beside the title: in the window row it made the viewer too wide for a
        # 1024-pixel window with two viewers side by side (Reconstructions)
        title_row = QHBoxLayout()
        title_row.addWidget(self.title, 1)
        title_row.addWidget(self.info)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(title_row)
        layout.addWidget(self.graphics, 1)
        layout.addLayout(sliders)
        layout.addLayout(window_row)
        self.title.setVisible(bool(title))
        self._set_enabled(False)

    # -- public API -----------------------------------------------------------------------------------------
    def set_volume(self, volume: np.ndarray | None, voxel_size: Sequence[float] = (1.0, 1.0, 1.0),
                   affine: np.ndarray | None = None, *, mask: np.ndarray | None = None, keep_position: bool = True,
                   window: tuple[float, float] | None = None) -> None:
        """Show a (X, Y, Z) volume (RAS voxel order); ``None`` clears the viewer.

        mask : (X, Y, Z) bool; voxels outside are drawn transparent (black), so a normalised volume's zeros outside
            the brain do not show as mid-grey
        keep_position : keep the crosshair where it is if the new volume has the same shape (else: the centre)
        window : intensity window; default: the automatic one
        """
        if volume is None:
            self.clear()
            return
        vol = np.asarray(volume, np.float32)
        if vol.ndim != 3:
            raise ValueError(f"expected a 3-D volume, got shape {vol.shape}")
        same = self.volume is not None and self.volume.shape == vol.shape
        self.volume = vol
        self.mask = None if mask is None else np.asarray(mask, bool)
        if self.mask is not None and self.mask.shape != vol.shape:
            raise ValueError(f"mask shape {self.mask.shape} differs from the volume's {vol.shape}")
        self._shown = vol if self.mask is None else np.where(self.mask, vol, np.float32(np.nan))
        self.voxel_size = tuple(float(v) for v in voxel_size)  # type: ignore[assignment]
        self.affine = None if affine is None else np.asarray(affine, float)
        if self.overlay is not None and self.overlay.shape != vol.shape:
            self.overlay = None
        self._set_enabled(True)
        self._updating = True
        for s, (_n, axis, _hv, _l) in zip(self.sliders, VIEWS):
            s.setRange(0, vol.shape[axis] - 1)
        self._updating = False
        if not (keep_position and same):
            self.position = tuple(n // 2 for n in vol.shape)  # type: ignore[assignment]
        if window is None:
            self.auto_window(emit=False)
        else:
            self.set_window(*window, emit=False)
        self._redraw()
        for box in self.boxes:
            box.autoRange(padding=0.02)

    def set_overlay(self, volume: np.ndarray | None, colormap: str = "inferno", opacity: float = 0.8,
                    levels: tuple[float, float] | None = None) -> None:
        """Draw a (X, Y, Z) map over the volume with ``colormap`` (transparent at the low end); ``None`` hides it.

        levels : values mapped to the two ends of the colour map (default: 0 to the 99th percentile)
        """
        if volume is None:
            self.overlay = None
            for over in self.overlays:
                over.clear()
            return
        ov = np.asarray(volume, np.float32)
        if self.volume is not None and ov.shape != self.volume.shape:
            raise ValueError(f"overlay shape {ov.shape} differs from the volume's {self.volume.shape}")
        self.overlay = ov
        if levels is None:
            nz = ov[ov != 0]
            hi = float(np.percentile(nz, 99)) if nz.size else 1.0
            levels = (0.0, hi if hi > 0 else 1.0)
        self._overlay_levels = levels
        lut = _overlay_lut(colormap)
        for over in self.overlays:
            over.setLookupTable(lut)
            over.setOpacity(opacity)
        self._redraw()

    def set_colormap(self, name: str, symmetric: bool = False) -> None:
        """Colour map of the volume itself ('gray', or a pyqtgraph map such as 'CET-D1' for signed differences);
        ``symmetric`` centres the window on 0 (for differences)."""
        cmap = _colormap(name)
        for img in self.images:
            img.setColorMap(cmap)
        self.colour_bar.setColorMap(cmap)
        self._symmetric = symmetric
        if self.volume is not None:
            self.auto_window()

    def set_crosshair(self, ijk: Sequence[int], emit: bool = True) -> None:
        """Move the crosshair to voxel (i, j, k) (clamped to the volume)."""
        if self.volume is None:
            self.position = tuple(int(v) for v in ijk)  # type: ignore[assignment]
            return
        pos = tuple(int(np.clip(v, 0, n - 1)) for v, n in zip(ijk, self.volume.shape))
        if pos == self.position:
            return
        self.position = pos  # type: ignore[assignment]
        self._redraw()
        if emit:
            self._emit_position()

    def set_units(self, units: str) -> None:
        """Label the colour bar with the volume's units (e.g. 'z-score', 'Δ z-score', 'scanner units')."""
        self.units = units
        self.colour_bar.axis.setLabel(units, color="#dddddd")

    def crosshair(self) -> tuple[int, int, int]:
        return tuple(self.position)  # type: ignore[return-value]

    def set_window(self, low: float, high: float, emit: bool = True) -> None:
        if high <= low:
            high = low + 1e-6
        self._updating = True
        for box in (self.low, self.high):  # about 3 digits of the window's width: 4 to 894, not 3.998 to 893.642
            box.setDecimals(decimals_for(high - low))
        self.low.setValue(low)
        self.high.setValue(high)
        self._updating = False
        for img in self.images:
            img.setLevels((low, high))
        self.colour_bar.setLevels((low, high))
        if emit:
            self.sigWindowChanged.emit(float(low), float(high))

    def window(self) -> tuple[float, float]:
        return float(self.low.value()), float(self.high.value())

    def auto_window(self, emit: bool = True) -> None:
        """Window from the 1st to the 99.5th percentile of the non-zero voxels (symmetric for differences)."""
        if self.volume is None:
            return
        inside = self.volume if self.mask is None else self.volume[self.mask]
        nz = inside[inside != 0]
        if not nz.size:
            lo, hi = 0.0, 1.0
        elif getattr(self, "_symmetric", False):
            m = float(np.percentile(np.abs(nz), 99.5)) or 1.0
            lo, hi = -m, m
        else:
            lo, hi = (float(v) for v in np.percentile(nz, [1, 99.5]))
        self.set_window(lo, hi, emit=emit)

    def link(self, other: "SliceViewer") -> None:
        """Join two viewers: moving the crosshair in one moves it in the other (and in anything linked to it)."""
        if other is self or other in self._linked:
            return
        self._linked.append(other)
        other._linked.append(self)
        other.set_crosshair(self.position, emit=False)

    def clear(self) -> None:
        self.volume = self.overlay = self.mask = self._shown = None
        for img, over in zip(self.images, self.overlays):
            img.clear()
            over.clear()
        self.info.setText("No volume")
        self._set_enabled(False)

    def slice_image(self, view: int) -> np.ndarray | None:
        """The 2-D array view ``view`` (0 axial, 1 coronal, 2 sagittal) shows now (horizontal, vertical)."""
        return None if self.volume is None else self._slice(self.volume, view)

    # -- internals ------------------------------------------------------------------------------------------
    def _slice(self, vol: np.ndarray, view: int) -> np.ndarray:
        axis = VIEWS[view][1]
        return np.take(vol, self.position[axis], axis=axis)

    def _set_enabled(self, on: bool) -> None:
        for w in (*self.sliders, self.low, self.high, self.auto_button):
            w.setEnabled(on)

    def _redraw(self) -> None:
        if self.volume is None:
            return
        vol = self.volume
        vs = self.voxel_size
        low, high = self.window()
        for view, (name, axis, (h, v), _letters) in enumerate(VIEWS):
            img = self.images[view]
            img.setImage(self._slice(self._shown, view), autoLevels=False, levels=(low, high))
            w, hgt = vol.shape[h] * vs[h], vol.shape[v] * vs[v]
            img.setRect(QRectF(0, 0, w, hgt))
            over = self.overlays[view]
            if self.overlay is not None:
                over.setImage(self._slice(self.overlay, view), autoLevels=False, levels=self._overlay_levels)
                over.setRect(QRectF(0, 0, w, hgt))
            vline, hline = self.lines[view]
            vline.setPos((self.position[h] + 0.5) * vs[h])
            hline.setPos((self.position[v] + 0.5) * vs[v])
            left, right, bottom, top, caption = self.letters[view]
            left.setPos(-0.0 * w + 0.04 * w, hgt / 2)
            right.setPos(0.96 * w, hgt / 2)
            bottom.setPos(w / 2, 0.04 * hgt)
            top.setPos(w / 2, 0.96 * hgt)
            caption.setPos(0, hgt)
        self._updating = True
        for s, lab, (name, axis, _hv, _l) in zip(self.sliders, self.slider_labels, VIEWS):
            s.setValue(self.position[axis])
            lab.setText(f"{name}: {self.position[axis] + 1} / {vol.shape[axis]}")
        self._updating = False
        i, j, k = self.position
        text = f"voxel ({i}, {j}, {k})  value {vol[i, j, k]:.4g}"
        if self.mask is not None and not self.mask[i, j, k]:
            text += " (outside the mask)"
        if self.affine is not None:
            x, y, z = (self.affine @ np.array([i, j, k, 1.0]))[:3]
            text += f"  ({x:.1f}, {y:.1f}, {z:.1f}) mm"
        if self.overlay is not None:
            text += f"  overlay {self.overlay[i, j, k]:.4g}"
        self.info.setText(text)

    def _emit_position(self) -> None:
        self.sigCrosshairMoved.emit(self.crosshair())
        seen = {id(self)}
        stack = list(self._linked)
        while stack:  # every viewer reachable through links, once
            other = stack.pop()
            if id(other) in seen:
                continue
            seen.add(id(other))
            other.set_crosshair(self.position, emit=False)
            other.sigCrosshairMoved.emit(other.crosshair())
            stack.extend(other._linked)

    def _on_slider(self, axis: int, value: int) -> None:
        if self._updating or self.volume is None:
            return
        pos = list(self.position)
        pos[axis] = int(value)
        self.set_crosshair(pos)

    def _on_window_edit(self) -> None:
        if self._updating or self.volume is None:
            return
        self.set_window(self.low.value(), self.high.value())

    def _on_click(self, event) -> None:
        if self.volume is None or event.button() != Qt.MouseButton.LeftButton:
            return
        for view, box in enumerate(self.boxes):
            if box.sceneBoundingRect().contains(event.scenePos()):
                p = box.mapSceneToView(event.scenePos())
                self.click_view(view, p.x(), p.y())
                event.accept()
                return

    def click_view(self, view: int, x_mm: float, y_mm: float) -> None:
        """Move the crosshair to the point (x_mm, y_mm) of view ``view`` (what a mouse click does)."""
        if self.volume is None:
            return
        _name, _axis, (h, v), _l = VIEWS[view]
        pos = list(self.position)
        pos[h] = int(np.floor(x_mm / self.voxel_size[h]))
        pos[v] = int(np.floor(y_mm / self.voxel_size[v]))
        self.set_crosshair(pos)
