"""File ▸ Export report…: the run shown in the window written as HTML or PDF by a worker thread."""
from __future__ import annotations

from PySide6.QtWidgets import QFileDialog

TIMEOUT = 120_000


def _action(window, text: str):
    for act in window.menuBar().actions()[0].menu().actions():
        if act.text() == text:
            return act
    raise AssertionError(f"no File menu action {text!r}")


def test_export_report_of_the_shown_run_through_the_worker(qtbot, window, planted_fasta_runs, tmp_path, monkeypatch):
    window.build_tabs()
    act = _action(window, "Export report…")
    act.trigger()  # no run shown yet: a message, nothing starts
    assert not window.reports.runner.is_running()
    assert any("open a run" in d.text() for d in window.open_dialogs())
    window.session.close_dialogs()

    file_menu = window.menuBar().actions()[0].menu()
    file_menu.aboutToShow.emit()
    assert not act.isEnabled()  # greyed out while no run is shown
    window.open_run(planted_fasta_runs.kmer_dir)  # a baseline: no Tomtom (it compiles for a minute)
    file_menu.aboutToShow.emit()
    assert act.isEnabled()
    assert window.reports.current_run_dir() == planted_fasta_runs.kmer_dir
    out = tmp_path / "kmer-report.html"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(out), "HTML")))
    with qtbot.waitSignal(window.reports.runner.sigFinished, timeout=TIMEOUT) as done:
        act.trigger()
        assert window.reports.runner.is_running()  # the GUI thread is free while the report is drawn
    assert str(done.args[0]) == str(out)
    text = out.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and "BioDeep run report" in text and "data:image/png;base64," in text
    assert "Report saved as" in window.statusBar().currentMessage()

    pdf = tmp_path / "kmer-report.pdf"  # the PDF is typeset in the worker thread too
    with qtbot.waitSignal(window.reports.runner.sigFinished, timeout=TIMEOUT):
        assert window.reports.export_report(planted_fasta_runs.kmer_dir, pdf)
    assert pdf.read_bytes().startswith(b"%PDF")


def test_export_report_refuses_a_path_inside_the_run(qtbot, window, planted_fasta_runs):
    window.build_tabs()
    bad = planted_fasta_runs.kmer_dir / "report.html"
    assert not window.reports.export_report(planted_fasta_runs.kmer_dir, bad)
    assert not window.reports.runner.is_running() and not bad.exists()
    assert any("Report file" in d.text() for d in window.open_dialogs())


def test_the_report_follows_the_run_in_front(qtbot, window, planted_fasta_runs, tiny_scans_run, tmp_path):
    """Reconstructions in front: its scans run; Results in front: the sequence run."""
    window.build_tabs()
    window.open_run(planted_fasta_runs.kmer_dir)
    window.open_run(tiny_scans_run)
    assert window.current_tab() is window.reconstructions_tab
    assert window.reports.current_run_dir() == tiny_scans_run
    out = tmp_path / "scans.html"
    with qtbot.waitSignal(window.reports.runner.sigFinished, timeout=TIMEOUT):
        assert window.reports.export_report(window.reports.current_run_dir(), out)
    assert "<h2>3. Reconstructions</h2>" in out.read_text(encoding="utf-8")
    window.show_tab(window.results_tab)
    assert window.reports.current_run_dir() == planted_fasta_runs.kmer_dir
