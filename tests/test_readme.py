"""The README is true: every command in its ```bash blocks (and CONTRIBUTING.md's) runs verbatim, in order, from a
copy of the repository's tracked files, after the documented set-up.

The commands are parsed from the files, not copied here, so a line added to the README is run by this test. Each
runs through ``bash`` from the copy's root with ``.venv/bin`` first on PATH (what ``source .venv/bin/activate``
does), ``.venv`` holding links to the environment running this test and dev.py's up-to-date stamp (so nothing is
reinstalled), and
``BIODEEP_QUICK=1``, the testing aid of ``biodeep_gui.core.common.quick`` that caps epochs, folds, permutations,
demo and benchmark sizes, and closes ``biodeep gui --demo`` once the demo is open. A command passes when it exits
with status 0 and every ``--out`` it names exists afterwards.

``SKIPPED`` is the complete list of commands that are not run, each with the reason and the cheaper check made
instead. Marked ``readme`` (``-m "not readme"`` leaves it out): it takes minutes; ``biodeep discover`` (MoDISco's
numba compilation, about a minute in every fresh process) and ``bench/scale.py`` (six fresh torch processes) cost
the most. ``-s`` prints each command's time.
"""
from __future__ import annotations

import importlib.util
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ("README.md", "CONTRIBUTING.md")
#: One command's limit; quick mode makes each take seconds, this only stops a hung one.
COMMAND_TIMEOUT_S = 300

#: Commands not run, with the reason; each is checked another way in ``test_skipped_commands_are_checked``.
SKIPPED = {
    "python3 dev.py test": "runs the whole suite, which contains this test (it would recurse); .ci/run must call it",
    ".venv/bin/python -m pytest tests/core -q": "runs tests/core, minutes of the suite this test belongs to; "
                                                "the same command on tests/core/common is run instead",
}

pytestmark = pytest.mark.readme


def bash_commands(text: str) -> list[str]:
    """The commands of the ```bash blocks of a Markdown text, in order.

    A line ending in ``\\`` continues on the next; blank lines and lines that are only a comment are dropped.
    Trailing comments stay in the command (bash ignores them)."""
    commands = []
    for block in re.findall(r"^```bash[ \t]*\n(.*?)^```", text, flags=re.DOTALL | re.MULTILINE):
        pending = ""
        for line in block.splitlines():
            line = line.rstrip()
            if line.endswith("\\"):
                pending += line[:-1].rstrip() + " " if not pending else line[:-1].strip() + " "
                continue
            full = (pending + (line.strip() if pending else line)).strip()
            pending = ""
            if full and not full.startswith("#"):
                commands.append(full)
        if pending.strip():
            commands.append(pending.strip())
    return commands


def command_key(command: str) -> str:
    """The command without its comment and with single spaces: how ``SKIPPED`` names it."""
    return " ".join(shlex.split(command, comments=True))


def outputs(command: str) -> list[str]:
    """What the command says it writes: the value of each ``--out`` (a file or a folder)."""
    words = shlex.split(command, comments=True)
    found = [w.split("=", 1)[1] for w in words if w.startswith("--out=")]
    found += [words[i + 1] for i, w in enumerate(words[:-1]) if w == "--out"]
    return found


def documented_commands() -> list[str]:
    """Every distinct command of README.md and CONTRIBUTING.md, README first, in order."""
    seen: dict[str, str] = {}
    for name in DOCS:
        for command in bash_commands((ROOT / name).read_text(encoding="utf-8")):
            seen.setdefault(command_key(command), command)
    return list(seen.values())


def venv_root() -> Path:
    """The virtual environment running this test (what the README's ``.venv`` is)."""
    if sys.prefix == sys.base_prefix:
        pytest.fail(f"{sys.executable} is not a virtual environment: run the tests as the README says "
                    "(python3 dev.py test, or .venv/bin/python -m pytest)")
    return Path(sys.executable).parent.parent


def tracked_copy(dest: Path) -> Path:
    """Copy the repository's tracked files (``git ls-files``, as a clean clone has them) to ``dest``."""
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    for name in filter(None, listed.decode("utf-8").split("\0")):
        src = ROOT / name
        if src.is_file():  # a file deleted in the work tree but not yet from the index is not in a clone either
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    return dest


def set_up_venv(venv: Path, copy: Path) -> Path:
    """``copy/.venv``: the entries of ``venv`` linked in, and the stamp ``dev.py`` writes after installing, for the
    copy's pyproject.toml + constraints.txt, so ``python3 dev.py ...`` finds the set-up done (as after a first
    ``python3 dev.py setup``) and never reinstalls; the real environment is not touched."""
    spec = importlib.util.spec_from_file_location("readme_copy_dev", copy / "dev.py")
    dev = importlib.util.module_from_spec(spec)  # the copy's own dev.py says where its environment and stamp are
    spec.loader.exec_module(dev)
    target = copy / dev.VENV.name
    target.mkdir()
    for entry in venv.iterdir():
        if entry.name != dev.STAMP.name:
            (target / entry.name).symlink_to(entry, target_is_directory=entry.is_dir())
    (target / dev.STAMP.name).write_text(dev.installed_stamp())
    return target


def command_env(copy: Path, venv: Path, home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{copy / '.venv' / 'bin'}{os.pathsep}{env.get('PATH', '')}"  # source .venv/bin/activate
    env["VIRTUAL_ENV"] = str(copy / ".venv")
    env["PYTHONPATH"] = str(copy)  # the copy's code, as an editable install of a clone would run it
    env["BIODEEP_QUICK"] = "1"
    env["BIODEEP_HOME"] = str(home)  # the app's user folders (demo data, settings, logs) stay in the temp folder
    env["QT_QPA_PLATFORM"] = "offscreen"
    env.setdefault("OMP_NUM_THREADS", "1")
    env.setdefault("MKL_NUM_THREADS", "1")
    return env


def test_parser_joins_continuations_and_drops_comments():
    text = ("intro\n```bash\n# a comment line\nbiodeep a --x 1 \\\n    --out o1   # writes o1\n\nbiodeep b\n```\n"
            "```toml\nx = 1\n```\n```bash\ntail \\\n```\n")
    assert bash_commands(text) == ["biodeep a --x 1 --out o1   # writes o1", "biodeep b", "tail"]
    assert outputs("biodeep a --x 1 --out o1   # --out not-this") == ["o1"]
    assert command_key("biodeep  b   # note") == "biodeep b"


def test_skipped_commands_are_checked(tmp_path):
    """The skip list is minimal (every entry is still documented) and each skipped command is checked cheaply."""
    keys = {command_key(c) for c in documented_commands()}
    assert set(SKIPPED) <= keys, f"no longer documented, drop from SKIPPED: {set(SKIPPED) - keys}"
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert re.search(r"^python3 dev\.py test\b", ci, flags=re.MULTILINE), ".ci/run must run `python3 dev.py test`"
    part = subprocess.run([sys.executable, "-m", "pytest", "tests/core/common", "-q", "-p", "no:cacheprovider"],
                          check=False, cwd=ROOT, capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S)
    assert part.returncode == 0, part.stdout[-2000:] + part.stderr[-2000:]
    assert re.search(r"\d+ passed", part.stdout)


def test_every_documented_command_runs_verbatim(tmp_path):
    venv = venv_root()
    copy = tracked_copy(tmp_path / "repo")
    set_up_venv(venv, copy)
    commands = documented_commands()
    env = command_env(copy, venv, tmp_path / "home")
    failures = []
    for command in commands:
        if command_key(command) in SKIPPED:
            continue
        t0 = time.perf_counter()
        try:
            done = subprocess.run(["bash", "-c", command], check=False, cwd=copy, env=env, capture_output=True,
                                  text=True, timeout=COMMAND_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            failures.append(f"$ {command}\n  did not finish within {COMMAND_TIMEOUT_S} s")
            continue
        print(f"{time.perf_counter() - t0:6.1f} s  {command}")  # shown with -s: where the time goes
        missing = [o for o in outputs(command) if not (copy / o).exists()]
        if done.returncode != 0 or missing:
            tail = (done.stdout[-1500:] + "\n" + done.stderr[-2500:]).strip()
            why = f"exit status {done.returncode}" if done.returncode else f"did not write {', '.join(missing)}"
            failures.append(f"$ {command}\n  {why}\n" + "\n".join("  | " + t for t in tail.splitlines()))
    assert not failures, f"{len(failures)} documented command(s) failed:\n\n" + "\n\n".join(failures)


def test_paths_named_in_the_docs_are_in_the_repository():
    """Every path the README and CONTRIBUTING.md name under one of the repository's top-level folders exists in
    the repository (the docs never send a reader to a file that is not there)."""
    listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    tops = {name.split("/")[0] for name in listed if "/" in name}
    folders = "|".join(re.escape(t) for t in sorted(tops))
    named = re.compile(rf"(?<![\w./-])((?:{folders})/[\w./-]*\w)")
    missing = [f"{doc}: {path}" for doc in DOCS for path in named.findall((ROOT / doc).read_text(encoding="utf-8"))
               if not (ROOT / path).exists()]
    assert not missing, "the docs name files that are not in the repository:\n" + "\n".join(missing)
