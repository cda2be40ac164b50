"""Variant effects from a VCF (core.sequences.variants and ``biodeep variants``).

Proof on a SYNTHETIC genome with planted CTCF / SPI1 sites and a small CNN trained on planted motifs: SNVs that
break a planted site score more negative than SNVs elsewhere in the same peaks (AUROC >= 0.9); REF mismatches
are flagged and unscored; 1-bp deletions and insertions get the windows the module documents, base by base;
multi-allelic records are split; a bgzipped + tabix-indexed VCF gives the same table as the plain one.
"""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("cyvcf2")

from biodeep_gui.core.sequences.encoding import PAD_CODE, encode  # noqa: E402
from biodeep_gui.core.sequences.interpret.progress import Cancelled, Progress, drain  # noqa: E402
from biodeep_gui.core.sequences.run import load_run  # noqa: E402
from biodeep_gui.core.sequences.variants import (  # noqa: E402
    ID_COLUMNS,
    VariantEffects,
    allele_windows,
    effects_rows,
    read_vcf,
    score_variants,
    write_tsv,
)
from tests.core.variants_data import (  # noqa: E402
    LENGTH,
    bgzip_and_index,
    site_snvs,
    train_tiny_cnn,
    vcf_text,
    write_genome,
)


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    d = tmp_path_factory.mktemp("variants")
    run_dir = train_tiny_cnn(d)
    case = write_genome(d)
    return d, load_run(run_dir), case


def _contigs(case):
    return {c: len(s) for c, s in case.chromosomes.items()}


def _write(path, records, case):
    path.write_text(vcf_text(records, _contigs(case)))
    return path


def test_snvs_breaking_planted_sites_score_more_negative(setup):
    from sklearn.metrics import roc_auc_score

    d, run, case = setup
    records, breaks = site_snvs(case)
    vcf = _write(d / "sites.vcf", records, case)
    items = []
    gen = score_variants(run, vcf, case.genome)
    while True:
        try:
            items.append(next(gen))
        except StopIteration as done:
            eff = done.value
            break
    assert all(isinstance(i, Progress) for i in items) and items[-1].done == items[-1].total == len(records)
    assert isinstance(eff, VariantEffects) and len(eff) == len(records) and eff.n_scored == len(records)
    assert [(a.chrom, a.pos, a.id) for a in eff.alleles] == [(c, p, i) for c, p, i, _, _ in records]
    auroc = roc_auc_score(breaks, -eff.logit_delta[:, 0])
    auroc_p = roc_auc_score(breaks, -eff.delta[:, 0])
    print(f"\n{breaks.sum()} site-breaking SNVs vs {(~breaks).sum()} controls: AUROC {auroc:.3f} (logit_delta), "
          f"{auroc_p:.3f} (delta); median logit_delta {np.median(eff.logit_delta[breaks, 0]):.2f} vs "
          f"{np.median(eff.logit_delta[~breaks, 0]):.2f}")
    assert auroc >= 0.9
    assert np.median(eff.logit_delta[breaks, 0]) < 0
    # delta is in probability units, consistent with the scores, and matches Run.predict on the windows
    assert np.allclose(eff.delta, eff.alt_score - eff.ref_score)
    assert np.all((eff.ref_score >= 0) & (eff.ref_score <= 1))


def test_scores_match_run_predict_on_the_windows(setup):
    from biodeep_gui.core.sequences.encoding import reverse_complement
    from biodeep_gui.core.sequences.variants import open_genome

    d, run, case = setup
    records, _ = site_snvs(case)
    records = records[:6]
    vcf = _write(d / "few.vcf", records, case)
    fwd = drain(score_variants(run, vcf, case.genome, both_strands=False))
    both = drain(score_variants(run, vcf, case.genome))
    fa = open_genome(case.genome)
    for i, (c, p, _, r, a) in enumerate(records):
        rw, aw, _clip = allele_windows(fa, c, p, r, a, LENGTH)
        pr, pa = run.predict(np.stack([rw, aw]))[:, 0]
        assert fwd.ref_score[i, 0] == pytest.approx(pr, abs=1e-5)
        assert fwd.alt_score[i, 0] == pytest.approx(pa, abs=1e-5)
        # both strands: the logits of the two strands averaged, then the sigmoid
        x = np.stack([rw, aw, reverse_complement(rw), reverse_complement(aw)])
        logit = np.log(run.predict(x)[:, 0]) - np.log1p(-run.predict(x)[:, 0])
        want = 1 / (1 + np.exp(-(logit[[0, 1]] + logit[[2, 3]]) / 2))
        assert both.ref_score[i, 0] == pytest.approx(want[0], abs=1e-5)
        assert both.alt_score[i, 0] == pytest.approx(want[1], abs=1e-5)
    fa.close()


def test_ref_mismatch_is_flagged_and_not_scored(setup):
    d, run, case = setup
    chrom = case.chromosomes["chr1"]
    p = 5000
    wrong = "ACGT"[("ACGT".index(chrom[p - 1]) + 1) % 4]
    other = "ACGT"[("ACGT".index(chrom[p - 1]) + 2) % 4]
    vcf = _write(d / "mismatch.vcf", [("chr1", p, "bad", wrong, other), ("chr1", p + 10, "good", chrom[p + 9],
                                       "ACGT"[("ACGT".index(chrom[p + 9]) + 1) % 4]),
                                      ("chr9", 100, "nowhere", "A", "G")], case)
    eff = drain(score_variants(run, vcf, case.genome))
    assert eff.ref_check == ["mismatch", "ok", "no_contig"]
    assert eff.window == ["", "ok", ""]
    assert np.isnan(eff.ref_score[0]).all() and np.isnan(eff.delta[0]).all() and np.isnan(eff.logit_delta[0]).all()
    assert np.isnan(eff.delta[2]).all() and np.isfinite(eff.delta[1]).all()
    assert eff.n_mismatch == 1 and eff.n_no_contig == 1 and eff.n_scored == 1
    warnings = eff.warnings()
    assert "1 variant(s) have a REF that differs" in warnings[0] and "chr1:5000" in warnings[0]
    assert "chr9" in warnings[1]
    rows = effects_rows(eff)
    assert rows[0][5] == "mismatch" and rows[0][7:] == ["", "", "", ""]


def test_one_bp_deletion_and_insertion_windows_base_by_base(setup):
    from biodeep_gui.core.sequences.variants import open_genome

    d, run, case = setup
    chrom = case.chromosomes["chr2"]
    p = 3001  # 1-based; s = 3000
    s = p - 1
    L, h = LENGTH, LENGTH // 2
    dele = ("chr2", p, "del1", chrom[s:s + 2], chrom[s])  # e.g. REF AT, ALT A
    ins_base = "ACGT"[("ACGT".index(chrom[s + 1]) + 1) % 4]
    ins = ("chr2", p, "ins1", chrom[s], chrom[s] + ins_base)  # REF A, ALT AC
    fa = open_genome(case.genome)

    r, a, clipped = allele_windows(fa, *dele[:2], dele[3], dele[4], L)
    assert not clipped
    # ref: the 2-bp REF at window positions h-1, h
    assert np.array_equal(r, encode(chrom[s - (h - 1):s - (h - 1) + L]))
    # alt: the 1-bp ALT at h; left flank genome[s-h:s], right flank continues after the deleted base
    want_alt = chrom[s - h:s] + dele[4] + chrom[s + 2:s + 2 + (L - h - 1)]
    assert len(want_alt) == L and np.array_equal(a, encode(want_alt))

    r, a, clipped = allele_windows(fa, *ins[:2], ins[3], ins[4], L)
    assert not clipped
    assert np.array_equal(r, encode(chrom[s - h:s - h + L]))  # SNV-like ref window, the REF base at h
    want_alt = chrom[s - (h - 1):s] + ins[4] + chrom[s + 1:s + 1 + (L - (h - 1) - 2)]
    assert len(want_alt) == L and np.array_equal(a, encode(want_alt))
    assert a[h - 1] == encode(chrom[s])[0] and a[h] == encode(ins_base)[0]
    fa.close()

    vcf = _write(d / "indels.vcf", [dele, ins], case)
    eff = drain(score_variants(run, vcf, case.genome))
    assert eff.ref_check == ["ok", "ok"] and eff.window == ["ok", "ok"]
    assert np.isfinite(eff.delta).all() and np.isfinite(eff.logit_delta).all()
    assert [a.alt for a in eff.alleles] == [dele[4], ins[4]]


def test_multiallelic_record_is_split_and_long_or_symbolic_alleles_skipped(setup):
    d, run, case = setup
    chrom = case.chromosomes["chr1"]
    p = 7001
    ref = chrom[p - 1]
    alts = [b for b in "ACGT" if b != ref][:2]
    long_ref = chrom[p + 99:p + 99 + 60]
    text = vcf_text([("chr1", p, "multi", ref, ",".join(alts)),
                     ("chr1", p + 20, "sym", chrom[p + 19], "<DEL>"),
                     ("chr1", p + 40, "star", chrom[p + 39], "*"),
                     ("chr1", p + 60, "bnd", chrom[p + 59], f"{chrom[p + 59]}[chr2:100["),
                     ("chr1", p + 100, "long", long_ref, long_ref[0])], _contigs(case))
    (d / "multi.vcf").write_text(text)
    alleles, skipped = read_vcf(d / "multi.vcf")
    assert [(a.id, a.alt, a.record) for a in alleles] == [("multi", alts[0], 0), ("multi", alts[1], 0)]
    assert [s.reason for s in skipped] == ["symbolic ALT <DEL>", "spanning deletion (ALT *)", "breakend",
                                           "longer than 50 bp"]
    assert len(read_vcf(d / "multi.vcf", max_indel=60)[0]) == 3
    eff = drain(score_variants(run, d / "multi.vcf", case.genome))
    assert len(eff) == 2 and eff.n_scored == 2 and len(eff.skipped) == 4
    assert eff.alleles[0].pos == eff.alleles[1].pos == p
    assert not np.allclose(eff.alt_score[0], eff.alt_score[1]) or alts[0] == alts[1]
    assert "4 skipped" not in eff.summary() and "1 skipped (breakend)" in eff.summary()


def test_bgzipped_tabix_indexed_vcf_gives_the_same_table(setup):
    d, run, case = setup
    records, _ = site_snvs(case)
    plain = _write(d / "same.vcf", records[:30], case)
    gz = bgzip_and_index(plain)
    assert gz.read_bytes()[12:14] == b"BC" and (gz.parent / (gz.name + ".tbi")).exists()
    a = drain(score_variants(run, plain, case.genome))
    b = drain(score_variants(run, gz, case.genome))
    assert effects_rows(a) == effects_rows(b) and len(a) == 30


def test_windows_at_a_contig_end_are_padded_and_flagged(setup):
    from biodeep_gui.core.sequences.variants import open_genome

    d, run, case = setup
    chrom = case.chromosomes["chr1"]
    n = len(chrom)
    h = LENGTH // 2
    fa = open_genome(case.genome)
    r, a, clipped = allele_windows(fa, "chr1", 3, chrom[2], "ACGT"[("ACGT".index(chrom[2]) + 1) % 4], LENGTH)
    assert clipped
    assert (r[:h - 2] == PAD_CODE).all() and np.array_equal(r[h - 2:], encode(chrom[:LENGTH - (h - 2)]))
    assert (a[:h - 2] == PAD_CODE).all() and a[h] != r[h]
    r, a, clipped = allele_windows(fa, "chr1", n - 1, chrom[n - 2], "ACGT"[("ACGT".index(chrom[n - 2]) + 1) % 4],
                                   LENGTH)
    assert clipped and (r[h + 2:] == PAD_CODE).all() and (r[:h + 2] != PAD_CODE).all()
    fa.close()
    vcf = _write(d / "ends.vcf", [("chr1", 3, "start", chrom[2], "ACGT"[("ACGT".index(chrom[2]) + 1) % 4]),
                                  ("chr1", 20000, "middle", chrom[19999], "ACGT"[("ACGT".index(chrom[19999]) + 1) % 4]),
                                  ("chr1", n - 1, "end", chrom[n - 2], "ACGT"[("ACGT".index(chrom[n - 2]) + 1) % 4])],
                 case)
    eff = drain(score_variants(run, vcf, case.genome))
    assert eff.window == ["clipped", "ok", "clipped"] and eff.n_scored == 3 and np.isfinite(eff.delta).all()
    assert "2 with a window padded" in eff.summary()


def test_tsv_columns_exactly_and_multi_output_suffixes(setup, tmp_path):
    d, run, case = setup
    records, _ = site_snvs(case)
    eff = drain(score_variants(run, _write(d / "tsv.vcf", records[:5], case), case.genome))
    path = write_tsv(eff, tmp_path / "effects.tsv")
    lines = path.read_text().splitlines()
    assert lines[0].split("\t") == ["chrom", "pos", "id", "ref", "alt", "ref_check", "window",
                                    "ref_score", "alt_score", "delta", "logit_delta"]
    assert len(lines) == 6 and lines[1].split("\t")[:3] == [records[0][0], str(records[0][1]), records[0][2]]
    nan = np.full((1, 2), np.nan)
    two = VariantEffects(eff.alleles[:1], ["ok"], ["ok"], ["CTCF", "SPI1"], nan, nan, nan, nan)
    assert two.columns() == [*ID_COLUMNS, "ref_score_CTCF", "alt_score_CTCF", "delta_CTCF", "logit_delta_CTCF",
                             "ref_score_SPI1", "alt_score_SPI1", "delta_SPI1", "logit_delta_SPI1"]


def test_cancel_stops_the_scoring(setup):
    d, run, case = setup
    records, _ = site_snvs(case)
    with pytest.raises(Cancelled):
        drain(score_variants(run, _write(d / "cancel.vcf", records, case), case.genome, should_stop=lambda: True))


def test_bad_inputs_give_clear_errors(setup, tmp_path):
    from biodeep_gui.core.common.errors import InputFileError

    d, run, case = setup
    with pytest.raises(InputFileError, match="VCF file not found"):
        read_vcf(tmp_path / "missing.vcf")
    (tmp_path / "bad.vcf").write_text("hello\nworld\n")
    with pytest.raises(InputFileError, match="not a readable VCF"):
        read_vcf(tmp_path / "bad.vcf")


def test_cli_end_to_end(setup, tmp_path, capsys):
    from biodeep_gui.cli.main import main

    d, run, case = setup
    records, _ = site_snvs(case)
    chrom = case.chromosomes["chr1"]
    bad = ("chr1", 5000, "bad", "ACGT"[("ACGT".index(chrom[4999]) + 1) % 4], "ACGT"[("ACGT".index(chrom[4999]) + 2) % 4])
    recs = sorted(records[:10] + [bad, ("chr1", 6000, "sym", chrom[5999], "<INS>")], key=lambda r: (r[0], r[1]))
    vcf = _write(tmp_path / "calls.vcf", recs, case)
    out = tmp_path / "effects.tsv"
    rc = main(["variants", str(run.path), "--vcf", str(vcf), "--genome", str(case.genome), "--out", str(out),
               "--device", "cpu", "--max-indel", "50"])
    text = capsys.readouterr().out
    assert rc == 0, text
    assert "Warning: 1 variant(s) have a REF that differs from the genome" in text
    assert "10 of 12 alleles scored" in text and "symbolic ALT <INS>" in text
    lines = out.read_text().splitlines()
    assert len(lines) == 12 and lines[0].startswith("chrom\tpos\tid\tref\talt\tref_check\twindow\t")
    assert (tmp_path / "effects.skipped.tsv").read_text().splitlines()[1].endswith("symbolic ALT <INS>")
    rc = main(["variants", str(run.path), "--vcf", str(vcf), "--genome", str(case.genome), "--out",
               str(tmp_path / "fwd.tsv"), "--no-both-strands"])
    assert rc == 0 and (tmp_path / "fwd.tsv").read_text() != out.read_text()
    rc = main(["variants", str(run.path), "--vcf", str(tmp_path / "nope.vcf"), "--genome", str(case.genome),
               "--out", str(tmp_path / "x.tsv")])
    assert rc == 1 and "VCF file not found" in capsys.readouterr().err


def test_the_demo_writes_heldout_sequences_and_a_vcf_its_sites_break_in(setup, tmp_path):
    """``biodeep demo`` (core write_demo) writes heldout.fa and variants.vcf itself: the VCF reads back with its
    indels and the multi-allelic record split, matches the demo genome, and its site-breaking SNVs score lower."""
    from sklearn.metrics import roc_auc_score

    from biodeep_gui.core.sequences.fasta import read_records
    from biodeep_gui.core.sequences.synthetic import write_demo

    _d, run, _case = setup
    files = write_demo(tmp_path)
    held = read_records(files["heldout"])
    train = {seq for _, seq in read_records(files["labelled"])}
    assert len(held) == 500 and not train & {seq for _, seq in held}
    gen = score_variants(run, files["variants"], files["genome"])
    while True:
        try:
            next(gen)
        except StopIteration as done:
            eff = done.value
            break
    ids = [a.id for a in eff.alleles]
    assert sum(i.endswith("_del1") for i in ids) == 2 and sum(i.endswith("_ins1") for i in ids) == 2
    assert len(ids) == len(set(zip(ids, [a.alt for a in eff.alleles])))  # the multi-allelic record gave two alleles
    assert len([a for a in eff.alleles if a.id == next(i for i in ids if ids.count(i) == 2)]) == 2
    assert set(eff.ref_check) == {"ok"} and not eff.skipped
    snv = np.array([i.endswith(("_break", "_ctrl0", "_ctrl1")) and len(a.ref) == len(a.alt) == 1
                    for i, a in zip(ids, eff.alleles)])
    breaks = np.array([i.endswith("_break") for i in ids])[snv]
    assert breaks.sum() >= 30
    assert roc_auc_score(breaks, -eff.logit_delta[snv, 0]) >= 0.85


def test_the_one_base_shortcut_equals_the_whole_network(setup):
    """SNV windows scored through the first-layer patch give the full network's outputs, at any position
    (the edges included) and with N in the windows."""
    from biodeep_gui.core.sequences.variants import _RawScorer

    _d, run, _case = setup
    scorer = _RawScorer(run, "cpu")
    assert scorer.patches_one_base
    rng = np.random.default_rng(3)
    ref = rng.integers(0, 4, (64, LENGTH)).astype(np.uint8)
    ref[5, 10:20] = 4  # N
    pos = rng.integers(0, LENGTH, 64)
    pos[:3] = [0, LENGTH - 1, LENGTH // 2]
    alt = ((ref[np.arange(64), pos] + rng.integers(1, 4, 64)) % 4).astype(np.uint8)
    mutated = ref.copy()
    mutated[np.arange(64), pos] = alt
    r, a = scorer.one_base_pairs(ref, pos, alt)
    assert np.allclose(r, scorer(ref), atol=1e-5) and np.allclose(a, scorer(mutated), atol=1e-5)
