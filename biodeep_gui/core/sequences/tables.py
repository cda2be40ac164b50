"""CSV/TSV loaders: a sequence column with one or more label (or affinity) columns."""
from __future__ import annotations

import csv
import os
from array import array
from typing import Sequence

import numpy as np

from biodeep_gui.core.common.errors import ConfigError, InputFileError
from biodeep_gui.core.sequences.dataset import SequenceSet, _check_args, _check_unique, _CodesBuilder, _Origins, _q
from biodeep_gui.core.sequences.fasta import _read_fasta_into
from biodeep_gui.core.sequences.labels import _LabelColumn, _resolve_labels
from biodeep_gui.core.sequences.readers import _READ_ERRORS, _Head, _open_text, _sniff

# ---- tables ----------------------------------------------------------------------------------------------------

def _table_rows(path, head: _Head):
    """Open a CSV/TSV file; return (handle, csv reader, header, delimiter)."""
    if head.first_line.startswith(">") or head.first_line.startswith("@"):
        raise InputFileError(path, f"this looks like a FASTA/FASTQ file (line {head.line_no} starts with "
                                   f"{head.first_line[:1]!r}), not a table", line=head.line_no,
                             expected="a CSV/TSV table with a header row, or load it as FASTA")
    first = head.first_line
    if "\t" in first:
        delimiter = "\t"
    elif ";" in first and first.count(";") > first.count(","):  # European spreadsheets export with ';'
        delimiter = ";"
    else:
        delimiter = ","
    csv.field_size_limit(2**31 - 1)  # a sequence cell can be megabases long
    handle = _open_text(path)
    reader = csv.reader(handle, delimiter=delimiter)
    header: list[str] | None = None
    try:
        for row in reader:
            if any(cell.strip() for cell in row):
                header = [cell.strip() for cell in row]
                break
    except (csv.Error, *_READ_ERRORS) as exc:
        handle.close()
        raise InputFileError(path, f"cannot read the table: {exc}", line=reader.line_num) from None
    if header is None:
        handle.close()
        raise InputFileError(path, "contains no rows", expected="a header row and data rows")
    return handle, reader, header, delimiter


def _column_index(path, header: list[str], name: str, role: str, line: int) -> int:
    if name in header:
        if header.count(name) > 1:
            raise InputFileError(path, f"{role} column {_q(name)} appears {header.count(name)} times in the header",
                                 line=line, expected="unique column names")
        return header.index(name)
    lower = [h.lower() for h in header]
    if lower.count(name.lower()) == 1:  # 'Sequence' for 'sequence': accept, headers are typed by hand
        return lower.index(name.lower())
    shown = ", ".join(_q(h, 40) for h in header[:30]) + (" ..." if len(header) > 30 else "")
    hint = ""
    if header and all(c in "ACGTUNacgtun" for c in header[0]) and len(header[0]) >= 8:
        hint = "; the first row looks like data: the table needs a header row"
    raise InputFileError(path, f"no {role} column {_q(name)}; the columns are: {shown}{hint}", line=line,
                         expected=f"a header row naming the {role} column")


def _read_table_into(path, ids: list[str], builder: _CodesBuilder, origins: _Origins, sequence_column: str,
                     label_columns: Sequence[str], id_column: str) -> list[_LabelColumn]:
    head = _sniff(path, "CSV/TSV table")
    handle, reader, header, _ = _table_rows(path, head)
    lines = array("i")
    origins.begin(path, lines)
    with handle:
        header_line = reader.line_num
        si = _column_index(path, header, sequence_column, "sequence", header_line)
        ii = _column_index(path, header, id_column, "id", header_line) if id_column else -1
        label_idx = [_column_index(path, header, c, "label", header_line) for c in label_columns]
        if si in label_idx:
            raise InputFileError(path, f"the label column {_q(header[si])} is the sequence column: every sequence "
                                       f"would be its own class", line=header_line,
                                 expected="a label column other than the sequence column")
        columns = [_LabelColumn(header[j]) for j in label_idx]
        width = len(header)
        n = 0
        try:
            for row in reader:
                if len(row) != width or not row[si].strip():
                    if not any(cell.strip() for cell in row):
                        continue  # blank line
                if len(row) != width:
                    raise InputFileError(path, f"row has {len(row)} fields but the header has {width}",
                                         record=n + 1, line=reader.line_num,
                                         expected=f"{width} fields separated like the header")
                n += 1
                lines.append(reader.line_num)
                ids.append(row[ii].strip() if ii >= 0 else f"row{n}")
                seq = row[si].strip()
                if not seq:
                    raise origins.error(len(ids) - 1, f"empty cell in sequence column {_q(header[si])}",
                                        expected="a DNA sequence")
                if not ids[-1]:
                    raise origins.error(len(ids) - 1, f"empty cell in id column {_q(header[ii])}",
                                        expected="an id")
                for col, j in zip(columns, label_idx):
                    raw = row[j].strip()
                    if not raw:
                        raise origins.error(len(ids) - 1, f"empty cell in label column {_q(header[j])}",
                                            expected="a label value")
                    col.add(raw)
                builder.add(seq)
        except (csv.Error, *_READ_ERRORS) as exc:
            raise InputFileError(path, f"cannot read the table: {exc}", line=reader.line_num) from None
    if n == 0:
        raise InputFileError(path, "contains a header row but no data rows", line=header_line,
                             expected="at least one data row")
    return columns


def load_table(path: str | os.PathLike, sequence_column: str = "sequence",
               label_columns: Sequence[str] | str = ("label",), *, id_column: str = "", task: str = "auto",
               length: int = 0, length_policy: str = "fit",
               known_classes: Sequence[str] | None = None) -> SequenceSet:
    """A CSV or TSV table (delimiter sniffed: tab, comma or semicolon) with a header row.

    Parameters
    ----------
    path : table file (plain or compressed)
    sequence_column : column holding the DNA sequence
    label_columns : one or more label columns; several make a multi-task set (binary when all are 0/1,
                    else regression)
    id_column : column of record ids; '' names records 'row1', 'row2', ... (data rows, 1-based)
    task : 'auto' infers: all values in {0, 1} -> binary; text, or at most 20 distinct integers -> multiclass
           (exactly two text classes -> binary); otherwise regression. An explicit task is checked.
    length, length_policy : see ``load_fasta_pair``
    known_classes : map labels onto these classes (test file of a trained model); a single class is allowed

    Returns
    -------
    SequenceSet with codes (N, L), labels (N, T), label_names = the label column names.

    Raises
    ------
    InputFileError
        missing column (lists the columns there are), empty cell, a value not fitting the task (row, line
        and value named), a row with the wrong number of fields, a single class, and sequence errors as in
        ``read_records``.
    """
    _check_args(length, length_policy, task)
    label_columns = [label_columns] if isinstance(label_columns, str) else list(label_columns)
    if not label_columns:
        raise ConfigError("load_table needs at least one label column (load_unlabelled reads tables without)")
    ids: list[str] = []
    origins = _Origins(ids)
    builder = _CodesBuilder(length, length_policy, origins)
    columns = _read_table_into(path, ids, builder, origins, sequence_column, label_columns, id_column)
    codes, lengths = builder.finish()
    _check_unique(ids, origins)
    labels, task, class_names = _resolve_labels(columns, task, origins, known_classes=known_classes,
                                                require_two=known_classes is None)
    return SequenceSet(ids=ids, codes=codes, labels=labels, task=task, label_names=[c.name for c in columns],
                       class_names=class_names, lengths=lengths, sources=[str(path)])


def load_unlabelled(path: str | os.PathLike, *, length: int, sequence_column: str = "sequence",
                    id_column: str = "") -> SequenceSet:
    """Sequences to predict on: FASTA/FASTQ, or a CSV/TSV table, fitted (centre-crop/pad) to ``length``.

    Parameters
    ----------
    path : FASTA/FASTQ (first character '>' or '@') or a table with a header row (plain or compressed)
    length : the model's input length L (0 = the longest sequence)
    sequence_column, id_column : table columns (ids default to 'row1', 'row2', ...)

    Returns
    -------
    SequenceSet with codes (N, L), labels (N, 0), task 'none', lengths (N,) original lengths.
    """
    _check_args(length, "fit")
    head = _sniff(path, "FASTA/FASTQ or CSV/TSV")
    ids: list[str] = []
    origins = _Origins(ids)
    builder = _CodesBuilder(length, "fit", origins)
    if head.first_line[:1] in (">", "@"):
        _read_fasta_into(path, ids, builder, origins)
    else:
        _read_table_into(path, ids, builder, origins, sequence_column, [], id_column)
    codes, lengths = builder.finish()
    _check_unique(ids, origins)
    return SequenceSet(ids=ids, codes=codes, labels=np.zeros((len(ids), 0), np.float32), task="none",
                       lengths=lengths, sources=[str(path)])


