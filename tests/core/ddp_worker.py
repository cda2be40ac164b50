"""Run under ``torchrun --nproc_per_node=2`` by tests/core/test_distributed.py (not a test module itself).

argv: <config.toml> <full run folder> <interrupted run folder> <report folder>
1. the real CLI ``biodeep train`` (what ``torchrun -m biodeep_gui train`` runs) into the full run folder;
2. the same config into the interrupted folder, leaving the generator after epoch 1 (a kill after one epoch):
   it keeps a checkpoint written by a 2-process run, for the 1-process resume test.
Each rank writes what it saw to <report folder>/rank<r>.json.
"""
import json
import os
import sys

import torch

from biodeep_gui.cli.main import main
from biodeep_gui.core.sequences.config import RunConfig
from biodeep_gui.core.sequences.pipeline import train_run
from biodeep_gui.core.training.distributed import init_from_env
from biodeep_gui.core.training.loop import EpochReport

config, full, partial, report = sys.argv[1:5]
dist = init_from_env(torch.device("cpu"))  # one group for both runs; train_run reuses it
rc = main(["train", "--config", config, "--out", full, "--quiet"])
seen = {"rank": dist.rank, "world_size": dist.world_size, "backend": dist.backend, "cli_rc": rc}
summaries = []
for item in train_run(RunConfig.load(config), partial):
    if isinstance(item, EpochReport):
        seen["partial_epoch"] = item.epoch
        break
with open(os.path.join(report, f"rank{dist.rank}.json"), "w") as fh:
    json.dump(seen, fh)
dist.close()
