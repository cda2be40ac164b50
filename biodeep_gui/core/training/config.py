"""Training settings shared by the sequence and scans configurations."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class TrainConfig:
    epochs: int = 20
    batch_size: int = 64
    lr: float = 3e-3
    optimizer: str = "adam"  # adam | adamw | sgd
    weight_decay: float = 0.0
    patience: int = 5  # early stopping: epochs without improvement of the monitored metric; 0 = off
    monitor: str = "auto"  # validation metric to monitor; auto: auroc (binary), accuracy (multiclass), pearson
    class_weighting: bool = False
    grad_clip: float = 0.0  # max gradient norm; 0 = off
    rc_augment: bool = False  # reverse-complement augmentation
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda | cuda:N | mps
    amp: bool = False  # bf16 autocast on CUDA


