"""Mini-batch sources for ``training.fit``: data stay compact on the device, batches are made there.

A batch source has ``__len__`` (number of samples), ``to(device)`` and
``batches(batch_size, shuffle, generator, augment)`` yielding ``(x, y)`` tensors on its device. Sequences stay
uint8 codes (1 byte per base) and become float one-hot only one batch at a time, on the training device.
"""
from __future__ import annotations

import numpy as np
import torch

from biodeep_gui.core.sequences.encoding import COMPLEMENT_CODES, ONE_HOT_TABLE


class SequenceBatches:
    """Batches of one-hot DNA with their targets.

    Parameters
    ----------
    codes : (N, L) uint8 codes
    targets : (N, T) float32 (binary / regression) or (N,) int64 class indices (multiclass)
    """

    def __init__(self, codes: np.ndarray | torch.Tensor, targets: np.ndarray | torch.Tensor):
        self.codes = torch.as_tensor(codes)
        self.targets = torch.as_tensor(targets)
        if self.codes.dtype != torch.uint8 or self.codes.ndim != 2:
            raise ValueError("codes must be an (N, L) uint8 array")
        if len(self.targets) != len(self.codes):
            raise ValueError(f"{len(self.codes)} sequences but {len(self.targets)} targets")
        self.device = self.codes.device
        self._table = torch.from_numpy(ONE_HOT_TABLE).to(self.device)
        self._complement = torch.from_numpy(COMPLEMENT_CODES).to(self.device)

    def __len__(self) -> int:
        return len(self.codes)

    def to(self, device: torch.device) -> "SequenceBatches":
        if torch.device(device) == self.device:
            return self
        # pinned host memory makes the one copy to the GPU faster; the codes are 1 byte per base, so they fit
        return SequenceBatches(self.codes.to(device, non_blocking=True), self.targets.to(device, non_blocking=True))

    def batches(self, batch_size: int, shuffle: bool = False, generator: torch.Generator | None = None,
                augment: bool = False):
        """Yield (x (B, 4, L) float32, y) on the source's device.

        ``augment`` replaces a random half of each batch by its reverse complement (same label).
        """
        from biodeep_gui.core.training.loop import batch_indices

        for idx in batch_indices(len(self), batch_size, shuffle, generator, self.device):
            codes = self.codes[idx]
            if augment:
                flip = torch.rand(len(codes), generator=generator).to(self.device) < 0.5
                rc = self._complement[codes.long()].flip(-1)
                codes = torch.where(flip[:, None], rc, codes)
            # embedding is the fastest row gather in torch (one fused kernel on CPU and GPU)
            yield torch.nn.functional.embedding(codes.long(), self._table).transpose(1, 2), self.targets[idx]
