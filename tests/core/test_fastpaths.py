"""The fast paths of sequence training: torch.compile (and its fallback), bf16 validation, the prefetching reader.

CUDA-only parts (pinned memory, cuDNN LSTM weights, no host sync per batch) are in the ``gpu`` tests at the end; the
same code paths run on CPU in the others.
"""
import math
import threading
import warnings

import numpy as np
import pytest
import torch

from biodeep_gui.core.sequences.batches import SequenceBatches
from biodeep_gui.core.sequences.config import RunConfig
from biodeep_gui.core.sequences.models import build_model
from biodeep_gui.core.sequences.pipeline import train_run
from biodeep_gui.core.sequences.run import load_run
from biodeep_gui.core.training.config import TrainConfig
from biodeep_gui.core.training.loop import EpochReport, FitResult, Objective, fit, predict_outputs
from biodeep_gui.core.training.reports import StageReport

from .helpers import planted

# dropout 0: inductor draws dropout masks from its own generator, so only a network without dropout trains to the
# same numbers compiled and eager
_CNN = {"filters": 4, "filter_width": 5, "hidden": 4, "dropout": 0.0}


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _fit(cfg: TrainConfig, n: int = 160, length: int = 30):
    ss = planted(n=n, length=length)
    tr, va = np.arange(0, n * 3 // 4), np.arange(n * 3 // 4, n)
    obj = Objective.for_labels(ss.task, ss.labels[tr], ss.n_outputs, False)
    torch.manual_seed(0)
    model = build_model("cnn", ss.length, ss.n_outputs, _CNN)
    items = list(fit(model, SequenceBatches(ss.codes[tr], obj.scale_targets(ss.labels[tr])),
                     SequenceBatches(ss.codes[va], obj.scale_targets(ss.labels[va])), obj, cfg,
                     device=torch.device("cpu"), val_targets=ss.labels[va], report_interval=0.0))
    return items, model


def _losses(items):
    return [r.train_loss for r in items if isinstance(r, EpochReport)]


def test_a_compiled_run_trains_like_eager_and_saves_plain_weights(tmp_path):
    runs = {}
    for compiled in (False, True):
        cfg = RunConfig(name="tiny")
        cfg.model.arch, cfg.model.params = "cnn", dict(_CNN)
        cfg.train.epochs, cfg.train.device, cfg.train.batch_size, cfg.train.compile = 2, "cpu", 32, compiled
        out = tmp_path / f"run-{compiled}"
        items = list(train_run(cfg, out, data=planted(n=160, length=30)))
        # this machine has a C compiler: compilation must have worked, not fallen back
        assert not [i for i in items if isinstance(i, StageReport) and i.stage == "compile"]
        runs[compiled] = (out, _losses(items))
    eager_dir, eager_losses = runs[False]
    compiled_dir, compiled_losses = runs[True]
    assert compiled_losses == pytest.approx(eager_losses, rel=1e-4)
    run = load_run(compiled_dir)
    assert run.config.train.compile is True
    assert set(run.tensors()) == set(build_model("cnn", 30, 1, _CNN).state_dict())  # no "_orig_mod." prefix
    codes = planted(n=40, length=30, seed=5).codes
    assert run.predict(codes) == pytest.approx(load_run(eager_dir).predict(codes), abs=1e-4)


def test_a_failed_compilation_falls_back_to_eager_with_one_note(monkeypatch):
    import torch._dynamo
    import torch._inductor.config as inductor

    # no working C compiler (a real failure of the CPU backend), and no cached kernels that would hide it
    monkeypatch.setattr(inductor.cpp, "cxx", (None, "/nonexistent/bin/c++"))
    monkeypatch.setattr(inductor, "fx_graph_cache", False)
    torch._dynamo.reset()
    cfg = TrainConfig(epochs=2, batch_size=32, patience=0, seed=1, compile=True)
    items, _model = _fit(cfg)
    torch._dynamo.reset()
    notes = [i for i in items if isinstance(i, StageReport)]
    assert len(notes) == 1 and notes[0].stage == "compile"
    assert "training without compilation" in notes[0].message and "\n" not in notes[0].message
    assert isinstance(items[-1], FitResult) and not items[-1].cancelled
    eager, _ = _fit(TrainConfig(epochs=2, batch_size=32, patience=0, seed=1))
    assert _losses(items) == _losses(eager)  # the failed batch was trained again, eagerly


def test_bf16_validation_returns_float32_close_to_fp32():
    ss = planted(n=64, length=30)
    torch.manual_seed(0)
    model = build_model("cnn", 30, 1, _CNN)
    obj = Objective("binary")
    obj.prepare(torch.device("cpu"))
    src = SequenceBatches(ss.codes, ss.labels)
    raw32, loss32 = predict_outputs(model, src, 16, obj)
    raw16, loss16 = predict_outputs(model, src, 16, obj, amp=True)
    assert raw16.dtype == np.float32 and raw16.shape == raw32.shape == (64, 1)
    assert not np.array_equal(raw16, raw32)  # autocast did run the network in bf16
    assert raw16 == pytest.approx(raw32, abs=0.05) and loss16 == pytest.approx(loss32, abs=0.02)
    assert math.isfinite(loss16)


def test_outputs_copied_to_the_host_in_parts_are_the_same(monkeypatch):
    from biodeep_gui.core.training import loop

    ss = planted(n=70, length=30)
    torch.manual_seed(0)
    model = build_model("cnn", 30, 1, _CNN)
    obj = Objective("binary")
    obj.prepare(torch.device("cpu"))
    src = SequenceBatches(ss.codes, ss.labels)
    whole = predict_outputs(model, src, 16, obj)
    monkeypatch.setattr(loop, "HOST_FLUSH_VALUES", 20)  # a copy every 2 batches of 16 outputs
    parts = predict_outputs(model, src, 16, obj)
    assert np.array_equal(whole[0], parts[0]) and whole[0].shape == (70, 1) and whole[1] == parts[1]


def test_amp_stays_off_on_cpu_in_fit():
    # CPU bf16 is usually slower than fp32: amp only acts on CUDA, so a CPU fit is the same with it on
    a, _ = _fit(TrainConfig(epochs=1, batch_size=32, patience=0, amp=True))
    b, _ = _fit(TrainConfig(epochs=1, batch_size=32, patience=0))
    assert _losses(a) == _losses(b)


def _mapped(tmp_path, n=203, length=12):
    rng = np.random.default_rng(0)
    path = tmp_path / "codes.npy"
    np.save(path, rng.integers(0, 4, (n, length)).astype(np.uint8))
    codes = np.load(path, mmap_mode="r")
    return codes, rng.normal(size=(n, 1)).astype(np.float32), rng.permutation(n)[: n - 20]


@pytest.mark.parametrize("shuffle, augment", [(False, False), (True, False), (True, True)])
def test_prefetch_gives_the_same_batches_in_the_same_order(tmp_path, shuffle, augment):
    codes, y, rows = _mapped(tmp_path)
    seen = {}
    for prefetch in (False, True):
        src = SequenceBatches(codes, y[rows], rows=rows, chunk_rows=8, prefetch=prefetch)
        gen = torch.Generator().manual_seed(7)
        seen[prefetch] = list(src.batches(16, shuffle=shuffle, generator=gen, augment=augment))
        assert src.max_in_flight == (2 if prefetch else 1)
    assert len(seen[True]) == len(seen[False]) == -(-len(rows) // 16)
    for (xa, ya), (xb, yb) in zip(seen[False], seen[True]):
        assert torch.equal(xa, xb) and torch.equal(ya, yb)


def test_a_stopped_prefetch_joins_its_thread(tmp_path):
    codes, y, rows = _mapped(tmp_path)
    src = SequenceBatches(codes, y[rows], rows=rows, prefetch=True)
    batches = src.batches(8, shuffle=True, generator=torch.Generator().manual_seed(0))
    next(batches)
    assert any(t.name.startswith("biodeep-prefetch") for t in threading.enumerate())
    batches.close()  # what a cancelled fit does
    assert not any(t.name.startswith("biodeep-prefetch") for t in threading.enumerate())


def test_prefetch_in_fit_trains_like_the_plain_reader(tmp_path):
    ss = planted(n=160, length=30)
    path = tmp_path / "codes.npy"
    np.save(path, ss.codes)
    codes = np.load(path, mmap_mode="r")
    tr, va = np.arange(120), np.arange(120, 160)
    obj = Objective.for_labels(ss.task, ss.labels[tr], 1, False)
    losses = {}
    for prefetch in (False, True):
        torch.manual_seed(0)
        model = build_model("cnn", 30, 1, _CNN)
        cfg = TrainConfig(epochs=2, batch_size=16, patience=0, rc_augment=True)
        items = list(fit(model, SequenceBatches(codes, obj.scale_targets(ss.labels[tr]), rows=tr, prefetch=prefetch),
                         SequenceBatches(codes, obj.scale_targets(ss.labels[va]), rows=va), obj, cfg,
                         device=torch.device("cpu"), val_targets=ss.labels[va]))
        losses[prefetch] = _losses(items)
    assert losses[True] == losses[False] and len(losses[True]) == 2


@pytest.mark.parametrize("flags, expected", [([], False), (["--compile"], True)])
def test_train_compile_flag(flags, expected):
    from biodeep_gui.cli.main import build_parser, config_from_args

    parser, _ = build_parser()
    a = parser.parse_args(["train", "--fasta", "a.fa", "--background", "b.fa", "--out", "r", *flags])
    assert config_from_args(a).train.compile is expected


# ---- CUDA only (skipped without a GPU) ----------------------------------------------------------------------------

@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_danq_fit_has_flat_lstm_weights_and_few_host_syncs(tmp_path):
    ss = planted(n=640, length=60)
    path = tmp_path / "codes.npy"
    np.save(path, ss.codes)
    codes = np.load(path, mmap_mode="r")
    tr, va = np.arange(512), np.arange(512, 640)
    obj = Objective.for_labels(ss.task, ss.labels[tr], 1, False)
    model = build_model("cnn-lstm", 60, 1, {"filters": 8, "pool": 4, "rnn_hidden": 8, "hidden": 8})
    cfg = TrainConfig(epochs=1, batch_size=8, patience=0, amp=True)  # 64 batches
    torch.cuda.set_sync_debug_mode("warn")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            items = list(fit(model, SequenceBatches(codes, obj.scale_targets(ss.labels[tr]), rows=tr),
                             SequenceBatches(ss.codes[va], obj.scale_targets(ss.labels[va])), obj, cfg,
                             device=torch.device("cuda"), val_targets=ss.labels[va], report_interval=1e9))
    finally:
        torch.cuda.set_sync_debug_mode("default")
    assert isinstance(items[-1], FitResult)
    messages = [str(w.message) for w in caught]
    assert not [m for m in messages if "contiguous chunk of memory" in m]  # cuDNN got one flat weight buffer
    # a few syncs per epoch (the epoch's loss, the validation outputs) and at the end (the best weights copied to
    # the host, one per tensor), never one per batch
    assert sum("synchroniz" in m for m in messages) < 32

