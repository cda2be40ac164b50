"""Run under ``torchrun --nproc_per_node=2`` by tests/core/test_scans_ranks.py (not a test module itself).

argv: <report folder> <run folder> <biodeep scans train arguments ...>
Joins the group once, then runs the real CLI ``biodeep scans train`` three times while process 1 fails:
1. its fold with a ``TrainingError`` (what a diverged fit raises): a user error;
2. its fold with a ``RuntimeError``: a bug;
3. reading the cohort after process 0 prepared it, with an ``InputFileError`` (a node that sees the files otherwise).
Each process writes its exit statuses and what it printed on stderr to <report folder>/rank<r>.json.
"""
import contextlib
import io
import json
import os
import sys

import torch

from biodeep_gui.cli.main import main
from biodeep_gui.core.common.errors import InputFileError
from biodeep_gui.core.scans import pipeline
from biodeep_gui.core.training.distributed import init_from_env
from biodeep_gui.core.training.loop import TrainingError

report, out, args = sys.argv[1], sys.argv[2], sys.argv[3:]
dist = init_from_env(torch.device("cpu"))  # one group for every run; train_scans reuses it
seen: dict = {"rank": dist.rank}
for name, step, error in (("user", "fit_autoencoder", TrainingError("the loss became NaN (planted on process 1)")),
                          ("bug", "fit_autoencoder", RuntimeError("planted bug on process 1")),
                          ("late", "volume_items", InputFileError("scan.nii", "unreadable (planted on process 1)"))):
    def failing(*a, _error=error, **kw):
        raise _error

    real = getattr(pipeline, step)
    if dist.rank == 1:
        setattr(pipeline, step, failing)
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        try:
            seen[f"{name}_rc"] = main(["scans", "train", *args, "--out", f"{out}-{name}", "--quiet"])
        except Exception as exc:  # noqa: BLE001 - the bug case: recorded as the process would die with it
            seen[f"{name}_rc"] = f"raised {type(exc).__name__}: {exc}"
    seen[f"{name}_stderr"] = err.getvalue()
    setattr(pipeline, step, real)
with open(os.path.join(report, f"rank{dist.rank}.json"), "w") as fh:
    json.dump(seen, fh)
dist.close()
