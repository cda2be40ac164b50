"""core.common.fileio: the one atomic writer (temp file + fsync + replace + mode) and its .npy variant."""
from __future__ import annotations

import os
import stat

import numpy as np
import pytest

from biodeep_gui.core.common import fileio


def _leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_atomic_write_text_and_bytes_keep_mode(tmp_path):
    p = fileio.atomic_write(tmp_path / "sub" / "a.txt", "héllo")
    assert p.read_bytes() == "héllo".encode()
    assert stat.S_IMODE(p.stat().st_mode) == 0o644
    os.chmod(p, 0o600)
    fileio.atomic_write(p, b"\x00\x01")
    assert p.read_bytes() == b"\x00\x01" and stat.S_IMODE(p.stat().st_mode) == 0o600


def test_atomic_save_npy_round_trips_like_np_save(tmp_path):
    arr = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    p = fileio.atomic_save_npy(tmp_path / "a.npy", arr)
    np.testing.assert_array_equal(np.load(p, mmap_mode="r"), arr)
    ref = tmp_path / "ref.npy"
    np.save(ref, arr)
    assert p.read_bytes() == ref.read_bytes()
    assert stat.S_IMODE(p.stat().st_mode) == 0o644 and not _leftovers(tmp_path)


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temp(tmp_path, monkeypatch):
    p = fileio.atomic_save_npy(tmp_path / "a.npy", np.zeros(3))

    def broken(fh):
        fh.write(b"partial")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        fileio.atomic_write_with(p, broken)
    np.testing.assert_array_equal(np.load(p), np.zeros(3))
    assert not _leftovers(tmp_path)
    with pytest.raises(ValueError):  # object arrays are never pickled into a cache
        fileio.atomic_save_npy(tmp_path / "b.npy", np.array([{"a": 1}], dtype=object))
    assert not (tmp_path / "b.npy").exists() and not _leftovers(tmp_path)


def test_atomic_path_serves_writers_that_need_a_file_name(tmp_path):
    target = tmp_path / "figure.svg"
    with fileio.atomic_path(target, suffix=target.suffix) as tmp:
        assert tmp.parent == tmp_path and tmp.suffix == ".svg" and tmp != target
        tmp.write_text("<svg/>")  # e.g. QImage.save / QSvgGenerator given a file name
        assert not target.exists()
    assert target.read_text() == "<svg/>" and stat.S_IMODE(target.stat().st_mode) == 0o644
    with pytest.raises(RuntimeError):
        with fileio.atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("the painter failed")
    assert target.read_text() == "<svg/>" and not _leftovers(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["figure.svg"]
