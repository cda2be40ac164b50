"""Growing past one machine: data-parallel throughput, bounded memory with the encoded cache, cache size and speed.

Measured side by side in one run, on whatever machine runs it (the figures are printed with its CPU count):

1. samples/s of ``biodeep train`` with 1 process and under ``torchrun --nproc_per_node=2`` (CPU, gloo), same
   config (batch size per process), from the runs' ``history.csv``;
2. for each size (default 0.5 M, 1 M, 2 M x 200 bp FASTA pairs): a fresh process that imports torch and runs
   ``train_run`` with ``data.cache = "on"`` (cache build + 1 epoch of a small MLP: the data path, not the model, is measured), its peak anonymous memory (RssAnon sampled
   every 10 ms from /proc/self/status), then the slope of the peak in MiB per MiB of FASTA between the sizes;
3. cache build speed (MB of FASTA per second, both passes and the SHA-256 included) and bytes per base on
   disk (all cache files, ids included);
4. the same for BED peaks + a genome FASTA (default 50,000 and 200,000 peaks of 200 bp on a random genome of
   600 bp per peak, shuffled background): peak RssAnon of a fresh process (cache build + 1 epoch), its slope in
   MiB per MiB of encoded windows (2 x peaks x width bytes), and the build speed in MiB of windows per second
   (BED parse, genome SHA-256, window fetch and dinucleotide shuffle included).

    nice python bench/scale.py [--sizes 500000,1000000,2000000] [--length 200] [--throughput-n 20000]
                               [--bed-sizes 50000,200000] [--work DIR] [--skip-throughput] [--skip-memory]
                               [--skip-bed]

Goals (issue 15): slope <= 0.15 MiB per MiB of FASTA, peak at 2 M < 400 MiB, <= 1.2 bytes per base on disk.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from biodeep_gui.core.common import quick  # noqa: E402 (after the path set-up)

_LETTERS = np.frombuffer(b"ACGT", np.uint8)


def write_pair(folder: Path, n: int, length: int, seed: int = 0, motif: bytes = b"CCGCGAGGTGGCAG") -> tuple[Path, Path]:
    """n/2 bound (a CTCF-like word planted) and n/2 background records of ``length`` bp, written in blocks."""
    rng = np.random.default_rng(seed)
    paths = (folder / "bound.fa", folder / "background.fa")
    half = n // 2
    for which, path in enumerate(paths):
        with open(path, "wb") as fh:
            for start in range(0, half, 100_000):
                k = min(100_000, half - start)
                rows = _LETTERS[rng.integers(0, 4, (k, length))]
                if which == 0:
                    pos = rng.integers(0, length - len(motif), k)
                    m = np.frombuffer(motif, np.uint8)
                    for j in range(len(motif)):
                        rows[np.arange(k), pos + j] = m[j]
                lines = np.empty((k, length + 1), np.uint8)
                lines[:, :length] = rows
                lines[:, length] = ord("\n")
                tag = "b" if which == 0 else "g"
                heads = [f">{tag}{start + i:07d}\n".encode() for i in range(k)]
                fh.write(b"".join(h + lines[i].tobytes() for i, h in enumerate(heads)))
    return paths


def write_bed_genome(folder: Path, n: int, width: int, seed: int = 0, spacing: int = 600) -> tuple[Path, Path]:
    """A random genome (chromosomes of at most 10 Mb, 60-bp lines) and a BED of ``n`` peaks ``width`` bp long,
    one every ``spacing`` bp, written in blocks."""
    rng = np.random.default_rng(seed)
    genome, bed = folder / "genome.fa", folder / "peaks.bed"
    per_chrom = max(1, 10_000_000 // spacing)
    with open(genome, "wb") as fg, open(bed, "w") as fb:
        for c, first in enumerate(range(0, n, per_chrom)):
            k = min(per_chrom, n - first)
            size = -(-(k + 1) * spacing // 60) * 60
            fg.write(f">chr{c + 1}\n".encode())
            for row0 in range(0, size // 60, 100_000):  # 6 Mb per block
                rows = min(100_000, size // 60 - row0)
                lines = np.empty((rows, 61), np.uint8)
                lines[:, :60] = _LETTERS[rng.integers(0, 4, (rows, 60))]
                lines[:, 60] = ord("\n")
                fg.write(lines.tobytes())
            starts = spacing // 2 + spacing * np.arange(k)
            fb.write("".join(f"chr{c + 1}\t{s}\t{s + width}\n" for s in starts.tolist()))
    return bed, genome


def config_text(bound: Path, background: Path, *, cache: str, epochs: int, batch: int, filters: int,
                arch: str = "cnn", bed_width: int = 0) -> str:
    """A run config: the FASTA pair, or with ``bed_width`` the BED (``bound``) on the genome (``background``)."""
    params = (f"{{ filters = {filters}, filter_width = 15 }}" if arch == "cnn" else "{ hidden = 32, layers = 1 }")
    data = (f'kind = "bed"\nbed = "{bound}"\ngenome = "{background}"\nwidth = {bed_width}' if bed_width else
            f'kind = "fasta"\nfasta = "{bound}"\nbackground = "{background}"')
    return f'''name = "scale"
[data]
{data}
cache = "{cache}"
[model]
arch = "{arch}"
params = {params}
[train]
epochs = {epochs}
batch_size = {batch}
lr = 0.001
patience = 0
device = "cpu"
'''


# ---- 1. throughput ------------------------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def throughput(work: Path, n: int, length: int, epochs: int = 2, batch: int = 128) -> dict[str, float]:
    folder = work / "throughput"
    folder.mkdir(parents=True, exist_ok=True)
    bound, background = write_pair(folder, n, length, seed=1)
    cfg = folder / "run.toml"
    cfg.write_text(config_text(bound, background, cache="off", epochs=epochs, batch=batch, filters=32))
    env = {**os.environ, "PYTHONPATH": str(REPO), "BIODEEP_HOME": str(work / "home")}
    out = {}
    for key, procs, threads in (("1p", 1, os.cpu_count() or 1), ("1p1t", 1, 1), ("2p", 2, 1)):
        run = folder / f"run{key}"
        shutil.rmtree(run, ignore_errors=True)
        cmd = ([sys.executable, "-m", "biodeep_gui"] if procs == 1 else
               [str(Path(sys.executable).with_name("torchrun")), f"--nproc_per_node={procs}",
                f"--master_port={_free_port()}", "-m", "biodeep_gui"])
        subprocess.run(cmd + ["train", "--config", str(cfg), "--out", str(run), "--quiet"], check=True, cwd=folder,
                       env={**env, "OMP_NUM_THREADS": str(threads)}, stdout=subprocess.DEVNULL)
        rows = list(csv.DictReader(open(run / "history.csv")))
        n_train = int(round(n * 0.8))
        elapsed = float(rows[-1]["elapsed_s"])
        out[key] = n_train * len(rows) / elapsed
        doc = json.loads((run / "run.json").read_text())
        print(f"  {procs} process(es): {out[key]:,.0f} samples/s (train + validation, {len(rows)} epochs of "
              f"{n_train:,} x {length} bp, world_size={doc['provenance'].get('world_size')}, "
              f"backend={doc['provenance'].get('backend')}, {threads} thread(s) each)", flush=True)
    print(f"  ratio 2 processes / 1 process: {out['2p'] / out['1p']:.2f} (vs 1 process with {os.cpu_count()} threads), "
          f"{out['2p'] / out['1p1t']:.2f} (vs 1 process with 1 thread)", flush=True)
    return out


# ---- 2. memory ----------------------------------------------------------------------------------------------------

_CHILD = r'''
import json, sys, threading, time
from biodeep_gui.core.common.system import process_memory
peak = [0]
stop = threading.Event()
def sample():
    while not stop.is_set():
        peak[0] = max(peak[0], process_memory(field="RssAnon") or 0)
        time.sleep(0.01)
threading.Thread(target=sample, daemon=True).start()
import torch
from biodeep_gui.core.sequences.config import RunConfig
from biodeep_gui.core.sequences import cache
from biodeep_gui.core.sequences.pipeline import RunSummary, train_run
after_import = process_memory(field="RssAnon")
cfg = RunConfig.load(sys.argv[1])
t = time.perf_counter()
ss = cache.load_cached(cfg.data, seed=cfg.train.seed)  # the seed train_run loads with: a BED set's key
build_s = time.perf_counter() - t
folder = ss.cache_dir
del ss
t = time.perf_counter()
from biodeep_gui.core.training.loop import BatchReport
pre = None  # peak while loading and splitting (before the first batch); then the peak is restarted
for x in train_run(cfg, sys.argv[2]):
    if pre is None and isinstance(x, BatchReport):
        pre, peak[0] = peak[0], 0
    if isinstance(x, RunSummary):
        summary = x
train_s = time.perf_counter() - t
stop.set()
time.sleep(0.02)
size = sum(p.stat().st_size for p in folder.iterdir())
man = json.loads((folder / "manifest.json").read_text())
print(json.dumps({"peak_anon": max(peak[0], pre or 0), "peak_load_split": pre, "peak_train": peak[0],
                  "after_import_anon": after_import, "build_s": build_s, "train_s": train_s,
                  "cache_bytes": size, "n": man["n"], "length": man["length"],
                  "test_auroc": summary.metrics.get("test_auroc")}))
'''


def memory(work: Path, sizes: list[int], length: int, arch: str = "mlp") -> list[dict]:
    results = []
    for n in sizes:
        folder = work / f"mem{n}"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        t = time.perf_counter()
        bound, background = write_pair(folder, n, length)
        fasta_bytes = bound.stat().st_size + background.stat().st_size
        cfg = folder / "run.toml"
        cfg.write_text(config_text(bound, background, cache="on", epochs=1, batch=512, filters=8,
                                   arch=arch))
        home = folder / "home"
        env = {**os.environ, "PYTHONPATH": str(REPO), "BIODEEP_HOME": str(home)}
        proc = subprocess.run([sys.executable, "-c", _CHILD, str(cfg), str(folder / "run")], env=env, cwd=folder,
                              capture_output=True, text=True)
        if proc.returncode:
            raise SystemExit(proc.stderr[-3000:])
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        r.update(fasta_bytes=fasta_bytes, sizes_n=n)
        mib = lambda b: b / 2**20  # noqa: E731
        print(f"  {n:>9,} x {length} bp: FASTA {mib(fasta_bytes):7.1f} MiB | peak RssAnon {mib(r['peak_anon']):6.1f} MiB "
              f"(loading + split {mib(r['peak_load_split'] or 0):.1f}, training + test {mib(r['peak_train']):.1f}; "
              f"after import torch: {mib(r['after_import_anon']):.1f}) | cache build {mib(fasta_bytes) / r['build_s']:5.1f} "
              f"MiB/s ({r['build_s']:.1f} s) | {r['cache_bytes'] / (r['n'] * r['length']):.3f} bytes/base on disk | "
              f"train {r['train_s']:.0f} s, test AUROC {r['test_auroc']:.3f}  (data written in "
              f"{time.perf_counter() - t - r['build_s'] - r['train_s']:.0f} s)", flush=True)
        results.append(r)
        shutil.rmtree(folder, ignore_errors=True)
    print_slope(results, "fasta_bytes", "FASTA", "sequences", goal=" (goal <= 0.15)")
    return results



def print_slope(results: list[dict], size_key: str, of: str, counted: str, goal: str = "") -> None:
    """The growth of peak RssAnon (whole run, and per phase) between the smallest and the largest size measured."""
    if len(results) < 2:
        return
    a, b = results[0], results[-1]
    grown = b[size_key] - a[size_key]
    print(f"  slope of peak RssAnon: {(b['peak_anon'] - a['peak_anon']) / grown:.3f} MiB per MiB of {of} between "
          f"{a['sizes_n']:,} and {b['sizes_n']:,} {counted}{goal}")
    for key, what in (("peak_load_split", "loading + split"), ("peak_train", "training + test")):
        if a[key] is None or b[key] is None:  # the memory sampler saw no sample of a phase this short
            print(f"    of which {what}: not measured (the phase ended before the first sample)")
            continue
        print(f"    of which {what}: {(b[key] - a[key]) / grown:.3f} MiB per MiB")

def bed_memory(work: Path, sizes: list[int], width: int, arch: str = "mlp") -> list[dict]:
    """Section 4: BED peaks + genome through the encoded cache, in a fresh process per size."""
    results = []
    mib = lambda b: b / 2**20  # noqa: E731
    for n in sizes:
        folder = work / f"bed{n}"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        bed, genome = write_bed_genome(folder, n, width)
        cfg = folder / "run.toml"
        cfg.write_text(config_text(bed, genome, cache="on", epochs=1, batch=512, filters=8, arch=arch,
                                   bed_width=width))
        env = {**os.environ, "PYTHONPATH": str(REPO), "BIODEEP_HOME": str(folder / "home")}
        proc = subprocess.run([sys.executable, "-c", _CHILD, str(cfg), str(folder / "run")], env=env, cwd=folder,
                              capture_output=True, text=True)
        if proc.returncode:
            raise SystemExit(proc.stderr[-3000:])
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        r.update(windows_bytes=r["n"] * r["length"], sizes_n=n)
        print(f"  {n:>9,} peaks x {width} bp (BED {mib(bed.stat().st_size):5.1f} MiB, genome "
              f"{mib(genome.stat().st_size):6.1f} MiB): {r['n']:,} windows, {mib(r['windows_bytes']):6.1f} MiB | "
              f"peak RssAnon {mib(r['peak_anon']):6.1f} MiB (loading + split {mib(r['peak_load_split'] or 0):.1f}, "
              f"training + test {mib(r['peak_train']):.1f}; after import torch: {mib(r['after_import_anon']):.1f}) | "
              f"cache build {mib(r['windows_bytes']) / r['build_s']:5.2f} MiB of windows/s, "
              f"{n / r['build_s']:,.0f} peaks/s ({r['build_s']:.1f} s) | "
              f"{r['cache_bytes'] / r['windows_bytes']:.3f} bytes/base on disk", flush=True)
        results.append(r)
        shutil.rmtree(folder, ignore_errors=True)
    print_slope(results, "windows_bytes", "windows", "peaks")
    return results


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="500000,1000000,2000000" if not quick.active() else "2000,4000")
    ap.add_argument("--length", type=int, default=200)
    ap.add_argument("--throughput-n", type=int, default=quick.size(20000, 600))
    ap.add_argument("--bed-sizes", default="50000,200000" if not quick.active() else "300,600")
    ap.add_argument("--work", default="")
    ap.add_argument("--skip-throughput", action="store_true")
    ap.add_argument("--skip-memory", action="store_true")
    ap.add_argument("--skip-bed", action="store_true")
    a = ap.parse_args(argv)
    if quick.active():  # a testing aid (tests/test_readme.py): figures from tiny sizes mean nothing
        print(quick.notice(what="benchmark sizes reduced"), file=sys.stderr, flush=True)
    work = Path(a.work or tempfile.mkdtemp(prefix="biodeep-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    import platform

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPU(s), "
          f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB RAM, {platform.platform()}")
    if not a.skip_throughput:
        print("data-parallel throughput (CPU, gloo):", flush=True)
        throughput(work, a.throughput_n, a.length)
    if not a.skip_memory:
        print("peak anonymous memory with the encoded cache (fresh process, torch imported, build + 1 epoch):",
              flush=True)
        memory(work, [int(s) for s in a.sizes.split(",")], a.length)
    if not a.skip_bed:
        print("BED peaks + genome through the encoded cache (fresh process, torch imported, build + 1 epoch):",
              flush=True)
        bed_memory(work, [int(s) for s in a.bed_sizes.split(",")], a.length)
    if not a.work:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
