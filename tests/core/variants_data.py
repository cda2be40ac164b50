"""A tiny SYNTHETIC genome with planted JASPAR sites, a small CNN trained on planted motifs, and VCFs for it.

Shared by tests/core/test_variants.py and tests/gui/test_variants_tab.py.
"""
from __future__ import annotations

import ctypes
import glob
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from biodeep_gui.core.sequences.synthetic import format_fasta, genome_with_peaks, planted_motif_set
from biodeep_gui.core.sequences.synthetic_variants import site_snvs as _site_snvs
from biodeep_gui.core.sequences.synthetic_variants import vcf_text  # noqa: F401 (the tests import it from here)

LENGTH = 100


def train_tiny_cnn(out: Path, *, seed: int = 0) -> Path:
    """A DeepBind-style CNN (16 filters) trained for a few epochs on planted CTCF / SPI1 sites, 100 bp."""
    import torch

    from biodeep_gui.core.sequences.config import DataConfig, ModelConfig, RunConfig
    from biodeep_gui.core.sequences.pipeline import train_run
    from biodeep_gui.core.training.config import TrainConfig

    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.manual_seed(seed)
    s = planted_motif_set(n=1000, length=LENGTH, seed=seed)
    out.mkdir(parents=True, exist_ok=True)
    pos = [i for i, y in enumerate(s.labels) if y == 1]
    neg = [i for i, y in enumerate(s.labels) if y == 0]
    (out / "bound.fa").write_text(format_fasta([s.ids[i] for i in pos], [s.sequences[i] for i in pos]))
    (out / "background.fa").write_text(format_fasta([s.ids[i] for i in neg], [s.sequences[i] for i in neg]))
    cfg = RunConfig(DataConfig(fasta=str(out / "bound.fa"), background=str(out / "background.fa")),
                    ModelConfig("cnn", {"filters": 16, "hidden": 16}),
                    TrainConfig(epochs=5, batch_size=64, lr=0.01, patience=0, device="cpu", seed=seed))
    for _ in train_run(cfg, out / "run"):
        pass
    return out / "run"


@dataclass
class Case:
    genome: Path
    chromosomes: dict[str, str]
    peaks: list


def write_genome(out: Path, *, seed: int = 0) -> Case:
    """Two 40 kb SYNTHETIC chromosomes with 20 planted sites each, as genome.fa (60-letter lines)."""
    g = genome_with_peaks(chrom_lengths=(40_000, 40_000), peaks_per_chrom=20, min_spacing=800, seed=seed)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "genome.fa"
    path.write_text(format_fasta(list(g.chromosomes), list(g.chromosomes.values()), width=60))
    return Case(path, g.chromosomes, g.peaks)


def site_snvs(case: Case, *, controls_per_peak: int = 2, seed: int = 0) -> tuple[list[tuple], np.ndarray]:
    """Site-breaking and control SNVs of ``case`` (``core.sequences.synthetic_variants.site_snvs``)."""
    return _site_snvs(case.chromosomes, case.peaks, controls_per_peak=controls_per_peak, seed=seed)


def bgzip_and_index(vcf: Path) -> Path:
    """bgzip ``vcf`` with cyvcf2's Writer and build its tabix index with the htslib inside cyvcf2 (ctypes)."""
    import cyvcf2

    out = vcf.with_suffix(".vcf.gz")
    src = cyvcf2.VCF(str(vcf))
    w = cyvcf2.Writer(str(out), src, mode="wz")
    for rec in src:
        w.write_record(rec)
    w.close()
    src.close()

    class Conf(ctypes.Structure):
        _fields_ = [(n, ctypes.c_int32) for n in ("preset", "sc", "bc", "ec", "meta_char", "line_skip")]

    so = ctypes.CDLL(glob.glob(os.path.join(os.path.dirname(cyvcf2.__file__), "cyvcf2*.so"))[0])
    conf = Conf.in_dll(so, "tbx_conf_vcf")
    so.tbx_index_build.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(Conf)]
    rc = so.tbx_index_build(str(out).encode(), 0, ctypes.byref(conf))
    if rc != 0:
        raise RuntimeError(f"tbx_index_build returned {rc}")
    return out
