"""What the Model tab shows about a network: the worker task that inspects it, and the text of the layer table.

``inspect_task`` runs in the Model tab's worker thread: it builds the chosen network with the science's own
builder (``core.sequences.models`` or ``core.scans.models``, which import torch when they build) and describes it
with ``core.training.inspect.inspect_model``. This module never imports torch itself; importing it is cheap.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from biodeep_gui.core.common.devices import DeviceInfo, format_bytes
from biodeep_gui.core.scans.models import SCANS_ARCHITECTURES
from biodeep_gui.core.training.inspect import LayerRow
from biodeep_gui.gui.tabs.model_forms import SCANS_ARCH


@dataclass
class ModelInspection:
    """What the worker found out about a model and the machine (plain data, crosses threads).

    memory_bytes / available_bytes : training memory estimate and free memory of the device (None: unknown)
    """

    arch: str
    n_parameters: int = 0
    layers: list[LayerRow] = field(default_factory=list)
    flow: str = ""
    memory_bytes: int | None = None
    available_bytes: int | None = None
    devices: list[DeviceInfo] | None = None
    error: str = ""


def inspect_task(arch: str, params: dict[str, Any], size: int | tuple[int, int, int], n_outputs: int,
                 batch_size: int, device: str, with_devices: bool) -> ModelInspection:
    """Build the model on the CPU and describe it; list the devices when asked. Runs in a worker thread.

    Parameters
    ----------
    arch, params : architecture name (or ``SCANS_ARCH``) and hyper-parameters
    size : input length L (bases), or the (X, Y, Z) grid of the scans autoencoder; n_outputs : K
    batch_size : for the memory estimate
    device : 'cpu', 'cuda:N' or 'mps'; its free memory is compared with the estimate
    with_devices : also run ``available_devices`` (imports torch, queries CUDA)
    """
    from biodeep_gui.core.common import devices as D
    from biodeep_gui.core.scans.models import build_scans_model
    from biodeep_gui.core.sequences.models import build_model, get_architecture
    from biodeep_gui.core.training.inspect import inspect_model

    out = ModelInspection(arch)
    if with_devices:
        out.devices = D.available_devices()
    if arch != SCANS_ARCH and get_architecture(arch).kind != "torch":
        return out
    try:
        if arch == SCANS_ARCH:
            ae = SCANS_ARCHITECTURES["autoencoder3d"]
            model = build_scans_model("autoencoder3d", size, {p.name: params[p.name] for p in ae.params})
            sample = (1, *size)
        else:
            model = build_model(arch, size, n_outputs, params)
            sample = (4, size)
    except Exception as exc:  # noqa: BLE001 - e.g. a pooling window longer than the sequence
        what = f"a {shape_text(*size)} grid" if arch == SCANS_ARCH else f"{size}-bp sequences"
        out.error = f"This network cannot be built with these settings for {what}: {exc}"
        return out
    summary = inspect_model(model, sample, batch_size)
    out.n_parameters, out.layers, out.flow = summary.n_parameters, summary.layers, summary.flow
    out.memory_bytes = summary.memory_bytes
    out.available_bytes = D.free_memory(device) if device.startswith("cuda") else D.available_ram()
    return out


def layer_table(res: ModelInspection, first: tuple[str, str, str]) -> str:
    """The data flow, one step a line, then one line per layer: name, type, output shape and weights.

    ``first`` is the input row: (name, kind, shape text).
    """
    kind_w = max([11, *(len(r.kind) + 1 for r in res.layers)])  # e.g. ConvTranspose3d
    name_w = max([14, *(len(r.name) + 1 for r in res.layers)])
    lines = [*flow_lines(res.flow), "", f"{'layer':<{name_w}}{'type':<{kind_w}}{'output':>16}{'weights':>11}",
             f"{first[0]:<{name_w}}{first[1]:<{kind_w}}{first[2]:>16}{'':>11}"]
    for row in res.layers:
        lines.append(f"{row.name:<{name_w}}{row.kind:<{kind_w}}{shape_text(*row.output_shape):>16}"
                     f"{(f'{row.n_parameters:,}' if row.n_parameters else ''):>11}")
    return "\n".join(lines)


def flow_lines(flow: str) -> list[str]:
    """A model docstring's data flow 'a -> b -> c' as one step per line, for a narrow panel."""
    steps = [s.strip() for s in flow.split("->") if s.strip()]
    return [("   " if i else "") + ("-> " if i else "") + step for i, step in enumerate(steps)]


def shape_text(*dims: int) -> str:
    """'4 × 200' ('-' for no dimensions)."""
    return " × ".join(str(d) for d in dims) if dims else "-"


#: On the CPU, warn when training needs more than this share of the memory still available.
RAM_WARN_FRACTION = 0.5


def memory_text(need: int, available: int | None, device: str, batch_size: int) -> tuple[str, str]:
    """The memory line of the Device box (rich text) and the warning in it ('' when the estimate fits)."""
    text = f"Estimated training memory: <b>{format_bytes(need)}</b> at batch size {batch_size:,}"
    warn = ""
    if available is not None:
        if device.startswith("cuda") and need > available:
            warn = (f"More than the {format_bytes(available)} free on this GPU: training would run out of memory. "
                    "Lower the batch size or choose a smaller network.")
        elif device == "cpu" and need > RAM_WARN_FRACTION * available:
            warn = (f"That is more than half of the {format_bytes(available)} of memory still free; the computer "
                    "may slow down or run out of memory. Lower the batch size or choose a smaller network.")
        else:
            text += f" ({format_bytes(available)} free)"
    if warn:
        text += f"<br><span style='color:#b3261e'><b>Warning:</b> {warn}</span>"
    return text, warn
