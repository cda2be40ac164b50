"""Follow a run folder that another process writes (a cluster job on a shared disk, a CLI run on this machine).

A run folder is rewritten atomically after every epoch (``run.json`` with status ``training``, ``history.csv``,
the best weights so far), so a reader never sees half a file: it only has to poll. ``read_progress`` takes one
look; ``follow_run`` polls until the run ends and yields what is new as the training loop's own reports
(``EpochReport``, ``StageReport``), so the window draws a followed run exactly like one it trains itself.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from biodeep_gui.core.common.errors import RunFolderError
from biodeep_gui.core.common.metrics import default_monitor
from biodeep_gui.core.training.loop import EpochReport
from biodeep_gui.core.training.reports import StageReport
from biodeep_gui.core.training.runs import RUN_FILE, kind_of, read_history, read_run_doc, run_file

#: Seconds between two looks at a followed folder (a shared disk is slow to show new files anyway).
POLL_S = 2.0
#: Statuses after which a run folder no longer changes.
FINAL = ("complete", "cancelled", "failed")
#: What ``train.monitor = 'auto'`` means, in the order a run's history is searched (``metrics.default_monitor``).
AUTO_MONITORS = tuple(default_monitor(task) for task in ("binary", "multiclass", "regression"))


@dataclass
class RunProgress:
    """One look at a run folder.

    status : 'waiting' (no run.json yet), 'training', or one of ``FINAL``
    kind : 'sequences' or 'scans' ('' while waiting)
    epochs : planned epochs of the (current) training; 0 if unknown
    monitor : the validation metric that picks the best epoch ('auto': the task's default, see ``_epoch_report``)
    history : rows of history.csv as numbers (the text of non-numeric cells is kept)
    error : what the run says went wrong (failed runs), else ''
    """

    run_dir: Path
    status: str = "waiting"
    kind: str = ""
    name: str = ""
    epochs: int = 0
    monitor: str = "auto"
    history: list[dict[str, Any]] = field(default_factory=list)
    error: str = ""

    @property
    def finished(self) -> bool:
        return self.status in FINAL


def read_progress(run_dir: str | Path) -> RunProgress:
    """Where the run in ``run_dir`` stands now.

    A folder without ``run.json`` yet (the job is queued or still encoding its data) is 'waiting', not an error.
    A history row being written is never seen half-way (the file is replaced atomically); a row that cannot be
    read is a ``RunFolderError`` naming the file.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise RunFolderError(f"{run_dir}: not a folder; choose the folder the run writes to")
    if not run_file(run_dir, RUN_FILE).exists():
        return RunProgress(run_dir)
    rf, doc = read_run_doc(run_dir)
    kind = kind_of(doc, rf)
    config = doc.get("config") if isinstance(doc.get("config"), dict) else {}
    train = config.get("train") if isinstance(config.get("train"), dict) else {}
    epochs = train.get("epochs", 0)
    return RunProgress(run_dir, str(doc.get("status", "complete")), kind, str(doc.get("name") or run_dir.name),
                       int(epochs) if isinstance(epochs, (int, float)) and math.isfinite(epochs) else 0,
                       str(train.get("monitor", "auto")), read_history(run_dir), str(doc.get("error") or ""))


def follow_run(run_dir: str | Path, *, should_stop: Callable[[], bool], poll_s: float = POLL_S,
               ) -> Iterator[EpochReport | StageReport]:
    """Poll ``run_dir`` until its run ends (or ``should_stop``), yielding each new epoch once.

    Yields
    ------
    StageReport when the status or (scans) the fold and phase change, EpochReport for each new history row.

    Returns
    -------
    RunProgress : the last look (``finished`` unless stopped)
    """
    seen, status, phase, best = 0, None, None, 0
    while True:
        p = read_progress(run_dir)
        if p.status != status:
            status = p.status
            yield StageReport("follow", _status_words(p))
        if len(p.history) < seen:  # a resumed or restarted run rewrote its history
            seen = 0
        for row in p.history[seen:]:
            where = (row.get("fold"), row.get("phase"))
            if "phase" in row and where != phase:
                phase, best = where, 0
                yield StageReport("follow", f"Fold {_whole(where[0])}: {where[1]}")
            if row.get("is_best") == 1:
                best = int(row.get("epoch", 0))
            yield _epoch_report(row, p, best)
        seen = len(p.history)
        if p.finished:
            return p
        deadline = time.monotonic() + poll_s
        while time.monotonic() < deadline:
            if should_stop():
                return p
            time.sleep(min(0.1, poll_s))


def _epoch_report(row: dict[str, Any], p: RunProgress, best: int) -> EpochReport:
    vals = {k[4:]: v for k, v in row.items() if k.startswith("val_") and k != "val_loss" and _finite(v)}
    # 'auto' is auroc (binary), accuracy (multiclass) or pearson (regression): whichever the run recorded
    monitor = p.monitor if p.monitor in vals else next((m for m in AUTO_MONITORS if m in vals), "loss")
    return EpochReport(int(row.get("epoch", 0)), max(p.epochs, int(row.get("epoch", 0))),
                       row.get("train_loss", math.nan), row.get("val_loss", math.nan), vals, monitor,
                       vals.get(monitor, row.get("val_loss", math.nan)), best, bool(row.get("is_best") == 1),
                       math.nan, row.get("elapsed_s", math.nan), math.nan)


def _status_words(p: RunProgress) -> str:
    return {"waiting": f"Waiting for {p.run_dir} to start (no {RUN_FILE} yet)",
            "training": f"Following {p.name}: training",
            "complete": f"{p.name} finished",
            "cancelled": f"{p.name} was stopped; its best epoch was kept",
            "failed": f"{p.name} failed" + (f": {p.error}" if p.error else "")}.get(
        p.status, f"{p.name}: {p.status}")


def _whole(v: Any) -> Any:
    return int(v) if isinstance(v, float) and v.is_integer() else v


def _finite(v: Any) -> bool:
    return isinstance(v, float) and math.isfinite(v)
