"""Set up BioDeep in ./.venv and run it: the two commands of the README.

    python3 dev.py demo     # create the environment, write the demo data, open the app on it
    python3 dev.py test     # create the environment and run the whole test suite

Only the Python standard library is used here, so this runs on a fresh machine with nothing but Python.
Extra arguments after ``test`` go to pytest.
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


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"demo", "test", "setup"}:
        print(__doc__)
        return 2
    ensure_env()
    env = dict(os.environ)
    if argv[0] == "test":
        env.setdefault("QT_QPA_PLATFORM", "offscreen")
        return subprocess.call([str(PY), "-m", "pytest", *argv[1:]], cwd=ROOT, env=env)
    if argv[0] == "demo":
        return subprocess.call([str(PY), "-m", "biodeep_gui", "gui", "--demo", *argv[1:]], cwd=ROOT, env=env)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
