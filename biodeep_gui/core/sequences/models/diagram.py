"""The blocks of a sequence network (``core.training.diagram.Block``) from its configuration, in words.

They follow the modules of ``deepbind``, ``danq`` and ``mlp`` (and the two scikit-learn baselines); the sizes
are the ones those modules compute for a sequence of ``length`` bases, without building them.
"""
from __future__ import annotations

from typing import Any

from biodeep_gui.core.common.words import count_words as count
from biodeep_gui.core.sequences.models import ARCHITECTURES
from biodeep_gui.core.training.diagram import Block


def _output(task: str, n_outputs: int) -> Block:
    if task == "regression":
        return Block("Prediction", "one number per measured value", count(n_outputs, "value"), "output")
    if task == "multiclass":
        return Block("Prediction", "a score per class, turned into probabilities that add up to 1",
                     count(n_outputs, "class probability", "class probabilities"), "output")
    what = "binding score (log-odds) → probability bound"
    return Block("Prediction", what, count(n_outputs, "probability", "probabilities"), "output")


def sequence_blocks(arch: str, params: dict[str, Any], length: int, n_outputs: int = 1,
                    task: str = "binary") -> list[Block]:
    """The steps of network ``arch`` with hyper-parameters ``params`` for sequences of ``length`` bases.

    Returns the blocks from the input to the prediction (``n_outputs`` outputs of ``task``); KeyError for an
    unknown ``arch``.
    """
    spec = ARCHITECTURES[arch]
    p = {q.name: q.default for q in spec.params} | dict(params)
    dna = Block("DNA", "each base written as one of four switches (A, C, G, T)", f"4 × {length:,} bases", "input")
    if arch == "cnn":
        f, w, h = int(p["filters"]), int(p["filter_width"]), int(p["hidden"])
        return [dna,
                Block("Motif scanner", f"{count(f, 'filter')} of {w} bases slide along the sequence, each "
                      "responding where it matches a learned motif", f"{f:,} motif signals at {length:,} positions"),
                Block("Best and average match", "for each filter, its strongest and its mean response anywhere "
                      "in the sequence: where the motif sits does not matter", f"{2 * f:,} numbers"),
                Block("Combine", f"{count(h, 'unit')} weigh the filters' evidence together (dropout "
                      f"{p['dropout']:g} in training)", f"{h:,} numbers"),
                _output(task, n_outputs)]
    if arch == "cnn-lstm":
        f, w, pool = int(p["filters"]), int(p["filter_width"]), int(p["pool"])
        r, h, steps = int(p["rnn_hidden"]), int(p["hidden"]), -(-length // int(p["pool"]))
        cell = {"lstm": "LSTM", "gru": "GRU", "rnn": "simple RNN"}[str(p["cell"])]
        return [dna,
                Block("Motif scanner", f"{count(f, 'filter')} of {w} bases slide along the sequence",
                      f"{f:,} motif signals at {length:,} positions"),
                Block("Pool", f"keeps the strongest response in every window of {pool} bases",
                      f"{f:,} signals at {steps:,} steps"),
                Block("Read the order", f"a {cell} reads the steps in both directions: which motifs follow which, "
                      "and how far apart", f"{2 * r:,} numbers at each of {steps:,} steps"),
                Block("Combine", f"{count(h, 'unit')} weigh all steps together", f"{h:,} numbers"),
                _output(task, n_outputs)]
    if arch == "mlp":
        h, n = int(p["hidden"]), int(p["layers"])
        return [dna,
                Block("Flatten", "every base at every position becomes one input: no notion of motifs or shifts",
                      f"{4 * length:,} numbers"),
                Block("Dense layers", f"{count(n, 'layer')} of {count(h, 'unit')} (dropout {p['dropout']:g} in "
                      "training)", f"{h:,} numbers"),
                _output(task, n_outputs)]
    if arch == "linear":
        return [dna, Block("One weight per base", "a regularised linear fit: one weight for each base at each "
                           "position, added up", f"{4 * length:,} weights"), _output(task, n_outputs)]
    if arch == "kmer":
        k = int(p["k"])
        return [dna, Block("Count k-mers", f"how often each word of {k} bases (with its reverse complement) occurs",
                           f"{4 ** k // 2:,} word frequencies (about)"),
                Block("One weight per word", "a regularised linear fit on the word frequencies", "one sum"),
                _output(task, n_outputs)]
    raise KeyError(arch)
