"""The Mutation map tab: in-silico saturation mutagenesis of one sequence, with saliency letters and linked filters.

Pick a sequence of the data (by id) or paste one, press Compute: the tab's worker runs
``core.interpret.mutagenesis.read_sequence`` (every position x every base, gradient x input, first-layer
activations) and the view shows the heat map, the importance letters and the colour scale. Under the map,
``attribution_track.AttributionPanel`` computes DeepLIFT/SHAP or integrated-gradients letters of the same sequence
in its own worker.

Linked views
------------
- clicking a position names the filters that fire over it in this sequence, with their best JASPAR matches
  (needs the Filters tab's analysis: ``set_filter_analysis``);
- ``highlight_filter(i)`` (connected to the Filters tab's ``sigFilterSelected``) shades where filter i fires.

Signals
-------
sigFilterClicked(int) : a filter named at a hot spot was clicked (0-based), e.g. to show it in the Filters tab
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QCompleter,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from biodeep_gui.core.common.words import count_words
from biodeep_gui.figures.export import FILE_FILTER
from biodeep_gui.figures.mutation_maps import save_mutation_map
from biodeep_gui.gui.session import choose_save_path
from biodeep_gui.gui.tabs.sequences.attribution_track import AttributionPanel
from biodeep_gui.gui.widgets.heatmap import ColourBar, MutationMapView, TrackLabels
from biodeep_gui.gui.workers import TaskRunner

EXPORT_FILTER = FILE_FILTER + ";;Tab-separated values (*.tsv)"
MAX_LISTED = 5000  # sequences offered in the picker (typing an id searches them)


def _deep(run) -> bool:
    from biodeep_gui.core.sequences.models import ARCHITECTURES

    spec = ARCHITECTURES.get(run.info.arch)
    return spec is not None and spec.kind == "torch"


class MutationTab(QWidget):
    """Mutation map of one sequence (see the module notes)."""

    sigFilterClicked = Signal(int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._run = None
        self._data = None
        self._reading = None  # core.interpret.mutagenesis.SequenceReading
        self._analysis = None  # core.interpret.FiltersAnalysis from the Filters tab
        self._sites = None  # per filter, its windows in the current sequence
        self._highlighted: int | None = None
        self._source = ""  # the id of the sequence shown, or 'pasted sequence'
        self._loading = False  # the worker is reading the run's own sequences
        self._map_after_loading = False  # a sequence was sent (Predict) while they were being read
        self.runner = TaskRunner(self, name="mutagenesis", priority="normal")
        self.runner.sigFinished.connect(self._on_finished)
        self.runner.sigFailed.connect(self._on_failed)
        self.runner.sigRunningChanged.connect(lambda _r: self._update_buttons())
        self._build()
        self.set_run(None)

    # -- layout ----------------------------------------------------------------------------------------------
    def _build(self) -> None:
        self.title = QLabel()
        self.title.setStyleSheet("font-size: 14px; font-weight: 600;")
        self.from_data = QRadioButton("From the data")
        self.pasted = QRadioButton("Paste a sequence")
        self.from_data.setChecked(True)
        group = QButtonGroup(self)
        group.addButton(self.from_data)
        group.addButton(self.pasted)
        self.picker = QComboBox()
        self.picker.setEditable(True)
        self.picker.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.picker.setMinimumWidth(260)
        self.picker.setToolTip("Type part of an id to find a sequence.")
        self.picker.activated.connect(lambda _i: self.from_data.setChecked(True))
        self.paste = QPlainTextEdit()
        self.paste.setPlaceholderText("Paste DNA letters (A, C, G, T, N...); spaces and line breaks are ignored. "
                                      "A sequence shorter than the model's input is centred in padding.")
        self.paste.setMaximumHeight(52)
        self.paste.textChanged.connect(lambda: self.pasted.setChecked(bool(self.paste.toPlainText().strip())))
        self.output = QComboBox()
        self.output.setToolTip("The network output whose change is mapped.")
        self.compute_btn = QPushButton("Compute")
        self.compute_btn.clicked.connect(self.compute)
        self.importance = QComboBox()
        self.importance.addItem("Gradient x input (saliency)", "saliency")
        self.importance.addItem("Mutagenesis importance", "ism")
        self.importance.setToolTip("Letter heights: gradient x input, or minus the mean change when the base is "
                                   "replaced by the three others.")
        self.importance.currentIndexChanged.connect(lambda _i: self.view.set_importance(self.importance.currentData()))
        self.zoom = QSlider(Qt.Orientation.Horizontal)
        self.zoom.setRange(3, 40)
        self.zoom.setValue(14)
        self.zoom.setMaximumWidth(140)
        self.zoom.setToolTip("Pixels per base")
        self.zoom.valueChanged.connect(lambda v: self.view.set_pixels_per_base(v))
        self.attribution = AttributionPanel()  # DeepLIFT/SHAP or integrated-gradients letters under the map
        self.zoom.valueChanged.connect(lambda v: self.attribution.set_pixels_per_base(v))
        self.export_btn = QPushButton("Export…")
        self.export_btn.clicked.connect(self.ask_export)
        self.status = QLabel()
        self.status.setWordWrap(True)

        pick = QGroupBox("Sequence")
        pl = QVBoxLayout(pick)
        row = QHBoxLayout()
        row.addWidget(self.from_data)
        row.addWidget(self.picker, 1)
        row.addSpacing(12)
        row.addWidget(QLabel("Output"))
        row.addWidget(self.output)
        row.addWidget(self.compute_btn)
        pl.addLayout(row)
        pl.addWidget(self.pasted)
        pl.addWidget(self.paste)

        tools = QHBoxLayout()
        tools.addWidget(QLabel("Letters"))
        tools.addWidget(self.importance)
        tools.addSpacing(12)
        tools.addWidget(QLabel("Zoom"))
        tools.addWidget(self.zoom)
        tools.addSpacing(12)
        self.colour_bar = ColourBar()
        tools.addWidget(self.colour_bar, 1)
        tools.addWidget(self.export_btn)

        self.view = MutationMapView(labels=False)  # the track names stay put while the map scrolls
        self.view.sigPositionClicked.connect(self._on_position)
        self.scroll = QScrollArea()
        self.scroll.setWidget(self.view)
        self.scroll.setWidgetResizable(False)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.scroll.setFixedHeight(self.view.height() + 22)
        self.scroll.setFrameShape(QFrame.Shape.StyledPanel)

        self.reading = QLabel()
        self.reading.setWordWrap(True)
        self.hotspot = QLabel("Click a position of the map to see which filters fire there.")
        self.hotspot.setWordWrap(True)
        self.hotspot.setTextFormat(Qt.TextFormat.RichText)
        self.hotspot.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        self.hotspot.linkActivated.connect(self._on_link)
        spot = QGroupBox("At the selected position")
        sl = QVBoxLayout(spot)
        sl.addWidget(self.hotspot)

        lay = QVBoxLayout(self)
        lay.addWidget(self.title)
        lay.addWidget(pick)
        lay.addLayout(tools)
        map_row = QHBoxLayout()
        map_row.setSpacing(0)
        labels = TrackLabels()
        map_row.addWidget(labels, 0, Qt.AlignmentFlag.AlignTop)
        map_row.addWidget(self.scroll, 1)
        lay.addLayout(map_row)
        self.attribution.follow(self.scroll)
        lay.addWidget(self.attribution)
        lay.addWidget(self.reading)
        lay.addWidget(spot)
        lay.addWidget(self.status)
        lay.addStretch(1)

    # -- public API ------------------------------------------------------------------------------------------
    def set_run(self, run, data=None) -> None:
        """Use ``run`` (a ``core.runs.Run``) and offer the sequences of ``data`` (a ``SequenceSet``) in the picker."""
        if self.runner.is_running():
            self.runner.cancel()
            self.runner.join()
        same = run is not None and self._run is not None and Path(run.path) == Path(self._run.path)
        self._loading = self._map_after_loading = False
        self._run, self._data = run, data
        self.attribution.set_run(run if run is not None and _deep(run) else None)
        self._reading, self._sites, self._highlighted = None, None, None
        if not same:
            self._analysis = None  # the Filters tab sends the new run's analysis when it is ready
        self.view.set_map(None)
        self.picker.clear()
        self.output.clear()
        self.reading.setText("")
        self.hotspot.setText("Click a position of the map to see which filters fire there.")
        if run is None:
            self.title.setText("Mutation map: train or open a run first")
        elif not _deep(run):
            self.title.setText(f"{run.name}: a {run.info.arch} baseline has no network to mutate; choose a deep run")
        else:
            self.title.setText(f"{run.name}: what each base contributes")
            from biodeep_gui.core.sequences.interpret.mutagenesis import output_label

            for k in range(run.info.n_outputs):
                self.output.addItem(output_label(run.info, k), k)
            if data is not None:
                self._set_data(data)
            else:  # read the run's own data files in the worker, so its sequences can be picked
                from biodeep_gui.core.sequences.interpret.analysis import load_run_data

                self.pasted.setChecked(True)
                self.status.setText("Reading the run's sequences…")
                self._loading = True
                self.runner.call(load_run_data, run)
        self.from_data.setEnabled(data is not None and len(data) > 0)
        self._update_buttons()

    def _set_data(self, data) -> None:
        """Offer the sequences of ``data`` in the picker."""
        self._data = data
        self.picker.clear()
        if data is None or not len(data):
            self.from_data.setEnabled(False)
            return
        n = min(len(data), MAX_LISTED)
        labels = self._label_texts(data, n)
        self.picker.addItems([f"{data.ids[i]}{labels[i]}" for i in range(n)])
        completer = QCompleter(self.picker.model(), self.picker)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.picker.setCompleter(completer)
        self.from_data.setEnabled(True)
        if not self.paste.toPlainText().strip():
            self.from_data.setChecked(True)

    def set_filter_analysis(self, analysis) -> None:
        """The Filters tab's ``FiltersAnalysis``: lets hot spots name filters and their JASPAR matches."""
        self._analysis = analysis
        self._update_sites()

    def set_sequence_index(self, i: int) -> None:
        """Pick record ``i`` of the data."""
        self.from_data.setChecked(True)
        self.picker.setCurrentIndex(i)

    def set_pasted_sequence(self, text: str) -> None:
        self.paste.setPlainText(text)
        self.pasted.setChecked(True)

    def map_sequence(self, text: str) -> None:
        """Paste ``text`` and compute its map: now, or once the run's own sequences have been read (one worker)."""
        self.set_pasted_sequence(text)
        if self._loading:
            self._map_after_loading = True
        else:
            self.compute()

    def _compute_if_asked(self) -> None:
        if self._map_after_loading:
            self._map_after_loading = False
            self.compute()

    def compute(self) -> None:
        """Compute the mutation map of the chosen or pasted sequence in the worker."""
        from biodeep_gui.core.common.errors import BioDeepError
        from biodeep_gui.core.sequences.interpret.mutagenesis import read_sequence, sequence_codes

        if self._run is None or not _deep(self._run):
            return
        if self.runner.is_running():
            return
        try:
            if self.pasted.isChecked():
                text = self.paste.toPlainText()
                codes = sequence_codes(text)
                letters = "".join(text.split()).upper()
                source = "pasted sequence"
            else:
                i = self._picked_index()
                if i is None:
                    self.status.setText("Choose a sequence of the data (type part of its id), or paste one.")
                    return
                codes = self._data.codes[i]
                letters = None
                source = self._data.ids[i]
            if len(codes) > self._run.info.length:
                raise BioDeepError(f"the model reads {self._run.info.length} bases and this sequence has "
                                   f"{len(codes)}; paste a window of at most {self._run.info.length} bases")
        except BioDeepError as exc:
            self.status.setText(str(exc))
            return
        self._source = source
        self.status.setText(f"Mutating every base of {source}…")
        self.runner.call(read_sequence, self._run, codes, output=int(self.output.currentData() or 0),
                         sequence=letters)
        self.attribution.compute(codes, int(self.output.currentData() or 0))

    def highlight_filter(self, i: int) -> None:
        """Shade where filter ``i`` (0-based) fires in the current sequence (and remember it for the next one)."""
        self._highlighted = i
        self._apply_highlight()

    def highlighted_filter(self) -> int | None:
        return self._highlighted

    def reading_result(self):
        """The ``SequenceReading`` shown (None before one arrives)."""
        return self._reading

    def map_view(self) -> MutationMapView:
        return self.view

    def filters_at(self, position: int) -> list[tuple[int, float]]:
        """Filters firing over ``position`` (0-based) of the current sequence: [(filter, activation)]."""
        from biodeep_gui.core.sequences.interpret.filters import filters_at

        return [] if self._sites is None else filters_at(position, self._sites)

    def is_busy(self) -> bool:
        return self.runner.is_running() or self.attribution.is_busy()

    def shutdown(self) -> None:
        self.attribution.shutdown()
        self.runner.shutdown()

    def export(self, path: str | Path) -> Path:
        """Write the map as an image (.png/.svg/.pdf) or as a table (.tsv)."""
        from biodeep_gui.core.sequences.interpret.export import write_mutation_map_tsv

        if self._reading is None:
            raise RuntimeError("there is no mutation map to export yet")
        path = Path(path)
        if path.suffix.lower() == ".tsv":
            return write_mutation_map_tsv(self._reading.mm, path)
        label = ""
        if self._highlighted is not None and self.view.highlight():
            label = self._filter_label(self._highlighted)
        return save_mutation_map(self._reading.mm, path, importance=self.importance.currentData(),
                                 title=f"{self._source}: {self._reading.label}",
                                 highlight=self.view.highlight(), highlight_label=label,
                                 output_label=f"change of {self._reading.label}")

    def ask_export(self) -> None:
        if self._reading is None:
            return
        path = choose_save_path(self, "Export the mutation map", "mutation_map.png", EXPORT_FILTER,
                                inputs=[str(self._run.path) if self._run is not None else ""],
                                refuse=lambda why: self.status.setText(f"Not saved: {why}"))
        if path is None:
            return
        try:
            self.export(path)
        except (OSError, ValueError) as exc:
            self.status.setText(f"Export failed: {exc}")
        else:
            self.status.setText(f"Saved {path}")

    # -- worker --------------------------------------------------------------------------------------------------
    def _on_finished(self, reading) -> None:
        from biodeep_gui.core.sequences.dataset import SequenceSet

        if isinstance(reading, SequenceSet):  # the run's own sequences, read for the picker
            self._loading = False
            self._set_data(reading)
            self.status.setText("")
            self._update_buttons()
            self._compute_if_asked()
            return
        self._reading = reading
        mm = reading.mm
        self.view.set_map(mm)
        self.colour_bar.set_range(self.view.colour_max(), f"change of {reading.label}")
        value = (f"probability {reading.probability:.3f}" if self._run.info.task != "regression"
                 else f"predicted {reading.probability:.3g}")
        strongest = np.unravel_index(int(np.argmax(np.abs(mm.delta))), mm.delta.shape)
        self.reading.setText(
            f"{self._source}: {mm.length} bases; {reading.label} = {mm.reference:.3f} ({value}). Strongest single "
            f"change: position {strongest[0] + 1} {mm.sequence[strongest[0]]}\u2192{'ACGT'[strongest[1]]} "
            f"({mm.delta[strongest]:+.3f}). Map computed in {mm.elapsed_s:.2f} s.")
        self.status.setText("")
        self._update_sites()
        self._update_buttons()

    def _on_failed(self, message: str, _details: str) -> None:
        if self._loading:
            self._loading = False
            self.status.setText(f"The run's sequences could not be read ({message}); paste a sequence instead.")
            self._compute_if_asked()
        else:
            self.status.setText(f"Could not compute the mutation map: {message}")

    # -- linked views ----------------------------------------------------------------------------------------------
    def _update_sites(self) -> None:
        from biodeep_gui.core.sequences.interpret.filters import sequence_sites

        r, a = self._reading, self._analysis
        if r is None or a is None or r.activations is None or r.activations.shape[0] != a.motifs.n_filters:
            self._sites = None
        else:
            self._sites = sequence_sites(r.activations, a.motifs, r.mm.input_start, r.mm.length)
        self._apply_highlight()
        if self.view.selected() is not None:
            self._on_position(self.view.selected())

    def _apply_highlight(self) -> None:
        i = self._highlighted
        if i is None or self._sites is None or i >= len(self._sites):
            self.view.set_highlight([])
            if i is not None and self._reading is not None and self._analysis is None:
                self.status.setText("Filter highlights need the Filters tab's analysis of this run.")
            return
        windows = [(s, e) for s, e, _a in self._sites[i]]
        self.view.set_highlight(windows, self._filter_label(i))
        if windows:
            self.status.setText(f"{self._filter_label(i)} fires at {count_words(len(windows), 'place')} in this "
                                "sequence (shaded).")
            self.scroll.ensureVisible(int(self.view.x_of(windows[0][0])), 10, 60, 0)
        else:
            self.status.setText(f"{self._filter_label(i)} does not fire in this sequence.")

    def _filter_label(self, i: int) -> str:
        a = self._analysis
        best = a.matches.best(i) if a is not None and a.matches is not None else None
        return f"filter {i + 1}" + (f" ({best.name})" if best is not None and best.q_value < 0.1 else "")

    def _on_position(self, p: int) -> None:
        r = self._reading
        if r is None or not 0 <= p < r.mm.length:
            return
        mm = r.mm
        changes = ", ".join(f"{'ACGT'[b]} {mm.delta[p, b]:+.3f}" for b in range(4) if mm.codes[p] != b)
        lines = [f"<b>Position {p + 1}</b> ({mm.sequence[p]}): {changes}; importance {self.view.importance()[p]:+.3f}"]
        if self._analysis is None:
            lines.append("<span style='color:#777'>Compute the Filters tab to see which filters read this "
                         "position.</span>")
        elif self._sites is None:
            lines.append("<span style='color:#777'>This model has no first-layer filters to name.</span>")
        else:
            hits = self.filters_at(p)
            if not hits:
                lines.append("No filter fires over this position.")
            for f, act in hits[:8]:
                best = self._analysis.matches.best(f) if self._analysis.matches is not None else None
                if best is not None and best.q_value < 0.1:
                    match = f" \u2014 {best.name} ({best.motif_id}, p = {best.p_value:.1e}, q = {best.q_value:.1e})"
                else:
                    match = " \u2014 no JASPAR match at q < 0.1" if self._analysis.matches is not None else ""
                lines.append(f"<a href='filter:{f}'>Filter {f + 1}</a> fires here (activation {act:.2f}){match}")
            if len(hits) > 8:
                lines.append(f"and {len(hits) - 8} more filters")
        self.hotspot.setText("<br>".join(lines))

    def hotspot_text(self) -> str:
        return self.hotspot.text()

    def _on_link(self, link: str) -> None:
        if link.startswith("filter:"):
            f = int(link.split(":", 1)[1])
            self.highlight_filter(f)
            self.sigFilterClicked.emit(f)

    # -- misc ------------------------------------------------------------------------------------------------------
    def _picked_index(self) -> int | None:
        if self._data is None or not len(self._data):
            return None
        text = self.picker.currentText().strip()
        i = self.picker.currentIndex()
        if 0 <= i < self.picker.count() and self.picker.itemText(i) == text:
            return i
        key = text.split()[0] if text else ""
        try:
            return self._data.ids.index(key)
        except ValueError:
            return None

    @staticmethod
    def _label_texts(data, n: int) -> list[str]:
        if data.labels.size == 0 or data.labels.shape[1] == 0:
            return [""] * n
        y = data.labels[:n, 0]
        if data.task == "binary" and data.class_names:
            return [f"  ({data.class_names[int(v)]})" if math.isfinite(v) else "" for v in y]
        if data.task == "multiclass" and data.class_names:
            return [f"  ({data.class_names[int(v)]})" if math.isfinite(v) else "" for v in y]
        return [f"  ({v:.3g})" for v in y]

    def _update_buttons(self) -> None:
        ok = self._run is not None and _deep(self._run)
        busy = self.runner.is_running()
        self.compute_btn.setEnabled(ok and not busy)
        self.export_btn.setEnabled(self._reading is not None and not busy)
