"""The accuracy proofs of the sequence engine, on the bundled (synthetic) demo data, through the real loaders.

- the DeepBind-style CNN reaches test AUROC >= 0.95 on planted JASPAR motifs, and the MLP is clearly worse;
- the exclusive motif-pair task (either motif, not both: cooperative.csv) is won by the CNN over both linear
  baselines;
- the affinity regression reaches Pearson >= 0.8.
"""
import pytest

from biodeep_gui.core.sequences.config import RunConfig
from biodeep_gui.core.sequences.fasta import load_fasta_pair
from biodeep_gui.core.sequences.pipeline import RunSummary, train_run
from biodeep_gui.core.sequences.synthetic import write_demo
from biodeep_gui.core.sequences.tables import load_table


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return write_demo(tmp_path_factory.mktemp("demo"))


def _train(ss, arch, out, epochs=8, **params) -> RunSummary:
    cfg = RunConfig()
    cfg.model.arch, cfg.model.params = arch, params
    cfg.train.epochs, cfg.train.device, cfg.train.patience = epochs, "cpu", 0
    *_, summary = train_run(cfg, out, data=ss)
    return summary


def test_cnn_finds_planted_motifs_and_beats_the_mlp(demo, tmp_path):
    ss = load_fasta_pair(demo["bound"], demo["background"])
    cnn = _train(ss, "cnn", tmp_path / "cnn", epochs=15).metrics["test_auroc"]
    mlp = _train(ss, "mlp", tmp_path / "mlp").metrics["test_auroc"]
    print(f"planted motifs: CNN test AUROC {cnn:.3f}, MLP {mlp:.3f}")
    assert cnn >= 0.95
    assert mlp <= cnn - 0.1


def test_exclusive_pair_needs_a_convolutional_model(demo, tmp_path):
    ss = load_table(demo["cooperative"], "sequence", ["label"])
    cnn = _train(ss, "cnn", tmp_path / "cnn", epochs=10).metrics["test_auroc"]
    kmer = _train(ss, "kmer", tmp_path / "kmer").metrics["test_auroc"]
    linear = _train(ss, "linear", tmp_path / "linear").metrics["test_auroc"]
    print(f"exclusive pair: CNN {cnn:.3f}, k-mer {kmer:.3f}, linear {linear:.3f}")
    assert cnn >= 0.95
    assert cnn > kmer + 0.03  # k-mer counts only approximate "both sites present"
    assert cnn > linear + 0.2  # position-specific weights cannot follow moving sites


def test_affinity_regression(demo, tmp_path):
    ss = load_table(demo["affinity"], "sequence", ["affinity"])
    assert ss.task == "regression"
    pearson = _train(ss, "cnn", tmp_path / "cnn", epochs=4).metrics["test_pearson"]
    print(f"affinity: CNN test Pearson {pearson:.3f}")
    assert pearson >= 0.8
