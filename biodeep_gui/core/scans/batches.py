"""Batch sources for the scans networks: volumes (preloaded or streamed) and feature vectors."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

#: volumes held in memory (on the training device) when a fold's items take at most this many bytes
PRELOAD_BYTES = 512 * 2 ** 20

# ---------------------------------------------------------------------------------------------------------------
# batch sources
# ---------------------------------------------------------------------------------------------------------------
class VolumeBatches:
    """Mini-batches of normalised, masked volumes for ``training.fit`` (the batch-source protocol).

    Parameters
    ----------
    volumes : one array-like per subject, (X, Y, Z) or (T, X, Y, Z) frames (e.g. ``np.memmap`` from the cache)
    mask : (X, Y, Z) bool; voxels outside are 0
    stats : (S, 2) per-subject mean and std used for normalisation (``None``: values used as they are)
    items : (M, 2) int (subject index, frame index; -1 for a 3-D volume); default one item per 3-D volume
    targets : (M,) or (M, K) float32 per item; ``None``: reconstruction, the target is the input itself
    preload : hold the normalised items in one tensor (on the device after ``to``); ``None``: when they take at most
        ``PRELOAD_BYTES``; ``False``: read each batch from ``volumes`` (streams cohorts larger than RAM)
    max_batch : chunks never exceed this many items (bounds memory when ``fit`` predicts with a large batch)
    memory_format : ``torch.channels_last_3d`` to yield every x in that layout (the fast path of a channels_last
        model, ``models.fastpath``); ``None``: the default contiguous layout

    ``batches`` yields x (B, 1, X, Y, Z) float32 and y (x itself, or the targets) on the source's device.
    """

    def __init__(self, volumes: Sequence[Any], mask: np.ndarray, stats: np.ndarray | None = None,
                 items: np.ndarray | None = None, targets: np.ndarray | None = None, preload: bool | None = None,
                 max_batch: int = 16, device=None, memory_format=None):
        import torch

        self.volumes = volumes
        self.mask = np.asarray(mask, bool)
        self.stats = None if stats is None else np.asarray(stats, np.float32)
        self.items = (np.stack([np.arange(len(volumes)), -np.ones(len(volumes), int)], 1) if items is None
                      else np.asarray(items, np.int64).reshape(-1, 2))
        self.targets = None if targets is None else torch.as_tensor(np.asarray(targets, np.float32))
        if self.targets is not None and len(self.targets) != len(self.items):
            raise ValueError(f"{len(self.items)} volumes but {len(self.targets)} targets")
        self.max_batch = max_batch
        self.memory_format = memory_format
        self.device = torch.device(device or "cpu")
        nbytes = len(self.items) * int(self.mask.size) * 4
        self.preloaded = (nbytes <= PRELOAD_BYTES) if preload is None else bool(preload)
        self._data = None
        if self.preloaded:  # filled in place: the cohort is never held twice
            data = np.empty((len(self.items), 1, *self.mask.shape), np.float32)
            for k in range(len(self.items)):
                data[k, 0] = self.item(k)
            self._data = torch.from_numpy(data)

    def __len__(self) -> int:
        return len(self.items)

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(self.mask.shape)  # type: ignore[return-value]

    def item(self, k: int) -> np.ndarray:
        """Item ``k`` normalised and masked: (X, Y, Z) float32."""
        s, f = (int(v) for v in self.items[k])
        vol = np.asarray(self.volumes[s][f] if f >= 0 else self.volumes[s], np.float32)
        if self.stats is not None:
            vol = (vol - self.stats[s, 0]) / self.stats[s, 1]
        return (vol * self.mask).astype(np.float32, copy=False)

    def to(self, device) -> "VolumeBatches":
        import copy

        import torch

        device = torch.device(device)
        if device == self.device:
            return self
        other = copy.copy(self)
        other.device = device
        if self._data is not None:
            other._data = self._data.to(device)
        if self.targets is not None:
            other.targets = self.targets.to(device)
        return other

    def batches(self, batch_size: int, shuffle: bool = False, generator=None, augment: bool = False):
        """Yield (x, y) on the device; ``augment`` is ignored (no anatomy-preserving augmentation is assumed)."""
        import torch

        from biodeep_gui.core.training.loop import batch_indices

        n = len(self)
        pin = self.device.type == "cuda"
        for idx in batch_indices(n, max(1, min(batch_size, self.max_batch)), shuffle, generator):
            if isinstance(idx, slice):
                idx = torch.arange(n)[idx]
            if self._data is not None:
                x = self._data[idx.to(self._data.device)]
            else:
                x = torch.from_numpy(np.stack([self.item(int(k)) for k in idx])[:, None])
                x = (x.pin_memory() if pin else x).to(self.device, non_blocking=pin)
            # on the device, so the host copy stays one plain block; with one channel both layouts are the same
            # bytes and this costs nothing, but x then always matches its channels_last model as the plain recipe does
            if self.memory_format is not None:
                x = x.contiguous(memory_format=self.memory_format)
            y = x if self.targets is None else self.targets[idx.to(self.targets.device)]
            yield x, y


class FeatureBatches:
    """Mini-batches of feature vectors (codes, connectivity features) with targets (or themselves).

    x : (N, F) float32; y : (N, K) float32 targets, or ``None`` for reconstruction
    """

    def __init__(self, x: np.ndarray, y: np.ndarray | None = None, device=None):
        import torch

        self.x = torch.as_tensor(np.asarray(x, np.float32))
        self.y = None if y is None else torch.as_tensor(np.asarray(y, np.float32))
        self.device = torch.device(device or "cpu")

    def __len__(self) -> int:
        return len(self.x)

    def to(self, device) -> "FeatureBatches":
        import torch

        device = torch.device(device)
        if device == self.device:
            return self
        out = FeatureBatches.__new__(FeatureBatches)
        out.x, out.device = self.x.to(device), device
        out.y = None if self.y is None else self.y.to(device)
        return out

    def batches(self, batch_size: int, shuffle: bool = False, generator=None, augment: bool = False):
        from biodeep_gui.core.training.loop import batch_indices

        for idx in batch_indices(len(self), batch_size, shuffle, generator, self.device):
            x = self.x[idx]
            yield x, (x if self.y is None else self.y[idx])


