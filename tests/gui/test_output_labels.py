"""The Model tab's drawing names the network's output for the data opened (the label, the tasks, the classes or
the measured column), neutral before any data, and follows when other data are opened: driven through the real
window, the data read by the core."""
from __future__ import annotations

import numpy as np

from biodeep_gui.core.sequences.config import DataConfig
from biodeep_gui.core.sequences.models.diagram import sequence_blocks
from tests.gui.conftest import shot


def test_output_block_words_per_task():
    last = [sequence_blocks("cnn", {}, 40, n, task, labels, classes)[-1].size
            for n, task, labels, classes in [(1, "binary", ["bound"], []), (3, "binary", ["a", "b", "c"], []),
                                             (4, "multiclass", ["state"], list("wxyz")),
                                             (1, "regression", ["expression"], []), (1, "", [], [])]]
    assert last == ["P(bound)", "3 probabilities, one per task", "probabilities of the 4 classes",
                    "predicted expression", "the network's output"]
    multi = sequence_blocks("mlp", {}, 40, 4, "multiclass", ["state"], list("wxyz"))[-1]
    assert "w, x, y and 1 more" in multi.does  # the class names, not a count only
    assert not any("bound" in b.does + b.size for b in sequence_blocks("cnn", {}, 40, 1, "regression", ["y"]))


def _table(path, columns: dict[str, list], n: int = 48) -> str:
    rng = np.random.default_rng(0)
    seqs = ["".join(rng.choice(list("ACGT"), 30)) for _ in range(n)]
    lines = [",".join(["sequence", *columns])]
    lines += [",".join([s, *(str(v[i % len(v)]) for v in columns.values())]) for i, s in enumerate(seqs)]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def _open(window, qtbot, cfg: DataConfig) -> None:
    with qtbot.waitSignal(window.data_runner.sigFinished, timeout=60_000):
        window.sequences.open_data(cfg)
    assert window.sequences_tab.current_data()[0] is not None


def test_model_tab_names_the_output_of_the_opened_data(window, qtbot, tmp_path):
    window.resize(1024, 640)
    window.build_tabs()
    tab = window.model_tab
    window.show_tab(tab)
    assert tab.drawing.blocks()[-1].size == "the network's output"  # nothing opened: nothing claimed
    shot(window, "polish5_model_output_neutral_1024x640")
    cases = [
        (DataConfig(kind="table", table=_table(tmp_path / "one.csv", {"enhancer": [0, 1]}),
                    label_columns=["enhancer"], task="binary"), "P(enhancer)"),
        (DataConfig(kind="table", table=_table(tmp_path / "multi.csv", {"CTCF": [0, 1], "GATA1": [1, 0, 0],
                                                                        "REST": [1, 1, 0]}),
                    label_columns=["CTCF", "GATA1", "REST"], task="binary"), "3 probabilities, one per task"),
        (DataConfig(kind="table", table=_table(tmp_path / "classes.csv", {"state": ["open", "closed", "poised"]}),
                    label_columns=["state"], task="multiclass"), "probabilities of the 3 classes"),
        (DataConfig(kind="table", table=_table(tmp_path / "expr.csv", {"expression": [0.5, 1.5, 2.25, 3.0]}),
                    label_columns=["expression"], task="regression"), "predicted expression"),
    ]
    for cfg, size in cases:
        _open(window, qtbot, cfg)
        out = tab.drawing.blocks()[-1]
        assert out.kind == "output" and out.size == size, (cfg.table, out)
        if cfg.task == "multiclass":
            assert all(c in out.does for c in ("open", "closed", "poised"))
            shot(window, "polish5_model_output_multiclass_1024x640")
        elif len(cfg.label_columns) > 1:
            assert all(c in out.does for c in ("CTCF", "GATA1", "REST"))
    shot(window, "polish5_model_output_regression_1024x640")
    window.resize(1280, 800)
    shot(window, "polish5_model_output_regression_1280x800")
