"""SYNTHETIC demo data: determinism, planted sites really there, balance, GC, the exclusive-or property, files."""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from biodeep_gui.core.sequences import synthetic as S
from biodeep_gui.core.sequences import synthetic_background as SB
from biodeep_gui.core.sequences import synthetic_genome as SG
from biodeep_gui.core.sequences import synthetic_motifs as SM
from biodeep_gui.core.sequences.motif_db import find_motif

MB = 1024 * 1024


def _site_codes(codes_row: np.ndarray, site: SM.Site) -> np.ndarray:
    """The site as the motif reads it (reverse complement for '-')."""
    part = codes_row[site.start:site.start + site.width]
    return part if site.strand == "+" else 3 - part[::-1]


def _kmer_counts(codes: np.ndarray, k: int = 5) -> np.ndarray:
    """(N, L) codes -> (N, 4**k) k-mer counts."""
    n, length = codes.shape
    idx = np.zeros((n, length - k + 1), dtype=np.int64)
    for j in range(k):
        idx = idx * 4 + codes[:, j:j + length - k + 1]
    flat = (idx + np.arange(n)[:, None] * 4 ** k).ravel()
    return np.bincount(flat, minlength=n * 4 ** k).reshape(n, 4 ** k).astype(np.float64)


def _kmer_auroc(data: S.SyntheticSet, n_train: int) -> float:
    x = _kmer_counts(data.codes())
    model = LogisticRegression(C=0.1, max_iter=2000).fit(x[:n_train], data.labels[:n_train])
    return roc_auc_score(data.labels[n_train:], model.predict_proba(x[n_train:])[:, 1])


def _read_fasta(path: Path) -> list[tuple[str, str]]:
    records, header, parts = [], None, []
    for line in path.read_text().splitlines():
        if line.startswith(">"):
            if header is not None:
                records.append((header, "".join(parts)))
            header, parts = line[1:], []
        else:
            parts.append(line.strip())
    records.append((header, "".join(parts)))
    return records


@pytest.fixture(scope="module")
def planted():
    return S.planted_motif_set(n=600, length=200, seed=3)


@pytest.fixture(scope="module")
def pair():
    return S.cooperative_pair_set(n=1200, length=200, seed=5, rule="xor")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    return out, S.write_demo(out, seed=0)


# ----------------------------------------------------------------------------------------- background


def test_background_model_gc_cpg_and_strand_symmetry():
    start, trans = SB.background_model(0.42, 0.25)
    np.testing.assert_allclose(start @ trans, start, atol=1e-12)  # stationary
    assert start[1] + start[2] == pytest.approx(0.42)
    joint = start[:, None] * trans  # dinucleotide frequencies
    np.testing.assert_allclose(joint, joint[::-1, ::-1].T, atol=1e-12)  # same on the reverse strand
    assert joint[1, 2] / (start[1] * start[2]) == pytest.approx(0.25)

    codes = SB.background_codes(np.random.default_rng(0), 400, 500, gc=0.42)
    assert abs(np.isin(codes, [1, 2]).mean() - 0.42) < 0.01
    cpg = ((codes[:, :-1] == 1) & (codes[:, 1:] == 2)).mean() / ((codes == 1).mean() * (codes == 2).mean())
    assert 0.2 < cpg < 0.3


@pytest.mark.parametrize("gc", [0.35, 0.55])
def test_gc_content_follows_the_setting(gc):
    data = S.planted_motif_set(n=200, length=200, gc=gc, seed=1)
    neg = data.codes()[data.labels == 0]
    assert abs(np.isin(neg, [1, 2]).mean() - gc) < 0.015


# ------------------------------------------------------------------------------------------ planted set


def test_same_seed_same_data_other_seed_other_data():
    a = S.planted_motif_set(n=100, seed=7)
    b = S.planted_motif_set(n=100, seed=7)
    c = S.planted_motif_set(n=100, seed=8)
    assert a.sequences == b.sequences and np.array_equal(a.labels, b.labels) and a.sites == b.sites
    assert a.sequences != c.sequences
    # Different generators with one seed draw unrelated backgrounds.
    assert S.cooperative_pair_set(n=100, seed=7).sequences[0][:50] != a.sequences[0][:50]


def test_planted_set_shape_balance_and_unpacking(planted):
    ids, seqs, labels = planted
    assert len(ids) == len(set(ids)) == len(seqs) == 600
    assert {len(s) for s in seqs} == {200} and set("".join(seqs)) <= set("ACGT")
    assert labels.dtype == np.int64 and labels.sum() == 300
    groups = np.array(planted.groups)
    ctcf, spi1 = (m.id for m in planted.motifs)
    assert planted.motifs[0].name == "CTCF" and planted.motifs[1].name.upper() == "SPI1"
    assert (groups == ctcf).sum() == (groups == spi1).sum() == 150
    assert np.all((groups == "none") == (labels == 0))
    assert "SYNTHETIC" in planted.description


def test_planted_sites_are_in_the_sequences(planted):
    codes = planted.codes()
    bg = SB.base_composition()
    for i, sites in enumerate(planted.sites):
        assert len(sites) == (planted.labels[i] > 0) * len(sites) and len(sites) <= 2
        for site in sites:
            motif = find_motif(site.motif_id, planted.motifs)
            lo = motif.log_odds(bg)
            got = _site_codes(codes[i], site)
            assert lo[np.arange(motif.width), got].sum() == pytest.approx(site.score)
            assert site.score >= 0.6 * SM.max_score(motif) - 1e-9
    for k in range(1, 1 + int(planted.labels.sum())):
        assert len(planted.sites[np.flatnonzero(planted.labels)[k - 1]]) in (1, 2)


def test_positives_stand_out_in_a_pwm_scan(planted):
    codes = planted.codes()
    groups = np.array(planted.groups)
    for motif in planted.motifs:
        best = SM.motif_scores(codes, motif).max(axis=(1, 2))
        threshold = np.quantile(best[planted.labels == 0], 0.99)
        assert (best[groups == motif.id] > threshold).mean() > 0.95


def test_motif_scores_match_a_direct_computation():
    motif = find_motif("MA0139")
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 4, size=(3, 40)).astype(np.uint8)
    scores = SM.motif_scores(codes, motif)
    lo = motif.log_odds(SB.base_composition())
    w = motif.width
    assert scores.shape == (3, 2, 40 - w + 1)
    for i in range(3):
        for p in (0, 7, 40 - w):
            fwd = codes[i, p:p + w]
            assert scores[i, 0, p] == pytest.approx(lo[np.arange(w), fwd].sum())
            assert scores[i, 1, p] == pytest.approx(lo[np.arange(w), 3 - fwd[::-1]].sum())


# ------------------------------------------------------------------------------------- exclusive-or pair


def test_pair_set_is_exclusive_or_with_balanced_cases(pair):
    groups = np.array(pair.groups)
    for g in ("neither", "A", "B", "both"):
        assert (groups == g).sum() == 300
    assert np.array_equal(pair.labels, np.isin(groups, ["A", "B"]).astype(np.int64))
    # Each motif alone carries no information about the label.
    has_a = np.isin(groups, ["A", "both"])
    has_b = np.isin(groups, ["B", "both"])
    assert pair.labels[has_a].mean() == pair.labels[~has_a].mean() == 0.5
    assert pair.labels[has_b].mean() == pair.labels[~has_b].mean() == 0.5


def test_and_pair_set_is_balanced_and_needs_both_motifs():
    data = S.cooperative_pair_set(n=600, length=200, seed=5, rule="and")
    groups = np.array(data.groups)
    assert (groups == "both").sum() == 300 and all((groups == g).sum() == 100 for g in ("neither", "A", "B"))
    assert np.array_equal(data.labels, (groups == "both").astype(np.int64))


def test_pair_labels_follow_from_a_pwm_scan(pair):
    """Presence by scanning (threshold between 'absent' 0.5 and 'present' 0.7 of the best score) gives the label."""
    codes = pair.codes()
    present = [SM.motif_scores(codes, m).max(axis=(1, 2)) > 0.6 * SM.max_score(m) for m in pair.motifs]
    assert np.array_equal(present[0] ^ present[1], pair.labels.astype(bool))
    features = np.stack([present[0], present[1], present[0] & present[1]], axis=1).astype(float)
    model = LogisticRegression().fit(features[:800], pair.labels[:800])
    assert roc_auc_score(pair.labels[800:], model.predict_proba(features[800:])[:, 1]) > 0.99


def test_kmer_logistic_regression_is_at_chance_on_the_pair_task(pair, planted):
    assert _kmer_auroc(pair, n_train=800) < 0.65
    # The same baseline does see a plain planted motif, so the near-chance result is the task, not the test.
    assert _kmer_auroc(planted, n_train=400) > 0.75


# ------------------------------------------------------------------------------------------- affinity


def test_affinity_set_groups_and_target():
    data = S.affinity_set(n=600, seed=2)
    groups = np.array(data.groups)
    for g in ("none", "weak", "strong"):
        assert (groups == g).sum() == 200
    means = {g: data.labels[groups == g].mean() for g in ("none", "weak", "strong")}
    assert abs(means["none"]) < 0.5 < means["weak"] < means["strong"] - 3
    assert all(len(s) in (2, 3) for s, g in zip(data.sites, groups) if g == "strong")
    assert all(len(s) == 1 for s, g in zip(data.sites, groups) if g == "weak")
    noise_free = S.affinity_target(data.codes(), data.motifs[0])
    residual = data.labels - noise_free
    assert abs(residual.mean()) < 0.05 and 0.15 < residual.std() < 0.25
    # Reachable: even the group means alone correlate well above 0.8 with the target.
    group_mean = np.array([means[g] for g in groups])
    assert np.corrcoef(group_mean, data.labels)[0, 1] > 0.9


# ---------------------------------------------------------------------------------------------- files


def test_write_demo_files(demo):
    out, files = demo
    assert set(files) == {"bound", "background", "labelled", "predict_me", "cooperative", "affinity", "genome",
                          "peaks", "heldout", "variants", "readme"}
    assert all(p.parent == out and p.exists() for p in files.values())
    assert sum(p.stat().st_size for p in files.values()) < 5 * MB
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temp files left
    readme = files["readme"].read_text()
    assert "SYNTHETIC" in readme and "CC BY 4.0" in readme
    assert "exclusive motif pair (either motif, not" in readme  # the demo pair is exclusive, not cooperative

    bound, background = _read_fasta(files["bound"]), _read_fasta(files["background"])
    labelled = _read_fasta(files["labelled"])
    assert len(bound) == len(background) == 1000 and len(labelled) == 2000
    by_label = {h.split()[0]: h.split()[1] for h, _ in labelled}
    assert set(by_label.values()) == {"label=0", "label=1"}
    assert all(by_label[h] == "label=1" for h, _ in bound) and all(by_label[h] == "label=0" for h, _ in background)
    predict = _read_fasta(files["predict_me"])
    assert len(predict) == 300 and all(" " not in h for h, _ in predict)
    assert not {s for _, s in predict} & {s for _, s in labelled}

    with open(files["cooperative"], newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["id", "sequence", "label"] and len(rows) == 6000
    assert sum(r["label"] == "1" for r in rows) == 3000 and {len(r["sequence"]) for r in rows} == {100}
    with open(files["affinity"], newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["id", "sequence", "affinity", "strength"] and len(rows) == 2000
    assert {r["strength"] for r in rows} == {"strong", "weak", "none"}
    assert all(np.isfinite(float(r["affinity"])) for r in rows)


def test_peaks_lie_inside_the_genome_with_a_site_at_the_centre(demo):
    _, files = demo
    genome = dict(_read_fasta(files["genome"]))
    assert list(genome) == ["chr1", "chr2", "chr3"]
    assert all(150_000 <= len(s) <= 250_000 for s in genome.values())
    peaks = [line.split("\t") for line in files["peaks"].read_text().splitlines()]
    assert len(peaks) == 450 and all(len(p) == 6 for p in peaks)
    motifs = [find_motif(k) for k in SM.PLANTED_MOTIFS]
    codes = {k: SB.sequences_to_codes([v])[0] for k, v in genome.items()}
    last_end = {}
    for chrom, start, end, name, score, strand in peaks:
        start, end = int(start), int(end)
        assert 0 <= start < end <= len(genome[chrom]) and end - start == 200
        assert start >= last_end.get(chrom, 0)  # sorted, non-overlapping
        last_end[chrom] = end
        assert 0 <= int(score) <= 1000 and strand == "."
        centre = codes[chrom][start + 100 - 12:start + 100 + 12]  # 24 bp around the centre
        best = max(SM.motif_scores(centre, m).max() / SM.max_score(m) for m in motifs)
        assert best >= 0.6 - 1e-9


def test_genome_sites_match_their_records():
    genome = SG.genome_with_peaks(chrom_lengths=(30_000, 25_000), peaks_per_chrom=10, seed=4)
    bg = SB.base_composition()
    for peak in genome.peaks:
        motif = find_motif(peak.site.motif_id)
        row = SB.sequences_to_codes([genome.chromosomes[peak.chrom]])[0]
        got = _site_codes(row, peak.site)
        assert motif.log_odds(bg)[np.arange(motif.width), got].sum() == pytest.approx(peak.site.score)
        assert peak.start <= peak.site.start and peak.site.start + peak.site.width <= peak.end


def test_write_demo_is_deterministic(demo, tmp_path):
    out, files = demo
    again = S.write_demo(tmp_path / "again", seed=0)
    for key, path in files.items():
        assert again[key].read_bytes() == path.read_bytes(), key
    other = S.write_demo(tmp_path / "other", seed=1)
    assert other["bound"].read_bytes() != files["bound"].read_bytes()
