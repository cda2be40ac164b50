"""Proof that the filter analysis finds what was planted.

A DeepBind-style CNN (32 filters of 19 bp, the app's defaults) is trained on the SYNTHETIC planted-motif data
(``synthetic.planted_motif_set``: CTCF MA0139 and SPI1/PU.1 MA0080 sites in a CpG-depleted background) through
the real loaders and run folder, then its filters go through the same pipeline as ``biodeep motifs``:
activation PFMs -> Tomtom against all 1,019 bundled JASPAR 2026 CORE vertebrate motifs.

For each planted motif, at least one *named* filter (at least 10 sites, best match at q < 0.1) must have as its
best match that motif, or a matrix of the same TF, or of the same JASPAR family (JASPAR's own ``tf_family``
annotation, read with pyjaspar), with p < 1e-8, and removing that filter (its output replaced by its mean
activation) must raise the validation loss. No filter with fewer than 10 sites is named. The fraction of
filters matching some JASPAR motif at q < 0.1 is printed (published: Basset 45 % of 300 filters against CIS-BP;
DanQ 163 of 320 against JASPAR and others). Runs in well under two minutes on two CPU cores once numba's code
for Tomtom is cached (its one-time compile adds ~50-85 s on a fresh install).
"""
import time

import numpy as np
import pytest
import torch

from biodeep_gui.core.sequences.config import DataConfig, ModelConfig, RunConfig
from biodeep_gui.core.sequences.interpret.analysis import analyse_filters
from biodeep_gui.core.sequences.interpret.progress import drain
from biodeep_gui.core.sequences.motif_db import find_motif
from biodeep_gui.core.sequences.pipeline import RunSummary, train_run
from biodeep_gui.core.sequences.run import load_run
from biodeep_gui.core.sequences.synthetic import format_fasta, planted_motif_set
from biodeep_gui.core.sequences.synthetic_motifs import PLANTED_MOTIFS
from biodeep_gui.core.training.config import TrainConfig


def _family(motif_id: str) -> set[str]:
    from pyjaspar import jaspardb

    m = jaspardb(release="JASPAR2026").fetch_motif_by_id(motif_id)
    fam = m.tf_family if isinstance(m.tf_family, list) else [m.tf_family]
    return {f for f in fam if f}


@pytest.mark.slow
def test_trained_cnn_filters_match_the_planted_jaspar_motifs(tmp_path):
    torch.use_deterministic_algorithms(True, warn_only=True)
    t0 = time.perf_counter()
    s = planted_motif_set(n=2000, length=200, seed=0)
    pos = [i for i, y in enumerate(s.labels) if y == 1]
    neg = [i for i, y in enumerate(s.labels) if y == 0]
    (tmp_path / "bound.fa").write_text(format_fasta([s.ids[i] for i in pos], [s.sequences[i] for i in pos]))
    (tmp_path / "background.fa").write_text(format_fasta([s.ids[i] for i in neg], [s.sequences[i] for i in neg]))
    cfg = RunConfig(DataConfig(fasta=str(tmp_path / "bound.fa"), background=str(tmp_path / "background.fa")),
                    ModelConfig("cnn", {}),
                    TrainConfig(epochs=5, batch_size=64, lr=0.01, patience=0, device="cpu", seed=0))
    *_, summary = train_run(cfg, tmp_path / "run")
    assert isinstance(summary, RunSummary) and summary.metrics["test_auroc"] > 0.95
    t_train = time.perf_counter() - t0

    run = load_run(tmp_path / "run")
    t1 = time.perf_counter()
    res = drain(analyse_filters(run, None, influence=True, cache_dir=None))  # no cache: a real Tomtom run
    t_analysis = time.perf_counter() - t1
    mt = res.matches
    assert mt.release == "JASPAR2026" and mt.n_targets > 1000 and res.motifs.n_filters == 32

    found = {}
    for key in PLANTED_MOTIFS:
        planted = find_motif(key)
        family = _family(planted.id)
        hits = []
        for f in range(res.motifs.n_filters):
            best = res.named(f)
            if best is None or best.p_value >= 1e-8:
                continue
            same = (best.motif_id.split(".")[0] == planted.base_id or best.name.upper() == planted.name.upper()
                    or bool(family & _family(best.motif_id)))
            if same:
                hits.append((best.p_value, f, best))
        assert hits, f"no named filter's best JASPAR match is {planted.id} {planted.name} or its family at p < 1e-8"
        found[planted.name] = min(hits, key=lambda h: h[0])
        assert max(res.influence.loss_change[f] for _, f, _ in hits) > 0

    n_sites = res.motifs.n_sites
    assert all(n_sites[f] >= 10 for f in range(res.motifs.n_filters) if res.named(f) is not None)
    assert all(mt.per_filter[f] == [] for f in range(res.motifs.n_filters) if n_sites[f] < 10)

    frac = mt.fraction_matched(0.1)
    n_q = sum(1 for r in mt.per_filter if r and r[0].q_value < 0.1)
    lines = [f"test AUROC {summary.metrics['test_auroc']:.3f}; training {t_train:.0f} s, filter analysis "
             f"{t_analysis:.1f} s (Tomtom {mt.elapsed_s:.2f} s)",
             f"{n_q} of {res.motifs.n_filters} filters ({100 * frac:.0f} %) match a {mt.release} motif at q < 0.1; "
             f"{res.n_named()} named (>= {res.min_sites} sites); {res.n_too_few()} with too few sites, "
             f"{int((n_sites == 0).sum())} never fire",
             "background " + ", ".join(f"{b} {p:.3f}" for b, p in zip("ACGT", res.motifs.background))]
    for name, (p, f, best) in found.items():
        same = sum(1 for g in range(res.motifs.n_filters)
                   if res.named(g) is not None and res.named(g).name.upper() == best.name.upper())
        lines.append(f"planted {name}: filter {f + 1} ({int(n_sites[f])} sites) -> {best.motif_id} {best.name}, "
                     f"p = {p:.2g}, q = {best.q_value:.2g}, {res.influence.describe(f)}, {same} filters")
    print("\n" + "\n".join(lines))
    assert 0.0 < frac <= 1.0
    assert np.isfinite(res.influence.baseline)
