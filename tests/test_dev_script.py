"""dev.py, the README's set-up and test entry point: how ``dev.py test`` spreads the suite over the CPUs."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

spec = importlib.util.spec_from_file_location("biodeep_dev", Path(__file__).resolve().parents[1] / "dev.py")
dev = importlib.util.module_from_spec(spec)
spec.loader.exec_module(dev)


@pytest.mark.parametrize("cpus, expected", [(1, None), (2, "2"), (3, "3"), (64, str(dev.MAX_WORKERS))])
def test_one_worker_per_cpu_with_one_math_thread_each(monkeypatch, cpus, expected):
    monkeypatch.setattr(dev, "usable_cpus", lambda: cpus)
    env: dict[str, str] = {}
    args = dev.parallel_args(["-q", "tests/core"], env)
    if expected is None:  # one CPU: plain pytest, threads left alone
        assert args == ["-q", "tests/core"] and env == {}
    else:
        assert args == ["-n", expected, "-q", "tests/core"]
        assert env == {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


@pytest.mark.parametrize("chosen", [["-n", "0"], ["-n4"], ["-nauto"], ["--numprocesses=3"], ["-p", "no:xdist"]])
def test_the_callers_own_choice_wins(monkeypatch, chosen):
    monkeypatch.setattr(dev, "usable_cpus", lambda: 8)
    env = {"OMP_NUM_THREADS": "6"}
    assert dev.parallel_args(["-q", *chosen], env) == ["-q", *chosen]
    assert env == {"OMP_NUM_THREADS": "6"}


def test_a_users_thread_setting_is_kept(monkeypatch):
    monkeypatch.setattr(dev, "usable_cpus", lambda: 4)
    env = {"OMP_NUM_THREADS": "2"}
    assert dev.parallel_args([], env)[:2] == ["-n", "4"]
    assert env["OMP_NUM_THREADS"] == "2"
