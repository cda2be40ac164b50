"""The words of the window in one place: one plain sentence per number or term, and the Help ▸ Guide text.

``GLOSSARY`` is what Help ▸ Glossary lists and what the tabs use as tooltips where a number is shown (Results,
Compare, Reconstructions, Filters), so a term is explained the same way everywhere. ``METRIC_HELP`` maps the
metric keys of a run's ``metrics.json`` (``auroc``, ``r2`` …) to their sentence. ``guide_html`` is the Help ▸
Guide page; it names the shortcuts of the window's menus, which ``tests/gui/test_help.py`` checks against the
menus themselves.
"""
from __future__ import annotations

from html import escape

#: term → one plain sentence. The keys are the words the window shows.
GLOSSARY: dict[str, str] = {
    "AUROC": "Area under the ROC curve: the chance that a random bound sequence (or patient) scores above a "
             "random unbound one (or control); 0.5 = guessing, 1 = perfect.",
    "AUPRC": "Area under the precision-recall curve (average precision): how pure the top-scoring sequences are; "
             "guessing gives the share of positives, so it is more telling than AUROC when positives are rare.",
    "F1": "Harmonic mean of precision and recall (macro-averaged over classes for multiclass tasks); 1 = perfect.",
    "Accuracy": "Share of examples whose predicted class is right (threshold 0.5 for two classes).",
    "Balanced accuracy": "Accuracy averaged over classes, so a rare class counts as much as a common one; "
                         "0.5 = guessing for two classes.",
    "Sensitivity": "Share of the true positives (bound sequences, patients) that are predicted positive.",
    "Specificity": "Share of the true negatives (unbound sequences, controls) that are predicted negative.",
    "Pearson r": "Pearson correlation of predicted and measured values: linear agreement from -1 to 1 "
                 "(0 = none).",
    "Spearman ρ": "Spearman rank correlation: whether the predictions put the examples in the right order "
                  "(-1 to 1).",
    "R²": "Coefficient of determination: the share of the variance explained (1 = perfect, 0 = no better than "
          "predicting the mean, below 0 = worse).",
    "MSE": "Mean squared error, in the squared units of the measured values; lower is better.",
    "Loss": "The quantity the network is trained to make small on this set; lower is better.",
    "Reconstruction r": "Correlation, inside the brain mask, of a scan with the autoencoder's reconstruction of "
                        "it; 1 = identical.",
    "Template r": "Correlation of the fold's template (the mean scan of its training subjects) with the scan: "
                  "what a reconstruction that ignores the subject reaches, so the reconstruction must beat it.",
    "Residual r": "Correlation of (reconstruction − template) with (scan − template): how much of this subject's "
                  "own difference from the template the autoencoder captures (0 = nothing).",
    "Permutation p": "Share of label shufflings that scored at least as well as the real labels; with n "
                     "shufflings it cannot go below 1/(n+1) (0.0476 for 20), so a p at that floor means "
                     "'as small as this test can show', and more shufflings can show smaller.",
    "Bootstrap 95 % interval": "The range the number would take in 95 % of resamplings of the test examples "
                               "(drawn with replacement): how much it could move on another test set of this "
                               "size.",
    "Site-only baseline": "A classifier that sees only which scanner site each subject came from: if it does "
                          "as well as the network, the network may be reading the site, not the diagnosis.",
    "Chance": "What guessing reaches: 0.5 AUROC, the share of the commonest class for accuracy, the share of "
              "positives for AUPRC.",
    "Filter": "One pattern detector of the network's first layer: it slides along the DNA and responds where "
              "the bases match what it has learned, often a transcription-factor motif.",
    "Motif": "A short DNA pattern that a protein (e.g. a transcription factor) binds, allowing some variation "
             "at each position.",
    "PFM": "Position frequency matrix: for each position of a motif, how often each of A, C, G and T occurs; "
           "a sequence logo draws it.",
    "Match p-value": "The chance that a random motif would look this similar to the filter (Tomtom); smaller = "
                     "a closer match.",
    "q-value": "A p-value corrected for the many motifs compared: the expected share of false matches among "
               "all matches at least this good.",
    "n_sites": "Number of places in the sequences where a filter fires strongly; its logo is built from them, "
               "and too few sites give an unreliable logo.",
    "Influence": "How much worse the network does when a filter is switched off (its output replaced by its "
                 "mean): the change, without the filter minus with it, of the validation loss (positive = "
                 "worse without it) and of the validation metric (negative = worse without it).",
    "Attribution": "How much each base of a sequence pushes the prediction up (positive) or down (negative).",
    "Variant effect (delta)": "Probability bound with the alternative allele minus with the reference allele: "
                              "positive = the variant strengthens binding.",
    "Variant effect (logit_delta)": "The same change on the binding score (log-odds) scale, which does not "
                                    "flatten near 0 and 1.",
    "Probability bound": "The network's estimate (0 to 1) that the factor binds the sequence (p_bound in the "
                         "CSV/TSV files).",
    "Binding score (log-odds)": "log(p / (1 − p)) of the probability bound: 0 = even odds, each +1 multiplies "
                                "the odds of binding by e ≈ 2.7.",
    "Epoch": "One pass of training over all the training examples.",
    "Validation set": "Examples held out of training and used to choose the epoch and the settings.",
    "Test set": "Examples used for nothing but the final numbers, so those numbers are honest.",
}

#: metric key (as in a run's metrics.json, without test_/val_) → glossary term
METRIC_TERMS = {"auroc": "AUROC", "auprc": "AUPRC", "accuracy": "Accuracy", "f1": "F1",
                "balanced_accuracy": "Balanced accuracy", "pearson": "Pearson r", "spearman": "Spearman ρ",
                "mse": "MSE", "r2": "R²", "loss": "Loss", "sensitivity": "Sensitivity",
                "specificity": "Specificity"}
#: metric key → its one-sentence explanation (the Results and Compare tabs' tooltips)
METRIC_HELP = {key: GLOSSARY[term] for key, term in METRIC_TERMS.items()}


def tip(term: str) -> str:
    """The glossary sentence of ``term`` (a key of ``GLOSSARY``); KeyError for an unknown term, so a typo fails
    the tests rather than leaving a tooltip empty."""
    return GLOSSARY[term]


def glossary_html() -> str:
    """Help ▸ Glossary: every term with its sentence, alphabetically."""
    rows = "".join(f"<dt><b>{escape(k)}</b></dt><dd>{escape(v)}</dd>"
                   for k, v in sorted(GLOSSARY.items(), key=lambda kv: kv[0].lower()))
    return f"<h2>Glossary</h2><dl>{rows}</dl>"


def guide_html(shortcuts: list[tuple[str, str]]) -> str:
    """Help ▸ Guide: the steps for each science, what each tab shows, how to read the numbers.

    shortcuts : (menu entry, key sequence in the platform's words) of the window's menus
    """
    keys = "".join(f"<tr><td>{escape(k)}</td><td>&nbsp;&nbsp;{escape(name)}</td></tr>" for name, k in shortcuts)
    return f"""
<h2>BioDeep guide</h2>
<p>BioDeep trains deep networks for two sciences. Choose one with the switch above the tabs (or View):
<b>DNA sequences</b> learns where a transcription factor binds; <b>Brain scans</b> learns a diagnosis from MRI
scans. Model and Training are shared; the other tabs belong to one science.</p>

<h3>DNA sequences, step by step</h3>
<ol>
<li><b>Sequences</b>: open bound and background sequences (FASTA, CSV/TSV or BED with a genome), or Help ▸ Open
demo data. Check the summary: lengths, GC content, how the examples are split.</li>
<li><b>Model</b>: choose a network (a CNN is a good start; train a baseline too) and its settings; hover for
help.</li>
<li><b>Training</b> ▸ Start (Ctrl+R): watch the loss and the validation metric per epoch; the best epoch is
kept.</li>
<li><b>Results</b>: test metrics with their 95 % intervals, ROC and precision-recall curves.</li>
<li><b>Filters</b>: what the first-layer filters learned, as sequence logos matched to known motifs
(JASPAR).</li>
<li><b>Mutation map</b>: what each base of one sequence contributes.</li>
<li><b>Predict</b>: score new sequences; <b>Variants</b>: the effect of the variants in a VCF;
<b>Compare</b>: all runs side by side; <b>Found motifs</b>: motifs found from the attributions.</li>
</ol>

<h3>Brain scans, step by step</h3>
<ol>
<li><b>Scans</b>: load a folder of NIfTI scans with a label table (subject, diagnosis, site) and read the
audit: missing files, grids, classes per site.</li>
<li><b>Model</b>: the autoencoder → classifier settings: epochs, folds, permutations.</li>
<li><b>Training</b> ▸ Start (Ctrl+R): cross-validation, one autoencoder per fold.</li>
<li><b>Reconstructions</b>: each held-out scan beside its reconstruction and their difference; per-fold
classification with ROC curves, the confusion matrix, the permutation test and the site-only check.</li>
</ol>

<h3>How to read the numbers</h3>
<ul>
<li>Every number is measured on held-out examples the network never trained on (the test set or the held-out
fold); hover a number for its meaning, or see Help ▸ Glossary.</li>
<li>Compare with <b>chance</b> (AUROC 0.5) and with the <b>baselines</b>: a deep network is worth it only
when it beats them by more than the interval in brackets.</li>
<li>A <b>95 % interval</b> that overlaps another run's means the two may not really differ.</li>
<li>A <b>permutation p</b> cannot go below 1/(n+1) with n shufflings: at that floor, run more to show a smaller
one.</li>
<li>For scans, the network must beat the <b>site-only baseline</b>, or it may be telling scanners apart
rather than diagnoses.</li>
</ul>

<h3>Keyboard shortcuts</h3>
<table>{keys}</table>
"""


#: variant-effect columns of effects.tsv (and the Variants table) → glossary term
VARIANT_TERMS = {"ref_score": "Probability bound", "alt_score": "Probability bound",
                 "delta": "Variant effect (delta)", "logit_delta": "Variant effect (logit_delta)"}


def column_title(column: str) -> str:
    """What a prediction column of a CSV/TSV file is called on screen: 'p_bound' → 'Probability bound',
    'p_CTCF' → 'Probability CTCF'; a regression column keeps its label name. The files keep their names."""
    if column.startswith("p_") and len(column) > 2:
        return f"Probability {column[2:]}"
    return column


def column_tip(column: str) -> str:
    """The glossary sentence of a prediction or variant-effect column ('' for one it does not explain)."""
    kind = next((k for k in sorted(VARIANT_TERMS, key=len, reverse=True)
                 if column == k or column.startswith(k + "_")), None)
    if kind is not None:
        return f"{column}: {GLOSSARY[VARIANT_TERMS[kind]]}"
    return GLOSSARY["Probability bound"] if column.startswith("p_") else ""
