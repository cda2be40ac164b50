"""Filters are named only with evidence: minimum sites, pseudocounts, small-sample information content, the data's
background, and an influence measure that does not saturate.

Expected values come from independent computations (Monte Carlo draws, explicit formulas, Biopython's MEME reader,
a hand-built network), never from the code under test. Tomtom runs against the bundled JASPAR 2026 collection.
"""
import numpy as np
import pytest
import torch

from biodeep_gui.core.sequences.encoding import BASES, ONE_HOT_TABLE, encode
from biodeep_gui.core.sequences.interpret import export
from biodeep_gui.core.sequences.interpret import filters as F
from biodeep_gui.core.sequences.interpret import influence as I
from biodeep_gui.core.sequences.interpret.analysis import MIN_SITES, filter_status, iter_match_filter_motifs
from biodeep_gui.core.sequences.interpret.progress import drain
from biodeep_gui.core.sequences.models import build_model
from biodeep_gui.core.sequences.motif_db import find_motif

torch.use_deterministic_algorithms(True, warn_only=True)


def _motifs_from_sites(sites_per_filter, width=19, background=(0.25, 0.25, 0.25, 0.25)):
    """A ``FilterMotifs`` whose filter f fired on exactly the windows ``sites_per_filter[f]`` ((W,) base codes)."""
    n_f = len(sites_per_filter)
    counts = np.zeros((n_f, width, 4))
    for f, sites in enumerate(sites_per_filter):
        for s in sites:
            counts[f, np.arange(width), s] += 1
    n = np.array([len(s) for s in sites_per_filter], dtype=np.int64)
    return F.FilterMotifs(counts, n, np.ones(n_f, np.float32), 0.5, np.zeros((n_f, 4, width), np.float32),
                          np.zeros(n_f, np.float32), 1000, 0, background=np.asarray(background, float))


def _named(fm, result, min_sites):
    return [f for f in range(fm.n_filters) if filter_status(int(fm.n_sites[f]), result.best(f), min_sites) == "named"]


# ------------------------------------------------------------------------------------------- minimum sites


def test_random_19mers_with_1_to_3_sites_are_never_named():
    rng = np.random.default_rng(0)
    fm = _motifs_from_sites([[rng.integers(0, 4, 19) for _ in range(1 + f % 3)] for f in range(32)])
    res = drain(iter_match_filter_motifs(fm))  # the default: at least 10 sites
    assert MIN_SITES == 10 and res.n_comparisons == 0
    assert all(res.per_filter[f] == [] for f in range(32)) and _named(fm, res, MIN_SITES) == []
    assert {filter_status(int(n), None) for n in fm.n_sites} == {"too few sites"}
    # the gate is what protects: without it, Tomtom "names" some of these noise PFMs (long zinc-finger motifs)
    ungated = drain(iter_match_filter_motifs(fm, min_sites=1))
    assert len(_named(fm, ungated, 1)) >= 1


def test_three_copies_of_a_jaspar_consensus_get_no_name():
    ctcf = find_motif("MA0139")
    consensus = ctcf.pfm.argmax(axis=1)
    fm = _motifs_from_sites([[consensus] * 3, [consensus] * 12], width=ctcf.width)
    res = drain(iter_match_filter_motifs(fm))
    assert res.per_filter[0] == [] and filter_status(3, res.best(0)) == "too few sites"
    assert _named(fm, res, MIN_SITES) == [1] and res.best(1).name == "CTCF"  # 12 copies: named
    # three copies alone would match CTCF well: only the minimum keeps them unnamed
    assert drain(iter_match_filter_motifs(fm, min_sites=1)).best(0).name == "CTCF"


def test_random_dna_with_at_least_10_sites_matches_nothing():
    """The null: PFMs of random windows (10 to 200 sites) name no JASPAR motif at q < 0.1."""
    rng = np.random.default_rng(1)
    sizes = rng.integers(10, 200, 48)
    fm = _motifs_from_sites([[rng.integers(0, 4, 19) for _ in range(int(n))] for n in sizes])
    res = drain(iter_match_filter_motifs(fm))
    assert res.n_comparisons == 48 * res.n_targets  # all of them were compared
    assert _named(fm, res, MIN_SITES) == []
    assert all(m.q_value >= 0.1 for rows in res.per_filter for m in rows)


def test_filter_status_words():
    class M:
        q_value = 0.01

    class Weak:
        q_value = 0.3

    assert filter_status(0, None) == "never fires"
    assert filter_status(9, M()) == "too few sites" and filter_status(10, M()) == "named"
    assert filter_status(50, Weak()) == "weak match" and filter_status(50, None) == "no match"
    assert filter_status(5, M(), min_sites=5) == "named"


# --------------------------------------------------------------------------------- pseudocounts and bits


def test_pseudocounts_are_half_a_site_per_base_in_proportion_to_the_background():
    bg = np.array([0.3, 0.2, 0.2, 0.3])
    counts = np.array([[3.0, 0, 0, 0], [0, 0, 0, 0]])
    pfm = F.counts_to_pfm(counts, 0.5, bg)
    np.testing.assert_allclose(pfm[0], (np.array([3, 0, 0, 0]) + 2 * bg) / 5)
    np.testing.assert_allclose(pfm[1], bg)  # nothing counted: the background
    np.testing.assert_allclose(F.counts_to_pfm(counts)[0], [1, 0, 0, 0])  # raw frequencies


def test_base_composition_counts_only_unambiguous_bases_with_one_pseudocount():
    codes = np.stack([encode("AAAC"), encode("GTNA")])
    np.testing.assert_allclose(F.base_composition(codes), np.array([3 + 1 + 1, 1 + 1, 1 + 1, 1 + 1]) / 11)


@pytest.mark.parametrize("bg", [(0.25, 0.25, 0.25, 0.25), (0.35, 0.15, 0.15, 0.35)])
def test_small_sample_correction_is_the_information_of_background_draws(bg):
    """e(n) equals the mean information of n sites drawn from the background (Monte Carlo), and 3 / (2 n ln 2)
    for large n (Schneider et al. 1986)."""
    rng = np.random.default_rng(2)
    bg = np.asarray(bg)
    for n in (1, 2, 5, 12):
        draws = rng.multinomial(n, bg, size=40000) / n
        with np.errstate(divide="ignore", invalid="ignore"):
            ic = np.where(draws > 0, draws * np.log2(np.where(draws > 0, draws, 1) / bg), 0).sum(axis=1)
        assert F.small_sample_correction(n, bg) == pytest.approx(ic.mean(), abs=0.01)
    assert F.small_sample_correction(1) == pytest.approx(2.0)  # one site: all of its information is chance
    assert F.small_sample_correction(5000, bg) == pytest.approx(3 / (2 * 5000 * np.log(2)))


def test_corrected_information_is_lower_for_few_sites_and_converges():
    p = np.array([0.7, 0.1, 0.1, 0.1])
    bg = np.array([0.3, 0.2, 0.2, 0.3])
    plain = float((p * np.log2(p / bg)).sum())
    corrected = {n: float(F.corrected_information_content((p * n)[None], bg)[0]) for n in (3, 10, 30, 100, 10000)}
    assert all(corrected[n] < plain for n in corrected)
    values = [corrected[n] for n in sorted(corrected)]
    assert values == sorted(values)  # more sites, less correction
    assert corrected[3] < 0.5 * plain and corrected[10000] == pytest.approx(plain, abs=1e-3)
    np.testing.assert_allclose(F.information_content(p, bg), plain)  # the uncorrected value, against the background
    assert F.corrected_information_content(np.zeros((1, 4)))[0] == 0.0


def test_motifs_carry_the_data_background_into_the_meme_file(tmp_path):
    """Codes rich in A/T: the background, the pseudocounts and the MEME header follow the data, not 25 %."""
    from Bio import motifs as bio_motifs

    torch.manual_seed(0)
    model = build_model("cnn", 40, 1, {"filters": 2, "filter_width": 5}).eval()
    with torch.no_grad():
        model.first_conv.weight.zero_()
        model.first_conv.weight[0] = torch.from_numpy(ONE_HOT_TABLE[encode("GATTA")].T.copy())
        model.first_conv.bias[:] = torch.tensor([-4.0, -4.0])  # filter 2 never fires
    rng = np.random.default_rng(3)
    codes = rng.choice(4, size=(60, 40), p=[0.4, 0.1, 0.1, 0.4]).astype(np.uint8)
    codes[::4, 5:10] = encode("GATTA")  # 15 sites
    fm = F.filter_motifs(model, codes, threshold=0.9)
    assert fm.n_sites[0] >= 15 and fm.n_sites[1] == 0
    want_bg = (np.bincount(codes.ravel(), minlength=4)[:4] + 1.0) / (codes.size + 4)
    np.testing.assert_allclose(fm.background, want_bg)
    text = export.write_filters_meme(fm, tmp_path / "f.meme").read_text()
    assert "Background letter frequencies (from the training sequences' base composition):" in text
    assert " ".join(f"{b} {p:.6f}" for b, p in zip(BASES, want_bg)) in text
    assert f"nsites= {int(fm.n_sites[0])}" in text and "filter_2" not in text
    with open(tmp_path / "f.meme") as fh:
        record = bio_motifs.parse(fh, "minimal")
    assert record.background == pytest.approx(dict(zip(BASES, want_bg)), abs=1e-6)
    # a filter below the minimum is left out of the MEME file (as Basset does) unless asked for
    few = export.write_filters_meme(fm, tmp_path / "g.meme", min_sites=int(fm.n_sites[0]) + 1).read_text()
    assert "MOTIF" not in few


# -------------------------------------------------------------------------------------------- influence


def test_a_filter_the_network_uses_outweighs_a_dead_one():
    """Filter 1 reads GATTA and carries the label; filter 2 never fires; filter 3 fires everywhere but is ignored
    downstream. Replaced by its mean, only filter 1 changes the loss."""
    from biodeep_gui.core.training.loop import Objective

    torch.manual_seed(0)
    model = build_model("cnn", 40, 1, {"filters": 3, "filter_width": 5}).eval()
    with torch.no_grad():
        model.first_conv.weight.zero_()
        model.first_conv.weight[0] = torch.from_numpy(ONE_HOT_TABLE[encode("GATTA")].T.copy())
        model.first_conv.bias[:] = torch.tensor([-4.0, -10.0, 1.0])
        head = model.head
        head[0].weight.zero_()
        head[0].bias.zero_()
        head[0].weight[0, 0] = 1.0  # hidden unit 0 = global max of filter 1
        head[3].weight.zero_()
        head[3].weight[0, 0] = 5.0
        head[3].bias[:] = -2.5
    rng = np.random.default_rng(4)
    codes = rng.integers(1, 4, (80, 40)).astype(np.uint8)  # no A: GATTA only where planted
    y = np.zeros((80, 1), np.float32)
    y[::2] = 1
    codes[::2, 20:25] = encode("GATTA")
    res = I.filter_influence(model, codes, y, Objective("binary"))
    assert res.loss_change[0] > 0.5 and res.metric_change[0] == pytest.approx(-0.5)
    assert res.loss_change[1] == 0.0 and res.mean_activation[1] == 0.0  # dead: its mean is 0, nothing changes
    assert abs(res.loss_change[2]) < 1e-9 and res.mean_activation[2] == pytest.approx(1.0)
    assert res.order()[0] == 0 and res.rank()[0] == 1
    text = res.describe(0)
    assert text.startswith("validation loss +") and "AUROC -0.5 without it" in text
