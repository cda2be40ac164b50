"""Which compute devices exist, why CUDA is not usable when it is not, and how much memory a model needs."""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass


@dataclass
class DeviceInfo:
    name: str  # 'cpu', 'cuda:0', 'mps'
    label: str  # human readable, e.g. 'NVIDIA H100 80GB HBM3 (79.1 GB)'
    usable: bool
    reason: str = ""  # why not usable
    total_memory: int = 0  # bytes, 0 when unknown


def cuda_unavailable_reason() -> str:
    """Empty when CUDA can be used; otherwise a plain-language reason and what to do about it."""
    import torch

    if torch.version.cuda is None:
        return ("this PyTorch is a CPU-only build; install a CUDA build of PyTorch (see pytorch.org, "
                "'Get started') to train on an NVIDIA GPU")
    has_driver = bool(shutil.which("nvidia-smi")) or os.path.exists("/proc/driver/nvidia/version") or os.name == "nt"
    if not torch.cuda.is_available():
        if not has_driver:
            return "no NVIDIA driver was found; install the NVIDIA driver for your graphics card"
        return "the NVIDIA driver is present but no usable CUDA device was found (driver too old for this PyTorch?)"
    if torch.cuda.device_count() == 0:
        return "no CUDA device found"
    return ""


def available_devices() -> list[DeviceInfo]:
    """CPU, every CUDA device by name (or one unusable entry saying why), and Apple MPS where present."""
    import torch

    devices = [DeviceInfo("cpu", f"CPU ({os.cpu_count()} cores)", True)]
    reason = cuda_unavailable_reason()
    if reason:
        devices.append(DeviceInfo("cuda", "CUDA GPU (not available)", False, reason))
    else:
        for i in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(i)
            devices.append(DeviceInfo(f"cuda:{i}", f"{props.name} ({props.total_memory / 1e9:.1f} GB)", True,
                                      total_memory=props.total_memory))
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        devices.append(DeviceInfo("mps", "Apple GPU (MPS)", True))
    return devices


def check_device(name: str, setting: str = "--device") -> str:
    """``name`` if it is a device this machine can use ('auto' -> the best usable one), else a ``ConfigError``
    that names it, says why not and lists the usable ones."""
    import torch

    from biodeep_gui.core.common.errors import ConfigError

    text = (name or "auto").strip().lower()
    usable = [d.name for d in available_devices() if d.usable]
    if text == "auto":  # the best usable one, as a name torch takes
        return next((d for d in usable if d != "cpu"), "cpu")
    listed = "auto, " + ", ".join(usable)
    try:
        dev = torch.device(text)
    except (RuntimeError, ValueError):
        raise ConfigError(f"{setting} {name!r}: unknown device; usable here: {listed}") from None
    if dev.type == "cuda":
        reason = cuda_unavailable_reason()
        if reason:
            raise ConfigError(f"{setting} {name!r}: CUDA is not usable ({reason}); usable here: {listed}")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ConfigError(f"{setting} {name!r}: no such GPU, this machine has {torch.cuda.device_count()} CUDA "
                              f"device(s); usable here: {listed}")
        return text
    if dev.type == "mps":
        if "mps" not in usable:
            raise ConfigError(f"{setting} {name!r}: Apple MPS is not available on this machine; usable here: {listed}")
        return text
    if dev.type != "cpu":
        raise ConfigError(f"{setting} {name!r}: not a device BioDeep runs on; usable here: {listed}")
    return text


def free_memory(device: str) -> int | None:
    """Free bytes on a CUDA device (None for CPU/unknown)."""
    import torch

    if device.startswith("cuda") and torch.cuda.is_available():
        free, _ = torch.cuda.mem_get_info(torch.device(device))
        return int(free)
    return None


def available_ram() -> int | None:
    """Bytes of RAM available to new allocations (Linux MemAvailable; else total physical memory; None: unknown)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def estimate_training_memory(model, input_shape: tuple[int, ...], batch_size: int) -> int:
    """Rough bytes needed to train ``model`` with Adam at ``batch_size``.

    Weights, gradients and two Adam moments (4 x parameters), plus the activations kept for the backward pass,
    measured with forward hooks on one sample and scaled by the batch size (x2 for their gradients).

    Parameters
    ----------
    input_shape : shape of one sample, e.g. (4, L)
    """
    import torch

    n_params = sum(p.numel() * p.element_size() for p in model.parameters())
    act = [0]

    def hook(_m, _i, out):
        outs = out if isinstance(out, (tuple, list)) else (out,)
        act[0] += sum(o.numel() * o.element_size() for o in outs if isinstance(o, torch.Tensor))

    leaves = [m for m in model.modules() if not list(m.children())]
    handles = [m.register_forward_hook(hook) for m in leaves]
    was_training = model.training
    try:
        model.eval()
        p = next(model.parameters(), None)
        x = torch.zeros((1, *input_shape), device=p.device if p is not None else "cpu")
        with torch.no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    input_bytes = int(torch.tensor(input_shape).prod()) * 4
    return int(4 * n_params + 2 * batch_size * (act[0] + input_bytes))


def format_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"
