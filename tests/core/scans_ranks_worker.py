"""Run under ``torchrun --nproc_per_node=2`` by tests/core/test_scans_ranks.py (not a test module itself).

argv: <report folder> <run folder> <biodeep scans train arguments ...>
Joins the group once, then runs the real CLI ``biodeep scans train`` twice while process 1's fold fails:
1. with a ``TrainingError`` (what a diverged fit raises): a user error;
2. with a ``RuntimeError``: a bug.
Each process writes its exit statuses and what it printed on stderr to <report folder>/rank<r>.json.
"""
import contextlib
import io
import json
import os
import sys

import torch

from biodeep_gui.cli.main import main
from biodeep_gui.core.scans import pipeline
from biodeep_gui.core.training.distributed import init_from_env
from biodeep_gui.core.training.loop import TrainingError

report, out, args = sys.argv[1], sys.argv[2], sys.argv[3:]
dist = init_from_env(torch.device("cpu"))  # one group for both runs; train_scans reuses it
real_fit = pipeline.fit_autoencoder
seen: dict = {"rank": dist.rank}
for name, error in (("user", TrainingError("the loss became NaN (planted on process 1)")),
                    ("bug", RuntimeError("planted bug on process 1"))):
    def failing_fit(*a, _error=error, **kw):
        raise _error

    if dist.rank == 1:
        pipeline.fit_autoencoder = failing_fit
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        try:
            seen[f"{name}_rc"] = main(["scans", "train", *args, "--out", f"{out}-{name}", "--quiet"])
        except Exception as exc:  # noqa: BLE001 - the bug case: recorded as the process would die with it
            seen[f"{name}_rc"] = f"raised {type(exc).__name__}: {exc}"
    seen[f"{name}_stderr"] = err.getvalue()
    pipeline.fit_autoencoder = real_fit
with open(os.path.join(report, f"rank{dist.rank}.json"), "w") as fh:
    json.dump(seen, fh)
dist.close()
