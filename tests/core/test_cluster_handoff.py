"""Hand-off to a cluster and following a run folder: the exported script and command, and the follower."""
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from biodeep_gui.core.common.errors import ConfigError, RunFolderError
from biodeep_gui.core.sequences.config import RunConfig
from biodeep_gui.core.sequences.encoding import decode
from biodeep_gui.core.training.cluster import (
    ClusterJob,
    export_job,
    sbatch_script,
    suggest_memory_gb,
    torchrun_command,
)
from biodeep_gui.core.training.follow import follow_run, read_progress
from biodeep_gui.core.training.loop import EpochReport
from biodeep_gui.core.training.reports import StageReport
from biodeep_gui.core.training.runs import HISTORY_FILE, RUN_FILE

from .helpers import planted

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent


def _config(folder: Path) -> RunConfig:
    ss = planted(n=600, length=60, seed=3)
    with open(folder / "bound.fa", "w") as b, open(folder / "bg.fa", "w") as g:
        for sid, c, y in zip(ss.ids, ss.codes, ss.labels[:, 0]):
            (b if y else g).write(f">{sid}\n{decode(c)}\n")
    return RunConfig.from_dict({
        "name": "handoff",
        "data": {"kind": "fasta", "fasta": str(folder / "bound.fa"), "background": str(folder / "bg.fa")},
        "model": {"arch": "cnn", "params": {"filters": 8, "filter_width": 10}},
        "train": {"epochs": 3, "batch_size": 32, "lr": 0.01, "patience": 0, "device": "cpu"}})


def test_the_sbatch_script_is_valid_bash_and_asks_for_what_the_job_needs(tmp_path):
    job = ClusterJob("ctcf-cnn", str(tmp_path / "runs" / "my run"), nodes=2, processes_per_node=4, memory_gb=40,
                     time="1-02:00:00", partition="gpu", setup="module load cuda/12\nsource ~/venv/bin/activate")
    text = sbatch_script(job, tmp_path / "cfg dir" / "biodeep_config.json")
    script = tmp_path / "job.sbatch"
    script.write_text(text)
    check = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    for line in ("#SBATCH --nodes=2", "#SBATCH --gpus-per-node=4", "#SBATCH --mem=40G", "#SBATCH --time=1-02:00:00",
                 "#SBATCH --partition=gpu", "--nproc_per_node=4", "module load cuda/12"):
        assert line in text
    assert "'" + str(tmp_path / "runs" / "my run") + "'" in text  # a path with a space stays one argument
    cpu = sbatch_script(ClusterJob("cpu-job", "/shared/run", gpus=False, processes_per_node=2), "/shared/c.json")
    assert "--gpus-per-node" not in cpu
    scans = sbatch_script(ClusterJob("scans", "/shared/run", verb="scans train", nodes=2), "/shared/s.json")
    assert "--nproc_per_node=1" in scans and "#SBATCH --nodes=2" in scans  # folds spread over the processes
    assert "srun torchrun" in scans and "\\\n    -m biodeep_gui scans train --config /shared/s.json" in scans


@pytest.mark.parametrize("change, setting", [({"name": "a b"}, "job name"), ({"time": "4h"}, "time"),
                                             ({"nodes": 0}, "nodes"), ({"partition": "gpu;rm"}, "partition"),
                                             ({"out_dir": " "}, "out_dir"), ({"verb": "scans"}, "verb")])
def test_settings_a_scheduler_would_refuse_are_refused_by_name(change, setting):
    job = ClusterJob(**{"name": "ok", "out_dir": "/shared/run", **change})
    with pytest.raises(ConfigError, match=setting):
        sbatch_script(job, "/shared/c.json")


def test_memory_is_filled_from_the_training_estimate():
    small, big = suggest_memory_gb(100 * 2**20, 1), suggest_memory_gb(20 * 2**30, 4)
    assert small >= 4 and big >= 4 * 20 and big > small


def test_the_exported_torchrun_command_trains_with_two_cpu_processes(tmp_path):
    """The hand-off's plain command, run as written (2 processes, gloo), writes one complete run folder that the
    follower reads to the end."""
    if not (VENV_BIN / "torchrun").exists():
        pytest.skip("torchrun is not installed next to this Python")
    cfg = _config(tmp_path)
    job = ClusterJob("handoff", str(tmp_path / "run"), processes_per_node=2, gpus=False)
    files = export_job(cfg, job, tmp_path / "export", cfg.data.input_files())
    with pytest.raises(ConfigError, match="export folder"):
        export_job(cfg, job, tmp_path, cfg.data.input_files())  # the folder holding the data
    assert RunConfig.load(files["config"]) == cfg
    assert torchrun_command(job, files["config"]) in files["command"].read_text()
    env = {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}", "PYTHONPATH": str(REPO),
           "OMP_NUM_THREADS": "1", "BIODEEP_HOME": str(tmp_path / "home")}
    proc = subprocess.run(["bash", str(files["command"])], env=env, cwd=tmp_path, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    doc = json.loads((tmp_path / "run" / RUN_FILE).read_text())
    assert doc["status"] == "complete" and doc["provenance"]["world_size"] == 2

    items = list(follow_run(tmp_path / "run", should_stop=lambda: False, poll_s=0.01))
    epochs = [i for i in items if isinstance(i, EpochReport)]
    assert [e.epoch for e in epochs] == [1, 2, 3] and all(e.monitor == "auroc" for e in epochs)
    assert {e.best_epoch for e in epochs} <= {1, 2, 3} and epochs[-1].monitor_value > 0.5


def _fake_run(folder: Path, rows: int, status: str) -> None:
    folder.mkdir(exist_ok=True)
    (folder / RUN_FILE).write_text(json.dumps({"kind": "sequences", "name": "followed", "status": status,
                                               "config": {"train": {"epochs": 4, "monitor": "auto"}}}))
    lines = ["epoch,train_loss,val_loss,val_auroc,elapsed_s,is_best"]
    lines += [f"{e},{1 / e:.3f},{1.1 / e:.3f},{0.5 + e / 10:.2f},{e}.0,1" for e in range(1, rows + 1)]
    (folder / HISTORY_FILE).write_text("\n".join(lines) + "\n")


def test_a_folder_being_written_is_followed_epoch_by_epoch_until_it_ends(tmp_path):
    run = tmp_path / "job"
    run.mkdir()
    assert read_progress(run).status == "waiting"  # a queued job: no run.json yet
    _fake_run(run, 1, "training")
    p = read_progress(run)
    assert (p.status, p.epochs, len(p.history), p.finished) == ("training", 4, 1, False)

    seen: list = []
    first_epoch = threading.Event()

    def writer():
        first_epoch.wait(30)
        _fake_run(run, 2, "training")
        _fake_run(run, 4, "complete")

    t = threading.Thread(target=writer)
    t.start()
    try:
        gen = follow_run(run, should_stop=lambda: False, poll_s=0.02)
        for item in gen:
            seen.append(item)
            if isinstance(item, EpochReport) and item.epoch == 1:
                first_epoch.set()
    finally:
        first_epoch.set()
        t.join()
    epochs = [i.epoch for i in seen if isinstance(i, EpochReport)]
    assert epochs == [1, 2, 3, 4]  # each epoch once, in order
    assert [i.message for i in seen if isinstance(i, StageReport)][-1] == "followed finished"
    assert seen[-1].best_epoch == 4 and seen[-1].epochs == 4


def test_following_stops_when_asked_and_refuses_what_is_not_a_run(tmp_path):
    stop = threading.Event()
    gen = follow_run(tmp_path, should_stop=stop.is_set, poll_s=0.02)
    assert "Waiting" in next(gen).message
    stop.set()
    with pytest.raises(StopIteration) as end:
        next(gen)
    assert end.value.value.status == "waiting"
    with pytest.raises(RunFolderError, match="not a folder"):
        read_progress(tmp_path / "missing")
    _fake_run(tmp_path / "bad", 2, "training")
    (tmp_path / "bad" / RUN_FILE).write_text("{not json")
    with pytest.raises(RunFolderError, match="damaged"):
        read_progress(tmp_path / "bad")
