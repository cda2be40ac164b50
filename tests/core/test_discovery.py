"""Motif discovery (TF-MoDISco-lite over attributions) and the JASPAR collections beyond vertebrates.

The recovery proof (MoDISco finds the planted CTCF and SPI1 motifs and they match their JASPAR entries at
p < 1e-8) trains a bigger CNN than the session fixtures and runs MoDISco over 400 attribution tracks: about
2 minutes on 2 busy CPU cores, so it is marked slow (measured figures in its docstring).
"""
import numpy as np
import pytest
import torch

torch.use_deterministic_algorithms(True, warn_only=True)

#: Matrices per JASPAR 2026 CORE taxonomic group (latest versions), as pyjaspar 4.0.0's database holds them.
COUNTS = {"vertebrates": 1019, "plants": 927, "insects": 296, "nematodes": 103, "fungi": 193, "urochordates": 94}


def test_other_taxa_collections_load_with_their_counts():
    from biodeep_gui.core.sequences import motif_db
    from biodeep_gui.core.sequences.interpret.matching import load_targets

    assert motif_db.COLLECTIONS == tuple(COUNTS)
    seen = set()
    for collection, n in COUNTS.items():
        motifs = motif_db.bundled_jaspar(collection)
        assert len(motifs) == n, collection
        assert len({m.base_id for m in motifs}) == n  # one (latest) version per matrix
        assert all(m.source == f"JASPAR2026 CORE {collection}" for m in motifs)
        ids = {m.id for m in motifs}
        assert not ids & seen  # a matrix belongs to one group
        seen |= ids
        targets, release = load_targets(None, collection)
        assert len(targets) == n and release.startswith("JASPAR2026")
    assert load_targets()[1] == "JASPAR2026"  # the default stays the vertebrate collection
    assert motif_db.find_motif("MA0139").name == "CTCF"
    plants = motif_db.bundled_jaspar("plants")
    assert any(m.name.upper().startswith("WRKY") for m in plants)  # a plant-only family
    from biodeep_gui.core.sequences.interpret.progress import InterpretError

    with pytest.raises(InterpretError, match="unknown JASPAR collection"):
        load_targets(None, "bacteria")


def test_other_taxa_resource_files_stay_small():
    from biodeep_gui.core.common.resources import resource_path
    from biodeep_gui.core.sequences.motif_db import COLLECTIONS, collection_file

    sizes = {c: resource_path("motifs", collection_file(c)).stat().st_size for c in COLLECTIONS}
    assert sum(v for c, v in sizes.items() if c != "vertebrates") < 800 * 1024, sizes


def test_trim_and_exports(tmp_path):
    from biodeep_gui.core.sequences.interpret.discovery import (
        DiscoveredPattern,
        DiscoveryResult,
        patterns_tsv,
        summary_dict,
        trim_pattern,
        write_patterns_meme,
    )
    from biodeep_gui.core.sequences.interpret.matching import MotifMatch
    from biodeep_gui.core.sequences.motif_db import find_motif, load_motifs

    cwm = np.zeros((30, 4))
    cwm[10:20, 1] = 1.0
    cwm[12, 1] = 0.2  # a weak column inside stays
    assert trim_pattern(cwm) == slice(6, 24)
    ctcf = find_motif("MA0139")
    match = MotifMatch(0, 1, 0, ctcf.id, "CTCF", 0, "+", 19, 1e-12, 1e-9, 1e-9)
    res = DiscoveryResult([DiscoveredPattern("pattern 1", 1, ctcf.pfm, ctcf.pfm - 0.25, 120, [match])],
                          "40 positives of the test split", 40, "deeplift_shap", True, "", "JASPAR2026", 1019, {})
    back = load_motifs(write_patterns_meme(res, tmp_path / "p.meme"))
    assert back[0].id == "pattern_1" and back[0].name == "CTCF" and back[0].nsites == 120
    np.testing.assert_allclose(back[0].pfm, ctcf.pfm, atol=1e-5)
    rows = patterns_tsv(res).splitlines()
    assert rows[1].split("\t")[:3] == ["pattern_1", "+", "120"] and "MA0139" in rows[1]
    assert summary_dict(res)["patterns"][0]["matches"][0]["name"] == "CTCF"


def test_select_sequences_takes_test_positives(planted_ctcf_run):
    from biodeep_gui.core.sequences.interpret.analysis import load_run_data
    from biodeep_gui.core.sequences.interpret.discovery import select_sequences

    run = planted_ctcf_run.run
    data = load_run_data(run)
    codes, ids, which = select_sequences(run, data)
    positives = {data.ids[i] for i in np.flatnonzero(data.labels[:, 0] == 1)}
    assert set(ids) <= positives and "positives of the test split" in which and len(ids) < 0.5 * len(positives)
    codes_all, ids_all, _ = select_sequences(run, data, split="all")
    assert set(ids_all) == positives and codes_all.shape == (len(positives), 100)


@pytest.mark.slow
def test_modisco_recovers_the_planted_motifs(tmp_path):
    """CNN (16 filters of 15 bp, 8 epochs) on 1,200 SYNTHETIC sequences with CTCF or SPI1 sites; DeepLIFT/SHAP
    (8 shuffles) over 400 positives; TF-MoDISco with ``discovery.SETTINGS``.

    Measured on 2 shared CPU cores: training ~60 s (test AUROC 0.99), attributions ~26 s, MoDISco ~24 s (10 s more
    on its first run: numba); 2 patterns, SPI1 (122 seqlets) and CTCF (99), each matching its JASPAR entry as the
    best match."""
    from biodeep_gui.core.sequences.config import DataConfig, ModelConfig, RunConfig
    from biodeep_gui.core.sequences.interpret.attributions import attributions
    from biodeep_gui.core.sequences.interpret.discovery import iter_discover_patterns
    from biodeep_gui.core.sequences.interpret.progress import drain
    from biodeep_gui.core.sequences.pipeline import train_run
    from biodeep_gui.core.sequences.run import load_run
    from biodeep_gui.core.sequences.synthetic import format_fasta, planted_motif_set
    from biodeep_gui.core.training.config import TrainConfig

    s = planted_motif_set(n=1200, length=100, seed=1)
    pos = [i for i, y in enumerate(s.labels) if y == 1]
    neg = [i for i, y in enumerate(s.labels) if y == 0]
    (tmp_path / "bound.fa").write_text(format_fasta([s.ids[i] for i in pos], [s.sequences[i] for i in pos]))
    (tmp_path / "background.fa").write_text(format_fasta([s.ids[i] for i in neg], [s.sequences[i] for i in neg]))
    cfg = RunConfig(DataConfig(fasta=str(tmp_path / "bound.fa"), background=str(tmp_path / "background.fa")),
                    ModelConfig("cnn", {"filters": 16, "filter_width": 15}),
                    TrainConfig(epochs=8, batch_size=32, lr=0.01, patience=0, device="cpu", seed=0))
    for _ in train_run(cfg, tmp_path / "cnn"):
        pass
    run = load_run(tmp_path / "cnn")
    rows = pos[:400]
    attr = attributions(run.model(), s.codes()[rows], n_references=8, batch_size=32)
    res = drain(iter_discover_patterns(attr, cache_dir=tmp_path / "cache"))
    found = {}
    for p in res.patterns:
        if p.sign > 0 and p.best is not None and p.best.p_value < 1e-8:
            found.setdefault(p.best.motif_id.split(".")[0], p)
    assert {"MA0139", "MA0080"} <= set(found), [(p.name, p.n_seqlets, p.consensus, p.best) for p in res.patterns]
    assert all(found[k].n_seqlets >= 20 for k in ("MA0139", "MA0080"))
