"""Plain words and numbers on screen: output names a biologist reads, no internal terms, sensible precision."""
import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractButton, QLabel

from biodeep_gui.core.common.words import count_words
from biodeep_gui.gui.glossary import GLOSSARY, column_tip, column_title
from biodeep_gui.gui.widgets.plots import decimals_for, format_number

INTERNAL = ("as_closest_canonical", "Route", "4-D summary", "place(s)", "p_bound", "logit of")


@pytest.mark.parametrize("value, decimals, text", [(0.003, 6, "0.003"), (5.0, 3, "5"), (1e-6, 6, "0.000001"),
                                                   (0.0, 6, "0"), (-0.0000001, 3, "0"), (12.5, 1, "12.5"),
                                                   (float("nan"), 3, "—")])
def test_format_number_drops_trailing_zeros(value, decimals, text):
    assert format_number(value, decimals) == text


def test_decimals_follow_the_range_and_counts_take_their_noun():
    assert decimals_for(893.642 - 3.998) == 0 and decimals_for(4.0) == 2 and decimals_for(0.5) == 3
    assert decimals_for(0.0) == 3 and decimals_for(float("nan")) == 3
    assert count_words(1, "place") == "1 place" and count_words(3, "place") == "3 places"
    assert count_words(1200, "site") == "1,200 sites" and count_words(2, "match", "matches") == "2 matches"


def test_prediction_columns_are_named_in_words_and_the_files_keep_theirs(qtbot, tmp_path):
    from biodeep_gui.gui.tabs.sequences.predict_tab import ScoresModel

    assert column_title("p_bound") == "Probability bound" and column_title("signal") == "signal"
    assert column_tip("logit_delta") == f"logit_delta: {GLOSSARY['Variant effect (logit_delta)']}"
    assert column_tip("delta_CTCF") == f"delta_CTCF: {GLOSSARY['Variant effect (delta)']}"
    model = ScoresModel()
    model.set_scores(["a", "b"], np.array([[0.9], [0.1]]), ["p_bound"])
    assert model.headerData(1, Qt.Orientation.Horizontal) == "Probability bound"
    assert GLOSSARY["Probability bound"] in model.headerData(1, Qt.Orientation.Horizontal, Qt.ItemDataRole.ToolTipRole)
    assert model.columns == ["p_bound"]  # what the CSV writer uses


def test_binary_output_is_a_binding_score():
    from types import SimpleNamespace

    from biodeep_gui.core.sequences.interpret.mutagenesis import output_label

    assert output_label(SimpleNamespace(task="binary", label_names=["bound"]), 0) == "binding score (log-odds)"
    assert output_label(SimpleNamespace(task="binary", label_names=["CTCF"]), 0) == "CTCF score (log-odds)"


def test_learning_rate_and_intensity_window_read_as_people_write_them(qtbot):
    from biodeep_gui.gui.tabs.model_tab import ModelTab
    from biodeep_gui.gui.widgets.slice_viewer import SliceViewer

    tab = ModelTab()
    qtbot.addWidget(tab)
    tab.lr_spin.setValue(0.003)
    assert tab.lr_spin.lineEdit().text() == "0.003" and tab.lr_spin.value() == pytest.approx(0.003)
    tab.lr_spin.lineEdit().setText("0.0005")  # typing still works at the box's full precision
    tab.lr_spin.interpretText()
    assert tab.lr_spin.value() == pytest.approx(0.0005)
    tab.shutdown()

    viewer = SliceViewer("Original")
    qtbot.addWidget(viewer)
    vol = np.linspace(3.998, 893.642, 6 * 7 * 8).reshape(6, 7, 8)
    viewer.set_volume(vol, window=(3.998, 893.642))
    assert (viewer.low.lineEdit().text(), viewer.high.lineEdit().text()) == ("4", "894")
    viewer.set_window(-0.25, 0.75)  # a normalised difference keeps its decimals
    assert (viewer.low.lineEdit().text(), viewer.high.lineEdit().text()) == ("-0.25", "0.75")


def test_scans_tab_shows_no_internal_words(qtbot):
    from biodeep_gui.gui.tabs.scans.scans_tab import ScansTab

    tab = ScansTab()
    qtbot.addWidget(tab)
    shown = [w.text() for w in tab.findChildren(QLabel) + tab.findChildren(QAbstractButton)]
    shown += [w.toolTip() for w in tab.findChildren(QAbstractButton)]
    for text in shown:
        for word in INTERNAL:
            assert word not in text, (word, text)
    assert any("standard orientation" in t for t in shown)
    tab.shutdown()
