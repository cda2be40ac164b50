"""The scans fast path (bf16 autocast + channels_last_3d, ``core/scans/models/fastpath.py``), checked on the CPU.

The CUDA fast path is the same code with ``device.type == 'cuda'``: here channels_last_3d runs on the CPU's oneDNN
kernels and bf16 autocast on the CPU's autocast, so the layout handling, the casts to float32 and the run outputs are
exercised; the speed on a GPU is not (``bench/scans_throughput.py --device cuda`` measures it where one exists).
"""
from __future__ import annotations

import copy
import json

import numpy as np
import pytest
import torch

from biodeep_gui.core.scans import steps
from biodeep_gui.core.scans.batches import VolumeBatches
from biodeep_gui.core.scans.cohort import build_cohort
from biodeep_gui.core.scans.config import ScansConfig
from biodeep_gui.core.scans.evaluation import ReconstructionObjective
from biodeep_gui.core.scans.models import fastpath
from biodeep_gui.core.scans.models.autoencoder3d import Autoencoder3D, CNN3DClassifier, DenoisingAutoencoderMLP
from biodeep_gui.core.scans.models.fastpath import PLAIN, FastPath, choose_fast_path, fast_path_of
from biodeep_gui.core.scans.pipeline import train_scans
from biodeep_gui.core.scans.preprocess import Preprocessor
from biodeep_gui.core.scans.run import load_scans_run
from biodeep_gui.core.scans.synthetic import write_demo_cohort
from biodeep_gui.core.training.loop import EpochReport, FitResult

CL = torch.channels_last_3d
GRID = (9, 11, 7)  # odd sizes: the nets pad and crop, which must keep working in either layout


# one torch thread, deterministic algorithms, for every test of this module (tests/conftest.py)
pytestmark = pytest.mark.usefixtures("one_deterministic_thread")


def _is_channels_last(t: torch.Tensor) -> bool:
    """A 5-D tensor laid out channels_last_3d and not in the default layout (channels > 1 tells them apart)."""
    return t.is_contiguous(memory_format=CL) and not t.is_contiguous()


def _config(demo, tmp, **train) -> ScansConfig:
    cfg = ScansConfig()
    d = cfg.data
    d.images, d.labels, d.file_column, d.site_column = str(demo.images), str(demo.table), "FILE_ID", "SITE_ID"
    d.cache_dir = str(tmp / "cache")
    cfg.model.autoencoder = {"depth": 2, "channels": 4, "code_size": 8, "noise_std": 0.1}
    cfg.model.cnn = {"depth": 2, "channels": 4}
    cfg.train.epochs, cfg.train.batch_size, cfg.train.lr = 3, 2, 2e-3
    cfg.train.cnn_epochs, cfg.train.head_epochs, cfg.train.preview_every = 2, 20, 0
    cfg.cv.folds, cfg.cv.permutations, cfg.cv.final_fit = 2, 0, False
    for k, v in train.items():
        setattr(cfg.train, k, v)
    return cfg


def test_choose_fast_path_uses_channels_last_with_amp_on_cuda_only_for_volume_networks():
    ae, mlp = Autoencoder3D(GRID), DenoisingAutoencoderMLP(10)
    cuda = torch.device("cuda")  # a device object, not a device: nothing here needs a GPU
    assert choose_fast_path(ae, cuda, amp=True) == FastPath(amp=True, channels_last=True)
    assert choose_fast_path(CNN3DClassifier(GRID), "cuda:0", amp=True) == FastPath(amp=True, channels_last=True)
    assert choose_fast_path(ae, cuda, amp=False) == PLAIN
    assert choose_fast_path(mlp, cuda, amp=True) == FastPath(amp=True, channels_last=False)
    # training.fit autocasts on CUDA only, so the evaluation paths must not autocast elsewhere either
    on_cpu = choose_fast_path(ae, torch.device("cpu"), amp=True)
    assert on_cpu == FastPath(amp=False, channels_last=fastpath.CHANNELS_LAST_ON_CPU)
    assert fast_path_of(mlp) == PLAIN and fast_path_of(FastPath(channels_last=True).apply(ae)).channels_last
    assert [f.label for f in (PLAIN, FastPath(amp=True), FastPath(channels_last=True), FastPath(True, True))] == [
        "fp32", "bf16 autocast", "channels_last_3d", "bf16 + channels_last_3d"]


@pytest.mark.parametrize("net", ["autoencoder", "cnn"])
def test_channels_last_model_gives_the_contiguous_outputs_loss_and_gradients(net):
    torch.manual_seed(0)
    plain = (Autoencoder3D(GRID, depth=2, channels=4, code_size=8) if net == "autoencoder"
             else CNN3DClassifier(GRID, depth=2, channels=4, dropout=0.0))
    if net == "autoencoder":  # the head starts at zero (reconstructs the template): give it weights to compare
        torch.nn.init.normal_(plain.head.weight, std=0.1)
        plain.set_template(torch.rand(GRID), 1.5)
    fast = FastPath(channels_last=True).apply(copy.deepcopy(plain))
    convs = [m for m in fast.modules() if isinstance(m, (torch.nn.Conv3d, torch.nn.ConvTranspose3d))]
    # every kernel in the channels-last layout; those with one channel or a 1x1x1 kernel are both layouts at once
    assert all(c.weight.is_contiguous(memory_format=CL) for c in convs)
    assert sum(_is_channels_last(c.weight) for c in convs) >= len(convs) - 2
    x = torch.randn(3, 1, *GRID)
    mask = np.zeros(GRID, bool)
    mask[1:-1, 1:-1, 1:-1] = True
    objective = ReconstructionObjective(mask)
    objective.prepare("cpu")
    for mode in ("train", "eval"):  # batch statistics, then running statistics
        plain.train(mode == "train")
        fast.train(mode == "train")
        out_p, out_f = plain(x), fast(FastPath(channels_last=True).batch(x))
        torch.testing.assert_close(out_f, out_p, rtol=1e-4, atol=1e-5)
        if net == "autoencoder":
            loss_p, loss_f = objective.loss(out_p, x), objective.loss(out_f, x)
        else:
            loss_p, loss_f = out_p.square().mean(), out_f.square().mean()
        torch.testing.assert_close(loss_f, loss_p, rtol=1e-5, atol=1e-6)
        if mode == "train":
            loss_p.backward()
            loss_f.backward()
            for (name, p), q in zip(plain.named_parameters(), fast.parameters()):
                torch.testing.assert_close(q.grad, p.grad, rtol=1e-3, atol=1e-5, msg=name)


def test_under_bf16_autocast_only_the_deviation_is_rounded_not_the_template():
    torch.manual_seed(0)
    model = Autoencoder3D(GRID, depth=2, channels=4, code_size=8).eval()
    torch.nn.init.normal_(model.head.weight, std=0.05)
    model.set_template(20 + torch.rand(GRID), 1.0)  # a large template: bf16 would round it by ~0.06
    x = model.template + torch.randn(2, 1, *GRID)
    with torch.inference_mode():
        ref = model(x)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out = model(x)
    assert out.dtype == torch.float32
    deviation = (ref - model.template).abs().max()
    assert 0 < float((out - ref).abs().max()) < 0.05 * float(deviation) < 0.05


@pytest.fixture(scope="module")
def small_fold(tmp_path_factory):
    """A tiny SYNTHETIC cohort prepared as a fold is: 8 subjects, mask and per-subject statistics."""
    tmp = tmp_path_factory.mktemp("fastpath")
    demo = write_demo_cohort(tmp / "demo", 8, GRID, seed=3)
    cfg = _config(demo, tmp)
    prep = Preprocessor(build_cohort(cfg.data), cfg.data, cfg.data.cache_dir)
    mask = steps.fit_mask(prep, np.arange(8), cfg)
    stats = steps.normalisation_stats(prep, range(8), mask, "zscore")
    return {"cfg": cfg, "prep": prep, "mask": mask, "stats": stats, "tmp": tmp}


def _fit(fold, fast: FastPath):
    cfg, prep = fold["cfg"], fold["prep"]
    torch.manual_seed(0)
    model = Autoencoder3D(GRID, **cfg.model.autoencoder)
    gen = steps.fit_autoencoder(model, prep, np.arange(6), np.arange(6, 8), cfg=cfg, device=torch.device("cpu"),
                                mask=fold["mask"], stats=fold["stats"], fast=fast)
    history = []
    try:
        while True:
            item = next(gen)
            if isinstance(item, EpochReport):
                history.append(item)
    except StopIteration as stop:
        result = stop.value
    assert isinstance(result, FitResult) and not result.cancelled
    return model, history


def test_fit_on_the_channels_last_path_keeps_the_layout_and_gives_the_plain_results(small_fold):
    plain, h_plain = _fit(small_fold, PLAIN)
    fast, h_fast = _fit(small_fold, FastPath(channels_last=True))
    # training.fit moves the model with Module.to(device) and restores the best weights with load_state_dict:
    # both keep the layout, so the weights it trained and returned are still channels_last_3d
    assert fast_path_of(fast).channels_last and _is_channels_last(fast.decoder[0].weight)
    assert not _is_channels_last(plain.decoder[0].weight)
    assert len(h_fast) == len(h_plain) == 3
    for a, b in zip(h_fast, h_plain):
        assert a.train_loss == pytest.approx(b.train_loss, rel=1e-4)
        assert a.val_metrics["residual_correlation"] == pytest.approx(b.val_metrics["residual_correlation"], abs=1e-4)
    src = VolumeBatches(steps._volumes(small_fold["prep"]), small_fold["mask"], small_fold["stats"])
    z_fast, z_plain = steps.encode(fast, src), steps.encode(plain, src)
    assert z_fast.dtype == np.float32 and z_fast.shape == (8, 8)
    np.testing.assert_allclose(z_fast, z_plain, rtol=1e-3, atol=1e-4)
    s_fast = steps.reconstruction_scores(fast, src, small_fold["mask"])
    s_plain = steps.reconstruction_scores(plain, src, small_fold["mask"])
    # three epochs of Adam carry the kernels' different fp32 summation orders into the weights: scores agree to
    # ~1e-4 (a residual correlation near 0 is the most sensitive one)
    for key in s_plain:
        np.testing.assert_allclose(s_fast[key], s_plain[key], rtol=1e-3, atol=1e-3, err_msg=key)


def test_autocast_evaluation_runs_in_bf16_and_returns_float32(small_fold):
    """bf16 autocast in encode, reconstruction_scores and the objective's evaluate (CPU autocast here; CUDA uses
    the same code): the convolutions compute in bf16, every result reaches the metrics as float32, and the figures
    stay within bf16's precision of the fp32 ones."""
    plain, _ = _fit(small_fold, PLAIN)
    amp = FastPath(amp=True, channels_last=True).apply(copy.deepcopy(plain))
    seen: list[torch.dtype] = []
    amp.encoder[0].register_forward_hook(lambda _m, _i, out: seen.append(out.dtype))
    mask = small_fold["mask"]
    src = VolumeBatches(steps._volumes(small_fold["prep"]), mask, small_fold["stats"])
    z_amp, z_plain = steps.encode(amp, src), steps.encode(plain, src)
    assert seen and set(seen) == {torch.bfloat16}
    assert z_amp.dtype == np.float32 and not np.array_equal(z_amp, z_plain)
    np.testing.assert_allclose(z_amp, z_plain, atol=0.05 * float(np.abs(z_plain).max()))
    s_amp = steps.reconstruction_scores(amp, src, mask)
    s_plain = steps.reconstruction_scores(plain, src, mask)
    assert all(v.dtype == np.float64 or v.dtype == np.float32 for v in s_amp.values())
    np.testing.assert_allclose(s_amp["correlation"], s_plain["correlation"], atol=0.01)
    np.testing.assert_allclose(s_amp["mse"], s_plain["mse"], rtol=0.05)
    objective = ReconstructionObjective(mask, steps.model_template(plain))
    objective.prepare("cpu")
    m_amp, m_plain = objective.evaluate(amp, src, 4), objective.evaluate(plain, src, 4)
    assert all(isinstance(v, float) and np.isfinite(v) for v in m_amp.values())
    for key in ("correlation", "residual_correlation"):
        assert m_amp[key] == pytest.approx(m_plain[key], abs=0.02)
    assert m_amp["loss"] == pytest.approx(m_plain["loss"], rel=0.05)


def test_scans_run_on_the_cpu_channels_last_path_writes_the_plain_run(tmp_path, monkeypatch):
    """A whole (tiny) scans run with channels_last_3d switched on for the CPU gives the run folder of the plain run:
    the same metrics and predictions within fp32 tolerance, and its saved weights load into a contiguous model."""
    demo = write_demo_cohort(tmp_path / "demo", 8, GRID, seed=5)
    outs, chosen = {}, {}
    for name, on in (("plain", False), ("fast", True)):
        monkeypatch.setattr(fastpath, "CHANNELS_LAST_ON_CPU", on)
        chosen[name] = []

        def spy(model, device, amp, seen=chosen[name]):
            fast = choose_fast_path(model, device, amp)
            seen.append((type(model).__name__, fast))
            return fast

        monkeypatch.setattr(steps, "choose_fast_path", spy)
        list(train_scans(_config(demo, tmp_path / name, device="cpu"), tmp_path / name / "run"))
        outs[name] = tmp_path / name / "run"
    # both folds' autoencoder and 3-D CNN took the path asked for
    expected = [("Autoencoder3D", "CNN3DClassifier")[i % 2] for i in range(4)]
    assert [n for n, _ in chosen["fast"]] == [n for n, _ in chosen["plain"]] == expected
    assert all(f == FastPath(channels_last=True) for _, f in chosen["fast"])
    assert all(f == PLAIN for _, f in chosen["plain"])
    plain, fast = (json.loads((outs[k] / "metrics.json").read_text()) for k in ("plain", "fast"))
    assert plain.keys() == fast.keys()
    for key, value in plain.items():
        if isinstance(value, float) and np.isfinite(value):
            assert fast[key] == pytest.approx(value, rel=1e-3, abs=1e-4), key
    runs = {k: load_scans_run(v) for k, v in outs.items()}
    p_plain, p_fast = runs["plain"].predictions(), runs["fast"].predictions()
    for key in p_plain:
        if p_plain[key].dtype.kind == "f":
            np.testing.assert_allclose(p_fast[key], p_plain[key], rtol=1e-3, atol=1e-4, err_msg=key)
    model, _extra = runs["fast"].autoencoder(1)
    assert all(p.is_contiguous() for p in model.parameters())
    ref, _ = runs["plain"].autoencoder(1)
    x = torch.randn(2, 1, *GRID)
    with torch.inference_mode():
        torch.testing.assert_close(model.eval()(x), ref.eval()(x), rtol=1e-3, atol=1e-4)
