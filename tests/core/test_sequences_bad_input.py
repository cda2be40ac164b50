"""Bad input: every problem is an InputFileError naming the file and the record or line, never a traceback."""
import os
import random
import tempfile

import numpy as np
import pytest

from biodeep_gui.core.common.errors import ConfigError, InputFileError
from biodeep_gui.core.sequences import dataset as sequence_dataset
from biodeep_gui.core.sequences.bed import load_bed
from biodeep_gui.core.sequences.dataset import _check_unique, _Origins
from biodeep_gui.core.sequences.fasta import load_fasta_pair, load_labelled_fasta, read_records
from biodeep_gui.core.sequences.tables import load_table


def error_of(fn, *args, **kwargs) -> InputFileError:
    with pytest.raises(InputFileError) as info:
        fn(*args, **kwargs)
    return info.value


def assert_names(err: InputFileError, path, *, record=None, record_id=None, line=None):
    msg = str(err)
    assert str(path) in msg and err.path == str(path)
    if record is not None:
        assert err.record == record and f"record {record}" in msg
    if record_id is not None:
        assert err.record_id == record_id and repr(record_id) in msg
    if line is not None:
        assert err.line == line and f"line {line}" in msg


def make_genome(write, name="genome.fa"):
    rng = random.Random(1)
    text = ""
    for chrom, n in (("chr1", 3000), ("chr2", 1000)):
        seq = "".join(rng.choice("ACGT") for _ in range(n))
        text += f">{chrom}\n" + "".join(seq[i:i + 60] + "\n" for i in range(0, n, 60))
    return write(name, text)


@pytest.fixture
def neg(write):
    return write("neg.fa", ">n1\nACGT\n")


# ---- files that are not FASTA at all ---------------------------------------------------------------------------


def test_missing_file(tmp_path, neg):
    err = error_of(load_fasta_pair, tmp_path / "nope.fa", neg)
    assert_names(err, tmp_path / "nope.fa")
    assert "not found" in str(err)


def test_folder_instead_of_file(tmp_path, neg):
    err = error_of(read_records, tmp_path)
    assert "folder" in str(err)


@pytest.mark.parametrize("content", ["", "\n\n  \n"])
def test_empty_file(write, neg, content):
    path = write("empty.fa", content)
    err = error_of(load_fasta_pair, path, neg)
    assert_names(err, path)
    assert "contains no sequences" in str(err)


def test_empty_gzip_file(write, neg):
    path = write("empty.fa.gz", "", compress="gzip")
    assert "contains no sequences" in str(error_of(load_fasta_pair, path, neg))


def test_headers_only_is_an_empty_sequence(write, neg):
    path = write("h.fa", ">a\n>b\nACGT\n")
    err = error_of(load_fasta_pair, path, neg)
    assert_names(err, path, record=1, record_id="a")
    assert "empty sequence" in str(err)


def test_binary_garbage_with_nul_bytes(write, neg):
    path = write("garbage.fa", b">x\nAC\n" + bytes(np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8)))
    err = error_of(load_fasta_pair, path, neg)
    assert_names(err, path)
    assert "binary file, not FASTA/FASTQ" in str(err) and err.line is not None


def test_binary_garbage_without_nul_bytes(write, neg):
    data = bytes(np.random.default_rng(1).integers(128, 256, 4000, dtype=np.uint8))
    path = write("garbage.bin", data)
    err = error_of(load_fasta_pair, path, neg)
    assert_names(err, path)
    assert "binary file, not FASTA/FASTQ" in str(err)


def test_zip_file_named(write, neg):
    path = write("seqs.xlsx", b"PK\x03\x04" + b"\x00" * 100)
    err = error_of(load_fasta_pair, path, neg)
    assert "binary file" in str(err) and "ZIP" in str(err)


def test_utf16_file(write, neg):
    path = write("u16.fa", ">a\nACGT\n".encode("utf-16"))
    assert "UTF-16" in str(error_of(load_fasta_pair, path, neg))


def test_csv_given_as_fasta(write, neg):
    path = write("table.fa", "id,sequence,label\nx,ACGT,1\n")
    err = error_of(load_fasta_pair, path, neg)
    assert_names(err, path, line=1)
    assert "not a FASTA/FASTQ file" in str(err) and "table" in str(err)


def test_fasta_given_as_table(write):
    path = write("x.csv", ">a\nACGT\n")
    err = error_of(load_table, path, "sequence", ["label"])
    assert_names(err, path, line=1)
    assert "FASTA" in str(err)


def test_truncated_gzip(write, neg):
    import gzip

    data = gzip.compress((">a\nACGT\n" * 20000).encode())
    path = write("cut.fa.gz", data[: len(data) // 2])
    err = error_of(load_fasta_pair, path, neg)
    assert_names(err, path)
    assert "damaged or truncated" in str(err)


# ---- bad records -----------------------------------------------------------------------------------------------


def test_digits_in_sequence_named_with_position(write, neg):
    path = write("gb.fa", ">ok\nACGT\n>bad one\n1 acgtacgt\n")
    err = error_of(load_fasta_pair, path, neg)
    assert_names(err, path, record=2, record_id="bad")
    assert "'1' at position 1" in str(err) and "GenBank" in str(err)


@pytest.mark.parametrize("char,pos", [("*", 3), ("X", 5), ("é", 2), ("€", 4)])
def test_other_characters_named_with_position(write, neg, char, pos):
    seq = "ACGTACGT"
    seq = seq[:pos - 1] + char + seq[pos - 1:]
    path = write("x.fa", f">a\nAC\n>b\nGG\n>c\n{seq}\n")
    err = error_of(load_fasta_pair, path, neg)
    assert_names(err, path, record=3, record_id="c")
    assert f"{char!r} at position {pos}" in str(err)


def test_bad_character_found_in_later_batch(write, neg, monkeypatch):
    monkeypatch.setattr(sequence_dataset, "_CHUNK_BASES", 16)
    recs = "".join(f">s{i}\nACGTACGT\n" for i in range(50)) + ">s50\nACGTQ\n"
    path = write("x.fa", recs)
    err = error_of(load_fasta_pair, path, neg)
    assert_names(err, path, record=51, record_id="s50")
    assert "'Q' at position 5" in str(err)


def test_bad_character_in_background_names_background_file(write):
    pos = write("pos.fa", ">a\nACGT\n")
    bg = write("bg.fa", ">b\nACGT\n>c\nAC-GT!\n")
    err = error_of(load_fasta_pair, pos, bg)
    assert_names(err, bg, record=2, record_id="c")
    assert "'!' at position 6" in str(err)


def test_read_records_reports_bad_character(write):
    path = write("x.fa", ">a\nAC7T\n")
    err = error_of(read_records, path)
    assert_names(err, path, record=1, record_id="a")
    assert "'7' at position 3" in str(err)


def test_header_without_id(write, neg):
    path = write("x.fa", ">a\nACGT\n>\nACGT\n")
    err = error_of(load_fasta_pair, path, neg)
    assert_names(err, path, record=2)
    assert "no identifier" in str(err)


def test_duplicated_ids_name_both_records(write, neg):
    path = write("dup.fa", ">a\nACGT\n>b\nACGT\n>c\nAC\n>b second copy\nGG\n")
    err = error_of(load_fasta_pair, path, neg)
    assert_names(err, path, record=4, record_id="b")
    assert "duplicated id 'b'" in str(err) and "record 2" in str(err)
    err = error_of(read_records, path)
    assert err.record == 4 and "record 2" in str(err)


def test_duplicated_ids_across_pair_files(write):
    pos = write("pos.fa", ">a\nACGT\n>shared\nACGT\n")
    bg = write("bg.fa", ">x\nACGT\n>shared\nGGGG\n")
    err = error_of(load_fasta_pair, pos, bg)
    assert_names(err, bg, record=2, record_id="shared")
    assert "record 2 of" in str(err) and str(pos) in str(err)


def test_duplicate_check_survives_hash_collisions():
    class Colliding(str):
        def __hash__(self):
            return 7

    ids = []
    origins = _Origins(ids)
    origins.begin("f.fa")
    ids.extend(Colliding(x) for x in ("a", "b", "c", "d"))
    _check_unique(ids, origins)  # equal hashes, different ids: fine
    ids.append(Colliding("c"))
    err = error_of(_check_unique, ids, origins)
    assert_names(err, "f.fa", record=5, record_id="c")
    assert "record 3" in str(err)


def test_bad_fastq(write, neg):
    path = write("x.fq", "@r1\nACGT\n+\nIIII\n@r2\nACGT\n+\nIII\n")
    err = error_of(load_fasta_pair, path, neg)
    assert_names(err, path, record=2)
    assert "FASTQ" in str(err)


# ---- lengths ---------------------------------------------------------------------------------------------------


def test_strict_mismatch_against_first_record(write, neg):
    path = write("x.fa", ">a\nACGTAC\n>b\nACGTAC\n>c\nACG\n")
    err = error_of(load_fasta_pair, path, neg, length_policy="strict")
    assert_names(err, path, record=3, record_id="c")
    assert "3 bp long, not 6 bp" in str(err) and "first record ('a')" in str(err)


def test_strict_mismatch_against_given_length(write, neg):
    path = write("x.fa", ">a\nACGT\n")
    err = error_of(load_fasta_pair, path, neg, length=5, length_policy="strict")
    assert_names(err, path, record=1, record_id="a")
    assert "4 bp long, not 5 bp" in str(err)


def test_strict_mismatch_in_background(write):
    pos = write("p.fa", ">a\nACGT\n")
    bg = write("b.fa", ">b\nACGTA\n")
    err = error_of(load_fasta_pair, pos, bg, length_policy="strict")
    assert_names(err, bg, record=1, record_id="b")


def test_bad_arguments_are_config_errors(write, neg):
    with pytest.raises(ConfigError):
        load_fasta_pair(neg, neg, length=-1)
    with pytest.raises(ConfigError):
        load_fasta_pair(neg, neg, length_policy="stretch")
    with pytest.raises(ConfigError):
        load_labelled_fasta(neg, task="ranking")


# ---- labels ----------------------------------------------------------------------------------------------------


def test_labelled_fasta_record_without_label(write):
    path = write("l.fa", ">a label=1\nACGT\n>b label=0\nACGT\n>c no label here\nACGT\n")
    err = error_of(load_labelled_fasta, path)
    assert_names(err, path, record=3, record_id="c")
    assert "no label" in str(err) and "label=1" in str(err)


def test_labelled_fasta_single_class(write):
    path = write("l.fa", ">a|1\nACGT\n>b|1\nACGT\n>c|1\nACGT\n")
    err = error_of(load_labelled_fasta, path)
    assert_names(err, path)
    assert "all 3 records have label 1; training needs at least two classes" in str(err)


def test_labelled_fasta_binary_with_fraction(write):
    path = write("l.fa", ">a|1\nACGT\n>b|0.3\nACGT\n")
    err = error_of(load_labelled_fasta, path, task="binary")
    assert_names(err, path, record=2, record_id="b")
    assert "0.3" in str(err) and "0 or 1" in str(err)


def test_missing_label_column_lists_columns(write):
    path = write("t.csv", "id,seq,bound\nx,ACGT,1\n")
    err = error_of(load_table, path, "seq", ["label"])
    assert_names(err, path, line=1)
    assert "no label column 'label'" in str(err) and "'id', 'seq', 'bound'" in str(err)


def test_missing_sequence_column_and_headerless_hint(write):
    path = write("t.csv", "ACGTACGTAA,1\nGGGGCCCCAA,0\n")
    err = error_of(load_table, path, "sequence", ["label"])
    assert_names(err, path, line=1)
    assert "no sequence column" in str(err) and "header row" in str(err)


def test_non_numeric_value_in_numeric_label_column(write):
    path = write("t.csv", "sequence,score\nACGT,0.5\nACGT,1.5\nACGT,abc\nACGT,2.5\n")
    err = error_of(load_table, path, "sequence", ["score"])
    assert_names(err, path, record=3, line=4)
    assert "'abc'" in str(err) and "not a number" in str(err)


def test_nan_label_is_not_a_number(write):
    path = write("t.csv", "sequence,score\nACGT,0.5\nACGT,NA\nACGT,2.5\n")
    err = error_of(load_table, path, "sequence", ["score"], task="regression")
    assert_names(err, path, record=2, line=3)
    assert "'NA'" in str(err)


def test_number_among_text_classes(write):
    path = write("t.csv", "sequence,cls\nAC,a\nGG,b\nTT,3\nAA,a\n")
    err = error_of(load_table, path, "sequence", ["cls"])
    assert_names(err, path, record=3, line=4)
    assert "'3'" in str(err)


def test_empty_cells(write):
    path = write("t.csv", "sequence,label\nACGT,1\nACGT,\n")
    err = error_of(load_table, path, "sequence", ["label"])
    assert_names(err, path, record=2, line=3)
    assert "empty cell in label column 'label'" in str(err)
    path = write("t2.csv", "id,sequence,label\na,ACGT,1\nb,,0\n")
    err = error_of(load_table, path, "sequence", ["label"], id_column="id")
    assert_names(err, path, record=2, line=3, record_id="b")
    assert "empty cell in sequence column" in str(err)


def test_ragged_row(write):
    path = write("t.csv", "sequence,label\nACGT,1\nACGT,0,extra\n")
    err = error_of(load_table, path, "sequence", ["label"])
    assert_names(err, path, line=3)
    assert "3 fields but the header has 2" in str(err)


def test_bad_sequence_in_table_names_row_and_line(write):
    path = write("t.tsv", "id\tsequence\tlabel\na\tACGT\t1\nb\tAC GT\t0\n")
    err = error_of(load_table, path, "sequence", ["label"], id_column="id")
    assert_names(err, path, record=2, record_id="b", line=3)
    assert "' ' at position 3" in str(err)


def test_duplicated_ids_in_table(write):
    path = write("t.csv", "id,sequence,label\na,ACGT,1\nb,ACGT,0\na,GGGG,0\n")
    err = error_of(load_table, path, "sequence", ["label"], id_column="id")
    assert_names(err, path, record=3, record_id="a", line=4)
    assert "record 1 (line 2)" in str(err)


def test_table_single_class(write):
    path = write("t.csv", "sequence,label\nACGT,1\nGGGG,1\n")
    err = error_of(load_table, path, "sequence", ["label"])
    assert_names(err, path)
    assert "all 2 records have label 1; training needs at least two classes (label column 'label')" in str(err)
    path = write("t2.csv", "sequence,label\nACGT,bound\nGGGG,bound\n")
    assert "have label 'bound'" in str(error_of(load_table, path, "sequence", ["label"]))


def test_multitask_single_class_column(write):
    path = write("t.csv", "sequence,a,b\nACGT,1,0\nGGGG,0,0\n")
    assert "column 'b'" in str(error_of(load_table, path, "sequence", ["a", "b"]))


def test_explicit_task_checked(write):
    path = write("t.csv", "sequence,y\nACGT,0\nACGT,1\nACGT,0.3\n")
    err = error_of(load_table, path, "sequence", ["y"], task="binary")
    assert_names(err, path, record=3, line=4)
    assert "0.3" in str(err)
    err = error_of(load_table, path, "sequence", ["y"], task="multiclass")
    assert_names(err, path, record=3, line=4)
    path = write("t2.csv", "sequence,y\nACGT,a\nACGT,b\nACGT,c\n")
    assert "exactly two classes" in str(error_of(load_table, path, "sequence", ["y"], task="binary"))
    err = error_of(load_table, path, "sequence", ["y"], task="regression")
    assert_names(err, path, record=1, line=2)


def test_multitask_with_text(write):
    path = write("t.csv", "sequence,a,b\nACGT,1,0\nGGGG,0,yes\n")
    err = error_of(load_table, path, "sequence", ["a", "b"])
    assert_names(err, path, record=2, line=3)
    assert "column 'b'" in str(err)


def test_unknown_class_in_test_file(write):
    path = write("t.csv", "sequence,y\nACGT,a\nACGT,z\n")
    err = error_of(load_table, path, "sequence", ["y"], task="multiclass", known_classes=["a", "b"])
    assert_names(err, path, record=2, line=3)
    assert "'z'" in str(err)


def test_header_only_table(write):
    path = write("t.csv", "sequence,label\n")
    err = error_of(load_table, path, "sequence", ["label"])
    assert_names(err, path, line=1)
    assert "no data rows" in str(err)


# ---- BED -------------------------------------------------------------------------------------------------------


def test_bed_interval_outside_genome(write):
    genome = make_genome(write)
    bed = write("p.bed", "chr1\t100\t200\nchr2\t900\t1500\n")
    err = error_of(load_bed, bed, genome, width=50)
    assert_names(err, bed, line=2)
    assert "chr2" in str(err) and "1500" in str(err) and "1000 bp long" in str(err)


def test_bed_unknown_chromosome_with_naming_hint(write):
    genome = make_genome(write)
    bed = write("p.bed", "# peaks\nchr1\t100\t200\n1\t10\t20\n")
    err = error_of(load_bed, bed, genome, width=50)
    assert_names(err, bed, line=3)
    assert "chromosome '1' is not in the genome" in str(err) and "'chr1'" in str(err)


@pytest.mark.parametrize("line,words", [("chr1\t200\t100", "less than end"), ("chr1\t100\t100", "less than end"),
                                        ("chr1\t-5\t100", ">= 0"), ("chr1\t1e2\t300", "whole numbers"),
                                        ("chr1\t100.5\t300", "whole numbers"), ("chr1\t100", "at least 3")])
def test_bed_bad_coordinates(write, line, words):
    genome = make_genome(write)
    bed = write("p.bed", "track name=x\n" + line + "\n")
    err = error_of(load_bed, bed, genome, width=50)
    assert_names(err, bed, line=2)
    assert words in str(err)


def test_empty_bed(write):
    genome = make_genome(write)
    bed = write("p.bed", "track name=empty\n# nothing\n")
    err = error_of(load_bed, bed, genome)
    assert_names(err, bed)
    assert "contains no intervals" in str(err)
    bed = write("p2.bed", "")
    assert "contains no intervals" in str(error_of(load_bed, bed, genome))


def test_bed_duplicate_windows(write):
    genome = make_genome(write)
    bed = write("p.bed", "chr1\t100\t200\nchr1\t300\t400\nchr1\t100\t200\n")
    err = error_of(load_bed, bed, genome, width=50)
    assert_names(err, bed, line=3)
    assert "line 1" in str(err)


def test_bed_window_wider_than_chromosome(write):
    genome = make_genome(write)
    bed = write("p.bed", "chr2\t100\t200\n")
    err = error_of(load_bed, bed, genome, width=2000)
    assert_names(err, bed, line=1)
    assert "shorter than the window width" in str(err)


def test_genome_missing_or_plain_gzip(write, tmp_path):
    bed = write("p.bed", "chr1\t100\t200\n")
    err = error_of(load_bed, bed, tmp_path / "nope.fa")
    assert_names(err, tmp_path / "nope.fa")
    gz = write("g.fa.gz", ">chr1\nACGT\n", compress="gzip")
    err = error_of(load_bed, bed, gz)
    assert_names(err, gz)
    assert "bgzip" in str(err)
    notfa = write("g.fa", "chrom\tsize\nchr1\t100\n")
    assert_names(error_of(load_bed, bed, notfa), notfa, line=1)


def test_genome_with_ragged_lines(write):
    genome = write("g.fa", ">chr1\nACGTACGT\nACG\nACGTACGT\n")
    bed = write("p.bed", "chr1\t1\t5\n")
    err = error_of(load_bed, bed, genome, width=4)
    assert_names(err, genome)
    assert "cannot index the genome" in str(err)


def test_genome_index_unwritable_anywhere(write, tmp_path, monkeypatch):
    import pyfaidx

    genome = make_genome(write)

    def never_writable(filename, indexname=None, **kw):
        raise OSError(f"{indexname or filename}.fai may not be writable")

    monkeypatch.setattr(pyfaidx, "Fasta", never_writable)
    monkeypatch.setattr(tempfile, "gettempdir", lambda: str(tmp_path / "tmp"))
    err = error_of(load_bed, write("p.bed", "chr1\t100\t200\n"), genome)
    assert_names(err, genome)
    assert "index" in str(err)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root can write to read-only folders")
def test_genome_in_read_only_folder(write, tmp_path, monkeypatch):
    genome = make_genome(write, name="ro/genome.fa")
    monkeypatch.setattr(tempfile, "gettempdir", lambda: str(tmp_path / "tmp"))
    os.chmod(genome.parent, 0o555)
    try:
        ss = load_bed(write("p.bed", "chr1\t100\t200\n"), genome, width=50)
    finally:
        os.chmod(genome.parent, 0o755)
    assert ss.codes.shape == (2, 50) and not (genome.parent / "genome.fa.fai").exists()


def test_huge_values_are_clipped_in_messages(write):
    path = write("t.csv", "sequence,label\nACGT," + "z" * 100_000 + "\nACGA,1.5\nACGA,2.5\n")
    err = error_of(load_table, path, "sequence", ["label"])
    assert_names(err, path, record=1, line=2)
    assert len(str(err)) < 400 and "zzz..." in str(err)
    genome = make_genome(write)
    bed = write("p.bed", "chr1\t5\t" + "9x" * 50_000 + "\n")
    err = error_of(load_bed, bed, genome)
    assert_names(err, bed, line=1)
    assert len(str(err)) < 400
