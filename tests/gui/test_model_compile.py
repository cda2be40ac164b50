"""The Model tab's "Compile the model (torch.compile)" box: saved in the training settings, sequence networks only."""
from biodeep_gui.core.training.config import TrainConfig


def test_compile_box_sets_train_compile_for_deep_sequence_models(qtbot):
    from PySide6.QtWidgets import QApplication

    from biodeep_gui.gui.tabs.model_forms import SCANS_ARCH
    from biodeep_gui.gui.tabs.model_tab import ModelTab

    tab = ModelTab()
    qtbot.addWidget(tab)
    tab.resize(1024, 640)
    tab.show()
    qtbot.waitExposed(tab)
    box = tab._train_widgets["compile"]
    tab.set_architecture("cnn-lstm")
    assert box.isVisible() and box.isEnabled() and not tab.train_config().compile
    box.setChecked(True)
    assert tab.train_config().compile is True
    for _ in range(3):  # the layout settles before the picture (a grab at once shows squeezed rows)
        QApplication.processEvents()
    box.parentWidget().grab().save("/tmp/fastseq_training_box.png")  # the Training box, which the page scrolls to
    tab.set_train_config(TrainConfig(compile=False))
    assert not box.isChecked()
    tab.set_architecture("kmer")  # a scikit-learn baseline: nothing to compile
    assert not box.isEnabled()
    tab.set_architecture(SCANS_ARCH)  # the scans pipeline does not read train.compile
    assert not box.isVisible()
    tab.shutdown()
