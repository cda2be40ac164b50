"""The one place that knows about PyTorch's process group: data-parallel training under ``torchrun`` or ``srun``.

BioDeep never starts processes itself. A launcher does, and sets the usual variables:

* ``torchrun --nproc_per_node=N -m biodeep_gui train --config run.toml --out D`` sets ``RANK``, ``WORLD_SIZE``,
  ``LOCAL_RANK``, ``MASTER_ADDR`` and ``MASTER_PORT``;
* under Slurm, ``srun`` sets ``SLURM_PROCID`` / ``SLURM_NTASKS`` / ``SLURM_LOCALID``; they are read when
  ``RANK``/``WORLD_SIZE`` are absent (``MASTER_ADDR``/``MASTER_PORT`` must then be exported by the batch script,
  e.g. ``export MASTER_ADDR=$(scontrol show hostnames $SLURM_JOB_NODELIST | head -n1) MASTER_PORT=29500``).
  Running ``torchrun`` inside ``srun`` (one task per node) works as well.

``init_from_env(device)`` joins the group (``gloo`` on CPU, ``nccl`` on CUDA, chosen from the device; each rank
takes ``cuda:LOCAL_RANK``) and returns a ``DistContext``; without a launcher it returns the single-process
context, whose collectives are no-ops, so the training loop has one code path. The loop asks the context for
its shard of the sample indices (``shard``), to all-reduce sums, to gather validation predictions in sample
order (exact metrics), and to broadcast rank 0's decisions (early stopping, cancelling). Only rank 0
(``is_main``) writes files.

Scans training (``torchrun -m biodeep_gui scans train ...``, ``core.scans.pipeline``): its cross-validation folds
are independent fits, so they are spread over the ranks rather than made data-parallel: in rounds of one fold per
rank (rank r fits folds r + 1, r + 1 + world_size, ..., each seeded by its fold, so the results are a single
process's), each round ending with ``gather_objects`` of the finished folds (plain data), which also carries any
rank's error or cancel to every rank: no rank waits at a collective for one that has stopped, and the error is raised
once. Rank 0 fills the preprocessing cache while the others wait at a ``broadcast``; the permutation test spreads
its permutations the same way (``core.scans.permutation``); rank 0 alone fits the final autoencoder and writes the
run folder. A rank that dies outright (killed, out of memory) is handled by the launcher: torchrun stops the others;
under a bare ``srun`` they give up after ``TIMEOUT_MINUTES``.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import numpy as np
import torch

#: How long a collective may wait for the slowest rank (rank 0 encoding a genome-scale cache, saving a checkpoint).
TIMEOUT_MINUTES = 120

_RANK_VARS = (("RANK", "SLURM_PROCID"), ("WORLD_SIZE", "SLURM_NTASKS"), ("LOCAL_RANK", "SLURM_LOCALID"))


def launch_env(environ: dict[str, str] | None = None) -> tuple[int, int, int]:
    """(rank, world_size, local_rank) from torchrun's variables, else Slurm's, else (0, 1, 0)."""
    env = os.environ if environ is None else environ
    out = []
    for names, default in zip(_RANK_VARS, (0, 1, 0)):
        raw = next((env[n] for n in names if env.get(n, "").strip()), None)
        try:
            out.append(int(raw) if raw is not None else default)
        except ValueError:
            raise ValueError(f"{names[0]}={raw!r} is not a whole number") from None
    rank, world, local = out
    if world < 1 or not 0 <= rank < world:
        raise ValueError(f"rank {rank} does not fit a world of {world} processes")
    return rank, world, local


def backend_for(device: torch.device) -> str:
    """``nccl`` for CUDA devices, ``gloo`` for everything else."""
    return "nccl" if torch.device(device).type == "cuda" else "gloo"


@dataclass
class DistContext:
    """This process's place in the group; a world of 1 makes every collective a no-op."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    backend: str = ""  # '' when not distributed
    device: torch.device = torch.device("cpu")
    owns_group: bool = False  # this context created the process group and destroys it in ``close``

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def provenance(self) -> dict[str, Any]:
        """What run.json records about the launch."""
        return {"world_size": self.world_size, "backend": self.backend or "none"}

    # ---- sharding --------------------------------------------------------------------------------------------

    def shard(self) -> tuple[int, int] | None:
        """(rank, world_size) for ``batch_indices(shard=...)``, or None in a single process."""
        return (self.rank, self.world_size) if self.distributed else None

    # ---- collectives -----------------------------------------------------------------------------------------

    def wrap(self, model: torch.nn.Module) -> torch.nn.Module:
        """``DistributedDataParallel`` around ``model`` (already on ``self.device``); the model itself otherwise."""
        if not self.distributed:
            return model
        from torch.nn.parallel import DistributedDataParallel

        ids = [self.device.index] if self.device.type == "cuda" else None
        return DistributedDataParallel(model, device_ids=ids)

    def all_reduce_sum(self, values: torch.Tensor) -> torch.Tensor:
        """Sum of a tensor over ranks (same shape on every rank)."""
        if not self.distributed:
            return values
        import torch.distributed as dist

        t = values.detach().clone().to(self._comm_device())
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
        return t.to(values.device)

    def any(self, flag: bool) -> bool:
        """True on every rank when it is True on at least one (a cancel seen by any rank stops all)."""
        if not self.distributed:
            return bool(flag)
        return bool(self.all_reduce_sum(torch.tensor([1.0 if flag else 0.0], device=self._comm_device())).item())

    def broadcast(self, value: Any) -> Any:
        """Rank 0's ``value`` (any picklable plain data) on every rank: decisions are taken once."""
        if not self.distributed:
            return value
        import torch.distributed as dist

        box = [value]
        dist.broadcast_object_list(box, src=0, device=self._comm_device())
        return box[0]

    def gather_rows(self, rows: np.ndarray) -> np.ndarray:
        """Concatenate every rank's (n_r, ...) array in rank order, on every rank.

        With contiguous in-order shards (``batch_indices(..., shard=...)`` without shuffling) this restores the
        original sample order, so metrics on the gathered predictions are exactly the single-process ones.
        """
        if not self.distributed:
            return rows
        parts = self.gather_objects(np.ascontiguousarray(rows))
        parts = [p for p in parts if p.size] or parts[:1]
        return np.concatenate(parts) if parts else rows

    def gather_objects(self, obj: Any) -> list[Any]:
        """Every rank's ``obj`` (picklable plain data), in rank order."""
        if not self.distributed:
            return [obj]
        import torch.distributed as dist

        out: list[Any] = [None] * self.world_size
        dist.all_gather_object(out, obj)
        return out

    def barrier(self) -> None:
        if self.distributed:
            import torch.distributed as dist

            if self.device.type == "cuda":
                dist.barrier(device_ids=[self.device.index or 0])
            else:
                dist.barrier()

    def close(self) -> None:
        """Leave the process group when this context created it (end of a run)."""
        if self.owns_group:
            import torch.distributed as dist

            if dist.is_initialized():
                dist.destroy_process_group()
            self.owns_group = False

    def _comm_device(self) -> torch.device:
        return self.device if self.backend == "nccl" else torch.device("cpu")


def init_from_env(device: torch.device, environ: dict[str, str] | None = None) -> DistContext:
    """Join the process group the launcher describes, or return the single-process context.

    Parameters
    ----------
    device : the device the run asked for; on CUDA each rank takes ``cuda:LOCAL_RANK`` (one GPU per process)
    environ : the environment (default ``os.environ``)

    Returns
    -------
    DistContext with the rank, world size, backend and this rank's device
    """
    import torch.distributed as dist

    rank, world, local = launch_env(environ)
    device = torch.device(device)
    if world == 1:
        return DistContext(device=device)
    if device.type == "cuda":
        device = torch.device("cuda", local % max(torch.cuda.device_count(), 1))
        torch.cuda.set_device(device)
    backend = backend_for(device)
    owns = False
    if not dist.is_initialized():
        env = os.environ if environ is None else environ
        missing = [v for v in ("MASTER_ADDR", "MASTER_PORT") if not env.get(v)]
        if missing:
            raise ValueError(f"{' and '.join(missing)} not set: start BioDeep with torchrun, or export them in the "
                             "Slurm script (see biodeep_gui.core.training.distributed)")
        # generous: the other ranks wait at a barrier while rank 0 builds the encoded cache of a big input
        dist.init_process_group(backend, rank=rank, world_size=world, init_method="env://",
                                timeout=timedelta(minutes=TIMEOUT_MINUTES))
        owns = True
    return DistContext(rank, world, local, dist.get_backend(), device, owns)


def current() -> DistContext:
    """The context of an already initialised group (e.g. for the CLI deciding who prints), else single-process."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        rank, world, local = dist.get_rank(), dist.get_world_size(), launch_env()[2]
        return DistContext(rank, world, local, dist.get_backend())
    return DistContext()


def is_main_process(environ: dict[str, str] | None = None) -> bool:
    """Whether this process is rank 0 of its launch (True without a launcher); never touches the group."""
    try:
        return launch_env(environ)[0] == 0
    except ValueError:
        return True
