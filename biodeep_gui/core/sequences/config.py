"""One versioned run configuration for the GUI, the CLI and saved runs.

A ``RunConfig`` is plain data (dataclasses of str/int/float/bool/list), saved as JSON inside every run folder
and readable from TOML or JSON files given to ``biodeep train --config``. ``SCHEMA_VERSION`` grows whenever
a field changes meaning; ``migrate`` brings an older dict up to date so old run folders keep loading.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomllib

from biodeep_gui.core.common.configio import _build, _choice
from biodeep_gui.core.common.errors import ConfigError
from biodeep_gui.core.training.config import TrainConfig

SCHEMA_VERSION = 2

TASKS = ("auto", "binary", "multiclass", "regression")
DATA_KINDS = ("fasta", "table", "bed")
LENGTH_POLICIES = ("fit", "strict")
BACKGROUNDS = ("shuffle", "flank")


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

    kind: str = "fasta"
    fasta: str = ""
    background: str = ""
    table: str = ""
    sequence_column: str = "sequence"
    label_columns: list[str] = field(default_factory=lambda: ["label"])
    id_column: str = ""
    bed: str = ""
    genome: str = ""
    width: int = 200
    background_method: str = "shuffle"
    holdout_chromosomes: list[str] = field(default_factory=list)
    test_file: str = ""
    length: int = 0  # 0: the longest sequence
    length_policy: str = "fit"  # fit: centre-crop longer and pad shorter; strict: refuse other lengths
    task: str = "auto"
    val_fraction: float = 0.1
    test_fraction: float = 0.1

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
class RunConfig:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    name: str = ""
    schema_version: int = SCHEMA_VERSION

    # ---- (de)serialisation -------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> "RunConfig":
        raw = migrate(raw)
        try:
            cfg = cls(
                data=_build(DataConfig, raw.get("data", {}), "data"),
                model=_build(ModelConfig, raw.get("model", {}), "model"),
                train=_build(TrainConfig, raw.get("train", {}), "train"),
                name=str(raw.get("name", "")),
                schema_version=SCHEMA_VERSION,
            )
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"invalid configuration: {exc}") from None
        cfg.validate()
        return cfg

    @classmethod
    def load(cls, path: str | Path) -> "RunConfig":
        """Read a TOML (``.toml``) or JSON configuration file."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
            raw = tomllib.loads(text) if path.suffix.lower() == ".toml" else json.loads(text)
        except FileNotFoundError:
            raise ConfigError(f"{path}: configuration file not found") from None
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read the configuration ({exc.strerror or exc})") from None
        except (tomllib.TOMLDecodeError, json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
            raise ConfigError(f"{path}: not a valid {'TOML' if path.suffix.lower() == '.toml' else 'JSON'} "
                              f"configuration ({exc})") from None
        if not isinstance(raw, dict):
            raise ConfigError(f"{path}: expected a table of settings at the top level")
        if isinstance(raw.get("config"), dict) and "model" in raw:  # a run folder's run.json: re-run its config
            raw = {"schema_version": raw.get("schema_version", 1), **raw["config"]}
        try:
            return cls.from_dict(raw)
        except ConfigError as exc:
            raise ConfigError(f"{path}: {exc}") from None

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    def validate(self) -> None:
        """Raise ``ConfigError`` naming the first invalid setting."""
        d, t = self.data, self.train
        _choice("data.kind", d.kind, DATA_KINDS)
        _choice("data.task", d.task, TASKS)
        _choice("data.length_policy", d.length_policy, LENGTH_POLICIES)
        _choice("data.background_method", d.background_method, BACKGROUNDS)
        _choice("train.optimizer", t.optimizer, ("adam", "adamw", "sgd"))
        if not 0 <= d.val_fraction < 1 or not 0 <= d.test_fraction < 1 or d.val_fraction + d.test_fraction >= 1:
            raise ConfigError("data.val_fraction and data.test_fraction must be in [0, 1) and sum to less than 1")
        if d.length < 0 or d.width <= 0:
            raise ConfigError("data.length must be >= 0 and data.width > 0")
        if t.epochs < 1 or t.batch_size < 1 or t.lr <= 0 or t.patience < 0 or t.grad_clip < 0:
            raise ConfigError("train.epochs and train.batch_size must be >= 1, train.lr > 0, "
                              "train.patience and train.grad_clip >= 0")
        if not isinstance(d.label_columns, list) or not all(isinstance(c, str) for c in d.label_columns):
            raise ConfigError("data.label_columns must be a list of column names")


def migrate(raw: dict[str, Any]) -> dict[str, Any]:
    """Bring a configuration dict of any earlier schema version up to ``SCHEMA_VERSION``.

    Version 1 (0.0.x) had a flat ``label_column`` string and ``train.early_stopping`` (bool) with a fixed
    patience of 5.
    """
    raw = json.loads(json.dumps(raw))  # deep copy, plain types only
    version = raw.get("schema_version", 1)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ConfigError(f"schema_version = {version!r} is not a positive whole number")
    if version > SCHEMA_VERSION:
        raise ConfigError(f"configuration schema version {version} is newer than this BioDeep understands "
                          f"({SCHEMA_VERSION}); please update BioDeep")
    if version < 2:
        data = raw.setdefault("data", {})
        if "label_column" in data:
            data["label_columns"] = [data.pop("label_column")]
        train = raw.setdefault("train", {})
        if "early_stopping" in train:
            train["patience"] = 5 if train.pop("early_stopping") else 0
    raw["schema_version"] = SCHEMA_VERSION
    return raw


