"""What a trained sequence network learned: filters as motifs, their influence, JASPAR matches, mutation maps.

Modules
-------
filters       first-layer filters -> activation-based PFMs with pseudocounts, PWMs, information content against the
              data's background with a small-sample correction, raw weights, where each filter fires in one sequence
influence     how much each filter matters: change of the validation loss (and metric) when the filter's output is
              replaced by its mean activation (Basset)
matching      Tomtom (memelite, in-process) against the bundled JASPAR or a user motif file, with q-values and a
              result cache
mutagenesis   in-silico saturation mutagenesis of one sequence and a gradient x input saliency track
attributions  DeepLIFT/SHAP (tangermeme) and integrated gradients against dinucleotide-shuffled references
discovery     TF-MoDISco-lite over the attributions of the test positives: patterns, seqlets, JASPAR matches
insilico      motif insertion into shuffled backgrounds and the spacing scan between two motifs
analysis      ``analyse_filters``: PFMs + influence + matches of every filter in one call; only filters with at
              least ``min_sites`` (10) sites are matched and can be named
progress      ``Progress``, ``drain``, ``check_stop``, ``Cancelled``, ``InterpretError``
export        filters.meme, matches.tsv and mutation-map TSV writers (images are drawn by the GUI's logo view)

Long computations are generators that yield ``Progress`` and *return* their result (the GUI's ``TaskRunner``
relays them from a worker thread); ``drain`` runs one to the end for the CLI and tests. They poll
``should_stop`` between batches and raise ``Cancelled`` when it returns True.

This package imports neither torch nor Qt at import time; torch is imported inside the functions that need it.
"""
