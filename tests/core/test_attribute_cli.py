"""``biodeep attribute``, ``biodeep insilico`` and ``biodeep discover`` end to end on the session's CTCF run."""
import json

import pytest


def _main(argv):
    from biodeep_gui.cli.main import main

    return main(argv)


def test_attribute_writes_tsv_and_images(planted_ctcf_run, tmp_path, capsys):
    pytest.importorskip("PySide6")
    fa = tmp_path / "two.fa"
    s = planted_ctcf_run.set
    fa.write_text(f">a\n{s.sequences[0]}\n>b short\n{s.sequences[1][10:70]}\n")
    out = tmp_path / "attr"
    assert _main(["attribute", str(planted_ctcf_run.run_dir), "--fasta", str(fa), "--out", str(out),
                  "--references", "4", "--formats", "png,svg"]) == 0
    text = (out / "attributions.tsv").read_text().splitlines()
    assert text[0].startswith("# method=deeplift_shap") and text[1].startswith("id\tposition\tbase\tattribution")
    assert len(text) == 2 + 100 + 60
    for name in ("a.png", "a.svg", "b.png", "b.svg"):
        assert (out / name).stat().st_size > 1000
    assert "2 sequences, DeepLIFT/SHAP" in capsys.readouterr().out


def test_attribute_images_of_colliding_ids_do_not_overwrite_each_other(planted_ctcf_run, tmp_path):
    pytest.importorskip("PySide6")
    fa = tmp_path / "clash.fa"
    s = planted_ctcf_run.set
    fa.write_text(f">a/1\n{s.sequences[0]}\n>a_1\n{s.sequences[1]}\n>attributions\n{s.sequences[2]}\n")
    out = tmp_path / "attr"
    assert _main(["attribute", str(planted_ctcf_run.run_dir), "--fasta", str(fa), "--out", str(out),
                  "--references", "2"]) == 0
    rows = [r.split("\t") for r in (out / "index.tsv").read_text().splitlines()[1:]]
    assert [r[0] for r in rows] == ["a/1", "a_1", "attributions"]
    pngs = [r[1] for r in rows]
    assert len(set(pngs)) == 3 and all((out / p).stat().st_size > 1000 for p in pngs)
    assert (out / "attributions.tsv").read_text().startswith("# method=")  # the table is not a record's image


def test_insilico_single_and_spacing(planted_ctcf_run, tmp_path, capsys):
    run_dir = str(planted_ctcf_run.run_dir)
    assert _main(["insilico", run_dir, "--motif", "CTCF", "--backgrounds", "20", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "MA0139" in out and "change of the binding score (log-odds) +" in out
    rows = (tmp_path / "effects.tsv").read_text().splitlines()
    assert float(rows[2].split("\t")[4]) > 1.0  # mean change
    assert _main(["insilico", run_dir, "--motif", "CTCF", "--second", "SPI1", "--spacing", "0:20:10",
                  "--backgrounds", "8", "--out", str(tmp_path)]) == 0
    spacing = [r for r in (tmp_path / "spacing.tsv").read_text().splitlines() if not r.startswith("#")]
    assert [r.split("\t")[0] for r in spacing[1:]] == ["0", "10", "20"]
    assert _main(["insilico", run_dir, "--motif", "NO_SUCH_TF"]) != 0
    assert "no motif" in capsys.readouterr().err


@pytest.mark.slow
def test_discover_writes_meme_tsv_and_html(planted_ctcf_run, tmp_path, capsys):
    """All positives of the CTCF run (~300): DeepLIFT/SHAP, TF-MoDISco, Tomtom against the insects collection too."""
    pytest.importorskip("PySide6")
    out = tmp_path / "disc"
    assert _main(["discover", str(planted_ctcf_run.run_dir), "--out", str(out), "--split", "all",
                  "--references", "6", "--cache-dir", str(tmp_path / "cache")]) == 0
    summary = json.loads((out / "summary.json").read_text())
    best = [p["matches"][0] for p in summary["patterns"] if p["sign"] > 0 and p["matches"]]
    assert best and best[0]["name"] == "CTCF" and best[0]["p_value"] < 1e-8
    html = (out / "report.html").read_text()
    assert "data:image/png;base64," in html and "CTCF" in html
    assert (out / "patterns.meme").read_text().startswith("MEME version 4")
    capsys.readouterr()
    assert _main(["discover", str(planted_ctcf_run.run_dir), "--out", str(tmp_path / "d2"), "--split", "all",
                  "--references", "6", "--collection", "insects", "--cache-dir", str(tmp_path / "cache")]) == 0
    assert json.loads((tmp_path / "d2" / "summary.json").read_text())["release"] == "JASPAR2026 CORE insects"
