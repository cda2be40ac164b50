"""The fast path of the scans networks: bf16 autocast and channels_last_3d memory for the 3-D convolutions.

On one H100 a plain bf16 autocast + channels_last_3d loop of a 3-D convolutional autoencoder of this kind trained
1,376 subjects/s, 4.9x its fp32 speed (cuDNN's fast 3-D kernels want both: reduced precision and channels-last
memory), while BioDeep's autoencoder trained at 442-468 subjects/s in fp32. ``ScansConfig.train.amp`` already turns
on bf16 autocast in the training step of ``training.fit`` (CUDA only); this module adds the rest:

- ``choose_fast_path``: the one decision. On CUDA with amp on, the volume networks (``volumetric = True``) are
  converted to channels_last_3d and every batch of their ``VolumeBatches`` is made channels_last_3d too; on the CPU
  channels_last_3d is used when ``CHANNELS_LAST_ON_CPU`` says so (measured, see there).
- ``FastPath.apply`` converts a model and records the fast path on it, so that the scans-side evaluation paths
  (``steps.encode``, ``steps.reconstruction_scores``, ``ReconstructionObjective.evaluate``), which receive only the
  model, run the batches the way it was trained (``FastPath.autocast``, ``FastPath.batch``) and cast the results
  to float32 before any metric.

``Module.to(device)`` keeps a tensor's memory format (``torch.preserve_format``), so ``training.fit`` needs no change:
the model it moves to the device and the best weights it restores stay channels_last_3d. Run folders store weights as
plain C-ordered arrays (``training.runs.write_tensors``), so they load into a contiguous model.

torch is imported only when a fast path is applied: this module is imported by code that must stay torch-free.
"""
from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass

#: channels_last_3d on the CPU too (no autocast there: ``training.fit`` autocasts on CUDA only). Measured with
#: ``bench/scans_throughput.py`` on the idle 2-core AMD EPYC development machine (torch 2.13.0 CPU, 2 threads, batch
#: 4): our fit ran 1.78x its contiguous speed on a 31 x 37 x 31 grid and 2.40x on 61 x 73 x 61 (the ABIDE grid), the
#: plain loop 1.92x and 2.49x; with 1 thread 1.05x. oneDNN's 3-D convolutions parallelise over channels-last
#: blocks much better than over the default layout.
CHANNELS_LAST_ON_CPU = True


@dataclass(frozen=True)
class FastPath:
    """How a scans network runs its batches.

    amp : bf16 autocast of the forward pass (results cast to float32 before losses and metrics)
    channels_last : channels_last_3d memory for the model's 5-D weights and for every (N, C, X, Y, Z) batch
    """

    amp: bool = False
    channels_last: bool = False

    @property
    def memory_format(self):
        """``torch.channels_last_3d``, or ``None`` (batches keep the layout they have)."""
        if not self.channels_last:
            return None
        import torch

        return torch.channels_last_3d

    @property
    def label(self) -> str:
        """In words, for benchmarks and logs: 'fp32', 'bf16 autocast', 'channels_last_3d', 'bf16 + channels_last_3d'."""
        parts = (["bf16"] if self.amp else []) + (["channels_last_3d"] if self.channels_last else [])
        if not parts:
            return "fp32"
        return "bf16 autocast" if parts == ["bf16"] else " + ".join(parts)

    def apply(self, model):
        """Convert ``model``'s 4-D/5-D weights and buffers to this memory format (contiguous when channels_last is
        off) and record this fast path on it (``fast_path_of``); returns the model."""
        import torch

        model.to(memory_format=torch.channels_last_3d if self.channels_last else torch.contiguous_format)
        model.fast_path = self
        return model

    def batch(self, x):
        """A batch x (N, C, X, Y, Z) in this memory format (a view when it already is); other shapes unchanged."""
        if not self.channels_last or x.dim() != 5:
            return x
        import torch

        return x.contiguous(memory_format=torch.channels_last_3d)

    def autocast(self, device_type: str):
        """The autocast context of a forward pass on ``device_type`` ('cuda', 'cpu'): bf16 when ``amp``."""
        if not self.amp:
            return nullcontext()
        import torch

        return torch.autocast(device_type, dtype=torch.bfloat16)


#: the plain path: fp32, batches as they come
PLAIN = FastPath()


def choose_fast_path(model, device, amp: bool) -> FastPath:
    """The fast path ``model`` trains and evaluates with on ``device`` when the config's ``amp`` is ``amp``.

    amp is used on CUDA only (as ``training.fit`` does); channels_last_3d only for networks that take volumes
    (``volumetric``), on CUDA together with amp (the measured fast combination) and on the CPU when
    ``CHANNELS_LAST_ON_CPU``.
    """
    kind = getattr(device, "type", None) or str(device).split(":")[0]
    on_gpu = kind == "cuda"
    volumetric = bool(getattr(model, "volumetric", False))
    channels_last = volumetric and ((on_gpu and bool(amp)) or (kind == "cpu" and CHANNELS_LAST_ON_CPU))
    return FastPath(amp=bool(amp) and on_gpu, channels_last=channels_last)


def fast_path_of(model) -> FastPath:
    """The fast path recorded on ``model`` by ``FastPath.apply`` (``PLAIN`` for a model never given one)."""
    fast = getattr(model, "fast_path", None)
    return fast if isinstance(fast, FastPath) else PLAIN
