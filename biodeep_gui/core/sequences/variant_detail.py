"""One variant up close: mutation maps of its reference and alternative windows, and the filters it changes most.

The Variants tab shows this for the selected row: where in the window the model is sensitive with each allele,
and which first-layer filters (motif detectors, see the Filters tab) fire more or less because of the variant.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from biodeep_gui.core.sequences.interpret.filters import activation_map
from biodeep_gui.core.sequences.interpret.mutagenesis import MutationMap, saturation_mutagenesis
from biodeep_gui.core.sequences.variant_windows import Allele, allele_windows


@dataclass
class FilterChange:
    """How one first-layer filter responds to the variant: its strongest activation (after the ReLU) anywhere in
    the window, with the reference and with the alternative allele."""

    index: int
    ref_max: float
    alt_max: float

    @property
    def change(self) -> float:
        """alt − ref: negative when the variant weakens the filter's best match."""
        return self.alt_max - self.ref_max


@dataclass
class VariantDetail:
    """Mutation maps of the two windows (``MutationMap``s of the run's input length) and the filters whose
    strongest activation changes most (largest |change| first; empty for a network without a first
    convolution). ``clipped``: a window runs past a contig end (padding there)."""

    allele: Allele
    ref_map: MutationMap
    alt_map: MutationMap
    filters: list[FilterChange] = field(default_factory=list)
    clipped: bool = False


def variant_detail(run, genome, allele: Allele, *, output: int = 0, top: int = 5, device: str = "cpu",
                   should_stop: Callable[[], bool] | None = None) -> VariantDetail:
    """Mutation maps of ``allele``'s ref and alt windows and its ``top`` most changed filters.

    Parameters
    ----------
    run : a sequence ``Run`` of a deep model; genome : an opened genome (``bed.open_genome``)
    allele : the variant (its REF already checked against the genome, e.g. a row of ``VariantEffects``)
    output : the model output followed by the maps (multiclass runs follow its log-probability)
    """
    ref_codes, alt_codes, clipped = allele_windows(genome, allele.chrom, allele.pos, allele.ref, allele.alt,
                                                   run.info.length)
    model = run.model().to(device).eval()
    score = "log_softmax" if run.info.task == "multiclass" else "raw"
    maps = [saturation_mutagenesis(model, codes, output=output, device=device, score=score,
                                   should_stop=should_stop) for codes in (ref_codes, alt_codes)]
    filters: list[FilterChange] = []
    if getattr(model, "first_conv", None) is not None:
        # strongest rectified activation of each filter anywhere in each window: (F,) for ref, (F,) for alt
        ref_peak, alt_peak = (np.maximum(activation_map(model, codes, device), 0).max(axis=1)
                              for codes in (ref_codes, alt_codes))
        changes = [FilterChange(f, float(ref_peak[f]), float(alt_peak[f])) for f in range(len(ref_peak))]
        filters = sorted(changes, key=lambda c: -abs(c.change))[:top]
    return VariantDetail(allele, maps[0], maps[1], filters, bool(clipped))
