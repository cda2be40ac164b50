"""fMRI as fMRI: ROI series through nilearn, cleaning, Fisher-z features, the auto route and the Heinsfeld-style net.

Real data: nibabel's ``functional.nii`` (17 x 21 x 3 voxels of 4 x 4 x 8 mm, 20 frames, TR 2 s), shipped inside the
nibabel package.
"""
from __future__ import annotations

import json
import os
import shutil
import socket
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from nibabel.testing import data_path

from biodeep_gui.cli.scans import format_summary
from biodeep_gui.core.common.errors import ConfigError, InputFileError
from biodeep_gui.core.scans.cohort import build_cohort
from biodeep_gui.core.scans.config import ARM_NAMES, ScansConfig, ScansDataConfig
from biodeep_gui.core.scans.connectivity import (
    clean_timeseries,
    connectivity_features,
    extract_roi_timeseries,
    load_roi_atlas,
    min_frames,
    read_confounds,
)
from biodeep_gui.core.scans.models import SCANS_ARCHITECTURES, build_scans_model
from biodeep_gui.core.scans.nifti import read_image_data
from biodeep_gui.core.scans.preprocess import Preprocessor, resolve_route, resolved_config
from biodeep_gui.core.scans.reports import CohortReport, ScansSummary
from biodeep_gui.core.scans.synthetic import write_demo_cohort

FUNCTIONAL = Path(data_path) / "functional.nii"
#: sphere centres (mm) inside functional.nii's field of view (x -32..32, y -40..40, z 0..16)
COORDS = [(0, 0, 8), (-20, 12, 8), (20, -20, 0), (8, 24, 16), (-12, -28, 8)]


def _clean_kw(**kw):
    out = {"detrend": True, "high_pass": 0.0, "low_pass": 0.1, "standardize": True}
    out.update(kw)
    return out


@pytest.fixture(scope="module")
def functional_cohort(tmp_path_factory):
    """Two subjects: functional.nii as it is, and its series played three times (60 frames, for a band-pass)."""
    root = tmp_path_factory.mktemp("func")
    images = root / "images"
    images.mkdir()
    img = nib.load(str(FUNCTIONAL))
    assert img.shape == (17, 21, 3, 20) and float(img.header.get_zooms()[3]) == 2.0
    shutil.copy(FUNCTIONAL, images / "sub-a_bold.nii")
    long = nib.Nifti1Image(np.concatenate([np.asarray(img.dataobj, np.float32)] * 3, axis=3), img.affine, img.header)
    nib.save(long, str(images / "sub-b_bold.nii"))
    table = root / "participants.tsv"
    table.write_text("SUB_ID\tDX_GROUP\na\t1\nb\t2\n")
    coords = root / "coords.csv"
    coords.write_text("name,x,y,z\n" + "".join(f"r{i},{x},{y},{z}\n" for i, (x, y, z) in enumerate(COORDS)))
    return root, images, table, coords


def _as_loaded(path):
    """The image as BioDeep reads it (RAS, float32), for nilearn."""
    data, affine, _ = read_image_data(path, True)
    return nib.Nifti1Image(data, affine)


def _masker_series(path):
    import warnings

    from nilearn.maskers import NiftiSpheresMasker

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return NiftiSpheresMasker(COORDS, radius=5.0, allow_overlap=True).fit_transform(str(path))


def _data(images, table, coords, root, **kw) -> ScansDataConfig:
    d = ScansDataConfig(images=str(images), labels=str(table), atlas=str(coords), cache_dir=str(root / "cache"))
    for k, v in kw.items():
        setattr(d, k, v)
    return d


# ---------------------------------------------------------------------------------------------------------------
# atlases, extraction, cleaning on real fMRI
# ---------------------------------------------------------------------------------------------------------------
def test_builtin_coordinate_atlases_need_no_network(monkeypatch):
    def no_network(*_a, **_k):
        raise OSError("network blocked in this test")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    sizes = {name: len(load_roi_atlas(name).coords) for name in ("power2011", "dosenbach2010", "seitzman2018")}
    assert sizes == {"power2011": 264, "dosenbach2010": 160, "seitzman2018": 300}
    assert load_roi_atlas("").names[0].startswith("power2011")  # '' = the default atlas


def test_functional_nii_gives_cleaned_fisher_z_features(functional_cohort):
    from nilearn import signal

    root, images, table, coords = functional_cohort
    d = _data(images, table, coords, root, high_pass=0.0)  # 20 frames: no 0.01 Hz high-pass (see the test below)
    cohort = build_cohort(d)
    assert resolve_route(d, cohort) == "connectivity"  # 4-D input: the default route is connectivity
    prep = Preprocessor(cohort, d)
    feats = np.asarray(prep.load(0))
    assert feats.shape == (len(COORDS) * (len(COORDS) - 1) // 2,) and np.isfinite(feats).all() and feats.std() > 0
    assert prep.region_labels == [f"r{i}" for i in range(len(COORDS))]
    # the same as nilearn's masker + signal.clean, step by step
    raw = _masker_series(FUNCTIONAL)
    ours, present = extract_roi_timeseries(_as_loaded(FUNCTIONAL), prep._atlas)
    assert present.all()
    np.testing.assert_allclose(ours, raw, rtol=1e-5)  # the file as read (float32) vs nilearn reading it itself
    series, _ = prep.roi_timeseries(0)
    np.testing.assert_allclose(series, signal.clean(ours, detrend=True, low_pass=0.1, t_r=2.0,
                                                    standardize="zscore_sample"), rtol=1e-10, atol=1e-12)
    expected = signal.clean(raw, detrend=True, low_pass=0.1, t_r=2.0, standardize="zscore_sample")
    np.testing.assert_allclose(series, expected, atol=1e-3)
    r = np.corrcoef(expected.T)[np.triu_indices(len(COORDS), 1)]
    np.testing.assert_allclose(feats, np.arctanh(r), rtol=1e-4, atol=1e-5)


def test_band_pass_on_real_series_equals_nilearn_and_removes_slow_drift(functional_cohort):
    from nilearn import signal

    root, images, table, coords = functional_cohort
    d = _data(images, table, coords, root, high_pass=0.02, low_pass=0.1)
    prep = Preprocessor(build_cohort(d), d)
    with pytest.raises(InputFileError, match=r"sub-a_bold\.nii: has 20 frames; the high-pass 0\.02 Hz and low-pass "
                                             r"0\.1 Hz at TR 2 s needs at least 34"):
        prep.load(0)
    series, _ = prep.roi_timeseries(1)  # 60 frames
    assert series.shape == (60, len(COORDS))
    raw, _ = extract_roi_timeseries(_as_loaded(images / "sub-b_bold.nii"), prep._atlas)
    expected = signal.clean(raw, detrend=True, high_pass=0.02, low_pass=0.1, t_r=2.0, standardize="zscore_sample")
    np.testing.assert_allclose(series, expected, rtol=1e-10, atol=1e-12)
    power = np.abs(np.fft.rfft(series, axis=0)) ** 2
    freqs = np.fft.rfftfreq(60, d=2.0)
    inside = (freqs >= 0.02) & (freqs <= 0.1)
    assert power[inside].sum() > 0.9 * power.sum()  # what is left is in the band


def test_too_short_series_for_the_default_band_names_the_file(functional_cohort):
    root, images, table, coords = functional_cohort
    d = _data(images, table, coords, root)  # defaults: 0.01-0.1 Hz
    prep = Preprocessor(build_cohort(d), d)
    with pytest.raises(InputFileError, match=r"sub-a_bold\.nii: has 20 frames.*needs at least 50.*high-pass"):
        prep.load(0)
    assert min_frames(0.01, 0.1, 2.0) == 50 and min_frames(0, 0.1, 2.0) == 19 and min_frames(0, 0, 2.0) == 0
    with pytest.raises(InputFileError, match="Nyquist"):
        clean_timeseries(np.random.default_rng(0).normal(size=(60, 3)), 6.0, high_pass=0, low_pass=0.1)


def test_confounds_table_regresses_out_a_planted_confound(tmp_path):
    rng = np.random.default_rng(3)
    img = nib.load(str(FUNCTIONAL))
    data = np.concatenate([np.asarray(img.dataobj, np.float32)] * 3, axis=3)
    confound = np.cumsum(rng.normal(size=60)) * 40  # a slow wandering nuisance signal, e.g. from motion
    data = data + confound[None, None, None, :].astype(np.float32)
    images = tmp_path / "images"
    images.mkdir()
    nib.save(nib.Nifti1Image(data, img.affine, img.header), str(images / "sub-a_task-rest_desc-preproc_bold.nii"))
    nib.save(nib.Nifti1Image(data[..., ::-1].copy(), img.affine, img.header),
             str(images / "sub-b_task-rest_desc-preproc_bold.nii"))
    for sub, c in (("a", confound), ("b", confound[::-1])):
        rows = "".join(f"{v:.6f}\tn/a\t{rng.normal():.4f}\n" for v in c)
        (images / f"sub-{sub}_task-rest_desc-confounds_timeseries.tsv").write_text(
            "csf\tframewise_displacement\ttrans_x\n" + rows)
    table = tmp_path / "t.tsv"
    table.write_text("SUB_ID\tDX_GROUP\na\t1\nb\t2\n")
    coords = tmp_path / "c.tsv"
    coords.write_text("x\ty\tz\n" + "".join(f"{x}\t{y}\t{z}\n" for x, y, z in COORDS))
    base = dict(images=images, table=table, coords=coords, root=tmp_path, high_pass=0.02, low_pass=0.1)
    plain = Preprocessor(build_cohort(_data(**base)), _data(**base))
    before, _ = plain.roi_timeseries(0)
    filtered = clean_timeseries(confound[:, None], 2.0, high_pass=0.02, low_pass=0.1)[:, 0]
    assert min(abs(np.corrcoef(before[:, k], filtered)[0, 1]) for k in range(len(COORDS))) > 0.5
    d = _data(**base, confounds_pattern="*_desc-confounds_timeseries.tsv", confounds=["csf", "trans_x"])
    prep = Preprocessor(build_cohort(d), d)
    after, _ = prep.roi_timeseries(0)
    assert max(abs(np.corrcoef(after[:, k], filtered)[0, 1]) for k in range(len(COORDS))) < 1e-6
    assert prep.cache_path(0) != plain.cache_path(0)  # the confounds are part of the cache key
    # the same table found through a column of the labels table
    table2 = tmp_path / "t2.tsv"
    table2.write_text("SUB_ID\tDX_GROUP\tconf\na\t1\timages/sub-a_task-rest_desc-confounds_timeseries.tsv\n"
                      "b\t2\timages/sub-b_task-rest_desc-confounds_timeseries.tsv\n")
    d2 = _data(**{**base, "table": table2}, confounds_column="conf", confounds=["csf", "trans_x"])
    np.testing.assert_allclose(Preprocessor(build_cohort(d2), d2).roi_timeseries(0)[0], after)
    # a missing column is named with the file
    with pytest.raises(InputFileError, match=r"sub-a_task-rest_desc-confounds_timeseries\.tsv: line 1: no column "
                                             r"white_matter"):
        read_confounds(images / "sub-a_task-rest_desc-confounds_timeseries.tsv", ["csf", "white_matter"])
    assert np.isfinite(read_confounds(images / "sub-a_task-rest_desc-confounds_timeseries.tsv",
                                      ["framewise_displacement"])).all()  # 'n/a' cells filled


# ---------------------------------------------------------------------------------------------------------------
# the route, the network, and the demo end to end
# ---------------------------------------------------------------------------------------------------------------
def test_auto_route_and_resolved_config(tmp_path):
    d3 = write_demo_cohort(tmp_path / "d3", 4, (8, 10, 8), seed=0)
    d4 = write_demo_cohort(tmp_path / "d4", 4, (8, 10, 8), seed=0, frames=6)
    assert ScansDataConfig().route == "auto"
    assert resolve_route(ScansDataConfig(images=str(d3.images))) == "volumes"
    assert resolve_route(ScansDataConfig(images=str(d4.images))) == "connectivity"
    assert resolve_route(ScansDataConfig(images=str(d4.images), route="volumes")) == "volumes"
    assert resolve_route(ScansDataConfig(timeseries="x")) == "connectivity"
    cfg = ScansConfig()
    cfg.data.images, cfg.data.atlas = str(d4.images), ""
    cfg.model.autoencoder = {"depth": 2, "channels": 8, "code_size": 16, "noise_std": 0.1}  # a volumes form's values
    out = resolved_config(cfg)
    assert out.data.route == "connectivity" and out.data.atlas == "power2011"
    assert out.model.autoencoder == {"code_size": 16} and cfg.data.route == "auto"  # a copy; the input is untouched


def test_heinsfeld_network_spec_and_shapes():
    import torch

    spec = SCANS_ARCHITECTURES["heinsfeld-sdae"]
    assert spec.label == "Stacked denoising AE (Heinsfeld-style)"
    assert "not a prediction for other data" in spec.summary
    defaults = spec.resolve({})
    assert (defaults["hidden"], defaults["code_size"]) == (1000, 600)
    net = build_scans_model("heinsfeld-sdae", 45, {"hidden": 12, "code_size": 5})
    x = torch.randn(3, 45)
    net.eval()
    assert net.encode(x).shape == (3, 5) and net(x).shape == (3, 45)
    assert net.layerwise and ARM_NAMES["sdae"].endswith("(Heinsfeld-style)")


def test_demo_4d_cohort_end_to_end_with_the_heinsfeld_network(tmp_path, capsys):
    from biodeep_gui.core.scans.pipeline import train_scans
    from biodeep_gui.core.scans.run import load_scans_run

    demo = write_demo_cohort(tmp_path / "d", 16, (10, 12, 10), seed=7, frames=60)
    cfg = ScansConfig()
    d = cfg.data
    d.images, d.labels, d.file_column, d.site_column = str(demo.images), str(demo.table), "FILE_ID", "SITE_ID"
    d.atlas, d.cache_dir = str(demo.atlas), str(tmp_path / "cache")
    cfg.model.connectivity_network = "heinsfeld-sdae"
    cfg.model.autoencoder = {"hidden": 24, "code_size": 8, "finetune_epochs": 40, "finetune_lr": 1e-3}
    cfg.train.epochs, cfg.train.batch_size, cfg.train.head_epochs = 4, 4, 30
    cfg.cv.folds, cfg.cv.permutations, cfg.cv.final_fit = 2, 5, True
    items = list(train_scans(cfg, tmp_path / "run"))
    summary = items[-1]
    assert isinstance(summary, ScansSummary) and not summary.cancelled and summary.route == "connectivity"
    cohort = next(i for i in items if isinstance(i, CohortReport))
    n_regions = len(np.unique(nib.load(str(demo.atlas)).get_fdata())) - 1
    assert cohort.n_features == n_regions * (n_regions - 1) // 2
    assert set(summary.metrics) == {"mlp", "logistic", "logistic_features", "sdae", "site_only"}
    for arm, metrics in summary.metrics.items():
        mean, sd = metrics["accuracy"]
        assert 0 <= mean <= 1 and np.isfinite(sd), arm  # a cross-validated mean with its spread
    assert summary.permutation["logistic"]["n"] == 5 and 0 < summary.permutation["logistic"]["p_value"] <= 1
    # the fine-tuned arm has its own within-site permutation test (refitted inside each fold)
    sdae = summary.permutation["sdae"]
    assert sdae["n"] == 5 and sdae["within_site"] == 1 and sdae["floor"] <= sdae["p_value"] <= 1
    assert sdae["accuracy"] == pytest.approx(summary.metrics["sdae"]["accuracy"][0])
    text = format_summary(summary)
    assert "Stacked denoising AE, fine-tuned (Heinsfeld-style): accuracy" in text and "Permutation test" in text
    assert "Permutation test (Stacked denoising AE, fine-tuned (Heinsfeld-style))" in text
    doc = json.loads((tmp_path / "run" / "run.json").read_text())
    assert doc["config"]["data"]["route"] == "connectivity"
    assert doc["config"]["model"]["connectivity_network"] == "heinsfeld-sdae"
    run = load_scans_run(tmp_path / "run")
    model, extra = run.autoencoder(0)
    assert type(model).__name__ == "StackedDenoisingAutoencoder" and extra["feature_mean"].shape == (cohort.n_features,)
    capsys.readouterr()
    print(text)  # shown with -s: the demo's numbers


# ---------------------------------------------------------------------------------------------------------------
# settings: one test per kind of bad value
# ---------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("data, match", [
    ({"route": "fmri"}, r"data\.route"),
    ({"atlas": "powr2011"}, r"data\.atlas = 'powr2011' is neither a coordinate atlas"),
    ({"sphere_radius": 0}, r"data\.sphere_radius"),
    ({"sphere_radius": "5mm"}, r"data\.sphere_radius"),
    ({"high_pass": -0.01}, r"data\.high_pass"),
    ({"low_pass": 0.01, "high_pass": 0.05}, r"data\.low_pass = 0\.01 Hz is not above data\.high_pass"),
    ({"detrend": "yes"}, r"data\.detrend"),
    ({"tr": -2}, r"data\.tr"),
    ({"confounds_column": "conf", "confounds_pattern": "*.tsv"}, r"data\.confounds_column and "
                                                                  r"data\.confounds_pattern"),
    ({"confounds_pattern": "*.tsv", "confounds": []}, r"data\.confounds = \[\]"),
    ({"confounds": ["csf", " "]}, r"data\.confounds"),
])
def test_bad_connectivity_settings_are_named(data, match):
    with pytest.raises(ConfigError, match=match):
        ScansConfig.from_dict({"data": data}).validate()


def test_bad_network_name_is_named_and_cli_flags_reach_the_config(tmp_path):
    from biodeep_gui.cli.main import build_parser
    from biodeep_gui.cli.scans import _config

    with pytest.raises(ConfigError, match=r"model\.connectivity_network"):
        ScansConfig.from_dict({"model": {"connectivity_network": "heinsfeld"}})
    args = build_parser()[0].parse_args([
        "scans", "train", "--images", "i", "--labels", "l.tsv", "--out", str(tmp_path / "r"), "--atlas",
        "dosenbach2010", "--sphere-radius", "6", "--no-detrend", "--high-pass", "0.008", "--low-pass", "0.08",
        "--no-standardize", "--tr", "2.5", "--confounds-pattern", "*_desc-confounds_timeseries.tsv", "--confounds",
        "csf,white_matter", "--network", "heinsfeld-sdae", "--route", "connectivity"])
    cfg = _config(args)
    d = cfg.data
    assert (d.atlas, d.sphere_radius, d.detrend, d.high_pass, d.low_pass, d.standardize, d.tr) == (
        "dosenbach2010", 6.0, False, 0.008, 0.08, False, 2.5)
    assert d.confounds == ["csf", "white_matter"] and d.confounds_pattern.startswith("*_desc")
    assert cfg.model.connectivity_network == "heinsfeld-sdae" and cfg.autoencoder_arch() == "heinsfeld-sdae"
    assert d.input_files() == ["l.tsv"]  # a built-in atlas is no input file
    args = build_parser()[0].parse_args(["scans", "train", "--images", "i", "--labels", "l.tsv", "--out", "r",
                                      "--low-pass", "0.005"])
    with pytest.raises(ConfigError, match=r"data\.low_pass"):
        _config(args)


def test_fisher_z_features_of_identical_series():
    x = np.random.default_rng(0).normal(size=(30, 3))
    feats, n_const = connectivity_features(np.c_[x, x[:, 0]])
    assert feats.shape == (6,) and n_const == 0 and feats[2] == pytest.approx(np.arctanh(0.999999))


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes need a POSIX system")
def test_a_named_pipe_as_the_confounds_table_is_refused_without_opening_it(tmp_path):
    from biodeep_gui.core.common.errors import InputFileError
    from biodeep_gui.core.scans.connectivity import read_confounds

    fifo = tmp_path / "confounds.tsv"
    os.mkfifo(fifo)
    with pytest.raises(InputFileError, match="confounds"):  # opening it would block forever
        read_confounds(fifo, ["csf"])
