"""Start-up cost of the CLI and peak memory of a short headless run, each in fresh subprocesses.

Run alone with `python -m bench.startup [--runs N] [--json]`, or as a section of `python -m bench --startup`.
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

# Runs its arguments as a child and prints that child's peak RSS (KiB on Linux): a clean
# RUSAGE_CHILDREN, untouched by any other subprocess this bench has started.
_PEAK_RSS = (
    "import resource, subprocess, sys; rc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, "
    "stderr=subprocess.DEVNULL).returncode; "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, rc)"
)


def digitsum_command() -> list[str]:
    """The installed console script if there is one, else `python -m digitsum`."""
    script = shutil.which("digitsum")
    return [script] if script else [sys.executable, "-m", "digitsum"]


def median_wall(cmd: list[str], runs: int) -> dict:
    """Median wall time of `runs` runs (plus one untimed run to warm the file cache)."""
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - started)
    return {"median_s": statistics.median(times), "min_s": min(times), "max_s": max(times), "runs": runs}


def peak_rss_mib(cmd: list[str]) -> tuple[float, float, int]:
    """Peak resident set size (MiB), wall seconds and exit code of one run of `cmd`."""
    started = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", _PEAK_RSS, *cmd], capture_output=True, text=True, check=True)
    wall = time.perf_counter() - started
    kib, rc = out.stdout.split()
    return int(kib) / 1024, wall, int(rc)


def measure_startup(runs: int = 5, train_size: int = 256, val_size: int = 64) -> dict:
    """Wall times of `digitsum --help`, `import digitsum.cli`, a bare interpreter; RSS of a short run."""
    cli = digitsum_command()
    result = {
        "command": " ".join(cli),
        "python -c pass": median_wall([sys.executable, "-c", "pass"], runs),
        "python -c 'import digitsum.cli'": median_wall([sys.executable, "-c", "import digitsum.cli"], runs),
        "digitsum --help": median_wall(cli + ["--help"], runs),
    }
    with tempfile.TemporaryDirectory(prefix="digitsum-bench-rss-") as out:
        run_args = [
            "run",
            "--model",
            "sumnet",
            "--epochs",
            "1",
            "--train-size",
            str(train_size),
            "--val-size",
            str(val_size),
            "--out",
            out,
            "--json",
        ]
        rss, wall, rc = peak_rss_mib(cli + run_args)
        help_rss, _, _ = peak_rss_mib(cli + ["--help"])
        torch_rss, _, _ = peak_rss_mib([sys.executable, "-c", "import torch"])
    result["digitsum --help peak RSS MiB"] = help_rss
    result["import torch peak RSS MiB"] = torch_rss
    result["short run"] = {
        "args": " ".join(["digitsum", *run_args[:-3], "--out", "TMP", "--json"]),
        "peak_rss_mib": rss,
        "wall_s": wall,
        "exit_code": rc,
    }
    return result


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bench.startup", description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result = measure_startup(args.runs)
    if args.json:
        print(json.dumps(result))
    else:
        from rich.console import Console

        from bench.report import startup_table

        Console().print(startup_table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
