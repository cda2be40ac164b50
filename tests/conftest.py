"""Shared test fixtures (keep minimal; append new fixtures below). No Qt here: tests/core use them too."""
import bz2
import gzip

import pytest


@pytest.fixture
def write(tmp_path):
    """write(name, content, compress=None) -> Path: a file in tmp_path; str is written as UTF-8,
    compress='gzip'|'bzip2' compresses it (whatever the name says)."""

    def _write(name, content, compress=None):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        data = content.encode("utf-8") if isinstance(content, str) else content
        if compress == "gzip":
            data = gzip.compress(data)
        elif compress == "bzip2":
            data = bz2.compress(data)
        path.write_bytes(data)
        return path

    return _write


@pytest.fixture(scope="session")
def train_gc_box(tmp_path_factory):
    """train_gc_box(arch, name, task="binary", epochs=3, seed=0) -> Run: a tiny run (cnn: 8 filters of 9 bp;
    kmer: k=3; linear) trained by the core on ``helpers.planted_gc_box(task)`` and read back as the app does.

    Each distinct set of arguments is trained once per session (about 2 s on a CPU core each); tests only read
    the run folders."""
    from biodeep_gui.core.sequences.config import DataConfig, ModelConfig, RunConfig
    from biodeep_gui.core.sequences.pipeline import train_run
    from biodeep_gui.core.sequences.run import load_run
    from biodeep_gui.core.training.config import TrainConfig
    from tests.core.helpers import planted_gc_box

    root = tmp_path_factory.mktemp("gc-box-runs")
    done = {}

    def _train(arch, name, task="binary", epochs=3, seed=0):
        key = (arch, name, task, epochs, seed)
        if key not in done:
            params = {"cnn": {"filters": 8, "filter_width": 9, "hidden": 8, "dropout": 0.1},
                      "kmer": {"k": 3}}.get(arch, {})
            cfg = RunConfig(data=DataConfig(val_fraction=0.2, test_fraction=0.2), model=ModelConfig(arch, params),
                            train=TrainConfig(epochs=epochs, batch_size=16, lr=1e-2, device="cpu", patience=0,
                                              seed=seed), name=name)
            out = root / f"{len(done)}-{arch}-{task}"
            for _ in train_run(cfg, out, data=planted_gc_box(task)):
                pass
            done[key] = load_run(out)
        return done[key]

    return _train


@pytest.fixture(scope="session")
def planted_fasta_runs(tmp_path_factory):
    """A small CNN (8 filters of 15 bp, 4 epochs) and a 3-mer baseline trained once per session through the real
    FASTA loaders on SYNTHETIC planted-motif data (``synthetic.planted_motif_set``: CTCF / SPI1 sites).

    Attributes: ``root`` (holds bound.fa and background.fa), ``cnn_dir``/``kmer_dir`` (run folders), ``cnn``/``kmer``
    (loaded runs), ``data`` (the CNN run's data read back). Tests only read these."""
    from types import SimpleNamespace

    from biodeep_gui.core.sequences.config import DataConfig, ModelConfig, RunConfig
    from biodeep_gui.core.sequences.interpret.analysis import load_run_data
    from biodeep_gui.core.sequences.pipeline import train_run
    from biodeep_gui.core.sequences.run import load_run
    from biodeep_gui.core.sequences.synthetic import format_fasta, planted_motif_set
    from biodeep_gui.core.training.config import TrainConfig

    root = tmp_path_factory.mktemp("planted-fasta")
    s = planted_motif_set(n=400, length=100, seed=1)
    pos = [i for i, y in enumerate(s.labels) if y == 1]
    neg = [i for i, y in enumerate(s.labels) if y == 0]
    (root / "bound.fa").write_text(format_fasta([s.ids[i] for i in pos], [s.sequences[i] for i in pos]))
    (root / "background.fa").write_text(format_fasta([s.ids[i] for i in neg], [s.sequences[i] for i in neg]))
    data_cfg = DataConfig(fasta=str(root / "bound.fa"), background=str(root / "background.fa"))
    cnn = RunConfig(data_cfg, ModelConfig("cnn", {"filters": 8, "filter_width": 15}),
                    TrainConfig(epochs=4, batch_size=32, lr=0.01, patience=0, device="cpu", seed=0))
    for _ in train_run(cnn, root / "cnn"):
        pass
    kmer = RunConfig(data_cfg, ModelConfig("kmer", {"k": 3}), TrainConfig(device="cpu"))
    for _ in train_run(kmer, root / "kmer"):
        pass
    run = load_run(root / "cnn")
    return SimpleNamespace(root=root, cnn_dir=root / "cnn", kmer_dir=root / "kmer", cnn=run,
                           data=load_run_data(run), kmer=load_run(root / "kmer"))


@pytest.fixture(scope="session")
def planted_ctcf_run(tmp_path_factory):
    """A small CNN (8 filters of 15 bp, 6 epochs; test AUROC ~0.99) trained once per session through the real FASTA
    loaders on SYNTHETIC data: 600 x 100 bp, half with 1-2 CTCF (MA0139) sites (``synthetic.planted_motif_set``).

    Attributes: ``run`` (the loaded run), ``run_dir``, ``root`` (bound.fa, background.fa), ``set`` (the
    ``SyntheticSet``, with the planted sites). About 10-15 s on a CPU core; tests only read it."""
    from types import SimpleNamespace

    from biodeep_gui.core.sequences.config import DataConfig, ModelConfig, RunConfig
    from biodeep_gui.core.sequences.pipeline import train_run
    from biodeep_gui.core.sequences.run import load_run
    from biodeep_gui.core.sequences.synthetic import format_fasta, planted_motif_set
    from biodeep_gui.core.training.config import TrainConfig

    root = tmp_path_factory.mktemp("planted-ctcf")
    s = planted_motif_set(n=600, length=100, seed=1, motifs=("MA0139",))
    pos = [i for i, y in enumerate(s.labels) if y == 1]
    neg = [i for i, y in enumerate(s.labels) if y == 0]
    (root / "bound.fa").write_text(format_fasta([s.ids[i] for i in pos], [s.sequences[i] for i in pos]))
    (root / "background.fa").write_text(format_fasta([s.ids[i] for i in neg], [s.sequences[i] for i in neg]))
    cfg = RunConfig(DataConfig(fasta=str(root / "bound.fa"), background=str(root / "background.fa")),
                    ModelConfig("cnn", {"filters": 8, "filter_width": 15}),
                    TrainConfig(epochs=6, batch_size=32, lr=0.01, patience=0, device="cpu", seed=1), name="ctcf")
    for _ in train_run(cfg, root / "cnn"):
        pass
    return SimpleNamespace(root=root, run_dir=root / "cnn", run=load_run(root / "cnn"), set=s)


def train_tiny_scans(tmp, *, epochs: int = 1, permutations: int = 3, patience: int | None = None):
    """Train a tiny scans run into ``tmp / 'run'`` (8 SYNTHETIC subjects on an 8 x 10 x 8 grid, 2 folds, no CNN arm;
    one torch thread, a few seconds) and return that folder."""
    import torch

    from biodeep_gui.core.scans.config import ScansConfig
    from biodeep_gui.core.scans.pipeline import train_scans
    from biodeep_gui.core.scans.synthetic import write_demo_cohort

    before = torch.get_num_threads()
    torch.set_num_threads(1)  # small 3-D convolutions spin with two threads on a shared 2-core machine
    demo = write_demo_cohort(tmp / "demo", 8, (8, 10, 8), seed=4)
    cfg = ScansConfig()
    d = cfg.data
    d.images, d.labels, d.file_column, d.site_column = str(demo.images), str(demo.table), "FILE_ID", "SITE_ID"
    d.cache_dir = str(tmp / "cache")
    cfg.model.autoencoder = {"depth": 1, "channels": 2, "code_size": 4}
    cfg.model.cnn_arm = False
    cfg.train.epochs, cfg.train.batch_size, cfg.train.head_epochs = epochs, 4, 2
    if patience is not None:
        cfg.train.patience = patience
    cfg.cv.folds, cfg.cv.permutations = 2, permutations
    try:
        list(train_scans(cfg, tmp / "run"))
    finally:
        torch.set_num_threads(before)
    return tmp / "run"


@pytest.fixture(scope="session")
def tiny_scans_run(tmp_path_factory):
    """A tiny scans run folder trained once per session (``train_tiny_scans``: 1 epoch, 3 permutations). Tests only
    read it."""
    return train_tiny_scans(tmp_path_factory.mktemp("report-scans"))


@pytest.fixture(scope="module")
def one_deterministic_thread():
    """One torch thread and deterministic algorithms for a whole module (``pytestmark = pytest.mark.usefixtures(
    "one_deterministic_thread")``): small 3-D convolutions spin with two threads on a shared 2-core machine, and
    module-scoped runs must come out the same every time."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True, warn_only=True)
    yield
    torch.set_num_threads(before)
    torch.use_deterministic_algorithms(False)
