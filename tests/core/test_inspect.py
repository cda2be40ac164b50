"""core.training.inspect: layers, output shapes, parameter counts and the memory estimate of real networks."""
import math

import pytest
import torch

from biodeep_gui.core.common.devices import estimate_training_memory
from biodeep_gui.core.scans.models import build_scans_model
from biodeep_gui.core.sequences.models import build_model
from biodeep_gui.core.training.inspect import LayerRow, ModelSummary, inspect_model


def _leaves(model):
    return [(n, m) for n, m in model.named_modules() if n and not list(m.children())]


def test_cnn_layers_shapes_and_counts():
    torch.manual_seed(0)
    model = build_model("cnn", 101, 3, {"filters": 8, "filter_width": 9, "hidden": 16})
    s = inspect_model(model, (4, 101), batch_size=32)
    assert isinstance(s, ModelSummary)
    assert s.n_parameters == sum(p.numel() for p in model.parameters())
    # Conv1d(4, 8, 9): 4*8*9 + 8 = 296; Linear(16, 16): 272; Linear(16, 3): 51
    assert s.n_parameters == 296 + 272 + 51
    rows = {r.name: r for r in s.layers}
    assert [r.name for r in s.layers] == [n for n, _ in _leaves(model)]
    assert rows["first_conv"] == LayerRow("first_conv", "Conv1d", (8, 101), 296)  # 'same' padding keeps L
    assert rows["head.0"].output_shape == (16,) and rows["head.0"].n_parameters == 272
    assert rows["head.3"] == LayerRow("head.3", "Linear", (3,), 51)
    assert sum(r.n_parameters for r in s.layers) == s.n_parameters
    assert s.memory_bytes == estimate_training_memory(model, (4, 101), 32)
    assert s.memory_bytes >= 4 * 4 * s.n_parameters  # weights, gradients and two Adam moments, fp32
    assert s.flow.startswith("(N, 4, L) -> Conv1d")


def test_memory_grows_with_the_batch():
    model = build_model("cnn", 60, 1)
    small, big = (inspect_model(model, (4, 60), b).memory_bytes for b in (1, 100))
    assert big > small


def test_scans_autoencoder_layers_and_counts():
    torch.manual_seed(0)
    grid = (13, 15, 11)
    model = build_scans_model("autoencoder3d", grid, {"depth": 2, "channels": 4, "code_size": 8})
    s = inspect_model(model, (1, *grid), batch_size=2)
    assert s.n_parameters == sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert s.n_parameters == sum(r.n_parameters for r in s.layers)  # BatchNorm running stats are buffers
    rows = {r.name: r for r in s.layers}
    assert rows["head"].kind == "Conv3d"
    padded = tuple(math.ceil(d / 4) * 4 for d in grid)  # two levels: every axis padded to a multiple of 4
    assert rows["head"].output_shape == (1, *padded)  # cropped back to the grid after the head
    assert rows["to_code"].output_shape == (8,)
    assert rows["encoder.0"].output_shape == (4, *(p // 2 for p in padded))  # first level: Conv3d k2 s2
    assert model(torch.zeros(1, 1, *grid)).shape == (1, 1, *grid)
    assert not model.training  # left in eval mode


def test_bad_arguments_are_refused():
    model = build_model("mlp", 20, 1)
    with pytest.raises(ValueError, match="batch_size"):
        inspect_model(model, (4, 20), 0)
    with pytest.raises(ValueError, match="input_shape"):
        inspect_model(model, (4, 0), 8)
