"""core.interpret: filter PFMs, influence, Tomtom matching, mutagenesis, exports and the two CLI commands.

Small seeded models and data; every expected value comes from an independent computation (numpy loops, the
naive "run every variant through the whole network" mutagenesis, real weight zeroing, scipy's BH, Biopython's
MEME reader, the bundled JASPAR matrices), never from the code under test.
"""
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from biodeep_gui.core.sequences.encoding import BASES, ONE_HOT_TABLE, PAD_CODE, encode
from biodeep_gui.core.sequences.interpret import export
from biodeep_gui.core.sequences.interpret import filters as F
from biodeep_gui.core.sequences.interpret import influence as I
from biodeep_gui.core.sequences.interpret import matching as MT
from biodeep_gui.core.sequences.interpret import mutagenesis as MG
from biodeep_gui.core.sequences.interpret.analysis import fit_codes
from biodeep_gui.core.sequences.interpret.progress import Cancelled, InterpretError, Progress, drain
from biodeep_gui.core.sequences.models import build_model
from biodeep_gui.core.sequences.motif_db import bundled_jaspar, find_motif

torch.use_deterministic_algorithms(True, warn_only=True)
ROOT = Path(__file__).resolve().parents[2]


def _cnn(length=40, filters=4, width=5, seed=0, arch="cnn", **params):
    torch.manual_seed(seed)
    return build_model(arch, length, 1, {"filters": filters, "filter_width": width, **params}).eval()


def _codes(n, length, seed=0):
    return np.random.default_rng(seed).integers(0, 4, (n, length)).astype(np.uint8)


# ---------------------------------------------------------------------------------------------- filters


def _brute_force_counts(model, codes, threshold):
    """The documented algorithm with explicit loops: windows above threshold x max, bases counted."""
    conv = model.first_conv
    w = conv.weight.detach().numpy().astype(np.float64)  # (F, 4, W)
    b = conv.bias.detach().numpy().astype(np.float64)
    n_f, _, width = w.shape
    pad = conv.padding[0]
    x = np.stack([np.pad(ONE_HOT_TABLE[c].T, ((0, 0), (pad, pad))) for c in codes])  # (N, 4, L + 2p)
    n_out = x.shape[2] - width + 1
    act = np.zeros((len(codes), n_f, n_out))
    for n in range(len(codes)):
        for f in range(n_f):
            for pos in range(n_out):
                act[n, f, pos] = (w[f] * x[n, :, pos:pos + width]).sum() + b[f]
    mx = act.max(axis=(0, 2))
    counts = np.zeros((n_f, width, 4))
    sites = np.zeros(n_f, int)
    for f in range(n_f):
        if mx[f] <= 0:
            continue
        for n, pos in zip(*np.nonzero(act[:, f, :] > threshold * mx[f])):
            counts[f] += x[n, :, pos:pos + width].T
            sites[f] += 1
    return counts, sites, mx


def test_filter_pfms_follow_the_documented_algorithm():
    model = _cnn(length=30, filters=3, width=5, seed=1)
    codes = _codes(12, 30, seed=2)
    codes[0, 3] = encode("N")[0]  # an ambiguous base spreads its count
    fm = F.filter_motifs(model, codes, threshold=0.5, batch_size=5)
    counts, sites, mx = _brute_force_counts(model, codes, 0.5)
    np.testing.assert_allclose(fm.max_activation, mx, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(fm.n_sites, sites)
    np.testing.assert_allclose(fm.counts, counts, atol=1e-5)
    assert fm.pfms.shape == (3, 5, 4)
    np.testing.assert_allclose(fm.pfms.sum(axis=2), 1.0)
    assert fm.n_sequences == 12 and fm.padding == 2 and fm.threshold == 0.5


def test_a_filter_built_to_read_a_kmer_gives_that_kmer():
    """A filter whose weights are the one-hot of GATTA (bias -4) fires only on GATTA: its PFM is GATTA."""
    model = _cnn(length=50, filters=2, width=5)
    with torch.no_grad():
        model.first_conv.weight.zero_()
        model.first_conv.weight[0] = torch.from_numpy(ONE_HOT_TABLE[encode("GATTA")].T.copy())
        model.first_conv.bias[:] = torch.tensor([-4.0, -1.0])  # filter 2 (all zero weights) never fires
    codes = _codes(30, 50, seed=3)
    codes[codes == 0] = 3  # no A in the background, so GATTA only occurs where it is planted
    for i in range(0, 30, 3):
        codes[i, 10:15] = encode("GATTA")
    fm = F.filter_motifs(model, codes, threshold=0.9)
    assert fm.n_sites[0] == 10 and fm.n_sites[1] == 0
    assert "".join(BASES[k] for k in fm.pfms[0].argmax(axis=1)) == "GATTA"
    np.testing.assert_allclose(F.information_content(fm.raw_pfms[0]), 2.0)  # uniform background, no correction
    # against the data's own composition (hardly any A) and corrected for 10 sites: log2(1 / bg) - e(10)
    bg = fm.background
    want = np.log2(1.0 / bg[[BASES.index(b) for b in "GATTA"]]) - F.small_sample_correction(10, bg)
    np.testing.assert_allclose(fm.information_content()[0], want)
    # pseudocounts: 0.5 per base scaled to the background (2 pseudo-sites per position)
    np.testing.assert_allclose(fm.pfms[0][0], (np.eye(4)[2] * 10 + 2 * bg) / 12)
    np.testing.assert_allclose(fm.pfms[1], np.broadcast_to(bg, (5, 4)))  # never fired: the background
    motifs = fm.to_motifs()
    assert [m.id for m in motifs] == ["filter_1", "filter_2"] and motifs[0].nsites == 10


def test_sites_at_the_edges_count_only_real_bases():
    model = _cnn(length=20, filters=1, width=5)
    with torch.no_grad():
        model.first_conv.weight[0] = torch.from_numpy(ONE_HOT_TABLE[encode("CCGGA")].T.copy())
        model.first_conv.bias[:] = -2.5  # three of five matching bases are enough
    codes = np.full((1, 20), 3, np.uint8)
    codes[0, :3] = encode("GGA")  # the window hanging off the left end sees pad, pad, G, G, A
    fm = F.filter_motifs(model, codes, threshold=0.99)
    assert fm.n_sites[0] == 1
    np.testing.assert_allclose(fm.counts[0, :2].sum(), 0.0)  # padding counts nothing
    np.testing.assert_allclose(fm.counts[0, 2:], ONE_HOT_TABLE[encode("GGA")])


def test_pwm_weights_and_trimming():
    counts = np.array([[8, 0, 0, 0], [2, 2, 2, 2], [0, 0, 0, 8.0]])
    p = F.pwm(counts, pseudocount=1.0)
    np.testing.assert_allclose(p[1], 0.0)
    np.testing.assert_allclose(p[0, 0], np.log2((8 + 0.25) / 9 / 0.25))
    w = np.arange(2 * 4 * 3, dtype=np.float32).reshape(2, 4, 3)
    cw = F.centred_weights(w)
    assert cw.shape == (2, 3, 4)
    np.testing.assert_allclose(cw.sum(axis=2), 0.0, atol=1e-9)
    pfm = np.full((9, 4), 0.25)
    pfm[3:6] = np.eye(4)[[0, 1, 2]]
    assert F.trim_bounds(pfm, min_ic=0.3, min_width=4) in ((2, 6), (3, 7))
    assert F.trim_bounds(np.full((6, 4), 0.25)) == (0, 6)


def test_models_without_a_first_convolution_are_refused():
    mlp = build_model("mlp", 20, 1, {})
    with pytest.raises(InterpretError, match="convolution"):
        F.filter_motifs(mlp, _codes(3, 20))
    with pytest.raises(InterpretError, match="threshold"):
        F.filter_motifs(_cnn(length=20), _codes(3, 20), threshold=0.0)


def test_filter_sites_and_filters_at_a_position():
    model = _cnn(length=30, filters=1, width=5)
    with torch.no_grad():
        model.first_conv.weight[0] = torch.from_numpy(ONE_HOT_TABLE[encode("GATTA")].T.copy())
        model.first_conv.bias[:] = -4.0
    codes = np.full(30, 1, np.uint8)
    codes[12:17] = encode("GATTA")
    act = F.activation_map(model, codes)
    sites = F.filter_sites(act, np.array([1.0]), 0.5, 5, 2, 30)
    assert sites[0] == [(12, 17, pytest.approx(1.0))]
    assert F.filters_at(14, sites) == [(0, pytest.approx(1.0))]
    assert F.filters_at(20, sites) == []


def test_cancel_stops_the_scan():
    with pytest.raises(Cancelled):
        F.filter_motifs(_cnn(length=20), _codes(50, 20), batch_size=10, should_stop=lambda: True)


# -------------------------------------------------------------------------------------------- influence


def test_influence_equals_replacing_each_filter_by_its_mean_by_hand():
    from biodeep_gui.core.training.loop import Objective

    model = _cnn(length=30, filters=5, width=5, seed=4)
    codes = _codes(60, 30, seed=5)
    labels = np.random.default_rng(6).integers(0, 2, (60, 1)).astype(np.float32)
    obj = Objective("binary")
    res = I.filter_influence(model, codes, labels, obj, batch_size=16, memory_mb=0.02)  # forces filter groups
    x = torch.from_numpy(ONE_HOT_TABLE[codes].transpose(0, 2, 1).copy())
    with torch.no_grad():
        base = model(x).numpy()
        means = torch.relu(model.first_conv(x)).mean(dim=(0, 2)).numpy()

    def bce(out):  # written out independently of the code under test
        p = 1 / (1 + np.exp(-out.astype(np.float64)))
        return float(-(labels * np.log(p) + (1 - labels) * np.log(1 - p)).mean())

    assert res.metric == "auroc"
    assert res.baseline == pytest.approx(obj.metrics(labels, obj.transform(base))["auroc"])
    assert res.loss == pytest.approx(bce(base), rel=1e-5)
    np.testing.assert_allclose(res.mean_activation, means, rtol=1e-5, atol=1e-7)
    for f in range(5):
        m = _cnn(length=30, filters=5, width=5, seed=4)
        with torch.no_grad():  # a constant filter output: zero weights, the mean as bias (>= 0, ReLU keeps it)
            m.first_conv.weight[f] = 0.0
            m.first_conv.bias[f] = float(means[f])
            out = m(x).numpy()
        assert res.without[f] == pytest.approx(obj.metrics(labels, obj.transform(out))["auroc"], abs=1e-9)
        assert res.loss_change[f] == pytest.approx(bce(out) - bce(base), rel=1e-4, abs=1e-6)
        assert res.output_change[f] == pytest.approx(np.abs(out - base).mean(), rel=1e-4, abs=1e-7)
    np.testing.assert_allclose(res.metric_change, res.without - res.baseline)
    assert res.order()[0] == int(np.argmax(res.loss_change))  # ordered by the loss change
    assert sorted(res.order().tolist()) == list(range(5))
    assert sorted(res.rank().tolist()) == [1, 2, 3, 4, 5]


def test_influence_finds_the_filter_that_carries_the_signal():
    """Filter 1 reads GATTA, the label is 'GATTA present'; the other filters are near zero: filter 1 ranks first."""
    from biodeep_gui.core.training.loop import Objective

    model = _cnn(length=40, filters=3, width=5, seed=0)
    with torch.no_grad():
        model.first_conv.weight.mul_(0.01)
        model.first_conv.weight[0] = torch.from_numpy(ONE_HOT_TABLE[encode("GATTA")].T.copy())
        model.first_conv.bias[:] = torch.tensor([-4.0, 0.0, 0.0])
        head = model.head
        head[0].weight.zero_()
        head[0].bias.zero_()
        head[0].weight[0, 0] = 1.0  # hidden unit 0 = global max of filter 1
        head[3].weight.zero_()
        head[3].weight[0, 0] = 5.0
        head[3].bias[:] = -2.5
    codes = _codes(80, 40, seed=7)
    codes[codes == 0] = 1
    y = np.zeros((80, 1), np.float32)
    y[::2] = 1
    for i in range(0, 80, 2):
        codes[i, 20:25] = encode("GATTA")
    res = I.filter_influence(model, codes, y, Objective("binary"))
    assert res.baseline == pytest.approx(1.0)
    assert res.order()[0] == 0
    assert res.metric_change[0] == pytest.approx(-0.5)  # without it the model is at chance
    assert res.loss_change[0] > 0.1 and res.loss_change[0] == res.loss_change.max()
    assert I.format_change(res.metric_change[0]) == "-0.5"
    unlabelled = I.filter_influence(model, codes, None)
    assert unlabelled.metric == "" and math.isnan(unlabelled.baseline)
    assert unlabelled.order()[0] == 0


# --------------------------------------------------------------------------------------------- matching


def test_benjamini_hochberg_matches_scipy():
    from scipy.stats import false_discovery_control

    p = np.random.default_rng(0).uniform(0, 1, (7, 11)) ** 3
    np.testing.assert_allclose(MT.benjamini_hochberg(p), false_discovery_control(p.ravel()).reshape(7, 11))
    with_nan = p.copy()
    with_nan[2] = np.nan
    q = MT.benjamini_hochberg(with_nan)
    assert np.isnan(q[2]).all()
    keep = np.delete(p, 2, axis=0)
    np.testing.assert_allclose(np.delete(q, 2, axis=0), false_discovery_control(keep.ravel()).reshape(keep.shape))


def _embedded(motif, left, width, reverse=False):
    """A (width, 4) 'filter' PFM: the motif (or its reverse complement) at column ``left`` in uniform flanks."""
    pfm = np.full((width, 4), 0.25)
    m = motif.pfm[::-1, ::-1] if reverse else motif.pfm
    pfm[left:left + len(m)] = m
    return pfm


def test_tomtom_finds_jaspar_motifs_with_their_offset_and_strand(tmp_path):
    ctcf, spi1 = find_motif("MA0139"), find_motif("MA0080")
    queries = [_embedded(ctcf, 3, 19), _embedded(spi1, 4, 19, reverse=True), np.full((19, 4), 0.25)]
    seen = []
    res = MT.match_filters(queries, cache_dir=tmp_path, top=3, skip=[False, False, True], progress=seen.append)
    assert res.release == "JASPAR2026" and res.n_targets == len(bundled_jaspar()) > 1000
    best = res.best(0)
    assert (best.motif_id, best.name, best.offset, best.strand) == (ctcf.id, "CTCF", 3, "+")
    assert best.p_value < 1e-10 and best.q_value < 1e-6 and best.e_value == pytest.approx(best.p_value * res.n_targets)
    best = res.best(1)
    assert (best.motif_id, best.offset, best.strand) == (spi1.id, 4, "-")
    assert res.per_filter[2] == [] and res.n_comparisons == 2 * res.n_targets
    assert [m.rank for m in res.per_filter[0]] == [1, 2, 3]
    assert all(a.p_value <= b.p_value for a, b in zip(res.per_filter[0], res.per_filter[0][1:]))
    assert isinstance(seen[0], Progress) and seen[-1].done == seen[-1].total
    # the same PFM bytes come back from the cache, with the same numbers
    again = MT.match_filters(queries, cache_dir=tmp_path, top=3, skip=[False, False, True])
    assert again.from_cache == 2 and again.elapsed_s == 0.0
    assert again.best(0).p_value == res.best(0).p_value and again.best(1).q_value == res.best(1).q_value
    assert len(list((tmp_path / "tomtom").rglob("*.npy"))) == 2
    assert MT.is_warm() and MT.warm_up(tmp_path) >= 0.0  # already compiled in this process: nothing to do


def test_matching_against_a_user_jaspar_file_normalises_rows(tmp_path, write):
    # two JASPAR count matrices whose rows do not sum to one; 30 decoys so Tomtom's background is usable
    rng = np.random.default_rng(0)
    lines = []
    gata = np.array([[0, 0, 9, 1], [10, 0, 0, 0], [0, 1, 0, 9], [9, 0, 1, 0]], float) * 3
    lines.append(">USER1 GATA_like")
    lines += [f"{b} [ {' '.join(str(v) for v in gata[:, k])} ]" for k, b in enumerate(BASES)]
    for d in range(30):
        m = rng.integers(1, 20, (6, 4))
        lines.append(f">DECOY{d} decoy{d}")
        lines += [f"{b} [ {' '.join(str(v) for v in m[:, k])} ]" for k, b in enumerate(BASES)]
    path = write("mine.jaspar", "\n".join(lines) + "\n")
    targets, release = MT.load_targets(path)
    assert release == "mine.jaspar" and len(targets) == 31
    np.testing.assert_allclose(targets[0].pfm.sum(axis=1), 1.0)
    query = np.full((10, 4), 0.25)
    query[2:6] = gata / gata.sum(axis=1, keepdims=True)
    res = MT.match_filters([query], targets, release=release)
    assert res.best(0).name == "GATA_like" and res.best(0).offset == 2 and res.release == "mine.jaspar"
    few = MT.match_filters([query], targets[:5], release="five")
    assert few.notes and "unreliable" in few.notes[0]


def test_flat_filters_do_not_match_flat_stretches_of_long_motifs():
    """Tomtom's Euclidean score gives a flat PFM p ~ 1e-15 against CTCF's 15-bp spacer; such alignments are
    dropped, and PFMs of random DNA (100 sites each) end up with no match at q < 0.1."""
    from memelite import tomtom

    rng = np.random.default_rng(0)
    flat = np.full((15, 4), 0.25)
    raw = tomtom([np.ascontiguousarray(flat.T)], [np.ascontiguousarray(m.pfm.T) for m in bundled_jaspar()])[0]
    assert raw.min() < 1e-10 and bundled_jaspar()[int(raw.argmin())].name == "CTCF"
    randoms = []
    for _ in range(16):
        sites = rng.integers(0, 4, (100, 15))
        randoms.append(np.stack([(sites == b).sum(axis=0) for b in range(4)], axis=1) / 100.0)
    res = MT.match_filters([flat] + randoms)
    assert res.per_filter[0] == [] and res.fraction_matched(0.1) == 0.0
    assert any("not reported" in n for n in res.notes)
    # the overlap rule itself: a GATA core against GATA, either strand, in and out of register
    q_ic = np.array([0, 0, 2, 2, 2, 2, 0.0])
    t_ic = np.array([2, 2, 2, 2, 0.1])
    assert MT.informative_overlap(q_ic, t_ic, 2, "+") == 4
    assert MT.informative_overlap(q_ic, t_ic, 1, "-") == 4  # reversed target: its flat column comes first
    assert MT.informative_overlap(q_ic, t_ic, 5, "+") == 1 and MT.informative_overlap(q_ic, t_ic, 9, "+") == 0


def test_bad_queries_are_refused():
    with pytest.raises(InterpretError, match="query motif 1"):
        MT.match_filters([np.ones((3, 5))])
    with pytest.raises(InterpretError, match="no target"):
        MT.match_filters([np.full((4, 4), 0.25)], [])


# ------------------------------------------------------------------------------------------ mutagenesis


@pytest.mark.parametrize("arch", ["cnn", "cnn-lstm", "mlp"])
def test_mutagenesis_equals_running_every_variant(arch):
    """The fast paths give the same numbers as putting every mutated sequence through the whole network."""
    torch.manual_seed(3)
    params = {"filters": 6, "filter_width": 7} if arch != "mlp" else {}
    if arch == "cnn-lstm":
        params.update(pool=4, rnn_hidden=5, hidden=8)
    model = build_model(arch, 45, 2, params).eval()
    codes = _codes(1, 45, seed=8)[0]
    codes[7] = encode("N")[0]
    mm = MG.saturation_mutagenesis(model, codes, output=1, batch_size=50)
    variants, where = [], []
    for i in range(45):
        for b in range(4):
            if codes[i] == b:
                continue
            c = codes.copy()
            c[i] = b
            variants.append(c)
            where.append((i, b))
    x = torch.from_numpy(ONE_HOT_TABLE[np.array(variants)].transpose(0, 2, 1).copy())
    x_ref = torch.from_numpy(ONE_HOT_TABLE[codes].T.copy())[None]
    with torch.no_grad():
        ref = model(x_ref)[0, 1].item()
        out = model(x)[:, 1].numpy()
    expected = np.zeros((45, 4), np.float32)
    for (i, b), v in zip(where, out):
        expected[i, b] = v - ref
    assert mm.reference == pytest.approx(ref, abs=1e-6)
    np.testing.assert_allclose(mm.delta, expected, atol=2e-5)
    assert mm.delta[7].all()  # N: all four bases are real changes
    # gradient x input = gradient at the reference base
    xg = x_ref.clone().requires_grad_(True)
    model(xg)[0, 1].backward()
    g = xg.grad[0].T.numpy()
    np.testing.assert_allclose(mm.gradient, g, atol=1e-6)
    np.testing.assert_allclose(mm.saliency, (g * ONE_HOT_TABLE[codes]).sum(axis=1), atol=1e-6)


@pytest.mark.parametrize("arch", ["cnn", "mlp"])
def test_multiclass_mutation_map_follows_log_softmax(arch):
    """Multiclass maps: delta = log_softmax(variant)[c] - log_softmax(reference)[c], computed here by hand."""
    torch.manual_seed(5)
    model = build_model(arch, 30, 3, {"filters": 5, "filter_width": 7} if arch == "cnn" else {}).eval()
    codes = _codes(1, 30, seed=2)[0]
    mm = MG.saturation_mutagenesis(model, codes, output=2, batch_size=16, score="log_softmax")
    assert mm.score == "log_softmax"

    def log_p(c):
        x = torch.from_numpy(ONE_HOT_TABLE[c].T.copy())[None]
        with torch.no_grad():
            z = model(x)[0].double().numpy()
        return z[2] - math.log(np.exp(z).sum())

    ref = log_p(codes)
    assert mm.reference == pytest.approx(ref, abs=1e-5)
    expected = np.zeros((30, 4))
    for i in range(30):
        for b in range(4):
            if b != codes[i]:
                c = codes.copy()
                c[i] = b
                expected[i, b] = log_p(c) - ref
    np.testing.assert_allclose(mm.delta, expected, atol=3e-5)
    raw = MG.saturation_mutagenesis(model, codes, output=2, batch_size=16)  # one raw logit: a different map
    assert np.abs(raw.delta - expected).max() > 1e-3
    # the gradient is that of the log-probability too
    xg = torch.from_numpy(ONE_HOT_TABLE[codes].T.copy())[None].requires_grad_(True)
    torch.log_softmax(model(xg), dim=1)[0, 2].backward()
    np.testing.assert_allclose(mm.gradient, xg.grad[0].T.numpy(), atol=1e-6)


def test_mutation_score_and_label_follow_the_task():
    from types import SimpleNamespace

    multi = SimpleNamespace(task="multiclass", class_names=["a", "b"], label_names=[])
    binary = SimpleNamespace(task="binary", class_names=["background", "bound"], label_names=["bound"])
    assert MG.mutation_score(multi) == "log_softmax" and MG.output_label(multi, 1) == "log-probability of b"
    assert MG.mutation_score(binary) == "raw" and MG.output_label(binary, 0) == "binding score (log-odds)"


def test_mutating_a_planted_site_lowers_the_prediction():
    model = _cnn(length=40, filters=1, width=5)
    with torch.no_grad():
        model.first_conv.weight[0] = torch.from_numpy(ONE_HOT_TABLE[encode("GATTA")].T.copy())
        model.first_conv.bias[:] = -4.0
        model.head[0].weight.zero_()
        model.head[0].bias.zero_()
        model.head[0].weight[0, 0] = 1.0
        model.head[3].weight.zero_()
        model.head[3].weight[0, 0] = 3.0
    codes = np.full(40, 1, np.uint8)
    codes[20:25] = encode("GATTA")
    mm = MG.saturation_mutagenesis(model, codes)
    assert mm.delta[20:25].min() < -2.5  # breaking the site removes its score
    assert np.abs(mm.delta[:15]).max() < 1e-6 and np.abs(mm.delta[30:]).max() < 1e-6
    assert mm.ism_importance[20:25].min() > 2.5 and mm.saliency[20:25].min() > 0
    top = MG.top_positions(mm, 5)
    assert all(20 <= p < 25 for p, *_ in top) and top[0][1] in "GATTA"


def test_short_sequences_are_padded_and_only_their_bases_mutated():
    model = _cnn(length=40)
    codes = MG.model_input(MG.sequence_codes("acgt acgt\nACGTAC"), 40)
    assert (codes == PAD_CODE).sum() == 26
    mm = MG.saturation_mutagenesis(model, codes, sequence="ACGTACGTACGTAC")
    assert mm.length == 14 and mm.input_start == 13 and mm.delta.shape == (14, 4) and mm.sequence == "ACGTACGTACGTAC"
    assert not mm.delta[np.arange(14), mm.codes].any()  # the reference bases themselves: no change
    with pytest.raises(InterpretError, match="position 3"):
        MG.sequence_codes("AC!GT")
    with pytest.raises(InterpretError, match="empty"):
        MG.sequence_codes("  \n")
    with pytest.raises(InterpretError, match="header"):
        MG.sequence_codes(">seq1 ACGT")
    with pytest.raises(InterpretError, match="at most 40"):
        MG.model_input(_codes(1, 41)[0], 40)
    with pytest.raises(InterpretError, match="output 3"):
        MG.saturation_mutagenesis(model, _codes(1, 40)[0], output=2)


# ------------------------------------------------------------------------------------------------ exports


def test_meme_export_round_trips_through_biopython(tmp_path):
    from Bio import motifs as bio_motifs

    model = _cnn(length=40, filters=4, width=6, seed=2)
    fm = F.filter_motifs(model, _codes(50, 40, seed=1))
    path = export.write_filters_meme(fm, tmp_path / "filters.meme", min_sites=1)
    with open(path) as fh:
        record = bio_motifs.parse(fh, "minimal")
    np.testing.assert_allclose([record.background[b] for b in BASES], fm.background, atol=1e-6)
    kept = [f for f in range(4) if fm.n_sites[f] > 0]
    assert [m.name for m in record] == [f"filter_{f + 1}" for f in kept]
    for m, f in zip(record, kept):
        counts = np.array([m.counts[b] for b in BASES]).T  # Biopython stores round(prob x nsites)
        assert counts.shape == (6, 4)
        nsites = int(fm.n_sites[f])
        assert np.abs(counts.sum(axis=1) - nsites).max() <= 2  # rounding of each of the four cells
        np.testing.assert_allclose(counts / nsites, fm.pfms[f], atol=0.5 / nsites + 1e-6)
    # and through BioDeep's own reader, which keeps the full precision
    from biodeep_gui.core.sequences.motif_db import load_motifs

    again = load_motifs(path)
    np.testing.assert_allclose(np.stack([m.pfm for m in again]), fm.pfms[kept], atol=1e-6)


def test_matches_tsv_has_the_documented_columns(tmp_path):
    ctcf = find_motif("MA0139")
    fm_like = type("FM", (), {"n_sites": np.array([40, 0])})()
    res = MT.match_filters([_embedded(ctcf, 2, 19), np.full((19, 4), 0.25)], top=2, skip=[False, True])
    path = export.write_matches_tsv(res, tmp_path / "matches.tsv", fm_like)
    rows = [r.split("\t") for r in path.read_text().splitlines()]
    assert rows[0][:8] == ["filter", "jaspar_id", "name", "offset", "strand", "p_value", "q_value", "jaspar_release"]
    assert rows[1][:5] == ["1", ctcf.id, "CTCF", "2", "+"] and rows[1][7] == "JASPAR2026"
    assert float(rows[1][5]) < 1e-10 and rows[1][11] == "40"
    assert len(rows) == 1 + 2 + 1 and rows[3][0] == "2" and rows[3][1] == ""


def test_mutation_map_tsv(tmp_path):
    model = _cnn(length=20)
    mm = MG.saturation_mutagenesis(model, _codes(1, 20)[0])
    text = export.write_mutation_map_tsv(mm, tmp_path / "m.tsv").read_text().splitlines()
    assert text[1].split("\t") == ["position", "reference", "delta_A", "delta_C", "delta_G", "delta_T", "saliency",
                                   "ism_importance"]
    assert len(text) == 2 + 20
    row = text[2 + 4].split("\t")
    assert row[0] == "5" and row[1] == mm.sequence[4]
    np.testing.assert_allclose([float(v) for v in row[2:6]], mm.delta[4], rtol=1e-5, atol=1e-7)


def test_fit_codes_and_drain():
    c = fit_codes(_codes(2, 10), 14)
    assert c.shape == (2, 14) and (c[:, :2] == PAD_CODE).all()

    def gen():
        yield Progress("x", 1, 2, "half")
        yield "not progress"
        return 42

    seen = []
    assert drain(gen(), seen.append) == 42 and [p.fraction for p in seen] == [0.5]


# ---------------------------------------------------------------------------------------------------- CLI


def _cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "biodeep_gui", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd or ROOT, timeout=300)


def test_cli_motifs_writes_meme_tsv_summary_and_logos(planted_fasta_runs, tmp_path):
    out = tmp_path / "motifs"
    r = _cli("motifs", planted_fasta_runs.cnn_dir, "--out", out, "--cache-dir", tmp_path / "cache", "--formats", "png,svg")
    assert r.returncode == 0, r.stderr
    assert "filters;" in r.stdout and "q < 0.1" in r.stdout
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n_filters"] == 8 and summary["jaspar_release"] == "JASPAR2026"
    assert summary["influence_metric"] == "auroc"
    header = (out / "matches.tsv").read_text().splitlines()[0].split("\t")
    assert header[:8] == ["filter", "jaspar_id", "name", "offset", "strand", "p_value", "q_value", "jaspar_release"]
    from Bio import motifs as bio_motifs

    with open(out / "filters.meme") as fh:
        record = bio_motifs.parse(fh, "minimal")
    assert len(record) == 8 - summary["filters_without_sites"] - summary["filters_too_few_sites"]
    assert summary["min_sites"] == 10 and summary["influence_method"].startswith("output replaced by its mean")
    bg = summary["background"]
    assert record.background == pytest.approx(bg, abs=1e-6) and sum(bg.values()) == pytest.approx(1.0)
    try:
        import PySide6  # noqa: F401
    except ImportError:
        assert "not drawn" in r.stderr
        return
    pngs = sorted((out / "logos").glob("filter_??.png"))
    assert len(pngs) == 8 and len(list((out / "logos").glob("filter_??.svg"))) == 8
    assert pngs[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "logos" / "filter_01.svg").read_text().lstrip().startswith("<?xml")


def test_cli_motifs_with_data_and_user_motifs(planted_fasta_runs, tmp_path):
    from biodeep_gui.core.sequences.motif_db import write_meme

    mine = write_meme(bundled_jaspar()[:40], tmp_path / "forty.meme")
    out = tmp_path / "m2"
    r = _cli("motifs", planted_fasta_runs.cnn_dir, "--out", out, "--data", planted_fasta_runs.root / "bound.fa",
             "--motifs", mine, "--threshold", "0.7", "--cache-dir", tmp_path / "cache", "--min-sites", "100000")
    assert r.returncode == 0, r.stderr
    summary = json.loads((out / "summary.json").read_text())
    # no filter has 100,000 sites: none is matched or named, each is listed as having too few
    assert summary["min_sites"] == 100000 and summary["filters_named_q_0.1"] == 0
    assert summary["filters_too_few_sites"] == 8 - summary["filters_without_sites"]
    rows = [r.split("\t") for r in (out / "matches.tsv").read_text().splitlines()[1:]]
    assert len(rows) == 8 and all(r[1] == "" and r[12] in ("too few sites", "never fires") for r in rows)
    assert summary["jaspar_release"] == "forty.meme" and summary["n_targets"] == 40
    assert summary["threshold"] == 0.7 and summary["influence_metric"] is None
    assert (out / "matches.tsv").read_text().splitlines()[1].split("\t")[7] == "forty.meme"


def test_cli_motifs_against_another_groups_collection(planted_fasta_runs, tmp_path):
    out = tmp_path / "insects"
    r = _cli("motifs", planted_fasta_runs.cnn_dir, "--out", out, "--collection", "insects", "--no-influence",
             "--cache-dir", tmp_path / "cache", "--formats", "png")
    assert r.returncode == 0, r.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["jaspar_release"] == "JASPAR2026 CORE insects"
    assert summary["n_targets"] == len(bundled_jaspar("insects")) != len(bundled_jaspar())
    assert {row.split("\t")[7] for row in (out / "matches.tsv").read_text().splitlines()[1:]} == \
        {"JASPAR2026 CORE insects"}
    bad = _cli("motifs", planted_fasta_runs.cnn_dir, "--out", tmp_path / "x", "--collection", "bacteria")
    assert bad.returncode != 0 and "invalid choice: 'bacteria'" in bad.stderr


def test_cli_errors_are_one_line(planted_fasta_runs, tmp_path, capsys):
    from biodeep_gui.cli.main import main

    assert main(["motifs", str(planted_fasta_runs.cnn_dir), "--out", str(tmp_path), "--threshold", "1.5"]) == 1
    assert main(["motifs", str(tmp_path / "nowhere"), "--out", str(tmp_path)]) == 1
    assert main(["mutagenesis", str(planted_fasta_runs.cnn_dir), "--sequence", "ACGU?", "--out", str(tmp_path)]) == 1
    assert main(["motifs", str(planted_fasta_runs.cnn_dir), "--out", str(tmp_path), "--min-sites", "0"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 4 and all(line.startswith("biodeep: error: ") for line in err)
    assert "--threshold 1.5" in err[0] and "nowhere" in err[1] and "position 5" in err[2]
    assert "--min-sites 0" in err[3]


def test_cli_mutagenesis(planted_fasta_runs, tmp_path):
    out = tmp_path / "ism"
    seq = "ACGT" * 20
    r = _cli("mutagenesis", planted_fasta_runs.cnn_dir, "--sequence", seq, "--out", out)
    assert r.returncode == 0, r.stderr
    rows = (out / "mutation_map.tsv").read_text().splitlines()
    assert len(rows) == 2 + 80 and "binding score (log-odds)" in r.stdout
    fasta = tmp_path / "two.fa"
    fasta.write_text(">first one\n" + "ACGTTGCA" * 10 + "\n>second\n" + "TTGACA" * 10 + "\n")
    r = _cli("mutagenesis", planted_fasta_runs.cnn_dir, "--fasta", fasta, "--out", out, "--formats", "png,pdf")
    assert r.returncode == 0, r.stderr
    assert (out / "first.tsv").exists() and (out / "second.tsv").exists()
    try:
        import PySide6  # noqa: F401
    except ImportError:
        return
    assert (out / "first.png").read_bytes()[:4] == b"\x89PNG" and (out / "second.pdf").read_bytes()[:4] == b"%PDF"
