"""The Variants tab's "Selected variant" panel: ref and alt mutation maps and the filters the variant changes most.

``show_variant`` computes ``core.sequences.variant_detail.variant_detail`` in the panel's own worker (two mutation
maps take a second or two on a CPU); a variant selected while one is computed waits and replaces it.

Signals
-------
sigFilterClicked(int) : a filter in the list was clicked (0-based), to show it in the Filters tab
"""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import QLabel, QScrollArea, QVBoxLayout, QWidget

from biodeep_gui.gui.widgets.heatmap import MutationMapView
from biodeep_gui.gui.workers import TaskRunner

#: Pixels per base of the two maps (a 200 bp window is 600 px wide; the panel scrolls sideways beyond that).
PX_PER_BASE = 3.0


def _detail_task(run, genome_path: str, allele, output: int, device: str):
    from biodeep_gui.core.sequences.bed import open_genome
    from biodeep_gui.core.sequences.variant_detail import variant_detail

    genome = open_genome(genome_path)
    try:
        return variant_detail(run, genome, allele, output=output, device=device)
    finally:
        genome.close()


class VariantDetailPanel(QWidget):
    """Mutation maps of the selected variant's two windows and its most changed filters (see the module notes)."""

    sigFilterClicked = Signal(int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._pending: tuple | None = None
        self._detail = None
        self._analysis = None  # the Filters tab's analysis of the same run: names the filters
        self.runner = TaskRunner(self, name="variant detail", priority="low")
        self.runner.sigFinished.connect(self._on_finished)
        self.runner.sigFailed.connect(self._on_failed)
        self.heading = QLabel("Select a scored variant to see its mutation maps and the filters it changes.")
        self.heading.setWordWrap(True)
        self.ref_label, self.alt_label = QLabel("Reference window"), QLabel("Alternative window")
        self.ref_view, self.alt_view = MutationMapView(), MutationMapView()
        for v in (self.ref_view, self.alt_view):
            v.set_pixels_per_base(PX_PER_BASE)
            v.setToolTip("Change of the output if each base were mutated (blue: lower, red: higher); the "
                         "variant's position is highlighted.")
        maps = QWidget()
        ml = QVBoxLayout(maps)
        ml.setContentsMargins(0, 0, 0, 0)
        for w in (self.ref_label, self.ref_view, self.alt_label, self.alt_view):
            ml.addWidget(w)
        self.scroll = QScrollArea()
        self.scroll.setWidget(maps)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self.filters = QLabel()
        self.filters.setWordWrap(True)
        self.filters.setTextFormat(Qt.TextFormat.RichText)
        self.filters.linkActivated.connect(self._on_link)
        self.filters.setToolTip("First-layer filters (motif detectors) whose strongest activation in the window "
                                "changes most between the alleles; click one to see it in the Filters tab.")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.heading)
        lay.addWidget(self.scroll, 1)
        lay.addWidget(self.filters)
        self.clear()

    def clear(self, text: str = "") -> None:
        self._detail = None
        self.ref_view.set_map(None)
        self.alt_view.set_map(None)
        self.filters.setText("")
        self.heading.setText(text or "Select a scored variant to see its mutation maps and the filters it "
                                     "changes.")

    def show_variant(self, run, genome_path: str, allele, output: int = 0, device: str = "cpu") -> None:
        """Compute and show the detail of ``allele`` (waits for a detail being computed)."""
        job = (run, genome_path, allele, output, device)
        if self.runner.is_running():
            self._pending = job
            return
        self.heading.setText(f"Computing the mutation maps of {_name(allele)}…")
        self.runner.call(_detail_task, *job)

    def detail(self):
        """The ``VariantDetail`` shown (None while none is)."""
        return self._detail

    def set_filter_analysis(self, analysis) -> None:
        """The Filters tab's ``FiltersAnalysis``: the listed filters get the JASPAR names it gave them (matched
        against the collection chosen there)."""
        self._analysis = analysis
        if self._detail is not None:
            self._show_filters(self._detail)

    def is_busy(self) -> bool:
        return self.runner.is_running()

    def shutdown(self) -> None:
        self._pending = None
        self.runner.shutdown()

    @Slot(object)
    def _on_finished(self, detail) -> None:
        if self._pending is not None:
            job, self._pending = self._pending, None
            self.show_variant(*job)
            return
        self._detail = detail
        a = detail.allele
        self.heading.setText(f"<b>{_name(a)}</b>" + (" — the window runs past the contig's end (padded)"
                                                     if detail.clipped else ""))
        self.ref_label.setText(f"Reference window, + strand ({a.ref} at the centre): output "
                               f"{detail.ref_map.reference:.3f}")
        self.alt_label.setText(f"Alternative window, + strand ({a.alt} at the centre): output "
                               f"{detail.alt_map.reference:.3f}")
        length = len(detail.ref_map.codes)
        centre = length // 2 - len(a.ref) // 2
        self.ref_view.set_map(detail.ref_map)
        self.ref_view.set_highlight([(centre, centre + len(a.ref))], "variant")
        centre_alt = length // 2 - len(a.alt) // 2
        self.alt_view.set_map(detail.alt_map)
        self.alt_view.set_highlight([(centre_alt, centre_alt + len(a.alt))], "variant")
        self._show_filters(detail)

    def _show_filters(self, detail) -> None:
        if not detail.filters:
            self.filters.setText("This network has no first-layer filters to compare.")
            return
        a = self._analysis
        n_filters = a.motifs.n_filters if a is not None else 0
        rows = []
        for c in detail.filters:
            best = a.named(c.index) if a is not None and c.index < n_filters and a.matches is not None else None
            name = f" ({best.name}, {a.matches.release})" if best is not None else ""
            rows.append(f"<a href='filter:{c.index}'>filter {c.index + 1}</a>{name}: strongest activation "
                        f"{c.ref_max:.2f} → {c.alt_max:.2f} ({c.change:+.2f})")
        hint = "" if a is not None else "<br><i>Filters are named once the Filters tab has analysed this run.</i>"
        self.filters.setText("<b>Filters changed most</b><br>" + "<br>".join(rows) + hint)

    @Slot(str, str)
    def _on_failed(self, message: str, _details: str) -> None:
        self._pending = None
        self.clear(f"The detail could not be computed: {message}")

    @Slot(str)
    def _on_link(self, link: str) -> None:
        if link.startswith("filter:"):
            self.sigFilterClicked.emit(int(link.split(":", 1)[1]))


def _name(a) -> str:
    return f"{a.chrom}:{a.pos:,} {a.ref}>{a.alt}" + (f" ({a.id})" if a.id and a.id != "." else "")
