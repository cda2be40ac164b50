"""What a run report says, gathered from a run folder of either kind (no Qt, nothing drawn here).

``collect_report`` reads a sequence run or a scans run (``core.runs``) and returns a ``RunReport``: plain tables
(data summary, settings, test metrics with their 95 % intervals, baselines, versions and the inputs' SHA-256) and
the arrays the figures need (training curves, first-layer filter PFMs with their JASPAR matches, reconstructed
slices). ``figures.report`` turns it into one self-contained HTML file or a PDF.

Where each number comes from
----------------------------
- sequence test metrics: ``metrics.json`` (``test_*``) with the intervals stored in ``run.json``
  (``test_intervals``; runs saved before BioDeep stored them: recomputed from the saved test predictions, as the
  Compare tab does, ``core.sequences.summary.test_intervals``);
- sequence baselines: the other runs in the same parent folder tested on the same sequences (same digest of the
  test ids), each with a paired bootstrap against this run (``summary.paired_comparison``);
- scans classification: the mean +- SD over folds stored in ``results.json``, and the pooled out-of-fold accuracy
  and AUROC with a 95 % stratified bootstrap interval computed here from ``predictions.safetensors``
  (``core.common.metrics.bootstrap_intervals``, seeded by the run's seed), the chance levels, the site-only arm and
  the permutation test with its floor 1 / (n + 1);
- scans reconstructions: the subjects with the median and the lowest held-out correlation, reconstructed again by
  the fold autoencoder that held them out (needs the images; otherwise a note says why they are missing).
"""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from biodeep_gui.core.common.errors import BioDeepError
from biodeep_gui.core.common.fileio import sha256_file
from biodeep_gui.core.runs import SCANS, SEQUENCES, open_run
from biodeep_gui.core.scans.run import ScansRun, SubjectReconstruction

#: ``motifs`` choices: Tomtom against JASPAR (first call compiles it, about a minute), logos only, or none.
MOTIF_MODES = ("match", "logos", "off")

#: First-layer filters shown in a report at most (the best-matched first).
MAX_FILTERS = 12

#: Other runs of the parent folder compared at most.
MAX_SIBLINGS = 20


@dataclass
class Table:
    """A titled table of text cells; ``note`` is one sentence printed under it."""

    title: str
    header: list[str]
    rows: list[list[str]]
    note: str = ""


@dataclass
class Metric:
    """One test metric: its value and 95 % interval (nan when unknown)."""

    name: str
    value: float
    low: float = math.nan
    high: float = math.nan


@dataclass
class Curves:
    """A training-curve panel: series name -> (x (E,), y (E,)) arrays."""

    title: str
    y_label: str
    series: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)


@dataclass
class RunReport:
    """Everything a run report shows; plain data only.

    kind : 'sequences' or 'scans'
    tables : section name -> tables, in display order ('data', 'settings', 'metrics', 'baselines',
             'classification', 'reconstruction', 'motifs', 'versions')
    metrics : sequence test metrics with intervals (empty for scans runs)
    curves : training-curve panels
    filters : ``FiltersAnalysis`` of a CNN run when asked for (None otherwise) and the filters to show
    slices : reconstructed subjects (scans runs with volumes)
    notes : section name -> sentences (what is missing and why, how a number was computed)
    """

    kind: str
    name: str
    path: Path
    status: str
    created: str
    tables: dict[str, list[Table]] = field(default_factory=dict)
    metrics: list[Metric] = field(default_factory=list)
    curves: list[Curves] = field(default_factory=list)
    filters: Any = None
    shown_filters: list[int] = field(default_factory=list)
    slices: list[SubjectReconstruction] = field(default_factory=list)  # scans: subjects drawn as slices
    notes: dict[str, list[str]] = field(default_factory=dict)

    def add(self, section: str, table: Table) -> None:
        self.tables.setdefault(section, []).append(table)

    def note(self, section: str, text: str) -> None:
        self.notes.setdefault(section, []).append(text)


def fmt(v: Any, digits: int = 3) -> str:
    """A number as the report prints it (3 significant digits; '–' for missing)."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "–"
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
        return str(v)
    if float(v).is_integer() and abs(v) < 1e9:
        return f"{int(v):,}"
    return f"{float(v):.{digits}g}"


def report_inputs(run_dir: str | Path) -> list[str]:
    """The run folder and the input files its run.json names: what a report's output path must never be.

    Raises
    ------
    RunFolderError : not a run folder, or a damaged run.json (the file named)
    """
    from biodeep_gui.core.training.runs import read_run_doc

    _, doc = read_run_doc(run_dir)
    prov = doc.get("provenance")
    files = prov.get("input_sha256") if isinstance(prov, dict) else None
    return [str(run_dir), *(str(f) for f in files)] if isinstance(files, dict) else [str(run_dir)]


def collect_report(run_dir: str | Path, *, motifs: str = "match", cache_dir: str | None = None,
                   check_inputs: bool = True, should_stop: Callable[[], bool] | None = None) -> Iterator[str]:
    """Read a run folder into a ``RunReport`` (a generator: yields one-line progress messages, returns the report).

    Parameters
    ----------
    run_dir : a sequence or scans run folder
    motifs : 'match' (filter logos and JASPAR matches; the first Tomtom call compiles, about a minute), 'logos'
             (no matching) or 'off'; only CNN / CNN-LSTM sequence runs have filters
    cache_dir : Tomtom result cache folder (None: no cache)
    check_inputs : hash the input files again and say whether they still match the SHA-256 saved with the run
    should_stop : polled between steps; when it says so, ``Cancelled`` is raised

    Raises
    ------
    RunFolderError : not a run folder, or a damaged one (the file named)
    """
    if motifs not in MOTIF_MODES:
        raise BioDeepError(f"motifs = {motifs!r}: choose one of {', '.join(MOTIF_MODES)}")
    yield f"Reading {run_dir}"
    run = open_run(run_dir)
    prov = run.doc.get("provenance", {}) if isinstance(run.doc.get("provenance"), dict) else {}
    kind = SCANS if isinstance(run, ScansRun) else SEQUENCES
    rep = RunReport(kind, run.config.name or Path(run_dir).name, Path(run_dir), run.status,
                    str(prov.get("created", "")))
    if kind == SCANS:
        yield from _scans(rep, run, should_stop)
    else:
        yield from _sequences(rep, run, motifs, cache_dir, should_stop)
    _settings(rep, run)
    yield "Checking the inputs' SHA-256" if check_inputs else "Versions"
    _versions(rep, prov, check_inputs)
    return rep


def _stop(should_stop: Callable[[], bool] | None) -> None:
    from biodeep_gui.core.sequences.interpret.progress import check_stop

    check_stop(should_stop, "report")


# ---- shared sections ---------------------------------------------------------------------------------------------


def _flatten(d: dict, prefix: str = "") -> list[list[str]]:
    rows = []
    for k, v in d.items():
        if isinstance(v, dict) and v:
            rows += _flatten(v, f"{prefix}{k}.")
        else:
            if v not in ("", None, [], {}):  # unset options (e.g. no BED file) would only add noise
                rows.append([f"{prefix}{k}", ", ".join(map(str, v)) if isinstance(v, list) else fmt(v, 6)])
    return rows


def _settings(rep: RunReport, run) -> None:
    cfg = run.config.to_dict()
    cfg.pop("schema_version", None)
    rep.add("settings", Table("Configuration (as saved in run.json)", ["setting", "value"], _flatten(cfg)))
    model = run.doc.get("model", {})
    keep = {k: v for k, v in model.items() if k in ("arch", "params", "n_parameters", "length", "task", "n_outputs",
                                                    "final_best_epoch", "n_features")}
    if keep:
        rep.add("settings", Table("Model", ["field", "value"], _flatten(keep)))


def _versions(rep: RunReport, prov: dict, check_inputs: bool) -> None:
    names = [("BioDeep", "biodeep"), ("Python", "python"), ("PyTorch", "torch"), ("NumPy", "numpy"),
             ("scikit-learn", "scikit_learn"), ("platform", "platform"), ("device", "device"), ("seed", "seed"),
             ("processes", "world_size"), ("backend", "backend"), ("trained", "created")]
    rows = [[label, str(prov[key])] for label, key in names if key in prov]
    rep.add("versions", Table("Versions the run was trained with (run.json provenance)", ["", ""], rows))
    hashes = prov.get("input_sha256") or {}
    rows = []
    for path, saved in sorted(hashes.items()):
        now = "not checked"
        if check_inputs:
            try:
                now = "unchanged" if sha256_file(path) == saved else "CHANGED since training"
            except OSError:
                now = "not found now"
        rows.append([str(path), str(saved or "unreadable at training"), now])
    if rows:
        rep.add("versions", Table("Inputs (SHA-256 saved at training)", ["file", "SHA-256", "now"], rows))
    else:
        rep.note("versions", "This run stores no input hashes (saved by an older BioDeep).")


def _history_curves(history: list[dict]) -> dict[str, np.ndarray]:
    keys = {k for row in history for k in row}
    return {k: np.array([float(r[k]) if isinstance(r.get(k), (int, float)) else math.nan for r in history])
            for k in keys}


# ---- sequence runs -----------------------------------------------------------------------------------------------


def _sequences(rep: RunReport, run, motifs: str, cache_dir: str | None, should_stop) -> Iterator[str]:
    from biodeep_gui.core.sequences.baselines import describe_fit
    from biodeep_gui.core.sequences.models import get_architecture
    from biodeep_gui.core.sequences.summary import MAIN_METRIC, test_intervals

    info, d = run.info, run.config.data
    files = [(k, getattr(d, k)) for k in ("fasta", "background", "table", "bed", "genome", "test_file")
             if getattr(d, k, "")]
    rows = [[k, str(v)] for k, v in files] + [["data kind", d.kind], ["task", info.task],
                                              ["input length", f"{info.length} bp"]]
    if info.class_names:
        rows.append(["classes", ", ".join(info.class_names)])
    if info.label_names and info.task != "multiclass":
        rows.append(["outputs", ", ".join(info.label_names[:20]) + (" …" if len(info.label_names) > 20 else "")])
    rep.add("data", Table("Inputs", ["", ""], rows))
    preds = _safe_predictions(run, rep)
    rep.add("data", Table("Split sizes", ["split", "sequences"], _split_rows(run, preds)))
    split = run.doc.get("split", {})
    if isinstance(split, dict) and split.get("holdout_chromosomes"):
        rep.note("data", "Test chromosomes held out: " + ", ".join(map(str, split["holdout_chromosomes"])) + ".")
    if preds is not None and info.task in ("binary", "multiclass"):
        rep.add("data", _test_balance(info, preds["y_true"]))
    _stop(should_stop)

    hist = _history_curves(run.history)
    if "epoch" in hist:
        x = hist["epoch"]
        loss = Curves("Loss", "loss", {k: (x, hist[k]) for k in ("train_loss", "val_loss") if k in hist})
        metric = MAIN_METRIC.get(info.task, "")
        val = Curves(f"Validation {metric.upper()}", metric,
                     {f"val_{metric}": (x, hist[f"val_{metric}"])} if f"val_{metric}" in hist else {})
        rep.curves += [c for c in (loss, val) if c.series]
        best = run.doc.get("best_epoch")
        if best is not None:
            rep.note("curves", f"Weights kept from epoch {best} (the best validation score).")
    else:
        rep.note("curves", "No per-epoch history: a baseline is fitted once (its C chosen on the validation set).")
        fitted = describe_fit(run.doc["baseline"]) if isinstance(run.doc.get("baseline"), dict) else ""
        if fitted:
            rep.note("curves", f"The baseline was {fitted}.")

    intervals = test_intervals(run)
    for k, v in sorted(run.metrics.items()):
        if k.startswith("test_") and not k.startswith("test_task/") and isinstance(v, (int, float)):
            lo, hi = intervals.get(k[len("test_"):], (math.nan, math.nan))
            rep.metrics.append(Metric(k[len("test_"):], float(v), lo, hi))
    boot = run.doc.get("bootstrap", {})
    if isinstance(boot, dict) and boot.get("n_boot"):
        rep.note("metrics", f"95 % intervals: {boot['n_boot']:,} bootstrap resamples of the {boot.get('n_test', '?')} "
                            f"test sequences{', stratified by class' if boot.get('stratified') else ''} "
                            f"(seed {boot.get('seed', 0)}), stored with the run.")
    elif intervals:
        rep.note("metrics", "95 % intervals: computed for this report from the saved test predictions (1,000 "
                            "bootstrap resamples, stratified by class for classification); the run did not store "
                            "them.")
    val_rows = [[k[len("val_"):], fmt(v)] for k, v in sorted(run.metrics.items()) if k.startswith("val_")]
    if val_rows:
        rep.add("metrics", Table("Validation (the set the epoch was chosen on)", ["metric", "value"], val_rows))
    yield "Comparing with the other runs on the same test sequences"
    _baselines(rep, run)
    _stop(should_stop)

    spec = get_architecture(info.arch)
    if motifs != "off" and spec.kind == "torch" and hasattr(run.model(), "first_conv"):
        yield from _filters(rep, run, motifs == "match", cache_dir, should_stop)
    elif motifs == "off":
        rep.note("motifs", "Filter motifs were not computed for this report (motifs off).")


def _safe_predictions(run, rep: RunReport):
    try:
        p = run.predictions()
    except BioDeepError as exc:
        rep.note("data", f"Test predictions unreadable: {exc}")
        return None
    return p if p and "y_true" in p else None


def _split_rows(run, preds) -> list[list[str]]:
    from biodeep_gui.core.common.errors import RunFolderError
    from biodeep_gui.core.training.runs import TRAINING_DIGEST_FILE, read_tensors, run_file

    rows = []
    try:
        if run_file(run.path, TRAINING_DIGEST_FILE).exists():
            digest = read_tensors(run.path, TRAINING_DIGEST_FILE, "training digest")
            rows += [["training", fmt(len(digest.get("train", ())))], ["validation", fmt(len(digest.get("val", ())))]]
    except RunFolderError:
        pass
    if not rows:
        rows.append(["training / validation", "not stored (run saved by an older BioDeep)"])
    rows.append(["test", fmt(len(preds["y_true"])) if preds is not None else "no saved test predictions"])
    return rows


def _test_balance(info, y_true: np.ndarray) -> Table:
    y = np.asarray(y_true)
    if info.task == "multiclass":
        counts = Counter(int(v) for v in y.reshape(-1) if np.isfinite(v))
        names = info.class_names or [str(i) for i in range(max(counts, default=0) + 1)]
        rows = [[names[c] if c < len(names) else str(c), fmt(counts.get(c, 0))] for c in range(len(names))]
    else:
        y = y.reshape(len(y), -1)
        labels = info.label_names or [f"task{k}" for k in range(y.shape[1])]
        rows = [[labels[t], f"{int(np.nansum(y[:, t] == 1)):,} positive / {int(np.nansum(y[:, t] == 0)):,} negative"]
                for t in range(min(y.shape[1], 20))]
    return Table("Class balance of the test set", ["class", "sequences"], rows)


def _baselines(rep: RunReport, run) -> None:
    from biodeep_gui.core.sequences.models import ARCHITECTURES
    from biodeep_gui.core.sequences.run import load_run
    from biodeep_gui.core.sequences.summary import MAIN_METRIC, data_group, paired_comparison, test_intervals

    metric = MAIN_METRIC.get(run.info.task, "")
    group = data_group(run)
    others = []
    parent = Path(run.path).resolve().parent
    try:
        candidates = sorted(p for p in parent.iterdir() if p.is_dir() and (p / "run.json").is_file())
    except OSError:
        candidates = []
    for p in candidates[:MAX_SIBLINGS + 1]:
        if p == Path(run.path).resolve():
            continue
        try:
            other = load_run(p)
        except BioDeepError:
            continue
        if data_group(other) == group:
            others.append(other)
    if not others:
        rep.note("baselines", f"No other run in {parent} was tested on the same sequences; train a linear or k-mer "
                              "baseline on the same data (same seed and split) into that folder to compare.")
        return
    rows = []
    for o in others:
        spec = ARCHITECTURES.get(o.info.arch)
        lo, hi = test_intervals(o).get(metric, (math.nan, math.nan))
        pc = paired_comparison(run, o, metric) or {}
        rows.append([o.path.name, o.info.arch + (" (baseline)" if spec and spec.kind == "sklearn" else ""),
                     f"{fmt(o.metrics.get(f'test_{metric}'))} [{fmt(lo)}, {fmt(hi)}]",
                     f"{fmt(pc.get('difference'))} [{fmt(pc.get('low'))}, {fmt(pc.get('high'))}]",
                     fmt(pc.get("p_value"))])
    rep.add("baselines", Table(f"Other runs on the same test sequences (test {metric.upper()})",
                               ["run", "model", f"{metric.upper()} [95 % interval]",
                                "this run − that run [95 % interval]", "p (paired bootstrap)"], rows,
                               "Paired bootstrap over the same test sequences (1,000 resamples)."))


def _filters(rep: RunReport, run, match: bool, cache_dir: str | None, should_stop) -> Iterator[str]:
    from biodeep_gui.core.sequences.interpret.analysis import analyse_filters

    yield "First-layer filters" + (" and their JASPAR matches (Tomtom compiles once, about a minute)"
                                   if match else "")
    try:
        res = yield from _messages(analyse_filters(run, match=match, influence=False, cache_dir=cache_dir,
                                                   should_stop=should_stop))
    except BioDeepError as exc:
        rep.note("motifs", f"Filter motifs could not be computed: {exc}")
        return
    rep.filters = res
    fm = res.motifs
    order = [int(f) for f in res.order("match") if fm.n_sites[f] > 0][:MAX_FILTERS]
    rep.shown_filters = order
    rows = []
    for f in order:
        best = res.matches.best(f) if res.matches is not None else None
        rows.append([str(f + 1), fmt(int(fm.n_sites[f])), res.status(f) if match else "not matched",
                     f"{best.name} ({best.motif_id})" if best is not None else "–",
                     fmt(best.p_value if best else None), fmt(best.q_value if best else None)])
    what = f"{len(order)} of {fm.n_filters} filters" + (", best matched first" if match else "")
    rep.add("motifs", Table(f"First-layer filters ({what})", ["filter", "sites", "status", "best JASPAR match",
                                                               "p", "q"], rows))
    rep.notes.setdefault("motifs", []).extend(res.notes)
    if match:
        rep.note("motifs", f"Named only with at least {res.min_sites} sites and q < 0.1 (Benjamini–Hochberg).")


def _messages(gen):
    """Relay an interpretation generator's ``Progress`` items as text lines; return its result."""
    while True:
        try:
            item = next(gen)
        except StopIteration as done:
            return done.value
        if getattr(item, "message", ""):
            yield item.message


# ---- scans runs --------------------------------------------------------------------------------------------------


def _scans(rep: RunReport, run, should_stop) -> Iterator[str]:
    from biodeep_gui.core.common.metrics import bootstrap_intervals
    from biodeep_gui.core.scans.config import ARM_NAMES

    d, res = run.config.data, run.results
    subjects = run.subjects
    classes = run.doc["cohort"].get("classes", [])
    rows = [["images", str(d.images)], ["label table", str(d.labels)], ["subjects", fmt(len(subjects))]]
    grid = run.grid
    if grid is not None:
        rows.append(["model grid", grid.describe()])
    rows.append(["cross-validation", str(res.get("cv_scheme", ""))])
    rep.add("data", Table("Inputs", ["", ""], rows))
    by_label = Counter(str(s.get("label", "")) for s in subjects)
    pos = str(run.doc["cohort"].get("positive_label", ""))
    rep.add("data", Table("Class balance", ["class", "subjects"],
                          [[c + (" (positive)" if c == pos else ""), fmt(by_label.get(c, 0))] for c in classes]))
    by_fold = Counter(int(s["fold"]) for s in subjects)
    sites = Counter(str(s.get("site", "")) for s in subjects if s.get("site"))
    rep.add("data", Table("Test subjects per fold", ["fold", "subjects"],
                          [[str(k), fmt(v)] for k, v in sorted(by_fold.items())]))
    if sites:
        rep.add("data", Table("Sites", ["site", "subjects"], [[k, fmt(v)] for k, v in sorted(sites.items())]))
    for w in run.doc.get("warnings", []) or []:
        rep.note("data", str(w))

    for curves in _scans_history(run.path).values():
        rep.curves += curves
    yield "Classification results"
    _stop(should_stop)
    preds = run.predictions()
    y = np.asarray(preds.get("y_true", ()), float)
    seed = run.config.train.seed
    rows = []
    summary = res.get("summary", {})
    for arm in res.get("arms", []):
        s = summary.get(arm, {})
        prob = preds.get(f"prob_{arm}")
        ok = prob is not None and len(prob) == len(y) and np.isfinite(prob).all() and len(y) > 1
        ci = bootstrap_intervals("binary", y[:, None], np.asarray(prob, float)[:, None], seed=seed,
                                 names=("accuracy", "auroc")) if ok else {}
        acc = float(((np.asarray(prob) >= 0.5) == (y == 1)).mean()) if ok else math.nan
        lo, hi = ci.get("accuracy", (math.nan, math.nan))
        rows.append([ARM_NAMES.get(arm, arm), _mean_sd(s, "accuracy"), f"{fmt(acc)} [{fmt(lo)}, {fmt(hi)}]",
                     _mean_sd(s, "balanced_accuracy"), _mean_sd(s, "auroc")])
    rep.add("classification", Table("Classification (out-of-fold)", [
        "model", "accuracy, mean ± SD over folds", "pooled accuracy [95 % interval]", "balanced accuracy",
        "AUROC"], rows, f"Pooled accuracy: every subject predicted by the fold that held it out (threshold 0.5); "
                        f"interval from 1,000 class-stratified bootstrap resamples of the {len(y)} subjects "
                        f"(seed {seed})."))
    chance = res.get("chance", {})
    crow = [["majority class accuracy", fmt(chance.get("majority_accuracy"))],
            ["balanced accuracy and AUROC", fmt(chance.get("balanced_accuracy"))]]
    site = res.get("site_predictability", {})
    if site:
        crow.append(["site predicted from the codes (balanced accuracy)",
                     f"{fmt(site.get('balanced_accuracy'))} (chance {fmt(site.get('chance'))})"])
    rep.add("classification", Table("Chance and site baselines", ["", ""], crow,
                                    "The site-only arm (in the table above) predicts the diagnosis from the "
                                    "acquisition site alone."))
    perm = res.get("permutation", {})
    if perm:
        prow = []
        for arm, p in perm.items():
            n = int(p.get("n", 0))
            floor = p.get("floor", 1 / (1 + n) if n else math.nan)
            prow.append([ARM_NAMES.get(arm, arm), fmt(p.get("accuracy")), fmt(p.get("chance")), fmt(p.get("p_value")),
                         fmt(n), fmt(floor), "within each site" if p.get("within_site") else "across all subjects"])
        rep.add("classification", Table("Permutation test", [
            "model", "accuracy", "mean accuracy with shuffled labels", "p", "permutations", "smallest possible p = 1/(n+1)",
            "labels shuffled"], prow))
    else:
        rep.note("classification", "No permutation test was run (permutations = 0).")
    names = ([f"{classes[0]} (neg.)", f"{classes[1]} (pos.)"] if len(classes) == 2 else ["negative", "positive"])
    for arm, mat in res.get("confusion", {}).items():
        mat = np.asarray(mat)
        if mat.shape == (2, 2):
            rep.add("confusion", Table(ARM_NAMES.get(arm, arm), ["true \\ predicted", *names],
                                       [[names[i], *map(fmt, mat[i].tolist())] for i in range(2)]))
    rec = res.get("reconstruction", {})
    if rec:
        rep.add("reconstruction", Table("Held-out reconstruction (inside the mask)", ["", "mean ± SD"], [
            ["autoencoder r", f"{fmt(rec.get('correlation_mean'))} ± {fmt(rec.get('correlation_sd'))}"],
            ["template baseline r (training mean image)",
             f"{fmt(rec.get('template_correlation_mean'))} ± {fmt(rec.get('template_correlation_sd'))}"],
            ["residual r (deviation from the template explained)",
             f"{fmt(rec.get('residual_correlation_mean'))} ± {fmt(rec.get('residual_correlation_sd'))}"],
            ["MSE (autoencoder / template)", f"{fmt(rec.get('mse_mean'))} / {fmt(rec.get('template_mse_mean'))}"]]))
    if grid is not None:
        yield "Reconstructing two held-out subjects"
        _stop(should_stop)
        _slices(rep, run, preds)


def _mean_sd(summary: dict, key: str) -> str:
    """'mean ± SD' of one metric of ``results.json``'s per-arm summary ([mean, sd] over folds)."""
    v = summary.get(key)
    return f"{fmt(v[0])} ± {fmt(v[1])}" if isinstance(v, list) and len(v) == 2 else "–"


def _scans_history(run_dir: Path) -> dict[str, list[Curves]]:
    """Per phase (autoencoder, cnn, ...), a loss panel with each fold's training and validation loss."""
    import csv

    from biodeep_gui.core.training.runs import HISTORY_FILE, _num, run_file

    try:
        text = run_file(run_dir, HISTORY_FILE).read_text(encoding="utf-8")
        rows = [{k: _num(v) for k, v in r.items()} for r in csv.DictReader(text.splitlines())]
    except (OSError, UnicodeDecodeError, csv.Error, BioDeepError):
        return {}
    out: dict[str, list[Curves]] = {}
    titles = {"autoencoder": "Autoencoder loss per fold", "cnn": "3-D CNN loss per fold",
              "final": "Final fit on all subjects: loss"}
    for phase in dict.fromkeys(str(r.get("phase", "")) for r in rows):
        sel = [r for r in rows if str(r.get("phase", "")) == phase]
        panel = Curves(titles.get(phase, f"{phase or 'training'} loss per fold"), "loss")
        for fold in dict.fromkeys(r.get("fold") for r in sel):
            h = _history_curves([r for r in sel if r.get("fold") == fold])
            if "epoch" not in h:
                continue
            who = f"fold {fmt(fold)} " if phase != "final" else ""
            for key, label in (("train_loss", "train"), ("val_loss", "val")):
                if key in h and np.isfinite(h[key]).any():
                    panel.series[f"{who}{label}"] = (h["epoch"], h[key])
        if panel.series:
            out[phase] = [panel]
    return out


def _slices(rep: RunReport, run, preds: dict) -> None:
    corr = np.asarray(preds.get("recon_correlation", ()), float)
    ids = [s["id"] for s in run.subjects]
    ok = [i for i in range(min(len(ids), len(corr))) if np.isfinite(corr[i])]
    if not ok:
        rep.note("reconstruction", "No held-out reconstruction scores are stored: slices not drawn.")
        return
    ranked = sorted(ok, key=lambda i: corr[i])
    picks = list(dict.fromkeys([ranked[len(ranked) // 2], ranked[0]]))
    try:
        prep = run.preprocessor()
        for i in picks:
            rep.slices.append(run.reconstruct_subject(ids[i], prep))
    except (BioDeepError, OSError) as exc:
        rep.note("reconstruction", f"Reconstruction slices not drawn: {exc}")
        return
    rep.note("reconstruction", "Slices: the subject with the median held-out correlation, then the lowest; each "
                               "reconstructed by the fold autoencoder that held it out.")
