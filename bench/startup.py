"""Benchmark: seconds from process start until the app window is shown and taking events.

Runs the real `run_app` path on an existing library, in a fresh process each time, and
prints the median over several runs. Uses the offscreen platform unless DISPLAY is set.

    python bench/startup.py --home /path/to/indexed/home --runs 5
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys

PROBE = r"""
import time, sys
started = time.perf_counter()
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
import mediasearch.app as app_module

def report():
    print(f"READY {time.perf_counter() - started:.3f}", flush=True)
    QApplication.instance().quit()

# The first turn of the event loop after the window is shown: it now answers input.
QTimer.singleShot(0, report)
app_module.run_app(sys.argv[1:])
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", required=True)
    parser.add_argument("--model", help="model to open the library with")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    env = dict(os.environ)
    if "DISPLAY" not in env:
        env.setdefault("QT_QPA_PLATFORM", "offscreen")
    extra = ["--model", args.model] if args.model else []
    times = []
    for _ in range(args.runs):
        result = subprocess.run(
            [sys.executable, "-c", PROBE, "--home", args.home, *extra],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        line = next((x for x in result.stdout.splitlines() if x.startswith("READY")), None)
        if line is None:
            raise SystemExit(f"the app did not start:\n{result.stderr[-2000:]}")
        times.append(float(line.split()[1]))
    print(
        f"window ready: median {statistics.median(times):.2f} s "
        f"(min {min(times):.2f}, max {max(times):.2f}, {args.runs} runs)"
    )


if __name__ == "__main__":
    main()
