"""Model inspection: the layers of a built network, their output shapes and weights, and the training memory.

Pure core: torch is imported inside the function, so importing this module stays cheap (the Model tab calls it
from a worker thread). Everything returned is plain data that may cross threads.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from biodeep_gui.core.common.devices import estimate_training_memory
from biodeep_gui.core.training.architecture import count_parameters


@dataclass(frozen=True)
class LayerRow:
    """One leaf layer of a built network.

    name : dotted module name, e.g. 'conv.0'; kind : class name, e.g. 'Conv1d'
    output_shape : shape of what the layer passes on, per sample (no batch dimension); () if it never ran
    n_parameters : weights of this layer (trainable or not)
    """

    name: str
    kind: str
    output_shape: tuple[int, ...]
    n_parameters: int


@dataclass
class ModelSummary:
    """What ``inspect_model`` found out about a network.

    n_parameters : trainable parameters of the whole network
    layers : its leaf layers in definition order
    memory_bytes : rough bytes needed to train it with Adam at the given batch size
    flow : the first paragraph of the model class's docstring (its data flow), on one line
    """

    n_parameters: int
    layers: list[LayerRow] = field(default_factory=list)
    memory_bytes: int = 0
    flow: str = ""


def inspect_model(model, input_shape: tuple[int, ...], batch_size: int) -> ModelSummary:
    """Run one zero sample through ``model`` on the CPU and describe it.

    Parameters
    ----------
    model : a built ``torch.nn.Module`` (left in eval mode)
    input_shape : shape of one sample without the batch dimension, e.g. (4, L) for one-hot DNA or
        (1, X, Y, Z) for a volume
    batch_size : batch size for the memory estimate (>= 1)

    Returns
    -------
    ModelSummary (plain data)
    """
    import torch

    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    if not input_shape or any(int(d) < 1 for d in input_shape):
        raise ValueError(f"input_shape must be positive dimensions, got {tuple(input_shape)}")
    shapes: dict[str, tuple[int, ...]] = {}
    leaves = [(n, m) for n, m in model.named_modules() if n and not list(m.children())]

    def hook_for(name):
        def hook(_m, _i, output):
            first = output[0] if isinstance(output, (tuple, list)) else output
            shapes[name] = tuple(first.shape[1:])
        return hook

    handles = [m.register_forward_hook(hook_for(n)) for n, m in leaves]
    model.eval()
    try:
        with torch.no_grad():
            model(torch.zeros(1, *input_shape))
    finally:
        for h in handles:
            h.remove()
    layers = [LayerRow(n, type(m).__name__, shapes.get(n, ()), sum(p.numel() for p in m.parameters()))
              for n, m in leaves]
    return ModelSummary(
        n_parameters=count_parameters(model),
        layers=layers,
        memory_bytes=estimate_training_memory(model, tuple(input_shape), batch_size),
        flow=" ".join((type(model).__doc__ or "").split("\n\n")[0].split()),
    )
