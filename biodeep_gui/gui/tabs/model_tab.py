"""The Model tab: which network, its hyper-parameters, the training settings and the device to train on.

Everything shown about a network (parameter count, layers and their output shapes, memory needed) comes from
building the real model with ``core.models`` in a worker thread — torch is imported there, never on the GUI thread
— and the device list from ``core.devices.available_devices``. The form fields are generated from the ``Param``
specs of ``core.models.ARCHITECTURES``, so a new architecture or hyper-parameter appears here without GUI code.

The last entry, "Autoencoder → classifier (brain scans)", is the scans pipeline: its page holds the 3-D
autoencoder's hyper-parameters (from ``SCANS_ARCHITECTURES``), its epochs, batch size and learning rate, and the
cross-validation settings; with the cohort of the Scans tab they make the ``ScansConfig`` that ``scans_config``
returns. The device picker is the same for both kinds of data.
"""
from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QFontDatabase, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from biodeep_gui.core.common.devices import DeviceInfo, format_bytes
from biodeep_gui.core.common.errors import ConfigError
from biodeep_gui.core.scans.config import ScansConfig, ScansCVConfig, ScansDataConfig, ScansTrainConfig
from biodeep_gui.core.scans.models import SCANS_ARCHITECTURES
from biodeep_gui.core.sequences.config import DataConfig, ModelConfig, RunConfig
from biodeep_gui.core.sequences.models import ARCHITECTURES
from biodeep_gui.core.training.architecture import Param
from biodeep_gui.core.training.config import TrainConfig
from biodeep_gui.gui.workers import TaskRunner

#: Input length and outputs assumed for the estimates until data are opened (the demo data's shape).
DEFAULT_LENGTH = 200
DEFAULT_OUTPUTS = 1
#: On the CPU, warn when training needs more than this share of the memory still available.
RAM_WARN_FRACTION = 0.5

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
    Param("cnn_arm", ScansConfig().model.cnn_arm, "Also train a 3-D CNN directly on the volumes, to see what the "
          "compression buys with few subjects."),
)
#: The Training box's settings that apply to the scans pipeline (the others are greyed out for it).
SCANS_TRAIN_KEYS = {"seed", "amp", "class_weighting", "weight_decay", "patience"}

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
}


@dataclass
class LayerRow:
    """One layer of a built network, for display."""

    name: str
    kind: str
    output_shape: tuple[int, ...]  # per sample (no batch dimension)
    n_parameters: int


@dataclass
class ModelInspection:
    """What the worker found out about a model and the machine (plain data, crosses threads).

    memory_bytes / available_bytes : training memory estimate and free memory of the device (None: unknown)
    """

    arch: str
    n_parameters: int = 0
    layers: list[LayerRow] = field(default_factory=list)
    flow: str = ""
    memory_bytes: int | None = None
    available_bytes: int | None = None
    devices: list[DeviceInfo] | None = None
    error: str = ""


def inspect_model(arch: str, params: dict[str, Any], size: int | tuple[int, int, int], n_outputs: int,
                  batch_size: int, device: str, with_devices: bool) -> ModelInspection:
    """Build the model on the CPU and describe it; list the devices when asked. Runs in a worker thread.

    Parameters
    ----------
    arch, params : architecture name (or ``SCANS_ARCH``) and hyper-parameters
    size : input length L (bases), or the (X, Y, Z) grid of the scans autoencoder; n_outputs : K
    batch_size : for the memory estimate
    device : 'cpu', 'cuda:N' or 'mps'; its free memory is compared with the estimate
    with_devices : also run ``available_devices`` (imports torch, queries CUDA)
    """
    from biodeep_gui.core.common import devices as D
    from biodeep_gui.core.scans.models import build_scans_model
    from biodeep_gui.core.sequences.models import build_model, get_architecture
    from biodeep_gui.core.training.architecture import count_parameters

    out = ModelInspection(arch)
    if with_devices:
        out.devices = D.available_devices()
    if arch != SCANS_ARCH and get_architecture(arch).kind != "torch":
        return out
    import torch

    try:
        if arch == SCANS_ARCH:
            ae = SCANS_ARCHITECTURES["autoencoder3d"]
            model = build_scans_model("autoencoder3d", size, {p.name: params[p.name] for p in ae.params})
            sample = (1, *size)
        else:
            model = build_model(arch, size, n_outputs, params)
            sample = (4, size)
    except Exception as exc:  # noqa: BLE001 - e.g. a pooling window longer than the sequence
        what = f"a {_shape(*size)} grid" if arch == SCANS_ARCH else f"{size}-bp sequences"
        out.error = f"This network cannot be built with these settings for {what}: {exc}"
        return out
    out.n_parameters = count_parameters(model)
    out.flow = " ".join((type(model).__doc__ or "").split("\n\n")[0].split())
    shapes: dict[str, tuple[int, ...]] = {}
    leaves = [(n, m) for n, m in model.named_modules() if n and not list(m.children())]

    def hook_for(name):
        def hook(_m, _i, output):
            first = output[0] if isinstance(output, (tuple, list)) else output
            shapes[name] = tuple(first.shape[1:])
        return hook

    handles = [m.register_forward_hook(hook_for(n)) for n, m in leaves]
    model.eval()
    try:
        with torch.no_grad():
            model(torch.zeros(1, *sample))
    finally:
        for h in handles:
            h.remove()
    out.layers = [LayerRow(n, type(m).__name__, shapes.get(n, ()), sum(p.numel() for p in m.parameters()))
                  for n, m in leaves]
    out.memory_bytes = D.estimate_training_memory(model, sample, batch_size)
    out.available_bytes = D.free_memory(device) if device.startswith("cuda") else available_ram()
    return out


def available_ram() -> int | None:
    """Bytes of RAM available to new allocations (Linux MemAvailable; else total physical memory)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def _param_widget(p: Param) -> QWidget:
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
        w = QDoubleSpinBox()
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


def _get(w: QWidget) -> Any:
    if isinstance(w, QComboBox):
        return w.currentData()
    if isinstance(w, QCheckBox):
        return w.isChecked()
    return w.value()


def _set(w: QWidget, value: Any) -> None:
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


class ModelTab(QWidget):
    """Pick and configure the network, the training settings and the device.

    Signals
    -------
    sigDeviceChanged(str) : the chosen device name ('cpu', 'cuda:0', ...)
    sigInspected(object) : a ``ModelInspection`` just shown (parameter count, memory, devices)
    """

    sigDeviceChanged = Signal(str)
    sigInspected = Signal(object)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._length, self._n_outputs, self._data_known = DEFAULT_LENGTH, DEFAULT_OUTPUTS, False
        self._grid, self._grid_known = DEFAULT_GRID, False
        self._scans_base = ScansConfig()  # settings of the scans pipeline that the form does not show
        self._devices: list[DeviceInfo] | None = None
        self._wanted_device = "cpu"
        self._inspection: ModelInspection | None = None
        self._pending = False
        self._active = False  # no worker (hence no torch import) until the first refresh()
        self._runner = TaskRunner(self, name="model-info")
        self._runner.sigFinished.connect(self._on_inspected)
        self._runner.sigFailed.connect(self._on_inspect_failed)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(250)
        self._debounce.timeout.connect(self._inspect_now)

        # -- architecture and hyper-parameters --------------------------------------------------------------
        arch_box = QGroupBox("Network")
        self.arch_combo = QComboBox()
        for name, spec in ARCHITECTURES.items():
            self.arch_combo.addItem(spec.label, name)
            self.arch_combo.setItemData(self.arch_combo.count() - 1, spec.summary, Qt.ItemDataRole.ToolTipRole)
        self.arch_combo.insertSeparator(self.arch_combo.count())
        self.arch_combo.addItem(SCANS_LABEL, SCANS_ARCH)
        self.arch_combo.setItemData(self.arch_combo.count() - 1, SCANS_SUMMARY, Qt.ItemDataRole.ToolTipRole)
        self.arch_combo.setToolTip("The kind of network. Baselines are simple linear models fitted in one step: "
                                   "train one to see whether a deep network is worth it on your data.")
        self.summary_label = QLabel()
        self.summary_label.setWordWrap(True)
        self.summary_label.setStyleSheet("color: #3c4043;")
        self.param_pages = QStackedWidget()
        self._param_widgets: dict[str, dict[str, QWidget]] = {}
        self._pages: dict[str, QWidget] = {}
        pages = [(name, spec.params) for name, spec in ARCHITECTURES.items()] + [(SCANS_ARCH, SCANS_PARAMS)]
        for name, params in pages:
            page = QWidget()
            form = QFormLayout(page)
            form.setContentsMargins(0, 4, 0, 0)
            widgets = {}
            for p in params:
                w = _param_widget(p)
                label = QLabel(_param_label(p.name))
                label.setToolTip(p.help)
                form.addRow(label, w)
                widgets[p.name] = w
                (w.currentIndexChanged if isinstance(w, QComboBox) else
                 w.toggled if isinstance(w, QCheckBox) else w.valueChanged).connect(self._changed)
            self._param_widgets[name] = widgets
            self._pages[name] = page
            self.param_pages.addWidget(page)
        al = QVBoxLayout(arch_box)
        al.addWidget(self.arch_combo)
        al.addWidget(self.summary_label)
        hp = QLabel("<b>Hyper-parameters</b> (hover for help)")
        al.addWidget(hp)
        al.addWidget(self.param_pages)

        # -- training settings ------------------------------------------------------------------------------
        train_box = QGroupBox("Training")
        tf = QFormLayout(train_box)
        self.epochs_spin = QSpinBox()
        self.epochs_spin.setRange(1, 10_000)
        self.batch_spin = QSpinBox()
        self.batch_spin.setRange(1, 65_536)
        self.lr_spin = QDoubleSpinBox()
        self.lr_spin.setDecimals(6)
        self.lr_spin.setRange(1e-6, 10.0)
        self.lr_spin.setStepType(QAbstractSpinBox.StepType.AdaptiveDecimalStepType)
        self.optimizer_combo = QComboBox()
        for key, label, tip in OPTIMIZERS:
            self.optimizer_combo.addItem(label, key)
            self.optimizer_combo.setItemData(self.optimizer_combo.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
        self.decay_spin = QDoubleSpinBox()
        self.decay_spin.setDecimals(6)
        self.decay_spin.setRange(0.0, 1.0)
        self.decay_spin.setStepType(QAbstractSpinBox.StepType.AdaptiveDecimalStepType)
        self.patience_spin = QSpinBox()
        self.patience_spin.setRange(0, 1000)
        self.patience_spin.setSpecialValueText("off")
        self.clip_spin = QDoubleSpinBox()
        self.clip_spin.setRange(0.0, 1000.0)
        self.clip_spin.setSpecialValueText("off")
        self.class_weight_check = QCheckBox("Weight classes by rarity")
        self.rc_check = QCheckBox("Reverse-complement augmentation")
        self.amp_check = QCheckBox("Mixed precision (bf16)")
        self.seed_spin = QSpinBox()
        self.seed_spin.setRange(0, 2**31 - 1)
        self._train_widgets = {"epochs": self.epochs_spin, "batch_size": self.batch_spin, "lr": self.lr_spin,
                               "optimizer": self.optimizer_combo, "weight_decay": self.decay_spin,
                               "patience": self.patience_spin, "grad_clip": self.clip_spin,
                               "class_weighting": self.class_weight_check, "rc_augment": self.rc_check,
                               "seed": self.seed_spin, "amp": self.amp_check}
        labels = {"epochs": "Epochs", "batch_size": "Batch size", "lr": "Learning rate", "optimizer": "Optimiser",
                  "weight_decay": "Weight decay", "patience": "Early-stopping patience",
                  "grad_clip": "Gradient clipping", "seed": "Random seed"}
        for key, w in self._train_widgets.items():
            w.setToolTip(TRAIN_HELP[key])
            if key in labels:
                lab = QLabel(labels[key])
                lab.setToolTip(TRAIN_HELP[key])
                tf.addRow(lab, w)
            else:
                tf.addRow(w)
        self.batch_spin.valueChanged.connect(self._changed)
        self.set_train_config(TrainConfig())

        # -- device -----------------------------------------------------------------------------------------
        device_box = QGroupBox("Device")
        dl = QVBoxLayout(device_box)
        self.device_model = QStandardItemModel(self)
        self.device_combo = QComboBox()
        self.device_combo.setModel(self.device_model)
        self.device_combo.setToolTip("Where the network trains: the CPU, or an NVIDIA GPU (much faster for "
                                     "CNN-LSTM and large data). Greyed-out entries cannot be used; hover for why.")
        self.device_note = QLabel("Looking for GPUs…")
        self.device_note.setWordWrap(True)
        self.device_note.setStyleSheet("color: #5f6368;")
        self.memory_label = QLabel()
        self.memory_label.setWordWrap(True)
        self.memory_label.setToolTip("Weights, gradients, optimiser state and the activations of one batch, "
                                     "measured on the real network; a rough guide, not a promise.")
        dl.addWidget(self.device_combo)
        dl.addWidget(self.device_note)
        dl.addWidget(self.memory_label)
        self._set_device_items([DeviceInfo("cpu", f"CPU ({os.cpu_count()} cores)", True)])
        self.device_combo.currentIndexChanged.connect(self._device_picked)

        # -- what the network looks like ----------------------------------------------------------------------
        layers_box = QGroupBox("Layers")
        ll = QVBoxLayout(layers_box)
        self.params_label = QLabel()
        f = self.params_label.font()
        f.setBold(True)
        self.params_label.setFont(f)
        self.params_label.setToolTip("Trainable weights of the network. More parameters can learn more but need "
                                     "more data to avoid over-fitting.")
        self.shape_label = QLabel()
        self.shape_label.setStyleSheet("color: #5f6368;")
        self.shape_label.setWordWrap(True)
        self.diagram = QPlainTextEdit()
        self.diagram.setReadOnly(True)
        self.diagram.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.diagram.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.diagram.setToolTip("The layers of the network as built for your data, with the shape of what each "
                                "layer passes on (per sequence) and its number of weights.")
        ll.addWidget(self.params_label)
        ll.addWidget(self.shape_label)
        ll.addWidget(self.diagram, 1)

        left, right = QVBoxLayout(), QVBoxLayout()
        left.addWidget(arch_box)
        left.addWidget(train_box)
        left.addStretch(1)
        right.addWidget(device_box)
        right.addWidget(layers_box, 1)
        columns = QHBoxLayout()
        columns.addLayout(left, 2)
        columns.addLayout(right, 3)
        inner = QWidget()
        inner.setLayout(columns)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(inner)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)

        self.arch_combo.currentIndexChanged.connect(self._arch_changed)
        self.set_architecture("cnn")
        self._arch_changed()

    # ---- public API ---------------------------------------------------------------------------------------
    def architecture(self) -> str:
        return self.arch_combo.currentData()

    def set_architecture(self, name: str) -> None:
        i = self.arch_combo.findData(name)
        if i >= 0:
            self.arch_combo.setCurrentIndex(i)

    def params(self, arch: str | None = None) -> dict[str, Any]:
        """Hyper-parameters of ``arch`` (default: the chosen one) as the form holds them."""
        return {k: _get(w) for k, w in self._param_widgets[arch or self.architecture()].items()}

    def set_params(self, arch: str, params: dict[str, Any]) -> None:
        for k, v in params.items():
            if k in self._param_widgets.get(arch, {}):
                _set(self._param_widgets[arch][k], v)

    def is_scans(self) -> bool:
        """Whether the brain-scan pipeline (autoencoder → classifier) is chosen rather than a sequence network."""
        return self.architecture() == SCANS_ARCH

    def model_config(self) -> ModelConfig:
        if self.is_scans():
            raise ConfigError(f"{SCANS_LABEL} trains on brain scans; choose a sequence network in the Model tab to "
                              "train on sequences")
        return ModelConfig(arch=self.architecture(), params=self.params())

    def scans_config(self, data: ScansDataConfig, name: str = "") -> ScansConfig:
        """The brain-scan run configuration: the cohort ``data`` plus the scans page, the seed, class weighting,
        early stopping and mixed precision of the Training box and the device (validated; raises ``ConfigError``)."""
        p = self.params(SCANS_ARCH)
        t = {k: _get(self._train_widgets[k]) for k in SCANS_TRAIN_KEYS}
        cfg = ScansConfig.from_dict(self._scans_base.to_dict())
        cfg.data, cfg.name = data, name
        ae = {q.name: p[q.name] for q in SCANS_ARCHITECTURES["autoencoder3d"].params}
        if data.route == "connectivity":  # a fully-connected autoencoder: of the form, only the code size applies
            dae = {q.name for q in SCANS_ARCHITECTURES["connectivity-dae"].params}
            kept = {k: v for k, v in cfg.model.autoencoder.items() if k in dae}
            cfg.model.autoencoder = {**kept, "code_size": ae["code_size"]}
        else:
            cfg.model.autoencoder = ae
        cfg.model.cnn = {**cfg.model.cnn, "depth": ae["depth"], "channels": ae["channels"]}
        cfg.model.cnn_arm = bool(p["cnn_arm"])
        tr = cfg.train
        tr.epochs, tr.batch_size, tr.lr = int(p["epochs"]), int(p["batch_size"]), float(p["lr"])
        tr.seed, tr.class_weighting = int(t["seed"]), bool(t["class_weighting"])
        tr.weight_decay, tr.patience = float(t["weight_decay"]), int(t["patience"])
        tr.device = self.device()
        tr.amp = bool(t["amp"]) and tr.device.startswith("cuda")
        cfg.cv.folds, cfg.cv.permutations = int(p["folds"]), int(p["permutations"])
        cfg.cv.leave_site_out = bool(p["leave_site_out"])
        cfg.validate()
        return cfg

    def set_scans_config(self, cfg: ScansConfig) -> None:
        """Show a scans configuration (e.g. an opened run's); settings the form lacks are kept for the next run."""
        self._scans_base = ScansConfig.from_dict(cfg.to_dict())
        ae = {q.name: q.default for q in SCANS_ARCHITECTURES["autoencoder3d"].params}
        ae.update({k: v for k, v in cfg.model.autoencoder.items() if k in ae})
        self.set_params(SCANS_ARCH, {**ae, "epochs": cfg.train.epochs, "batch_size": cfg.train.batch_size,
                                     "lr": cfg.train.lr, "folds": cfg.cv.folds, "permutations": cfg.cv.permutations,
                                     "leave_site_out": cfg.cv.leave_site_out, "cnn_arm": cfg.model.cnn_arm})
        for key in SCANS_TRAIN_KEYS:
            _set(self._train_widgets[key], getattr(cfg.train, key))
        if cfg.train.device and cfg.train.device != "auto":
            self.set_device(cfg.train.device)

    def set_scans_route(self, route: str) -> None:
        """'connectivity': grey out what only the 3-D networks use (the code size still applies)."""
        volumes = route != "connectivity"
        for name in ("depth", "channels", "noise_std", "cnn_arm"):
            self._param_widgets[SCANS_ARCH][name].setEnabled(volumes)

    def set_scans_grid(self, grid: tuple[int, int, int]) -> None:
        """Size the scans estimates (parameters, memory) for the loaded cohort's (X, Y, Z) grid."""
        self._grid, self._grid_known = tuple(int(v) for v in grid), True
        self._changed()

    def set_model_config(self, cfg: ModelConfig) -> None:
        self.set_architecture(cfg.arch)
        self.set_params(cfg.arch, cfg.params)

    def train_config(self) -> TrainConfig:
        """Training settings of the form, with the chosen device ('cpu' for the baselines)."""
        values = {k: _get(w) for k, w in self._train_widgets.items()}
        values["amp"] = values["amp"] and self.device().startswith("cuda")
        return TrainConfig(**values, device=self.device())

    def set_train_config(self, cfg: TrainConfig) -> None:
        for key, w in self._train_widgets.items():
            _set(w, getattr(cfg, key))
        if cfg.device and cfg.device != "auto":
            self.set_device(cfg.device)

    def run_config(self, data_cfg: DataConfig, name: str = "") -> RunConfig:
        """The full run configuration: ``data_cfg`` plus the network, training settings and device of this tab."""
        cfg = RunConfig(data=data_cfg, model=self.model_config(), train=self.train_config(), name=name)
        cfg.validate()
        return cfg

    def device(self) -> str:
        """The chosen device name: 'cpu', 'cuda:N' or 'mps' ('cpu' for the scikit-learn baselines)."""
        if not self._deep():
            return "cpu"
        return self.device_combo.currentData() or "cpu"

    def set_device(self, name: str) -> None:
        """Choose a device; remembered and applied once the device list is known if it is not yet."""
        self._wanted_device = name
        self._select_device(name)

    def devices(self) -> list[DeviceInfo] | None:
        """The devices found (None until the worker has looked)."""
        return self._devices

    def inspection(self) -> ModelInspection | None:
        return self._inspection

    def set_data_shape(self, length: int, n_outputs: int) -> None:
        """Size the estimates for the opened data: input length L and K outputs."""
        self._length, self._n_outputs, self._data_known = int(length), int(n_outputs), True
        self._changed()

    def refresh(self, with_devices: bool = True) -> None:
        """Inspect the model (and list devices) in the worker now; from then on, after every change."""
        self._active = True
        self._inspect(with_devices=with_devices)

    def is_busy(self) -> bool:
        return self._runner.is_running()

    def shutdown(self) -> None:
        """Stop and join the worker (before the window closes)."""
        self._active = False
        self._debounce.stop()
        self._pending = False
        self._runner.shutdown()

    def save_settings(self, s: QSettings) -> None:
        s.setValue("model/arch", self.architecture())
        s.setValue("model/params", json.dumps({a: self.params(a) for a in self._param_widgets}))
        t = dataclasses.asdict(self.train_config())
        t.pop("device")
        s.setValue("train/settings", json.dumps(t))
        if self.device_combo.currentData():
            s.setValue("model/device", self.device_combo.currentData())

    def restore_settings(self, s: QSettings) -> None:
        try:
            params = json.loads(str(s.value("model/params", "{}")))
            train = json.loads(str(s.value("train/settings", "{}")))
        except json.JSONDecodeError:
            params, train = {}, {}
        for arch, values in (params.items() if isinstance(params, dict) else []):
            if isinstance(values, dict):
                self.set_params(arch, values)
        if isinstance(train, dict):
            known = {f.name for f in dataclasses.fields(TrainConfig)}
            self.set_train_config(TrainConfig(**{k: v for k, v in train.items() if k in known and k != "device"}))
        self.set_device(str(s.value("model/device", "cpu")))
        self.set_architecture(str(s.value("model/arch", "cnn")))

    # ---- internals ----------------------------------------------------------------------------------------
    def _deep(self, arch: str | None = None) -> bool:
        """Whether ``arch`` (default: the chosen one) is a torch network, trained on the chosen device."""
        arch = arch or self.architecture()
        return arch == SCANS_ARCH or ARCHITECTURES[arch].kind == "torch"

    def _arch_changed(self, *_):
        name = self.architecture()
        scans = name == SCANS_ARCH
        page = self._pages[name]
        self.param_pages.setCurrentWidget(page)
        for i in range(self.param_pages.count()):  # a stacked widget is as tall as its tallest page otherwise
            policy = QSizePolicy.Policy.Preferred if self.param_pages.widget(i) is page else QSizePolicy.Policy.Ignored
            self.param_pages.widget(i).setSizePolicy(policy, policy)
        self.summary_label.setText(SCANS_SUMMARY if scans else ARCHITECTURES[name].summary)
        deep = self._deep(name)
        for key, w in self._train_widgets.items():
            w.setEnabled(key in SCANS_TRAIN_KEYS if scans else deep or key == "seed")
        self.device_combo.setEnabled(deep)
        if not deep:
            spec = ARCHITECTURES[name]
            self.params_label.setText("Baseline: fitted in one step by scikit-learn, on the CPU")
            self.diagram.setPlainText(f"{spec.label}\n\n{spec.summary}\n\nNo epochs, no learning rate: the "
                                      "coefficients are found by a regularised linear fit on the training set.")
            self.memory_label.setText("")
            self.shape_label.setText("")
        self._update_amp()
        self._changed()

    def _changed(self, *_):
        if self._active:
            self._debounce.start()

    def _inspect_now(self) -> None:
        self._inspect(with_devices=self._devices is None)

    def _inspect(self, with_devices: bool) -> None:
        if self._runner.is_running():
            self._pending = True  # inspect again with the newest settings when this one is done
            return
        self._pending = False
        size = self._grid if self.is_scans() else self._length
        self._runner.call(inspect_model, self.architecture(), self.params(), size, self._n_outputs,
                          self._batch_size(), self.device(), with_devices)

    def _batch_size(self) -> int:
        return int(self.params(SCANS_ARCH)["batch_size"]) if self.is_scans() else self.batch_spin.value()

    def _on_inspected(self, res: ModelInspection) -> None:
        if res.devices is not None:
            self._devices = res.devices
            self._set_device_items(res.devices)
        if res.arch == self.architecture() and self._deep(res.arch):
            self._inspection = res
            self._show_inspection(res)
        self.sigInspected.emit(res)
        if self._pending:
            self._inspect_now()

    def _on_inspect_failed(self, message: str, _details: str) -> None:
        self.params_label.setText("The network could not be inspected")
        self.diagram.setPlainText(message)
        if self._pending:
            self._inspect_now()

    def _show_inspection(self, res: ModelInspection) -> None:
        if res.arch == SCANS_ARCH:
            self.shape_label.setText(f"3-D autoencoder built for a {_shape(*self._grid)} grid" + (
                " (the loaded cohort's)" if self._grid_known else
                " (the demo cohort's; loading a cohort in the Scans tab sizes it for yours)"))
            first = ("input", "volume", _shape(1, *self._grid))
        else:
            shape = f"{self._length:,}-bp sequences, {self._n_outputs} output{'s' if self._n_outputs != 1 else ''}"
            self.shape_label.setText(f"Built for {shape}" + ("" if self._data_known else
                                                             " (until you open data; then for your data's shape)"))
            first = ("input", "one-hot", _shape(4, self._length))
        if res.error:
            self.params_label.setText("Cannot build this network")
            self.diagram.setPlainText(res.error)
            self.memory_label.setText("")
            return
        self.params_label.setText(f"{res.n_parameters:,} trainable parameters")
        kind_w = max([11, *(len(r.kind) + 1 for r in res.layers)])  # e.g. ConvTranspose3d
        name_w = max([14, *(len(r.name) + 1 for r in res.layers)])
        lines = [*_flow_lines(res.flow), "", f"{'layer':<{name_w}}{'type':<{kind_w}}{'output':>16}{'weights':>11}",
                 f"{first[0]:<{name_w}}{first[1]:<{kind_w}}{first[2]:>16}{'':>11}"]
        for row in res.layers:
            lines.append(f"{row.name:<{name_w}}{row.kind:<{kind_w}}{_shape(*row.output_shape):>16}"
                         f"{(f'{row.n_parameters:,}' if row.n_parameters else ''):>11}")
        self.diagram.setPlainText("\n".join(lines))
        self._show_memory(res)

    def _show_memory(self, res: ModelInspection) -> None:
        if res.memory_bytes is None:
            self.memory_label.setText("")
            return
        need = res.memory_bytes
        text = f"Estimated training memory: <b>{format_bytes(need)}</b> at batch size {self._batch_size():,}"
        dev = self.device()
        avail = res.available_bytes
        warn = ""
        if avail is not None:
            if dev.startswith("cuda") and need > avail:
                warn = (f"More than the {format_bytes(avail)} free on this GPU: training would run out of memory. "
                        "Lower the batch size or choose a smaller network.")
            elif dev == "cpu" and need > RAM_WARN_FRACTION * avail:
                warn = (f"That is more than half of the {format_bytes(avail)} of memory still free; the computer "
                        "may slow down or run out of memory. Lower the batch size or choose a smaller network.")
            else:
                text += f" ({format_bytes(avail)} free)"
        if warn:
            text += f"<br><span style='color:#b3261e'><b>Warning:</b> {warn}</span>"
        self.memory_label.setText(text)
        self.memory_label.setProperty("warning", bool(warn))

    def _set_device_items(self, devices: list[DeviceInfo]) -> None:
        self.device_combo.blockSignals(True)
        self.device_model.clear()
        notes = []
        for d in devices:
            item = QStandardItem(d.label if d.usable else f"{d.label}")
            item.setData(d.name, Qt.ItemDataRole.UserRole)
            item.setEnabled(d.usable)
            item.setToolTip(d.label if d.usable else f"Not usable: {d.reason}")
            self.device_model.appendRow(item)
            if not d.usable:
                notes.append(f"CUDA not usable: {d.reason}." if d.name.startswith("cuda") else
                             f"{d.label} not usable: {d.reason}.")
        self.device_combo.blockSignals(False)
        if self._devices is None:
            self.device_note.setText("Looking for GPUs…")
        elif notes:
            self.device_note.setText(" ".join(notes))
        else:
            gpus = [d for d in devices if d.name != "cpu" and d.usable]
            self.device_note.setText(f"{len(gpus)} GPU{'s' if len(gpus) != 1 else ''} ready." if gpus else "")
        self._select_device(self._wanted_device)

    def _select_device(self, name: str) -> None:
        """Select ``name`` if it is listed and usable, else the first usable GPU ('cuda' asks for any), else CPU."""
        want = [name] if name != "cuda" else []
        if name in ("cuda", "auto"):
            want += [self.device_model.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.device_model.rowCount())
                     if str(self.device_model.item(i).data(Qt.ItemDataRole.UserRole)).startswith("cuda")]
        for candidate in want + ["cpu"]:
            for i in range(self.device_model.rowCount()):
                item = self.device_model.item(i)
                if item.data(Qt.ItemDataRole.UserRole) == candidate and item.isEnabled():
                    if self.device_combo.currentIndex() != i:
                        self.device_combo.setCurrentIndex(i)
                    else:
                        self._update_amp()
                    return

    def _device_picked(self, *_):
        name = self.device_combo.currentData() or "cpu"
        if self._devices is not None:
            self._wanted_device = name  # the user's choice (before the list is known, keep the remembered one)
        self._update_amp()
        self.sigDeviceChanged.emit(name)
        self._changed()

    def _update_amp(self) -> None:
        cuda = self.device().startswith("cuda")
        self.amp_check.setEnabled(cuda and self._deep())
        self.amp_check.setToolTip(TRAIN_HELP["amp"] if cuda else TRAIN_HELP["amp"] + " (choose a CUDA device)")


#: Form labels that the parameter name does not spell out well.
PARAM_LABELS = {"lr": "Learning rate", "noise_std": "Denoising noise", "cnn_arm": "Compare with a 3-D CNN",
                "leave_site_out": "Leave one site out"}


def _param_label(name: str) -> str:
    """'rnn_hidden' -> 'RNN hidden', 'filter_width' -> 'Filter width'."""
    if name in PARAM_LABELS:
        return PARAM_LABELS[name]
    words = [{"rnn": "RNN", "lstm": "LSTM"}.get(w, w) for w in name.split("_")]
    text = " ".join(words)
    return text[0].upper() + text[1:] if text else text


def _flow_lines(flow: str) -> list[str]:
    """A model docstring's data flow 'a -> b -> c' as one step per line, for a narrow panel."""
    steps = [s.strip() for s in flow.split("->") if s.strip()]
    return [("   " if i else "") + ("-> " if i else "") + step for i, step in enumerate(steps)]


def _shape(*dims: int) -> str:
    return " × ".join(str(d) for d in dims) if dims else "-"
