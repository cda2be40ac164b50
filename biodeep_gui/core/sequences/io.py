"""Reading sequences and labels (FASTA/FASTQ/CSV/TSV/BED + genome) into a compact ``SequenceSet``.

Every loader streams its input: records are parsed with Biopython, checked, and encoded in batches of about
a quarter megabase straight into one growing uint8 buffer (see ``biodeep_gui.core.encoding``), so a file costs
about one byte of RAM per stored base plus its ids. Plain, gzip, bzip2 and xz files are recognised by their
magic bytes, never by their extension.

Bad input raises ``InputFileError`` naming the file, the record (number and id) or line, and what was
expected; nothing here prints or asks.

Public API
----------
read_records(path) -> list[(title, sequence)]
load_fasta_pair(positive, background, *, length=0, length_policy="fit") -> SequenceSet
load_labelled_fasta(path, *, length=0, length_policy="fit", task="auto") -> SequenceSet
load_table(path, sequence_column="sequence", label_columns=("label",), *, id_column="", task="auto",
           length=0, length_policy="fit") -> SequenceSet
load_bed(bed, genome, *, width=200, background_method="shuffle", seed=0) -> SequenceSet
load_unlabelled(path, *, length, sequence_column="sequence", id_column="") -> SequenceSet
load_sequences(cfg, *, seed=0) -> SequenceSet
load_test_set(cfg, reference) -> SequenceSet
dinucleotide_shuffle(codes, rng) -> codes
"""
from __future__ import annotations

from biodeep_gui.core.common.errors import ConfigError
from biodeep_gui.core.sequences.bed import load_bed
from biodeep_gui.core.sequences.dataset import SequenceSet
from biodeep_gui.core.sequences.fasta import load_fasta_pair, load_labelled_fasta
from biodeep_gui.core.sequences.tables import load_table

# ---- dispatch --------------------------------------------------------------------------------------------------

def load_sequences(cfg, *, seed: int = 0) -> SequenceSet:
    """Load the training set a ``DataConfig`` describes.

    ``kind='fasta'``: ``fasta`` + ``background`` -> ``load_fasta_pair``; ``fasta`` alone ->
    ``load_labelled_fasta``. ``kind='table'`` -> ``load_table``. ``kind='bed'`` -> ``load_bed`` (``seed`` seeds
    its background). ``length``, ``length_policy`` and ``task`` are honoured; the test file and the split
    settings are read by ``load_test_set`` and ``biodeep_gui.core.splits``. ``cache`` ('auto' | 'on' | 'off')
    routes the inputs through the disk-backed encoded cache (``biodeep_gui.core.sequences.cache``; BED + genome
    with ``seed`` in its key), which gives the same set with its codes left on disk.
    """
    from biodeep_gui.core.sequences import cache

    kind = cfg.kind
    if kind == "bed":  # checked before the cache, which would otherwise name the wrong problem
        if not cfg.bed or not cfg.genome:
            raise ConfigError("data.bed and data.genome: choose a BED file and a genome FASTA")
        if cfg.task not in ("auto", "binary"):
            raise ConfigError(f"data.task = {cfg.task!r}: BED peaks against a background make a binary task")
    if cache.wants_cache(cfg):
        return cache.load_cached(cfg, seed=seed)
    if kind == "fasta":
        if not cfg.fasta:
            raise ConfigError("data.fasta: choose a FASTA file")
        if cfg.background:
            if cfg.task not in ("auto", "binary"):
                raise ConfigError(f"data.task = {cfg.task!r}: a FASTA file with a background file makes a binary "
                                  f"task; use task 'auto' or 'binary'")
            return load_fasta_pair(cfg.fasta, cfg.background, length=cfg.length, length_policy=cfg.length_policy)
        return load_labelled_fasta(cfg.fasta, length=cfg.length, length_policy=cfg.length_policy, task=cfg.task)
    if kind == "table":
        if not cfg.table:
            raise ConfigError("data.table: choose a CSV/TSV file")
        return load_table(cfg.table, cfg.sequence_column, cfg.label_columns, id_column=cfg.id_column,
                          task=cfg.task, length=cfg.length, length_policy=cfg.length_policy)
    if kind == "bed":
        return load_bed(cfg.bed, cfg.genome, width=cfg.width, background_method=cfg.background_method, seed=seed)
    raise ConfigError(f"data.kind = {kind!r} is not one of: fasta, table, bed")


def load_test_set(cfg, reference: SequenceSet, *, seed: int = 0) -> SequenceSet:
    """Load ``cfg.test_file`` to match a training set: same length, task and classes.

    The test file is read like the training input: a labelled FASTA (``kind='fasta'``), a table with the same
    columns (``kind='table'``), or a BED of peaks on the same genome (``kind='bed'``). It may hold a single
    class; a class the training set does not have is an error.
    """
    if not cfg.test_file:
        raise ConfigError("data.test_file is empty")
    known = reference.class_names if reference.task in ("binary", "multiclass") else None
    if cfg.kind == "table":
        return load_table(cfg.test_file, cfg.sequence_column, cfg.label_columns, id_column=cfg.id_column,
                          task=reference.task, length=reference.length, length_policy="fit", known_classes=known)
    if cfg.kind == "bed":
        return load_bed(cfg.test_file, cfg.genome, width=reference.length,
                        background_method=cfg.background_method, seed=seed + 1)
    return load_labelled_fasta(cfg.test_file, length=reference.length, length_policy="fit", task=reference.task,
                               known_classes=known)
