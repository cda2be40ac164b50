"""Never a traceback, never a hang, never a lost file (issue 12): the ``biodeep`` commands on hostile inputs.

Each case runs a real command (``biodeep_gui.cli.main.main`` in-process, or a subprocess with a timeout where a
regression would hang or eat memory) and checks: exit status 1, ONE error line naming the file or setting and
what was expected, no traceback, and every input file and existing run unchanged (sha256 before/after).

Classes: special files (FIFOs, devices, folders), size bombs (also under an address-space limit), devices,
tables, outputs that would destroy inputs, and the GUI's open paths.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from biodeep_gui.cli.main import main
from biodeep_gui.core.common.errors import BioDeepError, InputFileError

ROOT = Path(__file__).resolve().parents[2]
LEGACY = ROOT / "tests" / "fixtures" / "legacy_v0_1_0"
HANG_TIMEOUT = 120  # seconds: a subprocess that would hang is killed (and the test fails), never waited on
needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes need a POSIX system")


# ---- helpers ---------------------------------------------------------------------------------------------------

def digest(*paths: Path) -> dict[str, str]:
    """sha256 of every file under ``paths`` (regular files only: a FIFO is never opened)."""
    out = {}
    for p in paths:
        p = Path(p)
        files = [p] if not p.is_dir() else sorted(f for f in p.rglob("*"))
        for f in files:
            if f.is_file() and not f.is_symlink():
                out[str(f)] = hashlib.sha256(f.read_bytes()).hexdigest()
            elif f.exists():
                out[str(f)] = "special"
    return out


def refused(capsys, argv: list[str], *names: str) -> str:
    """Run ``biodeep argv``: exit 1 with one 'biodeep: error:' line naming every one of ``names``."""
    capsys.readouterr()
    rc = main([str(a) for a in argv])
    err = capsys.readouterr().err
    assert rc == 1, f"{argv}: exit {rc}, stderr {err[-500:]!r}"
    assert "Traceback" not in err, err
    lines = [ln for ln in err.splitlines() if ln.startswith("biodeep: error:")]
    assert len(lines) == 1, f"{argv}: expected one error line, got {err!r}"
    for name in names:
        assert str(name) in lines[0], f"{argv}: the error does not name {name!r}: {lines[0]!r}"
    assert len(lines[0]) < 1000, lines[0]
    return lines[0]


def write_fasta(path: Path, records: list[tuple[str, str]]) -> Path:
    path.write_text("".join(f">{i}\n{s}\n" for i, s in records))
    return path


def random_seqs(n: int, length: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    return ["".join("ACGT"[c] for c in rng.integers(0, 4, length)) for _ in range(n)]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Data files, a CNN run (copied from the 0.1.0 fixture) and a k-mer baseline run trained here."""
    root = tmp_path_factory.mktemp("hardening")
    data = root / "data"
    data.mkdir()
    for name in ("pos.fa", "neg.fa"):
        shutil.copy(LEGACY / "data" / name, data / name)
    shutil.copytree(LEGACY / "runs" / "cnn", root / "run_cnn")
    shutil.copytree(LEGACY / "data" / "scans", root / "scans_data")
    shutil.copytree(LEGACY / "runs" / "scans", root / "run_scans")
    rc = main(["train", "--fasta", str(data / "pos.fa"), "--background", str(data / "neg.fa"), "--arch", "kmer",
               "--out", str(root / "run_kmer"), "--quiet"])
    assert rc == 0
    return root


# ---- 1. special files: FIFOs, devices, folders ------------------------------------------------------------------

_FIFO_SCRIPT = textwrap.dedent('''
    import contextlib, io, json, os, sys
    from biodeep_gui.cli.main import main
    root, fifo = sys.argv[1], sys.argv[2]
    cases = {
        "train --fasta FIFO": ["train", "--fasta", fifo, "--background", f"{root}/data/neg.fa", "--arch", "kmer",
                               "--out", f"{root}/o1", "--quiet"],
        "train --background FIFO": ["train", "--fasta", f"{root}/data/pos.fa", "--background", fifo,
                                    "--arch", "kmer", "--out", f"{root}/o2", "--quiet"],
        "train --table FIFO": ["train", "--table", fifo, "--arch", "kmer", "--out", f"{root}/o3", "--quiet"],
        "train --bed FIFO": ["train", "--bed", fifo, "--genome", f"{root}/data/pos.fa", "--arch", "kmer",
                             "--out", f"{root}/o4", "--quiet"],
        "train --genome FIFO": ["train", "--bed", f"{root}/data/peaks.bed", "--genome", fifo, "--arch", "kmer",
                                "--out", f"{root}/o5", "--quiet"],
        "predict RUN FIFO": ["predict", f"{root}/run_cnn", fifo, "--out", f"{root}/p.csv"],
        "evaluate RUN FIFO": ["evaluate", f"{root}/run_cnn", fifo],
        "motifs --motifs FIFO": ["motifs", f"{root}/run_cnn", "--motifs", fifo, "--out", f"{root}/m1"],
        "motifs --motifs /dev/zero": ["motifs", f"{root}/run_cnn", "--motifs", "/dev/zero", "--out", f"{root}/m2"],
        "train --fasta /dev/zero": ["train", "--fasta", "/dev/zero", "--background", f"{root}/data/neg.fa",
                                    "--arch", "kmer", "--out", f"{root}/o6", "--quiet"],
        "mutagenesis --fasta FIFO": ["mutagenesis", f"{root}/run_cnn", "--fasta", fifo, "--out", f"{root}/z1"],
        "scans audit --labels FIFO": ["scans", "audit", "--images", f"{root}/scans_data/images", "--labels", fifo],
        "scans audit --labels /dev/zero": ["scans", "audit", "--images", f"{root}/scans_data/images",
                                           "--labels", "/dev/zero"],
    }
    out = {}
    for name, argv in cases.items():
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            rc = main(argv)
        out[name] = [rc, err.getvalue()]
    from biodeep_gui.core.common.errors import BioDeepError
    from biodeep_gui.core.scans.nifti import read_header, read_image_data
    from biodeep_gui.core.scans.connectivity import read_atlas, read_roi_timeseries
    from biodeep_gui.core.scans.cohort import read_label_table
    from biodeep_gui.core.sequences.motif_db import load_motifs
    for name, call in {"NIfTI header": lambda: read_header(fifo), "NIfTI data": lambda: read_image_data(fifo),
                       "atlas": lambda: read_atlas(fifo), "ROI time series": lambda: read_roi_timeseries(fifo),
                       "label table": lambda: read_label_table(fifo, "SUB_ID", "DX_GROUP"),
                       "motif file": lambda: load_motifs(fifo)}.items():
        try:
            call()
            out[name] = [0, ""]
        except BioDeepError as exc:
            out[name] = [1, "biodeep: error: " + str(exc)]
    print(json.dumps(out))
''')


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen"}


@needs_fifo
def test_named_pipes_and_devices_are_refused_by_name_without_hanging(world, tmp_path):
    """Every loader entry point refuses a FIFO (and /dev/zero) before opening it: one line, no hang."""
    (world / "data" / "peaks.bed").write_text("chr1\t10\t30\n")
    fifo = tmp_path / "pipe.fa"
    os.mkfifo(fifo)
    before = digest(world)
    proc = subprocess.run([sys.executable, "-c", _FIFO_SCRIPT, str(world), str(fifo)], capture_output=True,
                          text=True, timeout=HANG_TIMEOUT, env=_env(), cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    results = json.loads(proc.stdout.strip().splitlines()[-1])
    assert len(results) >= 19
    for case, (rc, err) in results.items():
        assert rc == 1, f"{case}: exit {rc}: {err[-400:]}"
        lines = [ln for ln in err.splitlines() if ln.startswith("biodeep: error:")]
        assert len(lines) == 1 and "Traceback" not in err, f"{case}: {err!r}"
        named = "/dev/zero" if "/dev/zero" in case else str(fifo)
        assert named in lines[0], f"{case}: {lines[0]!r}"
        assert ("named pipe" if named == str(fifo) else "device") in lines[0], f"{case}: {lines[0]!r}"
        assert "expected" in lines[0], f"{case}: {lines[0]!r}"
    assert digest(world) == before
    assert not any((world / f"o{i}").exists() for i in range(1, 7)), "a run folder was written"


@needs_fifo
def test_predict_on_process_substitution_gives_one_error(world, tmp_path):
    """``biodeep predict RUN <(cat x.fa)``: the pipe is refused before it is read (it could be read once only)."""
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("needs bash for <(...)")
    out = tmp_path / "pred.csv"
    cmd = (f'"{sys.executable}" -m biodeep_gui predict "{world / "run_cnn"}" <(cat "{world / "data" / "pos.fa"}") '
           f'--out "{out}"')
    proc = subprocess.run([bash, "-c", cmd], capture_output=True, text=True, timeout=HANG_TIMEOUT, env=_env(),
                          cwd=ROOT)
    assert proc.returncode == 1, proc.stderr[-1000:]
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("biodeep: error:")]
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert "/dev/fd/" in lines[0] and "named pipe" in lines[0] and "save the data to a file" in lines[0]
    assert not out.exists()


def test_a_folder_given_as_a_file_is_named(world, capsys):
    before = digest(world)
    line = refused(capsys, ["predict", world / "run_cnn", world / "data", "--out", world / "p.csv"],
                   str(world / "data"))
    assert "folder" in line
    line = refused(capsys, ["motifs", world / "run_cnn", "--motifs", world / "data", "--out", world / "m"],
                   str(world / "data"))
    assert "folder" in line
    assert digest(world) == before


def test_read_guard_refuses_before_opening(tmp_path):
    from biodeep_gui.core.common.fileio import check_readable_file

    big = tmp_path / "big.meme"
    big.write_bytes(b"x" * 2000)
    with pytest.raises(InputFileError, match="big.meme.*MB"):
        check_readable_file(big, "a motif file", max_bytes=1000)
    with pytest.raises(InputFileError, match="/dev/zero: is a device.*expected a motif file"):
        check_readable_file("/dev/zero", "a motif file")
    with pytest.raises(InputFileError, match="file not found"):
        check_readable_file(tmp_path / "nope.fa", "a FASTA file")
    assert check_readable_file(big, "a motif file") == big


# ---- 2. size bombs ---------------------------------------------------------------------------------------------

def _bomb_fasta(folder: Path, n_short: int = 150, long_bp: int = 50_000_000) -> Path:
    """``n_short`` 40-bp records and one of ``long_bp`` bases: padded to the longest that is n x 50 MB."""
    path = folder / "bomb.fa"
    with open(path, "w") as fh:
        for i, s in enumerate(random_seqs(n_short, 40, 3)):
            fh.write(f">short{i}\n{s}\n")
            if i == n_short // 2:
                fh.write(">giant\n")
                block = "ACGT" * 2500
                for _ in range(long_bp // len(block)):
                    fh.write(block + "\n")
    return path


def _bomb_nifti(folder: Path) -> Path:
    """A NIfTI-1 header declaring 32767 x 32767 x 32767 float32 voxels (140 TB) followed by a few bytes."""
    import nibabel as nib

    hdr = nib.Nifti1Header()
    hdr.set_data_shape((32767, 32767, 32767))
    hdr.set_data_dtype(np.float32)
    hdr.set_qform(np.eye(4), code=1)
    hdr.set_sform(np.eye(4), code=1)
    path = folder / "bomb.nii"
    path.write_bytes(hdr.binaryblock + b"\x00" * 4 + b"\x01" * 4096)
    return path


def test_one_giant_record_is_refused_before_padding(world, tmp_path, capsys, monkeypatch):
    """One 50 MB record among 150 short ones: refused naming the record and --length, not a 7.5 GB array.

    The budget is a quarter of the RAM (at least 2 GiB); it is pinned to 2 GiB here so the case is the same on
    every machine (the memory-capped test below checks the real budget under ``ulimit -v``).
    """
    from biodeep_gui.core.sequences import dataset

    monkeypatch.setattr(dataset, "_codes_budget", lambda: 2 << 30)
    bomb = _bomb_fasta(tmp_path)
    before = digest(bomb, world / "data")
    line = refused(capsys, ["train", "--fasta", bomb, "--background", world / "data" / "neg.fa", "--arch", "kmer",
                            "--out", tmp_path / "run", "--quiet"], str(bomb), "giant", "--length")
    assert "50,000,000 bp" in line and "GiB" in line
    assert digest(bomb, world / "data") == before and not (tmp_path / "run").exists()


def test_a_nifti_header_declaring_a_huge_grid_is_refused_from_the_header(tmp_path):
    from biodeep_gui.core.scans.nifti import read_header, read_image_data

    bomb = _bomb_nifti(tmp_path)
    for call in (read_header, read_image_data):
        with pytest.raises(InputFileError) as info:
            call(bomb)
        msg = str(info.value)
        assert str(bomb) in msg and "32767×32767×32767" in msg and "GiB" in msg and "expected" in msg


_CAPPED_SCRIPT = textwrap.dedent('''
    import contextlib, io, json, resource, sys, time
    cap = int(sys.argv[1])
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    from biodeep_gui.cli.main import main
    from biodeep_gui.core.common.errors import BioDeepError
    from biodeep_gui.core.scans.nifti import read_image_data
    fasta, neg, nifti, out = sys.argv[2:6]
    res = {}
    t0 = time.perf_counter()
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        rc = main(["train", "--fasta", fasta, "--background", neg, "--arch", "kmer", "--out", out, "--quiet"])
    res["fasta"] = [rc, err.getvalue(), time.perf_counter() - t0]
    t0 = time.perf_counter()
    try:
        read_image_data(nifti)
        res["nifti"] = [0, "", 0]
    except BioDeepError as exc:
        res["nifti"] = [1, str(exc), time.perf_counter() - t0]
    # VmHWM (this process's own peak): ru_maxrss keeps the forking parent's high-water mark across exec
    from biodeep_gui.core.common.system import process_memory
    res["peak_rss_mb"] = process_memory("VmHWM") / 2**20
    print(json.dumps(res))
''')


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_AS is enforced on Linux")
def test_size_bombs_under_an_address_space_limit(world, tmp_path):
    """The bombs in a process capped at 2 GiB of address space (``ulimit -v``): clear errors, no MemoryError.

    torch, sklearn and nibabel import fine under 2 GiB here; under the cap the budget for one array is half of
    it (1 GiB), so the refusals come from the budget, not from a failed allocation.
    """
    bomb, nifti = _bomb_fasta(tmp_path), _bomb_nifti(tmp_path)
    cap = 2 << 30
    proc = subprocess.run([sys.executable, "-c", _CAPPED_SCRIPT, str(cap), str(bomb), str(world / "data" / "neg.fa"),
                           str(nifti), str(tmp_path / "run")], capture_output=True, text=True,
                          timeout=HANG_TIMEOUT, env=_env(), cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    rc, err, _ = res["fasta"]
    assert rc == 1 and "MemoryError" not in err and "giant" in err and "--length" in err, err[-1000:]
    rc, msg, _ = res["nifti"]
    assert rc == 1 and str(nifti) in msg and "voxels" in msg, msg
    print(f"size bombs under a {cap >> 30} GiB cap: FASTA {res['fasta'][2]:.1f} s, NIfTI {res['nifti'][2]:.2f} s, "
          f"peak RSS {res['peak_rss_mb']:.0f} MB")
    assert not (tmp_path / "run").exists()


# ---- 3. devices ------------------------------------------------------------------------------------------------

def _device_cases(world: Path, out: Path) -> dict[str, list]:
    run = world / "run_cnn"
    return {"predict": ["predict", run, world / "data" / "pos.fa", "--out", out / "p.csv"],
            "evaluate": ["evaluate", run, world / "data" / "pos.fa"],
            "mutagenesis": ["mutagenesis", run, "--sequence", "ACGTACGTAC", "--out", out / "ism"],
            "motifs": ["motifs", run, "--out", out / "motifs"]}


@pytest.mark.parametrize("device", ["cuda:7", "banana", "cuda:-1", "cuda"])
def test_unusable_devices_are_refused_naming_the_usable_ones(world, tmp_path, capsys, device):
    import torch

    if device == "cuda" and torch.cuda.is_available():
        pytest.skip("CUDA is usable here")
    if device == "cuda:7" and torch.cuda.device_count() > 7:
        pytest.skip("this machine has a cuda:7")
    before = digest(world)
    for name, argv in _device_cases(world, tmp_path).items():
        line = refused(capsys, [*argv, "--device", device], f"--device {device!r}", "usable here: auto, cpu")
        assert name and "Traceback" not in line
    assert digest(world) == before and not any(tmp_path.iterdir())


# ---- 3b. numbers that are not settings -----------------------------------------------------------------------

_NUMBERS = [(["--lr", "nan"], "lr"), (["--weight-decay", "-1"], "weight_decay"), (["--seed", "-1"], "seed"),
            (["--seed", str(2**70)], "seed"), (["--grad-clip", "nan"], "grad_clip"),
            (["--monitor", "banana"], "monitor"), (["--epochs", "0"], "epochs")]


@pytest.mark.parametrize("extra, setting", _NUMBERS, ids=[" ".join(a) for a, _ in _NUMBERS])
def test_train_refuses_a_setting_out_of_range_before_any_work(world, tmp_path, capsys, extra, setting):
    data = world / "data"
    before = digest(data)
    out = tmp_path / "run"
    refused(capsys, ["train", "--fasta", data / "pos.fa", "--background", data / "neg.fa", "--arch", "cnn",
                     "--out", out, "--quiet", *extra], setting)
    assert not out.exists() and digest(data) == before  # nothing written, inputs untouched


@pytest.mark.parametrize("argv, setting", [
    (["scans", "demo", "--subjects", "-5"], "subjects"),
    (["scans", "train", "--images", "IMAGES", "--labels", "LABELS", "--file-column", "FILE_ID",
      "--voxel-size", "nan"], "voxel_size")])
def test_scans_commands_refuse_numbers_out_of_range(world, tmp_path, capsys, argv, setting):
    scans = world / "scans_data"
    table = next(p for p in scans.iterdir() if p.suffix in (".csv", ".tsv"))
    images = next(p for p in scans.iterdir() if p.is_dir())
    argv = [{"IMAGES": images, "LABELS": table}.get(a, a) for a in argv] + ["--out", tmp_path / "out"]
    refused(capsys, argv, setting)
    assert not (tmp_path / "out").exists()


# ---- 4. tables -------------------------------------------------------------------------------------------------

def _table(path: Path, rows: list[str], header: str = "sequence,label", sep: str = ",") -> Path:
    path.write_text("\n".join([header.replace(",", sep), *rows]) + "\n", encoding="utf-8")
    return path


def test_latin1_byte_after_the_sniffed_head_is_decoded(tmp_path):
    """An accent 20 kB into a table (after the 8 kB the sniffer sees) reads as Latin-1, not an error."""
    from biodeep_gui.core.sequences.tables import load_table

    seqs = random_seqs(600, 30, 5)
    raw = b"id,sequence,label\n" + b"".join(f"r{i},{s},{i % 2}\n".encode() for i, s in enumerate(seqs))
    assert len(raw) > 16_000
    raw += b"caf\xe9,ACGTACGTAC,1\n"
    (tmp_path / "t.csv").write_bytes(raw)
    ss = load_table(tmp_path / "t.csv", "sequence", ["label"], id_column="id")
    assert ss.ids[-1] == "café" and len(ss) == 601


def test_latin1_byte_in_a_label_after_the_head_names_the_line(world, tmp_path, capsys):
    seqs = random_seqs(600, 30, 6)
    raw = b"sequence,label\n" + b"".join(f"{s},{i % 2}\n".encode() for i, s in enumerate(seqs)) + b"ACGTAC,1\xe9\n"
    path = tmp_path / "latin1.csv"
    path.write_bytes(raw)
    refused(capsys, ["train", "--table", path, "--arch", "kmer", "--out", tmp_path / "run", "--quiet"],
            str(path), "line 602", "1é")


def test_a_row_with_an_extra_field_names_the_line(tmp_path, capsys):
    rows = [f"{s},{i % 2}" for i, s in enumerate(random_seqs(50, 30, 7))]
    rows[20] += ",7"
    path = _table(tmp_path / "extra.csv", rows)
    line = refused(capsys, ["train", "--table", path, "--arch", "kmer", "--out", tmp_path / "run", "--quiet"],
                   str(path), "line 22", "3 fields")
    assert "header has 2" in line and not (tmp_path / "run").exists()


def test_decimal_commas_are_explained(tmp_path, capsys):
    rng = np.random.default_rng(8)
    rows = [f"{s};{rng.uniform(0, 3):.1f}".replace(".", ",") for s in random_seqs(160, 30, 8)]
    path = _table(tmp_path / "comma.csv", rows, sep=";")
    before = digest(path)
    line = refused(capsys, ["train", "--table", path, "--arch", "kmer", "--out", tmp_path / "run", "--quiet"],
                   str(path), "decimal comma", "line 2")
    assert "decimal point" in line and digest(path) == before


def test_label_column_equal_to_the_sequence_column_is_refused(tmp_path, capsys):
    rows = [f"{s},{i % 2}" for i, s in enumerate(random_seqs(160, 30, 9))]
    path = _table(tmp_path / "t.csv", rows)
    line = refused(capsys, ["train", "--table", path, "--label-column", "sequence", "--arch", "kmer",
                            "--out", tmp_path / "run", "--quiet"], str(path), "'sequence'")
    assert "is the sequence column" in line


def test_a_constant_regression_target_is_refused(tmp_path, capsys):
    rows = [f"{s},1.5" for s in random_seqs(160, 30, 10)]
    path = _table(tmp_path / "const.csv", rows)
    line = refused(capsys, ["train", "--table", path, "--task", "regression", "--arch", "kmer",
                            "--out", tmp_path / "run", "--quiet"], str(path), "all 160 values", "1.5")
    assert "nothing to learn" in line and not (tmp_path / "run").exists()


def test_more_classes_than_a_tenth_of_the_rows_is_refused(tmp_path, capsys):
    rows = [f"{s},class{i % 40}" for i, s in enumerate(random_seqs(160, 30, 11))]
    path = _table(tmp_path / "many.csv", rows)
    line = refused(capsys, ["train", "--table", path, "--arch", "kmer", "--out", tmp_path / "run", "--quiet"],
                   str(path), "40 classes", "160 sequences")
    assert "fewer than 10 sequences per class" in line


def test_motifs_on_a_kmer_run_is_a_clear_error(world, tmp_path, capsys):
    before = digest(world)
    line = refused(capsys, ["motifs", world / "run_kmer", "--out", tmp_path / "m"], "run_kmer", "kmer")
    assert "no convolution filters" in line and digest(world) == before


# ---- 5. outputs never destroy inputs ---------------------------------------------------------------------------

def _output_cases(world: Path, tmp: Path) -> list[tuple[str, list, str]]:
    """(case, argv, what the message must name)."""
    run, pos, neg = world / "run_cnn", world / "data" / "pos.fa", world / "data" / "neg.fa"
    scans_run, scan = world / "run_scans", next((world / "scans_data" / "images").iterdir())
    train = ["train", "--fasta", pos, "--background", neg, "--arch", "kmer", "--quiet", "--out"]
    return [
        ("predict --out onto its own input", ["predict", run, pos, "--out", pos], str(pos)),
        ("predict --out RUN/run.json", ["predict", run, pos, "--out", run / "run.json"], "run.json"),
        ("predict --out into another run", ["predict", run, pos, "--out", world / "run_kmer" / "p.csv"], "run_kmer"),
        ("evaluate --out RUN/model.safetensors", ["evaluate", run, pos, "--out", run / "model.safetensors"],
         "model.safetensors"),
        ("train --out the data folder", [*train, world / "data"], str(world / "data")),
        ("train --out an input file", [*train, pos], str(pos)),
        ("train --out an existing run", [*train, world / "run_kmer"], "--overwrite"),
        ("train --out inside a run", [*train, run / "sub"], str(run)),
        ("motifs --out inside the run", ["motifs", run, "--out", run / "motifs"], str(run)),
        ("motifs --out the data folder", ["motifs", run, "--out", world / "data"], str(world / "data")),
        ("mutagenesis --out the data folder", ["mutagenesis", run, "--fasta", pos, "--out", world / "data"],
         str(world / "data")),
        ("mutagenesis --out a run folder", ["mutagenesis", run, "--sequence", "ACGT", "--out", world / "run_kmer"],
         "run_kmer"),
        ("attribute --out the data folder", ["attribute", run, "--fasta", pos, "--out", world / "data"],
         str(world / "data")),
        ("discover --out inside the run", ["discover", run, "--out", run / "patterns"], str(run)),
        ("insilico --out a run folder", ["insilico", run, "--motif", "CTCF", "--out", world / "run_kmer"],
         "run_kmer"),
        ("scans reconstruct --out onto the input scan", ["scans", "reconstruct", scans_run, scan, "--out", scan],
         str(scan)),
        ("scans reconstruct --out into the run", ["scans", "reconstruct", scans_run, scan, "--out",
                                                  scans_run / "model.safetensors"], "model.safetensors"),
        ("scans demo --out a data folder", ["scans", "demo", "--out", world / "data", "--subjects", "4",
                                            "--shape", "8,8,8"], str(world / "data")),
        ("scans train --out an existing run", ["scans", "train", "--images", world / "scans_data" / "images",
                                               "--labels", world / "scans_data" / "participants.tsv",
                                               "--file-column", "FILE_ID", "--out", scans_run], "--overwrite"),
    ]


def test_outputs_never_overwrite_inputs_or_runs(world, tmp_path, capsys):
    before = digest(world)
    cases = _output_cases(world, tmp_path)
    for case, argv, named in cases:
        line = refused(capsys, argv, named)
        assert "--out" in line, f"{case}: {line}"
        assert digest(world) == before, f"{case}: a file changed"
    assert len(cases) >= 19


def test_colliding_ids_get_distinct_reversible_file_names(world, tmp_path, capsys):
    """``x/1`` and ``x_1`` are both ``x_1`` once file-name safe: neither map overwrites the other, and
    index.tsv names the file of each id (a FASTA with the same id twice is refused by the reader)."""
    from biodeep_gui.core.sequences.run import load_run

    seqs = random_seqs(4, load_run(world / "run_cnn").info.length, 21)
    ids = ["x/1", "x_1", "X_1", "index"]
    fa = write_fasta(tmp_path / "ids.fa", list(zip(ids, seqs)))
    out = tmp_path / "ism"
    assert main(["mutagenesis", str(world / "run_cnn"), "--fasta", str(fa), "--out", str(out),
                 "--formats", "png"]) == 0
    rows = [r.split("\t") for r in (out / "index.tsv").read_text().splitlines()]
    assert rows[0] == ["id", "files"] and [r[0] for r in rows[1:]] == ids
    tsvs = [r[1].split(",")[0] for r in rows[1:]]
    assert len({t.lower() for t in tsvs}) == 4 and "index.tsv" not in tsvs  # distinct, even case-insensitively
    for rid, seq, name in zip(ids, seqs, tsvs):
        text = (out / name).read_text()
        body = [ln for ln in text.splitlines() if ln and not ln.startswith("#")]
        assert "".join(ln.split("\t")[1] for ln in body[1:]) == seq, rid  # each file holds its own sequence
    assert sorted(f.name for f in out.glob("*.tsv")) == sorted([*tsvs, "index.tsv"])


def test_unique_file_stems_are_distinct_and_keep_plain_ids():
    from biodeep_gui.core.sequences.interpret.export import unique_file_stems

    stems = unique_file_stems(["chr1:100-200", "peak_7", "a b", "a_b", "peak_7", "Peak_7"], reserved=("index",))
    assert stems[0].startswith("chr1_100-200-") and len({s.lower() for s in stems}) == 6
    assert unique_file_stems(["peak_7", "peak_8"]) == ["peak_7", "peak_8"]  # nothing to disambiguate: unchanged
    assert unique_file_stems(["index"], reserved=("index",))[0].startswith("index-")
    again = unique_file_stems(["x/1", "x_1"])
    assert again == unique_file_stems(["x/1", "x_1"]) and again[0].startswith("x_1-") and again[1].startswith("x_1-")


def test_train_overwrite_replaces_an_existing_run_only_when_asked(world, tmp_path, capsys):
    data = world / "data"
    out = tmp_path / "run"
    argv = ["train", "--fasta", data / "pos.fa", "--background", data / "neg.fa", "--arch", "kmer", "--quiet",
            "--out", out]
    assert main([str(a) for a in argv]) == 0
    first = digest(out)
    refused(capsys, argv, str(out), "--overwrite")
    assert digest(out) == first
    assert main([str(a) for a in [*argv, "--overwrite", "--seed", "3"]]) == 0
    assert json.loads((out / "run.json").read_text())["config"]["train"]["seed"] == 3
    # retrained from its own run.json: the config is read before anything is written
    refused(capsys, ["train", "--config", out / "run.json", "--out", out, "--quiet"], "--overwrite")
    assert main([str(a) for a in ["train", "--config", out / "run.json", "--out", out, "--quiet", "--overwrite",
                                  "--seed", "4"]]) == 0
    assert json.loads((out / "run.json").read_text())["config"]["train"]["seed"] == 4


def test_outputs_may_be_rewritten_by_their_own_command(world, tmp_path, capsys):
    """A CSV written by predict may be written again; an empty folder is a fine output."""
    out = tmp_path / "p.csv"
    args = ["predict", str(world / "run_cnn"), str(world / "data" / "pos.fa"), "--out", str(out)]
    assert main(args) == 0 and main(args) == 0
    (tmp_path / "empty").mkdir()
    assert main(["train", "--fasta", str(world / "data" / "pos.fa"), "--background", str(world / "data" / "neg.fa"),
                 "--arch", "kmer", "--quiet", "--out", str(tmp_path / "empty")]) == 0


def test_output_rule_unit_cases(tmp_path):
    from biodeep_gui.core.common.fileio import check_output_path

    (tmp_path / "logos").mkdir()
    (tmp_path / "logos" / "f1.png").write_bytes(b"x")
    (tmp_path / "summary.json").write_text("{}")
    assert check_output_path(tmp_path, [], "folder", own_suffixes=(".png", ".json")) == tmp_path
    (tmp_path / "data.fa").write_text(">a\nACGT\n")
    with pytest.raises(BioDeepError, match="not a BioDeep output"):
        check_output_path(tmp_path, [], "folder", own_suffixes=(".png", ".json"))
    with pytest.raises(BioDeepError, match="holds the input file"):
        check_output_path(tmp_path, [tmp_path / "data.fa"], "folder", own_suffixes=(".png", ".json", ".fa"))


# ---- 6. the GUI's open paths -----------------------------------------------------------------------------------

@needs_fifo
def test_gui_table_header_sniffing_refuses_a_fifo_without_blocking(tmp_path):
    """The Sequences tab reads a chosen table's header in the GUI thread: a FIFO is refused, never opened."""
    pytest.importorskip("PySide6")
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from biodeep_gui.gui.tabs.sequences.data_files import read_table_header

    fifo = tmp_path / "table.csv"
    os.mkfifo(fifo)
    with pytest.raises(InputFileError, match="named pipe"):
        read_table_header(fifo)
    with pytest.raises(InputFileError, match="device"):
        read_table_header("/dev/zero")
