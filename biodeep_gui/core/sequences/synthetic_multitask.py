"""SYNTHETIC genome-scale multi-task data (DeepSEA/Basset style): task t = "motif t is present".

Each of ``n_tasks`` tasks has its own JASPAR motif (bundled collection, in id order, widths <= ``max_width``).
Every sequence draws each task independently with probability ``rate``; the sites of the drawn tasks (as many as
fit without overlap, at most ``max_sites``) are sampled from the motifs' PFMs and planted on a random strand into
a CpG-depleted Markov background with the helpers of ``synthetic_motifs``. A task's label is 1 exactly when its
motif was planted. For tests and benches (``bench/scale.py``); never a claim about biology.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from biodeep_gui.core.sequences.dataset import SequenceSet
from biodeep_gui.core.sequences.synthetic_background import HUMAN_GC, background_codes, base_composition
from biodeep_gui.core.sequences.synthetic_motifs import SitePool, max_score, plant_sites, random_starts


def task_motifs(n_tasks: int, max_width: int = 16):
    """The first ``n_tasks`` bundled JASPAR motifs (by id) no wider than ``max_width``, one per task."""
    from biodeep_gui.core.sequences.motif_db import bundled_jaspar

    pool = sorted((m for m in bundled_jaspar() if m.width <= max_width), key=lambda m: m.id)
    if n_tasks > len(pool):
        raise ValueError(f"{n_tasks} tasks asked for, but only {len(pool)} bundled motifs are <= {max_width} bp")
    return tuple(pool[:n_tasks])


def multitask_set(n: int = 2000, length: int = 200, n_tasks: int = 8, *, rate: float = 0.15, max_sites: int = 4,
                  max_width: int = 16, min_fraction: float = 0.7, gc: float = HUMAN_GC, seed: int = 0,
                  id_prefix: str = "mt") -> SequenceSet:
    """SYNTHETIC multi-task binary set.

    Parameters
    ----------
    n, length : sequences and their length (bp)
    n_tasks : label columns, one JASPAR motif each
    rate : probability that a sequence carries a given task's motif (before the ``max_sites`` cap)
    max_sites : at most this many planted sites (tasks) per sequence
    max_width : widest motif used
    min_fraction : sites scoring below this fraction of the motif's best log-odds are redrawn
    seed : same seed, same data

    Returns
    -------
    SequenceSet with codes (n, length), labels (n, n_tasks) float32 0/1, task 'binary', label_names the motif
    ids and names (``MA0139.2_CTCF``), class_names ['absent', 'present'].
    """
    motifs = task_motifs(n_tasks, max_width)
    if length < max_sites * max(m.width for m in motifs):
        max_sites = max(1, length // max(m.width for m in motifs))
    rng = np.random.default_rng([int(seed), 21])
    codes = background_codes(rng, n, length, gc)
    drawn = rng.random((n, n_tasks)) < rate
    labels = np.zeros((n, n_tasks), np.float32)
    chosen = []
    for i in range(n):
        tasks = np.flatnonzero(drawn[i])
        if len(tasks) > max_sites:
            tasks = rng.choice(tasks, max_sites, replace=False)
        chosen.append(tasks)
        labels[i, tasks] = 1.0
    bg = base_composition(gc)
    counts = labels.sum(axis=0).astype(int)
    pools = [SitePool(rng, m, int(counts[t]), min_score=min_fraction * max_score(m, bg), background=bg)
             for t, m in enumerate(motifs)]
    for i, tasks in enumerate(chosen):
        if not len(tasks):
            continue
        starts = random_starts(rng, length, [motifs[t].width for t in tasks])
        for t, start in zip(tasks, starts):
            site, score = pools[t].take(1)
            plant_sites(rng, codes[i], motifs[t], site, score, [start])
    names = [f"{m.id}_{m.name}".replace(",", "_").replace(" ", "_") for m in motifs]
    return SequenceSet(ids=[f"{id_prefix}_{i + 1:07d}" for i in range(n)], codes=codes, labels=labels,
                       task="binary", label_names=names, class_names=["absent", "present"],
                       lengths=np.full(n, length, np.int32), sources=["SYNTHETIC multi-task"])


def write_multitask_table(ss: SequenceSet, path: str | Path) -> Path:
    """Write a multi-task set as a CSV table (``id``, ``sequence``, one 0/1 column per task), atomically."""
    from biodeep_gui.core.common.fileio import atomic_write_with
    from biodeep_gui.core.sequences.encoding import decode

    def write(fh):
        fh.write((",".join(["id", "sequence", *ss.label_names]) + "\n").encode())
        for sid, row, lab in zip(ss.ids, ss.codes, ss.labels.astype(np.int8)):
            fh.write(f"{sid},{decode(row)},{','.join(map(str, lab.tolist()))}\n".encode())

    return atomic_write_with(path, write)
