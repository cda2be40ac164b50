"""Hand a training over to a cluster: the run's settings file plus a ready ``sbatch`` script or ``torchrun`` command.

BioDeep never submits jobs or starts processes itself: it writes what a user (or their admin) would write by hand,
filled from the run's settings and the Model tab's memory estimate, for the launchers PyTorch supports
(``torchrun``; under Slurm one ``torchrun`` per node started by ``srun``, see ``core.training.distributed``).
"""
from __future__ import annotations

import math
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from biodeep_gui.core.common.errors import ConfigError
from biodeep_gui.core.common.fileio import atomic_write, check_output_path

#: Host memory one training process needs besides its data and model: Python, torch and CUDA libraries, buffers.
PROCESS_OVERHEAD_BYTES = 3 * 2**30
#: The rendezvous port on the first node of a Slurm job (torchrun's c10d rendezvous).
RDZV_PORT = 29500
#: The training commands a job may run.
VERBS = ("train", "scans train")
#: File names written by ``export_job``.
CONFIG_NAME, SBATCH_NAME, COMMAND_NAME = "biodeep_config.json", "train.sbatch", "train.sh"


@dataclass
class ClusterJob:
    """What a job asks the cluster for, and where it reads and writes.

    Parameters
    ----------
    name : job name (letters, digits, ``-``, ``_``, ``.``)
    out_dir : the run folder the job writes (must be on a disk the cluster sees; followed from the window)
    nodes : machines; processes_per_node : GPUs per node (or CPU processes with ``gpus = False``)
    gpus : one GPU per process (nccl) or CPU processes (gloo)
    cpus_per_process, memory_gb : per node memory = ``memory_gb``; time : wall-clock limit 'H:MM:SS' or 'D-HH:MM:SS'
    partition, account : Slurm's ``--partition``/``--account`` ('' = the cluster's default)
    setup : shell line(s) that make ``torchrun`` and BioDeep available on the nodes (``source venv/bin/activate``,
            ``module load …``); written before the launch line
    verb : the command that trains: ``train`` (sequences, data-parallel under torchrun) or ``scans train`` (brain
           scans: under torchrun the cross-validation folds and permutations are spread over the processes, so more
           processes than folds leave some idle)
    """

    name: str
    out_dir: str
    nodes: int = 1
    processes_per_node: int = 1
    gpus: bool = True
    cpus_per_process: int = 4
    memory_gb: int = 16
    time: str = "4:00:00"
    partition: str = ""
    account: str = ""
    setup: str = ""
    verb: str = "train"

    def check(self) -> None:
        """``ConfigError`` naming the first setting a scheduler would refuse or misread."""
        if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", self.name):
            raise ConfigError(f"job name {self.name!r}: use 1-64 letters, digits, '-', '_' or '.'")
        for key in ("nodes", "processes_per_node", "cpus_per_process", "memory_gb"):
            v = getattr(self, key)
            if not isinstance(v, int) or isinstance(v, bool) or not 1 <= v <= 100_000:
                raise ConfigError(f"{key} = {v!r}: expected a whole number from 1 to 100000")
        if not re.fullmatch(r"(\d+-)?\d{1,3}:\d\d:\d\d", self.time):
            raise ConfigError(f"time = {self.time!r}: expected H:MM:SS or D-HH:MM:SS (e.g. 4:00:00)")
        for key in ("partition", "account"):
            if not re.fullmatch(r"[A-Za-z0-9_.,-]*", getattr(self, key)):
                raise ConfigError(f"{key} = {getattr(self, key)!r}: letters, digits, '-', '_', '.' or ',' only")
        if self.verb not in VERBS:
            raise ConfigError(f"verb = {self.verb!r}: expected one of {', '.join(VERBS)}")
        if not str(self.out_dir).strip():
            raise ConfigError("out_dir: choose the run folder the job writes")

    @property
    def world_size(self) -> int:
        return self.nodes * self.processes_per_node


def suggest_memory_gb(training_bytes: int, processes_per_node: int) -> int:
    """Host memory to ask per node: each process's overhead plus the training estimate, with a quarter spare.

    ``training_bytes`` is the Model tab's estimate for one process (weights, Adam moments, activations of a batch).
    Encoded sequences are memory-mapped from the cache and do not count as anonymous memory.
    """
    per_process = PROCESS_OVERHEAD_BYTES + max(0, int(training_bytes))
    return max(4, math.ceil(1.25 * per_process * processes_per_node / 2**30))


def torchrun_command(job: ClusterJob, config_path: str | Path) -> str:
    """A plain ``torchrun`` line for one machine (``--standalone``): ``job.processes_per_node`` processes, for either
    verb (``-m biodeep_gui train ...`` or ``-m biodeep_gui scans train ...``)."""
    job.check()
    launcher = f"torchrun --standalone --nproc_per_node={job.processes_per_node}"
    return f"{launcher} -m biodeep_gui {_arguments(job, config_path)}"


def _arguments(job: ClusterJob, config_path: str | Path) -> str:
    return f"{job.verb} --config {shlex.quote(str(config_path))} --out {shlex.quote(str(job.out_dir))}"


def sbatch_script(job: ClusterJob, config_path: str | Path) -> str:
    """A Slurm batch script: one ``torchrun`` per node started by ``srun``, rendezvous on the first node."""
    job.check()
    lines = ["#!/bin/bash",
             f"#SBATCH --job-name={job.name}",
             f"#SBATCH --nodes={job.nodes}",
             "#SBATCH --ntasks-per-node=1",
             f"#SBATCH --cpus-per-task={job.cpus_per_process * job.processes_per_node}",
             f"#SBATCH --mem={job.memory_gb}G",
             f"#SBATCH --time={job.time}",
             f"#SBATCH --output={job.name}-%j.out"]
    if job.gpus:
        lines.append(f"#SBATCH --gpus-per-node={job.processes_per_node}")
    lines += [f"#SBATCH --{key}={getattr(job, key)}" for key in ("partition", "account") if getattr(job, key)]
    lines += ["", "# Written by BioDeep (Training > Run on a cluster). The data files named in the",
              "# settings file and the run folder must be on a disk every node sees.",
              "set -euo pipefail", ""]
    lines += [job.setup.strip(), ""] if job.setup.strip() else []
    lines.append(f"export OMP_NUM_THREADS={job.cpus_per_process}")
    lines += ['head_node=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n1)',
              'srun torchrun --nnodes="$SLURM_NNODES" '
              f'--nproc_per_node={job.processes_per_node} --rdzv_id="$SLURM_JOB_ID" --rdzv_backend=c10d '
              f'--rdzv_endpoint="$head_node:{RDZV_PORT}" \\',
              f"    -m biodeep_gui {_arguments(job, config_path)}", ""]
    return "\n".join(lines)


def export_job(config: Any, job: ClusterJob, folder: str | Path, inputs: Iterable[str | Path] = ()) -> dict[str, Path]:
    """Write the settings file, the ``sbatch`` script and the ``torchrun`` line into ``folder``.

    Parameters
    ----------
    config : the run's configuration (anything with ``save(path)``, e.g. ``RunConfig``); its device should be the
        one the cluster uses ('cuda' with GPUs, else 'cpu')
    job : the resources and paths
    folder : a new folder, or one holding only files this export writes (each written atomically); refused when it
        is or holds an input, or is inside a run folder (``check_output_path``)
    inputs : the data files the configuration reads

    Returns
    -------
    {'config': path, 'sbatch': path, 'command': path}
    """
    job.check()
    folder = check_output_path(folder, list(inputs), "folder", setting="export folder",
                               own_suffixes=(".json", ".sbatch", ".sh"))
    folder.mkdir(parents=True, exist_ok=True)
    cfg_path = folder.absolute() / CONFIG_NAME
    config.save(cfg_path)
    sbatch = atomic_write(folder / SBATCH_NAME, sbatch_script(job, cfg_path))
    command = atomic_write(folder / COMMAND_NAME,
                           "#!/bin/bash\n# One machine, no scheduler (written by BioDeep)\nset -euo pipefail\n"
                           + (job.setup.strip() + "\n" if job.setup.strip() else "")
                           + torchrun_command(job, cfg_path) + "\n")
    for p in (sbatch, command):
        p.chmod(0o755)
    return {"config": cfg_path, "sbatch": sbatch, "command": command}
