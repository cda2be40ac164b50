"""A project: the data a user works on, the runs trained on it and the settings, saved as one JSON file.

Paths are stored relative to the project file when they sit in the project's folder tree (or beside it), so a
project folder can be moved or shared as a whole; others are stored absolute. When data files have moved,
``missing_files`` lists them and ``relocate`` rewrites every path under an old folder to a new one, so the app can
ask the user where the files went instead of refusing to open the project.

No Qt here: the same project file can be read by the CLI or a headless script.
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from biodeep_gui.core.common import configio
from biodeep_gui.core.common.errors import ConfigError
from biodeep_gui.core.scans.config import ScansDataConfig
from biodeep_gui.core.sequences.config import DataConfig, ModelConfig
from biodeep_gui.core.training.config import TrainConfig

PROJECT_VERSION = 1
PROJECT_SUFFIX = ".biodeep.json"
FORMAT = "biodeep-project"

#: The keys of a project file.
PROJECT_KEYS = ("format", "version", "name", "data", "runs", "model", "train", "scans")
#: DataConfig fields that hold file paths.
DATA_PATH_FIELDS = ("fasta", "background", "table", "bed", "genome", "test_file")
#: ScansDataConfig fields that hold file or folder paths (the atlas is a bundled name or a path: kept as given).
SCANS_PATH_FIELDS = ("images", "labels", "timeseries", "mask")


@dataclass
class Project:
    """Everything needed to pick up work where it was left.

    Attributes
    ----------
    name : shown in the window title
    data : a ``DataConfig`` as a dict (absolute paths in memory)
    runs : run folders (absolute paths in memory), oldest first
    model : a ``ModelConfig`` as a dict (architecture and hyper-parameters)
    train : a ``TrainConfig`` as a dict (epochs, batch size, device, ...)
    scans : the brain-scans cohort as a ``ScansDataConfig`` dict (images, label table, columns, class names); empty
            when the project has none (and in files written before it was kept)
    path : where the project was loaded from / saved to (not stored in the file)
    """

    name: str = "Untitled project"
    data: dict[str, Any] = field(default_factory=lambda: dataclasses.asdict(DataConfig()))
    runs: list[str] = field(default_factory=list)
    model: dict[str, Any] = field(default_factory=lambda: dataclasses.asdict(ModelConfig()))
    train: dict[str, Any] = field(default_factory=lambda: dataclasses.asdict(TrainConfig()))
    scans: dict[str, Any] = field(default_factory=dict)
    path: str = ""

    def data_config(self) -> DataConfig:
        """The data settings as a ``DataConfig`` (unknown keys from a newer version are ignored)."""
        return _known(DataConfig, self.data, "data")

    def model_config(self) -> ModelConfig:
        return _known(ModelConfig, self.model, "model")

    def train_config(self) -> TrainConfig:
        return _known(TrainConfig, self.train, "train")

    def scans_data_config(self) -> ScansDataConfig | None:
        """The brain-scans cohort settings, or None when the project keeps none."""
        return _known(ScansDataConfig, self.scans, "scans") if self.scans else None

    def runs_folder(self) -> Path | None:
        """Where new runs of this project are saved: ``runs/`` beside the project file (None if never saved)."""
        return Path(self.path).parent / "runs" if self.path else None

    def to_dict(self, relative_to: str | os.PathLike | None = None) -> dict[str, Any]:
        """Plain JSON-ready dict; paths made relative to the folder ``relative_to`` where sensible."""
        base = Path(relative_to) if relative_to else None
        data = dict(self.data)
        for key in DATA_PATH_FIELDS:
            if data.get(key):
                data[key] = _relative(data[key], base)
        out = {"format": FORMAT, "version": PROJECT_VERSION, "name": self.name, "data": data,
               "runs": [_relative(r, base) for r in self.runs], "model": dict(self.model), "train": dict(self.train)}
        if self.scans:
            out["scans"] = _with_paths(self.scans, SCANS_PATH_FIELDS, lambda p: _relative(p, base))
        return out

    @classmethod
    def from_dict(cls, raw: dict[str, Any], relative_to: str | os.PathLike | None = None) -> "Project":
        """Inverse of ``to_dict``: relative paths are resolved against the folder ``relative_to``.

        Every setting is checked as a ``RunConfig``'s would be: ``ConfigError`` naming ``section.key`` for an unknown
        key, a wrong type, a value out of range or not among the choices.
        """
        if not isinstance(raw, dict) or raw.get("format") != FORMAT:
            raise ConfigError("not a BioDeep project file (no 'format': 'biodeep-project' entry)")
        raw = configio.migrate(raw, PROJECT_VERSION, key="version", what="project file")
        unknown = sorted(set(raw) - set(PROJECT_KEYS))
        if unknown:
            raise ConfigError(f"unknown setting{'s' if len(unknown) > 1 else ''} {', '.join(unknown)} in the project "
                              f"file; known: {', '.join(PROJECT_KEYS)}")
        try:
            data, model, train = (configio.section(raw, k) for k in ("data", "model", "train"))
        except ConfigError as exc:
            raise ConfigError(f"damaged project file: {exc}") from None
        runs = raw.get("runs") or []
        configio.check_type("runs", runs, list[str])
        name = raw.get("name") or "Untitled project"
        configio.check_type("name", name, str)
        # each setting is checked (type, range, choice); combinations (validation + test fractions) are not: the GUI
        # saves a form as it stands, and a project must reopen so that the user can fix it
        configio.build(DataConfig, data, "data")
        configio.build(ModelConfig, model, "model")
        configio.build(TrainConfig, train, "train")
        scans = configio.section(raw, "scans") if raw.get("scans") else {}
        if scans:
            configio.build(ScansDataConfig, scans, "scans")
        base = Path(relative_to) if relative_to else None
        data = dict(data)
        for key in DATA_PATH_FIELDS:
            if data.get(key):
                data[key] = _absolute(str(data[key]), base)
        return cls(name=name, data=data, runs=[_absolute(r, base) for r in runs], model=dict(model),
                   train=dict(train), scans=_with_paths(scans, SCANS_PATH_FIELDS, lambda p: _absolute(p, base)))


def save_project(project: Project, path: str | os.PathLike) -> Path:
    """Write ``project`` to ``path`` atomically (paths relative to its folder) and remember the path in it."""
    path = Path(path).absolute()
    configio.write_json(path, project.to_dict(relative_to=path.parent))
    project.path = str(path)
    return path


def load_project(path: str | os.PathLike) -> Project:
    """Read a project file; a ``ConfigError`` naming the file for anything unreadable or invalid."""
    path = Path(path).absolute()
    raw = configio.read_config_file(path, what="project", fmt="json")
    try:
        project = Project.from_dict(raw, relative_to=path.parent)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    project.path = str(path)
    return project


def project_paths(project: Project) -> list[str]:
    """Every file or folder the project refers to: data files first, then the cohort's, then run folders."""
    return ([project.data[k] for k in DATA_PATH_FIELDS if project.data.get(k)]
            + [project.scans[k] for k in SCANS_PATH_FIELDS if project.scans.get(k)] + list(project.runs))


def missing_files(project: Project) -> list[str]:
    """The data files and run folders of ``project`` that do not exist (any more) on disk, in that order."""
    return [p for p in project_paths(project) if not Path(p).exists()]


def relocate(project: Project, old: str | os.PathLike, new: str | os.PathLike) -> list[str]:
    """Point every path equal to ``old``, or inside the folder ``old``, at the same place under ``new``.

    Typical use: the user shows where one missing file went; ``relocate(project, old_file.parent,
    new_file.parent)`` then fixes every other file that moved along with it.

    Returns
    -------
    The paths that were rewritten (their old values).
    """
    old_p, new_p = Path(old), Path(new)
    changed: list[str] = []

    def move(p: str) -> str:
        path = Path(p)
        if path == old_p:
            changed.append(p)
            return str(new_p)
        try:
            rest = path.relative_to(old_p)
        except ValueError:
            return p
        changed.append(p)
        return str(new_p / rest)

    for key in DATA_PATH_FIELDS:
        if project.data.get(key):
            project.data[key] = move(project.data[key])
    project.scans = _with_paths(project.scans, SCANS_PATH_FIELDS, move)
    project.runs = [move(r) for r in project.runs]
    return changed


def _relative(p: str, base: Path | None) -> str:
    """``p`` relative to ``base`` when it lies under it or one level beside it; otherwise absolute."""
    path = Path(p)
    if base is None or not path.is_absolute():
        return str(p)
    try:
        rel = Path(os.path.relpath(path, base))
    except ValueError:  # another drive on Windows
        return str(path)
    if rel.parts[:2] == ("..", ".."):  # far away: keep absolute so moving the project does not break it
        return str(path)
    return rel.as_posix()


def _with_paths(values: dict[str, Any], keys: tuple[str, ...], fn) -> dict[str, Any]:
    """A copy of ``values`` with ``fn`` applied to the non-empty paths under ``keys``."""
    return {k: (fn(str(v)) if k in keys and v else v) for k, v in values.items()}


def _absolute(p: str, base: Path | None) -> str:
    path = Path(p)
    if path.is_absolute() or base is None:
        return str(path)
    return os.path.normpath(base / path)


def _known(kind, values: dict[str, Any], section: str):
    """``kind`` built from the keys of ``values`` it knows (keys of a newer minor version are ignored), checked."""
    known = {f.name for f in dataclasses.fields(kind)}
    return configio.build(kind, {k: v for k, v in values.items() if k in known}, section)
