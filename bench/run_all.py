"""make bench: every scenario in a process of its own, then one table.

    .venv/bin/python bench/run_all.py [--quick]

--quick shortens the runs (for a smoke test); the figures in
docs/performance.md come from a full run.
"""

from pathlib import Path

import argparse
import json
import platform
import subprocess
import sys
import time


HERE = Path(__file__).resolve().parent

SCENARIOS = [
    (
        "bench_punctuality.py",
        ["--seconds", "20", "--repeat", "2"],
        ["--seconds", "6", "--repeat", "1"],
    ),
    (
        "bench_throughput.py",
        ["--storage", "fs", "--jobs", "2000", "--repeat", "3"],
        ["--storage", "fs", "--jobs", "300", "--repeat", "1"],
    ),
    (
        "bench_throughput.py",
        ["--storage", "zeo", "--jobs", "1000", "--repeat", "3"],
        ["--storage", "zeo", "--jobs", "200", "--repeat", "1"],
    ),
    ("bench_scale.py", ["--repeat", "3"], ["--repeat", "1"]),
    ("bench_idle.py", ["--seconds", "62"], ["--seconds", "12"]),
    ("bench_cluster.py", ["--crons", "150"], ["--crons", "20"]),
    (
        "bench_cluster.py",
        ["--storage", "relstorage", "--crons", "150"],
        ["--storage", "relstorage", "--crons", "20"],
    ),
    ("bench_dst.py", [], []),
]


def cell(values):
    if not values:
        return "-"
    median, low, high = values
    digits = 3 if abs(median) < 1 else 1  # a dispatcher look is under 1 ms
    if low == high:
        return f"{median:,.{digits}f}"
    return f"{median:,.{digits}f} ({low:,.{digits}f}-{high:,.{digits}f})"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    records = []
    began = time.monotonic()
    for script, full, quick in SCENARIOS:
        command = [sys.executable, str(HERE / script), *(quick if args.quick else full)]
        print(f"running {script} {' '.join(command[2:])}", file=sys.stderr, flush=True)
        result = subprocess.run(command, capture_output=True, text=True, cwd=HERE)
        lines = [
            line for line in result.stdout.splitlines() if line.startswith("BENCH ")
        ]
        if result.returncode or not lines:
            print(result.stdout[-3000:], result.stderr[-3000:], file=sys.stderr)
            sys.exit(f"{script} failed")
        records.extend(json.loads(line[6:]) for line in lines)

    print(
        f"collective.cron benchmarks, {time.strftime('%Y-%m-%d')}, "
        f"{platform.python_implementation()} {platform.python_version()}, "
        f"{platform.machine()}, {__import__('os').cpu_count()} cores, "
        f"{time.monotonic() - began:.0f} s"
    )
    print(
        "median (min-max) over repeated runs; peer: APScheduler 3.11 + SQLite"
        " unless the figure names another"
    )
    print()
    print("| scenario | figure | unit | collective.cron | peer | us/peer |")
    print("|---|---|---|---|---|---|")
    for record in records:
        ours, peer = record["ours"], record["peer"]
        ratio = f"{ours[0] / peer[0]:.2f}" if peer and peer[0] else "-"
        print(
            f"| {record['scenario']} | {record['metric']} | {record['unit']} | "
            f"{cell(ours)} | {cell(peer)} | {ratio} |"
        )


if __name__ == "__main__":
    main()
