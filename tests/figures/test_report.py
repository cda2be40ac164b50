"""The run report (``biodeep report``): one self-contained HTML file or a PDF, for sequence and scans runs.

Small real runs: the session's planted-motif CNN and its 3-mer baseline (tests/conftest.py), and the session's tiny scans
run (tests/conftest.py: 8 SYNTHETIC subjects, 2 folds, 1 epoch, 3 permutations). Filter logos are drawn without Tomtom
(``motifs='logos'``), which compiles with numba for about a minute on its first call.
"""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before the QApplication (pytest-qt's qapp) exists

import base64  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
from html.parser import HTMLParser  # noqa: E402

import pytest  # noqa: E402
from PySide6.QtGui import QImage  # noqa: E402

from biodeep_gui.core.run_report import fmt  # noqa: E402
from biodeep_gui.core.sequences.interpret.progress import drain  # noqa: E402


class _Refs(HTMLParser):
    """Every tag and every attribute that could load something."""

    def __init__(self):
        super().__init__()
        self.tags, self.refs = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.refs += [(tag, k, v or "") for k, v in attrs if k in ("src", "href", "srcset", "data", "action")]


def _report(run_dir, out, **kw):
    from biodeep_gui.figures.report import write_report

    return drain(write_report(run_dir, out, **kw))


def _images(text: str) -> list[QImage]:
    p = _Refs()
    p.feed(text)
    out = []
    for _tag, _k, v in p.refs:
        head, _, data = v.partition(",")
        assert head == "data:image/png;base64", v[:60]
        raw = base64.b64decode(data)
        assert raw[:8] == b"\x89PNG\r\n\x1a\n"
        img = QImage.fromData(raw, "PNG")
        assert not img.isNull() and img.width() > 50
        out.append(img)
    return out


def _self_contained(text: str) -> None:
    p = _Refs()
    p.feed(text)
    assert "link" not in p.tags and "script" not in p.tags and "iframe" not in p.tags
    assert all(k == "src" and v.startswith("data:image/png;base64,") for _t, k, v in p.refs), p.refs[:3]
    assert "url(" not in text and "@import" not in text and "http://" not in text and "https://" not in text


def test_sequence_report_is_one_self_contained_html_with_the_stored_metrics(qapp, planted_fasta_runs, tmp_path):
    run_dir = planted_fasta_runs.cnn_dir
    out = tmp_path / "report.html"
    assert _report(run_dir, out, motifs="logos") == out
    text = out.read_text(encoding="utf-8")
    _self_contained(text)
    for title in ("Data", "Training curves", "Test metrics", "Comparison with baselines", "First-layer filters",
                  "Settings", "Versions and inputs"):
        assert re.search(rf"<h2>\d+\. {title}</h2>", text), title
    metrics = json.loads((run_dir / "metrics.json").read_text())
    intervals = json.loads((run_dir / "run.json").read_text())["test_intervals"]
    tests = {k[5:]: v for k, v in metrics.items() if k.startswith("test_")}
    assert tests and set(tests) == set(intervals)
    for name, v in tests.items():  # the value and its stored 95 % interval, in one table row
        lo, hi = intervals[name]
        row = f'<td>{name}</td><td class="num">{fmt(v, 4)}</td><td>[{fmt(lo, 4)}, {fmt(hi, 4)}]</td>'
        assert row in text, row
    # the 3-mer baseline trained on the same split sits next to the CNN: compared by a paired bootstrap
    assert "kmer (baseline)" in text and "p (paired bootstrap)" in text
    prov = json.loads((run_dir / "run.json").read_text())["provenance"]
    for path, sha in prov["input_sha256"].items():
        assert path in text and sha in text
    assert prov["torch"] in text and prov["python"] in text and "unchanged" in text
    images = _images(text)
    n_logos = int((planted_fasta_runs.cnn.info.params["filters"]))
    assert len(images) >= 2 + 1 + 1  # loss and validation curves, the interval plot, at least one logo
    assert text.count('alt="filter ') <= n_logos and text.count('alt="filter ') >= 1


def test_a_baseline_run_reports_without_curves_or_filters(qapp, planted_fasta_runs, tmp_path):
    out = tmp_path / "kmer.html"
    text = _report(planted_fasta_runs.kmer_dir, out, motifs="match").read_text(encoding="utf-8")
    _self_contained(text)
    assert "No per-epoch history" in text and "First-layer filters" not in text
    assert "<td>cnn</td>" in text  # the deep run on the same test set is listed in the comparison


def test_scans_report_has_reconstructions_and_classification(qapp, tiny_scans_run, tmp_path):
    out = tmp_path / "scans.html"
    text = _report(tiny_scans_run, out).read_text(encoding="utf-8")
    _self_contained(text)
    for title in ("Data", "Training curves", "Reconstructions", "Classification", "Settings", "Versions and inputs"):
        assert re.search(rf"<h2>\d+\. {title}</h2>", text), title
    res = json.loads((tiny_scans_run / "results.json").read_text())
    rec = res["reconstruction"]
    assert f"{fmt(rec['template_correlation_mean'])} ± {fmt(rec['template_correlation_sd'])}" in text
    assert f"{fmt(rec['residual_correlation_mean'])} ± {fmt(rec['residual_correlation_sd'])}" in text
    perm = res["permutation"]["logistic"]
    assert "smallest possible p = 1/(n+1)" in text and f"<td class=\"num\">{fmt(perm['floor'])}</td>" in text
    assert f"<td class=\"num\">{fmt(perm['p_value'])}</td>" in text
    assert "Site only (baseline)" in text and "majority class accuracy" in text
    assert "pooled accuracy [95 % interval]" in text
    tn, fp = res["confusion"]["logistic"][0]
    assert re.search(rf"<td class=\"num\">{tn}</td><td class=\"num\">{fp}</td>", text)
    images = _images(text)
    slices = text.count('alt="Subject ')
    assert slices == min(2, len(res["folds"]) * 4) and len(images) >= slices + 1


def test_pdf_has_pages_and_the_figures(qapp, tiny_scans_run, tmp_path):
    out = tmp_path / "scans.pdf"
    raw = _report(tiny_scans_run, out, check_inputs=False).read_bytes()
    assert raw.startswith(b"%PDF")
    assert len(re.findall(rb"/Type\s*/Page\b", raw)) >= 1
    assert len(re.findall(rb"/Subtype\s*/Image", raw)) >= 3  # curves and the slices of two subjects


def test_the_page_renders_for_a_person_to_look_at(qapp, planted_fasta_runs, tiny_scans_run):
    from biodeep_gui.core.run_report import collect_report
    from biodeep_gui.figures.report import render_page

    for name, run_dir in (("sequences", planted_fasta_runs.cnn_dir), ("scans", tiny_scans_run)):
        img = render_page(drain(collect_report(run_dir, motifs="logos")))
        assert img.width() == 700 and img.height() > 2000
        assert img.save(str(run_dir.parent / f"report_{name}.png"))


def test_cli_report_and_its_refusals(qapp, planted_fasta_runs, tmp_path, capsys):
    from biodeep_gui.cli.main import main

    run_dir = planted_fasta_runs.cnn_dir
    out = tmp_path / "r.html"
    assert main(["report", str(run_dir), "--out", str(out), "--motifs", "off", "--quiet"]) == 0
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert f"wrote {out}" in capsys.readouterr().out
    cases = [
        ([str(tmp_path), "--out", str(tmp_path / "x.html")], "no run.json"),
        ([str(run_dir), "--out", str(run_dir / "r.html")], "inside the input"),
        ([str(run_dir), "--out", str(planted_fasta_runs.root / "bound.fa")], "would destroy it"),
        ([str(run_dir), "--out", str(tmp_path / "r.txt")], ".html or .pdf"),
    ]
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    (damaged / "run.json").write_text("{not json")
    cases.append(([str(damaged), "--out", str(tmp_path / "d.html")], "run.json"))
    for args, says in cases:
        assert main(["report", *args, "--motifs", "off", "--quiet"]) == 1
        err = capsys.readouterr().err.strip()
        assert err.startswith("biodeep: error:") and says in err and "\n" not in err, err
    assert not (tmp_path / "x.html").exists() and not (tmp_path / "d.html").exists()


@pytest.mark.parametrize("kind", ["cnn", "scans"])
def test_runs_of_biodeep_0_1_0_still_report(qapp, tmp_path, kind):
    """Folders written by 0.1.0 (tests/fixtures): no stored intervals (computed from the saved predictions) and
    inputs that are not there (the sections say so instead of failing)."""
    from pathlib import Path

    run_dir = Path(__file__).resolve().parents[1] / "fixtures" / "legacy_v0_1_0" / "runs" / kind
    text = _report(run_dir, tmp_path / "legacy.html", motifs="logos").read_text(encoding="utf-8")
    _self_contained(text)
    if kind == "cnn":
        assert "computed for this report from the saved test predictions" in text
        assert "Filter motifs could not be computed" in text or 'alt="filter ' in text  # data relative to the cwd
    else:
        assert "Reconstruction slices not drawn" in text or 'alt="Subject ' in text
        assert re.search(r"<h2>\d+\. Classification</h2>", text)
