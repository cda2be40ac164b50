"""One versioned run configuration for the GUI, the CLI and saved runs.

A ``RunConfig`` is plain data (dataclasses of str/int/float/bool/list), saved as JSON inside every run folder
and readable from TOML or JSON files given to ``biodeep train --config``. ``SCHEMA_VERSION`` grows whenever
a field changes meaning; ``migrate`` brings an older dict up to date so old run folders keep loading.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from biodeep_gui.core.common import configio
from biodeep_gui.core.common.configio import choice, number
from biodeep_gui.core.common.errors import ConfigError
from biodeep_gui.core.training.config import TrainConfig

SCHEMA_VERSION = 2

TASKS = ("auto", "binary", "multiclass", "regression")
DATA_KINDS = ("fasta", "table", "bed")
LENGTH_POLICIES = ("fit", "strict")
BACKGROUNDS = ("shuffle", "flank")
CACHE_MODES = ("auto", "on", "off")  # see biodeep_gui.core.sequences.cache
#: Longest sequence length (bp) a run may ask for: one-hot inputs of longer windows would not fit in memory.
MAX_LENGTH = 1_000_000


@dataclass
class DataConfig:
    """Where the sequences and labels come from.

    kind
        ``fasta``: ``fasta`` holds bound sequences and ``background`` unbound ones (binary labels), or, with no
        background, labels are read from each header (``>id label=1`` or ``>id|1``).
        ``table``: CSV/TSV ``table`` with ``sequence_column`` and one or more ``label_columns``.
        ``bed``: peaks in ``bed`` cut from ``genome`` as ``width``-bp windows centred on each peak, with a
        matched background (``background_method``: dinucleotide-shuffled peaks or flanking regions).
    """

    kind: str = choice("fasta", DATA_KINDS)
    fasta: str = ""
    background: str = ""
    table: str = ""
    sequence_column: str = "sequence"
    label_columns: list[str] = field(default_factory=lambda: ["label"])
    id_column: str = ""
    bed: str = ""
    genome: str = ""
    width: int = number(200, ge=1, le=MAX_LENGTH)
    background_method: str = choice("shuffle", BACKGROUNDS)
    holdout_chromosomes: list[str] = field(default_factory=list)
    test_file: str = ""
    length: int = number(0, ge=0, le=MAX_LENGTH, note="0 = the longest sequence")
    # fit: centre-crop longer and pad shorter; strict: refuse other lengths
    length_policy: str = choice("fit", LENGTH_POLICIES)
    task: str = choice("auto", TASKS)
    val_fraction: float = number(0.1, ge=0, lt=1)
    test_fraction: float = number(0.1, ge=0, lt=1)
    # encoded cache on disk: auto = FASTA/table inputs over 256 MiB in total, or a BED file over 4 MiB (the
    # genome's size does not count: it is read window by window, never held); on = always, off = never
    cache: str = choice("auto", CACHE_MODES)

    def input_files(self) -> list[str]:
        """The files this configuration reads, in a stable order."""
        names = {"fasta": [self.fasta, self.background], "table": [self.table], "bed": [self.bed, self.genome]}
        return [p for p in names[self.kind] + [self.test_file] if p]


@dataclass
class ModelConfig:
    """Architecture name (see ``biodeep_gui.core.sequences.models.ARCHITECTURES``) and its hyper-parameters.

    Hyper-parameters left out take the architecture's defaults.
    """

    arch: str = "cnn"
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class RunConfig(configio.ConfigDocument):
    """The settings of a sequence run; ``from_dict``, ``load``, ``save``, ``to_dict`` come from ``ConfigDocument``."""

    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    name: str = ""
    schema_version: int = number(SCHEMA_VERSION, ge=1, le=SCHEMA_VERSION)

    @classmethod
    def migrate_dict(cls, raw: dict[str, Any]) -> dict[str, Any]:
        return migrate(raw)

    @classmethod
    def unwrap(cls, raw: dict[str, Any]) -> dict[str, Any]:
        if isinstance(raw.get("config"), dict) and "model" in raw:  # a run folder's run.json: re-run its config
            raw = {"schema_version": raw.get("schema_version", 1), **raw["config"]}
        return raw

    def validate(self) -> None:
        """Raise ``ConfigError`` naming the first invalid setting (types, ranges, choices, then combinations)."""
        super().validate()
        d = self.data
        if d.val_fraction + d.test_fraction >= 1:
            raise ConfigError(f"data.val_fraction + data.test_fraction = {d.val_fraction:g} + {d.test_fraction:g} "
                              f"leaves no training data; they must sum to less than 1")


def _migrate_1_to_2(raw: dict[str, Any]) -> None:
    data = configio.section(raw, "data")
    if "label_column" in data:
        data["label_columns"] = [data.pop("label_column")]
    train = configio.section(raw, "train")
    if "early_stopping" in train:
        train["patience"] = 5 if train.pop("early_stopping") else 0
    raw["data"], raw["train"] = data, train


def migrate(raw: dict[str, Any]) -> dict[str, Any]:
    """Bring a configuration dict of any earlier schema version up to ``SCHEMA_VERSION``.

    Version 1 (0.0.x) had a flat ``label_column`` string and ``train.early_stopping`` (bool) with a fixed
    patience of 5.
    """
    return configio.migrate(raw, SCHEMA_VERSION, {1: _migrate_1_to_2})
