"""Numbers a reviewer would accept: reconstructions against the template, site-aware permutation tests, baselines.

- Reconstruction: on the SYNTHETIC demo generator and on a cohort built from nibabel's real anatomical image, the
  held-out reconstruction correlates with the original at least as well as the fold's template (the training
  subjects' mean image) does, and explains at least half as much of each subject's deviation from the template as
  an oracle: PCA of the training subjects' deviations with as many components as the code is long (the best linear
  code of that size), applied to the held-out subjects on the same folds, mask and normalisation.
- Permutation: with no diagnosis effect, diagnosis confounded with site (80/20) and a site artefact in the codes,
  permuting labels within sites gives p > 0.05 in at least 9 of 10 seeds (permuting freely does not); a true effect
  still gives p < 0.05. These run ``permutation_test`` - the function ``train_scans`` calls - on precomputed codes.
- The site-only baseline, chance and the permutation floor are in the results, metrics.json and the CLI summary.
Grids are tiny (about 12 x 14 x 12) so that each test takes seconds on one CPU thread.
"""
from __future__ import annotations

import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import torch

from biodeep_gui.cli.scans import format_summary
from biodeep_gui.core.scans.config import ScansConfig
from biodeep_gui.core.scans.cv import make_folds, permute_within
from biodeep_gui.core.scans.evaluation import masked_correlation, template_scores
from biodeep_gui.core.scans.models import build_scans_model
from biodeep_gui.core.scans.pipeline import FoldCodes, permutation_test, train_scans
from biodeep_gui.core.scans.reports import FoldResult, ScansSummary
from biodeep_gui.core.scans.run import load_scans_run
from biodeep_gui.core.scans.steps import _volumes, harmonise_codes, normalisation_stats
from biodeep_gui.core.scans.synthetic import write_demo_cohort

# one torch thread, deterministic algorithms, for every test of this module (tests/conftest.py)
pytestmark = pytest.mark.usefixtures("one_deterministic_thread")


def _config(images: Path, table: Path, tmp: Path) -> ScansConfig:
    """The default training settings (epochs, learning rate, code size, noise); a two-level network for the tiny
    grid, no CNN arm, no final fit and few permutations to keep the test short."""
    cfg = ScansConfig()
    d = cfg.data
    d.images, d.labels, d.file_column, d.site_column = str(images), str(table), "FILE_ID", "SITE_ID"
    d.cache_dir = str(tmp / "cache")
    cfg.model.autoencoder = {"depth": 2}
    cfg.model.cnn_arm = False
    cfg.cv.folds, cfg.cv.permutations, cfg.cv.final_fit = 3, 0, False
    cfg.train.preview_every = 0
    return cfg


def _drain(gen):
    """Run a generator to its end and return its return value."""
    while True:
        try:
            next(gen)
        except StopIteration as stop:
            return stop.value


def pca_oracle(run_dir: Path, code_size: int) -> float:
    """Mean residual correlation of the oracle on the run's own folds.

    For each fold: the fold's mask and template (read from the fold's saved autoencoder), every subject normalised
    as the pipeline does, PCA with ``code_size`` components (at most n_train - 1) of the training subjects'
    deviations from the template, and each held-out subject's deviation projected on it and rebuilt; the score is
    corr(rebuilt deviation, true deviation) inside the mask, averaged over held-out subjects.
    """
    run = load_scans_run(run_dir)
    prep = run.preprocessor()
    ids = prep.cohort.ids
    scores = []
    for fold in run.doc["folds"]:
        model, extra = run.autoencoder(fold["fold"])
        mask = extra["mask"].astype(bool)
        template = model.template[0, 0].numpy()
        test = [ids.index(s) for s in fold["test"]]
        train = [i for i in range(len(ids)) if i not in test]
        stats = normalisation_stats(prep, range(len(ids)), mask, run.config.data.normalise)
        vols = _volumes(prep)

        def dev(i):
            return (((np.asarray(vols[i], np.float32) - stats[i, 0]) / stats[i, 1]) * mask - template)[mask]

        a = np.stack([dev(i) for i in train]).astype(np.float64)
        b = np.stack([dev(i) for i in test]).astype(np.float64)
        centre = a.mean(axis=0)
        k = min(code_size, len(train) - 1)
        _, _, vt = np.linalg.svd(a - centre, full_matrices=False)
        rebuilt = centre + (b - centre) @ vt[:k].T @ vt[:k]
        scores += [np.corrcoef(r, t)[0, 1] for r, t in zip(rebuilt, b)]
    return float(np.mean(scores))


def _check_reconstruction(items: list, run_dir: Path, cfg: ScansConfig) -> dict:
    summary = items[-1]
    assert isinstance(summary, ScansSummary) and not summary.cancelled
    r = summary.reconstruction
    # the reconstruction is at least as good as the template (the mean training image), subject by subject on average
    assert r["correlation_mean"] >= r["template_correlation_mean"], r
    # ... and explains a good part of each subject's own deviation, compared with the best linear code of its size
    code_size = build_scans_model("autoencoder3d", (8, 8, 8), cfg.model.autoencoder).code_size
    oracle = pca_oracle(run_dir, code_size)
    assert r["residual_correlation_mean"] >= 0.5 * oracle, (r, oracle)
    # per fold and per subject, and in every file that reports reconstruction quality
    folds = [i for i in items if isinstance(i, FoldResult)]
    assert all(set(f.deviation) == set(f.reconstruction) for f in folds)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    for key in ("reconstruction_template_correlation_mean", "reconstruction_residual_correlation_mean"):
        assert metrics[key] == pytest.approx(r[key.removeprefix("reconstruction_")])
    results = json.loads((run_dir / "results.json").read_text())
    assert results["reconstruction"]["residual_correlation_mean"] == pytest.approx(r["residual_correlation_mean"])
    pred = load_scans_run(run_dir).predictions()
    assert np.isfinite(pred["recon_template_correlation"]).all() and np.isfinite(pred["recon_residual_correlation"]).all()
    text = format_summary(summary)
    assert "template baseline" in text and "deviation from the template explained" in text
    print(f"held-out r {r['correlation_mean']:.3f}, template r {r['template_correlation_mean']:.3f}, residual r "
          f"{r['residual_correlation_mean']:.3f}, oracle {oracle:.3f}")
    return {"oracle": oracle, **r}


def test_demo_reconstruction_beats_the_template_and_explains_the_deviation(tmp_path):
    demo = write_demo_cohort(tmp_path / "demo", 24, (12, 14, 12), seed=3)
    cfg = _config(demo.images, demo.table, tmp_path)
    items = list(train_scans(cfg, tmp_path / "run"))
    out = _check_reconstruction(items, tmp_path / "run", cfg)
    # one subject read back from the run folder, with the fold autoencoder that held it out
    run = load_scans_run(tmp_path / "run")
    rec = run.reconstruct_subject(run.subjects[0]["id"])
    assert rec.correlation >= rec.template_correlation - 0.01 and rec.residual_correlation > 0
    assert out["oracle"] > 0.3  # the oracle finds structure to explain: the comparison means something


def _anatomy_cohort(folder: Path, n: int = 24, seed: int = 0) -> tuple[Path, Path]:
    """Subjects made from nibabel's real anatomical image (downsampled 3x to 11 x 14 x 8 at 6 mm): anatomy x a
    random global scale + a smooth random deviation (random mixtures of 4 smooth fields, so that there is
    something shared to learn) + noise. Two sites, balanced labels; no label effect (this tests reconstruction)."""
    from nibabel.testing import data_path
    from scipy.ndimage import gaussian_filter, zoom

    img = nib.load(str(Path(data_path) / "anatomical.nii"))
    anat = zoom(np.asarray(img.dataobj, np.float32), 1 / 3, order=1)
    anat = np.clip(anat, 0, None)
    aff = img.affine.copy()
    aff[:3, :3] *= 3
    rng = np.random.default_rng(seed)
    brain = anat > 0.2 * anat.max()
    fields = [gaussian_filter(rng.normal(size=anat.shape), 1.5) for _ in range(4)]
    fields = [f / f[brain].std() for f in fields]
    images = folder / "images"
    images.mkdir(parents=True)
    rows = ["SUB_ID\tFILE_ID\tDX_GROUP\tSITE_ID"]
    level = float(anat[brain].mean())
    for i in range(n):
        deviation = sum(rng.normal() * f for f in fields) * 0.05 * level * brain
        vol = anat * rng.uniform(0.7, 1.3) + deviation + rng.normal(0, 0.03 * level, anat.shape)
        fid = f"S{i:03d}"
        nib.save(nib.Nifti1Image(vol.astype(np.float32), aff), str(images / f"{fid}.nii.gz"))
        rows.append(f"{i + 1}\t{fid}\t{1 + i % 2}\tSITE_{'AB'[(i // 2) % 2]}")
    table = folder / "participants.tsv"
    table.write_text("\n".join(rows) + "\n")
    return images, table


def test_real_anatomy_reconstruction_beats_the_template_and_explains_the_deviation(tmp_path):
    images, table = _anatomy_cohort(tmp_path / "anat")
    cfg = _config(images, table, tmp_path)
    items = list(train_scans(cfg, tmp_path / "run"))
    out = _check_reconstruction(items, tmp_path / "run", cfg)
    assert out["template_correlation_mean"] > 0.9  # one anatomy: the template alone is already very close
    assert out["oracle"] > 0.5


def test_template_scores_definition():
    rng = np.random.default_rng(0)
    template = rng.normal(size=(6, 5, 4)).astype(np.float32)
    dev = rng.normal(size=(3, 6, 5, 4)).astype(np.float32)
    x = template + dev
    mask = np.ones((6, 5, 4), bool)
    mask[0] = False
    t_r, res_r = template_scores(x, x, template, mask)  # a perfect reconstruction explains the whole deviation
    np.testing.assert_allclose(res_r, 1, atol=1e-6)
    np.testing.assert_allclose(t_r, masked_correlation(x, np.broadcast_to(template, x.shape), mask))
    _, res_r = template_scores(x, np.broadcast_to(template, x.shape), template, mask)
    assert np.isnan(res_r).all()  # the template itself explains nothing (a constant deviation has no correlation)


def test_untrained_autoencoder_returns_the_template():
    model = build_scans_model("autoencoder3d", (8, 10, 8), {"depth": 2, "code_size": 4}).eval()
    template = torch.rand(8, 10, 8)
    model.set_template(template, 0.5)
    with torch.inference_mode():
        out = model(torch.rand(2, 1, 8, 10, 8))
    torch.testing.assert_close(out, template.expand(2, 1, 8, 10, 8))


# ---------------------------------------------------------------------------------------------------------------
# site-aware permutation test (on precomputed codes: the function the pipeline calls)
# ---------------------------------------------------------------------------------------------------------------
def _confounded_codes(seed: int, effect: float = 0.0, n: int = 40, dims: int = 8):
    """Codes of ``n`` subjects at 2 sites; site A is 80 % patients, site B 20 %; site B's codes are shifted in
    every dimension but the first (a scanner artefact); ``effect`` adds a diagnosis difference to the first."""
    rng = np.random.default_rng(seed)
    sites = np.array(["A"] * (n // 2) + ["B"] * (n // 2))
    y = np.zeros(n, np.int64)
    y[: int(0.8 * n // 2)] = 1  # 80 % of site A
    y[n // 2: n // 2 + int(0.2 * n // 2)] = 1  # 20 % of site B
    z = rng.normal(size=(n, dims)).astype(np.float32)
    z[:, 1:] += 2.0 * (sites == "B")[:, None]  # the site artefact
    z[:, 0] += effect * y
    return z, y, list(sites)


def _p_value(z, y, sites, seed: int, *, within_site: bool, permutations: int = 19) -> dict:
    cfg = ScansConfig()
    cfg.cv.permutations, cfg.cv.logistic_c, cfg.train.seed = permutations, 1.0, seed
    folds, _ = make_folds(y, sites, 4, seed=seed)
    states = [FoldCodes(tr, te, z[tr], z[te]) for tr, te in folds]
    return _drain(permutation_test(states, y, cfg, "cpu", sites=sites if within_site else None))["logistic"]


def test_site_confounded_null_is_not_significant_when_permuting_within_site():
    within, free, accs = [], [], []
    for seed in range(10):
        z, y, sites = _confounded_codes(seed)
        res = _p_value(z, y, sites, seed, within_site=True)
        within.append(res["p_value"])
        accs.append(res["accuracy"])
        assert res["within_site"] == 1.0 and res["floor"] == pytest.approx(1 / 20) and res["n"] == 19
        free.append(_p_value(z, y, sites, seed, within_site=False)["p_value"])
    assert np.mean(accs) > 0.65  # the classifier does "work": it learned the site
    assert sum(p > 0.05 for p in within) >= 9, within
    assert sum(p <= 0.05 for p in free) >= 5, free  # what permuting freely reported: the problem this fixes


def test_true_effect_is_still_significant_when_permuting_within_site():
    z, y, sites = _confounded_codes(0, effect=2.0)
    assert _p_value(z, y, sites, 0, within_site=True, permutations=49)["p_value"] < 0.05


def test_permute_within_keeps_each_site_label_mix():
    rng = np.random.default_rng(0)
    y = np.array([1, 1, 1, 0, 0, 1, 0, 0, 0, 0])
    sites = ["A"] * 5 + ["B"] * 5
    for _ in range(20):
        p = permute_within(y, sites, rng)
        assert p[:5].sum() == 3 and p[5:].sum() == 1
    assert sorted(permute_within(y, None, rng)) == sorted(y)


def test_site_centring_is_fitted_on_training_codes_only():
    z_train = np.array([[1.0, 0], [3, 0], [10, 1], [12, 1]], np.float32)
    s_train = ["A", "A", "B", "B"]
    z_test = np.array([[2.0, 5], [11, 5], [7, 7]], np.float32)
    a, b = harmonise_codes(z_train, s_train, z_test, ["A", "B", "C"], "site-centre")
    np.testing.assert_allclose(a, [[-1, 0], [1, 0], [-1, 0], [1, 0]])
    # test codes move by their site's training mean; an unseen site by the mean of all training codes
    np.testing.assert_allclose(b, [[0, 5], [0, 4], [0.5, 6.5]])
    a2, b2 = harmonise_codes(z_train, s_train, z_test, ["A", "B", "C"], "none")
    assert a2 is z_train and b2 is z_test


# ---------------------------------------------------------------------------------------------------------------
# the site-only baseline, chance and the floor wherever the classifiers are reported
# ---------------------------------------------------------------------------------------------------------------
def test_site_only_baseline_chance_and_floor_are_reported(tmp_path):
    demo = write_demo_cohort(tmp_path / "demo", 12, (8, 10, 8), seed=1)
    cfg = _config(demo.images, demo.table, tmp_path)
    cfg.model.autoencoder = {"depth": 2, "code_size": 4}
    cfg.train.epochs, cfg.train.head_epochs, cfg.cv.folds, cfg.cv.permutations = 2, 10, 2, 4
    cfg.cv.logistic_c = 1.0
    cfg.cv.harmonise = "site-centre"
    items = list(train_scans(cfg, tmp_path / "run"))
    summary = items[-1]
    assert "site_only" in summary.metrics and 0 <= summary.metrics["site_only"]["accuracy"][0] <= 1
    assert all("site_only" in f.metrics for f in items if isinstance(f, FoldResult))
    assert summary.chance == {"majority_accuracy": 0.5, "balanced_accuracy": 0.5, "auroc": 0.5}
    perm = summary.permutation["logistic"]
    assert perm["within_site"] == 1.0 and perm["floor"] == pytest.approx(0.2) and perm["p_value"] >= perm["floor"]
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    assert "site_only" in results["summary"] and "site_only" in results["arms"] and results["chance"]
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert "site_only_accuracy_mean" in metrics and metrics["logistic_permutation_floor"] == pytest.approx(0.2)
    assert metrics["logistic_permutation_within_site"] == 1.0 and metrics["chance_majority_accuracy"] == 0.5
    text = format_summary(summary)
    assert "Site only (baseline): accuracy" in text and "Chance: accuracy 0.500" in text
    assert "labels permuted within each site" in text and "smallest possible with 4 permutations" in text
    assert load_scans_run(tmp_path / "run").config.cv.harmonise == "site-centre"


# ---------------------------------------------------------------------------------------------------------------
# the fine-tuned (Heinsfeld-style) arm: permuted within site too, refitted inside each fold
# ---------------------------------------------------------------------------------------------------------------
def _sdae_p_value(z, y, sites, seed: int, *, within_site: bool, permutations: int) -> dict:
    """What ``train_scans`` does for the ``sdae`` arm: fine-tune each fold's (label-free) network on the true
    labels and on the shared permutations, then ``permutation_test``'s p-value from the fold accuracies."""
    import torch

    from biodeep_gui.core.scans.cv import draw_permutations, exchangeability_blocks
    from biodeep_gui.core.scans.models import build_scans_model
    from biodeep_gui.core.scans.models.heinsfeld import finetune_classifier
    from biodeep_gui.core.scans.pipeline import PERMUTATION_SEED, _finetune_null

    blocks = exchangeability_blocks(sites) if within_site else None
    perms = draw_permutations(y, blocks, permutations, seed + PERMUTATION_SEED)
    folds, _ = make_folds(y, sites, 4, seed=seed)
    null = np.full((permutations, len(folds)), np.nan)
    observed = []
    for k, (tr, te) in enumerate(folds):
        torch.manual_seed(seed + k)
        net = build_scans_model("heinsfeld-sdae", z.shape[1], {"hidden": 16, "code_size": 8, "finetune_epochs": 60,
                                                                "finetune_lr": 1e-2, "dropout": 0.0})
        prob = finetune_classifier(net, z[tr], y[tr], z[te], device=torch.device("cpu"), seed=seed + k)
        observed.append(((prob >= 0.5) == y[te]).mean())
        null[:, k] = _drain(_finetune_null(net, z, tr, te, perms, torch.device("cpu"), seed + k, lambda: False, k + 1,
                                           len(folds)))
    cfg = ScansConfig()
    cfg.cv.permutations, cfg.cv.logistic_c, cfg.train.seed = permutations, 1.0, seed
    states = [FoldCodes(tr, te, z[tr], z[te]) for tr, te in folds]
    return _drain(permutation_test(states, y, cfg, "cpu", sites=sites if within_site else None,
                                   fold_nulls={"sdae": (float(np.mean(observed)), null.mean(axis=1))}))


def test_finetuned_arm_site_confounded_null_and_true_effect():
    z, y, sites = _confounded_codes(0)
    res = _sdae_p_value(z, y, sites, 0, within_site=True, permutations=19)
    assert res["sdae"]["accuracy"] > 0.6  # above the 0.5 of this balanced cohort: it learned the site ...
    assert res["sdae"]["p_value"] > 0.05 and res["sdae"]["within_site"] == 1.0  # ... and is not called significant
    assert res["sdae"]["n"] == 19 and res["sdae"]["floor"] == pytest.approx(1 / 20)
    z, y, sites = _confounded_codes(0, effect=2.0)
    assert _sdae_p_value(z, y, sites, 0, within_site=True, permutations=39)["sdae"]["p_value"] < 0.05


def test_every_arm_is_tested_against_the_same_permutations():
    """``draw_permutations`` is the sequence ``permutation_test`` used before the fine-tuned arm joined it (one
    generator, ``permute_within`` in order), so the logistic p-values of earlier runs are unchanged."""
    from biodeep_gui.core.scans.cv import draw_permutations

    z, y, sites = _confounded_codes(3)
    rng = np.random.default_rng(1003)
    expected = np.stack([permute_within(y, sites, rng) for _ in range(7)])
    np.testing.assert_array_equal(draw_permutations(y, sites, 7, 1003), expected)


def test_inner_c_search_is_cross_val_scores_choice():
    """The inner search's plain loop makes the choice scikit-learn's cross_val_score makes (same folds, fits and
    accuracy), so permutation p-values are those of the slower code it replaced."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.preprocessing import StandardScaler

    from biodeep_gui.core.scans.steps import LOGISTIC_CS, fit_code_classifiers

    cfg = ScansConfig()
    for seed in range(4):
        z, y, _sites = _confounded_codes(seed, effect=1.0, n=32)
        train, test = np.arange(24), np.arange(24, 32)
        a = StandardScaler().fit(z[train])
        at, bt = a.transform(z[train]), a.transform(z[test])
        scores = [cross_val_score(LogisticRegression(C=c, max_iter=5000, class_weight="balanced"), at, y[train],
                                  cv=StratifiedKFold(4)).mean() for c in LOGISTIC_CS]
        best = LOGISTIC_CS[int(np.argmax(scores))]
        expected = LogisticRegression(C=best, max_iter=5000, class_weight="balanced").fit(at, y[train])
        got = fit_code_classifiers(z[train], y[train], z[test], cfg=cfg, device="cpu", seed=0, arms=("logistic",))
        np.testing.assert_allclose(got["logistic"], expected.predict_proba(bt)[:, 1], rtol=1e-12)
