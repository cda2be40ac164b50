"""Variant scoring throughput: ``biodeep variants`` (core.sequences.variants) vs a plain numpy + torch loop.

Writes a random genome (two chromosomes), N random SNVs as a VCF and a run folder holding a DeepBind-style CNN
(the app's defaults: 32 filters of 19 bp; random weights, which cost the same as trained ones) of input length L,
then, in one process, side by side:

- ours: ``score_variants(run, vcf, genome)`` run to the end: VCF parsed with cyvcf2, REF checked against the
  genome, ref/alt windows built, scored on both strands, table assembled;
- plain loop: the chromosomes already in memory as uint8 codes and the SNVs already as numpy arrays (no VCF
  parsing, no REF check): per batch, ref windows by fancy indexing, alt = ref with the centre base replaced,
  reverse complements, one-hot on the device, ``model(x)``, strands averaged.

Both use the same batch size (windows per forward pass), device and strand averaging. Prints variants/s of each
and the ratio (goal >= 0.9); asserts nothing.

    python bench/variants_throughput.py [--n 20000] [--full] [--length 200] [--device cpu] [--repeats 2]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from biodeep_gui.core.common import quick  # noqa: E402 (after the path set-up)


def make_inputs(folder: str, n: int, length: int, seed: int = 0):
    import torch

    from biodeep_gui.core.sequences.config import DataConfig, ModelConfig, RunConfig
    from biodeep_gui.core.sequences.models import build_model, get_architecture
    from biodeep_gui.core.sequences.run import ModelInfo, write_run
    from biodeep_gui.core.training.config import TrainConfig

    rng = np.random.default_rng(seed)
    sizes = {"chr1": 3_000_000, "chr2": 2_000_000}
    chroms = {c: rng.integers(0, 4, s).astype(np.uint8) for c, s in sizes.items()}
    letters = np.frombuffer(b"ACGT", np.uint8)
    with open(os.path.join(folder, "genome.fa"), "wb") as f:
        for c, codes in chroms.items():
            f.write(b">" + c.encode() + b"\n")
            text = letters[codes].tobytes()
            f.write(b"\n".join(text[i:i + 60] for i in range(0, len(text), 60)) + b"\n")
    per = {"chr1": n * 3 // 5, "chr2": n - n * 3 // 5}
    snv = {}
    lines = ["##fileformat=VCFv4.2"] + [f"##contig=<ID={c},length={s}>" for c, s in sizes.items()]
    lines.append("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO")
    for c, k in per.items():
        pos0 = np.sort(rng.choice(np.arange(1000, sizes[c] - 1000), k, replace=False))
        ref = chroms[c][pos0]
        alt = (ref + rng.integers(1, 4, k)) % 4
        snv[c] = (pos0, alt.astype(np.uint8))
        lines += [f"{c}\t{p + 1}\t.\t{'ACGT'[r]}\t{'ACGT'[a]}\t.\t.\t." for p, r, a in zip(pos0, ref, alt)]
    with open(os.path.join(folder, "snvs.vcf"), "w") as f:
        f.write("\n".join(lines) + "\n")

    torch.manual_seed(seed)
    params = get_architecture("cnn").resolve({})
    model = build_model("cnn", length, 1, params)
    info = ModelInfo("cnn", params, length, 1, "binary", ["bound"], ["background", "bound"])
    cfg = RunConfig(DataConfig(), ModelConfig("cnn", params), TrainConfig())
    write_run(os.path.join(folder, "run"), cfg, info, model.state_dict(), history=[], metrics={}, status="complete",
              provenance_info={})
    return chroms, snv


def plain_loop(model, chroms, snv, length: int, batch_size: int, device) -> np.ndarray:
    """Scores (N,) alt - ref logits of every SNV, both strands averaged, in the simplest fast way."""
    import torch

    from biodeep_gui.core.sequences.encoding import COMPLEMENT_CODES, ONE_HOT_TABLE

    table = torch.from_numpy(ONE_HOT_TABLE).to(device)
    half = length // 2
    arange = np.arange(length)
    out = []
    per_batch = max(1, batch_size // 4)  # 4 windows per SNV: ref, alt and their reverse complements
    with torch.inference_mode():
        for c, (pos0, alt) in snv.items():
            g = chroms[c]
            for s in range(0, len(pos0), per_batch):
                p = pos0[s:s + per_batch]
                ref = g[(p - half)[:, None] + arange[None, :]]
                alt_w = ref.copy()
                alt_w[:, half] = alt[s:s + per_batch]
                x = np.concatenate([ref, alt_w, COMPLEMENT_CODES[ref][:, ::-1], COMPLEMENT_CODES[alt_w][:, ::-1]])
                xt = torch.from_numpy(np.ascontiguousarray(x)).to(device)
                onehot = torch.nn.functional.embedding(xt.long(), table).transpose(1, 2)
                raw = model(onehot).float().cpu().numpy()[:, 0]
                m = len(p)
                out.append((raw[m:2 * m] + raw[3 * m:]) / 2 - (raw[:m] + raw[2 * m:3 * m]) / 2)
    return np.concatenate(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=quick.size(20_000, 500), help="number of SNVs (default 20,000)")
    ap.add_argument("--full", action="store_true", help="100,000 SNVs (the issue's figure)")
    ap.add_argument("--length", type=int, default=200, help="model input length (default 200)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--batch-size", type=int, default=512, help="windows per forward pass (default 512)")
    ap.add_argument("--repeats", type=int, default=quick.size(2, 1), help="timed runs of each; the best is kept (default 2)")
    a = ap.parse_args(argv)
    if quick.active():  # a testing aid (tests/test_readme.py): figures from tiny sizes mean nothing
        print(quick.notice(what="benchmark sizes reduced"), file=sys.stderr, flush=True)
    n = 100_000 if a.full else a.n

    import torch

    from biodeep_gui.core.sequences.interpret.progress import drain
    from biodeep_gui.core.sequences.run import load_run
    from biodeep_gui.core.sequences.variants import score_variants
    from biodeep_gui.core.training.loop import resolve_device

    device = resolve_device(a.device)
    sync = (lambda: torch.cuda.synchronize()) if device.type == "cuda" else (lambda: None)  # noqa: E731
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        chroms, snv = make_inputs(tmp, n, a.length)
        print(f"{n:,} SNVs, L = {a.length}, DeepBind CNN (32 x 19), batch {a.batch_size} windows, both strands, "
              f"device {device} ({torch.get_num_threads()} torch threads); inputs written in "
              f"{time.perf_counter() - t0:.1f} s")
        run = load_run(os.path.join(tmp, "run"))
        model = run.model().to(device).eval()
        vcf, genome = os.path.join(tmp, "snvs.vcf"), os.path.join(tmp, "genome.fa")
        # warm-up (index the genome, first torch calls)
        drain(score_variants(run, vcf, genome, device=str(device), batch_size=a.batch_size))
        plain_loop(model, chroms, {c: (p[:256], x[:256]) for c, (p, x) in snv.items()}, a.length, a.batch_size,
                   device)
        best_ours, best_plain = np.inf, np.inf
        for _ in range(a.repeats):
            sync()
            t = time.perf_counter()
            eff = drain(score_variants(run, vcf, genome, device=str(device), batch_size=a.batch_size))
            sync()
            best_ours = min(best_ours, time.perf_counter() - t)
            t = time.perf_counter()
            ref = plain_loop(model, chroms, snv, a.length, a.batch_size, device)
            sync()
            best_plain = min(best_plain, time.perf_counter() - t)
        assert eff.n_scored == n
        same = np.allclose(eff.logit_delta[:, 0], ref, atol=1e-4)
    ours, plain = n / best_ours, n / best_plain
    print(f"ours (biodeep variants core): {ours:10,.0f} variants/s  ({best_ours:.2f} s)")
    print(f"plain numpy + torch loop:     {plain:10,.0f} variants/s  ({best_plain:.2f} s)")
    print(f"ratio ours / plain: {ours / plain:.2f}x (goal >= 0.9); same logit deltas: {same}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
