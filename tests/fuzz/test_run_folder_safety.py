"""Run folders from elsewhere are untrusted; saving one must survive the process being killed.

- a pickle payload (the way a ``.pt`` / ``torch.save`` file runs code when loaded) placed where BioDeep reads
  weights or predictions executes nothing and is refused with a clear message;
- nothing written in ``run.json`` makes the loader open, or the writer write, a file outside the run folder;
- ``runs.write_run`` killed (SIGKILL / TerminateProcess) at random moments, again and again, always leaves a
  run that loads, with every file whole.
"""
from __future__ import annotations

import json
import os
import pickle
import random
import subprocess
import sys
import textwrap
import time
import zipfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from biodeep_gui.core.common.errors import BioDeepError, RunFolderError
from biodeep_gui.core.sequences.config import RunConfig
from biodeep_gui.core.sequences.run import ModelInfo, load_run, write_run

REPO = Path(__file__).resolve().parents[2]

# ---- watching what the loader does -------------------------------------------------------------------------------
# One audit hook for the whole session (hooks cannot be removed); it records only inside `watch()`.
_EVENTS: list[tuple[str, tuple]] | None = None


def _audit(event: str, args: tuple) -> None:
    if _EVENTS is not None and event in ("open", "pickle.find_class", "os.system", "subprocess.Popen", "exec"):
        _EVENTS.append((event, args))


sys.addaudithook(_audit)


@contextmanager
def watch():
    """Collect the audited events (files opened, pickle classes looked up, processes started) of a block."""
    global _EVENTS
    events: list[tuple[str, tuple]] = []
    _EVENTS = events
    try:
        yield events
    finally:
        _EVENTS = None


def opened_paths(events) -> list[Path]:
    out = []
    for event, args in events:
        if event == "open" and args and isinstance(args[0], (str, bytes, os.PathLike)):
            p = os.fsdecode(args[0])
            out.append(Path(os.path.abspath(p)))
    return out


def unpickled(events) -> list:
    return [args for event, args in events if event == "pickle.find_class"]


class Payload:
    """Unpickling this writes a marker file: proof that code ran."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


# ---- a small real run ------------------------------------------------------------------------------------------

LENGTH = 40
PARAMS = {"filters": 4, "filter_width": 5, "hidden": 4}


def save_run(folder: Path) -> Path:
    import torch

    from biodeep_gui.core.sequences.models import build_model

    torch.manual_seed(0)
    model = build_model("cnn", LENGTH, 1, PARAMS)
    cfg = RunConfig()
    cfg.model.arch, cfg.model.params = "cnn", dict(PARAMS)
    info = ModelInfo("cnn", dict(PARAMS), LENGTH, 1, "binary", ["bound"], ["background", "bound"])
    return write_run(folder, cfg, info, model.state_dict(), history=[{"epoch": 1, "train_loss": 0.7}],
                          metrics={"test_auroc": 0.6}, status="complete", provenance_info={},
                          predictions={"y_true": np.zeros((4, 1)), "y_pred": np.full((4, 1), 0.5)})


def use_run(run_dir: Path) -> None:
    """What the app does with a run it opens: read it, its predictions, rebuild the model and predict."""
    run = load_run(run_dir)
    run.predictions()
    run.predict(np.zeros((2, LENGTH), np.uint8))


@pytest.fixture
def run_dir(tmp_path):
    return save_run(tmp_path / "downloaded-run")


# ---- code execution --------------------------------------------------------------------------------------------

def _torch_save_bytes(obj) -> bytes:
    import io

    import torch

    buf = io.BytesIO()
    torch.save(obj, buf)  # a zip with data.pkl inside: what a .pt file is
    return buf.getvalue()


@pytest.mark.parametrize("fmt", ["pickle", "pickle protocol 0", "torch.save zip"])
def test_pickle_payload_as_weights_is_refused_and_not_run(tmp_path, run_dir, fmt):
    marker = tmp_path / "code-ran"
    payload = {"pickle": lambda: pickle.dumps(Payload(marker)),
               "pickle protocol 0": lambda: pickle.dumps(Payload(marker), protocol=0),
               "torch.save zip": lambda: _torch_save_bytes({"weight": Payload(marker)})}[fmt]()
    (run_dir / "model.safetensors").write_bytes(payload)
    with watch() as events:
        with pytest.raises(RunFolderError) as info:
            use_run(run_dir)
    assert not marker.exists()
    assert not unpickled(events), "something was unpickled"
    msg = str(info.value)
    assert "model.safetensors" in msg and "safetensors" in msg


def test_a_pt_file_in_the_folder_is_never_opened(tmp_path, run_dir):
    marker = tmp_path / "code-ran"
    (run_dir / "model.pt").write_bytes(pickle.dumps(Payload(marker)))
    (run_dir / "checkpoint.pth").write_bytes(_torch_save_bytes(Payload(marker)))
    (run_dir / "model.safetensors").unlink()  # the weights BioDeep would read are gone: the .pt must not stand in
    with watch() as events:
        with pytest.raises(RunFolderError, match="model.safetensors is missing"):
            use_run(run_dir)
    assert not marker.exists()
    assert not unpickled(events)
    names = {p.name for p in opened_paths(events)}
    assert "model.pt" not in names and "checkpoint.pth" not in names


@pytest.mark.parametrize("target", ["history.csv", "metrics.json", "run.json"])
def test_pickle_payload_in_text_files_is_not_run(tmp_path, run_dir, target):
    marker = tmp_path / "code-ran"
    (run_dir / target).write_bytes(pickle.dumps(Payload(marker), protocol=0))
    with watch() as events:
        try:
            use_run(run_dir)
        except Exception:  # noqa: BLE001  (whether it is refused cleanly is tested in test_bad_inputs)
            pass
    assert not marker.exists()
    assert not unpickled(events)


def _predictions_payload(run_dir: Path, name: str, marker: Path) -> None:
    """A pickle where the predictions are read: today's name, or (0.1.0 runs) the legacy one alone."""
    if name != "predictions.safetensors":
        (run_dir / "predictions.safetensors").unlink()
    (run_dir / name).write_bytes(pickle.dumps(Payload(marker)))


@pytest.mark.parametrize("name", ["predictions.safetensors", "test_predictions.safetensors"])
def test_pickle_payload_as_predictions_is_not_run(tmp_path, run_dir, name):
    marker = tmp_path / "code-ran"
    _predictions_payload(run_dir, name, marker)
    with watch() as events:
        try:
            load_run(run_dir).predictions()
        except Exception:  # noqa: BLE001  (the message is tested below)
            pass
    assert not marker.exists()
    assert not unpickled(events)


@pytest.mark.parametrize("name", ["predictions.safetensors", "test_predictions.safetensors"])
def test_pickle_payload_as_predictions_is_refused_clearly(tmp_path, run_dir, name):
    _predictions_payload(run_dir, name, tmp_path / "code-ran")
    with pytest.raises(RunFolderError, match=name):
        load_run(run_dir).predictions()


def test_zip_of_a_torch_checkpoint_given_as_run_folder(tmp_path):
    """Someone sends 'my_model.pt' and the user picks it where a run folder is expected."""
    marker = tmp_path / "code-ran"
    pt = tmp_path / "my_model.pt"
    pt.write_bytes(_torch_save_bytes(Payload(marker)))
    assert zipfile.is_zipfile(pt)
    with watch() as events:
        with pytest.raises(RunFolderError, match="not a folder"):
            load_run(pt)
    assert not marker.exists() and not unpickled(events)


# ---- special files inside a run folder ----------------------------------------------------------------------------
_SPECIAL_SCRIPT = textwrap.dedent('''
    import contextlib, io, json, sys
    from biodeep_gui.cli.main import main
    run, fasta, scan, out = sys.argv[1:5]
    res = {}
    for case, argv in {"predict": ["predict", run, fasta, "--out", out + "/p.csv"],
                       "evaluate": ["evaluate", run, fasta],
                       "mutagenesis": ["mutagenesis", run, "--sequence", "ACGT", "--out", out + "/m"],
                       "scans reconstruct": ["scans", "reconstruct", run, scan, "--out", out + "/r.nii"]}.items():
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            res[case] = [main(argv), err.getvalue()]
    print(json.dumps(res))
''')


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes need a POSIX system")
@pytest.mark.parametrize("special", ["fifo", "device"])
def test_a_run_json_that_is_a_pipe_or_a_device_is_refused_without_hanging(tmp_path, special):
    """Every command that opens a run folder (in a subprocess killed after a timeout: a hang fails the test)."""
    run = tmp_path / "run"
    run.mkdir()
    if special == "fifo":
        os.mkfifo(run / "run.json")
    else:
        (run / "run.json").symlink_to("/dev/zero")  # a link inside the folder's name to a device
    fasta = tmp_path / "x.fa"
    fasta.write_text(">a label=1\nACGT\n")
    scan = REPO / "tests" / "fixtures" / "legacy_v0_1_0" / "data" / "scans" / "images" / \
        "SITE_A_0050001_func_mean.nii.gz"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-c", _SPECIAL_SCRIPT, str(run), str(fasta), str(scan), str(tmp_path)],
                          capture_output=True, text=True, timeout=120, env=env, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-2000:]
    for case, (rc, err) in json.loads(proc.stdout.strip().splitlines()[-1]).items():
        lines = [ln for ln in err.splitlines() if ln.startswith("biodeep: error:")]
        assert rc == 1 and len(lines) == 1 and "run.json" in lines[0], f"{case}: {err[-500:]}"
        assert ("named pipe" in lines[0]) if special == "fifo" else ("device" in lines[0] or "outside" in lines[0])


# ---- paths cannot escape the run folder -----------------------------------------------------------------------

def _plant_outside(tmp_path: Path) -> Path:
    """Files outside the run folder that a crafted run.json points at."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("the user's private notes\n")
    save_run(outside / "other-run")
    return outside


def test_paths_in_run_json_open_nothing_outside_the_folder(tmp_path, run_dir):
    outside = _plant_outside(tmp_path)
    doc = json.loads((run_dir / "run.json").read_text())
    data = doc["config"]["data"]
    data["fasta"] = "../outside/secret.txt"
    data["background"] = str(outside / "secret.txt")
    data["test_file"] = "../../../../../../etc/passwd"
    doc["weights"] = "../outside/other-run/model.safetensors"  # keys BioDeep does not define are ignored
    doc["history_file"] = str(outside / "secret.txt")
    (run_dir / "run.json").write_text(json.dumps(doc))
    with watch() as events:
        try:
            use_run(run_dir)
        except BioDeepError:
            pass  # refusing the extra keys would be fine too; opening the files is not
    escaped = [p for p in opened_paths(events) if outside in p.parents or p == Path("/etc/passwd")]
    assert not escaped, f"the loader opened files outside the run folder: {escaped}"
    # safetensors opens files from Rust, unseen by the audit hook: check which weights were used instead
    from safetensors.numpy import load_file, save_file

    save_file({k: np.zeros_like(v) for k, v in load_file(str(outside / "other-run" / "model.safetensors")).items()},
              str(outside / "other-run" / "model.safetensors"))
    mine = load_file(str(run_dir / "model.safetensors"))
    used = {k: v.numpy() for k, v in load_run(run_dir).model().state_dict().items()}
    assert all(np.array_equal(used[k], mine[k]) for k in mine)


def test_names_in_the_config_do_not_move_the_written_files(tmp_path):
    """A run name or data path full of '..' changes nothing about where a run is written."""

    from biodeep_gui.core.sequences.models import build_model

    cfg = RunConfig(name="../../escaped")
    cfg.data.fasta = "../../escaped.fa"
    cfg.model.params = dict(PARAMS)
    info = ModelInfo("cnn", dict(PARAMS), LENGTH, 1, "binary")
    model = build_model("cnn", LENGTH, 1, PARAMS)
    target = tmp_path / "a" / "b" / "run"
    before = set(tmp_path.rglob("*"))
    with watch() as events:
        write_run(target, cfg, info, model.state_dict(), history=[], metrics={}, status="complete",
                       provenance_info={})
    written = {p for p in opened_paths(events)} | (set(tmp_path.rglob("*")) - before)
    outside = [p for p in written if tmp_path in p.parents and target not in p.parents and p not in
               (target, target.parent, target.parent.parent)]
    assert not outside, outside
    assert load_run(target).config.name == "../../escaped"


@pytest.mark.skipif(not hasattr(os, "symlink") or sys.platform == "win32", reason="needs POSIX symlinks")
@pytest.mark.parametrize("name", ["model.safetensors", "run.json", "history.csv"])
def test_symlinks_out_of_the_run_folder_are_refused(tmp_path, run_dir, name):
    outside = _plant_outside(tmp_path)
    (run_dir / name).unlink()
    target = outside / "other-run" / name if name != "history.csv" else outside / "secret.txt"
    (run_dir / name).symlink_to(target)
    with pytest.raises(RunFolderError, match="outside"):
        use_run(run_dir)


# ---- damaged scans runs --------------------------------------------------------------------------------------------
# The template is the scans run BioDeep 0.1.0 wrote (tests/fixtures): real weights, folds and masks, no training here.

LEGACY_SCANS = REPO / "tests" / "fixtures" / "legacy_v0_1_0" / "runs" / "scans"


@pytest.fixture
def scans_dir(tmp_path):
    import shutil

    d = tmp_path / "downloaded-scans-run"
    shutil.copytree(LEGACY_SCANS, d)
    return d


def use_scans_run(run_dir: Path) -> None:
    """What the app does with a scans run it opens: read it, its predictions, and rebuild every autoencoder."""
    from biodeep_gui.core.runs import open_run

    run = open_run(run_dir)
    run.predictions()
    for fold in [f["fold"] for f in run.doc.get("folds", [])] + [0]:
        run.autoencoder(fold)


def _edit_scans(run_dir: Path, edit) -> None:
    doc = json.loads((run_dir / "run.json").read_text())
    edit(doc)
    (run_dir / "run.json").write_text(json.dumps(doc))


def _rewrite_fold(run_dir: Path, change, name: str = "folds/fold1.safetensors") -> None:
    from safetensors.numpy import load_file, save_file

    tensors = load_file(str(run_dir / name))
    save_file(change(tensors), str(run_dir / name))


def _refused(run_dir: Path, *needles: str) -> str:
    """Using the run raises a RunFolderError naming the folder and each needle (never a raw Python error)."""
    with pytest.raises(RunFolderError) as info:
        use_scans_run(run_dir)
    msg = str(info.value)
    assert str(run_dir) in msg, msg
    for needle in needles:
        assert needle in msg, msg
    return msg


def test_the_scans_template_is_usable(scans_dir):
    use_scans_run(scans_dir)


def test_scans_schema_version_as_text(scans_dir):
    _edit_scans(scans_dir, lambda d: d.update(schema_version="two"))
    _refused(scans_dir, "run.json", "schema_version", "'two'")


def test_scans_run_json_nested_100000_deep(scans_dir):
    depth = 100_000
    text = '{"kind": "scans", "schema_version": 1, "config": ' + "[" * depth + "]" * depth + "}"
    (scans_dir / "run.json").write_text(text)
    _refused(scans_dir, "run.json", "damaged run description")


def test_scans_config_a_list(scans_dir):
    _edit_scans(scans_dir, lambda d: d.update(config=[1, 2, 3]))
    _refused(scans_dir, "run.json", "'config' section")


def test_scans_model_section_missing(scans_dir):
    _edit_scans(scans_dir, lambda d: d.pop("model"))
    _refused(scans_dir, "run.json", "'model' section")


def test_scans_weights_without_a_mask(scans_dir):
    _rewrite_fold(scans_dir, lambda t: {k: v for k, v in t.items() if k != "mask"})
    _refused(scans_dir, "fold1.safetensors", "no brain mask")


def test_scans_mask_of_the_wrong_shape(scans_dir):
    _rewrite_fold(scans_dir, lambda t: {**t, "mask": np.ones((5, 6, 7), np.uint8)})
    _refused(scans_dir, "fold1.safetensors", "brain mask has shape (5, 6, 7)", "(12, 14, 12)")


def test_scans_fold_file_with_wrong_shaped_tensors(scans_dir):
    def grow(t):
        return {k: (np.zeros((3,) + v.shape, v.dtype) if k.startswith("model.") else v) for k, v in t.items()}

    _rewrite_fold(scans_dir, grow, "folds/fold2.safetensors")
    _refused(scans_dir, "fold2.safetensors", "do not fit")


def test_scans_fold_file_with_a_missing_tensor(scans_dir):
    _rewrite_fold(scans_dir, lambda t: {k: v for k, v in t.items() if not k.endswith(".weight")})
    _refused(scans_dir, "fold1.safetensors", "do not fit")


def test_scans_fold_file_that_is_a_pickle(tmp_path, scans_dir):
    marker = tmp_path / "code-ran"
    (scans_dir / "folds" / "fold1.safetensors").write_bytes(pickle.dumps(Payload(marker)))
    with watch() as events:
        _refused(scans_dir, "fold1.safetensors", "safetensors")
    assert not marker.exists() and not unpickled(events)


@pytest.mark.parametrize("where", ["relative", "absolute", "final"])
def test_scans_weights_path_outside_the_folder_is_refused(tmp_path, scans_dir, where):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "fold1.safetensors").write_bytes((scans_dir / "folds" / "fold1.safetensors").read_bytes())

    def edit(doc):
        if where == "final":
            doc["model"]["final_weights"] = "../outside/fold1.safetensors"
        else:
            doc["folds"][0]["weights"] = ("../outside/fold1.safetensors" if where == "relative"
                                          else str(outside / "fold1.safetensors"))

    _edit_scans(scans_dir, edit)
    with watch() as events:
        _refused(scans_dir, "outside")
    assert not [p for p in opened_paths(events) if outside in p.parents]


@pytest.mark.skipif(not hasattr(os, "symlink") or sys.platform == "win32", reason="needs POSIX symlinks")
@pytest.mark.parametrize("name", ["folds/fold1.safetensors", "model.safetensors", "folds"])
def test_scans_symlinks_out_of_the_run_folder_are_refused(tmp_path, scans_dir, name):
    import shutil

    outside = tmp_path / "outside"
    shutil.copytree(scans_dir, outside)
    link = scans_dir / name
    shutil.rmtree(link) if link.is_dir() else link.unlink()
    link.symlink_to(outside / name)
    _refused(scans_dir, "outside the run folder")


def test_scans_run_opened_as_a_sequence_run_says_so(scans_dir):
    with pytest.raises(RunFolderError, match="brain-scans run"):
        load_run(scans_dir)


def test_sequence_run_opened_as_a_scans_run_says_so(run_dir):
    from biodeep_gui.core.scans.run import load_scans_run

    with pytest.raises(RunFolderError, match="not a brain-scans run"):
        load_scans_run(run_dir)


# ---- atomic saves under SIGKILL ------------------------------------------------------------------------------------

WRITER = textwrap.dedent("""
    import sys
    import numpy as np
    from biodeep_gui.core.sequences import run as runs
    from biodeep_gui.core.sequences.config import RunConfig

    run_dir, start, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    info = runs.ModelInfo("cnn", {}, 40, 1, "binary")
    cfg = RunConfig()
    i = start
    while True:
        runs.write_run(run_dir, cfg, info, {"w": np.full(size, i, np.float32)},
                       history=[{"epoch": k, "train_loss": 1.0 / k} for k in range(1, i + 1)],
                       metrics={"iteration": float(i)}, status="training", provenance_info={"iteration": i},
                       predictions={"y_true": np.full((size // 8, 1), i, np.float32),
                                    "y_pred": np.full((size // 8, 1), i, np.float32)})
        if i == start:
            print("ready", flush=True)
        i += 1
""")


def _check_whole(run_dir: Path) -> tuple[int, int, int, int, int]:
    """Load the run and check each file is whole; (weights, history, metrics, predictions, run.json) iterations."""
    run = load_run(run_dir)
    w = run.tensors()["w"]
    assert w.min() == w.max(), "the weights file mixes two saves"
    epochs = [int(r["epoch"]) for r in run.history]
    assert epochs == list(range(1, len(epochs) + 1)), "history.csv is torn"
    preds = run.predictions()
    assert preds is not None and preds["y_true"].min() == preds["y_pred"].max(), "predictions file mixes saves"
    return int(w[0]), len(epochs), int(run.metrics["iteration"]), int(preds["y_true"][0, 0]), \
        int(run.provenance["iteration"])


@pytest.mark.skipif(sys.platform == "win32", reason="the kill-loop timing is tuned on POSIX; the logic is the same")
def test_killed_mid_save_leaves_the_previous_run_whole(tmp_path):
    run_dir = tmp_path / "run"
    rng = random.Random(7)
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    last = 0
    kills = 0
    for round_ in range(6):
        start = last + 1
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(run_dir), str(start), str(1 << 20)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
        try:
            line = proc.stdout.readline()  # the first complete save of this round
            assert line.strip() == "ready", proc.stderr.read()
            time.sleep(rng.uniform(0.0, 0.4))  # land anywhere in a later save
        finally:
            proc.kill()  # SIGKILL on POSIX: no cleanup handlers run
            proc.wait(timeout=30)
            proc.stdout.close()
            proc.stderr.close()
        kills += 1
        w, h, m, p, doc = _check_whole(run_dir)
        # files are written weights -> history -> metrics -> predictions -> run.json, each atomically
        assert w >= h >= m >= p >= doc >= start, (w, h, m, p, doc, start)
        assert w - doc <= 1, "more than one save lost"
        last = w
    assert kills == 6 and last > 6
    # a killed save may leave its temp file; the run still loads and a new save clears nothing it should keep
    assert load_run(run_dir).status == "training"
