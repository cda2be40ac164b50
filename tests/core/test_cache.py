"""The disk-backed encoded cache: exact round trip, reuse by manifest, invalidation, streaming batches."""
import json

import numpy as np
import pytest
import torch

from biodeep_gui.core.common.errors import InputFileError
from biodeep_gui.core.sequences import cache
from biodeep_gui.core.sequences.batches import SequenceBatches, source_for
from biodeep_gui.core.sequences.config import DataConfig
from biodeep_gui.core.sequences.fasta import load_fasta_pair
from biodeep_gui.core.sequences.tables import load_table


def _pair(tmp_path, n=300, seed=0, extra=""):
    rng = np.random.default_rng(seed)
    for name, label in (("bound.fa", "p"), ("bg.fa", "n")):
        lines = []
        for i in range(n):
            length = 50 if i % 7 else int(rng.integers(30, 70))  # some shorter (padded), some longer (cropped)
            lines.append(f">{label}{i} desc\n" + "".join(rng.choice(list("ACGTN"), length)) + "\n")
        (tmp_path / name).write_text("".join(lines) + (extra if label == "p" else ""))
    return DataConfig(kind="fasta", fasta=str(tmp_path / "bound.fa"), background=str(tmp_path / "bg.fa"),
                      length=50, cache="on")


def test_fasta_pair_round_trips_exactly_and_is_reused(tmp_path):
    cfg = _pair(tmp_path)
    ref = load_fasta_pair(cfg.fasta, cfg.background, length=50)
    ss = cache.load_cached(cfg, tmp_path / "c")
    assert not ss.cache_hit
    assert isinstance(ss.codes, np.memmap) and ss.codes.dtype == np.uint8
    np.testing.assert_array_equal(ss.codes, ref.codes)
    np.testing.assert_array_equal(ss.labels, ref.labels)
    np.testing.assert_array_equal(ss.lengths, ref.lengths)
    assert list(ss.ids) == ref.ids and ss.ids[-1] == ref.ids[-1] and len(ss) == len(ref)
    assert (ss.task, ss.label_names, ss.class_names) == (ref.task, ref.label_names, ref.class_names)
    stamp = (ss.cache_dir / "codes.npy").stat().st_mtime_ns
    again = cache.load_cached(cfg, tmp_path / "c")
    assert again.cache_hit and (again.cache_dir / "codes.npy").stat().st_mtime_ns == stamp
    manifest = json.loads((again.cache_dir / "manifest.json").read_text())
    assert set(manifest["inputs"]) == {"fasta", "background"} and manifest["settings"]["length"] == 50


def test_a_changed_input_or_setting_rebuilds(tmp_path):
    cfg = _pair(tmp_path)
    first = cache.load_cached(cfg, tmp_path / "c")
    with open(cfg.fasta, "a") as fh:
        fh.write(">added\nACGTACGTAC\n")
    changed = cache.load_cached(cfg, tmp_path / "c")
    assert not changed.cache_hit and changed.cache_dir == first.cache_dir and changed.ids[len(changed) - 1] == "n299"
    assert len(changed) == len(first) + 1 and "added" in list(changed.ids)
    cfg.length = 40
    other = cache.load_cached(cfg, tmp_path / "c")
    assert not other.cache_hit and other.length == 40 and other.cache_dir != first.cache_dir


def test_bad_records_are_named_and_leave_no_manifest(tmp_path):
    cfg = _pair(tmp_path, n=20, extra=">bad\nACGTXACGT\n")
    with pytest.raises(InputFileError, match="'X' at position 5") as err:
        cache.load_cached(cfg, tmp_path / "c")
    assert err.value.record == 21 and err.value.record_id == "bad"
    assert cache.read_manifest(cache.folder_for(cfg, tmp_path / "c")) is None
    cfg = _pair(tmp_path, n=20, extra=">n3\nACGTACGT\n")  # id n3 also in the background file
    with pytest.raises(InputFileError, match="used twice"):
        cache.load_cached(cfg, tmp_path / "c")


def test_table_inputs_round_trip_with_many_label_columns(tmp_path):
    from biodeep_gui.core.sequences.synthetic_multitask import multitask_set, write_multitask_table

    ss = multitask_set(n=120, length=60, n_tasks=12, max_sites=2, seed=2)
    path = write_multitask_table(ss, tmp_path / "mt.csv")
    cfg = DataConfig(kind="table", table=str(path), label_columns=list(ss.label_names), id_column="id", cache="on")
    ref = load_table(path, "sequence", ss.label_names, id_column="id")
    got = cache.load_cached(cfg, tmp_path / "c")
    np.testing.assert_array_equal(got.codes, ref.codes)
    np.testing.assert_array_equal(got.labels, ref.labels)
    assert list(got.ids) == ref.ids and got.labels.shape == (120, 12)
    assert cache.load_cached(cfg, tmp_path / "c").cache_hit


def test_batches_stream_from_the_memmap_without_materialising(tmp_path):
    cfg = _pair(tmp_path)
    ss = cache.load_cached(cfg, tmp_path / "c")
    rows = np.arange(0, len(ss), 2)
    src = source_for(ss.codes, ss.labels[rows], rows=rows)
    assert isinstance(src, SequenceBatches) and src.mapped and isinstance(src.codes, np.memmap)
    ref = SequenceBatches(np.asarray(ss.codes)[rows], ss.labels[rows])
    seen_x, seen_y = [], []
    for x, y in src.batches(16, shuffle=True, generator=torch.Generator().manual_seed(0)):
        seen_x.append(x)
        seen_y.append(y)
    assert src.max_resident_rows <= 16  # one batch of codes in memory at a time, never the whole array
    x, y = torch.cat(seen_x), torch.cat(seen_y)
    xr, yr = next(ref.batches(len(rows)))
    # the same samples with the same targets, in another order
    key = lambda xx, yy: sorted(map(tuple, torch.cat([xx.flatten(1), yy], 1).tolist()))  # noqa: E731
    assert key(x, y) == key(xr, yr)
    in_order = torch.cat([b for b, _ in src.batches(40)])
    assert torch.equal(in_order, xr)
    # a subset of a cached set is a row view on the file, and ids are decoded on demand
    sub = ss.subset(np.array([5, 1, 9]))
    assert isinstance(sub.codes, cache.Rows) and isinstance(sub.ids, cache.Ids)
    np.testing.assert_array_equal(np.asarray(sub.codes), np.asarray(ss.codes)[[5, 1, 9]])
    assert list(sub.ids) == [ss.ids[5], ss.ids[1], ss.ids[9]]
    assert source_for(sub.codes, sub.labels).mapped


def test_auto_mode_caches_only_big_inputs(tmp_path, monkeypatch):
    cfg = _pair(tmp_path, n=5)
    cfg.cache = "auto"
    assert not cache.wants_cache(cfg)
    monkeypatch.setattr(cache, "AUTO_BYTES", 10)
    assert cache.wants_cache(cfg)
    cfg.cache = "off"
    assert not cache.wants_cache(cfg)
    assert cache.wants_cache(DataConfig(kind="bed", bed="a.bed", genome="g.fa", cache="on"))  # tests/core/test_bed_cache.py


def test_load_sequences_uses_the_user_cache_folder(tmp_path, monkeypatch):
    from biodeep_gui.core.sequences.io import load_sequences

    monkeypatch.setenv("BIODEEP_HOME", str(tmp_path / "home"))
    cfg = _pair(tmp_path, n=30)
    ss = load_sequences(cfg)
    assert isinstance(ss, cache.CachedSequenceSet)
    assert ss.cache_dir.parent == tmp_path / "home" / "cache" / "encoded"
    assert load_sequences(cfg).cache_hit


def test_a_cached_run_hashes_each_input_once_and_records_the_digests(tmp_path, monkeypatch):
    from collections import Counter

    from biodeep_gui.core.common.fileio import sha256_file
    from biodeep_gui.core.sequences.config import RunConfig
    from biodeep_gui.core.sequences.pipeline import RunSummary, train_run
    from biodeep_gui.core.training import runs

    monkeypatch.setenv("BIODEEP_HOME", str(tmp_path / "home"))
    calls = Counter()

    def counted(path, *args, **kwargs):
        calls[str(path)] += 1
        return sha256_file(path, *args, **kwargs)

    monkeypatch.setattr(cache, "sha256_file", counted)
    monkeypatch.setattr(runs, "sha256_file", counted)
    cfg = RunConfig()
    cfg.data = _pair(tmp_path, n=60)
    cfg.model.arch, cfg.train.epochs, cfg.train.device = "mlp", 1, "cpu"
    assert any(isinstance(x, RunSummary) for x in train_run(cfg, tmp_path / "run"))
    assert calls == Counter({cfg.data.fasta: 1, cfg.data.background: 1})  # the cache's check; provenance reuses it
    doc = json.loads((tmp_path / "run" / "run.json").read_text())
    recorded = json.dumps(doc)
    assert sha256_file(cfg.data.fasta) in recorded and sha256_file(cfg.data.background) in recorded
