"""Sequence loaders: every input path, encodings, length handling, BED windows and backgrounds."""
import random
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from biodeep_gui.core.sequences import dataset as sequence_dataset
from biodeep_gui.core.sequences.bed import dinucleotide_shuffle, load_bed
from biodeep_gui.core.sequences.config import DataConfig
from biodeep_gui.core.sequences.dataset import _fit_rows, _spread_in_place
from biodeep_gui.core.sequences.encoding import BYTE_TO_CODE, CODE_LETTERS, PAD_CODE, decode, encode, fit_length
from biodeep_gui.core.sequences.fasta import load_fasta_pair, load_labelled_fasta, read_records
from biodeep_gui.core.sequences.io import load_sequences, load_test_set
from biodeep_gui.core.sequences.tables import load_table, load_unlabelled

# ---- helpers ---------------------------------------------------------------------------------------------------


def fasta(records, width=0):
    """records: [(title, seq)] -> FASTA text; width > 0 wraps sequence lines."""
    out = []
    for title, seq in records:
        out.append(f">{title}\n")
        if width:
            out.extend(seq[i:i + width] + "\n" for i in range(0, len(seq), width))
        else:
            out.append(seq + "\n")
    return "".join(out)


def random_dna(rng, n):
    return "".join(rng.choice("ACGT") for _ in range(n))


def make_genome(write, sizes=(("chr1", 5000), ("chr2", 3000), ("chr3", 2500)), seed=1, name="genome.fa"):
    """Random genome with 60-bp lines; returns (path, {chrom: sequence})."""
    rng = random.Random(seed)
    seqs = {c: random_dna(rng, n) for c, n in sizes}
    return write(name, fasta(list(seqs.items()), width=60)), seqs


def dinucleotides(s):
    return Counter(zip(s, s[1:]))


# ---- FASTA / FASTQ ---------------------------------------------------------------------------------------------


def test_fasta_pair_labels_ids_codes(write):
    pos = write("pos.fa", fasta([("p1 some description", "ACGTACGT"), ("p2", "TTTTGGGG")]))
    neg = write("neg.fa", fasta([("n1", "CCCCAAAA")]))
    ss = load_fasta_pair(pos, neg)
    assert ss.ids == ["p1", "p2", "n1"]
    assert ss.task == "binary" and ss.label_names == ["bound"] and ss.class_names == ["background", "bound"]
    assert ss.labels.shape == (3, 1) and ss.labels.dtype == np.float32
    assert ss.labels[:, 0].tolist() == [1, 1, 0]
    assert ss.codes.dtype == np.uint8 and ss.codes.shape == (3, 8)
    assert [decode(r) for r in ss.codes] == ["ACGTACGT", "TTTTGGGG", "CCCCAAAA"]
    assert ss.lengths.tolist() == [8, 8, 8] and ss.lengths.dtype == np.int32
    assert ss.sources == [str(pos), str(neg)] and ss.groups is None


def test_multiline_fasta_and_crlf(write):
    text = fasta([("a", "ACGTACGTAC" * 3), ("b", "GGGCCCAAAT" * 2)], width=7).replace("\n", "\r\n")
    ss = load_fasta_pair(write("p.fa", text), write("n.fa", ">c\nACGT\n\n"))
    assert decode(ss.codes[0]) == "ACGTACGTAC" * 3
    assert ss.lengths.tolist() == [30, 20, 4]


@pytest.mark.parametrize("compress,name", [("gzip", "pos.fa"), ("gzip", "pos.fa.gz"), ("bzip2", "pos.txt"),
                                           (None, "pos.fa.gz")])
def test_compression_detected_by_magic_bytes(write, compress, name):
    pos = write(name, fasta([("a", "ACGTT"), ("b", "GGCCA")]), compress=compress)
    neg = write("neg.fa", fasta([("c", "TTTTT")]))
    ss = load_fasta_pair(pos, neg)
    assert [decode(r) for r in ss.codes] == ["ACGTT", "GGCCA", "TTTTT"]


def test_lower_case_and_u_read_as_t(write):
    ss = load_fasta_pair(write("p.fa", ">a\nacguACGU\n"), write("n.fa", ">b\nAAAA\n"), length=8)
    assert ss.codes[0].tolist() == encode("ACGTACGT").tolist()


def test_n_and_iupac_codes_kept(write):
    iupac = "NRYSWKMBDHV"
    ss = load_fasta_pair(write("p.fa", f">a\n{iupac}\n"), write("n.fa", f">b\n{iupac.lower()}\n"))
    assert ss.codes[0].tolist() == list(range(4, 15))
    assert ss.codes[1].tolist() == list(range(4, 15))
    assert decode(ss.codes[0]) == iupac


def test_fastq_input(write):
    fq = "@r1 desc\nACGTN\n+\nIIIII\n@r2\nGGGG\n+r2\n@@@@\n"
    ss = load_fasta_pair(write("p.fq", fq), write("n.fa", ">n\nTTTTT\n"))
    assert ss.ids == ["r1", "r2", "n"]
    assert decode(ss.codes[0]) == "ACGTN"
    assert ss.lengths.tolist() == [5, 4, 5]


def test_read_records_titles_and_normalised_sequences(write):
    path = write("x.fa", ">s1 first one\nacgu\nNN\n>s2\nRYK\n")
    assert read_records(path) == [("s1 first one", "ACGTNN"), ("s2", "RYK")]


def test_read_records_fastq_gz(write):
    path = write("x.fastq.gz", "@q1\nACGT\n+\n!!!!\n", compress="gzip")
    assert read_records(path) == [("q1", "ACGT")]


def test_utf8_bom_and_leading_blank_lines(write):
    path = write("x.fa", "\ufeff\n\n>s1\nACGT\n")
    assert read_records(path) == [("s1", "ACGT")]


def test_latin1_header_loads_with_accents_kept(write):
    """A header saved as latin-1 (wrong encoding for UTF-8) is read, not refused."""
    path = write("x.fa", ">g\xe8ne_\xe9tude desc\nACGT\n".encode("latin-1"))
    ss = load_fasta_pair(path, write("n.fa", ">n\nACGT\n"))
    assert ss.ids[0] == "gène_étude"
    assert read_records(path)[0][0] == "gène_étude desc"


def test_utf8_header_kept(write):
    ss = load_fasta_pair(write("p.fa", ">Δ-σ54 site\nACGT\n"), write("n.fa", ">n\nACGT\n"))
    assert ss.ids[0] == "Δ-σ54"


def test_huge_single_line_sequence_loads(write):
    rng = np.random.default_rng(0)
    big = np.frombuffer(b"ACGT", np.uint8)[rng.integers(0, 4, 5_000_000)].tobytes()
    path = write("big.fa", b">chrBig\n" + big + b"\n>small\nACGT\n")
    ss = load_fasta_pair(path, write("n.fa", ">n\nGG\n"))
    assert ss.codes.shape == (3, 5_000_000)
    assert ss.codes[0].tobytes() == BYTE_TO_CODE[np.frombuffer(big, np.uint8)].tobytes()
    assert ss.lengths.tolist() == [5_000_000, 4, 2]
    # short ones are centred in padding
    assert (ss.codes[1] != PAD_CODE).sum() == 4 and ss.codes[1, 2_499_998:2_500_002].tolist() == [0, 1, 2, 3]


# ---- length handling -------------------------------------------------------------------------------------------


def test_length_zero_pads_to_longest_centred(write):
    ss = load_fasta_pair(write("p.fa", ">a\nACGTACGTAC\n>b\nGG\n"), write("n.fa", ">c\nTTT\n"))
    assert ss.length == 10
    assert ss.codes[1].tolist() == fit_length(encode("GG"), 10).tolist()
    assert ss.codes[1].tolist() == [PAD_CODE] * 4 + [2, 2] + [PAD_CODE] * 4
    assert ss.codes[2].tolist() == fit_length(encode("TTT"), 10).tolist()
    assert ss.lengths.tolist() == [10, 2, 3]


def test_explicit_length_crops_centre_and_pads(write):
    ss = load_fasta_pair(write("p.fa", ">a\nAAACCCGGGTTT\n"), write("n.fa", ">b\nCG\n"), length=6)
    assert decode(ss.codes[0]) == "CCGGGT"[:0] + decode(fit_length(encode("AAACCCGGGTTT"), 6))
    assert decode(ss.codes[0]) == "CCCGGG"
    assert ss.codes[1].tolist() == [PAD_CODE, PAD_CODE, 1, 2, PAD_CODE, PAD_CODE]
    assert ss.lengths.tolist() == [12, 2]


def test_strict_accepts_equal_lengths(write):
    ss = load_fasta_pair(write("p.fa", ">a\nACGT\n"), write("n.fa", ">b\nTTTT\n"), length_policy="strict")
    assert ss.codes.shape == (2, 4)
    ss = load_fasta_pair(write("p.fa", ">a\nACGT\n"), write("n.fa", ">b\nTTTT\n"), length=4,
                           length_policy="strict")
    assert ss.codes.shape == (2, 4)


@pytest.mark.parametrize("length", [0, 7, 30])
def test_batched_encoding_matches_fit_length(write, monkeypatch, length):
    """Tiny encoding batches: every batch boundary and the in-place spreading give fit_length's rows."""
    monkeypatch.setattr(sequence_dataset, "_CHUNK_BASES", 50)
    rng = random.Random(3)
    recs = [(f"s{i}", random_dna(rng, rng.randint(1, 40))) for i in range(300)]
    ss = load_fasta_pair(write("p.fa", fasta(recs[:170])), write("n.fa", fasta(recs[170:])), length=length)
    target = length or max(len(s) for _, s in recs)
    assert ss.codes.shape == (300, target)
    for (_, seq), row, n in zip(recs, ss.codes, ss.lengths):
        assert row.tolist() == fit_length(encode(seq), target).tolist()
        assert n == len(seq)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 70), min_size=1, max_size=80), st.integers(1, 60))
def test_fit_rows_equals_fit_length(lengths, target):
    rng = np.random.default_rng(len(lengths))
    seqs = [rng.integers(0, 15, n).astype(np.uint8) for n in lengths]
    flat = np.concatenate(seqs) if seqs else np.zeros(0, np.uint8)
    out = np.empty((len(seqs), target), np.uint8)
    _fit_rows(flat, np.array(lengths), target, out)
    for s, row in zip(seqs, out):
        assert row.tolist() == fit_length(s, target).tolist()


def test_fit_rows_with_empty_records_next_to_cropped_ones():
    lens = np.array([0, 10, 0, 0, 12, 3, 0, 7, 9, 1, 0, 6])
    flat = np.arange(lens.sum(), dtype=np.uint8) % 15
    out = np.empty((len(lens), 5), np.uint8)
    _fit_rows(flat, lens, 5, out)
    ends = np.cumsum(lens)
    for i, n in enumerate(lens):
        assert out[i].tolist() == fit_length(flat[ends[i] - n:ends[i]], 5).tolist()


def test_spread_in_place_equals_fit_length():
    rng = np.random.default_rng(5)
    lens = rng.integers(1, 50, 500)
    seqs = [rng.integers(0, 15, n).astype(np.uint8) for n in lens]
    target = int(lens.max())
    buf = np.zeros(len(lens) * target, np.uint8)
    flat = np.concatenate(seqs)
    buf[:flat.size] = flat
    _spread_in_place(buf, lens.astype(np.int32), target)
    rows = buf.reshape(len(lens), target)
    for s, row in zip(seqs, rows):
        assert row.tolist() == fit_length(s, target).tolist()


# ---- labelled FASTA --------------------------------------------------------------------------------------------


def test_labelled_fasta_label_equals_binary(write):
    path = write("l.fa", ">a label=1 extra\nACGT\n>b label=0\nGGGG\n>c desc LABEL=1\nTTTT\n")
    ss = load_labelled_fasta(path)
    assert ss.task == "binary" and ss.ids == ["a", "b", "c"]
    assert ss.labels[:, 0].tolist() == [1, 0, 1] and ss.label_names == ["label"]


def test_labelled_fasta_pipe_suffix(write):
    ss = load_labelled_fasta(write("l.fa", ">a|1\nACGT\n>b|0\nGGGG\n"))
    assert ss.ids == ["a", "b"] and ss.labels[:, 0].tolist() == [1, 0]


def test_labelled_fasta_text_classes_multiclass_sorted(write):
    path = write("l.fa", ">a label=strong\nACGT\n>b label=weak\nGG\n>c label=none\nT\n>d label=strong\nA\n")
    ss = load_labelled_fasta(path)
    assert ss.task == "multiclass" and ss.class_names == ["none", "strong", "weak"]
    assert ss.labels.shape == (4, 1) and ss.labels[:, 0].tolist() == [1, 2, 0, 1]
    assert ss.n_outputs == 3


def test_labelled_fasta_integer_classes(write):
    ss = load_labelled_fasta(write("l.fa", ">a|2\nAC\n>b|0\nGG\n>c|5\nTT\n>d|2\nAA\n"))
    assert ss.task == "multiclass" and ss.class_names == ["0", "2", "5"]
    assert ss.labels[:, 0].tolist() == [1, 0, 2, 1]


def test_labelled_fasta_two_words_binary_negative_first(write):
    ss = load_labelled_fasta(write("l.fa", ">a|bound\nAC\n>b|unbound\nGG\n>c|bound\nTT\n"))
    assert ss.task == "binary" and ss.class_names == ["unbound", "bound"]
    assert ss.labels[:, 0].tolist() == [1, 0, 1]


def test_labelled_fasta_regression(write):
    ss = load_labelled_fasta(write("l.fa", ">a label=0.25\nAC\n>b label=1.5\nGG\n>c label=-3\nTT\n"))
    assert ss.task == "regression" and ss.class_names == []
    assert ss.labels[:, 0].tolist() == [0.25, 1.5, -3.0]


def test_labelled_fasta_explicit_task(write):
    path = write("l.fa", ">a|1\nAC\n>b|0\nGG\n>c|1\nTT\n")
    assert load_labelled_fasta(path, task="regression").task == "regression"
    ss = load_labelled_fasta(path, task="multiclass")
    assert ss.task == "multiclass" and ss.class_names == ["0", "1"]


def test_labelled_fasta_known_classes_allow_single_class(write):
    ss = load_labelled_fasta(write("t.fa", ">a|weak\nAC\n>b|weak\nGG\n"), task="multiclass",
                               known_classes=["none", "strong", "weak"])
    assert ss.class_names == ["none", "strong", "weak"] and ss.labels[:, 0].tolist() == [2, 2]


# ---- tables ----------------------------------------------------------------------------------------------------


def test_csv_binary_with_id_column(write):
    path = write("t.csv", "name,sequence,label\nx,ACGT,1\ny,GGCC,0\nz,acgu,1\n")
    ss = load_table(path, "sequence", ["label"], id_column="name")
    assert ss.ids == ["x", "y", "z"] and ss.task == "binary"
    assert ss.labels[:, 0].tolist() == [1, 0, 1] and ss.label_names == ["label"]
    assert decode(ss.codes[2]) == "ACGT"


def test_tsv_sniffed_and_row_ids(write):
    path = write("t.txt", "sequence\tlabel\tother\nACGT\t0\tx,y\nGGCC\t1\tz\n")
    ss = load_table(path, "sequence", "label")
    assert ss.ids == ["row1", "row2"] and ss.labels[:, 0].tolist() == [0, 1]


def test_semicolon_csv_and_bom_and_quotes(write):
    path = write("t.csv", '\ufeffsequence;label\n"ACGT";1\n"GG";0\n')
    ss = load_table(path, "sequence", "label")
    assert ss.ids == ["row1", "row2"] and ss.lengths.tolist() == [4, 2]


def test_table_column_names_case_insensitive(write):
    ss = load_table(write("t.csv", "Sequence,Label\nACGT,1\nGGGG,0\n"), "sequence", ["label"])
    assert len(ss) == 2 and ss.label_names == ["Label"]


def test_table_gz(write):
    ss = load_table(write("t.csv", "sequence,label\nACGT,1\nGGGG,0\n", compress="gzip"), "sequence", ["label"])
    assert ss.labels[:, 0].tolist() == [1, 0]


def test_table_text_labels_multiclass_and_binary(write):
    ss = load_table(write("t.csv", "sequence,cls\nAC,b\nGG,a\nTT,c\nAA,a\n"), "sequence", ["cls"])
    assert ss.task == "multiclass" and ss.class_names == ["a", "b", "c"]
    assert ss.labels[:, 0].tolist() == [1, 0, 2, 0]
    ss = load_table(write("t2.csv", "sequence,cls\nAC,yes\nGG,no\nTT,yes\n"), "sequence", ["cls"])
    assert ss.task == "binary" and ss.class_names == ["no", "yes"] and ss.labels[:, 0].tolist() == [1, 0, 1]


def test_table_multitask_binary_and_regression(write):
    path = write("t.csv", "sequence,tf1,tf2,tf3\nACGT,1,0,1\nGGGG,0,1,0\nTTTT,1,1,0\n")
    ss = load_table(path, "sequence", ["tf1", "tf2", "tf3"])
    assert ss.task == "binary" and ss.labels.shape == (3, 3) and ss.label_names == ["tf1", "tf2", "tf3"]
    assert ss.labels.tolist() == [[1, 0, 1], [0, 1, 0], [1, 1, 0]] and ss.n_outputs == 3
    path = write("r.csv", "sequence,a,b\nACGT,0.5,1\nGGGG,2.25,0\n")
    ss = load_table(path, "sequence", ["a", "b"])
    assert ss.task == "regression" and ss.labels.tolist() == [[0.5, 1], [2.25, 0]]


def test_table_auto_task_inference(write):
    few = "sequence,y\n" + "".join(f"ACGT,{i % 5}\n" for i in range(20))
    assert load_table(write("few.csv", few), "sequence", "y").task == "multiclass"
    many = "sequence,y\n" + "".join(f"ACGT,{i}\n" for i in range(30))
    assert load_table(write("many.csv", many), "sequence", "y").task == "regression"
    floats = "sequence,y\nACGT,0.1\nACGT,0.7\n"
    assert load_table(write("fl.csv", floats), "sequence", "y").task == "regression"
    ints01 = "sequence,y\nACGT,1.0\nACGT,0\n"
    assert load_table(write("b.csv", ints01), "sequence", "y").task == "binary"


def test_table_explicit_regression_on_01(write):
    ss = load_table(write("t.csv", "sequence,y\nACGT,1\nGGGG,0\n"), "sequence", ["y"], task="regression")
    assert ss.task == "regression" and ss.class_names == []


def test_table_blank_lines_skipped(write):
    ss = load_table(write("t.csv", "sequence,y\n\nACGT,1\n,\nGGGG,0\n\n"), "sequence", ["y"])
    assert len(ss) == 2 and ss.ids == ["row1", "row2"]


def test_table_known_classes(write):
    ss = load_table(write("t.csv", "sequence,y\nACGT,b\n"), "sequence", ["y"], task="multiclass",
                      known_classes=["a", "b", "c"])
    assert ss.labels[:, 0].tolist() == [1] and ss.class_names == ["a", "b", "c"]


# ---- unlabelled ------------------------------------------------------------------------------------------------


def test_unlabelled_fasta_fitted(write):
    ss = load_unlabelled(write("u.fa", ">a\nACGTACGTAA\n>b\nGG\n"), length=6)
    assert ss.task == "none" and ss.labels.shape == (2, 0) and ss.codes.shape == (2, 6)
    assert ss.ids == ["a", "b"] and ss.lengths.tolist() == [10, 2] and ss.n_outputs == 0


def test_unlabelled_table(write):
    ss = load_unlabelled(write("u.tsv", "id\tseq\nq1\tACGT\nq2\tTT\n"), length=4, sequence_column="seq",
                           id_column="id")
    assert ss.ids == ["q1", "q2"] and ss.codes.shape == (2, 4)
    ss = load_unlabelled(write("u.csv", "sequence\nACGT\nGGGG\n"), length=4)
    assert ss.ids == ["row1", "row2"]


# ---- dispatch --------------------------------------------------------------------------------------------------


def test_load_sequences_dispatch(write):
    pos = write("p.fa", ">a\nACGT\n>b\nACGA\n")
    neg = write("n.fa", ">c\nTTTT\n")
    ss = load_sequences(DataConfig(kind="fasta", fasta=str(pos), background=str(neg), length=6))
    assert ss.codes.shape == (3, 6) and ss.labels[:, 0].tolist() == [1, 1, 0]
    lab = write("l.fa", ">a|x\nACGT\n>b|y\nAC\n>c|z\nA\n")
    ss = load_sequences(DataConfig(kind="fasta", fasta=str(lab)))
    assert ss.task == "multiclass"
    tab = write("t.csv", "id,s,y1,y2\nr,ACGT,0.5,1\nq,GG,1.5,2\n")
    ss = load_sequences(DataConfig(kind="table", table=str(tab), sequence_column="s", label_columns=["y1", "y2"],
                                     id_column="id", length=3, length_policy="fit"))
    assert ss.task == "regression" and ss.ids == ["r", "q"] and ss.codes.shape == (2, 3)
    genome, _ = make_genome(write)
    bed = write("p.bed", "chr1\t1000\t1100\nchr2\t500\t700\n")
    ss = load_sequences(DataConfig(kind="bed", bed=str(bed), genome=str(genome), width=50))
    assert ss.codes.shape == (4, 50) and ss.groups.tolist() == ["chr1", "chr2", "chr1", "chr2"]


def test_load_test_set_matches_reference(write):
    tab = write("t.csv", "sequence,y\nACGTAC,a\nGG,b\nTT,c\n")
    cfg = DataConfig(kind="table", table=str(tab), label_columns=["y"], test_file=str(write("test.csv",
                                                                                          "sequence,y\nACGTACGT,c\n")))
    ref = load_sequences(cfg)
    test = load_test_set(cfg, ref)
    assert test.length == ref.length == 6 and test.class_names == ["a", "b", "c"]
    assert test.labels[:, 0].tolist() == [2]


# ---- BED + genome ----------------------------------------------------------------------------------------------


def test_bed_windows_centred_on_midpoint_and_summit(write):
    genome, seqs = make_genome(write)
    bed = write("peaks.bed", "track name=x\nbrowser position chr1\n# comment\n"
                             "chr1\t1000\t1100\tpeak1\n"
                             "chr2\t200\t400\tp2\t0\t.\t5.0\t3.0\t2.0\t30\n")
    ss = load_bed(bed, genome, width=40)
    assert ss.ids[:2] == ["chr1:1030-1070", "chr2:210-250"]
    assert decode(ss.codes[0]) == seqs["chr1"][1030:1070]
    assert decode(ss.codes[1]) == seqs["chr2"][210:250]  # summit at 200 + 30
    assert ss.labels[:, 0].tolist() == [1, 1, 0, 0]
    assert ss.groups.tolist() == ["chr1", "chr2", "chr1", "chr2"]
    assert ss.ids[2:] == ["chr1:1030-1070/bg:shuffled", "chr2:210-250/bg:shuffled"]
    assert ss.lengths.tolist() == [40] * 4 and ss.class_names == ["background", "bound"]


def test_bed_window_shifted_inside_chromosome_ends(write):
    genome, seqs = make_genome(write)
    ss = load_bed(write("p.bed", "chr3\t2490\t2500\nchr2\t0\t4\n"), genome, width=100)
    assert ss.ids[:2] == ["chr3:2400-2500", "chr2:0-100"]
    assert decode(ss.codes[0]) == seqs["chr3"][2400:2500]


def test_bed_lowercase_genome_and_n(write):
    rng = random.Random(2)
    chrom = random_dna(rng, 400).lower()
    chrom = chrom[:100] + "N" * 20 + chrom[120:]
    genome = write("g.fa", fasta([("chrA", chrom)], width=50))
    ss = load_bed(write("p.bed", "chrA\t80\t140\n"), genome, width=60)
    assert decode(ss.codes[0]) == chrom[80:140].upper()


def test_bed_shuffle_background_preserves_dinucleotides(write):
    genome, _ = make_genome(write)
    lines = "".join(f"chr1\t{s}\t{s + 100}\n" for s in range(200, 4500, 400))
    ss = load_bed(write("p.bed", lines), genome, width=150, seed=7)
    n = len(ss) // 2
    for i in range(n):
        peak, bg = decode(ss.codes[i]), decode(ss.codes[n + i])
        assert dinucleotides(peak) == dinucleotides(bg)
        assert peak[0] == bg[0] and peak[-1] == bg[-1]
    assert sum(decode(ss.codes[i]) != decode(ss.codes[n + i]) for i in range(n)) >= n - 1
    again = load_bed(write("p.bed", lines), genome, width=150, seed=7)
    assert np.array_equal(ss.codes, again.codes)
    other = load_bed(write("p.bed", lines), genome, width=150, seed=8)
    assert not np.array_equal(ss.codes[n:], other.codes[n:])


def test_bed_flank_background(write):
    genome, seqs = make_genome(write)
    bed = write("p.bed", "chr1\t2000\t2100\nchr1\t2030\t2130\nchr2\t100\t140\n")
    ss = load_bed(bed, genome, width=100, background_method="flank", seed=1)
    peaks = [(int(i.split(":")[1].split("-")[0])) for i in ss.ids[:3]]
    assert peaks == [2000, 2030, 70]
    bgs = ss.ids[3:]
    assert len(bgs) == 3 and ss.labels[3:, 0].tolist() == [0, 0, 0]
    for bid, row, grp in zip(bgs, ss.codes[3:], ss.groups[3:]):
        peak_id, how = bid.split("/bg:")
        assert how.startswith("flank:")
        chrom, rng_ = how[len("flank:"):].rsplit(":", 1)
        s, e = map(int, rng_.split("-"))
        pchrom, prange = peak_id.rsplit(":", 1)
        ps = int(prange.split("-")[0])
        assert chrom == pchrom == grp and e - s == 100 and abs(s - ps) == 300
        assert decode(row) == seqs[chrom][s:e]
        for p in peaks[:2] if chrom == "chr1" else peaks[2:]:  # no overlap with any peak window
            assert e <= p or s >= p + 100
    # chr2 peak at 70: upstream (-230) is outside the chromosome, so downstream
    assert bgs[2].endswith("flank:chr2:370-470")


def test_bed_pair_keys(write):
    genome, _ = make_genome(write)
    ss = load_bed(write("p.bed", "chr1\t1000\t1100\nchr2\t500\t700\n"), genome, width=50)
    assert ss.pair_keys().tolist() == [ss.ids[0], ss.ids[1], ss.ids[0], ss.ids[1]]
    fa = load_fasta_pair(write("p.fa", ">a/bg:x\nACGT\n"), write("n.fa", ">a\nACGT\n"))
    assert fa.pair_keys() is None


def test_bed_gz_and_bgzip_genome(write, tmp_path):
    from Bio import bgzf

    genome, seqs = make_genome(write)
    gz = tmp_path / "genome.fa.gz"
    with bgzf.BgzfWriter(str(gz), "wb") as out:
        out.write(genome.read_bytes())
    bed = write("p.bed.gz", "chr2\t1000\t1200\n", compress="gzip")
    ss = load_bed(bed, gz, width=60)
    assert decode(ss.codes[0]) == seqs["chr2"][1070:1130]


def test_genome_index_falls_back_to_temp_folder(write, tmp_path, monkeypatch):
    """When the .fai cannot be written next to the genome, it is built in the temp folder."""
    import pyfaidx

    genome, seqs = make_genome(write)
    real = pyfaidx.Fasta
    calls = []

    def read_only_folder(filename, indexname=None, **kw):
        calls.append(indexname)
        if indexname is None:
            raise OSError(f"{filename}.fai may not be writable")
        return real(filename, indexname=indexname, **kw)

    monkeypatch.setattr(pyfaidx, "Fasta", read_only_folder)
    monkeypatch.setenv("BIODEEP_HOME", str(tmp_path / "home"))
    ss = load_bed(write("p.bed", "chr1\t100\t200\n"), genome, width=50)
    assert decode(ss.codes[0]) == seqs["chr1"][125:175]
    assert calls[0] is None and calls[1].startswith(str(tmp_path / "home" / "cache" / "genome-index"))
    assert not (tmp_path / "genome.fa.fai").exists()
    assert list((tmp_path / "home" / "cache" / "genome-index").glob("genome.fa.*.fai"))


# ---- dinucleotide shuffle --------------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="ACGTN", min_size=0, max_size=120), st.integers(0, 2**32 - 1))
def test_dinucleotide_shuffle_preserves_counts(seq, seed):
    codes = encode(seq)
    out = dinucleotide_shuffle(codes, seed)
    assert out.dtype == np.uint8 and out.shape == codes.shape
    s = decode(out)
    assert Counter(s) == Counter(seq)
    assert dinucleotides(s) == dinucleotides(seq)
    if seq:
        assert s[0] == seq[0] and s[-1] == seq[-1]


def test_dinucleotide_shuffle_reaches_every_valid_sequence():
    """Every sequence with the same first letter and dinucleotide counts comes out (the Euler walk is random)."""
    seq = "AACGTACCGATTACG"
    target = dinucleotides(seq)
    valid = set()

    def walk(prefix, left):  # every string from seq[0] that uses each dinucleotide exactly as often
        if not +left:
            valid.add(prefix)
        for (a, b), k in left.items():
            if a == prefix[-1] and k:
                walk(prefix + b, left - Counter({(a, b): 1}))

    walk(seq[0], target)
    rng = random.Random(0)
    seen = Counter(decode(dinucleotide_shuffle(encode(seq), rng)) for _ in range(3000))
    assert set(seen) == valid
    assert len(valid) > 5
    # roughly uniform: no valid sequence is starved
    assert min(seen.values()) > 3000 / len(valid) / 3


def test_dinucleotide_shuffle_seeded_and_any_alphabet():
    codes = np.array([CODE_LETTERS.index(c) for c in "ACGRYNNACGTTKAMC" * 4], np.uint8)
    a = dinucleotide_shuffle(codes, 11)
    assert np.array_equal(a, dinucleotide_shuffle(codes, 11))
    assert dinucleotides(a.tolist()) == dinucleotides(codes.tolist())
