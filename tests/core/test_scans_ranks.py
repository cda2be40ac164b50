"""Scans training under torchrun: the cross-validation folds (and permutations) spread over 2 CPU processes (gloo)
give the run a single process gives, process 0 alone writes it, and an error on one process ends every process with
one message."""
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file

from biodeep_gui.core.scans.config import ScansConfig
from biodeep_gui.core.scans.synthetic import write_demo_cohort
from biodeep_gui.core.training.cluster import ClusterJob, export_job, torchrun_command

REPO = Path(__file__).resolve().parents[2]
#: tiny and fast: 12 subjects on an 8 x 10 x 8 grid, 2 folds of 2 epochs, 3 permutations, no CNN arm, no final fit
SHAPE = (8, 10, 8)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(folder: Path) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "BIODEEP_HOME": str(folder / "home")}
    env.pop("BIODEEP_QUICK", None)  # the settings below are the test's own
    return env


def _arguments(demo, folder: Path, folds: int = 2) -> list[str]:
    return ["--images", str(demo.images), "--labels", str(demo.table), "--file-column", "FILE_ID", "--site-column",
            "SITE_ID", "--depth", "2", "--code-size", "8", "--epochs", "2", "--head-epochs", "20", "--folds",
            str(folds), "--permutations", "3", "--no-cnn", "--no-final-fit", "--cache", str(folder / "cache")]


def _torchrun(args: list[str], folder: Path) -> subprocess.CompletedProcess:
    # the timeout only stops a hung launch (a hang is the failure this file guards against); nothing is timed
    return subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2",
                           f"--master_port={_free_port()}", *args], env=_env(folder), cwd=folder,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The same 3-fold run with 2 processes (torchrun -m biodeep_gui) and with one (python -m biodeep_gui)."""
    folder = tmp_path_factory.mktemp("scans_ranks")
    demo = write_demo_cohort(folder / "demo", 12, SHAPE, seed=3)
    args = _arguments(demo, folder, folds=3)  # 3 folds on 2 processes: process 0 fits two, in two rounds
    two = _torchrun(["-m", "biodeep_gui", "scans", "train", *args, "--out", str(folder / "two")], folder)
    assert two.returncode == 0, two.stdout[-3000:] + two.stderr[-3000:]
    one = subprocess.run([sys.executable, "-m", "biodeep_gui", "scans", "train", *args, "--out", str(folder / "one")],
                         env=_env(folder), cwd=folder, capture_output=True, text=True, timeout=300)
    assert one.returncode == 0, one.stdout[-3000:] + one.stderr[-3000:]
    return folder, two


def test_two_processes_give_the_single_process_folds_and_p_value(runs):
    folder, _ = runs
    one, two = (json.loads((folder / name / "results.json").read_text()) for name in ("one", "two"))
    assert [f["fold"] for f in two["folds"]] == [1, 2, 3]
    for a, b in zip(one["folds"], two["folds"]):
        assert a["test_subjects"] == b["test_subjects"]
        assert a["metrics"].keys() == b["metrics"].keys() and {"mlp", "logistic", "site_only"} <= a["metrics"].keys()
        for arm in a["metrics"]:
            for metric, value in a["metrics"][arm].items():
                assert b["metrics"][arm][metric] == pytest.approx(value, abs=1e-6, nan_ok=True), (arm, metric)
        for sid, rec in a["reconstruction"].items():
            assert b["reconstruction"][sid]["correlation"] == pytest.approx(rec["correlation"], abs=1e-6)
    p1, p2 = one["permutation"]["logistic"], two["permutation"]["logistic"]
    assert p2["n"] == p1["n"] == 3
    assert p2["p_value"] == pytest.approx(p1["p_value"], abs=1e-6)
    assert p2["chance"] == pytest.approx(p1["chance"], abs=1e-6)  # the whole null, not only the p-value
    x, y = (load_file(str(folder / name / "predictions.safetensors")) for name in ("one", "two"))
    for key in x:
        np.testing.assert_allclose(y[key], x[key], atol=1e-6, equal_nan=True, err_msg=key)
    for k in (1, 2, 3):  # each fold's autoencoder, whichever process fitted it, saved by process 0
        a, b = (load_file(str(folder / name / "folds" / f"fold{k}.safetensors")) for name in ("one", "two"))
        assert a.keys() == b.keys()
        for key in a:
            np.testing.assert_allclose(b[key], a[key], atol=1e-6, err_msg=f"fold {k} {key}")


def test_one_run_folder_written_by_process_0_records_the_launch(runs):
    folder, two = runs
    doc = json.loads((folder / "two" / "run.json").read_text())
    assert doc["status"] == "complete"
    assert doc["provenance"]["world_size"] == 2 and doc["provenance"]["backend"] == "gloo"
    single = json.loads((folder / "one" / "run.json").read_text())["provenance"]
    assert single["world_size"] == 1 and single["backend"] == "none"
    assert [d["fold"] for d in doc["folds"]] == [1, 2, 3]
    assert not list((folder / "two").rglob(".*")), "no temporary files left by a second writer"
    assert two.stdout.count("Run folder:") == 1  # only process 0 reports
    assert "folds spread over 2 processes (gloo)" in two.stdout
    assert "spread over 2 processes" in two.stdout.split("[permutation]", 1)[1]


def test_an_error_on_one_process_ends_every_process_with_one_message(tmp_path):
    """Process 1 fails (its fold, or reading the cohort); process 0 learns it at the round's gather instead of
    waiting, and says once which fold and process failed and why."""
    demo = write_demo_cohort(tmp_path / "demo", 12, SHAPE, seed=3)
    proc = _torchrun([str(REPO / "tests" / "core" / "scans_ranks_worker.py"), str(tmp_path), str(tmp_path / "run"),
                      *_arguments(demo, tmp_path)], tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]  # both processes got to their report
    r0, r1 = (json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1))
    # a user error (a diverged fit): one line, from process 0 only, naming the fold, the process and the cause
    assert r0["user_rc"] == 1 and r1["user_rc"] == 1
    assert r0["user_stderr"].strip() == ("biodeep: error: fold 2 (process 1 of 2): the loss became NaN (planted on "
                                         "process 1)")
    assert r1["user_stderr"] == ""
    assert not (tmp_path / "run-user" / "run.json").exists()
    # a bug: process 0 names it in one line, the process it happened in keeps its exception (and traceback)
    assert r0["bug_rc"] == 1
    assert r0["bug_stderr"].strip() == "biodeep: error: fold 2 (process 1 of 2): RuntimeError: planted bug on process 1"
    assert r1["bug_rc"] == "raised RuntimeError: planted bug on process 1"
    # process 1 alone fails to read the cohort process 0 prepared: process 0 hears it at the first gather
    assert r0["late_rc"] == 1 and r1["late_rc"] == 1 and r1["late_stderr"] == ""
    assert r0["late_stderr"].strip() == ("biodeep: error: process 1 of 2: scan.nii: unreadable (planted on process "
                                         "1)")


def test_the_exported_torchrun_command_of_a_scans_run_trains_with_two_cpu_processes(tmp_path):
    """Run on a cluster... for a scans run: the plain command (torchrun -m biodeep_gui scans train --config ...) runs
    as written and writes one complete 2-process run."""
    venv_bin = Path(sys.executable).parent
    if not (venv_bin / "torchrun").exists():
        pytest.skip("torchrun is not installed next to this Python")
    demo = write_demo_cohort(tmp_path / "demo", 12, SHAPE, seed=3)
    cfg = ScansConfig()
    d = cfg.data
    d.images, d.labels, d.file_column, d.site_column = str(demo.images), str(demo.table), "FILE_ID", "SITE_ID"
    d.cache_dir = str(tmp_path / "cache")
    cfg.model.autoencoder, cfg.model.cnn_arm = {"depth": 2, "code_size": 8}, False
    cfg.train.epochs, cfg.train.head_epochs, cfg.train.device = 2, 20, "cpu"
    cfg.cv.folds, cfg.cv.permutations, cfg.cv.final_fit = 2, 0, False
    job = ClusterJob("scans", str(tmp_path / "run"), processes_per_node=2, gpus=False, verb="scans train")
    files = export_job(cfg, job, tmp_path / "export", d.input_files())
    command = torchrun_command(job, files["config"])
    assert command.startswith("torchrun --standalone --nproc_per_node=2 -m biodeep_gui scans train --config ")
    assert command in files["command"].read_text()
    env = {**_env(tmp_path), "PATH": f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}"}
    proc = subprocess.run(["bash", str(files["command"])], env=env, cwd=tmp_path, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    doc = json.loads((tmp_path / "run" / "run.json").read_text())
    assert doc["kind"] == "scans" and doc["status"] == "complete"
    assert doc["provenance"]["world_size"] == 2 and [f["fold"] for f in doc["folds"]] == [1, 2]


def test_a_damaged_scan_found_while_process_0_fills_the_cache_stops_both_with_one_message(tmp_path):
    """The other process waits for process 0 to prepare the cohort; a damaged file there reaches it as a verdict, not
    as a wait for a broadcast that never comes."""
    import gzip

    demo = write_demo_cohort(tmp_path / "demo", 12, SHAPE, seed=3)
    damaged = sorted(demo.images.glob("*.nii.gz"))[2]
    damaged.write_bytes(gzip.compress(gzip.decompress(damaged.read_bytes())[:-200]))  # header intact, voxels cut
    proc = _torchrun(["-m", "biodeep_gui", "scans", "train", *_arguments(demo, tmp_path), "--out",
                      str(tmp_path / "run")], tmp_path)
    assert proc.returncode != 0
    errors = [line for line in proc.stderr.splitlines() if line.startswith("biodeep: error:")]
    assert len(errors) == 1 and damaged.name in errors[0] and "truncated or damaged" in errors[0], proc.stderr[-3000:]
    assert f'File "{REPO / "biodeep_gui"}' not in proc.stderr  # a message, no traceback from BioDeep's code
    assert not (tmp_path / "run" / "run.json").exists()
