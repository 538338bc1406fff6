"""Run the benchmark suite: print each section's table and write every figure to JSON.

python -m bench                    # everything (about half an hour on two cores)
python -m bench --quick            # small sizes, to check the suite itself works
python -m bench --only indexing,live --work ~/ms-bench --json bench.json
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

from bench.common import Section

# In the order they run; each module has run(work, quick) -> list[Section].
SECTIONS = ("indexing", "scale", "live", "models", "media")


def machine() -> dict[str, object]:
    """What the figures were measured on: they only compare within one machine."""
    import torch

    return {
        "cpu_cores": os.cpu_count(),
        "cpu": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "date": time.strftime("%Y-%m-%d %H:%M"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: checks the suite")
    parser.add_argument("--only", help=f"comma-separated sections of: {', '.join(SECTIONS)}")
    parser.add_argument("--work", type=Path, help="keeps drawn photos and built indexes")
    parser.add_argument("--json", type=Path, default=Path("bench-results.json"))
    args = parser.parse_args()
    chosen = args.only.split(",") if args.only else list(SECTIONS)
    unknown = set(chosen) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections: {', '.join(sorted(unknown))}")
    work = args.work or Path(tempfile.mkdtemp(prefix="ms-bench-"))
    work.mkdir(parents=True, exist_ok=True)

    report: dict[str, object] = {"machine": machine(), "quick": args.quick}
    finished: list[Section] = []
    for name in chosen:
        module = importlib.import_module(f"bench.{name}")
        started = time.perf_counter()
        sections: list[Section] = module.run(work / name, args.quick)
        print(f"[{name} took {time.perf_counter() - started:.0f} s]", file=sys.stderr)
        for section in sections:
            print(section.render(), flush=True)
            report[section.title] = {"command": section.command, **section.figures}
        finished += sections
        # Written after every module, so a long run interrupted later keeps what it measured.
        args.json.write_text(json.dumps(report, indent=2))

    print("\n" + "\n\n".join(section.render() for section in finished))
    print(f"\nfigures written to {args.json}")


if __name__ == "__main__":
    main()
