"""The Model tab's forms: the architecture entries, the settings they offer and one widget per ``Param``.

The hyper-parameter fields are generated from the ``Param`` specs of ``core.sequences.models.ARCHITECTURES`` (and of
the scans autoencoder), so a new architecture or hyper-parameter appears in the Model tab without GUI code.
``param_widget`` makes the field, ``widget_value`` / ``set_widget_value`` read and write it; ``training_widgets``
and ``training_box`` make the Training box.
"""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QSpinBox,
    QWidget,
)

from biodeep_gui.core.scans.config import HARMONISATIONS, ScansConfig, ScansCVConfig, ScansTrainConfig
from biodeep_gui.core.scans.models import SCANS_ARCHITECTURES
from biodeep_gui.core.training.architecture import Param
from biodeep_gui.gui.widgets.number_box import NumberBox

#: The architecture entry of the brain-scan pipeline (not in ``ARCHITECTURES``: it is not a sequence network).
SCANS_ARCH = "scans"
SCANS_LABEL = "Autoencoder → classifier (brain scans)"
SCANS_SUMMARY = ("Brain scans: a 3-D convolutional autoencoder compresses each scan to a short code; a logistic "
                 "regression and a small MLP classify the codes. Cross-validated, with every step fitted inside "
                 "each fold. Choose the cohort in the Scans tab.")
#: Grid assumed for the scans estimates until a cohort is loaded (the demo cohort on its 6-mm grid).
DEFAULT_GRID = (31, 37, 31)
_ST, _CV = ScansTrainConfig(), ScansCVConfig()
#: The scans page: the autoencoder's hyper-parameters, then how it trains and how it is cross-validated.
SCANS_PARAMS = (
    *SCANS_ARCHITECTURES["autoencoder3d"].params,
    Param("epochs", _ST.epochs, "Passes over each fold's training scans for the autoencoder (the best epoch by "
          "held-out reconstruction is kept).", 1, 10_000),
    Param("batch_size", _ST.batch_size, "Scans per optimisation step. 3-D volumes are large: keep it small.", 1, 1024),
    Param("lr", _ST.lr, "Step size of the optimiser for the autoencoder and the 3-D CNN.", 1e-6, 10.0),
    Param("folds", _CV.folds, "k of the stratified k-fold cross-validation (by label, and by site when the table "
          "has a site column).", 2, 50),
    Param("leave_site_out", _CV.leave_site_out, "One fold per acquisition site instead of k folds: does the "
          "classifier work on a site it has never seen? Needs a site column."),
    Param("permutations", _CV.permutations, "Label shuffles for the chance level and p-value of the accuracy "
          "(0 = none).", 0, 100_000),
    Param("harmonise", _CV.harmonise, "Site harmonisation of the codes inside each fold: site-centre subtracts, "
          "from every code, the mean training code of its site (fitted on the fold's training subjects only). "
          "Needs a site column.", choices=HARMONISATIONS),
    Param("cnn_arm", ScansConfig().model.cnn_arm, "Also train a 3-D CNN directly on the volumes, to see what the "
          "compression buys with few subjects."),
)
#: The Training box's settings that apply to the scans pipeline (the others are greyed out for it).
SCANS_TRAIN_KEYS = {"seed", "amp", "class_weighting", "weight_decay", "patience"}
#: Of those, the ones whose defaults differ between the pipelines: each page of the Model tab keeps its own.
PAGE_TRAIN_KEYS = {"class_weighting", "weight_decay", "patience"}

OPTIMIZERS = (("adam", "Adam", "Adaptive learning rates per weight; the usual first choice."),
              ("adamw", "AdamW", "Adam with decoupled weight decay; better regularisation with weight decay > 0."),
              ("sgd", "SGD (momentum 0.9)", "Plain stochastic gradient descent with momentum; needs a larger "
                                            "learning rate (e.g. 0.01) and more epochs."))

TRAIN_HELP = {
    "epochs": "Passes over the training sequences. Early stopping may end training sooner.",
    "batch_size": "Sequences per optimisation step. Larger batches train faster on a GPU but need more memory.",
    "lr": "Step size of the optimiser. Lower it (e.g. ÷10) if the loss jumps around or becomes NaN.",
    "optimizer": "How the weights are updated from the gradients.",
    "weight_decay": "Pulls weights towards zero (L2 regularisation); 0 = off.",
    "patience": "Stop when the validation metric has not improved for this many epochs; the best epoch is kept. "
                "'off' trains every epoch.",
    "grad_clip": "Largest allowed gradient norm; stabilises training of recurrent networks. 'off' = no clipping.",
    "class_weighting": "Weight the rare class up in the loss, for unbalanced data (e.g. few bound sequences).",
    "rc_augment": "Show each sequence as its reverse complement half of the time: binding sites work on both "
                  "strands, so this doubles the useful data.",
    "seed": "Seed of every random choice (split, initial weights, batches): the same seed gives the same run.",
    "amp": "Mixed precision (bfloat16) on an NVIDIA GPU: less memory, sometimes faster. CUDA only.",
    "compile": "Compile the network with torch.compile before training: the first batches wait for the compiler "
               "(tens of seconds), later ones may run faster. If it cannot compile here, training runs uncompiled "
               "and the log says why.",
}


#: Form labels that the parameter name does not spell out well.
PARAM_LABELS = {"lr": "Learning rate", "noise_std": "Denoising noise", "cnn_arm": "Compare with a 3-D CNN",
                "leave_site_out": "Leave one site out"}


def param_label(name: str) -> str:
    """'rnn_hidden' -> 'RNN hidden', 'filter_width' -> 'Filter width'."""
    if name in PARAM_LABELS:
        return PARAM_LABELS[name]
    words = [{"rnn": "RNN", "lstm": "LSTM"}.get(w, w) for w in name.split("_")]
    text = " ".join(words)
    return text[0].upper() + text[1:] if text else text


def param_widget(p: Param) -> QWidget:
    """A spin box or combo box for one hyper-parameter, with its range, default and help."""
    if p.choices:
        w = QComboBox()
        for c in p.choices:
            w.addItem(c.upper() if len(c) <= 4 else c, c)
        w.setCurrentIndex(list(p.choices).index(p.default))
    elif isinstance(p.default, bool):
        w = QCheckBox()
        w.setChecked(p.default)
    elif isinstance(p.default, int):
        w = QSpinBox()
        w.setRange(int(p.minimum if p.minimum is not None else 0), int(p.maximum if p.maximum is not None else 10**9))
        w.setValue(p.default)
    else:
        w = NumberBox()
        lo = p.minimum if p.minimum is not None else 0.0
        hi = p.maximum if p.maximum is not None else 1e9
        wide = lo > 0 and hi / lo > 1e3  # e.g. C from 1e-6 to 1e6: many decimals, steps that scale with the value
        w.setDecimals(6 if wide else 2)
        w.setRange(lo, hi)
        if wide:
            w.setStepType(QAbstractSpinBox.StepType.AdaptiveDecimalStepType)
        else:
            w.setSingleStep(0.05)
        w.setValue(p.default)
    tip = f"{p.help}\nDefault: {p.default}"
    if p.minimum is not None and p.maximum is not None:
        tip += f" (from {p.minimum:g} to {p.maximum:g})"
    w.setToolTip(tip)
    return w


def widget_value(w: QWidget) -> Any:
    """The value a ``param_widget`` holds (a combo box's item data)."""
    if isinstance(w, QComboBox):
        return w.currentData()
    if isinstance(w, QCheckBox):
        return w.isChecked()
    return w.value()


def set_widget_value(w: QWidget, value: Any) -> None:
    """Show ``value`` in a ``param_widget``; a value of the wrong type or an unknown choice is ignored."""
    try:
        if isinstance(w, QComboBox):
            i = w.findData(value)
            if i >= 0:
                w.setCurrentIndex(i)
        elif isinstance(w, QCheckBox):
            w.setChecked(bool(value))
        elif isinstance(w, QSpinBox):
            w.setValue(int(value))
        else:
            w.setValue(float(value))
    except (TypeError, ValueError):
        pass  # a damaged saved setting keeps the default


def param_page(params, on_change) -> tuple[QWidget, dict[str, QWidget]]:
    """A form page with one labelled field per ``Param``; every edit calls ``on_change``.

    Returns the page and its fields by parameter name.
    """
    page = QWidget()
    form = QFormLayout(page)
    form.setContentsMargins(0, 4, 0, 0)
    widgets = {}
    for p in params:
        w = param_widget(p)
        label = QLabel(param_label(p.name))
        label.setToolTip(p.help)
        form.addRow(label, w)
        widgets[p.name] = w
        (w.currentIndexChanged if isinstance(w, QComboBox) else
         w.toggled if isinstance(w, QCheckBox) else w.valueChanged).connect(on_change)
    return page, widgets


#: Row labels of the Training box (check boxes carry their own text).
TRAIN_LABELS = {"epochs": "Epochs", "batch_size": "Batch size", "lr": "Learning rate", "optimizer": "Optimiser",
                "weight_decay": "Weight decay", "patience": "Early-stopping patience",
                "grad_clip": "Gradient clipping", "seed": "Random seed"}


def training_widgets() -> dict[str, QWidget]:
    """The fields of the Training box by ``TrainConfig`` field name, with their ranges and help."""
    epochs = QSpinBox()
    epochs.setRange(1, 10_000)
    batch = QSpinBox()
    batch.setRange(1, 65_536)
    lr = NumberBox()
    lr.setDecimals(6)
    lr.setRange(1e-6, 10.0)
    lr.setStepType(QAbstractSpinBox.StepType.AdaptiveDecimalStepType)
    optimizer = QComboBox()
    for key, label, tip in OPTIMIZERS:
        optimizer.addItem(label, key)
        optimizer.setItemData(optimizer.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
    decay = NumberBox()
    decay.setDecimals(6)
    decay.setRange(0.0, 1.0)
    decay.setStepType(QAbstractSpinBox.StepType.AdaptiveDecimalStepType)
    patience = QSpinBox()
    patience.setRange(0, 1000)
    patience.setSpecialValueText("off")
    clip = NumberBox()
    clip.setRange(0.0, 1000.0)
    clip.setSpecialValueText("off")
    seed = QSpinBox()
    seed.setRange(0, 2**31 - 1)
    widgets = {"epochs": epochs, "batch_size": batch, "lr": lr, "optimizer": optimizer, "weight_decay": decay,
               "patience": patience, "grad_clip": clip,
               "class_weighting": QCheckBox("Weight classes by rarity"),
               "rc_augment": QCheckBox("Reverse-complement augmentation"),
               "seed": seed, "amp": QCheckBox("Mixed precision (bf16)"),
               "compile": QCheckBox("Compile the model (torch.compile)")}
    for key, w in widgets.items():
        w.setToolTip(TRAIN_HELP[key])
    return widgets


def training_box(widgets: dict[str, QWidget]) -> QGroupBox:
    """The Training group box: ``training_widgets`` in a form, labelled by ``TRAIN_LABELS``."""
    box = QGroupBox("Training")
    form = QFormLayout(box)
    for key, w in widgets.items():
        if key in TRAIN_LABELS:
            lab = QLabel(TRAIN_LABELS[key])
            lab.setToolTip(TRAIN_HELP[key])
            form.addRow(lab, w)
        else:
            form.addRow(w)
    return box
