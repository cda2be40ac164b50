"""The blocks of a sequence network (``core.training.diagram.Block``) from its configuration, in words.

They follow the modules of ``deepbind``, ``danq`` and ``mlp`` (and the two scikit-learn baselines); the sizes
are the ones those modules compute for a sequence of ``length`` bases, without building them.
"""
from __future__ import annotations

from typing import Any, Sequence

from biodeep_gui.core.common.words import count_words as count
from biodeep_gui.core.sequences.models import ARCHITECTURES
from biodeep_gui.core.training.diagram import Block


def _listed(names: Sequence[str], most: int = 3) -> str:
    """'a, b and c', or 'a, b, c and 5 more' past ``most`` names (a block has room for a few)."""
    names = list(names)
    if not names:
        return ""
    if len(names) > most:
        return ", ".join(names[:most]) + f" and {len(names) - most:,} more"
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + f" and {names[-1]}"


def _output(task: str, n_outputs: int, label_names: Sequence[str], class_names: Sequence[str]) -> Block:
    """What the network's last step gives for the opened data's ``task`` ('' before any data are opened)."""
    labels = [str(n) for n in label_names]
    if task == "regression":
        size = (f"predicted {_listed(labels)}" if labels and len(labels) == n_outputs
                else count(n_outputs, "predicted value"))
        return Block("Prediction", "one number per measured column: the network's estimate of the value", size,
                     "output")
    if task == "multiclass":
        names = [str(n) for n in class_names]
        what = f" ({_listed(names)})" if len(names) == n_outputs else ""
        return Block("Prediction", f"a score per class{what}, turned into probabilities that add up to 1",
                     f"probabilities of the {n_outputs:,} classes", "output")
    if task == "binary" and n_outputs > 1:
        what = f" ({_listed(labels)})" if len(labels) == n_outputs else ""
        return Block("Prediction", f"a score per task{what}, each turned into its own probability",
                     f"{n_outputs:,} probabilities, one per task", "output")
    if task == "binary":
        name = labels[0] if labels else "label"
        return Block("Prediction", f"a score (log-odds) turned into the probability P({name})", f"P({name})",
                     "output")
    # no data opened yet: what the output is depends on the labels the data will bring
    return Block("Prediction", "what the network predicts, set by the labels of the data you open",
                 "the network's output", "output")


def sequence_blocks(arch: str, params: dict[str, Any], length: int, n_outputs: int = 1, task: str = "binary",
                    label_names: Sequence[str] = (), class_names: Sequence[str] = ()) -> list[Block]:
    """The steps of network ``arch`` with hyper-parameters ``params`` for sequences of ``length`` bases.

    Returns the blocks from the input to the prediction: ``n_outputs`` outputs of ``task`` ('binary',
    'multiclass', 'regression'; '' when no data are opened yet), named by the data's ``label_names`` (T,) and
    ``class_names`` (K,) where known. KeyError for an unknown ``arch``.
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
                _output(task, n_outputs, label_names, class_names)]
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
                _output(task, n_outputs, label_names, class_names)]
    if arch == "mlp":
        h, n = int(p["hidden"]), int(p["layers"])
        return [dna,
                Block("Flatten", "every base at every position becomes one input: no notion of motifs or shifts",
                      f"{4 * length:,} numbers"),
                Block("Dense layers", f"{count(n, 'layer')} of {count(h, 'unit')} (dropout {p['dropout']:g} in "
                      "training)", f"{h:,} numbers"),
                _output(task, n_outputs, label_names, class_names)]
    if arch == "linear":
        return [dna, Block("One weight per base", "a regularised linear fit: one weight for each base at each "
                           "position, added up", f"{4 * length:,} weights"),
                _output(task, n_outputs, label_names, class_names)]
    if arch == "kmer":
        k = int(p["k"])
        return [dna, Block("Count k-mers", f"how often each word of {k} bases (with its reverse complement) occurs",
                           f"{4 ** k // 2:,} word frequencies (about)"),
                Block("One weight per word", "a regularised linear fit on the word frequencies", "one sum"),
                _output(task, n_outputs, label_names, class_names)]
    raise KeyError(arch)
