import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from biodeep_gui.core.sequences.baselines import (
    C_GRID,
    BaselineModel,
    canonical_kmers,
    fit_baseline,
    kmer_counts,
    onehot_features,
)
from biodeep_gui.core.sequences.encoding import encode

from .helpers import planted


def test_kmer_counts_canonical_normalised_and_skip_ambiguous():
    codes = encode("AACGN")[None]
    counts = kmer_counts(codes, 2).toarray()[0]
    # positions AA, AC, CG (GN skipped): 3 valid positions; AA/TT and AC/GT are one feature each, CG is its own
    # reverse complement
    column, kept = canonical_kmers(2)
    assert kept.size == (16 + 4) // 2 and counts.shape == (kept.size,)
    idx = lambda s: column[int("".join(str("ACGT".index(c)) for c in s), 4)]  # noqa: E731
    assert idx("AA") == idx("TT") and idx("AC") == idx("GT") and idx("AC") != idx("CA")
    assert counts.sum() == pytest.approx(1.0)
    assert counts[idx("CG")] == pytest.approx(1 / 3) and counts[idx("TT")] == pytest.approx(1 / 3)
    # BioDeep 0.1 features (raw counts over both strands) stay available for the runs saved then
    legacy = kmer_counts(codes, 2, canonical=False).toarray()[0]
    assert legacy.sum() == 6 and legacy[int("12", 4)] == 2


@pytest.mark.parametrize("k", [3, 4, 5])
def test_canonical_kmers_equal_for_reverse_complement(k):
    from biodeep_gui.core.sequences.encoding import reverse_complement

    rng = np.random.default_rng(k)
    codes = rng.integers(0, 4, (20, 57)).astype(np.uint8)
    codes[3, 10] = encode("N")[0]
    fwd = kmer_counts(codes, k).toarray()
    rev = kmer_counts(reverse_complement(codes), k).toarray()
    np.testing.assert_allclose(fwd, rev, rtol=1e-6)
    np.testing.assert_allclose(fwd.sum(axis=1), 1.0, rtol=1e-5)  # frequencies per k-mer position


def test_legacy_baseline_tensors_predict_with_the_old_features():
    ss = planted(n=200, length=30)
    m = fit_baseline("kmer", ss.codes, ss.labels, "binary", k=3)
    t = m.to_tensors()
    assert int(t["feature_version"][0]) == 2
    old = {k: v for k, v in t.items() if k != "feature_version"}
    old["coef"] = np.zeros((1, 64), np.float32)
    old["scale"] = np.ones(64, np.float32)
    old["coef"][0, int("000", 4)] = 1.0  # weight on AAA: raw two-strand count
    back = BaselineModel.from_tensors("kmer", 3, old)
    assert back.feature_version == 1
    raw = back.raw_output(encode("AAAAA")[None])
    assert raw[0, 0] == pytest.approx(3 + m.intercept[0])


def test_baseline_C_chosen_on_validation_beats_C_1():
    """Few noisy training sequences and 512 k-mer features: C = 1 overfits; the grid finds a stronger
    regularisation that scores clearly better on validation and on held-out test sequences."""
    ss = planted(n=1400, length=60, seed=3)
    y = ss.labels.copy()
    flip = np.random.default_rng(0).random(len(y)) < 0.25  # label noise
    y[flip] = 1 - y[flip]
    tr, va, te = slice(0, 150), slice(150, 550), slice(550, None)

    def auc(m, s):
        return roc_auc_score(y[s, 0], m.raw_output(ss.codes[s])[:, 0])

    tuned = fit_baseline("kmer", ss.codes[tr], y[tr], "binary", k=5, C=0, score=lambda m: auc(m, va))
    fixed = fit_baseline("kmer", ss.codes[tr], y[tr], "binary", k=5, C=1.0)
    assert [c for c, _ in tuned.tuning] == sorted(C_GRID) and tuned.C != 1.0
    assert dict(tuned.tuning)[tuned.C] == max(v for _, v in tuned.tuning)
    assert auc(tuned, va) > auc(fixed, va) + 0.03
    assert auc(tuned, te) > auc(fixed, te) + 0.03


def test_baseline_C_0_needs_a_validation_score():
    from biodeep_gui.core.common.errors import ConfigError

    ss = planted(n=100, length=30)
    with pytest.raises(ConfigError, match="validation"):
        fit_baseline("kmer", ss.codes, ss.labels, "binary", k=3, C=0)


def test_class_weighting_balances_a_rare_class():
    ss = planted(n=600, length=40, seed=2)
    keep = np.r_[np.flatnonzero(ss.labels[:, 0] == 0), np.flatnonzero(ss.labels[:, 0] == 1)[:30]]
    codes, y = ss.codes[keep], ss.labels[keep]
    plain = fit_baseline("kmer", codes, y, "binary", k=3, C=1.0)
    weighted = fit_baseline("kmer", codes, y, "binary", k=3, C=1.0, class_weighting=True)
    p_plain = (plain.raw_output(codes)[:, 0] > 0).mean()
    p_weighted = (weighted.raw_output(codes)[:, 0] > 0).mean()
    assert p_weighted > p_plain  # balanced weights call the rare class more often


def test_onehot_features_layout():
    f = onehot_features(encode("AC")[None])
    assert f.shape == (1, 8)
    assert f[0].tolist() == [1, 0, 0, 1, 0, 0, 0, 0]  # channel-major, like the MLP's flattened (4, L)


@pytest.mark.parametrize("kind", ["kmer", "linear"])
def test_baselines_learn_planted_motif(kind):
    ss = planted(n=600, length=40, seed=1)
    m = fit_baseline(kind, ss.codes[:400], ss.labels[:400], "binary", k=4)
    auc = roc_auc_score(ss.labels[400:, 0], m.raw_output(ss.codes[400:])[:, 0])
    assert auc > (0.8 if kind == "kmer" else 0.55)


def test_round_trip_through_tensors():
    ss = planted(n=200, length=30)
    m = fit_baseline("kmer", ss.codes, ss.labels, "binary", k=3)
    back = BaselineModel.from_tensors("kmer", 3, m.to_tensors())
    np.testing.assert_allclose(back.raw_output(ss.codes), m.raw_output(ss.codes), rtol=1e-6)


def test_multiclass_two_classes_softmax_equals_sigmoid():
    ss = planted(n=200, length=30)
    y = ss.labels[:, 0].astype(int)
    m = fit_baseline("kmer", ss.codes, y, "multiclass", k=3)
    assert m.coef.shape[0] == 2
    raw = m.raw_output(ss.codes)
    from sklearn.linear_model import LogisticRegression
    x = kmer_counts(ss.codes, 3).multiply(m.scale).tocsr()
    ref = LogisticRegression(max_iter=2000, random_state=0).fit(x, y).predict_proba(x)[:, 1]
    p1 = np.exp(raw[:, 1]) / np.exp(raw).sum(1)
    np.testing.assert_allclose(p1, ref, atol=1e-5)
