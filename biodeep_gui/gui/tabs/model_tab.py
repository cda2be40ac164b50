"""The Model tab: which network, its hyper-parameters, the training settings and the device to train on.

Everything shown about a network (parameter count, layers and their output shapes, memory needed) comes from
building the real model in the tab's worker thread (``model_inspection.inspect_task``, which calls
``core.training.inspect.inspect_model``) — torch is imported there, never on the GUI thread — and the device list
from ``core.common.devices.available_devices``. The form fields are generated from the ``Param`` specs of the
architectures (``model_forms``), so a new architecture or hyper-parameter appears here without GUI code.
Above the layer list (folded under "Layer details") the network is drawn as blocks in words
(``core.sequences.models.diagram`` / ``core.scans.models.diagram``, painted by ``figures.architecture``): pure
Python, redrawn on every edit without the worker.

The last entry, "Autoencoder → classifier (brain scans)", is the scans pipeline: its page holds the 3-D
autoencoder's hyper-parameters (from ``SCANS_ARCHITECTURES``), its epochs, batch size and learning rate, and the
cross-validation settings; with the cohort of the Scans tab they make the ``ScansConfig`` that ``scans_config``
returns. The device picker is the same for both kinds of data. The Training box serves both pages, but each
page keeps its own early stopping, class weighting and weight decay (their defaults differ), and for scans the
box hides the rows the scans page already has (epochs, batch size, learning rate) or that do not apply.
"""
from __future__ import annotations

import dataclasses
import json
import os
from typing import Any

from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QFontDatabase, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QScrollArea,
    QSizePolicy,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from biodeep_gui.core.common.devices import DeviceInfo
from biodeep_gui.core.common.errors import ConfigError
from biodeep_gui.core.scans.config import ScansConfig, ScansDataConfig
from biodeep_gui.core.scans.models import SCANS_ARCHITECTURES
from biodeep_gui.core.scans.models.diagram import autoencoder_blocks, connectivity_blocks
from biodeep_gui.core.sequences.config import DataConfig, ModelConfig, RunConfig
from biodeep_gui.core.sequences.models import ARCHITECTURES
from biodeep_gui.core.sequences.models.diagram import sequence_blocks
from biodeep_gui.core.training.config import TrainConfig
from biodeep_gui.gui.tabs.model_forms import (
    DEFAULT_GRID,
    PAGE_TRAIN_KEYS,
    SCANS_ARCH,
    SCANS_LABEL,
    SCANS_PARAMS,
    SCANS_SUMMARY,
    SCANS_TRAIN_KEYS,
    TRAIN_HELP,
    param_page,
    set_widget_value,
    training_box,
    training_widgets,
    widget_value,
)
from biodeep_gui.gui.tabs.model_inspection import (
    ModelInspection,
    inspect_task,
    layer_table,
    memory_text,
    shape_text,
)
from biodeep_gui.gui.widgets.architecture_view import ArchitectureView
from biodeep_gui.gui.workers import TaskRunner

#: Input length and outputs assumed for the estimates until data are opened (the demo data's shape).
DEFAULT_LENGTH = 200
DEFAULT_OUTPUTS = 1

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
        self._task, self._scans_route = "", "auto"  # no task before data are opened: a neutral output
        self._names: tuple[list[str], list[str]] = ([], [])  # the opened data's label and class names
        self.drawing = ArchitectureView()  # before the form: its first edits redraw it
        self._grid, self._grid_known = DEFAULT_GRID, False
        self._scans_base = ScansConfig()  # settings of the scans pipeline that the form does not show
        # The Training box's early stopping, class weighting and weight decay serve both pages, but the two
        # pipelines default differently (scans: patience off, classes weighted): each page keeps its own values,
        # and the box shows the chosen page's. ``_kept[page]`` holds the values of the page not shown.
        st = self._scans_base.train
        self._kept = {True: {k: getattr(st, k) for k in PAGE_TRAIN_KEYS}, False: {}}
        self._shown_scans = False
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
            page, widgets = param_page(params, self._changed)
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
        self._train_widgets = w = training_widgets()
        self.epochs_spin, self.batch_spin, self.lr_spin = w["epochs"], w["batch_size"], w["lr"]
        self.optimizer_combo, self.decay_spin, self.patience_spin = w["optimizer"], w["weight_decay"], w["patience"]
        self.clip_spin, self.class_weight_check, self.rc_check = w["grad_clip"], w["class_weighting"], w["rc_augment"]
        self.seed_spin, self.amp_check = w["seed"], w["amp"]
        train_box = training_box(w)
        self._train_form = train_box.layout()
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
        # the PyTorch layer list is for those who want it: folded away under the drawn network
        self.details_toggle = QToolButton()
        self.details_toggle.setText("Layer details")
        self.details_toggle.setCheckable(True)
        self.details_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.details_toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.details_toggle.setAutoRaise(True)
        self.details_toggle.toggled.connect(self._toggle_details)
        self.diagram.setVisible(False)
        ll.addWidget(self.params_label)
        ll.addWidget(self.shape_label)
        ll.addWidget(self.drawing)
        ll.addWidget(self.details_toggle)
        ll.addWidget(self.diagram, 1)
        ll.addStretch(0)

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
        return {k: widget_value(w) for k, w in self._param_widgets[arch or self.architecture()].items()}

    def set_params(self, arch: str, params: dict[str, Any]) -> None:
        for k, v in params.items():
            if k in self._param_widgets.get(arch, {}):
                set_widget_value(self._param_widgets[arch][k], v)

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
        t = {**{k: widget_value(self._train_widgets[k]) for k in SCANS_TRAIN_KEYS}, **self._page_train(True)}
        cfg = ScansConfig.from_dict(self._scans_base.to_dict())
        cfg.data, cfg.name = data, name
        ae = {q.name: p[q.name] for q in SCANS_ARCHITECTURES["autoencoder3d"].params}
        if data.route == "connectivity":  # a fully-connected autoencoder: of the form, only the code size applies
            dae = {q.name for q in SCANS_ARCHITECTURES["connectivity-dae"].params}
            kept = {k: v for k, v in cfg.model.autoencoder.items() if k in dae}
            cfg.model.autoencoder = {**kept, "code_size": ae["code_size"]}
        else:
            cfg.model.autoencoder = ae
        # the CNN arm keeps its own depth (the autoencoder's default is shallower); it shares the channel width
        cnn_depth = next(q.default for q in SCANS_ARCHITECTURES["cnn3d"].params if q.name == "depth")
        cfg.model.cnn = {**cfg.model.cnn, "depth": cfg.model.cnn.get("depth", cnn_depth), "channels": ae["channels"]}
        cfg.model.cnn_arm = bool(p["cnn_arm"])
        tr = cfg.train
        tr.epochs, tr.batch_size, tr.lr = int(p["epochs"]), int(p["batch_size"]), float(p["lr"])
        tr.seed, tr.class_weighting = int(t["seed"]), bool(t["class_weighting"])
        tr.weight_decay, tr.patience = float(t["weight_decay"]), int(t["patience"])
        tr.device = self.device()
        tr.amp = bool(t["amp"]) and tr.device.startswith("cuda")
        cfg.cv.folds, cfg.cv.permutations = int(p["folds"]), int(p["permutations"])
        cfg.cv.leave_site_out, cfg.cv.harmonise = bool(p["leave_site_out"]), str(p["harmonise"])
        cfg.validate()
        return cfg

    def set_scans_config(self, cfg: ScansConfig) -> None:
        """Show a scans configuration (e.g. an opened run's); settings the form lacks are kept for the next run."""
        self._scans_base = ScansConfig.from_dict(cfg.to_dict())
        ae = {q.name: q.default for q in SCANS_ARCHITECTURES["autoencoder3d"].params}
        ae.update({k: v for k, v in cfg.model.autoencoder.items() if k in ae})
        self.set_params(SCANS_ARCH, {**ae, "epochs": cfg.train.epochs, "batch_size": cfg.train.batch_size,
                                     "lr": cfg.train.lr, "folds": cfg.cv.folds, "permutations": cfg.cv.permutations,
                                     "leave_site_out": cfg.cv.leave_site_out, "cnn_arm": cfg.model.cnn_arm,
                                     "harmonise": cfg.cv.harmonise})
        for key in SCANS_TRAIN_KEYS - PAGE_TRAIN_KEYS:
            set_widget_value(self._train_widgets[key], getattr(cfg.train, key))
        self._set_page_train(True, {k: getattr(cfg.train, k) for k in PAGE_TRAIN_KEYS})
        if cfg.train.device and cfg.train.device != "auto":
            self.set_device(cfg.train.device)

    def set_scans_route(self, route: str) -> None:
        """'connectivity': grey out what only the 3-D networks use (the code size still applies)."""
        volumes = route != "connectivity"
        self._scans_route = route
        self._draw()
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
        values = {**{k: widget_value(w) for k, w in self._train_widgets.items()}, **self._page_train(False)}
        values["amp"] = values["amp"] and self.device().startswith("cuda")
        return TrainConfig(**values, device=self.device())

    def set_train_config(self, cfg: TrainConfig) -> None:
        for key, w in self._train_widgets.items():
            if key not in PAGE_TRAIN_KEYS:
                set_widget_value(w, getattr(cfg, key))
        self._set_page_train(False, {k: getattr(cfg, k) for k in PAGE_TRAIN_KEYS})
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

    def set_data_shape(self, length: int, n_outputs: int, task: str = "binary", label_names=(),
                       class_names=()) -> None:
        """Size the estimates for the opened data: input length L and K outputs of ``task``; the drawing names
        the output by the data's ``label_names`` (T,) and ``class_names`` (K,)."""
        self._length, self._n_outputs, self._data_known = int(length), int(n_outputs), True
        self._task, self._names = task, (list(label_names), list(class_names))
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
        s.setValue("train/scans", json.dumps(self._page_train(True)))
        if self.device_combo.currentData():
            s.setValue("model/device", self.device_combo.currentData())

    def restore_settings(self, s: QSettings) -> None:
        try:
            params = json.loads(str(s.value("model/params", "{}")))
            train = json.loads(str(s.value("train/settings", "{}")))
            scans_train = json.loads(str(s.value("train/scans", "{}")))
        except json.JSONDecodeError:
            params, train, scans_train = {}, {}, {}
        for arch, values in (params.items() if isinstance(params, dict) else []):
            if isinstance(values, dict):
                self.set_params(arch, values)
        if isinstance(train, dict):
            known = {f.name for f in dataclasses.fields(TrainConfig)}
            self.set_train_config(TrainConfig(**{k: v for k, v in train.items() if k in known and k != "device"}))
        if isinstance(scans_train, dict):
            self._set_page_train(True, {k: v for k, v in scans_train.items() if k in PAGE_TRAIN_KEYS})
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
        if scans != self._shown_scans:  # swap the Training box's values to the chosen page's
            self._kept[self._shown_scans] = self._page_train(self._shown_scans)
            self._shown_scans = scans
            self._set_page_train(scans, self._kept[scans])
        for key, w in self._train_widgets.items():
            w.setEnabled(key in SCANS_TRAIN_KEYS if scans else deep or key == "seed")
            # the scans page has its own epochs, batch size and learning rate: the box hides what does not apply
            self._train_form.setRowVisible(w, key in SCANS_TRAIN_KEYS or not scans)
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

    def _page_train(self, scans: bool) -> dict[str, Any]:
        """The early-stopping, class-weighting and weight-decay values of the scans (True) or sequence page."""
        if scans == self._shown_scans:
            return {k: widget_value(self._train_widgets[k]) for k in PAGE_TRAIN_KEYS}
        return dict(self._kept[scans])

    def _set_page_train(self, scans: bool, values: dict[str, Any]) -> None:
        if scans == self._shown_scans:
            for k, v in values.items():
                set_widget_value(self._train_widgets[k], v)
        else:
            self._kept[scans].update(values)

    def _toggle_details(self, on: bool) -> None:
        self.details_toggle.setArrowType(Qt.ArrowType.DownArrow if on else Qt.ArrowType.RightArrow)
        self.diagram.setVisible(on)

    def _draw(self) -> None:
        """The drawn network for the chosen page and the opened data (pure Python: no worker needed)."""
        name = self.architecture()
        if name == SCANS_ARCH and self._scans_route == "connectivity":
            self.drawing.set_blocks(connectivity_blocks(self.params(SCANS_ARCH)["code_size"]))
        elif name == SCANS_ARCH:
            self.drawing.set_blocks(autoencoder_blocks(self._grid, self.params(SCANS_ARCH)))
        else:
            self.drawing.set_blocks(sequence_blocks(name, self.params(name), self._length, self._n_outputs,
                                                    self._task, *self._names))

    def _changed(self, *_):
        self._draw()
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
        self._runner.call(inspect_task, self.architecture(), self.params(), size, self._n_outputs,
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
            self.shape_label.setText(f"3-D autoencoder built for a {shape_text(*self._grid)} grid" + (
                " (the loaded cohort's)" if self._grid_known else
                " (the demo cohort's; loading a cohort in the Scans tab sizes it for yours)"))
            first = ("input", "volume", shape_text(1, *self._grid))
        else:
            shape = f"{self._length:,}-bp sequences, {self._n_outputs} output{'s' if self._n_outputs != 1 else ''}"
            self.shape_label.setText(f"Built for {shape}" + ("" if self._data_known else
                                                             " (until you open data; then for your data's shape)"))
            first = ("input", "one-hot", shape_text(4, self._length))
        if res.error:
            self.params_label.setText("Cannot build this network")
            self.diagram.setPlainText(res.error)
            self.memory_label.setText("")
            return
        self.params_label.setText(f"{res.n_parameters:,} trainable parameters")
        self.diagram.setPlainText(layer_table(res, first))
        self._show_memory(res)

    def _show_memory(self, res: ModelInspection) -> None:
        if res.memory_bytes is None:
            self.memory_label.setText("")
            return
        text, warn = memory_text(res.memory_bytes, res.available_bytes, self.device(), self._batch_size())
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

