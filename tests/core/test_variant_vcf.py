"""``biodeep variants --vcf-out``: a copy of the VCF with the effects in INFO, read back with cyvcf2."""
from __future__ import annotations

import csv

import pytest

cyvcf2 = pytest.importorskip("cyvcf2")

from biodeep_gui.core.sequences.run import load_run  # noqa: E402
from biodeep_gui.core.sequences.variant_vcf import info_id  # noqa: E402
from tests.core.variants_data import site_snvs, train_tiny_cnn, vcf_text, write_genome  # noqa: E402


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    from biodeep_gui.cli.main import main

    d = tmp_path_factory.mktemp("variant_vcf")
    run = load_run(train_tiny_cnn(d))
    case = write_genome(d)
    chrom = case.chromosomes["chr1"]
    records, _ = site_snvs(case)
    p = 7001
    alts = [b for b in "ACGT" if b != chrom[p - 1]][:2]
    wrong = "ACGT"[("ACGT".index(chrom[4999]) + 1) % 4]
    extra = [("chr1", p, "multi", chrom[p - 1], ",".join(alts)),  # split into two alleles
             ("chr1", 5000, "bad", wrong, "ACGT"[("ACGT".index(wrong) + 1) % 4]),  # REF mismatch
             ("chr1", 6000, "sym", chrom[5999], "<INS>")]  # skipped
    recs = sorted(records[:8] + extra, key=lambda r: (r[0], r[1]))
    vcf = d / "calls.vcf"
    vcf.write_text(vcf_text(recs, {c: len(s) for c, s in case.chromosomes.items()}))
    rc = main(["variants", str(run.path), "--vcf", str(vcf), "--genome", str(case.genome),
               "--out", str(d / "effects.tsv"), "--vcf-out", str(d / "scored.vcf")])
    assert rc == 0
    return d, recs


def test_scored_vcf_declares_its_info_fields_and_keeps_every_record(scored):
    d, recs = scored
    vcf = cyvcf2.VCF(str(d / "scored.vcf"))
    for name in ("REF_CHECK", "REF_SCORE", "ALT_SCORE", "DELTA", "LOGIT_DELTA"):
        h = vcf.get_header_type("BIODEEP_" + name)
        assert h["Number"] == "A" and h["Type"] == ("String" if name == "REF_CHECK" else "Float")
    got = [(r.CHROM, r.POS, r.ID) for r in vcf]
    assert got == [(c, p, i) for c, p, i, _, _ in recs]
    assert not list(d.glob(".scored.vcf.*"))  # the temporary file of the atomic write is gone


def test_scored_vcf_carries_the_numbers_of_effects_tsv(scored):
    d, _ = scored
    with open(d / "effects.tsv", newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    table = {(r["chrom"], int(r["pos"]), r["alt"]): r for r in rows}
    seen = 0
    checks = {}
    for rec in cyvcf2.VCF(str(d / "scored.vcf")):
        rc = rec.INFO.get("BIODEEP_REF_CHECK").split(",")  # cyvcf2 gives a String Number=A field as one text
        for j, alt in enumerate(rec.ALT):
            checks[rec.ID] = rc
            row = table.get((rec.CHROM, rec.POS, alt))
            if row is None:
                assert rc[j] == "skipped"
                continue
            assert rc[j] == row["ref_check"]
            for col in ("ref_score", "alt_score", "delta", "logit_delta"):
                v = rec.INFO.get(info_id(col))
                if row[col] == "":  # unscored (REF mismatch): no value in the VCF either
                    assert v is None and rc[j] != "ok"
                    continue
                v = v[j] if isinstance(v, tuple) else v
                assert v == pytest.approx(float(row[col]), rel=1e-5)
                seen += 1
    assert seen == 4 * 10  # 8 SNVs and the two alleles of the split record, four numbers each
    assert checks["multi"] == ["ok", "ok"] and checks["bad"] == ["mismatch"] and checks["sym"] == ["skipped"]
