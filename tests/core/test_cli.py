"""The `biodeep` command as a user types it (in-process through cli.main, and once as a real subprocess)."""
import csv
import json
import subprocess
import sys

import pytest

from biodeep_gui.cli.main import main


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    assert main(["demo", "--out", str(out)]) == 0
    return out


def test_demo_writes_the_files(demo):
    for name in ("bound.fa", "background.fa", "labelled.fa", "heldout.fa", "predict_me.fa", "cooperative.csv",
                 "affinity.csv", "genome.fa", "peaks.bed", "README.txt"):
        assert (demo / name).stat().st_size > 0
    assert "synthetic" in (demo / "README.txt").read_text().lower()


def test_train_predict_evaluate(demo, tmp_path, capsys):
    run = tmp_path / "run"
    rc = main(["train", "--fasta", str(demo / "bound.fa"), "--background", str(demo / "background.fa"),
               "--arch", "kmer", "--param", "k=4", "--out", str(run), "--quiet"])
    assert rc == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["test_auroc"] > 0.7
    assert json.loads((run / "run.json").read_text())["config"]["model"]["params"]["k"] == 4

    pred = tmp_path / "p.csv"
    assert main(["predict", str(run), str(demo / "predict_me.fa"), "--out", str(pred)]) == 0
    rows = list(csv.DictReader(pred.open()))
    assert rows and set(rows[0]) == {"id", "p_bound"}
    assert all(0.0 <= float(r["p_bound"]) <= 1.0 for r in rows)

    capsys.readouterr()
    capsys.readouterr()
    assert main(["evaluate", str(run), str(demo / "labelled.fa"), "--out", str(tmp_path / "m.json")]) == 0
    metrics = json.loads((tmp_path / "m.json").read_text())
    assert metrics["auroc"] > 0.7
    # labelled.fa holds the very sequences the run was trained on: said on stderr and in the JSON
    from biodeep_gui.core.sequences.pipeline import prepare_data
    from biodeep_gui.core.sequences.run import load_run

    prep = prepare_data(load_run(run).config)
    used = len(prep.train) + len(prep.val)
    err = capsys.readouterr().err
    assert f"Warning: {used:,} of 2,000 input sequences" in err
    overlap = metrics["overlap_with_training"]
    assert overlap["known"] and overlap["count"] == used and overlap["fraction"] == pytest.approx(used / 2000)
    lo, hi = metrics["intervals"]["auroc"]
    assert lo <= metrics["auroc"] <= hi

    # the held-out file the demo writes: no sequence in common, no warning
    assert main(["evaluate", str(run), str(demo / "heldout.fa"), "--out", str(tmp_path / "h.json")]) == 0
    held = json.loads((tmp_path / "h.json").read_text())
    assert held["overlap_with_training"]["count"] == 0 and held["auroc"] > 0.7
    assert "Warning" not in capsys.readouterr().err

    # a run saved before digests existed: the overlap is unknown, and said so
    (run / "training_digest.safetensors").unlink()
    assert main(["evaluate", str(run), str(demo / "heldout.fa"), "--out", str(tmp_path / "u.json")]) == 0
    assert "Warning: whether these sequences were used to train this model is unknown" in capsys.readouterr().err
    unknown = json.loads((tmp_path / "u.json").read_text())["overlap_with_training"]
    assert unknown["known"] is False and unknown["count"] is None


def test_config_file_and_flag_override(demo, tmp_path, capsys):
    conf = tmp_path / "run.toml"
    conf.write_text(f'[data]\nkind = "table"\ntable = "{(demo / "affinity.csv").as_posix()}"\n'
                    f'label_columns = ["affinity"]\n[model]\narch = "linear"\n[train]\nepochs = 1\n')
    assert main(["train", "--config", str(conf), "--seed", "7", "--out", str(tmp_path / "r"), "--quiet"]) == 0
    doc = json.loads((tmp_path / "r" / "run.json").read_text())
    assert doc["config"]["train"]["seed"] == 7 and doc["model"]["task"] == "regression"
    assert "test_pearson" in json.loads(capsys.readouterr().out)


def test_one_cnn_epoch(demo, tmp_path, capsys):
    rc = main(["train", "--fasta", str(demo / "bound.fa"), "--background", str(demo / "background.fa"), "--arch",
               "cnn", "--epochs", "1", "--param", "filters=8", "--device", "cpu", "--out", str(tmp_path / "c"),
               "--quiet"])
    assert rc == 0 and json.loads(capsys.readouterr().out)["best_epoch"] == 1


@pytest.mark.parametrize("args, needle", [
    (["train", "--fasta", "missing.fa", "--background", "also_missing.fa", "--out", "x"], "missing.fa"),
    (["train", "--fasta", "{demo}/bound.fa", "--background", "{demo}/background.fa", "--param", "filters=-3",
      "--out", "x"], "filters"),
    (["predict", "no_such_run", "{demo}/predict_me.fa", "--out", "p.csv"], "no_such_run"),
    (["train", "--config", "nope.toml", "--out", "x"], "nope.toml"),
])
def test_errors_are_one_line_without_traceback(demo, tmp_path, capsys, monkeypatch, args, needle):
    monkeypatch.chdir(tmp_path)
    rc = main([a.format(demo=demo) for a in args])
    err = capsys.readouterr().err
    assert rc == 1
    last = err.strip().splitlines()[-1]
    assert last.startswith("biodeep: error:") and needle in last and "Traceback" not in err


def test_module_entry_point_runs(tmp_path):
    out = subprocess.run([sys.executable, "-m", "biodeep_gui", "archs"], capture_output=True, text=True)
    assert out.returncode == 0 and "cnn-lstm" in out.stdout and "DanQ" in out.stdout
    out = subprocess.run([sys.executable, "-m", "biodeep_gui", "devices"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.startswith("cpu")
