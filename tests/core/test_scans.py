"""Cohort loading, audit, preprocessing and connectivity features of ``biodeep_gui.core.scans``.

Real NIfTI files shipped inside nibabel (``nibabel.testing.data_path``) are used where they exist: a big-endian
int16 3-D volume, a 4-D series, a NIfTI-2 file, a file with NaNs, a CIFTI file.
"""
from __future__ import annotations

import gzip
import os
import shutil
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from nibabel.testing import data_path

from biodeep_gui.core.common.errors import ConfigError, InputFileError
from biodeep_gui.core.scans.cohort import Cohort, build_cohort
from biodeep_gui.core.scans.config import ScansConfig, ScansDataConfig
from biodeep_gui.core.scans.connectivity import atlas_timeseries, connectivity_features, read_roi_timeseries
from biodeep_gui.core.scans.nifti import Grid, read_header, read_image_data
from biodeep_gui.core.scans.preprocess import Preprocessor, SubjectStatus, scan_cohort
from biodeep_gui.core.scans.synthetic import write_demo_cohort, write_demo_timeseries
from biodeep_gui.core.scans.volumes import compute_mask, load_mask, normalise, resample_volume, subject_stats, summarise

NIB = Path(data_path)


def _table(path: Path, header: str, rows: list[str]) -> Path:
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def _save(path: Path, data: np.ndarray, affine: np.ndarray, cls=nib.Nifti1Image) -> Path:
    img = cls(np.asarray(data), affine)
    nib.save(img, str(path))
    return path


def _cfg(images: Path, labels: Path, **kw) -> ScansDataConfig:
    return ScansDataConfig(images=str(images), labels=str(labels), subject_column=kw.pop("subject_column", "subject"),
                           label_column=kw.pop("label_column", "group"), **kw)


@pytest.fixture()
def nibabel_cohort(tmp_path):
    """Real nibabel test files as a 4-subject cohort (3-D big-endian int16, 4-D NIfTI-1, 4-D NIfTI-2, uint8)."""
    images = tmp_path / "images"
    images.mkdir()
    files = {"s1": "anatomical.nii", "s2": "example4d.nii.gz", "s3": "example_nifti2.nii.gz", "s4": "standard.nii.gz"}
    for sid, name in files.items():
        shutil.copy(NIB / name, images / f"{sid}_{name}")
    table = _table(tmp_path / "labels.csv", "subject,group", ["s1,patient", "s2,control", "s3,patient", "s4,control"])
    return images, table, files


# ---------------------------------------------------------------------------------------------------------------
# real files from nibabel
# ---------------------------------------------------------------------------------------------------------------
def test_nibabel_headers_are_read_correctly():
    anat = read_header(NIB / "anatomical.nii")
    assert anat.format == "NIfTI-1" and anat.byte_order == "big" and anat.dtype == "int16"
    assert anat.shape == (33, 41, 25) and anat.axcodes == "LAS" and not anat.is_4d
    four = read_header(NIB / "example4d.nii.gz")
    assert four.shape == (128, 96, 24, 2) and four.n_frames == 2
    assert four.tr == pytest.approx(2.0) and "implausible" in four.notes[0]  # stored as 2000 "sec"
    two = read_header(NIB / "example_nifti2.nii.gz")
    assert two.format == "NIfTI-2" and two.shape == (32, 20, 12, 2)
    assert two.voxel_size == pytest.approx((2.0, 2.0, 2.2), abs=1e-4)


def test_big_endian_int16_values_match_nibabel():
    data, affine, header = read_image_data(NIB / "anatomical.nii", canonicalise=False)
    ref = nib.load(str(NIB / "anatomical.nii"))
    assert data.dtype == np.float32
    np.testing.assert_array_equal(data, ref.get_fdata())
    can, can_affine, _ = read_image_data(NIB / "anatomical.nii", canonicalise=True)
    ref_can = nib.as_closest_canonical(ref)
    np.testing.assert_array_equal(can, ref_can.get_fdata())
    np.testing.assert_allclose(can_affine, ref_can.affine)
    assert "".join(nib.aff2axcodes(can_affine)) == "RAS"
    # the header-only prediction of the canonical grid agrees with what as_closest_canonical does
    grid = header.grid(canonical=True)
    assert grid.shape == can.shape and np.allclose(grid.affine, can_affine)


def test_nibabel_cohort_audit_and_resampled_loading(nibabel_cohort, tmp_path):
    images, table, files = nibabel_cohort
    cohort = build_cohort(_cfg(images, table))
    assert [s.id for s in cohort.subjects] == ["s1", "s2", "s3", "s4"]
    assert {s.header.format for s in cohort.subjects} == {"NIfTI-1", "NIfTI-2"}
    kinds = {f.kind: f for f in cohort.flags}
    assert kinds["grid"].severity == "error" and not kinds["grid"].handled and kinds["grid"].fix == "resample"
    assert "mixed-orientation" in kinds and kinds["mixed-orientation"].handled  # LAS and RAS; canonicalised
    assert kinds["dimensions"].severity == "warning"  # two 3-D and two 4-D files
    with pytest.raises(InputFileError, match="different grid"):
        cohort.check()

    cfg = _cfg(images, table, resample=True, voxel_size=4.0, cache_dir=str(tmp_path / "cache"))
    cohort = build_cohort(cfg)
    cohort.check()  # resampling handles the grids
    prep = Preprocessor(cohort, cfg)
    assert prep.grid.voxel_size == pytest.approx((4.0, 4.0, 4.0))
    arrays = [np.asarray(prep.load(i)) for i in range(4)]
    assert all(a.shape == prep.grid.shape and np.isfinite(a).all() for a in arrays)
    assert arrays[0].std() > 0  # the reference anatomy survives resampling


def test_reference_subject_is_loaded_unchanged_and_4d_mean_summary(tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    shutil.copy(NIB / "example4d.nii.gz", images / "a_4d.nii.gz")
    img = nib.load(str(NIB / "example4d.nii.gz"))
    # a second subject on the same grid: the same series scaled, so grids match without resampling
    twice = nib.Nifti1Image(img.get_fdata() * 2, img.affine, img.header)
    twice.set_data_dtype(np.float32)  # the original's int16 would quantise the doubled values
    nib.save(twice, str(images / "b_4d.nii.gz"))
    table = _table(tmp_path / "t.tsv", "subject\tgroup", ["a\t1", "b\t0"])
    # 4-D files go to connectivity unless the volumes route (mean image: anatomy / scanner) is asked for
    cfg = _cfg(images, table, cache_dir=str(tmp_path / "c"), route="volumes")
    cohort = build_cohort(cfg)
    cohort.check()
    assert cohort.classes == ["0", "1"] and list(cohort.y) == [1, 0]
    prep = Preprocessor(cohort, cfg)
    expected = nib.as_closest_canonical(img).get_fdata().mean(axis=3)
    np.testing.assert_allclose(prep.load(0), expected, rtol=1e-5)
    np.testing.assert_allclose(prep.load(1), 2 * expected, rtol=1e-5)


# ---------------------------------------------------------------------------------------------------------------
# bad input files
# ---------------------------------------------------------------------------------------------------------------
def test_not_nifti_is_named(tmp_path):
    bad = tmp_path / "notes.nii"
    bad.write_text("this is not an image\n")
    with pytest.raises(InputFileError, match="notes.nii") as err:
        read_header(bad)
    assert "NIfTI" in str(err.value)
    gz = tmp_path / "text.nii.gz"
    gz.write_text("plain text with a .gz name")
    with pytest.raises(InputFileError, match="text.nii.gz"):
        read_header(gz)


def test_cifti_is_refused():
    with pytest.raises(InputFileError, match="Cifti2Image"):
        read_header(NIB / "row_major.dconn.nii")


def test_truncated_gz_is_named(tmp_path):
    raw = (NIB / "example4d.nii.gz").read_bytes()
    cut = tmp_path / "cut.nii.gz"
    cut.write_bytes(raw[: len(raw) // 2])
    read_header(cut)  # the header is still whole
    with pytest.raises(InputFileError, match=r"cut\.nii\.gz.*truncated"):
        read_image_data(cut)
    cut.write_bytes(raw[:200])  # not even a whole header
    with pytest.raises(InputFileError, match="cut.nii.gz"):
        read_header(cut)


def test_two_d_images_are_refused(tmp_path):
    flat = _save(tmp_path / "flat.nii", np.ones((10, 12), np.float32), np.eye(4))
    with pytest.raises(InputFileError, match=r"flat\.nii.*2-D"):
        read_header(flat)
    one_slice = _save(tmp_path / "slice.nii", np.ones((10, 12, 1), np.float32), np.eye(4))
    with pytest.raises(InputFileError, match="2-D"):
        read_header(one_slice)


def test_nans_are_refused_with_the_file_name():
    # a real nibabel test file that holds NaNs outside its field of view
    with pytest.raises(InputFileError, match=r"resampled_anat_moved\.nii: 153 voxel values are NaN"):
        read_image_data(NIB / "resampled_anat_moved.nii")


def test_constant_image_is_refused(tmp_path):
    p = _save(tmp_path / "zeros.nii", np.zeros((4, 5, 6), np.float32), np.eye(4))
    with pytest.raises(InputFileError, match="zeros.nii.*same value"):
        read_image_data(p)


# ---------------------------------------------------------------------------------------------------------------
# label tables and matching
# ---------------------------------------------------------------------------------------------------------------
@pytest.fixture()
def small_images(tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    rng = np.random.default_rng(0)
    for name in ("Pitt_0050002_func_preproc", "Pitt_0050003_func_preproc", "NYU_0050004_func_preproc"):
        _save(images / f"{name}.nii.gz", rng.random((6, 7, 5)).astype(np.float32), np.diag([3, 3, 3, 1.0]))
    return images


def test_abide_style_table_with_file_column(small_images, tmp_path):
    table = _table(tmp_path / "pheno.csv", "SUB_ID,FILE_ID,DX_GROUP,SITE_ID",
                   ["50002,Pitt_0050002,1,PITT", "50003,Pitt_0050003,2,PITT", "50004,NYU_0050004,1,NYU"])
    cfg = ScansDataConfig(images=str(small_images), labels=str(table), file_column="FILE_ID", site_column="SITE_ID")
    cohort = build_cohort(cfg)
    cohort.check()
    assert [Path(s.path).name for s in cohort.subjects] == ["Pitt_0050002_func_preproc.nii.gz",
                                                            "Pitt_0050003_func_preproc.nii.gz",
                                                            "NYU_0050004_func_preproc.nii.gz"]
    assert cohort.classes == ["2", "1"]  # DX_GROUP 1 (autism in ABIDE) is the positive class
    assert list(cohort.y) == [1, 0, 1] and cohort.sites == ["PITT", "PITT", "NYU"]
    # without a file column, the numeric subject id matches the zero-padded token of the file name
    cohort2 = build_cohort(ScansDataConfig(images=str(small_images), labels=str(table)))
    assert [s.path for s in cohort2.subjects] == [s.path for s in cohort.subjects]


def test_bids_subject_labels_beat_other_numeric_tokens(tmp_path):
    images = tmp_path / "bids"
    for sub in ("01", "02"):
        d = images / f"sub-{sub}" / "func"
        d.mkdir(parents=True)
        _save(d / f"sub-{sub}_task-rest_run-1_bold.nii.gz", np.random.default_rng(1).random((5, 5, 5)), np.eye(4))
    table = _table(tmp_path / "participants.tsv", "participant_id\tdx", ["1\tASD", "2\tTD"])
    cohort = build_cohort(ScansDataConfig(images=str(images), labels=str(table), subject_column="participant_id",
                                            label_column="dx"))
    cohort.check()
    assert ["sub-01" in s.path for s in cohort.subjects] == [True, False]
    assert cohort.positive_label == "ASD"


def test_labels_without_files_and_files_without_labels(small_images, tmp_path):
    table = _table(tmp_path / "pheno.csv", "SUB_ID,DX_GROUP", ["50002,1", "50003,2", "50099,1"])
    cohort = build_cohort(ScansDataConfig(images=str(small_images), labels=str(table)))
    kinds = {f.kind: f for f in cohort.errors()}
    assert "pheno.csv: line 4" in kinds["missing-file"].message and "'50099'" in kinds["missing-file"].message
    assert "NYU_0050004_func_preproc.nii.gz" in kinds["unlabelled-file"].message
    with pytest.raises(InputFileError, match=r"pheno\.csv: line 4: subject '50099' has no file"):
        cohort.check()
    relaxed = build_cohort(ScansDataConfig(images=str(small_images), labels=str(table), allow_missing=True))
    relaxed.check()
    assert len(relaxed) == 2 and len(relaxed.notes) == 2


def test_table_errors_name_file_and_line(small_images, tmp_path):
    t = _table(tmp_path / "t.csv", "SUB_ID,DX_GROUP", ["50002,1", "50003,2", "50004,1"])
    with pytest.raises(InputFileError, match=r"t\.csv: line 1: no label column named 'DIAG'.*SUB_ID, DX_GROUP"):
        build_cohort(ScansDataConfig(images=str(small_images), labels=str(t), label_column="DIAG"))
    t = _table(tmp_path / "dup.csv", "SUB_ID,DX_GROUP", ["50002,1", "50003,2", "50002,1"])
    with pytest.raises(InputFileError, match=r"dup\.csv: line 4: subject '50002' appears twice \(first on line 2\)"):
        build_cohort(ScansDataConfig(images=str(small_images), labels=str(t)))
    t = _table(tmp_path / "na.csv", "SUB_ID,DX_GROUP", ["50002,1", "50003,-9999", "50004,2"])
    with pytest.raises(InputFileError, match=r"na\.csv: line 3: subject '50003' has no label"):
        build_cohort(ScansDataConfig(images=str(small_images), labels=str(t)))


def test_one_class_only_is_refused(small_images, tmp_path):
    t = _table(tmp_path / "one.csv", "SUB_ID,DX_GROUP", ["50002,1", "50003,1.0", "50004,1"])
    cohort = build_cohort(ScansDataConfig(images=str(small_images), labels=str(t)))
    with pytest.raises(InputFileError, match=r"one\.csv: only one class \('1'\) in column 'DX_GROUP'"):
        cohort.check()


def test_bad_file_in_cohort_is_listed_not_raised(small_images, tmp_path):
    (small_images / "Pitt_0050003_func_preproc.nii.gz").write_bytes(b"garbage")
    t = _table(tmp_path / "t.csv", "SUB_ID,DX_GROUP", ["50002,1", "50003,2", "50004,1"])
    cohort = build_cohort(ScansDataConfig(images=str(small_images), labels=str(t)))
    assert [s.status.split(":")[0] for s in cohort.subjects] == ["ok", "error", "ok"]
    with pytest.raises(InputFileError, match="Pitt_0050003_func_preproc.nii.gz"):
        cohort.check()


# ---------------------------------------------------------------------------------------------------------------
# audit flags and orientation
# ---------------------------------------------------------------------------------------------------------------
def test_pseudo_4d_and_mixed_orientation_are_flagged_and_canonicalised(tmp_path):
    images = tmp_path / "img"
    images.mkdir()
    rng = np.random.default_rng(3)
    vol = rng.random((8, 9, 7)).astype(np.float32) + 1
    ras = np.diag([2.0, 2.0, 2.0, 1.0])
    las = ras.copy()
    las[0, 0], las[0, 3] = -2.0, 14.0  # x flipped: voxel i of the LAS file is voxel 7 - i of the RAS one
    _save(images / "a.nii.gz", vol, ras)
    _save(images / "b.nii.gz", vol[::-1], las)
    _save(images / "c.nii.gz", vol[..., None], ras)  # pseudo-4-D (x, y, z, 1)
    table = _table(tmp_path / "t.csv", "subject,group", ["a,1", "b,0", "c,1"])
    cfg = _cfg(images, table, cache_dir=str(tmp_path / "cache"))
    cohort = build_cohort(cfg)
    kinds = {f.kind: f for f in cohort.flags}
    assert kinds["pseudo-4d"].files == [str(images / "c.nii.gz")]
    assert kinds["mixed-orientation"].handled and "LAS" in kinds["mixed-orientation"].message
    cohort.check()
    prep = Preprocessor(cohort, cfg)
    a, b, c = (np.asarray(prep.load(i)) for i in range(3))
    np.testing.assert_array_equal(a, b)  # same anatomy after reorientation: never mis-registered
    np.testing.assert_array_equal(a, c)
    # without canonicalisation or resampling the two orientations are on different grids: refused, file named
    raw = build_cohort(_cfg(images, table, canonicalise=False))
    assert {f.kind for f in raw.errors()} >= {"mixed-orientation", "grid"}
    with pytest.raises(InputFileError, match="b.nii.gz"):
        raw.check()


def test_missing_spatial_codes_are_warned(tmp_path):
    images = tmp_path / "img"
    images.mkdir()
    for name in ("a", "b"):
        img = nib.Nifti1Image(np.random.default_rng(0).random((5, 5, 5)).astype(np.float32), np.eye(4))
        img.set_qform(None, code=0)
        img.set_sform(None, code=0)
        nib.save(img, str(images / f"{name}.nii"))
    table = _table(tmp_path / "t.csv", "subject,group", ["a,1", "b,0"])
    flags = build_cohort(_cfg(images, table)).flags
    assert any(f.kind == "no-spatial-codes" and f.severity == "warning" for f in flags)


# ---------------------------------------------------------------------------------------------------------------
# summaries, resampling, masks, normalisation, cache
# ---------------------------------------------------------------------------------------------------------------
def test_summaries_mean_std_alff():
    tr, t = 2.0, 200
    time = np.arange(t) * tr
    data = np.zeros((2, 1, 1, t), np.float32)
    data[0, 0, 0] = 100 + np.sin(2 * np.pi * 0.05 * time)  # inside 0.01-0.08 Hz
    data[1, 0, 0] = 100 + np.sin(2 * np.pi * 0.2 * time)  # outside the band
    np.testing.assert_allclose(summarise(data, "mean")[:, 0, 0], [100, 100], atol=1e-3)
    np.testing.assert_allclose(summarise(data, "std")[:, 0, 0], [np.sqrt(0.5)] * 2, rtol=1e-3)
    alff = summarise(data, "alff", tr)[:, 0, 0]
    assert alff[0] > 20 * alff[1]
    with pytest.raises(ValueError, match="resolve no frequency"):
        summarise(data[..., :5], "alff", tr)


def test_grid_rescale_and_resampling_through_affines():
    grid = Grid((20, 24, 20), np.array([[-3.0, 0, 0, 30], [0, 3, 0, -36], [0, 0, 3, -30], [0, 0, 0, 1]]))
    coarse = grid.rescaled(6.0)
    assert coarse.shape == (10, 12, 10) and coarse.voxel_size == pytest.approx((6, 6, 6))
    assert coarse.axcodes == grid.axcodes == "LAS"
    # a linear ramp in world x is still the same ramp in world x after resampling
    ijk = np.indices(grid.shape).reshape(3, -1)
    world = grid.affine[:3, :3] @ ijk + grid.affine[:3, 3:4]
    vol = world[0].reshape(grid.shape).astype(np.float32)
    out = resample_volume(vol, grid.affine, coarse)
    ijk2 = np.indices(coarse.shape).reshape(3, -1)
    world2 = (coarse.affine[:3, :3] @ ijk2 + coarse.affine[:3, 3:4])[0].reshape(coarse.shape)
    inner = (slice(1, -1),) * 3
    np.testing.assert_allclose(out[inner], world2[inner], atol=0.05)
    assert resample_volume(vol, grid.affine, grid) is not None
    np.testing.assert_array_equal(resample_volume(vol, grid.affine, grid), vol)


def test_mask_from_synthetic_brains_and_user_mask(tmp_path):
    demo = write_demo_cohort(tmp_path / "demo", 4, (16, 20, 16), seed=1)
    cfg = ScansDataConfig(images=str(demo.images), labels=str(demo.table), file_column="FILE_ID",
                          cache_dir=str(tmp_path / "cache"))
    cohort = build_cohort(cfg)
    prep = Preprocessor(cohort, cfg)
    mask = compute_mask(prep.load(i) for i in range(4))
    # the simulated brain is an ellipsoid with radii (0.80, 0.86, 0.78) of the half field of view (+-5 % per subject)
    x, y, z = np.meshgrid(*[np.linspace(-1, 1, n) for n in mask.shape], indexing="ij")
    r = np.sqrt((x / 0.80) ** 2 + (y / 0.86) ** 2 + (z / 0.78) ** 2)
    assert mask[r < 0.8].mean() > 0.97  # the inside is brain
    assert mask[r > 1.2].mean() < 0.01  # the background is not
    mean, std = subject_stats(prep.load(0), mask)
    z = normalise(prep.load(0), mask, mean, std)
    assert abs(z[mask].mean()) < 1e-4 and z[mask].std() == pytest.approx(1, abs=1e-3) and not z[~mask].any()
    mpath = _save(tmp_path / "mask.nii.gz", mask.astype(np.uint8), prep.grid.affine)
    np.testing.assert_array_equal(load_mask(mpath, prep.grid, canonicalise=False), mask)
    with pytest.raises(InputFileError, match=r"mask\.nii\.gz: the mask's grid"):
        load_mask(mpath, prep.grid.rescaled(20.0), canonicalise=False)


def test_cache_is_memory_mapped_and_keyed_on_file_and_settings(tmp_path):
    demo = write_demo_cohort(tmp_path / "demo", 2, (8, 10, 8), seed=2)
    cfg = ScansDataConfig(images=str(demo.images), labels=str(demo.table), file_column="FILE_ID",
                          cache_dir=str(tmp_path / "cache"))
    cohort = build_cohort(cfg)
    prep = Preprocessor(cohort, cfg)
    first = prep.load(0)
    assert isinstance(first, np.memmap) and prep.cache_path(0).exists()
    again = Preprocessor(build_cohort(cfg), cfg).load(0)
    np.testing.assert_array_equal(first, again)
    other = ScansDataConfig(**{**cfg.__dict__, "resample": True, "voxel_size": 20.0})
    assert Preprocessor(build_cohort(other), other).cache_path(0) != prep.cache_path(0)
    before = prep.cache_path(0)
    os.utime(cohort.subjects[0].path, ns=(1, 1))  # the file changed: a new cache entry
    assert Preprocessor(build_cohort(cfg), cfg).cache_path(0) != before


def test_cache_entries_go_through_the_shared_atomic_writer(tmp_path, monkeypatch):
    from biodeep_gui.core.common import fileio

    demo = write_demo_cohort(tmp_path / "demo", 2, (8, 10, 8), seed=2)
    cfg = ScansDataConfig(images=str(demo.images), labels=str(demo.table), file_column="FILE_ID",
                          cache_dir=str(tmp_path / "cache"))
    prep = Preprocessor(build_cohort(cfg), cfg)

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(fileio.os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        prep.load(0)
    assert not prep.cache_path(0).exists()
    assert not [p for p in prep.cache_path(0).parent.iterdir() if p.name.endswith(".tmp")]


def test_scan_cohort_reports_bad_files_and_goes_on(tmp_path):
    demo = write_demo_cohort(tmp_path / "demo", 4, (8, 10, 8), seed=3)
    bad = sorted(demo.images.iterdir())[1]
    bad.write_bytes(gzip.compress(bad.read_bytes()[:0]) + b"")  # an empty gzip stream
    cfg = ScansDataConfig(images=str(demo.images), labels=str(demo.table), file_column="FILE_ID",
                          cache_dir=str(tmp_path / "cache"))
    items = list(scan_cohort(cfg))
    assert isinstance(items[0], Cohort)
    statuses = [i for i in items[1:] if isinstance(i, SubjectStatus)]
    assert [s.status for s in statuses].count("ok") == 3
    assert all(s.shape == (8, 10, 8) for s in statuses if s.status == "ok")


# ---------------------------------------------------------------------------------------------------------------
# connectivity
# ---------------------------------------------------------------------------------------------------------------
def test_connectivity_features_fisher_z_and_constant_regions():
    rng = np.random.default_rng(0)
    a = rng.normal(size=500)
    b = 0.6 * a + 0.8 * rng.normal(size=500)
    series = np.stack([a, b, np.full(500, 3.0), rng.normal(size=500)], axis=1)
    feats, n_const = connectivity_features(series)
    assert feats.shape == (6,) and n_const == 1
    r = np.corrcoef(a, b)[0, 1]
    assert feats[0] == pytest.approx(np.arctanh(r), rel=1e-5)
    # upper triangle order: (0,1) (0,2) (0,3) (1,2) (1,3) (2,3); region 2 is constant
    assert feats[1] == 0 and feats[3] == 0 and feats[5] == 0 and feats[2] != 0


def test_read_roi_timeseries_1d_and_errors(tmp_path):
    demo = write_demo_timeseries(tmp_path / "ts", 4, n_regions=6, n_timepoints=30)
    f = sorted(demo.images.iterdir())[0]
    series, names = read_roi_timeseries(f)
    assert series.shape == (30, 6) and names == ["#1", "#2", "#3", "#4", "#5", "#6"]
    csvf = tmp_path / "s.csv"
    csvf.write_text("r1,r2,r3\n1,2,3\n2,3,4\n3,4,6\n")
    s2, n2 = read_roi_timeseries(csvf)
    assert s2.shape == (3, 3) and n2 == ["r1", "r2", "r3"]
    ragged = tmp_path / "ragged.1D"
    ragged.write_text("1 2 3\n4 5 6\n7 8\n9 1 2\n")
    with pytest.raises(InputFileError, match=r"ragged\.1D: line 3: 2 values but 3"):
        read_roi_timeseries(ragged)
    nan = tmp_path / "nan.tsv"
    nan.write_text("1\t2\n3\tnan\n5\t6\n")
    with pytest.raises(InputFileError, match=r"nan\.tsv: line 2: NaN"):
        read_roi_timeseries(nan)


def test_atlas_timeseries_recovers_region_signals(tmp_path):
    rng = np.random.default_rng(5)
    signals = rng.normal(size=(40, 3))
    atlas = np.zeros((6, 6, 4), np.int32)
    atlas[:3, :, :2], atlas[3:, :, :2], atlas[:, :, 2:] = 1, 2, 7
    data = np.zeros((6, 6, 4, 40), np.float32)
    for k, lab in enumerate((1, 2, 7)):
        data[atlas == lab] = signals[:, k]
    aff = np.diag([2.0, 2, 2, 1])
    ts = atlas_timeseries(data, aff, atlas, aff, np.array([1, 2, 7]))
    np.testing.assert_allclose(ts, signals, rtol=1e-5, atol=1e-5)


def test_demo_cohort_is_synthetic_and_loadable(tmp_path):
    demo = write_demo_cohort(tmp_path / "d", 6, (12, 14, 12), seed=0)
    assert "SYNTHETIC" in (tmp_path / "d" / "README.txt").read_text()
    header = demo.table.read_text().splitlines()[0].split("\t")
    assert header == ["SUB_ID", "FILE_ID", "DX_GROUP", "SITE_ID", "SYNTHETIC"]
    img = nib.load(str(sorted(demo.images.iterdir())[0]))
    assert img.shape == (12, 14, 12) and img.get_data_dtype() == np.int16
    assert b"SYNTHETIC" in img.header["descrip"].item()
    cohort = build_cohort(ScansDataConfig(images=str(demo.images), labels=str(demo.table), file_column="FILE_ID",
                                            site_column="SITE_ID"))
    cohort.check()
    assert cohort.class_counts() == {"2": 3, "1": 3} and set(cohort.sites) == {"SITE_A", "SITE_B"}
    std = write_demo_cohort(tmp_path / "mni", 2)
    assert nib.load(str(sorted(std.images.iterdir())[0])).shape == (61, 73, 61)
    assert np.allclose(nib.load(str(sorted(std.images.iterdir())[0])).affine, std.affine)


# ---------------------------------------------------------------------------------------------------------------
# configuration
# ---------------------------------------------------------------------------------------------------------------
def test_scans_config_round_trip_and_errors(tmp_path):
    cfg = ScansConfig()
    cfg.data.images, cfg.model.autoencoder = "imgs", {"code_size": 16}
    again = ScansConfig.from_dict(cfg.to_dict())
    assert again == cfg
    toml = tmp_path / "scans.toml"
    toml.write_text('[data]\nimages = "x"\nsummary = "alff"\n[cv]\nfolds = 3\n[model.autoencoder]\ndepth = 2\n')
    loaded = ScansConfig.load(toml)
    assert loaded.data.summary == "alff" and loaded.cv.folds == 3 and loaded.model.autoencoder == {"depth": 2}
    with pytest.raises(ConfigError, match="unknown setting.*colour"):
        ScansConfig.from_dict({"data": {"colour": 1}})
    with pytest.raises(ConfigError, match="data.summary"):
        ScansConfig.from_dict({"data": {"summary": "median"}})
    with pytest.raises(ConfigError, match="newer"):
        ScansConfig.from_dict({"schema_version": 99})
