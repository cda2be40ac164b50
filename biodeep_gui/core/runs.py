"""Open any run folder: a sequence run or a brain-scans run, told apart by run.json's ``kind``.

Both sciences write the one run-folder format of ``core.training.runs``; this module is the only place that knows
both loaders (``core.sequences`` and ``core.scans`` never import each other).
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from biodeep_gui.core.training.runs import SCANS, SEQUENCES, kind_of, read_run_doc

if TYPE_CHECKING:
    from biodeep_gui.core.scans.run import ScansRun
    from biodeep_gui.core.sequences.run import Run

__all__ = ["SCANS", "SEQUENCES", "open_run", "run_kind"]


def run_kind(path: str | Path) -> str:
    """``"sequences"`` or ``"scans"``, read from the folder's run.json only (no weights, no other file).

    A run.json without ``kind`` is a BioDeep 0.1.0 sequence run.

    Raises
    ------
    RunFolderError : not a folder, no run.json, a damaged run.json, or an unknown kind
    """
    rf, doc = read_run_doc(path)
    return kind_of(doc, rf)


def open_run(path: str | Path) -> Run | ScansRun:
    """The run in a folder, read by its own kind's loader: a sequence ``Run`` or a ``ScansRun``.

    Raises
    ------
    RunFolderError : anything missing, damaged, unsafe or from a newer BioDeep, with the file named
    """
    if run_kind(path) == SCANS:
        from biodeep_gui.core.scans.run import load_scans_run

        return load_scans_run(path)
    from biodeep_gui.core.sequences.run import load_run

    return load_run(path)
