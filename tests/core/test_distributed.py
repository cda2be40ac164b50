"""Data-parallel training: the sampler's shards, the launch environment, and a real 2-process gloo run."""
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from biodeep_gui.core.sequences.encoding import decode
from biodeep_gui.core.training.distributed import DistContext, backend_for, init_from_env, is_main_process, launch_env
from biodeep_gui.core.training.loop import batch_indices

from .helpers import planted

REPO = Path(__file__).resolve().parents[2]
TORCHRUN = Path(sys.executable).with_name("torchrun")


@pytest.mark.parametrize("n,world", [(10, 2), (11, 2), (7, 3), (1, 2)])
def test_shuffled_shards_cover_every_sample_once_and_have_equal_batches(n, world):
    parts = [torch.cat(list(batch_indices(n, 3, True, torch.Generator().manual_seed(5), shard=(r, world))))
             for r in range(world)]
    assert len({len(p) for p in parts}) == 1  # equal batch counts: DDP never waits on a missing rank
    allx = torch.cat(parts).tolist()
    assert set(allx) == set(range(n)) and len(allx) == n + (-n) % world  # padding only wraps around


def test_ordered_shards_are_contiguous_blocks_in_rank_order():
    blocks = [[i for s in batch_indices(11, 4, shard=(r, 3)) for i in range(s.start, s.stop)] for r in range(3)]
    assert sum(blocks, []) == list(range(11))


def test_chunked_shuffle_reads_a_few_blocks_at_a_time_and_mixes_sorted_classes():
    from biodeep_gui.core.training.loop import CHUNKS_PER_WINDOW

    order = torch.cat(list(batch_indices(1000, 32, True, torch.Generator().manual_seed(1), chunk=10))).tolist()
    assert sorted(order) == list(range(1000)) and order != sorted(order)
    window = 10 * CHUNKS_PER_WINDOW
    for w in range(0, 1000 - 2 * window + 1, window):  # full windows; the last one takes the remainder too
        part = order[w:w + window]
        assert len({x // 10 for x in part}) <= CHUNKS_PER_WINDOW  # a few regions of the file at a time
        assert 0 < sum(x < 500 for x in part) < len(part)  # bound-first files still give mixed batches


def test_launch_environment_from_torchrun_or_slurm():
    assert launch_env({}) == (0, 1, 0)
    assert launch_env({"RANK": "1", "WORLD_SIZE": "4", "LOCAL_RANK": "1"}) == (1, 4, 1)
    assert launch_env({"SLURM_PROCID": "3", "SLURM_NTASKS": "4", "SLURM_LOCALID": "1"}) == (3, 4, 1)
    with pytest.raises(ValueError):
        launch_env({"RANK": "4", "WORLD_SIZE": "4"})
    assert not is_main_process({"RANK": "2", "WORLD_SIZE": "4"})
    assert backend_for(torch.device("cpu")) == "gloo" and backend_for(torch.device("cuda", 0)) == "nccl"
    ctx = init_from_env(torch.device("cpu"), environ={})  # no launcher: single process, no-op collectives
    assert not ctx.distributed and ctx.is_main and ctx.shard() is None
    assert ctx.broadcast(3) == 3 and ctx.gather_rows(np.ones((2, 1))).shape == (2, 1) and ctx.any(True)
    assert DistContext().provenance() == {"world_size": 1, "backend": "none"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _write_data(folder: Path) -> Path:
    ss = planted(n=800, length=60, seed=3)
    with open(folder / "bound.fa", "w") as b, open(folder / "bg.fa", "w") as g:
        for sid, c, y in zip(ss.ids, ss.codes, ss.labels[:, 0]):
            (b if y else g).write(f">{sid}\n{decode(c)}\n")
    cfg = folder / "run.toml"
    cfg.write_text(f'''name = "ddp"
[data]
kind = "fasta"
fasta = "{folder / 'bound.fa'}"
background = "{folder / 'bg.fa'}"
cache = "on"
[model]
arch = "cnn"
params = {{ filters = 8, filter_width = 10 }}
[train]
epochs = 3
batch_size = 32
lr = 0.01
patience = 0
device = "cpu"
''')
    return cfg


@pytest.fixture(scope="module")
def ddp_runs(tmp_path_factory):
    """One torchrun launch, 2 CPU processes (gloo): a full CLI run and a run left after epoch 1."""
    if not TORCHRUN.exists():
        pytest.skip("torchrun is not installed next to this Python")
    folder = tmp_path_factory.mktemp("ddp")
    cfg = _write_data(folder)
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", "BIODEEP_HOME": str(folder / "home")}
    proc = subprocess.run([str(TORCHRUN), "--nproc_per_node=2", f"--master_port={_free_port()}",
                           str(REPO / "tests" / "core" / "ddp_worker.py"), str(cfg), str(folder / "full"),
                           str(folder / "partial"), str(folder)],
                          env=env, cwd=folder, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return folder, cfg, proc


def test_two_processes_write_one_run_folder_that_records_the_world(ddp_runs):
    folder, _cfg, proc = ddp_runs
    ranks = [json.loads((folder / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert [r["world_size"] for r in ranks] == [2, 2] and {r["backend"] for r in ranks} == {"gloo"}
    assert all(r["cli_rc"] == 0 for r in ranks)
    doc = json.loads((folder / "full" / "run.json").read_text())
    assert doc["status"] == "complete" and doc["provenance"]["world_size"] == 2
    assert doc["provenance"]["backend"] == "gloo"
    assert not list(folder.glob("full/.*")), "no temporary files left by a second writer"
    assert proc.stdout.count('"run_dir"') == 1  # only rank 0 prints the summary
    assert len(list(folder.glob("*/run.json"))) == 2  # full + partial, nothing else


def test_two_process_auroc_matches_one_process(ddp_runs, monkeypatch):
    from biodeep_gui.core.sequences.config import RunConfig
    from biodeep_gui.core.sequences.pipeline import RunSummary, train_run

    folder, cfg, _ = ddp_runs
    monkeypatch.setenv("BIODEEP_HOME", str(folder / "home"))  # the same encoded cache: a manifest hit
    torch.use_deterministic_algorithms(True, warn_only=True)
    summary = [x for x in train_run(RunConfig.load(cfg), folder / "single") if isinstance(x, RunSummary)][-1]
    two = json.loads((folder / "full" / "metrics.json").read_text())
    assert summary.metrics["test_auroc"] > 0.9
    assert abs(two["test_auroc"] - summary.metrics["test_auroc"]) <= 0.02
    assert json.loads((folder / "single" / "run.json").read_text())["provenance"]["world_size"] == 1


def test_a_two_process_checkpoint_resumes_in_one_process(ddp_runs, monkeypatch):
    from biodeep_gui.core.sequences.pipeline import RunSummary, resumable, resume_run

    folder, _cfg, _ = ddp_runs
    monkeypatch.setenv("BIODEEP_HOME", str(folder / "home"))
    partial = folder / "partial"
    assert json.loads((folder / "rank1.json").read_text())["partial_epoch"] == 1
    assert resumable(partial)
    items = list(resume_run(partial))
    summary = items[-1]
    assert isinstance(summary, RunSummary) and summary.epochs_run == 3
    doc = json.loads((partial / "run.json").read_text())
    assert doc["status"] == "complete" and doc["provenance"]["world_size"] == 1
    assert summary.metrics["test_auroc"] > 0.9
