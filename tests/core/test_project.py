"""Project files: round trip, relative paths, moved data found again, clear errors for bad files."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from biodeep_gui.core.common.errors import ConfigError
from biodeep_gui.core.project import Project, load_project, missing_files, project_paths, relocate, save_project
from biodeep_gui.core.sequences.config import DataConfig, RunConfig


def _project(tmp_path: Path) -> Project:
    data = tmp_path / "data"
    data.mkdir()
    (data / "bound.fa").write_text(">a\nACGT\n")
    (data / "background.fa").write_text(">b\nTTTT\n")
    run = tmp_path / "proj" / "runs" / "cnn-20260101-120000"
    run.mkdir(parents=True)
    p = Project(name="CTCF study", runs=[str(run)])
    p.data.update(fasta=str(data / "bound.fa"), background=str(data / "background.fa"))
    p.model.update(arch="cnn-lstm", params={"cell": "gru", "filters": 16})
    p.train.update(epochs=3, batch_size=64, device="cpu")
    return p


def test_round_trip_keeps_everything(tmp_path):
    p = _project(tmp_path)
    path = save_project(p, tmp_path / "proj" / "study.biodeep.json")
    assert p.path == str(path)
    q = load_project(path)
    assert q.name == "CTCF study"
    assert q.data == p.data and q.runs == p.runs and q.model == p.model and q.train == p.train
    assert q.path == str(path)
    assert q.runs_folder() == path.parent / "runs"
    # the settings are valid inputs of the one run configuration
    cfg = RunConfig(data=q.data_config(), model=q.model_config(), train=q.train_config())
    cfg.validate()
    assert cfg.model.params["cell"] == "gru" and cfg.train.epochs == 3


def test_paths_are_stored_relative_to_the_project_file(tmp_path):
    p = _project(tmp_path)
    path = save_project(p, tmp_path / "proj" / "study.biodeep.json")
    raw = json.loads(path.read_text())
    assert raw["data"]["fasta"] == "../data/bound.fa"
    assert raw["runs"] == ["runs/cnn-20260101-120000"]
    assert raw["version"] == 1 and raw["format"] == "biodeep-project"


def test_far_away_paths_stay_absolute(tmp_path):
    p = Project()
    far = tmp_path / "a" / "b" / "c.fa"
    p.data["fasta"] = str(far)
    path = save_project(p, tmp_path / "x" / "y" / "z" / "p.biodeep.json")
    assert json.loads(path.read_text())["data"]["fasta"] == str(far)
    assert load_project(path).data["fasta"] == str(far)


def test_moving_the_whole_folder_keeps_the_project_whole(tmp_path):
    root = tmp_path / "study"
    root.mkdir()
    p = _project(root)
    save_project(p, root / "proj" / "study.biodeep.json")
    moved = tmp_path / "moved"
    root.rename(moved)
    q = load_project(moved / "proj" / "study.biodeep.json")
    assert missing_files(q) == []
    assert Path(q.data["fasta"]).read_text().startswith(">a")


def test_missing_files_then_relocate(tmp_path):
    p = _project(tmp_path)
    path = save_project(p, tmp_path / "proj" / "study.biodeep.json")
    (tmp_path / "data").rename(tmp_path / "elsewhere")
    q = load_project(path)
    missing = missing_files(q)
    assert missing == [str(tmp_path / "data" / "bound.fa"), str(tmp_path / "data" / "background.fa")]
    # the user points at the new place of the first file; its sibling follows
    changed = relocate(q, Path(missing[0]).parent, tmp_path / "elsewhere")
    assert sorted(changed) == sorted(missing)
    assert missing_files(q) == []
    assert q.data["background"] == str(tmp_path / "elsewhere" / "background.fa")
    assert q.runs == p.runs  # untouched: not under the old folder


def test_relocate_a_single_file(tmp_path):
    p = _project(tmp_path)
    new = tmp_path / "renamed.fa"
    changed = relocate(p, p.data["fasta"], new)
    assert changed == [str(tmp_path / "data" / "bound.fa")]
    assert p.data["fasta"] == str(new)
    assert p.data["background"] == str(tmp_path / "data" / "background.fa")


def test_project_paths_lists_data_then_runs(tmp_path):
    p = _project(tmp_path)
    assert project_paths(p) == [p.data["fasta"], p.data["background"], p.runs[0]]


def test_save_is_atomic_and_leaves_no_temp_files(tmp_path):
    p = _project(tmp_path)
    path = save_project(p, tmp_path / "p.biodeep.json")
    p.name = "second"
    save_project(p, path)
    assert load_project(path).name == "second"
    assert [f.name for f in path.parent.iterdir() if f.name.endswith(".tmp")] == []


@pytest.mark.parametrize("content, words", [
    ("{not json", "not a readable project file"),
    ('{"name": "x"}', "not a BioDeep project file"),
    ('{"format": "biodeep-project", "version": 99}', "newer than this BioDeep"),
    ('{"format": "biodeep-project", "data": [1, 2]}', "damaged project file"),
])
def test_bad_project_files_give_clear_errors(tmp_path, content, words):
    path = tmp_path / "bad.biodeep.json"
    path.write_text(content)
    with pytest.raises(ConfigError) as err:
        load_project(path)
    assert words in str(err.value) and str(path) in str(err.value)


def test_missing_project_file(tmp_path):
    with pytest.raises(ConfigError, match="project file not found"):
        load_project(tmp_path / "nope.biodeep.json")


def test_unknown_settings_from_a_newer_minor_version_are_ignored(tmp_path):
    p = Project()
    p.data["future_option"] = 1
    assert p.data_config() == DataConfig()


def test_the_brain_scans_cohort_and_its_class_names_are_kept(tmp_path):
    from biodeep_gui.core.scans.config import ScansDataConfig

    cohort = ScansDataConfig(images=str(tmp_path / "scans" / "images"), labels=str(tmp_path / "scans" / "labels.tsv"),
                             site_column="SITE_ID", class_names={"1": "autism", "2": "control"})
    p = _project(tmp_path)
    p.scans = dataclasses.asdict(cohort)
    path = save_project(p, tmp_path / "study.biodeep.json")
    stored = json.loads(path.read_text())["scans"]
    assert stored["images"] == "scans/images" and stored["labels"] == "scans/labels.tsv"  # relative: movable
    back = load_project(path)
    assert back.scans_data_config() == cohort
    assert str(tmp_path / "scans" / "labels.tsv") in project_paths(back)
    relocate(back, tmp_path / "scans", tmp_path / "moved")
    assert back.scans_data_config().labels == str(tmp_path / "moved" / "labels.tsv")
    # a project written before the cohort was kept opens with none; a bad cohort setting is named
    old = p.to_dict(tmp_path)
    old.pop("scans")
    (tmp_path / "old.biodeep.json").write_text(json.dumps(old))
    assert load_project(tmp_path / "old.biodeep.json").scans_data_config() is None
    old["scans"] = {"images": "x", "voxel_size": -1}
    (tmp_path / "bad.biodeep.json").write_text(json.dumps(old))
    with pytest.raises(ConfigError, match="scans.voxel_size"):
        load_project(tmp_path / "bad.biodeep.json")
