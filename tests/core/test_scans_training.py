"""Scans training: batch sources, metrics, folds, leakage, the accuracy proofs at a small size, run folders, CLI.

The proofs train real (tiny) networks on a small SYNTHETIC cohort: held-out reconstruction correlation >= 0.9 inside
the mask, and cross-validated accuracy of the code classifier clearly above chance with a permutation p-value.
Torch runs on one thread here: on a shared 2-core machine, OpenMP threads spinning against other processes made
small convolutions 50x slower.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import torch

from biodeep_gui.cli.main import main as cli_main
from biodeep_gui.core.common.errors import ConfigError, InputFileError, RunFolderError
from biodeep_gui.core.scans import pipeline as scans_pipeline
from biodeep_gui.core.scans.batches import VolumeBatches
from biodeep_gui.core.scans.cohort import build_cohort
from biodeep_gui.core.scans.config import ScansConfig
from biodeep_gui.core.scans.cv import make_folds
from biodeep_gui.core.scans.evaluation import (
    CLASSIFICATION_METRICS,
    ReconstructionObjective,
    classification_metrics,
    masked_correlation,
    reconstruction_metrics,
    template_scores,
)
from biodeep_gui.core.scans.models import build_scans_model
from biodeep_gui.core.scans.models.autoencoder3d import Autoencoder3D, CNN3DClassifier
from biodeep_gui.core.scans.pipeline import train_scans
from biodeep_gui.core.scans.preprocess import Preprocessor, resolved_config
from biodeep_gui.core.scans.reports import CohortReport, FoldResult, ReconstructionPreview, ScansSummary
from biodeep_gui.core.scans.run import load_scans_run
from biodeep_gui.core.scans.steps import (
    _Volumes,
    _volumes,
    fit_autoencoder,
    fit_cnn,
    fit_code_classifiers,
    fit_mask,
    normalisation_stats,
    per_subject_mean,
    volume_items,
)
from biodeep_gui.core.scans.synthetic import write_demo_cohort, write_demo_timeseries
from biodeep_gui.core.training.loop import BatchReport, EpochReport
from biodeep_gui.core.training.reports import StageReport

SHAPE = (16, 20, 16)


# one torch thread, deterministic algorithms, for every test of this module (tests/conftest.py)
pytestmark = pytest.mark.usefixtures("one_deterministic_thread")


def _config(demo, tmp: Path, **train) -> ScansConfig:
    cfg = ScansConfig()
    d = cfg.data
    d.images, d.labels, d.file_column, d.site_column = str(demo.images), str(demo.table), "FILE_ID", "SITE_ID"
    d.cache_dir = str(tmp / "cache")
    cfg.model.autoencoder = {"depth": 2, "channels": 8, "code_size": 32, "noise_std": 0.1}
    cfg.model.cnn = {"depth": 2, "channels": 8}
    cfg.train.epochs, cfg.train.batch_size, cfg.train.lr = 30, 2, 2e-3
    cfg.train.cnn_epochs, cfg.train.head_epochs, cfg.train.preview_every = 10, 100, 10
    cfg.cv.folds, cfg.cv.permutations = 3, 20
    for k, v in train.items():
        setattr(cfg.train, k, v)
    return cfg


# ---------------------------------------------------------------------------------------------------------------
# small pieces
# ---------------------------------------------------------------------------------------------------------------
def test_models_shapes_on_an_odd_grid():
    x = torch.randn(2, 1, 15, 19, 13)
    ae = Autoencoder3D((15, 19, 13), depth=2, channels=4, code_size=8, noise_std=0.5)
    assert ae.padded == (16, 20, 16)
    assert ae(x).shape == x.shape and ae.encode(x).shape == (2, 8)
    ae.eval()
    torch.testing.assert_close(ae.encode(x), ae.encode(x))  # no noise outside training
    assert CNN3DClassifier((15, 19, 13), depth=2)(x).shape == (2, 1)
    dae = build_scans_model("connectivity-dae", 45, {"code_size": 6})
    assert dae(torch.randn(3, 45)).shape == (3, 45) and dae.encode(torch.randn(3, 45)).shape == (3, 6)
    with pytest.raises(ConfigError, match="unknown hyper-parameter"):
        build_scans_model("autoencoder3d", (8, 8, 8), {"width": 3})


def test_masked_correlation_and_classification_metrics():
    from sklearn.metrics import balanced_accuracy_score, roc_auc_score

    rng = np.random.default_rng(0)
    a = rng.normal(size=(3, 4, 5, 6))
    mask = rng.random((4, 5, 6)) > 0.5
    b = 2 * a + 1
    b[..., ~mask] = rng.normal(size=(3, int((~mask).sum())))  # noise outside the mask does not count
    np.testing.assert_allclose(masked_correlation(a, b, mask), [1, 1, 1], atol=1e-12)
    y = np.array([0, 0, 0, 1, 1, 1, 1])
    p = np.array([0.1, 0.6, 0.2, 0.8, 0.4, 0.9, 0.7])
    m = classification_metrics(y, p)
    assert m["accuracy"] == pytest.approx(5 / 7)
    assert m["sensitivity"] == pytest.approx(3 / 4) and m["specificity"] == pytest.approx(2 / 3)
    assert m["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(y, p >= 0.5))
    assert m["auroc"] == pytest.approx(roc_auc_score(y, p))


def test_reconstruction_objective_evaluates_on_the_device_like_the_numpy_metrics():
    """fit scores reconstruction with ReconstructionObjective.evaluate (no volume copied to the host): the same
    loss, correlation and MSE as predict_outputs + reconstruction_metrics, a constant sample left out."""
    from biodeep_gui.core.training.loop import predict_outputs

    rng = np.random.default_rng(1)
    shape = (8, 10, 8)
    vols = rng.normal(size=(5, *shape)).astype(np.float32)
    vols[2] = 0.0  # a constant sample: its correlation is undefined and left out of the mean
    mask = rng.random(shape) > 0.3
    torch.manual_seed(0)
    model = Autoencoder3D(shape, depth=2, channels=2, code_size=4)
    torch.nn.init.normal_(model.head.weight)  # the last layer starts at zero (output = template): perturb it
    template = rng.normal(size=shape).astype(np.float32) * mask
    model.set_template(template, 0.7)
    src = VolumeBatches(list(vols), mask, preload=True, max_batch=2)
    for m in (mask, None):
        objective = ReconstructionObjective(m, template)
        objective.prepare(torch.device("cpu"))
        got = objective.evaluate(model, src, 2)
        raw, loss = predict_outputs(model, src, 2, objective)
        x = np.stack([src.item(k) for k in range(5)])[:, None]
        want = reconstruction_metrics(x, raw, m)
        assert got["loss"] == pytest.approx(loss, rel=1e-5)
        assert got["correlation"] == pytest.approx(want["correlation"], rel=1e-5)
        assert got["mse"] == pytest.approx(want["mse"], rel=1e-5)
        residual = np.nanmean(template_scores(x[:, 0], raw[:, 0], template, m)[1])
        assert got["residual_correlation"] == pytest.approx(residual, rel=1e-4)


def test_folds_stratify_by_label_and_site_and_leave_site_out():
    y = np.array([0, 1] * 12)
    sites = ["A"] * 8 + ["B"] * 8 + ["C"] * 8
    folds, how = make_folds(y, sites, 4, seed=0)
    assert "label and site" in how and len(folds) == 4
    seen = np.concatenate([te for _, te in folds])
    assert sorted(seen) == list(range(24))
    for tr, te in folds:
        assert set(tr).isdisjoint(te) and y[te].sum() * 2 == len(te)
    lso, how = make_folds(y, sites, 4, leave_site_out=True)
    assert how.startswith("leave-one-site-out")
    assert [sorted({sites[i] for i in te}) for _, te in lso] == [["A"], ["B"], ["C"]]
    with pytest.raises(ConfigError, match="at most 12 folds"):
        make_folds(y, None, 13)
    with pytest.raises(ConfigError, match="site column"):
        make_folds(y, None, 3, leave_site_out=True)


def test_volume_batches_stream_or_preload_the_same_normalised_data(tmp_path):
    demo = write_demo_cohort(tmp_path / "d", 4, (8, 10, 8), seed=0)
    cfg = _config(demo, tmp_path)
    prep = Preprocessor(build_cohort(cfg.data), cfg.data, cfg.data.cache_dir)
    mask = fit_mask(prep, np.arange(4), cfg)
    stats = normalisation_stats(prep, range(4), mask, "zscore")
    reads = []

    class Counting(_Volumes):
        def __getitem__(self, i):
            reads.append(i)
            return super().__getitem__(i)

    streamed = VolumeBatches(Counting(prep), mask, stats, preload=False)
    assert reads == []  # nothing read until a batch is asked for
    xs = [x for x, y in streamed.batches(3)]
    assert reads == [0, 1, 2, 3] and [tuple(x.shape) for x in xs] == [(3, 1, 8, 10, 8), (1, 1, 8, 10, 8)]
    pre = VolumeBatches(_volumes(prep), mask, stats, preload=True)
    torch.testing.assert_close(torch.cat([x for x, _ in pre.batches(2)]), torch.cat(xs))
    x0 = xs[0][0, 0].numpy()
    assert abs(x0[mask].mean()) < 1e-4 and x0[mask].std() == pytest.approx(1, abs=1e-3) and not x0[~mask].any()
    labelled = VolumeBatches(_volumes(prep), mask, stats, targets=np.arange(4, dtype=np.float32)[:, None])
    (x, y), = list(labelled.batches(8, shuffle=True, generator=torch.Generator().manual_seed(0)))
    assert sorted(y[:, 0].tolist()) == [0, 1, 2, 3]


def test_frames_become_training_items(tmp_path):
    demo = write_demo_cohort(tmp_path / "d", 4, (8, 10, 8), seed=1, frames=12)
    cfg = _config(demo, tmp_path)
    cfg.data.route, cfg.data.summary, cfg.data.max_frames = "volumes", "frames", 5
    prep = Preprocessor(build_cohort(cfg.data), cfg.data, cfg.data.cache_dir)
    assert prep.load(0).shape == (5, 8, 10, 8)
    items = volume_items(prep, [0, 2])
    assert items.shape == (10, 2) and list(items[:, 1]) == [0, 1, 2, 3, 4] * 2
    codes = np.arange(10, dtype=np.float32)[:, None]
    np.testing.assert_allclose(per_subject_mean(codes, items, [2, 0]), [[7.0], [2.0]])


# ---------------------------------------------------------------------------------------------------------------
# the proof run (module-scoped: one training serves several tests)
# ---------------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def proof_run(tmp_path_factory):
    """Cross-validated training on 36 SYNTHETIC subjects (16 x 20 x 16), recording which subjects every fitted step
    was given.

    At this grid (11-mm voxels, a quarter of the demo's 6-mm grid per axis) the planted regions are under two
    voxels across, so the planted decrease is raised from the demo's 20 % to 30 % of the local intensity.
    """
    tmp = tmp_path_factory.mktemp("proof")
    demo = write_demo_cohort(tmp / "demo", 36, SHAPE, seed=int(os.environ.get("PROOF_SEED", 7)), effect_size=0.3)
    cfg = _config(demo, tmp)
    calls: dict[str, list[set[int]]] = {"mask": [], "autoencoder": [], "cnn": [], "classifier_rows": []}
    mp = pytest.MonkeyPatch()
    real_mask, real_ae, real_cnn, real_cls = fit_mask, fit_autoencoder, fit_cnn, fit_code_classifiers

    def spy_mask(prep, subjects, cfg_):
        calls["mask"].append({int(i) for i in subjects})
        return real_mask(prep, subjects, cfg_)

    def spy_ae(model, prep, fit_subjects, val_subjects, **kw):
        calls["autoencoder"].append({int(i) for i in fit_subjects} | {int(i) for i in val_subjects})
        return real_ae(model, prep, fit_subjects, val_subjects, **kw)

    def spy_cnn(prep, fit_subjects, val_subjects, **kw):
        calls["cnn"].append({int(i) for i in fit_subjects} | {int(i) for i in val_subjects})
        return real_cnn(prep, fit_subjects, val_subjects, **kw)

    def spy_cls(z_train, y_train, z_test, **kw):
        calls["classifier_rows"].append({len(z_train)})
        return real_cls(z_train, y_train, z_test, **kw)

    mp.setattr(scans_pipeline, "fit_mask", spy_mask)
    mp.setattr(scans_pipeline, "fit_autoencoder", spy_ae)
    mp.setattr(scans_pipeline, "fit_cnn", spy_cnn)
    mp.setattr(scans_pipeline, "fit_code_classifiers", spy_cls)
    try:
        items = list(train_scans(cfg, tmp / "run"))
    finally:
        mp.undo()
    return {"items": items, "calls": calls, "cfg": cfg, "demo": demo, "run": tmp / "run", "tmp": tmp}


def test_reports_follow_the_sequence_side_protocol(proof_run):
    items = proof_run["items"]
    kinds = {type(i).__name__ for i in items}
    assert {"StageReport", "CohortReport", "FoldReport", "BatchReport", "EpochReport", "ReconstructionPreview",
            "FoldResult", "ScansSummary"} <= kinds
    assert isinstance(items[-1], ScansSummary) and not items[-1].cancelled
    epochs = [i for i in items if isinstance(i, EpochReport)]
    assert epochs[0].monitor == "residual_correlation" and "correlation" in epochs[0].val_metrics
    preview = next(i for i in items if isinstance(i, ReconstructionPreview))
    assert preview.original.shape == SHAPE == preview.reconstruction.shape and preview.mask.dtype == bool
    assert any(isinstance(i, StageReport) and i.stage == "permutation" for i in items)


def test_no_fitted_step_ever_sees_test_subjects(proof_run):
    results = [i for i in proof_run["items"] if isinstance(i, FoldResult)]
    cohort_ids = [s for s in proof_run["demo"].subjects]
    calls = proof_run["calls"]
    assert len(results) == 3
    for k, fold in enumerate(results):
        test = {cohort_ids.index(s) for s in fold.test_subjects}
        assert calls["mask"][k] and calls["mask"][k].isdisjoint(test)
        assert calls["autoencoder"][k].isdisjoint(test)
        assert calls["cnn"][k].isdisjoint(test)
        assert calls["mask"][k] | test == set(range(36))  # ... and every other subject is used
    assert calls["classifier_rows"][:3] == [{24}] * 3  # classifiers are fitted on the 24 training codes only
    # the final fit (after cross-validation) is the only one that sees everybody
    assert calls["mask"][-1] == calls["autoencoder"][-1] == set(range(36))
    assert len(calls["mask"]) == len(calls["autoencoder"]) == 4


def test_held_out_reconstruction_correlation_at_least_0_9(proof_run):
    summary = proof_run["items"][-1]
    results = [i for i in proof_run["items"] if isinstance(i, FoldResult)]
    per_subject = [c for r in results for c, _ in r.reconstruction.values()]
    assert len(per_subject) == 36  # every subject reconstructed once, by the fold that held it out
    assert summary.reconstruction["correlation_mean"] >= 0.9, summary.reconstruction
    assert min(per_subject) > 0.8


def test_code_classifier_accuracy_clearly_above_chance(proof_run):
    summary = proof_run["items"][-1]
    acc, sd = summary.metrics["logistic"]["accuracy"]
    assert acc >= 0.75, summary.metrics
    assert summary.permutation["logistic"]["p_value"] <= 0.1
    assert summary.permutation["logistic"]["chance"] < 0.65
    assert set(summary.metrics) == {"mlp", "logistic", "cnn", "site_only"}  # site_only: the site baseline
    for arm in summary.metrics.values():
        assert set(arm) == set(CLASSIFICATION_METRICS) and all(0 <= m <= 1 for m, _ in arm.values())
    assert 0 <= summary.site_predictability["balanced_accuracy"] <= 1 and summary.site_predictability["chance"] == 0.5


def test_run_folder_reloads_and_reconstructs(proof_run, tmp_path):
    run = load_scans_run(proof_run["run"])
    # the run folder records the route taken ('auto' resolved from the files: 3-D -> volumes)
    assert run.status == "complete" and run.config == resolved_config(proof_run["cfg"])
    assert (proof_run["run"] / "folds" / "fold3.safetensors").exists()
    metrics = json.loads((proof_run["run"] / "metrics.json").read_text())
    assert metrics["logistic_accuracy_mean"] == pytest.approx(proof_run["items"][-1].metrics["logistic"]["accuracy"][0])
    pred = run.predictions()
    assert pred["prob_logistic"].shape == (36,) and set(pred["fold"].astype(int)) == {1, 2, 3}
    rec = run.reconstruct_subject(run.subjects[5]["id"])
    assert rec.fold == run.subjects[5]["fold"] and rec.original.shape == SHAPE and rec.correlation > 0.8
    np.testing.assert_allclose(rec.difference, (rec.reconstruction - rec.original) * rec.mask, atol=1e-6)
    # a new scan: same affine and header as the input, intensities mapped back, LAS voxel order kept
    src = proof_run["demo"].images / sorted(p.name for p in proof_run["demo"].images.iterdir())[0]
    out = run.reconstruct_file(src, tmp_path / "recon.nii.gz")
    a, b = nib.load(str(src)), nib.load(str(out))
    assert b.shape == a.shape and np.allclose(b.affine, a.affine)
    assert int(b.header["qform_code"]) == int(a.header["qform_code"]) and int(b.header["sform_code"]) == 4
    assert b.header.get_zooms() == a.header.get_zooms() and b.header["descrip"] == a.header["descrip"]
    x, r = a.get_fdata(), b.get_fdata()
    inside = r != 0
    assert inside.mean() > 0.15 and np.corrcoef(x[inside], r[inside])[0, 1] > 0.9


def test_cli_reconstruct_and_audit(proof_run, tmp_path, capsys):
    src = sorted(proof_run["demo"].images.iterdir())[1]
    assert cli_main(["scans", "reconstruct", str(proof_run["run"]), str(src), "--out", str(tmp_path / "r.nii")]) == 0
    assert nib.load(str(tmp_path / "r.nii")).shape == SHAPE
    demo = proof_run["demo"]
    assert cli_main(["scans", "audit", "--images", str(demo.images), "--labels", str(demo.table),
                           "--file-column", "FILE_ID"]) == 0
    out = capsys.readouterr().out
    assert "36 subjects" in out and "LAS" in out and "16×20×16" in out
    assert cli_main(["scans", "reconstruct", str(tmp_path), str(src), "--out", str(tmp_path / "x.nii")]) == 1
    assert "no run.json" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------------------------
# other routes, cancel, errors, CLI train
# ---------------------------------------------------------------------------------------------------------------
def test_connectivity_route_from_roi_tables(tmp_path):
    demo = write_demo_timeseries(tmp_path / "ts", 30, n_regions=12, n_timepoints=80, seed=3)
    cfg = ScansConfig()
    d = cfg.data
    d.route, d.timeseries, d.labels = "connectivity", str(demo.images), str(demo.table)
    d.file_column, d.site_column, d.cache_dir = "FILE_ID", "SITE_ID", str(tmp_path / "cache")
    cfg.model.autoencoder = {"code_size": 16, "corruption": 0.2}
    cfg.train.epochs, cfg.train.batch_size, cfg.cv.folds, cfg.cv.permutations = 40, 8, 3, 10
    items = list(train_scans(cfg, tmp_path / "run"))
    summary = items[-1]
    cohort = next(i for i in items if isinstance(i, CohortReport))
    assert cohort.n_features == 12 * 11 // 2
    assert set(summary.metrics) == {"mlp", "logistic", "logistic_features", "site_only"}
    assert summary.metrics["logistic_features"]["accuracy"][0] >= 0.75  # the planted coupling difference
    assert summary.metrics["logistic"]["accuracy"][0] > 0.6
    run = load_scans_run(tmp_path / "run")
    model, extra = run.autoencoder(0)
    assert extra["feature_mean"].shape == (66,)


def test_connectivity_from_4d_images_and_an_atlas(tmp_path):
    demo = write_demo_cohort(tmp_path / "d", 8, (10, 12, 10), seed=2, frames=30)
    cfg = _config(demo, tmp_path)
    cfg.data.route, cfg.data.atlas = "connectivity", str(demo.atlas)
    cfg.data.high_pass = 0.0  # 30 frames at TR 2 s: too short for a 0.01 Hz high-pass (needs 50)
    cfg.model.autoencoder = {"code_size": 4}
    cfg.train.epochs, cfg.cv.folds, cfg.cv.permutations, cfg.cv.final_fit = 2, 2, 0, False
    items = list(train_scans(cfg, tmp_path / "run"))
    cohort = next(i for i in items if isinstance(i, CohortReport))
    n_regions = len(np.unique(nib.load(str(demo.atlas)).get_fdata())) - 1
    assert cohort.n_features == n_regions * (n_regions - 1) // 2
    assert isinstance(items[-1], ScansSummary) and items[-1].n_folds == 2


def test_cancel_stops_within_a_batch_and_saves_nothing_half_done(tmp_path):
    demo = write_demo_cohort(tmp_path / "d", 12, (8, 10, 8), seed=4)
    cfg = _config(demo, tmp_path)
    seen = {"batches": 0}

    def stop():
        return seen["batches"] >= 2

    items = []
    for item in train_scans(cfg, tmp_path / "run", should_stop=stop, report_interval=0):
        items.append(item)
        if isinstance(item, BatchReport):
            seen["batches"] += 1
    assert isinstance(items[-1], ScansSummary) and items[-1].cancelled
    assert not any(isinstance(i, FoldResult) for i in items)
    assert not (tmp_path / "run" / "run.json").exists()


def test_bad_inputs_stop_training_with_the_file_named(tmp_path):
    demo = write_demo_cohort(tmp_path / "d", 6, (8, 10, 8), seed=5)
    bad = sorted(demo.images.iterdir())[2]
    bad.write_bytes(bad.read_bytes()[:400])  # a truncated .gz
    cfg = _config(demo, tmp_path)
    with pytest.raises(InputFileError, match=bad.name):
        list(train_scans(cfg, tmp_path / "run"))
    good = write_demo_cohort(tmp_path / "good", 6, (8, 10, 8), seed=5)
    one = tmp_path / "one.tsv"
    one.write_text("SUB_ID\tDX_GROUP\n" + "".join(f"{s}\t1\n" for s in good.subjects))
    cfg = _config(good, tmp_path)
    cfg.data.labels, cfg.data.file_column, cfg.data.site_column = str(one), "", ""
    with pytest.raises(InputFileError, match=r"one\.tsv: only one class"):
        list(train_scans(cfg, tmp_path / "run"))
    with pytest.raises(RunFolderError, match="not a folder"):
        load_scans_run(tmp_path / "missing")


def test_cli_demo_and_train(tmp_path, capsys):
    assert cli_main(["scans", "demo", "--out", str(tmp_path / "demo"), "--subjects", "12", "--shape", "8,10,8"]) == 0
    out = capsys.readouterr().out
    assert "SYNTHETIC" in out and "biodeep scans train" in out
    rc = cli_main(["scans", "train", "--images", str(tmp_path / "demo" / "images"),
                         "--labels", str(tmp_path / "demo" / "participants.tsv"), "--file-column", "FILE_ID",
                         "--depth", "2", "--code-size", "8", "--epochs", "2", "--folds", "2", "--permutations", "3",
                         "--no-cnn", "--no-final-fit", "--cache", str(tmp_path / "cache"), "--out",
                         str(tmp_path / "run"), "--quiet"])
    out = capsys.readouterr().out
    assert rc == 0 and "Held-out reconstruction" in out and "Logistic on codes" in out
    doc = json.loads((tmp_path / "run" / "run.json").read_text())
    assert doc["kind"] == "scans" and doc["config"]["model"]["autoencoder"]["code_size"] == 8
    assert doc["model"]["final_weights"] is None
    assert cli_main(["scans", "train", "--images", str(tmp_path / "nowhere"), "--labels",
                           str(tmp_path / "demo" / "participants.tsv"), "--out", str(tmp_path / "r2")]) == 1
    assert "images folder not found" in capsys.readouterr().err


def test_frames_route_with_leave_site_out_and_4d_reconstruction(tmp_path):
    """4-D input with every frame as a training sample, folds = sites, and a 4-D file reconstructed frame by frame."""
    demo = write_demo_cohort(tmp_path / "d", 9, (8, 10, 8), seed=6, frames=10, n_sites=3)
    cfg = _config(demo, tmp_path)
    cfg.data.route, cfg.data.summary, cfg.data.max_frames = "volumes", "frames", 4
    cfg.model.autoencoder = {"depth": 2, "code_size": 8}
    cfg.train.epochs, cfg.train.cnn_epochs, cfg.train.head_epochs, cfg.cv.permutations = 2, 2, 20, 3
    cfg.cv.leave_site_out = True
    items = list(train_scans(cfg, tmp_path / "run"))
    summary = items[-1]
    cohort = next(i for i in items if isinstance(i, CohortReport))
    assert cohort.n_items == 9 * 4 and summary.n_folds == 3
    results = [i for i in items if isinstance(i, FoldResult)]
    assert [sorted({demo.sites[demo.subjects.index(s)] for s in r.test_subjects}) for r in results] == [
        ["SITE_A"], ["SITE_B"], ["SITE_C"]]
    assert all(len(r.reconstruction) == 3 for r in results)  # frames averaged back to one score per subject
    # the held-out site was never seen: site predictability is scored by cross-validation inside training
    assert 0 <= summary.site_predictability["balanced_accuracy"] <= 1 and summary.site_predictability["n_sites"] == 3
    run = load_scans_run(tmp_path / "run")
    src = sorted(demo.images.iterdir())[0]
    out = run.reconstruct_file(src, tmp_path / "recon4d.nii.gz")
    a, b = nib.load(str(src)), nib.load(str(out))
    assert b.shape == a.shape == (8, 10, 8, 10) and np.allclose(b.affine, a.affine)
    assert b.header.get_zooms() == a.header.get_zooms()  # the TR travels with the header
