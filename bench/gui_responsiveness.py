"""Is the window responsive while it trains, and how much training speed does the GUI cost?

Measured in one process, side by side (CONTRIBUTING.md convention 7: ratios, no assertions):

1. CPU training of the DeepBind-style CNN on the demo data (bound.fa + background.fa) with ``train_run`` iterated
   in a plain Python thread, no Qt involved: the reference samples/s, at normal priority and at the niceness the
   GUI worker uses. (A plain thread, not the main thread: on a busy machine torch's OpenMP team trains several
   times slower from the main thread than from any other thread, which would flatter the GUI; that figure is
   printed too.)
2. The same run started from the main window (offscreen) through its ``TaskRunner``, while a 5 ms ``QTimer``
   probe measures how late the event loop serves it (p50 / p99 / max) while it trains, from its first progress
   report to its last, once with the worker thread at the default lower priority and once at normal priority;
   samples/s relative to the reference at the same priority; share of CPU time the GUI thread used. The worst
   lateness around the run (Start until the first report: tab switch and first paint; after the last report: the
   results shown) is printed on its own line.
3. Event-loop lateness while a large FASTA pair is read by the data worker (a big file must not freeze the window).
4. Launch to first painted window in a fresh process (median of a few launches).

Goals (issue 3): p99 <= 10 ms, max <= 50 ms, training >= 75 % of the no-GUI speed, first paint <= 0.8 s.

    python bench/gui_responsiveness.py [--epochs 8] [--rounds 2] [--load-records 300000] [--launches 3]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from biodeep_gui.core.common import quick  # noqa: E402 (after the path set-up)

PROBE_MS = 5


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q / 100 * (len(s) - 1))))]


class Probe:
    """A 5 ms timer in the GUI thread; records how late each tick comes (ms) and when it came."""

    def __init__(self):
        from PySide6.QtCore import Qt, QTimer

        self.late: list[float] = []
        self.at: list[float] = []  # perf_counter of each tick
        self._last = 0.0
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(PROBE_MS)
        self.timer.timeout.connect(self._tick)

    def start(self) -> None:
        self.late.clear()
        self.at.clear()
        self._last = time.perf_counter()
        self._cpu0, self._wall0 = time.thread_time(), time.perf_counter()
        self.timer.start()

    def stop(self, window: tuple[float, float] | None = None) -> dict[str, float]:
        """Statistics of the ticks; with ``window`` = (t0, t1), of the ticks whose wait lay inside it, and the
        worst wait before it ('before_max') and after it ('after_max')."""
        self.timer.stop()
        cpu = time.thread_time() - self._cpu0
        wall = time.perf_counter() - self._wall0
        late, out = self.late, {}
        if window is not None:
            t0, t1 = window
            late = [v for v, t in zip(self.late, self.at) if t - v / 1000 >= t0 and t <= t1]
            out["before_max"] = max([v for v, t in zip(self.late, self.at) if t - v / 1000 < t0], default=0.0)
            out["after_max"] = max([v for v, t in zip(self.late, self.at) if t > t1], default=0.0)
        return {"p50": percentile(late, 50), "p99": percentile(late, 99),
                "max": max(late) if late else float("nan"), "ticks": len(late),
                "gui_cpu": cpu / wall if wall else float("nan"), **out}

    def _tick(self) -> None:
        now = time.perf_counter()
        self.late.append(max(0.0, (now - self._last) * 1000 - PROBE_MS))
        self.at.append(now)
        self._last = now


def run_config(files: dict, epochs: int):
    from biodeep_gui.core.sequences.config import DataConfig, ModelConfig, RunConfig
    from biodeep_gui.core.training.config import TrainConfig

    return RunConfig(data=DataConfig(fasta=str(files["bound"]), background=str(files["background"])),
                     model=ModelConfig("cnn", {}),
                     train=TrainConfig(epochs=epochs, patience=0, device="cpu", seed=0))


def train_without_gui(cfg, data, out: Path) -> float:
    from biodeep_gui.core.sequences.pipeline import RunSummary, train_run

    for item in train_run(cfg, out, data=data):
        if isinstance(item, RunSummary):
            return item.samples_per_s
    return float("nan")


def train_in_thread(cfg, data, out: Path, nice: int) -> float:
    """``train_without_gui`` in a plain ``threading.Thread`` with ``nice`` added on Linux (no Qt at all)."""
    import threading

    result = []

    def work():
        if nice and sys.platform.startswith("linux"):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice)
        result.append(train_without_gui(cfg, data, out))

    t = threading.Thread(target=work)
    t.start()
    t.join()
    return result[0]


def train_with_gui(app, window, probe: Probe, priority: str, epochs: int) -> tuple[float, dict, int]:
    """Start training from the window's Model settings; returns samples/s, probe stats and curve redraws."""
    from PySide6.QtCore import QEventLoop

    m = window.model_tab
    m.set_architecture("cnn")
    m.epochs_spin.setValue(epochs)
    m.patience_spin.setValue(0)
    m.seed_spin.setValue(0)
    window.train_runner.priority = priority
    result = {}
    loop = QEventLoop()

    def done(summary):
        result["summary"] = summary
        loop.quit()

    def failed(msg, _details):
        result["error"] = msg
        loop.quit()

    reports: list[float] = []  # arrival of each batch / epoch report: training runs from the first to the last

    def items(batch):
        if any(type(i).__name__ in ("BatchReport", "EpochReport") for i in batch):
            reports.append(time.perf_counter())

    window.train_runner.sigFinished.connect(done)
    window.train_runner.sigFailed.connect(failed)
    window.train_runner.sigItems.connect(items)
    redraws0 = window.training_tab.curves.redraws
    probe.start()
    window.start_training()
    loop.exec()
    stats = probe.stop((reports[0], reports[-1]) if reports else None)
    window.train_runner.sigFinished.disconnect(done)
    window.train_runner.sigFailed.disconnect(failed)
    window.train_runner.sigItems.disconnect(items)
    if "error" in result:
        raise RuntimeError(result["error"])
    return result["summary"].samples_per_s, stats, window.training_tab.curves.redraws - redraws0


def load_with_gui(app, window, probe: Probe, bound: Path, background: Path) -> tuple[float, dict, int]:
    from PySide6.QtCore import QEventLoop

    from biodeep_gui.core.sequences.config import DataConfig

    loop = QEventLoop()
    out = {}
    window.data_runner.sigFinished.connect(lambda r: (out.setdefault("r", r), loop.quit()))
    window.data_runner.sigFailed.connect(lambda m, d: (out.setdefault("e", m), loop.quit()))
    probe.start()
    t0 = time.perf_counter()
    window.sequences.open_data(DataConfig(fasta=str(bound), background=str(background)))
    loop.exec()
    elapsed = time.perf_counter() - t0
    stats = probe.stop()
    if "e" in out:
        raise RuntimeError(out["e"])
    return elapsed, stats, len(out["r"].data)


def write_big_pair(folder: Path, records: int, length: int = 200) -> tuple[Path, Path]:
    import numpy as np

    rng = np.random.default_rng(0)
    letters = np.frombuffer(b"ACGT", np.uint8)
    paths = []
    for name, prefix in (("big_bound.fa", b"pos"), ("big_background.fa", b"neg")):
        path = folder / name
        with open(path, "wb") as fh:
            for start in range(0, records // 2, 50_000):
                n = min(50_000, records // 2 - start)
                seqs = letters[rng.integers(0, 4, (n, length))]
                fh.write(b"".join(b">%s_%d\n%s\n" % (prefix, start + i, s.tobytes())
                                  for i, s in enumerate(seqs)))
        paths.append(path)
    return paths[0], paths[1]


_FIRST_PAINT = """
    import time, sys
    from PySide6.QtCore import QEvent, QObject, QTimer

    class FirstPaint(QObject):
        done = False
        def eventFilter(self, obj, event):
            if event.type() == QEvent.Type.Paint and not self.done:
                self.done = True
                print("PAINT", time.time(), "torch" in sys.modules, flush=True)
                QTimer.singleShot(0, window.close)
            return False
"""

FIRST_PAINT_CHILD = textwrap.dedent(_FIRST_PAINT + """
    from biodeep_gui.gui.app import create_app

    app, window, _ = create_app([])
    f = FirstPaint()
    app.installEventFilter(f)  # the first paint of any widget of the window
    window.update()
    app.exec()
""")

#: The same measurement for the smallest PySide6 + pyqtgraph window (one empty plot): the floor on this machine.
BARE_PAINT_CHILD = textwrap.dedent(_FIRST_PAINT + """
    from PySide6.QtWidgets import QApplication, QMainWindow
    import pyqtgraph as pg

    app = QApplication([])
    window = QMainWindow()
    window.setCentralWidget(pg.PlotWidget())
    f = FirstPaint()
    app.installEventFilter(f)  # the first paint of any widget of the window
    window.show()
    app.exec()
""")


def first_paint(launches: int, data_dir: Path, child: str = FIRST_PAINT_CHILD) -> tuple[list[float], bool]:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", BIODEEP_HOME=str(data_dir),
               XDG_CONFIG_HOME=str(data_dir / "config"))
    times, torch_seen = [], False
    for _ in range(launches):
        t0 = time.time()
        out = subprocess.run([sys.executable, "-c", child], cwd=ROOT, env=env, capture_output=True,
                             text=True, timeout=300)
        for line in out.stdout.splitlines():
            if line.startswith("PAINT"):
                _, t, torch = line.split()
                times.append(float(t) - t0)
                torch_seen |= torch == "True"
    return times, torch_seen


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=quick.size(8, 1), help="epochs per training run (default 8: a run of a few seconds, "
                    "so start-up and the end-of-run results do not dominate)")
    ap.add_argument("--load-records", type=int, default=quick.size(300_000, 2_000),
                    help="records of the big FASTA pair read with the window up (0: skip; default 300,000)")
    ap.add_argument("--launches", type=int, default=quick.size(3, 1), help="fresh processes timed to first paint (0: skip)")
    ap.add_argument("--rounds", type=int, default=quick.size(2, 1),
                    help="interleaved rounds of the four training runs (reference / GUI x two priorities)")
    a = ap.parse_args(argv)
    if quick.active():  # a testing aid (tests/test_readme.py): figures from tiny sizes mean nothing
        print(quick.notice(what="benchmark sizes reduced"), file=sys.stderr, flush=True)

    tmp = Path(tempfile.mkdtemp(prefix="biodeep-bench-gui-"))
    os.environ["BIODEEP_HOME"] = str(tmp / "home")
    from PySide6.QtCore import QCoreApplication, QSettings
    from PySide6.QtWidgets import QApplication

    from biodeep_gui.core.sequences.io import load_sequences
    from biodeep_gui.core.sequences.synthetic import write_demo

    print(f"machine: {os.cpu_count()} CPU cores; Python {sys.version.split()[0]}; load average "
          f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    if a.launches:
        bare, _ = first_paint(a.launches, tmp / "paint", BARE_PAINT_CHILD)
        times, torch_seen = first_paint(a.launches, tmp / "paint")
        print(f"launch to first paint: median {statistics.median(times):.2f} s, best {min(times):.2f} s "
              f"over {len(times)} launches (goal <= 0.8 s); torch imported at first paint: {torch_seen}")
        print(f"  for scale, a bare PySide6 window with one pyqtgraph plot: median {statistics.median(bare):.2f} s, "
              f"best {min(bare):.2f} s")

    files = write_demo(tmp / "demo")
    cfg = run_config(files, a.epochs)
    data = load_sequences(cfg.data)

    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp / "settings"))
    app = QApplication.instance() or QApplication([])
    QCoreApplication.setOrganizationName("BioDeepBench")
    from biodeep_gui.gui.main_window import MainWindow

    window = MainWindow()
    window.resize(1280, 860)
    window.show()
    probe = Probe()
    # let device discovery (torch import in the model tab's worker) finish first
    deadline = time.monotonic() + 300
    while (window.model_tab.devices() is None or window.model_tab.is_busy()) and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.01)
    window.sequences_tab.show_data(data, cfg.data)
    window.model_tab.set_data_shape(data.length, data.n_outputs)

    from biodeep_gui.gui.workers import WORKER_NICE

    print(f"\nCNN (DeepBind defaults), {a.epochs} epochs on {len(data):,} demo sequences of {data.length} bp, CPU:")
    runs = tmp / "runs"
    main_thread = train_without_gui(cfg, data, runs / "main")
    print(f"  no GUI, main thread (for information): {main_thread:.0f} samples/s")
    # Interleaved rounds, the order rotated each round: on a shared machine the load drifts within minutes.
    order = [("ref", "normal"), ("ref", "low"), ("gui", "low"), ("gui", "normal")]
    speed = {k: [] for k in order}
    probes: dict[str, list[dict]] = {"low": [], "normal": []}
    redraws: dict[str, list[int]] = {"low": [], "normal": []}
    for r in range(a.rounds):
        for kind, priority in order[r % len(order):] + order[:r % len(order)]:
            if kind == "ref":
                sps = train_in_thread(cfg, data, runs / f"ref-{priority}-{r}", WORKER_NICE if priority == "low" else 0)
            else:
                sps, st, n_redraws = train_with_gui(app, window, probe, priority, a.epochs)
                probes[priority].append(st)
                redraws[priority].append(n_redraws)
            speed[(kind, priority)].append(sps)
        print(f"  round {r + 1}: " + ", ".join(f"{k} {p} {speed[(k, p)][-1]:.0f}" for k, p in order)
              + " samples/s", flush=True)
    for priority in ("low", "normal"):
        ref_sps = statistics.median(speed[("ref", priority)])
        gui_sps = statistics.median(speed[("gui", priority)])
        late = probes[priority]
        p50 = statistics.median(st["p50"] for st in late)
        p99 = statistics.median(st["p99"] for st in late)
        worst = max(st["max"] for st in late)
        start_worst = max(st.get("before_max", 0.0) for st in late)
        end_worst = max(st.get("after_max", 0.0) for st in late)
        cpu = statistics.median(st["gui_cpu"] for st in late)
        label = f"nice +{WORKER_NICE} (default)" if priority == "low" else "normal priority"
        print(f"  worker at {label}: GUI {gui_sps:.0f} vs no-GUI thread {ref_sps:.0f} samples/s (medians) = "
              f"{gui_sps / ref_sps:.0%}; event loop late by p50 {p50:.1f} ms, p99 {p99:.1f} ms (median over rounds), "
              f"max {worst:.1f} ms; GUI thread CPU {cpu:.0%} (the 200 Hz probe included); "
              f"{statistics.median(redraws[priority]):.0f} curve redraws per run")
        print(f"    around the run: Start to first report late by at most {start_worst:.1f} ms (tab switch, first "
              f"paint); results shown after the last report: {end_worst:.1f} ms")
    print("  goals: p99 <= 10 ms, max <= 50 ms, >= 75 % of no-GUI speed")

    if a.load_records:
        bound, background = write_big_pair(tmp, a.load_records)
        size = (bound.stat().st_size + background.stat().st_size) / 1e6
        elapsed, st, n = load_with_gui(app, window, probe, bound, background)
        print(f"\nreading {n:,} sequences ({size:.0f} MB FASTA) in the data worker: {elapsed:.1f} s; event loop "
              f"late by p50 {st['p50']:.1f} ms, p99 {st['p99']:.1f} ms, max {st['max']:.1f} ms")
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
