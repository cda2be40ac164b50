import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from biodeep_gui.core.sequences.baselines import BaselineModel, fit_baseline, kmer_counts, onehot_features
from biodeep_gui.core.sequences.encoding import encode

from .helpers import planted


def test_kmer_counts_both_strands_and_skip_ambiguous():
    codes = encode("AACGN")[None]
    counts = kmer_counts(codes, 2).toarray()[0]
    # forward AA, AC, CG (GN skipped); reverse complement NCGTT: CG, GT, TT
    idx = lambda s: int("".join(str("ACGT".index(c)) for c in s), 4)  # noqa: E731
    assert counts.sum() == 6
    assert counts[idx("CG")] == 2 and counts[idx("AA")] == 1 and counts[idx("TT")] == 1


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
