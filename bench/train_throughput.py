"""Training throughput: BioDeep's trainer vs a plain PyTorch loop using the same fast path, side by side in one run.

For each model (CNN, DanQ) and each path -- fp32, bf16 autocast, torch.compile, bf16 + compile -- the same model,
data and batch size are trained by:

- plain: a hand-written loop over a pre-encoded float one-hot tensor (N, 4, L) already on the device, with the same
  autocast and ``torch.compile(model, dynamic=False)`` as ``fit`` and a forward pass over the same 512 validation
  sequences per epoch (the ceiling of that path);
- ours: ``training.fit`` with ``TrainConfig(amp=..., compile=...)`` over uint8 codes, one-hot made per batch on the
  device (includes its validation pass on 512 sequences and its throttled progress reports).

The two run side by side, their epochs interleaved (plain, ours, plain, ours, ...) so that a change in the machine's
load hits both alike; each is scored by its median epoch after the first (the first pays for compilation and the
allocator's warm-up on both sides alike). ``fit`` uses bf16 on CUDA only, so on CPU the bf16 rows run the plain
bf16 loop beside the plain fp32 one instead and print their ratio; the compile rows also run the plain eager loop
alongside (does compiling gain here?). The fp32 rows also run the common naive loop
(a ``Dataset`` that one-hot-encodes each string in ``__getitem__`` + ``DataLoader``) alongside.

    python bench/train_throughput.py [--device cpu|cuda] [--archs cnn,cnn-lstm]
        [--paths fp32,bf16,compile,bf16+compile] [--n 20000] [--length 200] [--epochs 5]
"""
from __future__ import annotations

import argparse
import platform
import sys
import time

import numpy as np
import torch

from biodeep_gui.core.common import quick
from biodeep_gui.core.sequences.batches import SequenceBatches
from biodeep_gui.core.sequences.encoding import decode, one_hot_numpy
from biodeep_gui.core.sequences.models import build_model
from biodeep_gui.core.training.config import TrainConfig
from biodeep_gui.core.training.loop import EpochReport, Objective, fit
from biodeep_gui.core.training.reports import StageReport

#: path name -> (bf16 autocast, torch.compile)
PATHS = {"fp32": (False, False), "bf16": (True, False), "compile": (False, True), "bf16+compile": (True, True)}
ARCH_LABELS = {"cnn": "CNN (DeepBind)", "cnn-lstm": "DanQ (CNN + BiLSTM)", "mlp": "fully connected"}


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def plain_epochs(model, x, y, val_x, bs, device, amp, compiled):
    """A hand-written training loop over (x, y) on the device, then a forward pass over ``val_x`` (the work of
    ``fit``'s validation): yields after each epoch (synchronised)."""
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    net = torch.compile(model, dynamic=False) if compiled else model
    while True:
        model.train()
        perm = torch.randperm(len(x), device=device)
        for s in range(0, len(x), bs):
            idx = perm[s:s + bs]
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
                out = net(x[idx])
            loss = loss_fn(out.float(), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        model.eval()
        with torch.inference_mode(), torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
            for s in range(0, len(val_x), max(bs, 256)):
                model(val_x[s:s + max(bs, 256)])
        _sync(device)
        yield


def ours_epochs(model, codes, y, val_codes, val_y, bs, epochs, device, amp, compiled, notes: list[str]):
    """``fit`` with the same fast path: yields after each of its epochs (validation included); its notes (e.g. a
    compile fallback) are appended to ``notes``."""
    cfg = TrainConfig(epochs=epochs, batch_size=bs, patience=0, amp=amp, compile=compiled)
    for item in fit(model, SequenceBatches(codes, y), SequenceBatches(val_codes, val_y), Objective("binary"), cfg,
                    device=device, val_targets=val_y, report_interval=3600.0):
        if isinstance(item, StageReport):
            notes.append(item.message)
        elif isinstance(item, EpochReport):
            yield


def side_by_side(runners: dict, epochs: int, n: int) -> dict[str, float]:
    """Samples/s of each runner (name -> epoch generator), their epochs interleaved (A, B, A, B, ...) so that a
    change of the machine's load hits both alike; the first epoch (compilation, warm-up) is not counted and the
    median epoch time of the others is used."""
    times: dict[str, list[float]] = {name: [] for name in runners}
    for epoch in range(epochs):
        for name, gen in runners.items():
            t = time.perf_counter()
            next(gen)
            if epoch:
                times[name].append(time.perf_counter() - t)
    for gen in runners.values():
        gen.close()
    return {name: n / float(np.median(ts)) for name, ts in times.items()}


class NaiveDataset(torch.utils.data.Dataset):
    def __init__(self, seqs, y):
        self.seqs, self.y = seqs, y

    def __len__(self):
        return len(self.seqs)

    def __getitem__(self, i):
        lut = {"A": 0, "C": 1, "G": 2, "T": 3}
        x = np.zeros((4, len(self.seqs[i])), np.float32)
        for j, ch in enumerate(self.seqs[i]):
            if ch in lut:
                x[lut[ch], j] = 1.0
        return torch.from_numpy(x), self.y[i]


def naive_epochs(model, seqs, y, bs, device):
    """The common naive loop (strings one-hot-encoded in ``__getitem__``, a ``DataLoader``): yields per epoch."""
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    dl = torch.utils.data.DataLoader(NaiveDataset(seqs, y), batch_size=bs, shuffle=True)
    model.train()
    while True:
        for xb, yb in dl:
            loss = loss_fn(model(xb.to(device)), yb.to(device))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        _sync(device)
        yield


def machine(device: torch.device) -> str:
    """The processor (and the GPU on CUDA) the figures were measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            cpu = next((ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")), cpu)
    except OSError:
        pass
    gpu = f", GPU {torch.cuda.get_device_name(device)}" if device.type == "cuda" else ""
    return f"{cpu}{gpu}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--archs", default="cnn" if quick.active() else "cnn,cnn-lstm")
    ap.add_argument("--paths", default="fp32" if quick.active() else ",".join(PATHS),
                    help="comma-separated: " + ", ".join(PATHS))
    ap.add_argument("--n", type=int, default=quick.size(20000, 600))
    ap.add_argument("--length", type=int, default=200)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--epochs", type=int, default=quick.size(5, 2), help="timed: all but the first (>= 2)")
    a = ap.parse_args()
    archs, paths = a.archs.split(","), a.paths.split(",")
    bad = [p for p in paths if p not in PATHS] + [x for x in archs if x not in ARCH_LABELS]
    if bad or a.epochs < 2:
        ap.error(f"unknown path or architecture {bad}" if bad else "--epochs must be at least 2")
    if quick.active():  # a testing aid (tests/test_readme.py): figures from tiny sizes mean nothing
        print(quick.notice(what="benchmark sizes reduced, fp32 CNN only"), file=sys.stderr, flush=True)
    device = torch.device(a.device)
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 4, (a.n, a.length)).astype(np.uint8)
    y = rng.integers(0, 2, (a.n, 1)).astype(np.float32)
    val_codes, val_y = codes[:512], y[:512]
    x_dev = torch.from_numpy(one_hot_numpy(codes)).to(device)
    y_dev = torch.from_numpy(y).to(device)
    val_x = x_dev[:512]
    print(f"machine: {machine(device)}; torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"device {device}, N={a.n}, L={a.length}, batch {a.batch_size}, {a.epochs} epochs each, interleaved; "
          "samples/s of the median epoch after the first")
    print(f"{'model':22s} {'path':13s} {'plain/s':>9s} {'ours/s':>9s} {'ours/plain':>10s}  note")
    for arch in archs:
        def fresh(arch=arch):
            torch.manual_seed(0)
            return build_model(arch, a.length, 1).to(device)

        for path in paths:
            amp, compiled = PATHS[path]
            ours_applies = not amp or device.type == "cuda"  # fit's amp acts on CUDA only
            notes: list[str] = []
            runners = {"plain": plain_epochs(fresh(), x_dev, y_dev, val_x, a.batch_size, device, amp, compiled)}
            if ours_applies:
                runners["ours"] = ours_epochs(fresh(), codes, y, val_codes, val_y, a.batch_size, a.epochs, device,
                                              amp, compiled, notes)
            else:  # what bf16 does to the plain loop here, against its fp32 twin run alongside
                runners["fp32"] = plain_epochs(fresh(), x_dev, y_dev, val_x, a.batch_size, device, False, compiled)
            if compiled and ours_applies:  # does compiling gain? the plain eager loop of the same path alongside
                runners["eager"] = plain_epochs(fresh(), x_dev, y_dev, val_x, a.batch_size, device, amp, False)
            if path == "fp32":  # the common naive loop, for scale
                runners["naive"] = naive_epochs(fresh(), [decode(c) for c in codes], y, a.batch_size, device)
            try:
                rate = side_by_side(runners, a.epochs, a.n)
            except Exception as exc:  # noqa: BLE001 - e.g. torch.compile unsupported here: a row says so
                first = next((ln for ln in str(exc).splitlines() if ln.strip()), type(exc).__name__)
                print(f"{ARCH_LABELS[arch]:22s} {path:13s} not run: {first[:150]}")
                continue
            if ours_applies:
                row = f"{rate['ours']:9.0f} {rate['ours'] / rate['plain']:9.3f}x"
            else:
                row = f"{'-':>9s} {'-':>10s}"
                twin = "compiled " if compiled else ""
                notes.append(f"fit: bf16 on CUDA only; plain bf16 / {twin}plain fp32 alongside = "
                             f"{rate['plain'] / rate['fp32']:.2f}x")
            if "eager" in rate:
                notes.append(f"compile gain: plain compiled / plain eager alongside = "
                             f"{rate['plain'] / rate['eager']:.2f}x")
            if "naive" in rate:
                notes.append(f"naive DataLoader loop {rate['naive']:.0f}/s: ours / naive = "
                             f"{rate['ours'] / rate['naive']:.2f}x")
            print(f"{ARCH_LABELS[arch]:22s} {path:13s} {rate['plain']:9.0f} {row}  {'; '.join(notes)}", flush=True)


if __name__ == "__main__":
    main()
