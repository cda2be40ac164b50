"""The window's two sciences: which tabs each shows, and the next step each tab suggests.

BioDeep serves two sciences that share only the Model and Training tabs: DNA sequences (Sequences → … → Found
motifs) and brain scans (Scans → Model → Training → Reconstructions). The window shows the tabs of one science
at a time (``MainWindow.set_science``); this module is the one table of which tab belongs where and what comes
after it, so the tab bar, the domain switch and the next-step hints cannot disagree.
"""
from __future__ import annotations

DNA = "dna"
SCANS = "scans"
#: The sciences in the order of the domain switch, with their button labels.
LABELS = {DNA: "DNA sequences", SCANS: "Brain scans"}
#: What each button of the domain switch says on hover.
TIPS = {DNA: "Sequences → Model → Training → Results and the interpretation tabs: learn where a transcription "
             "factor binds from DNA sequences.",
        SCANS: "Scans → Model → Training → Reconstructions: learn a diagnosis from brain scans (NIfTI) with an "
               "autoencoder → classifier."}

#: Where each science's work starts: the tab shown when the user switches to it from a tab it hides.
FIRST = {DNA: "Sequences", SCANS: "Scans"}

#: (title, tooltip, sciences) of the window's tabs, in their fixed order (the tab indices never change; a tab
#: of the other science is hidden, not removed).
TABS = (("Sequences", "Open the sequences and labels to learn from.", (DNA,)),
        ("Model", "Choose the network, its settings and the device.", (DNA, SCANS)),
        ("Training", "Train and watch the curves.", (DNA, SCANS)),
        ("Results", "Test metrics and plots of a run.", (DNA,)),
        ("Filters", "What the first-layer filters of a CNN learned: sequence logos matched to JASPAR.", (DNA,)),
        ("Mutation map", "What each base of one sequence contributes: in-silico saturation mutagenesis.", (DNA,)),
        ("Predict", "Score new sequences with a trained run.", (DNA,)),
        ("Compare", "All runs side by side, deep models against baselines.", (DNA,)),
        ("Variants", "Effects of the variants in a VCF on the predicted binding (ref vs alt alleles).", (DNA,)),
        ("Found motifs", "Discovered motifs: found from the attributions of the test positives (TF-MoDISco-lite) "
                         "and matched to JASPAR.", (DNA,)),
        ("Scans", "Brain scans: load a NIfTI cohort with its label table, audit it, train autoencoder → "
                  "classifier.", (SCANS,)),
        ("Reconstructions", "Originals, reconstructions and differences; cross-validated classification.", (SCANS,)))

#: Per science and tab title: the next-step hint ("{link}" is where the link to the target tab goes) and the
#: title of the tab the link opens.
HINTS: dict[tuple[str, str], tuple[str, str]] = {
    (DNA, "Sequences"): ("Next: {link} to choose the network, then Training ▸ Start (Ctrl+R)", "Model"),
    (DNA, "Model"): ("Next: {link} ▸ Start (Ctrl+R) trains this network on the opened sequences", "Training"),
    (DNA, "Training"): ("Next: {link}: the test metrics and curves of the run once it has finished", "Results"),
    (DNA, "Results"): ("Next: {link}: what the first-layer filters of a CNN learned", "Filters"),
    (DNA, "Filters"): ("Next: {link}: what each base of one sequence contributes", "Mutation map"),
    (DNA, "Mutation map"): ("Next: {link}: score new sequences with this run", "Predict"),
    (DNA, "Predict"): ("Next: {link}: all runs side by side, deep models against baselines", "Compare"),
    (DNA, "Compare"): ("Next: {link}: the effect of the variants in a VCF on the predicted binding", "Variants"),
    (DNA, "Variants"): ("Next: {link}: motifs found from the attributions of the test positives", "Found motifs"),
    (DNA, "Found motifs"): ("Last step. Try other data in {link}, or another network in the Model tab",
                            "Sequences"),
    (SCANS, "Scans"): ("Next: {link} for the autoencoder → classifier settings, then Training ▸ Start (Ctrl+R)",
                       "Model"),
    (SCANS, "Model"): ("Next: {link} ▸ Start (Ctrl+R) trains on the cohort of the Scans tab", "Training"),
    (SCANS, "Training"): ("Next: {link}: per-fold results and reconstructions once it has finished",
                          "Reconstructions"),
    (SCANS, "Reconstructions"): ("Last step. Load another cohort in {link}, or change the settings in the Model tab",
                                 "Scans"),
}


def titles(science: str) -> list[str]:
    """Titles of the tabs ``science`` shows, in tab order."""
    return [title for title, _tip, sciences in TABS if science in sciences]


def science_of(title: str, current: str) -> str:
    """The science a tab belongs to: ``current`` when the tab is shared (Model, Training) or unknown."""
    for t, _tip, sciences in TABS:
        if t == title and current not in sciences:
            return sciences[0]
    return current
