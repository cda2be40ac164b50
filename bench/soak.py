"""Soak: train with live plotting in the real main window for N minutes; report GUI latency and memory.

    python bench/soak.py                 # 10 minutes, offscreen
    python bench/soak.py --minutes 2 --arch cnn-lstm
    python bench/soak.py --show          # on the real display

The window is driven as a user would: Help > Open demo data, then Training > Start with the chosen network and an
epoch budget far beyond the soak (early stopping off); when a run ends anyway, the next one starts. A 20 ms
QTimer on the GUI thread measures event-loop latency (how late each tick fires). Resident memory is sampled each
second. Printed: latency percentiles and memory in the first and the last minute, memory growth, epochs trained
and runs completed. Nothing is asserted: the figures are for reading and comparing (run on a quiet machine).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from biodeep_gui.core.common import quick  # noqa: E402 (after the path set-up)


def rss_mb() -> float:
    """Current resident memory in MB (Linux /proc; elsewhere the peak from getrusage)."""
    from biodeep_gui.core.common.system import process_memory

    return (process_memory() or 0) / 2**20


def percentiles(values: list[float]) -> str:
    import numpy as np

    if not values:
        return "no samples"
    a = np.asarray(values)
    return (f"p50 {np.percentile(a, 50):5.1f} ms  p99 {np.percentile(a, 99):5.1f} ms  max {a.max():6.1f} ms  "
            f"({len(a)} ticks)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=10.0, help="training time (default 10)")
    ap.add_argument("--arch", default="cnn", choices=("mlp", "cnn", "cnn-lstm"))
    ap.add_argument("--show", action="store_true", help="use the real display instead of offscreen")
    args = ap.parse_args(argv)
    if quick.active():  # a testing aid (tests/test_readme.py): a soak of seconds shows nothing about leaks
        args.minutes = min(args.minutes, 0.1)
        print(quick.notice(what=f"soak shortened to {args.minutes * 60:.0f} s"), file=sys.stderr, flush=True)
    if not args.show:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    tmp = Path(tempfile.mkdtemp(prefix="biodeep-soak-"))
    os.environ["BIODEEP_HOME"] = str(tmp / "home")  # demo data and runs go here, not to the user's folder

    from PySide6.QtCore import QObject, QSettings, QTimer, Slot

    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp / "settings"))
    from biodeep_gui.core.sequences.config import ModelConfig
    from biodeep_gui.core.training.config import TrainConfig
    from biodeep_gui.gui.app import create_app

    app, window, _ = create_app([])
    tick_ms = 20

    class Probe(QObject):
        """GUI-thread probes: event-loop lateness, memory, epochs (slots live in the GUI thread)."""

        def __init__(self):
            super().__init__()
            self.phase = "idle"
            self.late: dict[str, list[float]] = {"first": [], "last": []}
            self.mem: list[tuple[float, float]] = []
            self.epochs = 0
            self.batches = 0
            self.speed: list[float] = []
            self.runs_done = 0
            self.window_s = min(60.0, args.minutes * 30.0)  # "first" and "last" minute (half the soak if shorter)
            self.t_train = None
            self._last = time.perf_counter()
            self.timer = QTimer(self)
            self.timer.setInterval(tick_ms)
            self.timer.timeout.connect(self.tick)
            self.mem_timer = QTimer(self)
            self.mem_timer.setInterval(1000)
            self.mem_timer.timeout.connect(self.sample_memory)

        @Slot()
        def tick(self) -> None:
            now = time.perf_counter()
            late = (now - self._last) * 1000 - tick_ms
            self._last = now
            if self.t_train is None:
                return
            t = now - self.t_train
            if t < self.window_s:
                self.late["first"].append(max(late, 0.0))
            elif t > args.minutes * 60 - self.window_s:
                self.late["last"].append(max(late, 0.0))

        @Slot()
        def sample_memory(self) -> None:
            if self.t_train is not None:
                self.mem.append((time.perf_counter() - self.t_train, rss_mb()))

        @Slot(object)
        def on_items(self, items: list) -> None:
            for item in items:
                kind = type(item).__name__
                if kind == "EpochReport":
                    self.epochs += 1
                elif kind == "BatchReport":
                    self.batches += 1
                    self.speed.append(item.samples_per_s)

        def start(self) -> None:
            self._last = time.perf_counter()
            self.t_train = self._last
            self.timer.start()
            self.mem_timer.start()

        @Slot(object)
        def on_finished(self, _summary) -> None:
            self.runs_done += 1

    probe = Probe()
    window.train_runner.sigItems.connect(probe.on_items)
    window.train_runner.sigFinished.connect(probe.on_finished)

    def wait(cond, timeout_s: float) -> bool:
        end = time.perf_counter() + timeout_s
        while time.perf_counter() < end:
            app.processEvents()
            if cond():
                return True
            time.sleep(0.01)
        return cond()

    print(f"BioDeep soak: {args.arch}, {args.minutes:g} min, {'display' if args.show else 'offscreen'}", flush=True)
    rss_start = rss_mb()
    t0 = time.perf_counter()
    window.sequences.open_demo()
    tab = window.sequences_tab
    if not wait(lambda: tab.current_data()[0] is not None, 300):
        print("the demo data did not open:", tab.problem_text())
        return 1
    print(f"demo data open after {time.perf_counter() - t0:.1f} s; RSS {rss_mb():.0f} MB", flush=True)
    window.model_tab.set_model_config(ModelConfig(args.arch, {}))
    window.model_tab.set_train_config(TrainConfig(epochs=100_000, patience=0, device="cpu"))
    wait(lambda: not window.model_tab.is_busy(), 120)  # device discovery (imports torch) finishes first
    rss_before_training = rss_mb()
    probe.start()
    window.start_training()
    end = probe.t_train + args.minutes * 60
    while time.perf_counter() < end:
        app.processEvents()
        if not window.train_runner.is_running() and time.perf_counter() < end - 5:
            window.start_training()  # a run ended (it should not with this budget): keep the load on
        time.sleep(0.002)
    window.stop_training()
    t_stop = time.perf_counter()
    wait(lambda: not window.train_runner.is_running(), 120)
    stop_s = time.perf_counter() - t_stop
    probe.timer.stop()
    probe.mem_timer.stop()

    w = probe.window_s
    first = [m for t, m in probe.mem if t < w]
    last = [m for t, m in probe.mem if t > args.minutes * 60 - w]
    m_first = sum(first) / len(first) if first else float("nan")
    m_last = sum(last) / len(last) if last else float("nan")
    print(f"RSS: {rss_start:.0f} MB at start, {rss_before_training:.0f} MB with the data open, "
          f"{m_first:.0f} MB mean over the first {w:.0f} s of training, {m_last:.0f} MB over the last {w:.0f} s; "
          f"growth {100 * (m_last - m_first) / m_first:+.1f} %")
    print(f"event-loop lateness, first {w:.0f} s: {percentiles(probe.late['first'])}")
    print(f"event-loop lateness, last {w:.0f} s:  {percentiles(probe.late['last'])}")
    speed = sorted(probe.speed)[len(probe.speed) // 2] if probe.speed else float("nan")
    print(f"trained {probe.epochs} epochs, {probe.batches} batch reports, median {speed:,.0f} sequences/s; "
          f"runs finished {probe.runs_done}; stop took {stop_s:.2f} s")
    window.close()
    app.processEvents()
    return 0


if __name__ == "__main__":
    sys.exit(main())
