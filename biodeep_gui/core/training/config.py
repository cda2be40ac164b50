"""Training settings shared by the sequence and scans configurations.

Every field declares its range or choices (``configio.number`` / ``configio.choice``), so ``configio.check``
refuses NaN, a negative learning rate or an unknown metric wherever the settings come from.
"""
from __future__ import annotations

from dataclasses import dataclass

from biodeep_gui.core.common.configio import choice, number

#: Metrics ``train.monitor`` may name: ``auto`` (auroc for binary, accuracy for multiclass, pearson for regression;
#: see ``metrics.default_monitor``) or one of the validation metrics the loop reports
#: (``metrics.HIGHER_IS_BETTER`` lists the same names with their direction).
MONITORS = ("auto", "loss", "auroc", "auprc", "accuracy", "f1", "balanced_accuracy", "pearson", "spearman", "r2",
            "mse")
OPTIMIZERS = ("adam", "adamw", "sgd")
#: Upper bounds that catch typos (an extra zero or three) before anything is allocated.
MAX_EPOCHS = 100_000
MAX_BATCH_SIZE = 1_000_000
SEED_MAX = 2**32 - 1


@dataclass
class TrainConfig:
    epochs: int = number(20, ge=1, le=MAX_EPOCHS)
    batch_size: int = number(64, ge=1, le=MAX_BATCH_SIZE)
    lr: float = number(3e-3, gt=0)
    optimizer: str = choice("adam", OPTIMIZERS)
    weight_decay: float = number(0.0, ge=0)
    # early stopping: epochs without improvement of the monitored metric; 0 = off
    patience: int = number(5, ge=0, le=MAX_EPOCHS, note="0 = off")
    # validation metric to monitor; auto: auroc (binary), accuracy (multiclass), pearson (regression)
    monitor: str = choice("auto", MONITORS)
    class_weighting: bool = False
    grad_clip: float = number(0.0, ge=0, note="max gradient norm; 0 = off")
    rc_augment: bool = False  # reverse-complement augmentation
    seed: int = number(0, ge=0, le=SEED_MAX)
    device: str = "auto"  # auto | cpu | cuda | cuda:N | mps
    amp: bool = False  # bf16 autocast on CUDA (training and validation); ignored on CPU, where bf16 is slower
    compile: bool = False  # torch.compile the model for training; falls back to eager, with a note, if it cannot
