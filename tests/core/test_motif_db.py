"""Motif files: MEME / JASPAR / TRANSFAC reading, MEME writing, the bundled JASPAR 2026 set."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from biodeep_gui.core.common import fileio
from biodeep_gui.core.common.errors import InputFileError
from biodeep_gui.core.common.resources import resource_path
from biodeep_gui.core.sequences import motif_db
from biodeep_gui.core.sequences.motif_db import (
    BUNDLED_JASPAR_RELEASE,
    Motif,
    bundled_jaspar,
    find_motif,
    load_motifs,
    write_meme,
)


def _random_motifs(n=5, seed=0):
    rng = np.random.default_rng(seed)
    return [Motif(f"M{i}.1", f"TF{i}", rng.dirichlet(np.full(4, 0.5), size=int(rng.integers(4, 20))),
                  nsites=int(rng.integers(5, 3000))) for i in range(n)]


# ------------------------------------------------------------------------------------------- Motif


def test_motif_normalises_rows_and_is_read_only():
    m = Motif("X.1", "", [[2, 2, 0, 0], [0, 0, 0, 5]], nsites=4.4)
    np.testing.assert_allclose(m.pfm, [[0.5, 0.5, 0, 0], [0, 0, 0, 1]])
    assert m.name == "X.1" and m.nsites == 4 and m.width == 2 and m.base_id == "X"
    with pytest.raises(ValueError):
        m.pfm[0, 0] = 1.0
    assert m.consensus == "AT"
    np.testing.assert_allclose(m.reverse_complement().pfm, [[1, 0, 0, 0], [0, 0, 0.5, 0.5]])
    np.testing.assert_allclose(m.information_content(), [1.0, 2.0])
    assert np.all(np.isfinite(m.log_odds()))


@pytest.mark.parametrize("bad", [np.zeros((0, 4)), np.ones((3, 5)), [[1, 0, 0, 0], [0, 0, 0, 0]],
                                 [[1, -1, 0, 1]], [[np.nan, 1, 1, 1]]])
def test_motif_rejects_invalid_matrices(bad):
    with pytest.raises(ValueError):
        Motif("bad", "bad", bad)


# ------------------------------------------------------------------------------------ MEME round trip


def test_write_meme_round_trip(tmp_path):
    motifs = _random_motifs()
    path = write_meme(motifs, tmp_path / "out.meme")
    back = load_motifs(path)
    assert [m.id for m in back] == [m.id for m in motifs]
    assert [m.name for m in back] == [m.name for m in motifs]
    assert [m.nsites for m in back] == [m.nsites for m in motifs]
    for a, b in zip(motifs, back):
        np.testing.assert_allclose(b.pfm, a.pfm, atol=2e-6)
        assert b.source == str(path)


def test_write_meme_is_read_by_biopython(tmp_path):
    from Bio import motifs as bio_motifs

    motifs = _random_motifs(seed=3)
    path = write_meme(motifs, tmp_path / "out.meme", background=(0.3, 0.2, 0.2, 0.3))
    with open(path) as fh:
        record = bio_motifs.parse(fh, "minimal")
    assert [m.name for m in record] == [m.id for m in motifs]
    assert record.background == pytest.approx({"A": 0.3, "C": 0.2, "G": 0.2, "T": 0.3})
    for ours, theirs in zip(motifs, record):
        assert theirs.length == ours.width and theirs.num_occurrences == ours.nsites
        counts = np.array([theirs.counts[b] for b in "ACGT"]).T
        # Biopython rounds prob * nsites to whole counts.
        np.testing.assert_allclose(counts, ours.pfm * ours.nsites, atol=0.51)


def test_write_meme_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "keep.meme"
    write_meme(_random_motifs(2), path)
    before = path.read_bytes()

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(fileio.os, "replace", broken_replace)  # the shared atomic writer
    with pytest.raises(OSError):
        write_meme(_random_motifs(4, seed=9), path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.meme"]  # no temp file left behind


def test_meme_rows_not_summing_to_one_are_normalised(tmp_path):
    path = tmp_path / "rough.meme"
    path.write_text("MEME version 4\n\nALPHABET= ACGT\n\nMOTIF m1 ROUGH\n"
                    "letter-probability matrix: alength= 4 w= 3 nsites= 12 E= 0\n"
                    " 0.25 0.25 0.25 0.24\n 0.5 0.5 0.01 0.0\n 0.0 0.0 0.0 2.0\n")
    (m,) = load_motifs(path)
    assert (m.id, m.name, m.nsites, m.width) == ("m1", "ROUGH", 12, 3)
    np.testing.assert_allclose(m.pfm.sum(axis=1), 1.0)
    np.testing.assert_allclose(m.pfm[2], [0, 0, 0, 1])


def test_meme_program_output_without_width_or_nsites(tmp_path):
    """MEME's own meme.txt layout: extra words on MOTIF lines, a log-odds matrix to skip, no w=."""
    path = tmp_path / "meme.txt"
    path.write_text(
        "********\nMEME - Motif discovery tool\nMEME version 5.5.5\n\nALPHABET= ACGT\n\n"
        "MOTIF GGCGGGGC MEME-1\twidth =   2  sites =  21  llr = 222  E-value = 1.1e-022\n"
        "Motif GGCGGGGC MEME-1 position-specific scoring matrix\n"
        "log-odds matrix: alength= 4 w= 2 n= 100 bayes= 5 E= 1e-22\n  -10 -10 300 -10\n  -10 300 -10 -10\n\n"
        "Motif GGCGGGGC MEME-1 position-specific probability matrix\n"
        "letter-probability matrix: alength= 4\n 0.0 0.0 1.0 0.0\n 0.0 1.0 0.0 0.0\n\n"
        "Time  0.1 secs.\n")
    (m,) = load_motifs(path)
    assert (m.id, m.name, m.nsites) == ("GGCGGGGC", "MEME-1", motif_db.DEFAULT_NSITES)
    assert m.consensus == "GC"


def test_jaspar_counts_multi_motif_file(tmp_path):
    path = tmp_path / "two.jaspar"
    path.write_text(">MA0001.1 AGL3\nA  [ 0  3 79 ]\nC  [94 75  4 ]\nG  [ 1  0  3 ]\nT  [ 2 19 11 ]\n\n"
                    ">MA0002.1\tRUNX1\nA [10 0]\nC [0 10]\nG [0 0]\nT [0 0]\n")
    a, b = load_motifs(path)
    assert (a.id, a.name, a.nsites, a.width) == ("MA0001.1", "AGL3", 97, 3)
    np.testing.assert_allclose(a.pfm[0], np.array([0, 94, 1, 2]) / 97)
    assert (b.id, b.name, b.consensus) == ("MA0002.1", "RUNX1", "AC")


def test_raw_pfm_without_header(tmp_path):
    path = tmp_path / "SRF.pfm"
    path.write_text("2 9 0\n1 0 4\n3 0 5\n4 1 1\n")
    (m,) = load_motifs(path)
    assert m.id == "SRF" and m.width == 3 and m.nsites == 10
    np.testing.assert_allclose(m.pfm.sum(axis=1), 1.0)


def test_transfac(tmp_path):
    path = tmp_path / "motifs.transfac"
    path.write_text("AC  M00001\nXX\nID  V$MYOD_01\nXX\nP0      A      C      G      T\n"
                    "01      1      2      2      0      S\n02      2      1      2      0      R\n"
                    "03      3      0      1      1      A\nXX\n//\n"
                    "AC  M00002\nID  V$E47_01\nP0  A C G T\n01  0.5 0.5 0 0\n02  0 0 0 1\n")  # no final '//'
    a, b = load_motifs(path)
    assert (a.id, a.name, a.width, a.nsites) == ("M00001", "V$MYOD_01", 3, 5)
    np.testing.assert_allclose(a.pfm[0], [0.2, 0.4, 0.4, 0.0])
    assert (b.id, b.width, b.nsites) == ("M00002", 2, motif_db.DEFAULT_NSITES)  # frequencies: sites unknown


@pytest.mark.parametrize("name, content, words", [
    ("empty.meme", "", "empty"),
    ("blank.jaspar", "\n  \n", "empty"),
    ("garbage.meme", "hello world\nthis is not a motif\n", "MEME version"),
    ("garbage.txt", "hello world\n", "not a recognised motif format"),
    ("zero.meme", "MEME version 4\nALPHABET= ACGT\nMOTIF z\nletter-probability matrix: w= 2\n"
                  "0.25 0.25 0.25 0.25\n0 0 0 0\n", "position 2 has no counts"),
    ("zero.jaspar", ">MA9.1 Z\nA [1 0]\nC [0 0]\nG [0 0]\nT [0 0]\n", "position 2 has no counts"),
    ("short.jaspar", ">MA1.1 A\nA [1 0]\nC [0 1]\nG [0 0]\n>MA2.1 B\nA [1]\nC [0]\nG [0]\nT [0]\n", "3 rows"),
    ("ragged.jaspar", ">MA1.1 A\nA [1 0]\nC [0 1 3]\nG [0 0]\nT [1 1]\n", "unreadable"),
    ("nomatrix.meme", "MEME version 4\nMOTIF a\nMOTIF b\nletter-probability matrix: w= 1\n1 0 0 0\n",
     "no letter-probability matrix"),
    ("truncated.meme", "MEME version 4\nMOTIF a\nletter-probability matrix: w= 3\n1 0 0 0\n", "stops after 1"),
    ("threecols.meme", "MEME version 4\nMOTIF a\nletter-probability matrix: w= 1\n0.5 0.5 0\n", "3 values"),
    ("protein.meme", "MEME version 4\nALPHABET= ACDEFGHIKLMNPQRSTVWY\n", "not DNA"),
    ("negative.pfm", "1 2\n-1 0\n0 0\n1 1\n", "negative"),
    ("nomotifs.meme", "MEME version 4\nALPHABET= ACGT\n", "no motifs"),
    ("bad.transfac", "ID  x\nP0  A C G T\n01  1 2 x 4\n//\n", "unreadable TRANSFAC"),
])
def test_bad_files_raise_input_file_error_naming_the_file(tmp_path, name, content, words):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(InputFileError) as info:
        load_motifs(path)
    assert name in str(info.value) and words in str(info.value)
    assert info.value.path == str(path)


def test_missing_and_binary_files(tmp_path):
    with pytest.raises(InputFileError, match="not found"):
        load_motifs(tmp_path / "nope.meme")
    binary = tmp_path / "weights.meme"
    binary.write_bytes(b"\x89PNG\0\0\x01\x02")
    with pytest.raises(InputFileError, match="binary"):
        load_motifs(binary)
    with pytest.raises(InputFileError, match="folder"):
        load_motifs(tmp_path)


# ------------------------------------------------------------------------------------------ bundle


def test_bundled_jaspar_loads():
    motifs = bundled_jaspar()
    assert len(motifs) > 500
    ids = [m.id for m in motifs]
    assert len(set(ids)) == len(ids)
    assert len({m.base_id for m in motifs}) == len(motifs)  # latest version only
    for m in motifs:
        np.testing.assert_allclose(m.pfm.sum(axis=1), 1.0, atol=1e-9)
        assert m.pfm.shape == (m.width, 4) and m.width >= 4
        assert m.source.startswith(BUNDLED_JASPAR_RELEASE)
    ctcf = find_motif("MA0139")
    assert ctcf.name == "CTCF" and ctcf.id.startswith("MA0139.") and ctcf.width == 15
    assert find_motif("ctcf", motifs).id == ctcf.id
    assert find_motif(ctcf.id).base_id == "MA0139"
    # CTCF's core: the invariant C and G of CCGCGNGG / CCAGCAGGGGGC
    assert "CCA" in ctcf.consensus and "GGGGGCG" in ctcf.consensus
    with pytest.raises(KeyError):
        find_motif("MA9999")


def test_bundled_jaspar_is_cached_and_returns_a_fresh_list():
    a, b = bundled_jaspar(), bundled_jaspar()
    assert a is not b and a[0] is b[0]
    a.clear()
    assert len(bundled_jaspar()) == len(b)


def test_bundle_readme_states_licence_and_count():
    readme = resource_path("motifs", "README.md").read_text(encoding="utf-8")
    assert "CC BY 4.0" in readme and "gkaf1209" in readme and "pyJASPAR" in readme
    assert f"{len(bundled_jaspar())} position frequency matrices" in readme


def test_resource_path_source_and_frozen(monkeypatch, tmp_path):
    assert resource_path("motifs").is_dir()
    assert resource_path() == Path(motif_db.__file__).resolve().parents[3] / "resources"
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert resource_path("motifs", "x.meme") == tmp_path / "resources" / "motifs" / "x.meme"
