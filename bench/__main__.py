"""`python -m bench`: training/evaluation throughput ratios, mixed-precision agreement, start-up.

python -m bench                 # full run (a few minutes on 2 cores)
python -m bench --quick --json  # tiny sizes, one JSON object on stdout (the smoke test)
python -m bench --startup       # also CLI start-up times and peak RSS of a short run
python -m bench --device cuda   # the same ratios on a GPU (--device auto: the GPU if there is one)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

from rich.console import Console

from bench.sizes import Sizes, pick_sizes

MODELS = ("seed", "sumnet")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="tiny sizes (smoke test; figures meaningless)")
    parser.add_argument("--images", type=int, help="training images per variant in each timed repeat")
    parser.add_argument("--repeats", type=int, help="interleaved repeats per variant")
    parser.add_argument("--models", default=",".join(MODELS), help="comma-separated: seed,sumnet")
    parser.add_argument(
        "--no-assignment-sumnet", action="store_true", help="skip way (a) for sumnet (it is the slowest variant)"
    )
    parser.add_argument(
        "--device",
        choices=("auto", "cpu", "cuda"),
        default="cpu",
        help="where every variant trains and evaluates (default cpu; auto: cuda when available)",
    )
    parser.add_argument("--startup", action="store_true", help="also measure CLI start-up and peak RSS")
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    parser.add_argument("--save", metavar="FILE", help="also write the JSON object to FILE")
    return parser.parse_args(argv)


def bench_model(name: str, data, sizes: Sizes, with_assignment: bool, device: str, log) -> dict:
    """Training ratios, step breakdown, then eval throughput and agreement on the engine-trained model."""
    from bench.breakdown import adam_variants, engine_phases, thread_probe
    from bench.evaluation import measure_eval, top_up
    from bench.training import Schedule, measure_training

    chunk = Schedule.of(sizes, device).chunk
    log(f"{name}: training throughput on {device}, {sizes.repeats} interleaved repeats of {chunk * sizes.batch} images")
    train = measure_training(name, data.train_images, data.train_sums, sizes, with_assignment, device)
    engine = train.pop("engine")
    assignment = train.pop("assignment_phases")
    log(f"{name}: step breakdown")
    breakdown = {"engine": engine_phases(engine, data.train_images, data.train_sums, chunk, sizes.batch)}
    if assignment is not None:
        breakdown["assignment"] = assignment
    breakdown["adam_ms_per_step"] = adam_variants(engine.model, chunk)
    if device == "cpu" and not single_threaded():  # torch threads are a CPU question
        breakdown["thread_probe"] = thread_probe(
            engine.model,
            engine.precision,
            data.train_images,
            data.train_sums,
            max(1, chunk // 2),
            sizes.batch,
            min(3, sizes.repeats),
        )
    done = engine.step + chunk + 1
    log(f"{name}: top-up training to {sizes.agree_steps} steps, then evaluation fp32 vs auto")
    steps = top_up(engine.model, engine.precision, done, data.train_images, data.train_sums, sizes)
    ev = measure_eval(engine.model, data.val_images, data.val_sums, sizes, device)
    return {"train": train, "breakdown": breakdown, "trained_steps": steps, "eval": ev}


def single_threaded() -> bool:
    import torch

    return torch.get_num_threads() == 1


def resolve_device(name: str) -> str | None:
    """auto -> cuda when available, else cpu; cuda without CUDA -> None (the caller exits 2)."""
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        return None
    return name


def device_name(device: str) -> str:
    import torch

    if device == "cuda":
        return torch.cuda.get_device_name()
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def run(args: argparse.Namespace, log) -> dict:
    import torch

    from digitsum.data import load_data

    device = args.device
    sizes = pick_sizes(args.quick, args.images, args.repeats, device)
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    started = time.perf_counter()
    from bench.training import Schedule

    repeat_images = Schedule.of(sizes, device).chunk * sizes.batch  # on a GPU: whole windows of 16 batches
    train_size = max(repeat_images * (sizes.repeats + 1), sizes.agree_batch * 4)
    data = load_data("builtin", seed=0, train_size=train_size, val_size=sizes.eval_images, augment=False)
    result = {
        "sizes": sizes.to_dict(),
        "loadavg_start": list(os.getloadavg()),
        "device": device,
        "device_name": device_name(device),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "threads": torch.get_num_threads(),
        "data": data.description,
        "models": {},
    }
    for name in models:
        with_assignment = not (name == "sumnet" and args.no_assignment_sumnet)
        result["models"][name] = bench_model(name, data, sizes, with_assignment, device, log)
    if args.startup:
        from bench.startup import measure_startup

        log("start-up and peak RSS")
        result["startup"] = measure_startup(sizes.startup_runs)
    result["seconds"] = time.perf_counter() - started
    result["loadavg_end"] = list(os.getloadavg())
    return result


def run_single_threaded(args: argparse.Namespace, log) -> dict:
    """--quick: one torch thread, so a smoke test on a busy machine never waits at OpenMP barriers."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return run(args, log)
    finally:
        torch.set_num_threads(threads)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    device = resolve_device(args.device)
    if device is None:
        print("bench: --device cuda: no CUDA device is available here (use --device cpu or auto)", file=sys.stderr)
        return 2
    args.device = device
    err = Console(stderr=True)
    log = lambda msg: err.print(f"[dim]bench:[/] {msg}", highlight=False)  # noqa: E731
    result = run_single_threaded(args, log) if args.quick else run(args, log)
    from bench.report import to_json

    if args.save:
        with open(args.save, "w") as handle:
            json.dump(to_json(result), handle, indent=1)
    if args.json:
        print(json.dumps(to_json(result)))
    else:
        from bench.report import all_tables

        out = Console(width=max(Console().width, 150))
        out.print(all_tables(result))
        out.print(
            f"device {result['device']} ({result['device_name']}); torch {result['torch']}"
            + (f", CUDA {result['cuda']}" if result["device"] == "cuda" else "")
            + f", {result['threads']} threads; {result['data']}; "
            f"bench took {result['seconds']:.0f} s; 1-min load average "
            f"{result['loadavg_start'][0]:.1f} at start, {result['loadavg_end'][0]:.1f} at end",
            highlight=False,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
