"""Sequence loading throughput and memory: ``load_fasta_pair`` vs reading all records then encoding them.

Writes N x L bp random DNA as two FASTA files (half bound, half background) in a temp folder, then, each in a
fresh process so peak memory is its own:

- ours: ``sequences.load_fasta_pair`` (stream, check, encode in batches into one growing uint8 buffer);
- ours, varied lengths: the same on a file whose lengths vary +-25 % (length=0: padded in place to the longest);
- naive: ``sequences.read_records`` on both files (every record kept as Python strings), then ``encode`` +
  ``fit_length`` of each record into a preallocated (N, L) uint8 array.

Figures: MB/s of FASTA parsed + encoded (file bytes / wall time, and / CPU time, the fairer figure on a shared
machine), peak RSS growth (the kernel's high-water mark, reset before the load) and tracemalloc
peak (separate runs: tracing slows allocation) per stored base (N x L codes), and how much of that the id
strings take. Prints figures, asserts nothing.

    python bench/encode_throughput.py [--n 1000000] [--length 200]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from biodeep_gui.core.common import quick  # noqa: E402 (after the path set-up)


def write_fasta(path: str, n: int, length: int, seed: int, vary: bool, offset: int) -> None:
    rng = np.random.default_rng(seed)
    letters = np.frombuffer(b"ACGT", np.uint8)
    block = 50_000
    with open(path, "wb") as f:
        for s in range(0, n, block):
            k = min(block, n - s)
            if vary:
                lens = rng.integers(int(length * 0.75), int(length * 1.25) + 1, k)
            else:
                lens = np.full(k, length)
            flat = letters[rng.integers(0, 4, int(lens.sum()))].tobytes()
            out, p = [], 0
            for i, m in enumerate(lens):
                out.append(b">seq%d\n%s\n" % (offset + s + i, flat[p:p + m]))
                p += m
            f.write(b"".join(out))


def child(mode: str, pos: str, neg: str, length: int, trace: bool) -> dict:
    """Runs in a fresh process: one load, its time and memory."""
    import resource
    import tracemalloc

    sys.path.insert(0, ROOT)
    import Bio.SeqIO.FastaIO  # noqa: F401  imports out of the measurement

    from biodeep_gui.core.common.system import process_memory
    from biodeep_gui.core.sequences.encoding import encode, fit_length
    from biodeep_gui.core.sequences.fasta import load_fasta_pair, read_records
    # ru_maxrss survives exec (it would report the parent's peak): use the kernel's per-process high-water
    # mark, reset to the current RSS right before the load (Linux; falls back to ru_maxrss elsewhere).
    linux = os.path.exists("/proc/self/clear_refs")
    if linux:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        rss0 = process_memory("VmRSS") or 0
    else:
        rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    if trace:
        tracemalloc.start()
    t, cpu = time.perf_counter(), time.process_time()
    if mode == "naive":
        records = read_records(pos) + read_records(neg)
        n = len(records)
        L = length or max(len(s) for _, s in records)
        codes = np.empty((n, L), np.uint8)
        for i, (_, seq) in enumerate(records):
            codes[i] = fit_length(encode(seq), L)
        ids = [title.split(None, 1)[0] for title, _ in records]
        del records
    else:
        ss = load_fasta_pair(pos, neg, length=length)
        codes, ids = ss.codes, ss.ids
    wall, cpu = time.perf_counter() - t, time.process_time() - cpu
    peak_traced = tracemalloc.get_traced_memory()[1] if trace else 0
    rss1 = (process_memory("VmHWM") or 0) if linux else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    ids_bytes = sys.getsizeof(ids) + sum(sys.getsizeof(i) for i in ids)
    return {"wall": wall, "cpu": cpu, "rss_growth": rss1 - rss0, "traced_peak": peak_traced,
            "bases": int(codes.size), "n": int(codes.shape[0]), "L": int(codes.shape[1]), "ids_bytes": ids_bytes}


def run_child(mode, pos, neg, length, trace) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", mode, pos, neg, str(length), str(int(trace))],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        mode, pos, neg, length, trace = sys.argv[2:7]
        print(json.dumps(child(mode, pos, neg, int(length), bool(int(trace)))))
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=quick.size(1_000_000, 2_000), help="records in all (half per file)")
    ap.add_argument("--length", type=int, default=200)
    ap.add_argument("--skip-naive", action="store_true", help="leave out the read-everything baseline")
    a = ap.parse_args()
    if quick.active():  # a testing aid (tests/test_readme.py): figures from tiny sizes mean nothing
        print(quick.notice(what="benchmark sizes reduced"), file=sys.stderr, flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        files = {}
        for vary in (False, True):
            pos, neg = os.path.join(tmp, f"pos{int(vary)}.fa"), os.path.join(tmp, f"neg{int(vary)}.fa")
            write_fasta(pos, a.n // 2, a.length, 1 + vary, vary, 0)
            write_fasta(neg, a.n - a.n // 2, a.length, 3 + vary, vary, a.n)
            files[vary] = (pos, neg, os.path.getsize(pos) + os.path.getsize(neg))
        cases = [("ours", False, a.length), ("ours, varied lengths (length=0)", True, 0)]
        if not a.skip_naive:
            cases.append(("naive read_records + encode", False, a.length))
        print(f"{a.n:,} records x {a.length} bp; FASTA {files[False][2] / 1e6:.0f} MB "
              f"(varied: {files[True][2] / 1e6:.0f} MB); {os.cpu_count()} CPUs, load average "
              f"{os.getloadavg()[0]:.1f}")
        print(f"{'case':34s} {'wall s':>7s} {'MB/s':>7s} {'CPU s':>6s} {'MB/CPU-s':>9s} {'RSS B/base':>11s} "
              f"{'traced B/base':>14s} {'ids B/base':>11s}")
        rates = {}
        for name, vary, length in cases:
            pos, neg, size = files[vary]
            mode = "naive" if name.startswith("naive") else "ours"
            r = run_child(mode, pos, neg, length, False)
            rt = run_child(mode, pos, neg, length, True)
            rates[name] = size / 1e6 / r["wall"]
            print(f"{name:34s} {r['wall']:7.2f} {rates[name]:7.1f} {r['cpu']:6.2f} {size / 1e6 / r['cpu']:9.1f} "
                  f"{r['rss_growth'] / r['bases']:11.2f} "
                  f"{rt['traced_peak'] / rt['bases']:14.2f} {r['ids_bytes'] / r['bases']:11.2f}   "
                  f"(N={r['n']:,}, L={r['L']})")
        if not a.skip_naive:
            print(f"speed ratio ours / naive: {rates['ours'] / rates['naive read_records + encode']:.2f}x")


if __name__ == "__main__":
    main()
