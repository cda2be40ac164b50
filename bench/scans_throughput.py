"""Brain-scan benchmarks (figures only, no assertions): run with ``python bench/scans_throughput.py``.

1. Autoencoder training throughput, subjects/s, for each fast path (``core/scans/models/fastpath.py``): fp32 and
   channels_last_3d, plus bf16 autocast and bf16 + channels_last_3d when CUDA is available. In each column BioDeep's
   trainer (``training.fit`` over ``VolumeBatches``, masked MSE, per-epoch validation with the voxelwise-correlation
   metric, the fast path applied as ``steps.fit_autoencoder`` applies it) runs against a plain PyTorch loop on the
   same model, data, mask, optimiser, batch size and fast path (tensors in memory, random batches, the same
   validation forward pass each epoch). The two are run alternately, several rounds, and the medians compared:
   ratio = ours / plain (goal >= 0.95); "ours vs fp32" is each column's speed-up over our fp32 column.
2. Peak memory of streaming a 200-subject cohort of 61 x 73 x 61 float32 volumes from the ``.npy`` cache
   (memory-mapped, one batch at a time, each batch encoded by the autoencoder) against the cohort's full size, each
   measured in a fresh process (peak RSS minus the RSS before the pass). The in-memory (preloaded) source is
   measured the same way for contrast.

Options: ``--grid 31,37,31`` (throughput grid; the demo's 6-mm grid), ``--subjects 32``, ``--epochs 3``,
``--rounds 3``, ``--threads N`` (torch threads; default torch's), ``--device auto|cpu|cuda`` (auto: CUDA when
available), ``--skip-memory``.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from biodeep_gui.core.common import quick  # noqa: E402 (after the path set-up)


def _cohort(n: int, shape: tuple[int, int, int], seed: int = 0) -> np.ndarray:
    """(n, X, Y, Z) SYNTHETIC volumes (core.synthetic_scans), z-scored inside the brain, 0 outside."""
    from biodeep_gui.core.scans.synthetic import synthetic_volume

    rng = np.random.default_rng(seed)
    vols = np.stack([synthetic_volume(shape, rng, patient=bool(i % 2), site=i % 2)[0] for i in range(n)])
    mask = vols.mean(axis=0) > 0.3 * vols.mean(axis=0).max()
    inside = vols[:, mask]
    vols = (vols - inside.mean(axis=1)[:, None, None, None]) / inside.std(axis=1)[:, None, None, None]
    return (vols * mask).astype(np.float32), mask


def _machine(device) -> str:
    """The machine in words: the GPU's name, or the CPU model and the torch threads."""
    import platform

    import torch

    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)} (torch {torch.__version__})"
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            model = next((line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")), model)
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores, {torch.get_num_threads()} torch threads (torch {torch.__version__})"


def fast_paths(device) -> list:
    """The fast-path columns: fp32 and channels_last_3d everywhere; bf16 autocast only on CUDA, where
    ``training.fit`` uses it (on the CPU our trainer never autocasts, so a CPU bf16 column would compare nothing)."""
    from biodeep_gui.core.scans.models.fastpath import PLAIN, FastPath

    if device.type == "cuda":
        return [PLAIN, FastPath(amp=True), FastPath(channels_last=True), FastPath(amp=True, channels_last=True)]
    return [PLAIN, FastPath(channels_last=True)]


def throughput(args) -> None:
    import torch

    from biodeep_gui.core.scans.batches import VolumeBatches
    from biodeep_gui.core.scans.evaluation import ReconstructionObjective
    from biodeep_gui.core.scans.models.autoencoder3d import Autoencoder3D
    from biodeep_gui.core.training.config import TrainConfig
    from biodeep_gui.core.training.loop import FitResult, fit

    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available() else
                          "cpu" if args.device == "auto" else args.device)
    shape = tuple(int(v) for v in args.grid.split(","))
    n_val = max(1, args.subjects // 8)
    vols, mask = _cohort(args.subjects + n_val, shape)
    train, val = vols[:args.subjects], vols[args.subjects:]

    def model():
        torch.manual_seed(0)
        return Autoencoder3D(shape, depth=3, channels=8, code_size=64, noise_std=0.1)

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize()

    def ours(fast) -> float:
        # the training step path of steps.fit_autoencoder: the fast path applied to the model and the batch
        # sources, fit with the config's amp, validation by the objective's evaluate on the model's fast path
        m = fast.apply(model())
        tr = VolumeBatches(list(train), mask, preload=True, memory_format=fast.memory_format)
        va = VolumeBatches(list(val), mask, preload=True, memory_format=fast.memory_format)
        cfg = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=1e-3, patience=0,
                          monitor="correlation", amp=fast.amp)
        objective = ReconstructionObjective(mask)
        sync()
        t0 = time.perf_counter()
        for item in fit(m, tr, va, objective, cfg, device=device, val_targets=None):
            if isinstance(item, FitResult):
                break
        sync()
        return args.subjects * args.epochs / (time.perf_counter() - t0)

    def plain(fast) -> float:
        # what one would write by hand for the same fast path: model and batches in its layout, autocast around
        # the forward pass, the loss in float32
        fmt = torch.channels_last_3d if fast.channels_last else torch.contiguous_format
        m = model().to(device, memory_format=fmt)
        opt = torch.optim.Adam(m.parameters(), lr=1e-3)
        x_all = torch.from_numpy(train[:, None]).to(device)
        x_val = torch.from_numpy(val[:, None]).to(device)
        w = torch.from_numpy(mask.astype(np.float32))[None, None].to(device)
        gen = torch.Generator().manual_seed(0)
        sync()
        t0 = time.perf_counter()
        for _ in range(args.epochs):
            m.train()
            for idx in torch.randperm(len(x_all), generator=gen).split(args.batch_size):
                x = x_all[idx.to(device)].contiguous(memory_format=fmt)
                with torch.autocast(device.type, dtype=torch.bfloat16, enabled=fast.amp):
                    out = m(x)
                loss = (((out.float() - x) ** 2) * w).sum() / (w.sum() * len(x))
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
            m.eval()
            with torch.inference_mode():
                for xv in x_val.split(16):
                    with torch.autocast(device.type, dtype=torch.bfloat16, enabled=fast.amp):
                        out = m(xv.contiguous(memory_format=fmt))
                    float((((out.float() - xv) ** 2) * w).sum())
        sync()
        return args.subjects * args.epochs / (time.perf_counter() - t0)

    paths = fast_paths(device)
    for fast in paths:  # warm-up (allocator, oneDNN / cuDNN primitives of each layout and precision)
        ours(fast)
        plain(fast)
    rates: dict[str, tuple[list[float], list[float]]] = {f.label: ([], []) for f in paths}
    for r in range(args.rounds):  # alternate which goes first, so drifts in machine load hit both alike
        for fast in paths:
            a, b = rates[fast.label]
            if r % 2:
                b.append(plain(fast))
                a.append(ours(fast))
            else:
                a.append(ours(fast))
                b.append(plain(fast))
    print(f"autoencoder training on {device}: {_machine(device)}")
    print(f"grid {'x'.join(map(str, shape))}, {args.subjects} subjects, batch {args.batch_size}, "
          f"{args.epochs} epochs, {args.rounds} rounds (medians, subjects/s):")
    print(f"  {'fast path':<26}{'BioDeep fit':>12}{'plain loop':>12}{'ours/plain':>12}{'ours vs fp32':>14}")
    base = statistics.median(rates[paths[0].label][0])
    for fast in paths:
        a, b = rates[fast.label]
        ra, rb = statistics.median(a), statistics.median(b)
        print(f"  {fast.label:<26}{ra:12.2f}{rb:12.2f}{ra / rb:11.3f}x{ra / base:13.2f}x")
    if device.type != "cuda":
        print("  (bf16 autocast columns need CUDA: training.fit autocasts on CUDA only)")


_CHILD = r"""
import sys, time, numpy as np, torch
sys.path.insert(0, {root!r})
from biodeep_gui.core.scans.batches import VolumeBatches
from biodeep_gui.core.scans.models.autoencoder3d import Autoencoder3D
from biodeep_gui.core.scans.steps import encode
from biodeep_gui.core.common.system import process_memory as rss
torch.set_num_threads(1)
files = sorted(__import__('glob').glob({folder!r} + '/*.npy'))
shape = np.load(files[0], mmap_mode='r').shape
mask = np.ones(shape, bool)
model = Autoencoder3D(shape, depth=3, channels=8, code_size=64).eval()
with torch.inference_mode():
    model(torch.zeros(1, 1, *shape))  # allocations of the first forward pass belong to the baseline
class Lazy:
    def __len__(self): return len(files)
    def __getitem__(self, i): return np.load(files[i], mmap_mode='r')
base = rss('VmRSS')
src = VolumeBatches(Lazy(), mask, preload={preload})
codes = encode(model, src, batch_size=8)
peak = rss('VmHWM')
print(base, peak, codes.shape[0])
"""


def memory(args) -> None:
    shape = (61, 73, 61) if not quick.active() else (16, 19, 16)
    n = quick.size(200, 16)
    with tempfile.TemporaryDirectory(prefix="biodeep-bench-") as folder:
        distinct, _ = _cohort(8, shape, seed=1)
        rng = np.random.default_rng(0)
        for i in range(n):  # 200 cache files, as Preprocessor writes them (one .npy per subject)
            v = distinct[i % 8] + rng.normal(0, 0.05, shape).astype(np.float32)
            np.save(os.path.join(folder, f"sub{i:03d}.npy"), v.astype(np.float32))
        full = n * int(np.prod(shape)) * 4
        print(f"cohort: {n} subjects of {'x'.join(map(str, shape))} float32 = {full / 2 ** 20:.0f} MiB")
        for preload in (False, True):
            code = _CHILD.format(root=str(ROOT), folder=folder, preload=preload)
            out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
            base, peak, encoded = (int(v) for v in out.split())
            what = "streamed (memory-mapped cache, batch 8)" if not preload else "preloaded in memory"
            print(f"  {what:<42} peak RSS +{(peak - base) / 2 ** 20:7.0f} MiB over the baseline "
                  f"({(peak - base) / full:.2f} x the cohort; {encoded} subjects encoded)")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--grid", default="31,37,31" if not quick.active() else "8,10,8")
    p.add_argument("--subjects", type=int, default=quick.size(32, 6))
    p.add_argument("--epochs", type=int, default=quick.size(3, 1))
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--rounds", type=int, default=quick.size(3, 1))
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--device", default="auto", help="auto (CUDA when available), cpu, cuda, cuda:N")
    p.add_argument("--skip-memory", action="store_true")
    p.add_argument("--skip-throughput", action="store_true")
    args = p.parse_args()
    if quick.active():  # a testing aid (tests/test_readme.py): figures from tiny sizes mean nothing
        print(quick.notice(what="benchmark sizes reduced"), file=sys.stderr, flush=True)
    if not args.skip_throughput:
        throughput(args)
    if not args.skip_memory:
        memory(args)


if __name__ == "__main__":
    main()
