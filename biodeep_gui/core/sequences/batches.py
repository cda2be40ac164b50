"""Mini-batch sources for ``training.fit``: data stay compact on the device, batches are made there.

A batch source has ``__len__`` (number of samples), ``to(device)`` and
``batches(batch_size, shuffle, generator, augment)`` yielding ``(x, y)`` tensors on its device. Sequences stay
uint8 codes (1 byte per base) and become float one-hot only one batch at a time, on the training device.

Memory-mapped sources on CUDA prefetch: a background thread reads the rows of batch k+1 from the file into pinned
host memory while the GPU works on batch k, and the copy to the GPU does not wait for it (``non_blocking``).
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

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
    prefetch : memory-mapped sources: read the next batch's rows in a background thread while the current batch
               is used (at most 2 batches in flight), into pinned memory on CUDA. None (default): on when the
               source is on a CUDA device. The batches and their order are the same either way.
    """

    def __init__(self, codes: np.ndarray | torch.Tensor, targets: np.ndarray | torch.Tensor,
                 rows: np.ndarray | None = None, chunk_rows: int = 4096, prefetch: bool | None = None):
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
            self.max_in_flight = 0  # the most batches read and not yet used up at once (for tests)
            n = len(self.rows)
        else:
            self.codes = torch.as_tensor(codes if rows is None else np.asarray(codes)[rows])
            if self.codes.dtype != torch.uint8 or self.codes.ndim != 2:
                raise ValueError("codes must be an (N, L) uint8 array")
            n = len(self.codes)
        self.prefetch = prefetch
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
        pairs = (self._mapped(sampler) if self.mapped
                 else ((self.codes[idx], self.targets[idx]) for idx in sampler))
        try:
            for codes, y in pairs:
                if augment:
                    # drawn on the host (the same flips on every device), copied without waiting for the GPU
                    flip = self._host_to_device(torch.rand(len(codes), generator=generator)) < 0.5
                    rc = self._complement[codes.long()].flip(-1)
                    codes = torch.where(flip[:, None], rc, codes)
                # embedding is the fastest row gather in torch (one fused kernel on CPU and GPU); packed (B, 4, L):
                # the convolution was 0-15 % slower on CPU given the transposed view (measured, one thread)
                yield torch.nn.functional.embedding(codes.long(), self._table).transpose(1, 2).contiguous(), y
        finally:
            pairs.close()  # a consumer that stops early (cancel) joins the prefetch thread now, not at collection

    def _pinned(self) -> bool:
        return self.device.type == "cuda"

    def _host_to_device(self, t: torch.Tensor) -> torch.Tensor:
        """A host tensor on the source's device; through pinned memory on CUDA, so the host does not wait."""
        if self._pinned() and not t.is_pinned():
            t = t.pin_memory()
        return t.to(self.device, non_blocking=True)

    def _mapped(self, sampler):
        """(codes (B, L) uint8, y) per batch of a memory-mapped source, in the sampler's order.

        The sampler is advanced here, in the consumer's thread (it shares the augmentation's generator); only the
        file reads go to the prefetch thread, which holds at most one batch beyond the one being used.
        """
        prefetch = self._pinned() if self.prefetch is None else self.prefetch
        if not prefetch:
            for idx in sampler:
                self.max_in_flight = max(self.max_in_flight, 1)
                yield self._move(*self._read(idx))
            return
        with ThreadPoolExecutor(1, thread_name_prefix="biodeep-prefetch") as pool:  # joined on exit, also on close
            pending = None
            for idx in sampler:
                ahead = pool.submit(self._read, idx)
                if pending is not None:
                    self.max_in_flight = max(self.max_in_flight, 2)
                    yield self._move(*pending.result())
                pending = ahead
            if pending is not None:
                self.max_in_flight = max(self.max_in_flight, 1)
                yield self._move(*pending.result())

    def _read(self, idx) -> tuple[torch.Tensor, torch.Tensor]:
        """The rows of one batch read from the file (in file order) into host memory, pinned on CUDA.

        Returns (codes (B, L) uint8, positions (B,) int64 of those rows in this source, for the targets).
        """
        if isinstance(idx, slice):
            pos = np.arange(idx.start, min(idx.stop, len(self)))
        else:
            pos = idx.numpy()
        rows = self.rows[pos]
        sort = np.argsort(rows, kind="stable")  # read the file forwards; the batch is a set, order is free
        pos, rows = pos[sort], rows[sort]
        pin = self._pinned()
        codes = torch.empty((len(rows), self.codes.shape[1]), dtype=torch.uint8, pin_memory=pin)
        np.take(self.codes, rows, axis=0, out=codes.numpy(), mode="clip")  # rows are in range; "raise" would buffer
        take = torch.from_numpy(pos.astype(np.int64))
        self.max_resident_rows = max(self.max_resident_rows, len(rows))
        return codes, (take.pin_memory() if pin else take)

    def _move(self, codes: torch.Tensor, take: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """A batch read by ``_read`` on the source's device (pinned buffers: the copies do not block)."""
        take = take.to(self.targets.device, non_blocking=True)
        return codes.to(self.device, non_blocking=True), self.targets[take]


def source_for(codes, targets, rows: np.ndarray | None = None) -> SequenceBatches:
    """A batch source over ``codes[rows]``: a view on a memory-mapped cache (nothing copied), else the rows.

    ``codes`` may also be a ``cache.Rows`` view (the subset of a cached set): its rows are composed with ``rows``.
    """
    return SequenceBatches(codes, targets, rows=rows)
