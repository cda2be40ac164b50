"""Attributions (DeepLIFT/SHAP, integrated gradients) against dinucleotide-shuffled references: the proofs.

- on SYNTHETIC sequences with one planted CTCF site, attributions at the site's informative columns exceed the
  background (AUROC >= 0.9 over positions) for a small trained CNN (``planted_ctcf_run``);
- DeepLIFT/SHAP attributions sum to output - mean reference output (exact rules for the CNN and the MLP);
- the CNN-LSTM falls back to integrated gradients and says so.
"""
import numpy as np
import pytest
import torch

torch.use_deterministic_algorithms(True, warn_only=True)


def _informative_mask(s, rows, bits: float = 1.0):
    """(len(rows), L) True at the planted sites' columns carrying >= ``bits`` of information."""
    from biodeep_gui.core.sequences.motif_db import find_motif

    mask = np.zeros((len(rows), len(s.sequences[0])), bool)
    for k, i in enumerate(rows):
        for site in s.sites[i]:
            p = find_motif(site.motif_id).pfm
            ic = 2 + (p * np.log2(np.clip(p, 1e-12, None))).sum(axis=1)
            ic = ic if site.strand == "+" else ic[::-1]
            mask[k, site.start + np.flatnonzero(ic >= bits)] = True
    return mask


def test_attributions_at_planted_sites_exceed_background(planted_ctcf_run):
    """New sequences (not trained on) with exactly one CTCF site: the site's informative columns get the highest
    attributions. One site, because DeepBind's global max pooling credits the stronger of two sites (measured on
    150 positives with 1-2 sites: AUROC 0.89 over informative columns, 0.86 over all site columns)."""
    from sklearn.metrics import roc_auc_score

    from biodeep_gui.core.sequences.interpret.attributions import attributions
    from biodeep_gui.core.sequences.synthetic import planted_motif_set

    s = planted_motif_set(n=240, length=100, seed=11, motifs=("MA0139",))
    rows = [i for i in range(len(s)) if len(s.sites[i]) == 1][:60]
    mask = _informative_mask(s, rows)
    model = planted_ctcf_run.run.model()
    dl = attributions(model, s.codes()[rows], method="deeplift_shap", n_references=8, seed=0)
    auc = roc_auc_score(mask.ravel(), dl.contributions.ravel())
    assert auc >= 0.9, auc
    ig = attributions(model, s.codes()[rows[:20]], method="integrated_gradients", n_references=4, steps=16)
    auc_ig = roc_auc_score(mask[:20].ravel(), ig.contributions.ravel())
    assert auc_ig >= 0.85, auc_ig
    # what the track draws: one letter per position, the base present, signed
    m = dl.matrix(0)
    assert m.shape == (100, 4) and np.count_nonzero(m, axis=1).max() == 1
    np.testing.assert_allclose(m.sum(axis=1), dl.contributions[0])


def test_deeplift_shap_sums_to_output_minus_references(planted_ctcf_run):
    from biodeep_gui.core.sequences.interpret.attributions import _deeplift_model, _onehot, attributions

    model = planted_ctcf_run.run.model()
    codes = planted_ctcf_run.set.codes()[:12]
    # the DeepLIFT view of the DeepBind CNN computes the same outputs
    dl_model, exact = _deeplift_model(model, codes.shape[1])
    x = _onehot(codes)
    with torch.no_grad():
        torch.testing.assert_close(dl_model(x), model(x))
    a = attributions(model, codes, method="deeplift_shap", n_references=6, seed=3)
    assert exact and a.exact and a.method == "deeplift_shap" and a.note == ""
    diff = a.outputs - a.reference_outputs
    np.testing.assert_allclose(a.contributions.sum(axis=1), diff, atol=1e-4 + 1e-4 * np.abs(diff).max())
    assert a.convergence.max() < 1e-4
    # seeded references: the same numbers again
    b = attributions(model, codes, method="deeplift_shap", n_references=6, seed=3)
    np.testing.assert_array_equal(a.hypothetical, b.hypothetical)


def test_mlp_is_exact_and_integrated_gradients_converge():
    from biodeep_gui.core.sequences.interpret.attributions import attributions
    from biodeep_gui.core.sequences.models import build_model
    from biodeep_gui.core.sequences.synthetic import planted_motif_set

    torch.manual_seed(0)
    mlp = build_model("mlp", 60, 2, {"hidden": 16, "layers": 2}).eval()
    codes = planted_motif_set(n=6, length=60, seed=2).codes()
    a = attributions(mlp, codes, method="deeplift_shap", output=1, n_references=5)
    assert a.exact and a.convergence.max() < 1e-4
    ig = attributions(mlp, codes, method="integrated_gradients", output=1, n_references=5, steps=32)
    diff = np.abs(ig.outputs - ig.reference_outputs)
    assert ig.method == "integrated_gradients" and (ig.convergence <= 0.02 * diff.max() + 1e-4).all()


def test_cnn_lstm_falls_back_to_integrated_gradients_and_says_so():
    from biodeep_gui.core.sequences.interpret.attributions import LSTM_NOTE, attributions
    from biodeep_gui.core.sequences.models import build_model
    from biodeep_gui.core.sequences.synthetic import planted_motif_set

    torch.manual_seed(0)
    danq = build_model("cnn-lstm", 60, 1, {"filters": 8, "filter_width": 9, "pool": 6, "rnn_hidden": 8,
                                           "hidden": 8}).eval()
    codes = planted_motif_set(n=4, length=60, seed=3).codes()
    a = attributions(danq, codes, method="deeplift_shap", n_references=3, steps=8)
    assert a.requested == "deeplift_shap" and a.method == "integrated_gradients"
    assert not a.exact and a.note == LSTM_NOTE and "LSTM" in a.note
    assert np.isfinite(a.hypothetical).all() and a.hypothetical.shape == (4, 60, 4)


def test_bad_requests_are_refused_with_a_message(planted_ctcf_run):
    from biodeep_gui.core.sequences.interpret.attributions import attributions, iter_attributions
    from biodeep_gui.core.sequences.interpret.progress import Cancelled, InterpretError

    model = planted_ctcf_run.run.model()
    codes = planted_ctcf_run.set.codes()[:2]
    with pytest.raises(InterpretError, match="unknown attribution method"):
        attributions(model, codes, method="saliency")
    with pytest.raises(InterpretError, match="output 3 does not exist"):
        attributions(model, codes, output=2)
    gen = iter_attributions(model, codes, should_stop=lambda: True)
    next(gen)
    with pytest.raises(Cancelled):
        next(gen)


def test_attribute_sequence_pads_and_tsv(planted_ctcf_run):
    from biodeep_gui.core.sequences.interpret.attributions import (
        attribute_sequence,
        attributions_tsv,
        sequence_slice,
    )
    from biodeep_gui.core.sequences.interpret.mutagenesis import sequence_codes

    seq = planted_ctcf_run.set.sequences[0][20:80]
    a = attribute_sequence(planted_ctcf_run.run, sequence_codes(seq), n_references=4)
    sl = sequence_slice(a.codes[0])
    assert sl.stop - sl.start == 60 and a.codes.shape == (1, 100)
    assert np.all(a.contributions[0, :sl.start] == 0) and np.all(a.contributions[0, sl.stop:] == 0)
    text = attributions_tsv(a)
    rows = [r for r in text.splitlines() if r and not r.startswith("#")]
    assert rows[0].split("\t")[:4] == ["id", "position", "base", "attribution"] and len(rows) == 61
    assert "".join(r.split("\t")[2] for r in rows[1:]) == seq
