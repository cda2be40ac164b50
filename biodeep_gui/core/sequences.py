"""Reading sequences and labels (FASTA/FASTQ/CSV/TSV/BED + genome) into a compact ``SequenceSet``."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class SequenceSet:
    """Sequences stored once as uint8 codes, with their labels.

    Attributes
    ----------
    ids : (N,) record identifiers, unique
    codes : (N, L) uint8, see ``biodeep_gui.core.encoding``
    labels : (N, T) float32. binary: 0/1 per task column; multiclass: (N, 1) class index; regression: values.
             Unlabelled sets (for prediction) have T = 0.
    task : 'binary' | 'multiclass' | 'regression' | 'none'
    label_names : (T,) names of the label columns (task names)
    class_names : names of the classes, by index (classification only)
    lengths : (N,) int32 original lengths before centre-crop / padding
    groups : (N,) chromosome of each window (BED input) for chromosome hold-out splits, else None
    sources : files the set was read from
    """

    ids: list[str]
    codes: np.ndarray
    labels: np.ndarray
    task: str
    label_names: list[str] = field(default_factory=list)
    class_names: list[str] = field(default_factory=list)
    lengths: np.ndarray | None = None
    groups: np.ndarray | None = None
    sources: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def length(self) -> int:
        return int(self.codes.shape[1])

    @property
    def n_outputs(self) -> int:
        """Number of network outputs the task needs."""
        if self.task == "multiclass":
            return len(self.class_names)
        return int(self.labels.shape[1])

    def subset(self, index: np.ndarray) -> "SequenceSet":
        return SequenceSet(
            ids=[self.ids[i] for i in index], codes=self.codes[index], labels=self.labels[index], task=self.task,
            label_names=list(self.label_names), class_names=list(self.class_names),
            lengths=None if self.lengths is None else self.lengths[index],
            groups=None if self.groups is None else self.groups[index], sources=list(self.sources))
