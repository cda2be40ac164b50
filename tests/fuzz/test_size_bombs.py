"""Size bombs that come from settings and run folders rather than data files (issue 12): a run.json declaring an
input length of 1e9 bases or a 4096³ grid, a demo grid of 4000³, /dev/zero as a configuration file.

Each is refused with one line naming the file or setting before anything of the declared size is allocated: in
this process, and again in a subprocess whose address space is capped at 2 GiB (``RLIMIT_AS``), where an
allocation of the declared size would be a MemoryError or a kill instead of a message.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.fuzz.test_hardening import HANG_TIMEOUT, LEGACY, ROOT, digest, refused

SCAN = LEGACY / "data" / "scans" / "images" / "SITE_A_0050001_func_mean.nii.gz"


def _edited_run(src: Path, dest: Path, edit) -> Path:
    shutil.copytree(src, dest)
    doc = json.loads((dest / "run.json").read_text())
    edit(doc["model"])
    (dest / "run.json").write_text(json.dumps(doc))
    return dest


@pytest.fixture(scope="module")
def bombs(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("bombs")
    (root / "x.fa").write_text(">a\nACGTACGTAC\n")
    return {"root": root, "fasta": root / "x.fa",
            "long_run": _edited_run(LEGACY / "runs" / "cnn", root / "run_length_1e9",
                                    lambda m: m.__setitem__("length", 10**9)),
            "grid_run": _edited_run(LEGACY / "runs" / "scans", root / "run_grid_4096",
                                    lambda m: m["grid"].__setitem__("shape", [4096, 4096, 4096]))}


def _cases(b: dict[str, Path], out: Path) -> list[tuple[str, list, tuple[str, ...]]]:
    """(case, argv, what the one error line must name)."""
    long_run, grid_run = b["long_run"], b["grid_run"]
    return [
        ("predict with a run of length 1e9", ["predict", long_run, b["fasta"], "--out", out / "p.csv"],
         ("run.json", "model.length", "1,000,000,000")),
        ("mutagenesis with a run of length 1e9", ["mutagenesis", long_run, "--sequence", "ACGT", "--out", out / "m"],
         ("run.json", "model.length")),
        ("scans reconstruct with a 4096³ grid", ["scans", "reconstruct", grid_run, SCAN, "--out", out / "r.nii"],
         ("model.safetensors", "do not fit", "17179869184")),
        ("scans demo --shape 4000,4000,4000", ["scans", "demo", "--out", out / "demo", "--shape", "4000,4000,4000"],
         ("4000x4000x4000", "512")),
        ("train --config /dev/zero", ["train", "--config", "/dev/zero", "--out", out / "o1"], ("/dev/zero",)),
        ("scans train --config /dev/zero", ["scans", "train", "--config", "/dev/zero", "--out", out / "o2"],
         ("/dev/zero",)),
    ]


def test_settings_and_run_folders_declaring_huge_sizes_are_refused(bombs, tmp_path, capsys):
    """In this process, the cases whose regression could not take this machine's memory (a 1e9-base run that was
    not refused would pad its inputs to gigabytes: those run only under the cap below)."""
    before = digest(bombs["root"])
    for case, argv, names in _cases(bombs, tmp_path):
        if "1e9" in case:
            continue
        refused(capsys, argv, *names)
        assert digest(bombs["root"]) == before, f"{case}: an input changed"
    assert not any(tmp_path.iterdir())  # nothing was written for any of them


def test_a_run_whose_weights_fit_its_declared_length_still_opens(tmp_path, capsys):
    """The shape check compares with the weights: a legitimate run (same folder, nothing edited) predicts."""
    from biodeep_gui.cli.main import main

    run = shutil.copytree(LEGACY / "runs" / "cnn", tmp_path / "run")
    (tmp_path / "x.fa").write_text(">a\nACGTACGTAC\n")
    assert main(["predict", str(run), str(tmp_path / "x.fa"), "--out", str(tmp_path / "p.csv")]) == 0
    assert (tmp_path / "p.csv").read_text().startswith("id,")


_CAPPED = textwrap.dedent('''
    import contextlib, io, json, resource, sys, time
    cap = int(sys.argv[1])
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    from biodeep_gui.cli.main import main
    out = {}
    for case, argv in json.loads(sys.argv[2]):
        err = io.StringIO()
        t0 = time.perf_counter()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            try:
                rc = main(argv)
            except MemoryError:
                rc = "MemoryError"
        out[case] = [rc, err.getvalue(), time.perf_counter() - t0]
    # VmHWM (this process's own peak): ru_maxrss keeps the forking parent's high-water mark across exec
    from biodeep_gui.core.common.system import process_memory
    out["peak_rss_mb"] = process_memory("VmHWM") / 2**20
    print(json.dumps(out))
''')


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_AS is enforced on Linux")
def test_the_same_bombs_under_a_2_gib_address_space_limit(bombs, tmp_path):
    cases = _cases(bombs, tmp_path)
    argv = json.dumps([[case, [str(a) for a in args]] for case, args, _ in cases])
    env = {**os.environ, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.run([sys.executable, "-c", _CAPPED, str(2 << 30), argv], capture_output=True, text=True,
                          timeout=HANG_TIMEOUT, env=env, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    for case, _args, names in cases:
        rc, err, _seconds = res[case]
        assert rc == 1 and "Traceback" not in err and "MemoryError" not in err, f"{case}: {err[-500:]}"
        assert all(n in err for n in names), f"{case}: {err[-500:]}"
    worst = max(cases, key=lambda c: res[c[0]][2])[0]
    print(f"settings / run-folder bombs under a 2 GiB cap: worst {worst!r} {res[worst][2]:.2f} s, "
          f"peak RSS {res['peak_rss_mb']:.0f} MB")
