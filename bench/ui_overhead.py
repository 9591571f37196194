"""Training throughput with the TUI watching it against headless `digitsum run`, interleaved.

`python -m bench.ui_overhead [--pairs N] [--epochs E] [--train-size T] [--json]`. Each run is a
fresh process training the same seeded run: headless through the CLI, or inside `digitsum-tui`
driven by Textual's headless driver at 80x24 (every record drawn, the charts redrawn on their
timer, as on a terminal). The figure is the median over pairs of tui/headless training images/s
(the epochs' own `images_per_s`, validation excluded), pairs alternating which goes first.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.startup import digitsum_command


def training_speed(out: Path) -> float:
    """Median images/s over a finished run's epochs, from its metrics.jsonl."""
    (log,) = out.glob("*/metrics.jsonl")
    speeds = [r["images_per_s"] for r in map(json.loads, log.read_text().splitlines()) if r.get("event") == "epoch"]
    return statistics.median(speeds)


def cli_args(epochs: int, train_size: int, out: Path) -> list[str]:
    return ["--epochs", str(epochs), "--train-size", str(train_size), "--out", str(out), "--notify", "off"]


def headless(epochs: int, train_size: int, out: Path) -> float:
    cmd = [*digitsum_command(), "run", *cli_args(epochs, train_size, out)]
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return training_speed(out)


def with_tui(epochs: int, train_size: int, out: Path) -> float:
    cmd = [sys.executable, "-m", "bench.ui_overhead", "--tui-child", *cli_args(epochs, train_size, out)]
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return training_speed(out)


def tui_child(argv: list[str]) -> None:
    """The app as `digitsum-tui` builds it from the same options, run to the end of training."""
    from tui.app import app_from_args

    app = app_from_args(argv)

    async def watch() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            while app.engine_worker is None or not app.engine_worker.is_finished:
                await pilot.pause(0.2)

    asyncio.run(watch())


def measure(pairs: int, epochs: int, train_size: int) -> dict:
    ratios, speeds = [], {"headless": [], "tui": []}
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(pairs):
            order = (("headless", headless), ("tui", with_tui))[:: 1 if k % 2 == 0 else -1]
            got = {name: run(epochs, train_size, Path(tmp) / f"{name}-{k}") for name, run in order}
            for name, speed in got.items():
                speeds[name].append(speed)
            ratios.append(got["tui"] / got["headless"])
            print(f"pair {k + 1}: headless {got['headless']:.0f} img/s, tui {got['tui']:.0f} img/s", file=sys.stderr)
    return {
        "tui_over_headless": statistics.median(ratios),
        "min": min(ratios),
        "max": max(ratios),
        "headless_img_s": statistics.median(speeds["headless"]),
        "tui_img_s": statistics.median(speeds["tui"]),
        "pairs": pairs,
        "epochs": epochs,
        "train_size": train_size,
    }


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--tui-child"]:
        tui_child(argv[1:])
        return 0
    parser = argparse.ArgumentParser(prog="python -m bench.ui_overhead", description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--train-size", type=int, default=6000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result = measure(args.pairs, args.epochs, args.train_size)
    if args.json:
        print(json.dumps(result))
    else:
        print(
            f"training throughput, TUI / headless: {result['tui_over_headless']:.3f}x "
            f"(min {result['min']:.3f}, max {result['max']:.3f}; {result['pairs']} interleaved pairs; "
            f"headless {result['headless_img_s']:.0f} img/s, TUI {result['tui_img_s']:.0f} img/s)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
