"""Reading labels: binary, multiclass, regression and multi-task columns, with errors naming the record."""
from __future__ import annotations

import math
import re
from array import array
from typing import Sequence

import numpy as np

from biodeep_gui.core.common.errors import InputFileError
from biodeep_gui.core.sequences.dataset import _MAX_INT_CLASSES, _NEGATIVE_NAMES, _clip, _Origins, _q

# ---- labels ----------------------------------------------------------------------------------------------------

class _LabelColumn:
    """Label values of one column as they stream in: numbers as float64, text as an index into distinct tokens."""

    def __init__(self, name: str):
        self.name = name
        self.values = array("d")
        self.token_of = array("i")  # -1: numeric
        self.tokens: dict[str, int] = {}
        self.first_numeric: tuple[int, str] | None = None

    def add(self, raw: str) -> None:
        try:
            v = float(raw)
            numeric = math.isfinite(v)
        except ValueError:
            numeric = False
        if numeric:
            self.values.append(v)
            self.token_of.append(-1)
            if self.first_numeric is None:
                self.first_numeric = (len(self.values) - 1, raw)
        else:
            self.values.append(math.nan)
            self.token_of.append(self.tokens.setdefault(raw, len(self.tokens)))


_DECIMAL_COMMA = re.compile(r"^[-+]?\d*,\d+(?:[eE][-+]?\d+)?$")  # '1,5': a spreadsheet's locale, not a class


def _fmt(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:g}"


def _single_class_error(origins: _Origins, n: int, name: str, column: str | None) -> InputFileError:
    col = f" (label column {_q(column)})" if column else ""
    return InputFileError(origins.paths[0] if len(origins.paths) == 1 else ", ".join(origins.paths),
                          f"all {n} records have label {name}; training needs at least two classes{col}",
                          expected="records of at least two classes")


def _resolve_labels(columns: list[_LabelColumn], task: str, origins: _Origins, *,
                    known_classes: Sequence[str] | None = None, require_two: bool = True,
                    what: str = "column") -> tuple[np.ndarray, str, list[str]]:
    """Turn streamed label columns into (labels (N, T) float32, task, class_names).

    ``task='auto'`` infers: all values in {0, 1} -> binary; text, or at most 20 distinct integers ->
    multiclass (text with exactly two classes -> binary); otherwise regression. An explicit task is checked.
    ``known_classes`` maps labels onto an existing model's classes (test files) instead of inferring them.
    """
    n = len(columns[0].values)
    if len(columns) > 1:
        return _resolve_multitask(columns, task, origins, require_two)
    col = columns[0]
    label = f"{what} {_q(col.name)}" if what == "column" else "label"
    values = np.frombuffer(col.values, np.float64) if n else np.zeros(0)
    token_of = np.frombuffer(col.token_of, np.int32) if n else np.zeros(0, np.int32)
    is_text = token_of >= 0
    n_text = int(is_text.sum())
    tokens = list(col.tokens)

    if n_text and task != "multiclass" and all(_DECIMAL_COMMA.match(t) for t in tokens):
        i = int(np.argmax(is_text))
        raise origins.error(i, f"{label} has {_q(tokens[token_of[i]])}: a number written with a decimal comma, "
                               f"which would be read as a class name", expected="numbers with a decimal point "
                               "(1.5, not 1,5): export the table with '.' as the decimal separator")
    if 0 < n_text < n:  # numbers and words mixed in one column
        if task == "regression" or n_text <= n - n_text:  # report the minority kind as the odd one out
            i = int(np.argmax(is_text))
            raise origins.error(i, f"{label} has {_q(tokens[token_of[i]])}, not a number, while the other labels "
                                   f"are numbers", expected="a number")
        i, raw = col.first_numeric
        raise origins.error(i, f"{label} has the number {_q(raw)} while the other labels are text classes",
                            expected="one of the text classes")

    if n_text:  # text classes
        if task == "regression":
            raise origins.error(0, f"{label} has {_q(tokens[token_of[0]])}, not a number (task 'regression')",
                                expected="a number")
        if known_classes is not None:
            index = {c: i for i, c in enumerate(known_classes)}
            for t in tokens:
                if t not in index:
                    i = int(np.argmax(token_of == col.tokens[t]))
                    raise origins.error(i, f"class {_q(t)} is not one of the model's classes "
                                           f"({_clip(', '.join(known_classes), 200)})", expected="a known class")
            remap = np.array([index[t] for t in tokens], np.float32)
            out_task = task if task != "auto" else ("binary" if len(known_classes) == 2 else "multiclass")
            return remap[token_of][:, None], out_task, list(known_classes)
        if len(tokens) == 1 and require_two:
            raise _single_class_error(origins, n, _q(tokens[0]), col.name if what == "column" else None)
        if task == "binary" and len(tokens) != 2:
            raise InputFileError(origins.paths[0], f"task 'binary' needs exactly two classes but {label} has "
                                                   f"{len(tokens)}: {', '.join(_clip(t, 30) for t in sorted(tokens)[:10])}",
                                 expected="two classes, or task 'multiclass'")
        names = sorted(tokens)
        if len(names) == 2 and task != "multiclass":
            neg = [t for t in names if t.strip().lower() in _NEGATIVE_NAMES]
            if len(neg) == 1:
                names = [neg[0], names[1 - names.index(neg[0])]]
            out_task = "binary"
        else:
            out_task = "multiclass"
        remap = np.array([names.index(t) for t in tokens], np.float32)
        return remap[token_of][:, None], out_task, names

    # all numeric
    distinct = np.unique(values)
    is01 = bool(np.isin(distinct, (0.0, 1.0)).all())
    is_int = bool((distinct == np.round(distinct)).all())
    if task == "auto":
        if known_classes is not None:
            task = "binary" if len(known_classes) == 2 and is01 else "multiclass"
        else:
            task = "binary" if is01 else ("multiclass" if is_int and len(distinct) <= _MAX_INT_CLASSES
                                          else "regression")
    if task == "binary":
        if not is01:
            i = int(np.argmax(~np.isin(values, (0.0, 1.0))))
            raise origins.error(i, f"{label} has {_fmt(values[i])}, but binary labels are 0 or 1",
                                expected="0 or 1, or task 'regression' for measured values")
        if require_two and len(distinct) < 2:
            raise _single_class_error(origins, n, _fmt(distinct[0]), col.name if what == "column" else None)
        names = list(known_classes) if known_classes is not None and len(known_classes) == 2 else ["0", "1"]
        return values.astype(np.float32)[:, None], "binary", names
    if task == "multiclass":
        if not is_int:
            i = int(np.argmax(values != np.round(values)))
            raise origins.error(i, f"{label} has {_fmt(values[i])}, but multiclass labels are whole numbers or "
                                   f"words", expected="a class (integer or word), or task 'regression'")
        if known_classes is not None:
            index = {c: i for i, c in enumerate(known_classes)}
            names_here = [_fmt(v) for v in distinct]
            for v, name in zip(distinct, names_here):
                if name not in index:
                    i = int(np.argmax(values == v))
                    raise origins.error(i, f"class {_q(name)} is not one of the model's classes "
                                           f"({_clip(', '.join(known_classes), 200)})", expected="a known class")
            lookup = np.array([index[nm] for nm in names_here], np.float32)
            return lookup[np.searchsorted(distinct, values)][:, None], "multiclass", list(known_classes)
        if require_two and len(distinct) < 2:
            raise _single_class_error(origins, n, _fmt(distinct[0]), col.name if what == "column" else None)
        return (np.searchsorted(distinct, values).astype(np.float32)[:, None], "multiclass",
                [_fmt(v) for v in distinct])
    return values.astype(np.float32)[:, None], "regression", []


def _resolve_multitask(columns: list[_LabelColumn], task: str, origins: _Origins,
                       require_two: bool) -> tuple[np.ndarray, str, list[str]]:
    n = len(columns[0].values)
    for col in columns:
        token_of = np.frombuffer(col.token_of, np.int32)
        if (token_of >= 0).any():
            i = int(np.argmax(token_of >= 0))
            raise origins.error(i, f"column {_q(col.name)} has {_q(list(col.tokens)[token_of[i]])}, not a number; "
                                   f"several label columns must all hold numbers", expected="a number")
    if task == "multiclass":
        raise InputFileError(origins.paths[0], f"task 'multiclass' takes one label column, got {len(columns)}: "
                                               f"{', '.join(c.name for c in columns)}",
                             expected="one label column, or task 'binary'/'regression' for several")
    labels = np.empty((n, len(columns)), np.float32)
    all01 = True
    for j, col in enumerate(columns):
        labels[:, j] = np.frombuffer(col.values, np.float64)
        all01 = all01 and bool(np.isin(labels[:, j], (0.0, 1.0)).all())
    if task == "auto":
        task = "binary" if all01 else "regression"
    if task == "binary":
        for j, col in enumerate(columns):
            bad = np.flatnonzero(~np.isin(labels[:, j], (0.0, 1.0)))
            if bad.size:
                i = int(bad[0])
                raise origins.error(i, f"column {_q(col.name)} has {_fmt(labels[i, j])}, but binary labels are 0 or 1",
                                    expected="0 or 1, or task 'regression'")
            if require_two and np.unique(labels[:, j]).size < 2:
                raise _single_class_error(origins, n, _fmt(labels[0, j]), col.name)
        return labels, "binary", ["0", "1"]
    return labels, "regression", []


