"""The drawn network of the Model tab: blocks computed in core from the model configuration (sizes checked
against the real PyTorch modules), painted by ``figures.architecture``, with the layer list folded away."""
import math

import pytest
import torch
from PySide6.QtCore import QRectF
from PySide6.QtGui import QColor, QFont, QImage, QPainter

from biodeep_gui.core.scans.models.diagram import autoencoder_blocks
from biodeep_gui.core.sequences.models.diagram import sequence_blocks
from tests.gui.conftest import shot


def test_sequence_blocks_follow_the_real_networks():
    from biodeep_gui.core.sequences.models.danq import DanQ

    cnn = sequence_blocks("cnn", {"filters": 8, "filter_width": 15}, 100)
    assert [b.name for b in cnn] == ["DNA", "Motif scanner", "Best and average match", "Combine", "Prediction"]
    assert cnn[0].size == "4 × 100 bases" and cnn[1].size == "8 motif signals at 100 positions"
    assert cnn[2].size == "16 numbers" and cnn[-1].size == "P(label)"  # no label name given
    model = DanQ(101, 1, filters=6, pool=13)
    steps = model.pool(model.first_conv(torch.zeros(1, 4, 101))).shape[2]
    danq = sequence_blocks("cnn-lstm", {"filters": 6, "pool": 13}, 101)
    assert danq[2].size == f"6 signals at {steps} steps" and "LSTM" in danq[3].does
    assert sequence_blocks("mlp", {}, 50, 3, "multiclass")[-1].size == "probabilities of the 3 classes"
    assert sequence_blocks("kmer", {"k": 3}, 50)[1].name == "Count k-mers"
    with pytest.raises(KeyError):
        sequence_blocks("nonsense", {}, 50)


def test_scan_blocks_follow_the_real_autoencoder():
    from biodeep_gui.core.scans.models.autoencoder3d import Autoencoder3D

    shape, params = (21, 26, 19), {"depth": 2, "channels": 8, "code_size": 16, "noise_std": 0.1}
    model = Autoencoder3D(shape, depth=2, channels=8, code_size=16)
    blocks = autoencoder_blocks(shape, params)
    assert blocks[0].size == "21 × 26 × 19 voxels" and blocks[2].size == "16 numbers"
    bottom = " × ".join(str(b) for b in model.bottom)
    assert blocks[1].size == f"{model._bottom_channels} maps of {bottom} voxels"
    assert "noise 0.1" in blocks[1].does


def test_the_painted_diagram_is_as_tall_as_its_text_and_draws_every_box(qapp):
    from biodeep_gui.figures.architecture import COLOURS, architecture_height, paint_architecture

    blocks = sequence_blocks("cnn", {}, 200)
    font = QFont()
    wide, narrow = architecture_height(blocks, 700, font), architecture_height(blocks, 320, font)
    assert narrow > wide > 0 and architecture_height([], 500, font) == 0
    img = QImage(700, math.ceil(wide), QImage.Format.Format_RGB32)
    img.fill(QColor("white"))
    painter = QPainter(img)
    paint_architecture(painter, QRectF(0, 0, 700, wide), blocks, font)
    painter.end()
    colours = {img.pixelColor(x, y).name() for x in range(0, 700, 3) for y in range(0, img.height(), 3)}
    for kind in ("input", "layer", "output"):
        assert COLOURS[kind][0] in colours  # each kind of box is filled


def test_model_tab_shows_the_drawing_above_folded_layer_details(qtbot):
    from biodeep_gui.gui.tabs.model_forms import SCANS_ARCH
    from biodeep_gui.gui.tabs.model_tab import ModelTab

    tab = ModelTab()
    qtbot.addWidget(tab)
    tab.resize(1024, 640)
    tab.show()
    qtbot.waitExposed(tab)
    tab.set_data_shape(150, 1, "binary")
    assert [b.name for b in tab.drawing.blocks()][:2] == ["DNA", "Motif scanner"]
    assert tab.drawing.blocks()[0].size == "4 × 150 bases"
    tab._param_widgets["cnn"]["filters"].setValue(12)
    assert tab.drawing.blocks()[1].size == "12 motif signals at 150 positions"  # follows the form
    assert not tab.diagram.isVisible() and not tab.details_toggle.isChecked()
    tab.refresh()
    qtbot.waitUntil(lambda: not tab.is_busy() and tab.inspection() is not None, timeout=120_000)
    assert tab.drawing.height() >= tab.drawing.heightForWidth(tab.drawing.width()) - 1  # nothing clipped
    shot(tab, "model_tab_drawing_1024x640")
    tab.details_toggle.click()
    assert tab.diagram.isVisible() and "first_conv" in tab.diagram.toPlainText()
    tab.set_architecture(SCANS_ARCH)
    assert tab.drawing.blocks()[0].name == "Brain scan"
    tab.set_scans_route("connectivity")
    assert [b.name for b in tab.drawing.blocks()][:2] == ["Brain regions", "Connectivity"]
    assert tab.drawing.blocks()[2].size == "16 numbers"
    tab.set_scans_route("volumes")
    qtbot.waitUntil(lambda: not tab.is_busy() and tab.inspection().arch == SCANS_ARCH, timeout=120_000)
    shot(tab, "model_tab_drawing_scans_1024x640")
    tab.shutdown()
