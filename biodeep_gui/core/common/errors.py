"""User-facing errors: each names the file, the record and what was expected."""
from __future__ import annotations

from os import PathLike


class BioDeepError(Exception):
    """An error whose message is meant for the user as it is (no traceback needed)."""


class InputFileError(BioDeepError):
    """A problem with one input file.

    Parameters
    ----------
    path : file the problem is in (``None`` for data typed in by the user)
    problem : what is wrong, in plain words
    record : 1-based record number (sequence, row, interval), if the problem is in one record
    record_id : the record's identifier, if it has one
    line : 1-based line number, where known
    expected : what the file should have held instead
    """

    def __init__(self, path: str | PathLike | None, problem: str, *, record: int | None = None,
                 record_id: str | None = None, line: int | None = None, expected: str | None = None):
        self.path = None if path is None else str(path)
        self.problem = problem
        self.record = record
        self.record_id = record_id
        self.line = line
        self.expected = expected
        if record_id is not None and len(record_id) > 60:  # a megabyte-long header must not become the message
            record_id = record_id[:57] + "..."
        where = []
        if record is not None:
            where.append(f"record {record}" + (f" ({record_id!r})" if record_id else ""))
        elif record_id:
            where.append(f"record {record_id!r}")
        if line is not None:
            where.append(f"line {line}")
        msg = f"{self.path or '<input>'}: " + (", ".join(where) + ": " if where else "") + problem
        if expected:
            msg += f" (expected {expected})"
        super().__init__(msg)


class ConfigError(BioDeepError):
    """An invalid setting in a run configuration (GUI, CLI flag or config file)."""


class RunFolderError(BioDeepError):
    """A run folder that is missing, incomplete, from an unknown version, or unsafe to load."""
