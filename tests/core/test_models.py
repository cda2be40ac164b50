import pytest
import torch

from biodeep_gui.core.common.errors import ConfigError
from biodeep_gui.core.sequences.models import ARCHITECTURES, DEEP_ARCHITECTURES, build_model
from biodeep_gui.core.training.architecture import count_parameters


@pytest.mark.parametrize("arch", DEEP_ARCHITECTURES)
@pytest.mark.parametrize("length", [50, 101])
def test_shapes(arch, length):
    torch.manual_seed(0)
    model = build_model(arch, length, 3)
    out = model(torch.rand(5, 4, length))
    assert out.shape == (5, 3)
    assert count_parameters(model) > 0


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_danq_cells(cell):
    model = build_model("cnn-lstm", 60, 1, {"cell": cell})
    assert type(model.rnn).__name__ == cell.upper()
    assert model(torch.rand(2, 4, 60)).shape == (2, 1)


def test_convolutional_models_expose_first_conv():
    for arch in ("cnn", "cnn-lstm"):
        m = build_model(arch, 40, 1, {"filters": 7, "filter_width": 9})
        assert m.first_conv.weight.shape == (7, 4, 9)


def test_cnn_is_translation_invariant_to_motif_position():
    """Global pooling: the same motif at two positions gives (almost) the same output."""
    torch.manual_seed(0)
    m = build_model("cnn", 100, 1, {"dropout": 0.0}).eval()
    x1, x2 = torch.zeros(1, 4, 100), torch.zeros(1, 4, 100)
    motif = torch.eye(4).repeat(1, 3)  # 12 bp
    x1[0, :, 20:32] = motif
    x2[0, :, 60:72] = motif
    assert torch.allclose(m(x1), m(x2), atol=1e-5)


def test_bad_hyperparameters_are_clear():
    with pytest.raises(ConfigError, match="filters"):
        build_model("cnn", 50, 1, {"filters": 0})
    with pytest.raises(ConfigError, match="unknown hyper-parameter"):
        build_model("cnn", 50, 1, {"nope": 1})
    with pytest.raises(ConfigError, match="cell"):
        build_model("cnn-lstm", 50, 1, {"cell": "transformer"})
    with pytest.raises(ConfigError, match="unknown architecture"):
        build_model("resnet", 50, 1)


def test_every_parameter_has_help():
    for spec in ARCHITECTURES.values():
        assert spec.summary
        for p in spec.params:
            assert p.help and p.coerce(p.default) == p.default
