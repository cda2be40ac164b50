"""The Reconstructions tab: originals beside their reconstructions, per-subject errors, classification results.

Three linked slice viewers show a held-out subject as the network sees it (normalised, masked), its reconstruction
and their difference (signed, diverging colours); one crosshair moves all three, and the absolute error can be
drawn over the original. During training the main window passes ``train_scans``' items to ``show_items``:
reconstruction previews (every few epochs, computed in the worker) update the viewers, fold results fill the
tables. A finished run (``load_run``) lists every subject ranked by its held-out reconstruction error; clicking
one reconstructs it with the fold autoencoder that held it out (``ScansRun.reconstruct_subject``, off the GUI
thread). The classification side shows the per-fold metrics, the ROC curves of the pooled out-of-fold
predictions, a confusion matrix, the permutation test and the site check, all computed by the core.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from biodeep_gui.core.common.errors import BioDeepError
from biodeep_gui.core.scans.config import ARM_NAMES, ScansDataConfig
from biodeep_gui.core.scans.reports import permutation_p_text
from biodeep_gui.gui.glossary import METRIC_HELP, tip
from biodeep_gui.gui.widgets.plots import ConfusionMatrixPlot, CurvesPlot
from biodeep_gui.gui.widgets.slice_viewer import SliceViewer
from biodeep_gui.gui.workers import TaskRunner

ARM_SHORT = {"mlp": "MLP", "logistic": "Logistic", "cnn": "3-D CNN", "logistic_features": "Logistic (features)",
             "site_only": "Site only", "sdae": "Stacked DAE (Heinsfeld-style)"}
METRIC_NAMES = {"accuracy": "Accuracy", "balanced_accuracy": "Balanced acc.", "auroc": "AUROC",
                "sensitivity": "Sensitivity", "specificity": "Specificity"}
ERROR_COLUMNS = ("Rank", "Subject", "Label", "Fold", "r", "MSE", "Template r", "Residual r")
ERROR_TIPS = {"r": tip("Reconstruction r"), "MSE": tip("MSE"), "Template r": tip("Template r"),
              "Residual r": tip("Residual r")}
#: the terms the classification summary uses, explained on hover
SUMMARY_TERMS = ("Reconstruction r", "Template r", "Residual r", "Chance", "Permutation p", "Site-only baseline")


def _num(v: float, digits: int = 3) -> str:
    return "–" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.{digits}f}"


class _NumItem(QTableWidgetItem):
    """A table cell that sorts by its number."""

    def __init__(self, text: str, value: float):
        super().__init__(text)
        self.value = value

    def __lt__(self, other):
        return self.value < getattr(other, "value", 0)


class ReconstructionsTab(QWidget):
    """Original / reconstruction / difference viewers, ranked reconstruction errors and classification results.

    Signals
    -------
    sigSubjectShown(str) : a subject's reconstruction is on screen
    """

    sigSubjectShown = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.run = None
        self._prep = None
        self._fold_rows: list[tuple[int, str, dict]] = []
        self.recon_runner = TaskRunner(self, name="scans-reconstruct")
        self.recon_runner.sigFinished.connect(self._on_reconstructed)
        self.recon_runner.sigFailed.connect(self._on_reconstruct_failed)

        self.heading = QLabel("No scans run yet: train one from the Scans tab, or open a scans run folder.")
        self.heading.setWordWrap(True)
        self.original = SliceViewer("Original (normalised, masked)")
        self.reconstruction = SliceViewer("Reconstruction")
        self.difference = SliceViewer("Difference (reconstruction − original)")
        self.difference.set_colormap("CET-D1", symmetric=True)
        self.original.link(self.reconstruction)
        self.original.link(self.difference)
        self.reconstruction.sigWindowChanged.connect(self._sync_window_from_recon)
        self.original.sigWindowChanged.connect(self._sync_window_from_original)
        self.overlay_check = QCheckBox("Error overlay on the original (|difference|)")
        self.overlay_check.toggled.connect(self._update_overlay)
        viewers = QWidget()
        vl = QVBoxLayout(viewers)
        vl.setContentsMargins(0, 0, 0, 0)
        vl.addWidget(self.heading)
        vl.addWidget(self.overlay_check)
        for v in (self.original, self.reconstruction, self.difference):
            vl.addWidget(v, 1)

        # per-subject errors
        self.errors = QTableWidget(0, len(ERROR_COLUMNS))
        # two-line headers for the long names keep all eight columns in view beside the slice viewers
        self.errors.setHorizontalHeaderLabels([c.replace(" r", "\nr") for c in ERROR_COLUMNS])
        for col, name in enumerate(ERROR_COLUMNS):
            if name in ERROR_TIPS:
                self.errors.horizontalHeaderItem(col).setToolTip(ERROR_TIPS[name])
        self.errors.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.errors.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.errors.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.errors.verticalHeader().setVisible(False)
        self.errors.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.errors.horizontalHeader().setStretchLastSection(True)
        self.errors.horizontalHeader().setSortIndicator(0, Qt.SortOrder.AscendingOrder)  # Qt defaults to descending
        self.errors.cellClicked.connect(self._on_error_clicked)
        self.errors_note = QLabel("Held-out subjects, worst reconstruction first; click one to see it.")
        self.errors_note.setWordWrap(True)
        errors_page = QWidget()
        el = QVBoxLayout(errors_page)
        el.addWidget(self.errors_note)
        el.addWidget(self.errors, 1)

        # classification
        self.summary_label = QLabel("")
        self.summary_label.setWordWrap(True)
        self.summary_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.summary_label.setToolTip("\n".join(f"{t}: {tip(t)}" for t in SUMMARY_TERMS))
        self.folds_table = QTableWidget(0, 2 + len(METRIC_NAMES))
        self.folds_table.setHorizontalHeaderLabels(["Fold", "Classifier", *METRIC_NAMES.values()])
        for col, key in enumerate(METRIC_NAMES, start=2):
            self.folds_table.horizontalHeaderItem(col).setToolTip(METRIC_HELP[key])
        self.folds_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.folds_table.verticalHeader().setVisible(False)
        self.folds_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.roc = CurvesPlot("ROC, out-of-fold", "False positive rate", "True positive rate")
        self.roc.setMinimumHeight(240)
        # the curves live top-left: the legend goes bottom-right, where it hides nothing
        self.roc.legend.anchor(itemPos=(1, 1), parentPos=(1, 1), offset=(-8, -8))
        self.arm_combo = QComboBox()
        self.arm_combo.currentIndexChanged.connect(self._show_confusion)
        self.confusion = ConfusionMatrixPlot("Confusion")
        self.confusion.setMinimumHeight(240)
        conf = QWidget()
        conf_box = QVBoxLayout(conf)
        conf_box.setContentsMargins(0, 0, 0, 0)
        conf_row = QHBoxLayout()
        conf_row.addWidget(QLabel("Classifier"))
        conf_row.addWidget(self.arm_combo, 1)
        conf_box.addLayout(conf_row)
        conf_box.addWidget(self.confusion, 1)
        plots = QSplitter(Qt.Orientation.Horizontal)
        plots.addWidget(self.roc)
        plots.addWidget(conf)
        plots.setSizes([300, 300])  # the matrix needs room for its class names under the columns
        class_page = QWidget()
        cl = QVBoxLayout(class_page)
        cl.addWidget(self.summary_label)
        cl.addWidget(self.folds_table, 1)
        cl.addWidget(plots, 1)

        self.side = QTabWidget()
        self.side.addTab(errors_page, "Reconstruction error")
        self.side.addTab(class_page, "Classification")
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(viewers)
        split.addWidget(self.side)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setSizes([780, 600])
        layout = QVBoxLayout(self)
        layout.addWidget(split)
        self._roc_data: dict = {}
        self._confusion_data: dict = {}
        self._classes: list[str] = []
        self._data_cfg = ScansDataConfig()  # the shown run's: what each class is called (data.class_names)
        self._set_units()

    # -- live items from train_scans ----------------------------------------------------------------------------
    @Slot(object)
    def show_items(self, items: list) -> None:
        """Take the items ``train_scans`` yielded (as ``TaskRunner.sigItems`` delivers them)."""
        from biodeep_gui.core.scans.reports import (
            CohortReport,
            FoldReport,
            FoldResult,
            ReconstructionPreview,
            ScansSummary,
        )

        preview = None
        for item in items:
            if isinstance(item, ReconstructionPreview):
                preview = item  # only the newest of a batch is drawn
            elif isinstance(item, CohortReport):
                self.begin(item)
            elif isinstance(item, FoldReport) and item.phase == "autoencoder":
                self.heading.setText(item.message)
            elif isinstance(item, FoldResult):
                self.add_fold_result(item)
            elif isinstance(item, ScansSummary):
                self.finish(item)
        if preview is not None:
            self.show_preview(preview)

    def begin(self, report) -> None:
        """A new training: clear the results."""
        self.run = None
        self._prep = None
        self._data_cfg = ScansDataConfig()
        self._fold_rows.clear()
        self.folds_table.setRowCount(0)
        self.errors.setRowCount(0)
        self.summary_label.setText(f"Cross-validating on {report.n_subjects} subjects "
                                   + ", ".join(f"{k}: {v}" for k, v in report.class_counts.items()) + "…")
        self.roc.clear_curves()
        self._classes = list(report.classes)

    def show_preview(self, p) -> None:
        """A live reconstruction of a held-out subject (from the worker)."""
        self.heading.setText(f"Fold {p.fold}, epoch {p.epoch}: held-out subject {p.subject}, voxelwise correlation "
                             f"inside the mask r = {p.correlation:.3f} (template alone r = "
                             f"{_num(p.template_correlation)}; deviation from the template explained r = "
                             f"{_num(p.residual_correlation)})")
        self._show_volumes(p.original, p.reconstruction, (p.reconstruction - p.original) * p.mask, p.voxel_size,
                           p.mask)

    def add_fold_result(self, r) -> None:
        for arm, metrics in r.metrics.items():
            self._fold_rows.append((r.fold, arm, metrics))
        self._fill_folds_table(None)
        rows = [(sid, r.fold, c, m, *r.deviation.get(sid, (math.nan, math.nan)))
                for sid, (c, m) in r.reconstruction.items()]
        self._append_errors(rows, {})

    def finish(self, summary) -> None:
        """The end of training: read the run folder back (when something was saved) and show everything."""
        if summary.run_dir:
            try:
                self.load_run(summary.run_dir)
                return
            except BioDeepError as exc:
                self.summary_label.setText(f"The run could not be read back: {exc}")
        self._show_summary(summary.metrics, summary.permutation, summary.site_predictability,
                           summary.reconstruction, summary.cancelled, summary.chance)

    # -- a saved run ----------------------------------------------------------------------------------------------
    def load_run(self, path: str | Path) -> None:
        """Show a saved scans run: ranked reconstruction errors and the classification results.

        Raises
        ------
        RunFolderError : not a scans run folder
        """
        from biodeep_gui.core.scans.run import load_scans_run

        run = load_scans_run(path)
        self.run = run
        self._prep = None
        self._data_cfg = run.config.data
        self._set_units()
        res = run.results
        pred = run.predictions()
        subjects = run.subjects
        nan = np.full(len(subjects), np.nan)
        rows = [(s["id"], int(s["fold"]), float(c), float(m), float(t), float(r))
                for s, c, m, t, r in zip(subjects, pred["recon_correlation"], pred["recon_mse"],
                                         pred.get("recon_template_correlation", nan),
                                         pred.get("recon_residual_correlation", nan)) if s["fold"]]
        self.errors.setRowCount(0)
        self._append_errors(rows, {s["id"]: self._data_cfg.class_label(s["label"]) for s in subjects})
        self._fold_rows = [(f["fold"], arm, m) for f in res.get("folds", []) for arm, m in f["metrics"].items()]
        summary = {a: {m: tuple(v) for m, v in ms.items()} for a, ms in res.get("summary", {}).items()}
        self._fill_folds_table(summary)
        self._roc_data, self._confusion_data = res.get("roc", {}), res.get("confusion", {})
        self._classes = res.get("classes", run.doc["cohort"].get("classes", []))
        self.roc.clear_curves()
        for i, (arm, curve) in enumerate(self._roc_data.items()):
            auc = summary.get(arm, {}).get("auroc", (math.nan, math.nan))[0]
            self.roc.add_curve(arm, curve["fpr"], curve["tpr"], f"{ARM_SHORT.get(arm, arm)} (AUROC {_num(auc, 2)})",
                               i)
        self.roc.add_reference([0, 1], [0, 1])
        self.arm_combo.blockSignals(True)
        self.arm_combo.clear()
        order = list(ARM_NAMES)
        for arm in sorted(self._confusion_data, key=lambda a: order.index(a) if a in order else 9):
            self.arm_combo.addItem(ARM_NAMES.get(arm, arm), arm)
        self.arm_combo.blockSignals(False)
        self._show_confusion()
        self._show_summary(summary, res.get("permutation", {}), res.get("site_predictability", {}),
                           res.get("reconstruction", {}), run.status == "cancelled", res.get("chance", {}))
        self.heading.setText(f"Run {run.name} ({run.status}): click a subject in the table to see it")
        if self.errors.rowCount() and run.grid is not None:
            self.errors.selectRow(0)
            self.show_subject(self.errors.item(0, 1).text())

    def show_subject(self, subject_id: str) -> None:
        """Reconstruct one subject of the loaded run with its fold's autoencoder (off the GUI thread)."""
        if self.run is None or self.run.grid is None:
            return
        if self.recon_runner.is_running():
            self._pending = subject_id
            return
        self._pending = None
        for r in range(self.errors.rowCount()):  # keep the table's selection on the subject shown
            if self.errors.item(r, 1).text() == subject_id:
                self.errors.selectRow(r)
                break
        self.heading.setText(f"Reconstructing subject {subject_id}…")
        self.recon_runner.call(_reconstruct, self.run, subject_id, self._prep)

    def shutdown(self) -> None:
        self.recon_runner.shutdown()

    # -- internals ------------------------------------------------------------------------------------------------
    def _show_volumes(self, original, reconstruction, difference, voxel_size, mask) -> None:
        window = self.original.window() if self.original.volume is not None else None
        self.original.set_volume(original, voxel_size, mask=mask, window=window)
        self.reconstruction.set_volume(reconstruction, voxel_size, mask=mask, window=self.original.window())
        self.difference.set_volume(difference, voxel_size, mask=mask)
        self._update_overlay()

    def _set_units(self) -> None:
        """Colour bar units: the network sees each scan z-scored inside the mask unless normalisation is off."""
        unit = "z-score" if self._data_cfg.normalise == "zscore" else "scanner units"
        self.original.set_units(unit)
        self.reconstruction.set_units(unit)
        self.difference.set_units(f"Δ {unit}")

    def _update_overlay(self) -> None:
        if self.overlay_check.isChecked() and self.difference.volume is not None:
            self.original.set_overlay(np.abs(self.difference.volume), "inferno", 0.75)
        else:
            self.original.set_overlay(None)

    def _sync_window_from_original(self, lo: float, hi: float) -> None:
        if self.reconstruction.volume is not None and self.reconstruction.window() != (lo, hi):
            self.reconstruction.set_window(lo, hi, emit=False)

    def _sync_window_from_recon(self, lo: float, hi: float) -> None:
        if self.original.volume is not None and self.original.window() != (lo, hi):
            self.original.set_window(lo, hi, emit=False)

    def _append_errors(self, rows: list[tuple[str, int, float, float, float, float]], labels: dict[str, str]) -> None:
        """rows: (subject, fold, correlation, MSE, template r, residual r)."""
        existing = []
        for r in range(self.errors.rowCount()):
            existing.append((self.errors.item(r, 1).text(), int(self.errors.item(r, 3).text()),
                             self.errors.item(r, 4).value, self.errors.item(r, 5).value,
                             self.errors.item(r, 6).value, self.errors.item(r, 7).value,
                             self.errors.item(r, 2).text()))
        allrows = existing + [(sid, fold, c, m, t, res, labels.get(sid, "")) for sid, fold, c, m, t, res in rows]
        allrows.sort(key=lambda t: -t[3] if not math.isnan(t[3]) else math.inf)  # worst (largest MSE) first
        self.errors.setSortingEnabled(False)
        self.errors.setRowCount(len(allrows))
        for i, (sid, fold, c, m, t, res, label) in enumerate(allrows):
            cells = [_NumItem(str(i + 1), i + 1), QTableWidgetItem(sid), QTableWidgetItem(label),
                     _NumItem(str(fold), fold), _NumItem(_num(c), c), _NumItem(_num(m, 4), m),
                     _NumItem(_num(t), t), _NumItem(_num(res), res)]
            for col, item in enumerate(cells):
                self.errors.setItem(i, col, item)
        self.errors.setSortingEnabled(True)

    def _fill_folds_table(self, summary: dict | None) -> None:
        order = list(ARM_NAMES)
        rows = sorted(self._fold_rows, key=lambda t: (order.index(t[1]) if t[1] in order else 9, t[0]))
        extra = sorted((summary or {}).items(), key=lambda t: order.index(t[0]) if t[0] in order else 9)
        self.folds_table.setRowCount(len(rows) + len(extra))
        for i, (fold, arm, metrics) in enumerate(rows):
            cells = [str(fold), ARM_NAMES.get(arm, arm)] + [_num(metrics.get(m)) for m in METRIC_NAMES]
            for c, text in enumerate(cells):
                self.folds_table.setItem(i, c, QTableWidgetItem(text))
        for j, (arm, ms) in enumerate(extra):
            cells = ["mean ± sd", ARM_NAMES.get(arm, arm)] + [
                f"{_num(ms[m][0])} ± {_num(ms[m][1])}" if m in ms else "–" for m in METRIC_NAMES]
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                f = item.font()
                f.setBold(True)
                item.setFont(f)
                self.folds_table.setItem(len(rows) + j, c, item)

    def _show_confusion(self) -> None:
        arm = self.arm_combo.currentData()
        if arm and arm in self._confusion_data:
            label = self._data_cfg.class_label
            names = ([f"{label(self._classes[0])} (neg.)", f"{label(self._classes[1])} (pos.)"]
                     if len(self._classes) == 2 else ["negative", "positive"])
            self.confusion.set_matrix(np.asarray(self._confusion_data[arm]), names)

    def _show_summary(self, metrics: dict, permutation: dict, site: dict, recon: dict, cancelled: bool,
                      chance: dict | None = None) -> None:
        lines = []
        if recon:
            t, res = recon.get("template_correlation_mean"), recon.get("residual_correlation_mean")
            corr = recon.get("correlation_mean")
            weak = (t is not None and res is not None and corr is not None and not math.isnan(t)
                    and (corr <= t + 0.005 or res < 0.2))
            beat = (" <span style='color:#b3261e'>— little better than the template: the autoencoder has learned "
                    "little beyond the mean image</span>") if weak else ""
            lines.append(f"<b>Held-out reconstruction</b>: r = {_num(recon.get('correlation_mean'))} ± "
                         f"{_num(recon.get('correlation_sd'))} inside the mask; <b>template</b> (training mean image) "
                         f"r = {_num(t)}; <b>deviation explained</b> (residual r) = {_num(res)} ± "
                         f"{_num(recon.get('residual_correlation_sd'))}{beat}")
        order = list(ARM_NAMES)
        for arm, ms in sorted(metrics.items(), key=lambda t: order.index(t[0]) if t[0] in order else 9):
            if "accuracy" in ms:
                style = " style='color:#5f6368'" if arm == "site_only" else ""
                lines.append(f"<span{style}><b>{ARM_NAMES.get(arm, arm)}</b>: accuracy {_num(ms['accuracy'][0])} ± "
                             f"{_num(ms['accuracy'][1])}, AUROC {_num(ms.get('auroc', (math.nan,))[0])}</span>")
        if chance:
            lines.append(f"<b>Chance</b>: accuracy {_num(chance.get('majority_accuracy'))} (always the larger class), "
                         f"balanced accuracy and AUROC {_num(chance.get('balanced_accuracy'))}")
        for arm, p in permutation.items():
            how = "within sites" if p.get("within_site") else "across subjects"
            # short: the classification page fits 1024 x 640 without cutting this summary
            lines.append(f"<b>Permutation test</b> ({ARM_NAMES.get(arm, arm)}): chance {_num(p['chance'])}, "
                         f"{permutation_p_text(p['p_value'], int(p['n']))}; shuffled {how}")
        if site:
            warn = site.get("balanced_accuracy", 0) > site.get("chance", 1) + 0.2
            colour = "#b3261e" if warn else "#3c4043"
            lines.append(f"<span style='color:{colour}'><b>Site from the codes</b>: balanced accuracy "
                         f"{_num(site.get('balanced_accuracy'))} (chance {_num(site.get('chance'))})"
                         f"{' — the codes carry site effects' if warn else ''}</span>")
        if cancelled:
            lines.append("<i>Training was stopped: results cover the completed folds only.</i>")
        self.summary_label.setText("<br>".join(lines))

    @Slot(int, int)
    def _on_error_clicked(self, row: int, _col: int) -> None:
        item = self.errors.item(row, 1)
        if item is not None:
            self.show_subject(item.text())

    @Slot(object)
    def _on_reconstructed(self, result: Any) -> None:
        rec, prep = result
        self._prep = prep
        self.heading.setText(f"Subject {rec.subject}, reconstructed by the fold-{rec.fold} autoencoder that held it "
                             f"out: r = {rec.correlation:.3f}, MSE {rec.mse:.4f}; template alone r = "
                             f"{_num(getattr(rec, 'template_correlation', math.nan))}, deviation explained r = "
                             f"{_num(getattr(rec, 'residual_correlation', math.nan))}")
        self._show_volumes(rec.original, rec.reconstruction, rec.difference, rec.voxel_size, rec.mask)
        self.sigSubjectShown.emit(rec.subject)
        pending = getattr(self, "_pending", None)
        if pending and pending != rec.subject:
            self.show_subject(pending)

    @Slot(str, str)
    def _on_reconstruct_failed(self, message: str, details: str) -> None:
        self.heading.setText(f"Could not reconstruct this subject: {message}")
        self._pending = None


def _reconstruct(run, subject_id: str, prep):
    """Worker-thread task: the subject's reconstruction and the (re)used preprocessor."""
    prep = prep or run.preprocessor()
    return run.reconstruct_subject(subject_id, prep), prep
