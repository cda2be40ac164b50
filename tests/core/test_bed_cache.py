"""BED peaks + genome through the disk-backed encoded cache: the same set as ``load_bed``, streamed chunk by chunk,
bounded memory, and the same messages for bad input."""
import json
import tracemalloc

import numpy as np
import pytest

from biodeep_gui.core.common.errors import ConfigError, InputFileError
from biodeep_gui.core.sequences import bed as bed_module
from biodeep_gui.core.sequences import cache
from biodeep_gui.core.sequences.bed import BedWindows, load_bed
from biodeep_gui.core.sequences.config import DataConfig
from biodeep_gui.core.sequences.splits import split_indices
from biodeep_gui.core.sequences.synthetic_genome import genome_with_peaks

_ACGT = np.frombuffer(b"ACGT", np.uint8)


def _write_genome(path, chromosomes: dict[str, str], width: int = 60):
    with open(path, "w") as fh:
        for name, seq in chromosomes.items():
            fh.write(f">{name}\n" + "".join(seq[i:i + width] + "\n" for i in range(0, len(seq), width)))
    return path


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    """A small SYNTHETIC genome (3 chromosomes, 20 peaks each, sites planted) and its BED (one narrowPeak line,
    one peak near a chromosome end)."""
    folder = tmp_path_factory.mktemp("bedcache")
    g = genome_with_peaks(chrom_lengths=(30_000, 24_000, 20_000), peaks_per_chrom=20, min_spacing=900, seed=4)
    genome = _write_genome(folder / "genome.fa", g.chromosomes)
    lines = [f"{p.chrom}\t{p.start}\t{p.end}\t{p.name}\n" for p in g.peaks]
    lines[3] = f"{g.peaks[3].chrom}\t{g.peaks[3].start}\t{g.peaks[3].end}\tx\t0\t.\t1\t1\t1\t40\n"  # summit
    lines.append("chr3\t19990\t20000\n")  # window shifted inside the chromosome's end
    bed = folder / "peaks.bed"
    bed.write_text("track name=peaks\n" + "".join(lines))
    return bed, genome


def _cfg(bed, genome, **kw):
    return DataConfig(kind="bed", bed=str(bed), genome=str(genome), **{"width": 150, "cache": "on", **kw})


def _assert_same_set(got, ref):
    np.testing.assert_array_equal(np.asarray(got.codes), ref.codes)
    np.testing.assert_array_equal(np.asarray(got.labels), ref.labels)
    np.testing.assert_array_equal(np.asarray(got.lengths), ref.lengths)
    assert list(got.ids) == ref.ids
    assert np.asarray(got.groups).tolist() == ref.groups.tolist()
    assert np.asarray(got.groups).dtype == ref.groups.dtype  # only the chromosomes used are named
    assert (got.task, got.label_names, got.class_names, got.sources) == (ref.task, ref.label_names,
                                                                        ref.class_names, ref.sources)


@pytest.mark.parametrize("method,seed", [("shuffle", 0), ("shuffle", 5), ("flank", 2)])
def test_cached_bed_equals_load_bed_exactly_in_small_chunks(synthetic, tmp_path, monkeypatch, method, seed):
    bed, genome = synthetic
    ref = load_bed(bed, genome, width=150, background_method=method, seed=seed)
    monkeypatch.setattr(bed_module, "CHUNK_PEAKS", 7)  # 61 peaks: 9 chunks, the last one short
    cfg = _cfg(bed, genome, background_method=method)
    got = cache.load_cached(cfg, tmp_path / "c", seed=seed)
    assert not got.cache_hit and isinstance(got.codes, np.memmap) and isinstance(got.groups, cache.Groups)
    _assert_same_set(got, ref)
    manifest = json.loads((got.cache_dir / "manifest.json").read_text())
    assert set(manifest["inputs"]) == {"bed", "genome"}
    assert manifest["settings"] == {"version": cache.CACHE_VERSION, "kind": "bed", "width": 150,
                                    "background_method": method, "seed": seed, "task": "auto"}
    assert cache.load_cached(cfg, tmp_path / "c", seed=seed).cache_hit


def test_the_window_generator_gives_one_set_whatever_the_chunk_size(synthetic):
    bed, genome = synthetic
    for method in ("shuffle", "flank"):
        sets = []
        for chunk in (1, 4, 1000):
            with BedWindows(bed, genome, width=80, background_method=method, seed=3, chunk=chunk) as src:
                parts = list(src.chunks())
                assert max(len(p.peaks) for p in parts) <= chunk
                sets.append((np.concatenate([p.peaks for p in parts] + [p.background for p in parts]),
                             src.peaks.ids(0, src.n_peaks) + src.background_ids(0, src.n_peaks)))
        for codes, ids in sets[1:]:
            np.testing.assert_array_equal(codes, sets[0][0])
            assert ids == sets[0][1]
        ref = load_bed(bed, genome, width=80, background_method=method, seed=3)
        np.testing.assert_array_equal(sets[0][0], ref.codes)


def test_key_holds_seed_width_method_and_the_inputs_content(synthetic, tmp_path):
    bed, genome = synthetic
    cfg = _cfg(bed, genome)
    first = cache.load_cached(cfg, tmp_path / "c", seed=0)
    other_seed = cache.load_cached(cfg, tmp_path / "c", seed=1)
    assert not other_seed.cache_hit and other_seed.cache_dir != first.cache_dir
    assert not np.array_equal(np.asarray(other_seed.codes)[len(first) // 2:], np.asarray(first.codes)[len(first) // 2:])
    for change in ({"width": 120}, {"background_method": "flank"}):
        changed = cache.load_cached(_cfg(bed, genome, **change), tmp_path / "c")
        assert not changed.cache_hit and changed.cache_dir != first.cache_dir
    assert cache.load_cached(_cfg(bed, genome, length=77), tmp_path / "c").cache_hit  # length is not BED's
    # a changed genome (same path) rebuilds the same folder
    copy = _write_genome(tmp_path / "g.fa", {"chr1": "ACGT" * 7500, "chr2": "TTGCA" * 4800, "chr3": "GA" * 10000})
    on_copy = _cfg(bed, copy)
    built = cache.load_cached(on_copy, tmp_path / "c")
    with open(copy, "a") as fh:
        fh.write(">chr4\nACGTACGT\n")
    (tmp_path / "g.fa.fai").unlink()
    again = cache.load_cached(on_copy, tmp_path / "c")
    assert not again.cache_hit and again.cache_dir == built.cache_dir


def test_load_sequences_and_splits_on_a_cached_bed_set(synthetic, tmp_path, monkeypatch):
    from biodeep_gui.core.sequences.io import load_sequences

    bed, genome = synthetic
    monkeypatch.setenv("BIODEEP_HOME", str(tmp_path / "home"))
    cfg = _cfg(bed, genome)
    got = load_sequences(cfg, seed=9)
    ref = load_bed(bed, genome, width=150, seed=9)
    assert isinstance(got, cache.CachedSequenceSet) and got.cache_dir.parent == tmp_path / "home" / "cache" / "encoded"
    _assert_same_set(got, ref)
    for kw in ({}, {"holdout_groups": ["chr2"]}):
        a, b = split_indices(got, seed=1, **kw), split_indices(ref, seed=1, **kw)
        for part in ("train", "val", "test"):
            np.testing.assert_array_equal(a[part], b[part])
        assert a.notes == b.notes and len(a["test"])
    sub = got.subset(np.array([3, 0, 70]))
    assert isinstance(sub.groups, cache.Groups) and isinstance(sub.codes, cache.Rows)
    assert sub.groups.tolist() == ref.groups[[3, 0, 70]].tolist() and sub.groups[2] == ref.groups[70]
    cfg.task = "regression"
    with pytest.raises(ConfigError, match="binary task"):
        load_sequences(cfg)


def test_auto_mode_looks_at_the_bed_file_alone(synthetic, monkeypatch):
    bed, genome = synthetic
    cfg = _cfg(bed, genome, cache="auto")
    assert bed.stat().st_size < cache.AUTO_BED_BYTES
    assert not cache.wants_cache(cfg)
    monkeypatch.setattr(cache, "AUTO_BED_BYTES", bed.stat().st_size)  # the genome is far bigger: it does not count
    assert genome.stat().st_size > 10 * bed.stat().st_size and not cache.wants_cache(cfg)
    monkeypatch.setattr(cache, "AUTO_BED_BYTES", bed.stat().st_size - 1)
    assert cache.wants_cache(cfg)
    cfg.cache = "off"
    assert not cache.wants_cache(cfg)
    assert not cache.wants_cache(DataConfig(kind="bed", bed=str(bed), cache="on"))  # no genome: the loader says so


@pytest.mark.parametrize("text,words,line", [
    ("chr1\t100\t200\nchr2\t900\t1500\n", "997 bp long", 2),             # peak off the end of a chromosome
    ("# peaks\nchr1\t100\t200\n1\t10\t20\n", "is not in the genome", 3),  # unknown chromosome
    ("chr1\t100\t200\nchr1\tten\t300\n", "whole numbers", 2),             # malformed line
    ("chr1\t100\n", "at least 3", 1),                                     # too few columns
    ("track name=empty\n# nothing\n", "contains no intervals", None),     # empty BED
    ("chr1\t100\t200\nchr1\t300\t400\nchr1\t100\t200\n", "as line 1", 3),  # the same window twice
])
def test_bad_input_through_the_cache_gets_the_in_memory_message(write, tmp_path, text, words, line):
    genome = _write_genome(tmp_path / "genome.fa", {"chr1": "ACGT" * 750, "chr2": "GATTACA" * 142 + "GAT"})
    bed = write("p.bed", text)
    with pytest.raises(InputFileError) as in_memory:
        load_bed(bed, genome, width=50)
    cfg = _cfg(bed, genome, width=50)
    with pytest.raises(InputFileError) as cached:
        cache.load_cached(cfg, tmp_path / "c")
    assert str(cached.value) == str(in_memory.value) and words in str(cached.value)
    assert cached.value.path == str(bed) and cached.value.line == line
    assert cache.read_manifest(cache.folder_for(cfg, tmp_path / "c")) is None
    assert not list((tmp_path / "c").glob("*/*.npy"))  # no half-written file left behind


def _spaced_peaks(folder, n, width):
    """A random genome with ``n`` peaks 8 x ``width`` apart on one chromosome (every flank fits)."""
    size = 8 * width * (n + 1)
    rng = np.random.default_rng(n)
    seq = _ACGT[rng.integers(0, 4, size)].tobytes().decode()
    genome = _write_genome(folder / "genome.fa", {"chrM1": seq}, width=100)
    bed = folder / "peaks.bed"
    bed.write_text("".join(f"chrM1\t{8 * width * (i + 1)}\t{8 * width * (i + 1) + width}\n" for i in range(n)))
    return bed, genome


def test_building_the_cache_holds_a_chunk_not_the_set(tmp_path, monkeypatch):
    """Peak traced heap (numpy + Python) while building: it grows by the per-peak arrays only (tens of bytes a
    peak), not by the windows (2 x width bytes a peak), which go to the memory-mapped files a chunk at a time.
    (The inputs' SHA-256, read in 1 MiB blocks whatever their size, is left out of the measurement.)"""
    width = 1000
    monkeypatch.setattr(bed_module, "CHUNK_PEAKS", 64)
    peaks = {}
    for n in (300, 1200):
        folder = tmp_path / str(n)
        folder.mkdir()
        bed, genome = _spaced_peaks(folder, n, width)
        cfg = _cfg(bed, genome, width=width, background_method="flank")
        BedWindows(bed, genome, width=width).close()  # the .fai index is built outside the measurement
        digests = {"bed": cache._sha(str(bed)), "genome": cache._sha(str(genome))}
        folder = cache.folder_for(cfg, tmp_path / "c")
        tracemalloc.start()
        try:
            cache.build(cfg, folder, digests)
            peaks[n] = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        ss = cache.load_cached(cfg, tmp_path / "c")
        assert ss.cache_hit and len(ss) == 2 * n and isinstance(ss.codes, np.memmap)
        if n == 1200:  # the measure sees a set held in RAM: load_bed's peak holds all windows
            tracemalloc.start()
            try:
                load_bed(bed, genome, width=width, background_method="flank")
                in_ram = tracemalloc.get_traced_memory()[1]
            finally:
                tracemalloc.stop()
            assert in_ram > 2 * n * width
    windows_added = 2 * (1200 - 300) * width
    assert peaks[1200] - peaks[300] < 0.1 * windows_added, peaks
    assert peaks[1200] < in_ram / 4, (peaks, in_ram)


def test_a_missing_or_piped_genome_is_named_before_anything_is_hashed(write, tmp_path):
    import os

    bed = write("p.bed", "chr1\t100\t200\n")
    fifo = tmp_path / "genome.fifo"
    os.mkfifo(fifo)  # reading it to hash it would wait for a writer for ever
    for genome in (tmp_path / "nope.fa", fifo):
        with pytest.raises(InputFileError) as in_memory:
            load_bed(bed, genome, width=50)
        with pytest.raises(InputFileError) as cached:
            cache.load_cached(_cfg(bed, genome, width=50), tmp_path / "c")
        assert str(cached.value) == str(in_memory.value) and cached.value.path == str(genome)


def test_iterating_cached_ids_in_blocks_gives_every_id(synthetic, tmp_path, monkeypatch):
    bed, genome = synthetic
    ss = cache.load_cached(_cfg(bed, genome), tmp_path / "c")
    one_by_one = [ss.ids[i] for i in range(len(ss))]
    monkeypatch.setattr(cache, "_ID_BLOCK", 7)  # 122 ids: 18 blocks, the last one short
    assert list(ss.ids) == one_by_one == load_bed(bed, genome, width=150).ids


def _units_by_brute_force(ids):
    """Split units by the definition: union of (background, its peak) and of every overlapping pair of windows
    on one chromosome; each record named by the lowest record index of its unit."""
    def window(text):
        chrom, span = text.rsplit(":", 1)
        return chrom, *map(int, span.split("-"))

    n = len(ids)
    label = list(range(n))
    windows = {}
    edges = []
    peak_of = {i: k for k, i in enumerate(ids) if "/bg:" not in i}
    for k, rid in enumerate(ids):
        head, _, how = rid.partition("/bg:")
        if head != rid:
            edges.append((k, peak_of[head]))
            if how.startswith("flank:"):
                windows[k] = window(how[len("flank:"):])
        else:
            windows[k] = window(head)
    for a in windows:
        for b in windows:
            (ca, sa, ea), (cb, sb, eb) = windows[a], windows[b]
            if a < b and ca == cb and sa < eb and sb < ea:
                edges.append((a, b))
    changed = True
    while changed:  # propagate the lowest label along every edge until nothing moves
        changed = False
        for a, b in edges:
            low = min(label[a], label[b])
            if label[a] != low or label[b] != low:
                label[a] = label[b] = low
                changed = True
    return label


def test_window_units_match_their_definition_on_random_sets():
    import random

    rng = random.Random(11)
    for _ in range(150):
        peaks = {}
        for _ in range(rng.randint(1, 30)):
            c, s, w = rng.choice(["chr1", "chr2", "chrX"]), rng.randint(0, 2000), rng.choice([40, 100, 250])
            peaks[f"{c}:{s}-{s + w}"] = (c, s, w)
        ids = list(peaks)
        for pid, (c, s, w) in peaks.items():
            f = s + rng.choice([-3, 3]) * w
            if rng.random() < 0.5:
                ids.append(pid + "/bg:shuffled")
            elif f >= 0:
                ids.append(f"{pid}/bg:flank:{c}:{f}-{f + w}")
        rng.shuffle(ids)
        assert bed_module.window_units(ids).tolist() == _units_by_brute_force(ids)
    assert bed_module.window_units(["chr1:1-5", "chr2:3-9/bg:shuffled"]) is None  # its peak is not there
    assert bed_module.window_units(["chr1:1-5", "not a window"]) is None
