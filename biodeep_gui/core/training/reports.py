"""Plain-data reports shared by the sequence and scans pipelines."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class StageReport:
    stage: str  # load | split | build | train | test | save
    message: str


def history_row(r) -> dict[str, float]:
    """One ``history.csv`` row from an ``EpochReport``."""
    row = {"epoch": r.epoch, "train_loss": r.train_loss, "val_loss": r.val_loss}
    row.update({f"val_{k}": v for k, v in r.val_metrics.items() if k != "loss"})
    row.update({"elapsed_s": round(r.elapsed_s, 3), "is_best": int(r.is_best)})
    return row


