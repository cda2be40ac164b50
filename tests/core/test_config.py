import json

import pytest

from biodeep_gui.core.common.errors import ConfigError
from biodeep_gui.core.sequences.config import SCHEMA_VERSION, RunConfig


def test_round_trip_json(tmp_path):
    cfg = RunConfig()
    cfg.model.arch = "cnn-lstm"
    cfg.model.params = {"cell": "gru"}
    cfg.train.epochs = 3
    p = tmp_path / "c.json"
    p.write_text(cfg.to_json())
    back = RunConfig.load(p)
    assert back == cfg


def test_toml(tmp_path):
    p = tmp_path / "run.toml"
    p.write_text('name = "x"\n[data]\nkind = "table"\ntable = "t.csv"\nlabel_columns = ["a", "b"]\n'
                 '[train]\nepochs = 4\nlr = 0.01\n')
    cfg = RunConfig.load(p)
    assert cfg.data.kind == "table" and cfg.data.label_columns == ["a", "b"] and cfg.train.epochs == 4


@pytest.mark.parametrize("text, needle", [
    ('[train]\nepochs = 0\n', "epochs"),
    ('[data]\nkind = "xml"\n', "data.kind"),
    ('[train]\nbogus = 1\n', "bogus"),
    ('[data]\nval_fraction = 0.6\ntest_fraction = 0.5\n', "fraction"),
    ('this is not toml ===', "not a valid TOML"),
])
def test_invalid_configs_name_the_setting(tmp_path, text, needle):
    p = tmp_path / "bad.toml"
    p.write_text(text)
    with pytest.raises(ConfigError, match=needle):
        RunConfig.load(p)


def test_migrates_schema_1():
    old = {"schema_version": 1, "data": {"kind": "table", "label_column": "y"}, "train": {"early_stopping": False}}
    cfg = RunConfig.from_dict(old)
    assert cfg.data.label_columns == ["y"] and cfg.train.patience == 0 and cfg.schema_version == SCHEMA_VERSION


def test_refuses_newer_schema():
    with pytest.raises(ConfigError, match="newer"):
        RunConfig.from_dict({"schema_version": SCHEMA_VERSION + 1})


def test_loads_a_run_json(tmp_path):
    cfg = RunConfig(name="again")
    (tmp_path / "run.json").write_text(json.dumps({"schema_version": SCHEMA_VERSION, "config": cfg.to_dict(),
                                                    "model": {}}))
    assert RunConfig.load(tmp_path / "run.json").name == "again"
