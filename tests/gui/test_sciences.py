"""The window's two sciences: the domain switch, the tabs each shows, following opened runs, next-step hints."""
from __future__ import annotations

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QKeySequence

from biodeep_gui.gui.sciences import DNA, HINTS, SCANS, TABS, titles


def visible_titles(window) -> list[str]:
    return [window.tabs.tabText(i) for i in range(window.tabs.count()) if window.tabs.isTabVisible(i)]


def current_title(window) -> str:
    return window.tabs.tabText(window.tabs.currentIndex())


def test_the_switch_shows_one_science_and_is_remembered(qtbot, window):
    window.build_tabs()
    assert window.tabs.count() == len(TABS) == 12  # hidden, not removed: the indices never change
    assert window.science() == DNA and visible_titles(window) == titles(DNA)
    assert titles(DNA) == ["Sequences", "Model", "Training", "Results", "Filters", "Mutation map", "Predict",
                           "Compare", "Variants", "Found motifs"]
    assert titles(SCANS) == ["Model", "Training", "Scans", "Reconstructions"]
    assert window.tabs.cornerWidget(Qt.Corner.TopLeftCorner) is window.domain_switch
    window.model_tab.set_architecture("kmer")

    qtbot.mouseClick(window.domain_switch.buttons[SCANS], Qt.MouseButton.LeftButton)
    assert window.science() == SCANS and visible_titles(window) == titles(SCANS)
    assert current_title(window) == "Scans"  # Sequences was in front and is hidden now
    assert window.model_tab.is_scans()  # the Model tab shows the brain-scans page
    assert window.domain_switch.buttons[SCANS].isChecked() and not window.domain_switch.buttons[DNA].isChecked()
    assert window.science_actions[SCANS].isChecked() and not window.science_actions[DNA].isChecked()
    assert QSettings().value("window/science") == SCANS
    assert all(window.domain_switch.buttons[k].toolTip() for k in (DNA, SCANS))

    window.show_tab(window.training_tab)  # shared tabs stay in front across a switch
    window.science_actions[DNA].trigger()
    assert window.science() == DNA and visible_titles(window) == titles(DNA)
    assert current_title(window) == "Training"
    assert window.model_tab.architecture() == "kmer"  # back to the sequence network chosen before
    assert window.domain_switch.buttons[DNA].isChecked()

    window.science_actions[SCANS].trigger()
    assert window.session.science(DNA) == SCANS  # what the next window starts with


def test_view_menu_shortcuts_do_not_clash(window):
    menus = {a.text().replace("&", ""): a.menu() for a in window.menuBar().actions()}
    view = [a for a in menus["View"].actions() if a.text()]
    assert [a.text() for a in view] == ["DNA sequences", "Brain scans"]
    assert [a.shortcut() for a in view] == [QKeySequence("Ctrl+Shift+1"), QKeySequence("Ctrl+Shift+2")]
    shortcuts = [s.toString() for menu in menus.values() for a in menu.actions() for s in a.shortcuts()
                 if not s.isEmpty()]
    assert len(shortcuts) == len(set(shortcuts)), shortcuts


def test_data_and_runs_bring_their_science(window, train_gc_box):
    from biodeep_gui.gui.tabs.model_forms import SCANS_ARCH

    window.build_tabs()
    window.set_science(SCANS)
    run = window.open_run(train_gc_box("cnn", "gc-cnn").path)  # a sequence run: DNA, shown in Results
    assert run is not None and window.science() == DNA and current_title(window) == "Results"
    window.show_tab(window.reconstructions_tab)  # what the scans controller does with a scans run
    assert window.science() == SCANS and current_title(window) == "Reconstructions"
    window.sequences.open_demo()  # the demo data are DNA sequences
    assert window.science() == DNA and current_title(window) == "Sequences"
    window.show_tab(window.model_tab)
    window.model_tab.set_architecture(SCANS_ARCH)  # the brain-scans network picked in the Model tab
    assert window.science() == SCANS and current_title(window) == "Model"
    window.model_tab.set_architecture("cnn")
    assert window.science() == DNA


def test_every_tab_ends_with_a_next_step_that_goes_there(window):
    window.build_tabs()
    assert set(HINTS) == {(s, t) for s in (DNA, SCANS) for t in titles(s)}
    for science in (DNA, SCANS):
        window.set_science(science)
        for title in titles(science):
            window.show_tab_titled(title)
            hint, target = window.next_step.text(), window.next_step.target()
            assert window.next_step.isVisibleTo(window) and target in titles(science) and target != title
            assert target in hint and "{link}" not in hint, hint
            window.next_step.label.linkActivated.emit(f"tab:{target}")  # what a click on the link does
            assert current_title(window) == target and window.science() == science
    window.set_science(DNA)
    window.show_tab_titled("Sequences")
    assert window.next_step.text() == "Next: Model to choose the network, then Training ▸ Start (Ctrl+R)"
    window.set_science(SCANS)
    window.show_tab_titled("Model")
    assert window.next_step.text() == "Next: Training ▸ Start (Ctrl+R) trains on the cohort of the Scans tab"
