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
    codes : (N, L) uint8 codes. A tensor or an in-memory array is moved whole to the training device. A
            memory-mapped array (``np.memmap``, e.g. from ``biodeep_gui.core.sequences.cache``) stays on disk:
            each batch gathers only its own rows (``rows`` selects which rows of the file belong to this source)
            and shuffling goes chunk by chunk (``chunk_rows``), so resident anonymous memory stays at one
            batch of codes whatever N is.
    targets : (N, T) float32 (binary / regression) or (N,) int64 class indices (multiclass), one per selected row
    rows : (N,) int64 row numbers into ``codes`` (default: all rows); a ``cache.Rows`` view is unwrapped into its
           memory-mapped base and rows
    chunk_rows : memory-mapped sources: rows per shuffling block (16 random blocks shuffled together at a time)
    """

    def __init__(self, codes: np.ndarray | torch.Tensor, targets: np.ndarray | torch.Tensor,
                 rows: np.ndarray | None = None, chunk_rows: int = 4096):
        if isinstance(getattr(codes, "base", None), np.memmap) and hasattr(codes, "rows"):  # a cache.Rows view
            codes, rows = codes.base, (codes.rows if rows is None else codes.rows[rows])
        self.mapped = isinstance(codes, np.memmap)
        if self.mapped:
            if codes.dtype != np.uint8 or codes.ndim != 2:
                raise ValueError("codes must be an (N, L) uint8 array")
            self.codes = codes
            self.rows = (np.arange(len(codes), dtype=np.int64) if rows is None
                         else np.asarray(rows, dtype=np.int64))
            self.chunk_rows = max(1, int(chunk_rows))
            self.max_resident_rows = 0  # the most rows of codes ever copied into memory at once (for tests)
            n = len(self.rows)
        else:
            self.codes = torch.as_tensor(codes if rows is None else np.asarray(codes)[rows])
            if self.codes.dtype != torch.uint8 or self.codes.ndim != 2:
                raise ValueError("codes must be an (N, L) uint8 array")
            n = len(self.codes)
        self.targets = torch.as_tensor(targets)
        if len(self.targets) != n:
            raise ValueError(f"{n} sequences but {len(self.targets)} targets")
        self.device = torch.device("cpu") if self.mapped else self.codes.device
        self._table = torch.from_numpy(ONE_HOT_TABLE).to(self.device)
        self._complement = torch.from_numpy(COMPLEMENT_CODES).to(self.device)

    def __len__(self) -> int:
        return len(self.rows) if self.mapped else len(self.codes)

    def to(self, device: torch.device) -> "SequenceBatches":
        if torch.device(device) == self.device:
            return self
        if self.mapped:  # codes stay on disk; each batch is moved when it is made
            self.device = torch.device(device)
            self.targets = self.targets.to(device)
            self._table, self._complement = self._table.to(device), self._complement.to(device)
            return self
        # pinned host memory makes the one copy to the GPU faster; the codes are 1 byte per base, so they fit
        return SequenceBatches(self.codes.to(device, non_blocking=True), self.targets.to(device, non_blocking=True))

    def batches(self, batch_size: int, shuffle: bool = False, generator: torch.Generator | None = None,
                augment: bool = False, shard: tuple[int, int] | None = None):
        """Yield (x (B, 4, L) float32, y) on the source's device.

        ``augment`` replaces a random half of each batch by its reverse complement (same label). ``shard``:
        (rank, world_size) in data-parallel training, see ``training.loop.batch_indices``.
        """
        from biodeep_gui.core.training.loop import batch_indices

        if self.mapped:
            sampler = batch_indices(len(self), batch_size, shuffle, generator, None, shard=shard,
                                    chunk=self.chunk_rows)
        else:
            sampler = batch_indices(len(self), batch_size, shuffle, generator, self.device, shard=shard)
        for idx in sampler:
            if self.mapped:
                codes, y = self._gather(idx)
            else:
                codes, y = self.codes[idx], self.targets[idx]
            if augment:
                flip = torch.rand(len(codes), generator=generator).to(self.device) < 0.5
                rc = self._complement[codes.long()].flip(-1)
                codes = torch.where(flip[:, None], rc, codes)
            # embedding is the fastest row gather in torch (one fused kernel on CPU and GPU)
            yield torch.nn.functional.embedding(codes.long(), self._table).transpose(1, 2), y

    def _gather(self, idx) -> tuple[torch.Tensor, torch.Tensor]:
        """One batch of a memory-mapped source: its rows read from the file (in file order), then moved."""
        if isinstance(idx, slice):
            pos = np.arange(idx.start, min(idx.stop, len(self)))
        else:
            pos = idx.numpy()
        rows = self.rows[pos]
        sort = np.argsort(rows, kind="stable")  # read the file forwards; the batch is a set, order is free
        pos, rows = pos[sort], rows[sort]
        codes = torch.from_numpy(np.asarray(self.codes[rows]))
        self.max_resident_rows = max(self.max_resident_rows, len(rows))
        take = torch.from_numpy(pos.astype(np.int64)).to(self.targets.device)
        return codes.to(self.device, non_blocking=True), self.targets[take]


def source_for(codes, targets, rows: np.ndarray | None = None) -> SequenceBatches:
    """A batch source over ``codes[rows]``: a view on a memory-mapped cache (nothing copied), else the rows.

    ``codes`` may also be a ``cache.Rows`` view (the subset of a cached set): its rows are composed with ``rows``.
    """
    return SequenceBatches(codes, targets, rows=rows)
