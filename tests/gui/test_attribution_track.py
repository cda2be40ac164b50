"""The attribution logo track of the Mutation map tab: computed in its own worker for the sequence mapped, the
letters are the core's attributions, method switch, the CNN-LSTM note; a 1280x800 screenshot to look at."""
import numpy as np
from PySide6.QtCore import Qt

from tests.gui.conftest import shot


def _tab(qtbot, run, data=None):
    from biodeep_gui.gui.tabs.sequences.mutation_tab import MutationTab

    tab = MutationTab()
    qtbot.addWidget(tab)
    tab.resize(1280, 800)
    tab.show()
    qtbot.waitExposed(tab)
    tab.set_run(run, data)
    return tab


def test_attribution_track_under_the_mutation_map(qtbot, planted_ctcf_run):
    from biodeep_gui.core.sequences.interpret.attributions import attribute_sequence, sequence_slice
    from biodeep_gui.core.sequences.interpret.mutagenesis import sequence_codes

    s = planted_ctcf_run.set
    i = int(np.flatnonzero(s.labels == 1)[0])
    tab = _tab(qtbot, planted_ctcf_run.run)
    qtbot.waitUntil(lambda: not tab.is_busy(), timeout=60_000)  # the run's own sequences, read for the picker
    tab.set_pasted_sequence(s.sequences[i])
    panel = tab.attribution
    with qtbot.waitSignal(panel.sigComputed, timeout=120_000):
        qtbot.mouseClick(tab.compute_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not tab.is_busy(), timeout=120_000)
    attr = panel.result()
    expected = attribute_sequence(planted_ctcf_run.run, sequence_codes(s.sequences[i]))
    np.testing.assert_allclose(attr.contributions, expected.contributions, atol=1e-6)
    shown = panel.view.matrix()
    assert shown.shape == (100, 4)
    np.testing.assert_allclose(shown, expected.matrix(0)[sequence_slice(expected.codes[0])], atol=1e-6)
    # the planted site carries the tallest letters
    site = s.sites[i][0]
    strongest = int(np.argmax(shown.sum(axis=1)))
    assert site.start - 2 <= strongest < site.start + site.width + 2
    assert "DeepLIFT/SHAP" in panel.text() and "sum to" in panel.text()
    # same pixels per base as the map: zoom both, the track's width follows
    tab.zoom.setValue(10)
    assert panel.view.width() == int(4 + 100 * 10 + 8)
    shot(tab, "mutation_tab_attribution_track")
    # integrated gradients on request
    with qtbot.waitSignal(panel.sigComputed, timeout=120_000):
        panel.method.setCurrentIndex(1)
    assert panel.result().method == "integrated_gradients" and "Integrated gradients" in panel.text()
    tab.shutdown()


def test_cnn_lstm_track_says_it_falls_back(qtbot, tmp_path):
    """A CNN-LSTM run (untrained weights are enough for the message): the panel names the fall-back."""
    import torch

    from biodeep_gui.core.sequences.interpret.mutagenesis import sequence_codes
    from biodeep_gui.gui.tabs.sequences.attribution_track import AttributionPanel

    class FakeRun:
        class info:  # noqa: N801 - mimics ModelInfo
            length = 60
            arch = "cnn-lstm"

        @staticmethod
        def model():
            from biodeep_gui.core.sequences.models import build_model

            torch.manual_seed(0)
            return build_model("cnn-lstm", 60, 1, {"filters": 4, "filter_width": 7, "pool": 6, "rnn_hidden": 4,
                                                   "hidden": 4}).eval()

    panel = AttributionPanel()
    qtbot.addWidget(panel)
    panel.set_run(FakeRun())
    # a sequence too repetitive to shuffle is refused with a message
    with qtbot.waitSignal(panel.runner.sigFailed, timeout=120_000):
        panel.compute(sequence_codes("ACGT" * 15))
    assert "too repetitive" in panel.text()
    seq = "".join("ACGT"[i] for i in np.random.default_rng(0).integers(0, 4, 60))
    with qtbot.waitSignal(panel.sigComputed, timeout=120_000):
        panel.compute(sequence_codes(seq))
    assert "LSTM" in panel.text() and "integrated gradients" in panel.text()
    assert panel.result().method == "integrated_gradients" and not panel.result().exact
    panel.shutdown()
