"""Set up BioDeep in ./.venv and run it: the two commands of the README.

    python3 dev.py demo     # create the environment, write the demo data, open the app on it
    python3 dev.py test     # create the environment and run the whole test suite

Only the Python standard library is used here, so this runs on a fresh machine with nothing but Python.
Extra arguments after ``test`` go to pytest. The suite runs in one pytest process per usable CPU (pytest-xdist,
at most ``MAX_WORKERS``), each with one math thread: much of it waits on fresh processes, Qt event loops and
numba compiles, which a second core overlaps. ``-n 0`` (or any ``-n``/``-p no:xdist`` of your own) overrides that.
"""
from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".biodeep-installed"
#: ``dev.py test`` runs at most this many pytest workers.
MAX_WORKERS = 4


def installed_stamp() -> str:
    """What STAMP holds once .venv is installed from this pyproject.toml and constraints.txt (else it reinstalls)."""
    return "\n".join((ROOT / name).read_text() for name in ("pyproject.toml", "constraints.txt"))


def ensure_env() -> None:
    """Create .venv and install the package with its test extras, pinned by constraints.txt."""
    wanted = installed_stamp()
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    if not PY.exists():
        print(f"Creating {VENV} ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print("Installing BioDeep and its dependencies (first run only) ...", flush=True)
    subprocess.check_call([str(PY), "-m", "pip", "install", "--disable-pip-version-check", "-q",
                           "-c", str(ROOT / "constraints.txt"), "-e", f"{ROOT}[test]"])
    STAMP.write_text(wanted)


def usable_cpus() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def parallel_args(args: list[str], env: dict[str, str]) -> list[str]:
    """pytest arguments with ``-n WORKERS`` added (one per usable CPU, at most ``MAX_WORKERS``) unless the caller
    chose (``-n``, ``--numprocesses``, ``-p no:xdist``); each worker then gets one math thread (``OMP_NUM_THREADS``),
    so the workers do not oversubscribe the cores."""
    chosen = any(a in ("-n", "--numprocesses", "no:xdist", "-pno:xdist") or a.startswith("--numprocesses=")
                 or (a.startswith("-n") and (a[2:].isdigit() or a[2:] in ("auto", "logical"))) for a in args)
    workers = min(MAX_WORKERS, usable_cpus())
    if chosen or workers < 2:
        return list(args)
    env.setdefault("OMP_NUM_THREADS", "1")
    env.setdefault("MKL_NUM_THREADS", "1")
    return ["-n", str(workers), *args]


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"demo", "test", "setup"}:
        print(__doc__)
        return 2
    ensure_env()
    env = dict(os.environ)
    if argv[0] == "test":
        env.setdefault("QT_QPA_PLATFORM", "offscreen")
        return subprocess.call([str(PY), "-m", "pytest", *parallel_args(argv[1:], env)], cwd=ROOT, env=env)
    if argv[0] == "demo":
        return subprocess.call([str(PY), "-m", "biodeep_gui", "gui", "--demo", *argv[1:]], cwd=ROOT, env=env)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
