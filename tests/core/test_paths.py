"""One user-folder notion: BIODEEP_HOME moves every folder; BIODEEP_DATA_DIR is a deprecated alias for the data one."""
import logging

from biodeep_gui.core.common import paths


def test_home_moves_every_folder(tmp_path):
    dirs = paths.user_dirs(env={"BIODEEP_HOME": str(tmp_path)})
    assert [dirs.get(k) for k in paths.KINDS] == [tmp_path / n for n in ("data", "config", "cache", "logs", "crash")]


def test_data_dir_alias_moves_only_data_and_logs_a_deprecation(tmp_path, caplog, monkeypatch):
    monkeypatch.setattr(paths, "_warned", [])
    with caplog.at_level(logging.WARNING, logger="biodeep"):
        dirs = paths.user_dirs(env={"BIODEEP_HOME": str(tmp_path / "home"), "BIODEEP_DATA_DIR": str(tmp_path / "old")})
    assert dirs.data == tmp_path / "old" and dirs.cache == tmp_path / "home" / "cache"
    assert any("BIODEEP_DATA_DIR is deprecated" in r.getMessage() for r in caplog.records)


def test_data_dir_alias_without_home(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "_warned", [True])  # already said once in this process
    dirs = paths.user_dirs(system="linux", env={"BIODEEP_DATA_DIR": str(tmp_path)}, home=tmp_path / "h")
    assert dirs.data == tmp_path and dirs.config == tmp_path / "h" / ".config" / "BioDeep"
