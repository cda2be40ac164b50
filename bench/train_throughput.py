"""Training throughput: BioDeep's trainer vs a plain PyTorch loop (the ceiling) vs the common naive loop.

Same model, same data, same batch size, one process, measured side by side:

- ceiling: a hand-written loop over a pre-encoded float one-hot tensor (N, 4, L) already on the device;
- ours: ``training.fit`` over uint8 codes, one-hot made per batch on the device (includes its validation pass
  on a small validation set and its throttled progress reports);
- naive: a ``Dataset`` that one-hot-encodes each string in ``__getitem__`` + ``DataLoader``.

    python bench/train_throughput.py [--device cpu|cuda] [--arch cnn|cnn-lstm] [--n 20000] [--length 200]
"""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import torch

from biodeep_gui.core.common import quick
from biodeep_gui.core.sequences.batches import SequenceBatches
from biodeep_gui.core.sequences.encoding import decode, one_hot_numpy
from biodeep_gui.core.sequences.models import build_model
from biodeep_gui.core.training.config import TrainConfig
from biodeep_gui.core.training.loop import Objective, fit


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def ceiling(model, x, y, bs, epochs, device):
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    model.train()
    _sync(device)
    t = time.perf_counter()
    for _ in range(epochs):
        perm = torch.randperm(len(x), device=device)
        for s in range(0, len(x), bs):
            idx = perm[s:s + bs]
            loss = loss_fn(model(x[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    _sync(device)
    return len(x) * epochs / (time.perf_counter() - t)


def ours(model, codes, y, val_codes, val_y, bs, epochs, device):
    obj = Objective("binary")
    cfg = TrainConfig(epochs=epochs, batch_size=bs, patience=0)
    for item in fit(model, SequenceBatches(codes, y), SequenceBatches(val_codes, val_y), obj, cfg, device=device,
                    val_targets=val_y):
        pass
    return item.samples_per_s


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


def naive(model, seqs, y, bs, epochs, device):
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    dl = torch.utils.data.DataLoader(NaiveDataset(seqs, y), batch_size=bs, shuffle=True)
    model.train()
    t = time.perf_counter()
    for _ in range(epochs):
        for xb, yb in dl:
            loss = loss_fn(model(xb.to(device)), yb.to(device))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    _sync(device)
    return len(seqs) * epochs / (time.perf_counter() - t)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--arch", default="cnn")
    ap.add_argument("--n", type=int, default=quick.size(20000, 600))
    ap.add_argument("--length", type=int, default=200)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--epochs", type=int, default=quick.size(2, 1))
    a = ap.parse_args()
    if quick.active():  # a testing aid (tests/test_readme.py): figures from tiny sizes mean nothing
        print(quick.notice(what="benchmark sizes reduced"), file=sys.stderr, flush=True)
    device = torch.device(a.device)
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 4, (a.n, a.length)).astype(np.uint8)
    y = rng.integers(0, 2, (a.n, 1)).astype(np.float32)
    val_codes, val_y = codes[:512], y[:512]
    x_dev = torch.from_numpy(one_hot_numpy(codes)).to(device)
    y_dev = torch.from_numpy(y).to(device)
    seqs = [decode(c) for c in codes]

    def fresh():
        torch.manual_seed(0)
        return build_model(a.arch, a.length, 1).to(device)

    ceiling(fresh(), x_dev[:2048], y_dev[:2048], a.batch_size, 1, device)  # warm-up (allocator, kernels)
    results = {}
    for rep in range(2):  # interleaved repeats; keep the best of each
        for name, fn in (("ceiling", lambda: ceiling(fresh(), x_dev, y_dev, a.batch_size, a.epochs, device)),
                         ("ours", lambda: ours(fresh(), codes, y, val_codes, val_y, a.batch_size, a.epochs, device))):
            results[name] = max(results.get(name, 0.0), fn())
    results["naive"] = naive(fresh(), seqs, y, a.batch_size, 1, device)
    print(f"device {device}, arch {a.arch}, N={a.n}, L={a.length}, batch {a.batch_size}, torch {torch.__version__}, "
          f"threads {torch.get_num_threads()}")
    for name, v in results.items():
        print(f"  {name:8s} {v:10.0f} samples/s")
    print(f"  ours / ceiling = {results['ours'] / results['ceiling']:.3f}")
    print(f"  ours / naive   = {results['ours'] / results['naive']:.2f}")


if __name__ == "__main__":
    main()
