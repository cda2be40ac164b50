"""FASTA/FASTQ loaders: bound + background files, or labels in the headers."""
from __future__ import annotations

import os
from typing import Sequence

import numpy as np

from biodeep_gui.core.sequences.dataset import (
    _EXPECT_BASES,
    _EXPECT_LABEL,
    SequenceSet,
    _check_args,
    _check_unique,
    _CodesBuilder,
    _first_word,
    _Origins,
)
from biodeep_gui.core.sequences.encoding import BYTE_TO_CODE, INVALID
from biodeep_gui.core.sequences.labels import _LabelColumn, _resolve_labels
from biodeep_gui.core.sequences.readers import _fasta_batches

# ---- FASTA / FASTQ ---------------------------------------------------------------------------------------------

def read_records(path: str | os.PathLike) -> list[tuple[str, str]]:
    """Read every record of a FASTA or FASTQ file (plain or compressed) and check it.

    Meant for small files and previews; the ``load_*`` functions stream big files instead.

    Parameters
    ----------
    path : FASTA or FASTQ file; the format is taken from the first non-blank character ('>' or '@')

    Returns
    -------
    records : list of (title, sequence); title is the header line without '>'/'@' (id and description),
              sequence is upper-case with U read as T (N and other IUPAC codes kept)

    Raises
    ------
    InputFileError
        empty or binary file, not FASTA/FASTQ, a record without id or sequence, a character that is not a
        nucleotide code (named, with its position), or an id (first word of the title) used twice.
    """
    ids: list[str] = []
    origins = _Origins(ids)
    origins.begin(path)
    out: list[tuple[str, str]] = []
    for titles, seqs in _fasta_batches(path):
        for title, seq in zip(titles, seqs):
            ids.append(_first_word(title))
            _check_record(origins, len(ids) - 1, seq)
            codes = BYTE_TO_CODE[np.frombuffer(seq.encode("latin-1", "replace"), np.uint8)]
            bad = np.flatnonzero(codes == INVALID)
            if bad.size:
                p = int(bad[0])
                raise origins.error(len(ids) - 1, f"character {seq[p]!r} at position {p + 1} is not a nucleotide "
                                                  f"code", expected=_EXPECT_BASES)
            out.append((title, seq.upper().replace("U", "T")))
    _check_unique(ids, origins)
    return out


def _check_record(origins: _Origins, index: int, seq: str) -> None:
    if not origins.ids[index]:
        raise origins.error(index, "header has no identifier", expected="a name right after '>' or '@'")
    if not seq:
        raise origins.error(index, "record has an empty sequence", expected="sequence lines after the header")


def _read_fasta_into(path, ids: list[str], builder: _CodesBuilder, origins: _Origins,
                     labels: _LabelColumn | None = None) -> int:
    """Stream one FASTA/FASTQ file into ``ids``/``builder``; with ``labels``, read a label from each header."""
    origins.begin(path)
    n0 = len(ids)
    for titles, seqs in _fasta_batches(path):
        first = len(ids)
        if labels is None:
            # SimpleFastaParser right-strips titles, so a non-empty title has a first word
            ids.extend([t.split(None, 1)[0] if t else "" for t in titles])
        else:
            for t in titles:
                rid, token = _header_label(t)
                ids.append(rid)
                if not token:
                    raise origins.error(len(ids) - 1, "no label in the header", expected=_EXPECT_LABEL)
                labels.add(token)
        if not all(seqs) or "" in ids[first:]:
            for i, seq in enumerate(seqs):
                _check_record(origins, first + i, seq)
        builder.add_batch(seqs)
    return len(ids) - n0


def _header_label(title: str) -> tuple[str, str]:
    """'id label=1 desc' -> ('id', '1'); 'id|strong' -> ('id', 'strong'); no label -> (id, '')."""
    parts = title.split()
    if not parts:
        return "", ""
    for p in parts[1:]:
        if p[:6].lower() == "label=":
            return parts[0], p[6:]
    base, sep, token = parts[0].rpartition("|")
    if sep and base:
        return base, token
    return parts[0], ""


def load_fasta_pair(positive: str | os.PathLike, background: str | os.PathLike, *, length: int = 0,
                    length_policy: str = "fit") -> SequenceSet:
    """Bound sequences in one FASTA/FASTQ file, unbound ones in another, as a binary set.

    Parameters
    ----------
    positive, background : FASTA/FASTQ files (plain or compressed); records get label 1 and 0
    length : row length L; 0 = the longest sequence (or, under 'strict', the first record's length)
    length_policy : 'fit' centre-crops longer and pads shorter sequences; 'strict' refuses any other length

    Returns
    -------
    SequenceSet with codes (N, L), labels (N, 1) (positives first), task 'binary', label_names ['bound'],
    class_names ['background', 'bound'], lengths (N,) original lengths.

    Raises
    ------
    InputFileError
        see ``read_records``; an id used in both files is an error too.
    """
    _check_args(length, length_policy)
    ids: list[str] = []
    origins = _Origins(ids)
    builder = _CodesBuilder(length, length_policy, origins)
    n_pos = _read_fasta_into(positive, ids, builder, origins)
    _read_fasta_into(background, ids, builder, origins)
    codes, lengths = builder.finish()
    _check_unique(ids, origins)
    labels = np.zeros((len(ids), 1), np.float32)
    labels[:n_pos] = 1.0
    return SequenceSet(ids=ids, codes=codes, labels=labels, task="binary", label_names=["bound"],
                       class_names=["background", "bound"], lengths=lengths,
                       sources=[str(positive), str(background)])


def load_labelled_fasta(path: str | os.PathLike, *, length: int = 0, length_policy: str = "fit",
                        task: str = "auto", known_classes: Sequence[str] | None = None) -> SequenceSet:
    """One FASTA/FASTQ file with a label in every header: ``>id label=1`` or ``>id|1``.

    Labels: 0/1 -> binary; several integers or words (``label=strong``) -> multiclass, class_names sorted
    (two words -> binary, a word like 'unbound'/'negative'/'control' being class 0); other numbers ->
    regression. ``task`` may force one of these and is then checked.

    Parameters
    ----------
    path : FASTA/FASTQ file (plain or compressed)
    length, length_policy : see ``load_fasta_pair``
    task : 'auto' | 'binary' | 'multiclass' | 'regression'
    known_classes : map labels onto these class names (a test file for a trained model); a single class is
                    then allowed

    Returns
    -------
    SequenceSet with codes (N, L), labels (N, 1) (0/1, class index or value), label_names ['label'].

    Raises
    ------
    InputFileError
        as ``read_records``, plus: a record without a label (named), a label that does not fit the task, a
        single class for a classification task.
    """
    _check_args(length, length_policy, task)
    ids: list[str] = []
    origins = _Origins(ids)
    builder = _CodesBuilder(length, length_policy, origins)
    col = _LabelColumn("label")
    _read_fasta_into(path, ids, builder, origins, labels=col)
    codes, lengths = builder.finish()
    _check_unique(ids, origins)
    labels, task, class_names = _resolve_labels([col], task, origins, known_classes=known_classes,
                                                require_two=known_classes is None, what="header")
    return SequenceSet(ids=ids, codes=codes, labels=labels, task=task, label_names=["label"],
                       class_names=class_names, lengths=lengths, sources=[str(path)])


