"""The scans CLI's help defaults come from the config, --harmonise reaches the config, --threads limits torch."""
from __future__ import annotations

import re

import pytest

from biodeep_gui.cli import scans as scans_cli
from biodeep_gui.cli.main import build_parser
from biodeep_gui.cli.main import main as cli_main
from biodeep_gui.core.common.errors import ConfigError
from biodeep_gui.core.scans.config import HARMONISATIONS, ScansConfig
from biodeep_gui.core.scans.models import SCANS_ARCHITECTURES


def _train_help(capsys) -> str:
    with pytest.raises(SystemExit):
        cli_main(["scans", "train", "--help"])
    return " ".join(capsys.readouterr().out.split())  # argparse wraps lines: compare on single spaces


def test_scans_help_defaults_are_the_config_defaults(capsys):
    text = _train_help(capsys)
    ae = {p.name: p.default for p in SCANS_ARCHITECTURES["autoencoder3d"].params}
    cfg = ScansConfig()
    expected = {"--depth DEPTH": ae["depth"], "--channels CHANNELS": ae["channels"],
                "--code-size CODE_SIZE": ae["code_size"], "--epochs EPOCHS": cfg.train.epochs,
                "--folds FOLDS": cfg.cv.folds, "--permutations PERMUTATIONS": cfg.cv.permutations,
                "--head-epochs HEAD_EPOCHS": cfg.train.head_epochs}
    for flag, value in expected.items():
        m = re.search(re.escape(flag) + r" [^()]*?\(default ([0-9.e+-]+)", text)
        assert m, flag
        assert float(m.group(1)) == float(value), flag
    m = re.search(r"--harmonise \{([^}]*)\}", text)
    assert m and tuple(m.group(1).split(",")) == HARMONISATIONS


def _args(argv):
    parser, _ = build_parser()
    return parser.parse_args(["scans", "train", "--images", "imgs", "--labels", "t.tsv", "--out", "o", *argv])


def test_harmonise_flag_reaches_the_config():
    cfg = scans_cli._config(_args(["--site-column", "SITE_ID", "--harmonise", "site-centre"]))
    assert cfg.cv.harmonise == "site-centre"
    assert scans_cli._config(_args(["--site-column", "SITE_ID"])).cv.harmonise == "none"


def test_harmonise_without_a_site_column_is_refused():
    with pytest.raises(ConfigError, match="cv.harmonise.*site_column"):
        scans_cli._config(_args(["--harmonise", "site-centre"]))


def test_unknown_harmonisation_is_refused(capsys):
    with pytest.raises(SystemExit):
        _args(["--harmonise", "combat-banana"])
    assert "invalid choice" in capsys.readouterr().err


def test_threads_flag_sets_torch_threads(capsys):
    import torch

    before = torch.get_num_threads()
    try:
        assert cli_main(["--threads", "3", "archs"]) == 0
        assert torch.get_num_threads() == 3
        assert cli_main(["--threads", "1", "archs"]) == 0
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize("bad", ["0", "-2", "two", "1.5"])
def test_bad_thread_counts_are_one_line_errors(capsys, bad):
    with pytest.raises(SystemExit) as exc:
        cli_main(["--threads", bad, "archs"])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "--threads" in err and "whole number of threads >= 1" in err


def test_default_threads_are_the_usable_cpus(monkeypatch):
    from biodeep_gui.cli.main import _default_threads
    from biodeep_gui.core.common.system import usable_cpus

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert _default_threads() == usable_cpus() >= 1
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert _default_threads() == 1
