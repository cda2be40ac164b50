"""Renaming a run: a display name in run.json (atomic, folder not moved), read by both kinds, old runs included."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from biodeep_gui.core.common.errors import RunFolderError
from biodeep_gui.core.runs import open_run
from biodeep_gui.core.training.runs import rename_run

LEGACY_RUNS = Path(__file__).resolve().parents[1] / "fixtures" / "legacy_v0_1_0" / "runs"


def test_legacy_sequence_run_renamed_keeps_every_other_field(tmp_path):
    src = sorted(p for p in LEGACY_RUNS.iterdir() if (p / "run.json").exists())[0]
    run_dir = tmp_path / src.name
    shutil.copytree(src, run_dir)
    before = json.loads((run_dir / "run.json").read_text())
    old_name = open_run(run_dir).name
    rename_run(run_dir, "promoter CNN, final")
    after = json.loads((run_dir / "run.json").read_text())
    assert after.pop("display_name") == "promoter CNN, final"
    assert after == before  # nothing else touched, so 0.1.0 can still read it
    run = open_run(run_dir)
    assert run.name == "promoter CNN, final" and run.path == run_dir
    rename_run(run_dir, "   ")
    assert open_run(run_dir).name == old_name and "display_name" not in json.loads((run_dir / "run.json").read_text())


def test_scans_run_renamed(tiny_scans_run, tmp_path):
    run_dir = tmp_path / "scans_copy"
    shutil.copytree(tiny_scans_run, run_dir)
    assert open_run(run_dir).name == "scans_copy"
    rename_run(run_dir, "autism vs control, 5 folds")
    assert open_run(run_dir).name == "autism vs control, 5 folds"


def test_refusals_name_the_file(tmp_path):
    with pytest.raises(RunFolderError, match="no run.json"):
        rename_run(tmp_path, "x")
    (tmp_path / "run.json").write_text(json.dumps({"kind": "sequences", "status": "training"}))
    with pytest.raises(RunFolderError, match="still training"):
        rename_run(tmp_path, "x")
    (tmp_path / "run.json").write_text(json.dumps({"kind": "sequences", "status": "complete"}))
    with pytest.raises(RunFolderError, match="one line"):
        rename_run(tmp_path, "a\nb")
    with pytest.raises(RunFolderError, match="one line"):
        rename_run(tmp_path, "x" * 201)
