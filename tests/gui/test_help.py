"""Help ▸ Guide and Help ▸ Glossary, the About box, and the glossary's sentences as the tabs' tooltips."""
from PySide6.QtWidgets import QDialog, QTextBrowser

from biodeep_gui.gui.glossary import GLOSSARY, METRIC_HELP, tip
from tests.gui.conftest import shot

#: the terms the issue asks the glossary to explain, by the names the window shows
REQUIRED = ("AUROC", "AUPRC", "F1", "Accuracy", "Balanced accuracy", "Pearson r", "Spearman ρ", "R²", "MSE",
            "Reconstruction r", "Template r", "Residual r", "Permutation p", "Bootstrap 95 % interval",
            "Site-only baseline", "Chance", "Filter", "Motif", "PFM", "q-value", "n_sites", "Influence",
            "Attribution", "Variant effect (delta)", "Variant effect (logit_delta)", "Epoch", "Validation set",
            "Test set")


def _help_action(window, text):
    help_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Help")
    return next(a for a in help_menu.actions() if a.text() == text)


def test_glossary_has_one_plain_sentence_per_term():
    for term in REQUIRED:
        sentence = GLOSSARY[term]
        assert sentence.endswith(".") and len(sentence) < 330, term
    assert "1/(n+1)" in tip("Permutation p")  # the floor of a permutation p is said


def test_guide_and_glossary_open_non_modal_from_the_help_menu(window, qtbot):
    from biodeep_gui.gui.help_dialogs import menu_shortcuts

    window.resize(1024, 640)
    _help_action(window, "Guide").trigger()
    guide = window.help.dialogs["Guide"]
    assert isinstance(guide, QDialog) and guide.isVisible() and not guide.isModal()
    text = guide.findChild(QTextBrowser).toPlainText()
    assert "DNA sequences, step by step" in text and "Brain scans, step by step" in text
    shortcuts = menu_shortcuts(window)
    assert ("Start training", "Ctrl+R") in shortcuts
    for name, keys in shortcuts:  # every shortcut of the menus is listed
        assert f"{keys}\n  {name}" in text.replace("\xa0", " ")  # one table row: keys, then the entry
    assert guide.width() <= 1024 and guide.height() <= 640
    shot(guide, "help_guide_1024x640")

    # the window stays usable beside it; a second request raises the same dialog
    assert window.tabs.isEnabled()
    _help_action(window, "Guide").trigger()
    assert window.help.dialogs["Guide"] is guide

    _help_action(window, "Glossary").trigger()
    gloss = window.help.dialogs["Glossary"].findChild(QTextBrowser).toPlainText()
    for term in REQUIRED:
        assert term in gloss and GLOSSARY[term] in gloss
    shot(window.help.dialogs["Glossary"], "help_glossary")
    for dlg in window.help.dialogs.values():
        dlg.close()


def test_about_names_both_sciences(window, qtbot):
    box = window.session.show_about()
    assert "DNA sequences" in box.text() and "brain scans" in box.text()
    box.close()
    qtbot.waitUntil(lambda: not window.open_dialogs())


def test_metric_tooltips_come_from_the_glossary(qtbot):
    from biodeep_gui.gui.tabs.scans.reconstructions_tab import ERROR_COLUMNS, METRIC_NAMES, ReconstructionsTab
    from biodeep_gui.gui.tabs.sequences import results_tab
    from biodeep_gui.gui.tabs.sequences.filter_detail import FilterDetail

    assert results_tab.METRIC_HELP is METRIC_HELP  # one place for the Results and Compare tabs' sentences
    recon = ReconstructionsTab()
    qtbot.addWidget(recon)
    tips = {name: recon.errors.horizontalHeaderItem(c).toolTip() for c, name in enumerate(ERROR_COLUMNS)}
    assert tips["r"] == tip("Reconstruction r") and tips["Residual r"] == tip("Residual r")
    assert tips["Template r"] == tip("Template r") and tips["MSE"] == tip("MSE")
    for col, key in enumerate(METRIC_NAMES, start=2):
        assert recon.folds_table.horizontalHeaderItem(col).toolTip() == METRIC_HELP[key]
    assert tip("Permutation p") in recon.summary_label.toolTip()
    recon.recon_runner.shutdown()

    detail = FilterDetail()
    qtbot.addWidget(detail)
    header = {detail.match_table.horizontalHeaderItem(c).text(): detail.match_table.horizontalHeaderItem(c).toolTip()
              for c in range(detail.match_table.columnCount())}
    assert header["q-value"] == tip("q-value") and header["Filter sites"] == tip("n_sites")
    assert header["p-value"] == tip("Match p-value")
    assert tip("Influence") in detail.detail_info.toolTip()
