"""What a network does, as a plain list of blocks for a drawn diagram (``figures.architecture``).

Each science computes its own list from a model configuration without building the network (no torch import):
``core.sequences.models.diagram`` for the DNA networks, ``core.scans.models.diagram`` for the 3-D autoencoder.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Block:
    """One step of a network, in words.

    name : what the step is, e.g. 'Motif scanner'
    does : what it does to the DNA or the scan, e.g. '32 filters of 19 bases slide along the sequence'
    size : what it passes on, in words, e.g. '32 motif signals at 200 positions'
    kind : 'input', 'layer' or 'output' (drawn in different colours)
    """

    name: str
    does: str
    size: str
    kind: str = "layer"

