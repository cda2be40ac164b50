"""The one config IO: every bad value in RunConfig, ScansConfig and Project gives a ConfigError naming the key.

For each of the three configurations there is one test per kind of bad value (wrong type, unknown key, NaN/inf,
out of range, bad choice, bad schema version, non-table section, unreadable file); the CLI turns each into one line
``biodeep: error: ...`` with exit status 1, no traceback and no run folder.
"""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from biodeep_gui.core.common import configio
from biodeep_gui.core.common.errors import ConfigError
from biodeep_gui.core.project import FORMAT, PROJECT_VERSION, Project, load_project, save_project
from biodeep_gui.core.scans.config import SCANS_SCHEMA_VERSION, ScansConfig
from biodeep_gui.core.sequences.config import SCHEMA_VERSION, RunConfig

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "legacy_v0_1_0"


def _project_from_dict(raw):
    return Project.from_dict({"format": FORMAT, **raw})


#: name -> (build from a dict, load a file, the key of the schema version, the version understood)
KINDS = {
    "run": (RunConfig.from_dict, RunConfig.load, "schema_version", SCHEMA_VERSION),
    "scans": (ScansConfig.from_dict, ScansConfig.load, "schema_version", SCANS_SCHEMA_VERSION),
    "project": (_project_from_dict, load_project, "version", PROJECT_VERSION),
}


def _refused(kind: str, raw: dict, *needles: str) -> str:
    """Build ``raw`` as ``kind``: it must raise ConfigError whose message holds every needle."""
    with pytest.raises(ConfigError) as err:
        KINDS[kind][0](raw)
    msg = str(err.value)
    for needle in needles:
        assert needle in msg, (needle, msg)
    assert "\n" not in msg
    return msg


# ---- wrong types ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind, raw, key", [
    ("run", {"train": {"epochs": "3"}}, "train.epochs"),
    ("run", {"train": {"lr": "0.01"}}, "train.lr"),
    ("run", {"train": {"amp": 1}}, "train.amp"),
    ("scans", {"train": {"epochs": "3"}}, "train.epochs"),  # was a raw TypeError
    ("scans", {"data": {"voxel_size": "2"}}, "data.voxel_size"),
    ("scans", {"data": {"band_hz": [0.01, "x"]}}, "data.band_hz[1]"),
    ("project", {"train": {"epochs": "3"}}, "train.epochs"),
    ("project", {"data": {"width": "200"}}, "data.width"),
])
def test_text_for_a_number(kind, raw, key):
    msg = _refused(kind, raw, key)
    assert "whole number" in msg or "finite number" in msg or "true or false" in msg


@pytest.mark.parametrize("kind, raw, key", [
    ("run", {"data": {"kind": 3}}, "data.kind"),
    ("run", {"data": {"label_columns": [1]}}, "data.label_columns[0]"),
    ("run", {"name": 5}, "name"),
    ("scans", {"data": {"route": 3}}, "data.route"),
    ("scans", {"data": {"labels": 1.5}}, "data.labels"),
    ("project", {"data": {"fasta": 3}}, "data.fasta"),
    ("project", {"name": 5}, "name"),
    ("project", {"runs": [1]}, "runs[0]"),
])
def test_number_for_text(kind, raw, key):
    _refused(kind, raw, key, "is not text")


@pytest.mark.parametrize("kind, raw, key", [
    ("run", {"train": [1, 2]}, "train"),
    ("run", {"model": {"params": [1]}}, "model.params"),
    ("scans", {"cv": [1]}, "cv"),
    ("scans", {"model": {"autoencoder": [1]}}, "model.autoencoder"),
    ("project", {"model": [1, 2]}, "model"),
])
def test_list_for_a_table(kind, raw, key):
    _refused(kind, raw, f"{key} = [", "table")


@pytest.mark.parametrize("kind, raw, key", [
    ("run", {"data": "x.fa"}, "data"),
    ("run", {"train": 3}, "train"),
    ("scans", {"data": "images/"}, "data"),
    ("project", {"train": 3}, "train"),
    ("project", {"data": [1, 2]}, "data"),
])
def test_non_table_section(kind, raw, key):
    _refused(kind, raw, f"{key} = ", "is not a table of settings")


# ---- unknown keys -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind, raw, key", [
    ("run", {"train": {"epohcs": 3}}, "train.epohcs"),
    ("run", {"trian": {}}, "trian"),
    ("scans", {"cv": {"fold": 3}}, "cv.fold"),
    ("scans", {"bogus": 1}, "bogus"),
    ("project", {"train": {"epohcs": 3}}, "train.epohcs"),
    ("project", {"bogus": 1}, "bogus"),
])
def test_unknown_key(kind, raw, key):
    _refused(kind, raw, "unknown setting", key)


# ---- NaN and infinities -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind, raw, key", [
    ("run", {"train": {"lr": math.nan}}, "train.lr"),
    ("run", {"train": {"weight_decay": math.inf}}, "train.weight_decay"),
    ("run", {"train": {"grad_clip": math.nan}}, "train.grad_clip"),
    ("run", {"data": {"val_fraction": math.nan}}, "data.val_fraction"),
    ("run", {"model": {"params": {"dropout": math.nan}}}, "model.params.dropout"),
    ("scans", {"train": {"lr": math.nan}}, "train.lr"),
    ("scans", {"data": {"voxel_size": math.nan}}, "data.voxel_size"),
    ("scans", {"data": {"mask_coverage": -math.inf}}, "data.mask_coverage"),
    ("scans", {"data": {"band_hz": [0.01, math.inf]}}, "data.band_hz[1]"),
    ("scans", {"model": {"autoencoder": {"noise_std": math.nan}}}, "model.autoencoder.noise_std"),
    ("scans", {"cv": {"logistic_c": math.inf}}, "cv.logistic_c"),
    ("project", {"train": {"lr": math.nan}}, "train.lr"),
    ("project", {"data": {"test_fraction": math.inf}}, "data.test_fraction"),
])
def test_nan_and_inf(kind, raw, key):
    _refused(kind, raw, key, "finite number")


def test_nan_lr_message_says_what_is_allowed():
    assert _refused("run", {"train": {"lr": math.nan}}) == "train.lr = nan is not a finite number > 0"


# ---- out of range -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind, raw, key", [
    ("run", {"train": {"lr": 0}}, "train.lr"),
    ("run", {"train": {"weight_decay": -1}}, "train.weight_decay"),
    ("run", {"train": {"grad_clip": -0.5}}, "train.grad_clip"),
    ("run", {"train": {"seed": -1}}, "train.seed"),
    ("run", {"train": {"seed": 2**70}}, "train.seed"),
    ("run", {"train": {"epochs": 0}}, "train.epochs"),
    ("run", {"train": {"batch_size": 10**9}}, "train.batch_size"),
    ("run", {"data": {"length": 10**9}}, "data.length"),
    ("run", {"data": {"length": -1}}, "data.length"),
    ("run", {"data": {"val_fraction": 0.6, "test_fraction": 0.5}}, "data.val_fraction + data.test_fraction"),
    ("scans", {"train": {"seed": 2**32}}, "train.seed"),
    ("scans", {"train": {"batch_size": 0}}, "train.batch_size"),
    ("scans", {"train": {"inner_val_fraction": 0.7}}, "train.inner_val_fraction"),
    ("scans", {"data": {"voxel_size": -2.0}}, "data.voxel_size"),
    ("scans", {"data": {"voxel_size": 0.01}}, "data.voxel_size"),
    ("scans", {"data": {"band_hz": [0.1, 0.01]}}, "data.band_hz"),
    ("scans", {"cv": {"folds": 1}}, "cv.folds"),
    ("project", {"train": {"seed": 2**32}}, "train.seed"),
    ("project", {"data": {"length": 10**9}}, "data.length"),
])
def test_out_of_range(kind, raw, key):
    _refused(kind, raw, key)


def test_a_whole_number_given_as_a_float_is_refused():
    _refused("run", {"data": {"length": 1e9}}, "data.length", "whole number")


# ---- bad choices ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind, raw, key", [
    ("run", {"train": {"monitor": "banana"}}, "train.monitor"),
    ("run", {"train": {"optimizer": "lbfgs"}}, "train.optimizer"),
    ("run", {"data": {"kind": "xml"}}, "data.kind"),
    ("scans", {"data": {"route": "diffusion"}}, "data.route"),
    ("scans", {"data": {"summary": "median"}}, "data.summary"),
    ("project", {"train": {"monitor": "banana"}}, "train.monitor"),
    ("project", {"data": {"task": "ranking"}}, "data.task"),
])
def test_bad_choice(kind, raw, key):
    _refused(kind, raw, key, "is not one of")


def test_monitor_names_are_the_metrics_the_loop_reports():
    from biodeep_gui.core.common.metrics import HIGHER_IS_BETTER
    from biodeep_gui.core.training.config import MONITORS

    assert set(MONITORS) == {"auto", *HIGHER_IS_BETTER}
    for name in MONITORS:
        assert RunConfig.from_dict({"train": {"monitor": name}}).train.monitor == name


# ---- schema versions --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("version", ["2", True, -1, 0, 1.0, None])
def test_bad_schema_version(kind, version):
    key = KINDS[kind][2]
    _refused(kind, {key: version}, key, "whole number >= 1")


@pytest.mark.parametrize("kind", list(KINDS))
def test_newer_schema_version_asks_to_update(kind):
    key, current = KINDS[kind][2], KINDS[kind][3]
    _refused(kind, {key: current + 1}, "newer", "update BioDeep")


# ---- files ------------------------------------------------------------------------------------------------------
def _load_within(kind: str, path: Path, seconds: float = 20) -> str:
    """Load ``path`` as ``kind`` in a daemon thread: it must raise ConfigError naming the file, without hanging."""
    box: dict = {}

    def go():
        try:
            KINDS[kind][1](path)
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            box["exc"] = exc

    t = threading.Thread(target=go, daemon=True)
    t.start()
    t.join(seconds)
    assert not t.is_alive(), f"loading {path} hangs"
    assert isinstance(box.get("exc"), ConfigError), box
    msg = str(box["exc"])
    assert str(path) in msg and "\n" not in msg
    return msg


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
@pytest.mark.parametrize("kind", list(KINDS))
def test_fifo_is_refused_without_hanging(kind, tmp_path):
    fifo = tmp_path / "settings.json"
    os.mkfifo(fifo)
    assert "pipe" in _load_within(kind, fifo)


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero here")
@pytest.mark.parametrize("kind", list(KINDS))
def test_dev_zero_is_refused_without_reading_it(kind):
    assert "device" in _load_within(kind, Path("/dev/zero"))


@pytest.mark.parametrize("kind", list(KINDS))
def test_binary_file(kind, tmp_path):
    p = tmp_path / "model.json"
    p.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    assert "binary" in _load_within(kind, p)


@pytest.mark.parametrize("kind", list(KINDS))
def test_not_utf8_text(kind, tmp_path):
    p = tmp_path / "latin1.json"
    p.write_bytes('{"name": "caf\xe9"}'.encode("latin-1"))
    assert "UTF-8" in _load_within(kind, p)


@pytest.mark.parametrize("kind", list(KINDS))
def test_oversized_file(kind, tmp_path):
    p = tmp_path / "huge.json"
    with open(p, "wb") as fh:  # sparse: nothing is written to the disk
        fh.truncate(configio.MAX_CONFIG_BYTES + 1)
    assert "too large" in _load_within(kind, p)


@pytest.mark.parametrize("kind", list(KINDS))
def test_folder_missing_file_bad_syntax_and_non_table_top_level(kind, tmp_path):
    assert "folder" in _load_within(kind, tmp_path)
    assert "not found" in _load_within(kind, tmp_path / "nope.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert "not a valid JSON" in _load_within(kind, bad)
    top = tmp_path / "list.json"
    top.write_text("[1, 2]")
    _load_within(kind, top)
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    _load_within(kind, deep)


@pytest.mark.parametrize("kind", ["run", "scans"])
def test_bad_toml(kind, tmp_path):
    p = tmp_path / "bad.toml"
    p.write_text("this is not toml ===")
    assert "not a valid TOML" in _load_within(kind, p)


@pytest.mark.parametrize("kind", list(KINDS))
def test_a_bad_value_in_a_file_names_the_file_and_the_key(kind, tmp_path):
    p = tmp_path / "c.json"
    raw = {"train": {"lr": -1}}
    if kind == "project":
        raw = {"format": FORMAT, **raw}
    p.write_text(json.dumps(raw))
    assert "train.lr = -1" in _load_within(kind, p)


# ---- what still loads ---------------------------------------------------------------------------------------------
def test_round_trips_through_the_shared_writer(tmp_path):
    cfg = RunConfig()
    cfg.train.monitor, cfg.train.seed, cfg.model.params = "auprc", 2**32 - 1, {"filters": 8}
    assert RunConfig.load(cfg.save(tmp_path / "run.json")) == cfg
    scans = ScansConfig()
    scans.data.voxel_size, scans.model.autoencoder = 6.0, {"noise_std": 0.2}
    assert ScansConfig.load(scans.save(tmp_path / "scans.json")) == scans
    p = Project(name="p")
    p.train["lr"] = 0.01
    assert load_project(save_project(p, tmp_path / "p.biodeep.json")).train["lr"] == 0.01
    assert [f.name for f in tmp_path.iterdir() if f.name.endswith(".tmp")] == []


def test_files_written_by_0_1_0_still_load():
    assert RunConfig.load(FIXTURES / "runs" / "cnn" / "run.json").model.params["filters"] == 4
    assert ScansConfig.load(FIXTURES / "runs" / "scans" / "run.json").cv.folds == 2
    project = load_project(FIXTURES / "legacy.biodeep.json")
    assert project.name == "legacy demo" and project.train_config().epochs == 20


def test_a_project_saved_with_an_unfinished_form_reopens(tmp_path):
    p = Project()
    p.data.update(val_fraction=0.6, test_fraction=0.5)  # each within range; together checked when a run starts
    q = load_project(save_project(p, tmp_path / "p.biodeep.json"))
    assert q.data["val_fraction"] == 0.6
    with pytest.raises(ConfigError, match="fraction"):
        RunConfig(data=q.data_config()).validate()


def test_check_catches_values_set_in_place():
    cfg = RunConfig()
    cfg.train.seed = 2**40  # as a CLI flag or a GUI form would set it
    with pytest.raises(ConfigError, match=r"train\.seed"):
        cfg.validate()
    scans = ScansConfig()
    scans.train.epochs = "3"
    with pytest.raises(ConfigError, match=r"train\.epochs"):
        scans.validate()


def test_hyper_parameters_refuse_nan_and_inf():
    from biodeep_gui.core.sequences.models import get_architecture

    with pytest.raises(ConfigError, match="dropout"):
        get_architecture("cnn").resolve({"dropout": "nan"})
    with pytest.raises(ConfigError, match="filters"):
        get_architecture("cnn").resolve({"filters": "inf"})


def test_resampling_grid_is_capped():
    import numpy as np

    from biodeep_gui.core.scans.nifti import Grid

    grid = Grid((61, 73, 61), np.diag([3.0, 3.0, 3.0, 1.0]))
    assert grid.rescaled(6.0).shape == (31, 37, 31)
    with pytest.raises(ConfigError, match=r"data\.voxel_size.*512"):
        grid.rescaled(0.2)


@pytest.mark.parametrize("subjects, shape, frames, needle", [
    (-5, (8, 8, 8), 0, "subjects = -5"),
    (0, (8, 8, 8), 0, "subjects = 0"),
    (4, (4000, 4000, 4000), 0, "512"),
    (4, (200, 200, 200), 100, "frames"),
    (4, (2, 8, 8), 0, "shape"),
])
def test_demo_requests_are_checked_before_anything_is_written(tmp_path, subjects, shape, frames, needle):
    from biodeep_gui.core.scans.synthetic import write_demo_cohort

    with pytest.raises(ConfigError, match=needle):
        write_demo_cohort(tmp_path / "demo", subjects, shape, frames=frames)
    assert not (tmp_path / "demo").exists()


# ---- the command line ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("flags, key", [
    (["--lr", "nan"], "train.lr"),
    (["--seed", "-1"], "train.seed"),
    (["--seed", "1180591620717411303424"], "train.seed"),
    (["--grad-clip", "nan"], "train.grad_clip"),
    (["--weight-decay", "-1"], "train.weight_decay"),
    (["--monitor", "banana"], "train.monitor"),
    (["--length", "1000000000"], "data.length"),
    (["--val-fraction", "inf"], "data.val_fraction"),
    (["--param", "dropout=nan"], "dropout"),
])
def test_cli_train_flags_give_one_line(tmp_path, capsys, flags, key):
    from biodeep_gui.cli.main import main

    fasta = tmp_path / "bound.fa"
    fasta.write_text(">a\nACGT\n")
    out = tmp_path / "run"
    assert main(["train", "--fasta", str(fasta), "--out", str(out), *flags]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("biodeep: error: ") and key in err[0], err
    assert not out.exists()


@pytest.mark.parametrize("argv, needle", [
    (["demo", "--subjects", "-5"], "subjects = -5"),
    (["demo", "--shape", "4000,4000,4000"], "512"),
    (["demo", "--timeseries", "--subjects", "0"], "subjects = 0"),
    (["train", "--voxel-size", "nan"], "data.voxel_size"),
    (["train", "--lr", "nan"], "train.lr"),
    (["train", "--seed", "-1"], "train.seed"),
    (["train", "--noise", "inf"], "model.autoencoder.noise_std"),
])
def test_cli_scans_flags_give_one_line(tmp_path, capsys, argv, needle):
    from biodeep_gui.cli.main import main

    out = tmp_path / "out"
    if argv[0] == "train":
        argv = [*argv, "--images", str(tmp_path), "--labels", str(tmp_path / "t.csv")]
    assert main(["scans", *argv, "--out", str(out)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("biodeep: error: ") and needle in err[0], err
    assert not out.exists()


def test_cli_subprocess_has_no_traceback(tmp_path):
    out = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[3])}
    proc = subprocess.run([sys.executable, "-m", "biodeep_gui", "train", "--fasta", str(tmp_path / "x.fa"),
                           "--lr", "nan", "--out", str(out)], capture_output=True, text=True, env=env, timeout=120,
                          check=False)
    assert proc.returncode == 1
    assert proc.stderr.strip() == "biodeep: error: train.lr = nan is not a finite number > 0"
    assert "Traceback" not in proc.stderr and not out.exists()
