"""`digitsum`: the headless command line. Heavy imports (torch) happen inside the commands."""

from __future__ import annotations

import json
import signal
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from digitsum.config import RunConfig
from digitsum.curves import X_AXES
from digitsum.errors import DigitsumError
from digitsum.formatting import checkpoint_metrics, metrics_line, number, verdict
from digitsum.options import run_options

XAxis = Enum("XAxis", {axis: axis for axis in X_AXES}, type=str)  # typer lists the choices in --help

app = typer.Typer(
    help="Train and inspect a CNN that reads four handwritten digits and predicts their sum.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
data_app = typer.Typer(help="Work with data files.", no_args_is_help=True)


def _show_version(value: bool) -> None:
    if value:
        from digitsum import __version__

        print(f"digitsum {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_show_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Train and inspect a CNN that reads four handwritten digits and predicts their sum."""


app.add_typer(data_app, name="data")

DataOpt = Annotated[str, typer.Option("--data", help="'builtin', a folder of data*.npy/lab*.npy, or MNIST IDX files.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")]
DeviceOpt = Annotated[str, typer.Option("--device", help="auto, cpu or cuda.")]


def _stderr():
    from rich.console import Console

    return Console(stderr=True)


@app.command()
@run_options
def run(config: RunConfig, as_json: JsonOpt = False) -> None:
    """Train a model headless; writes OUT/<run-id>/ with best.pt, last.pt, metrics.jsonl, config.json."""
    from digitsum.alerts import Alerts
    from digitsum.control import Control
    from digitsum.distributed import DistContext
    from digitsum.engine import Engine
    from digitsum.reporter import ConsoleReporter
    from digitsum.runlog import RunLog

    console = _stderr() if as_json else _stdout()
    control = Control()
    caught = _stop_on_signals(control)
    subscribers = [RunLog(), ConsoleReporter(console)]
    if config.notify == "on":
        subscribers.append(Alerts(_terminal_alert(console), config.patience))
    result = Engine(config, control=control, subscribers=subscribers).run()
    if caught:
        number = caught[0]
        console.print(
            f"interrupted: {result.last} holds epoch {result.epoch}; resume with digitsum run --resume {result.last}",
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(128 + number)
    if DistContext.from_env().is_main:  # under torchrun, rank 0 alone reports
        _print_summary(result, console, as_json)


def _terminal_alert(console):
    """A stall is a printed line; any alert rings the bell and notifies the desktop when stderr is a terminal."""
    from digitsum.alerts import notification

    def sink(alert) -> None:
        if alert.severity == "warning":
            console.print(f"[yellow]alert: {alert.body}[/]", highlight=False, soft_wrap=True)
        if sys.stderr.isatty():
            sys.stderr.write(notification(alert))
            sys.stderr.flush()

    return sink


def _stdout():
    from rich.console import Console

    return Console()


def _stop_on_signals(control) -> list[int]:
    """First SIGINT/SIGTERM asks the engine to stop after this batch; a second SIGINT aborts at once."""
    caught: list[int] = []

    def handler(signum, frame):
        if caught and signum == signal.SIGINT:
            raise KeyboardInterrupt
        caught.append(signum)
        control.stop()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, handler)
    return caught


def _print_summary(result, console, as_json: bool) -> None:
    from digitsum.charts import history_chart

    best = result.best_metrics
    if result.history and console.is_terminal:
        from rich.text import Text

        console.print(Text.from_ansi(history_chart(result.history, width=min(console.width, 120), height=18)))
    console.print(f"run folder: {result.run_dir}", highlight=False)
    if result.why:
        console.print(f"ended early: {result.why}", highlight=False, soft_wrap=True)
    if best:
        console.print(
            f"best epoch {best['epoch']}: val loss {best['val_loss']:.4f}  round acc {best['round_acc']:.2%}  "
            f"MAE {best['mae']:.4f}  -> {result.best}",
            highlight=False,
        )
    if as_json:
        print(
            json.dumps(
                {
                    "run_dir": str(result.run_dir),
                    "best": str(result.best) if result.best else None,
                    "last": str(result.last),
                    "epoch": result.epoch,
                    "ended_early": result.why or None,
                    **{k: v for k, v in best.items() if k != "epochs"},
                }
            )
        )


@app.command("eval")
def eval_(
    checkpoint: Annotated[Path, typer.Argument(help="A digitsum checkpoint (.pt).")],
    data: Annotated[
        Optional[str], typer.Option("--data", help="Data to judge on (default: the checkpoint's own).")
    ] = None,
    device: DeviceOpt = "auto",
    as_json: JsonOpt = False,
) -> None:
    """Metrics of a checkpoint: all images of an assignment folder, else the validation composites."""
    from digitsum.inference import evaluate_checkpoint

    ev = evaluate_checkpoint(checkpoint, data, device)
    if as_json:
        print(json.dumps(ev.summary()))
        return
    m = ev.metrics
    print(f"{checkpoint} on {ev.data}")
    print(metrics_line(m, len(ev.targets)))


@app.command()
def predict(
    checkpoint: Annotated[Path, typer.Argument(help="A digitsum checkpoint (.pt).")],
    data: Annotated[
        Optional[str], typer.Option("--data", help="Data to predict on (default: the checkpoint's own).")
    ] = None,
    count: Annotated[int, typer.Option(min=1, help="How many images.")] = 8,
    image: Annotated[
        Optional[list[Path]],
        typer.Option(
            "--image",
            metavar="FILE",
            help="Your own image file (PNG, JPEG, ...) instead of --data; repeat for several.",
        ),
    ] = None,
    device: DeviceOpt = "auto",
    unicode: Annotated[bool, typer.Option(help="Draw images with Unicode half-blocks instead of ASCII.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Predicted sums, each image drawn as text with its prediction, target and the model's reading of each digit."""
    rows, images = (
        _predict_files(checkpoint, image, device) if image else _predict_data(checkpoint, data, count, device)
    )
    if as_json:
        print(json.dumps([{k: v for k, v in row.items() if k != "reading_text"} for row in rows]))
        return
    from rich.console import Console
    from rich.markup import escape

    from digitsum.textimage import ascii_lines, halfblock_text

    console = Console(highlight=False)
    width = max(20, min(84, console.width))
    for row, picture in zip(rows, images):
        console.print(_prediction_header(row), soft_wrap=True)
        if unicode:
            console.print(halfblock_text(picture, width))
        else:
            console.print("\n".join(ascii_lines(picture, width)), markup=False)
        if "reading_text" in row:
            console.print(f"reading: {escape(row['reading_text'])}", soft_wrap=True)


def _predict_data(checkpoint: Path, data: Optional[str], count: int, device: str):
    """Rows for the first `count` images of a data set, with their targets (and true digits where known)."""
    from digitsum.inference import evaluate_checkpoint

    ev = evaluate_checkpoint(checkpoint, data, device, limit=count)
    readings = ev.readings(range(len(ev.targets)))
    rows = []
    for i, (p, t, reading) in enumerate(zip(ev.predictions, ev.targets, readings)):
        truth = ev.true_digits(i)
        row = {
            "index": i,
            "prediction": float(p),
            "target": int(t),
            **_reading_fields(reading, verdict(p, t)[0], truth),
        }
        if truth is not None:
            row["true_digits"] = truth
        rows.append(row)
    return rows, ev.images


def _predict_files(checkpoint: Path, files: list[Path], device: str):
    """Rows for the user's own images, each made into a composite first (see digitsum.images)."""
    import numpy as np

    from digitsum.images import load_image_as_composite
    from digitsum.inference import Predictor

    images = np.stack([load_image_as_composite(path) for path in files])
    predictor = Predictor.load(checkpoint, device)
    readings = predictor.read(images)
    rows = []
    for path, p, reading in zip(files, predictor.predict(images), readings):
        rows.append({"file": str(path), "prediction": float(p), **_reading_fields(reading, round(float(p)))})
    return rows, images


def _reading_fields(reading, rounded: int, truth: Optional[list[int]] = None) -> dict:
    """A row's `digits` (the four parts) and the reading's line, or nothing for a model without a reading."""
    from digitsum.formatting import reading_text

    if reading is None:
        return {}
    return {"digits": list(reading.parts), "reading_text": reading_text(reading, rounded, truth)}


def _prediction_header(row: dict) -> str:
    """`#3  predicted 15.00 -> 15  true 17  error -2.00` (red when wrong); a file's row names the file."""
    from rich.markup import escape

    if "file" in row:
        return (
            f"[bold]{escape(row['file'])}[/]  predicted {row['prediction']:.2f} -> [bold]{round(row['prediction'])}[/]"
        )
    rounded, ok = verdict(row["prediction"], row["target"])
    colour = "green" if ok else "red"
    return (
        f"[bold]#{row['index']}[/]  predicted {row['prediction']:.2f} -> [{colour}]{rounded}[/]  "
        f"true {row['target']}  error {row['prediction'] - row['target']:+.2f}"
    )


@app.command()
def checkpoints(
    folder: Annotated[Path, typer.Argument(help="Folder to search for .pt files.")] = Path("checkpoints"),
    as_json: JsonOpt = False,
) -> None:
    """List saved checkpoints with their epoch and validation metrics."""
    from digitsum.checkpoints import list_checkpoints

    rows = list_checkpoints(folder)
    if as_json:
        print(json.dumps([r.to_dict() for r in rows]))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("run", "kind", "file", "model", "epoch", "val loss", "round", "MAE", title=str(folder))
    for r in rows:  # run id, kind and file name: at 80 columns a truncated absolute path tells nothing apart
        path = Path(r.path)
        table.add_row(path.parent.name, r.kind, path.name, *checkpoint_metrics(r))
    Console().print(table)


@data_app.command("export")
def data_export(
    out_dir: Annotated[Path, typer.Argument(help="Folder to write data0.npy/lab0.npy ... into.")],
    count: Annotated[int, typer.Option(min=1, help="Number of composites.")] = 30_000,
    seed: Annotated[int, typer.Option(help="Seed of the composites.")] = 0,
    pool: Annotated[str, typer.Option(help="Builtin digits to draw from: train, val or all.")] = "all",
    per_file: Annotated[int, typer.Option(min=1, help="Images per dataK.npy file.")] = 10_000,
) -> None:
    """Write builtin composites in the assignment's format: uint8 (N,40,168) images, int64 sums."""
    from digitsum.export import export_assignment_files

    for path in export_assignment_files(out_dir, count=count, seed=seed, pool=pool, per_file=per_file):
        print(path)


@app.command()
def report(
    run_dir: Annotated[Path, typer.Argument(help="A run folder (OUT/<run-id>).")],
    out: Annotated[Optional[Path], typer.Option(help="Where to write the files (default: the run folder).")] = None,
    count: Annotated[int, typer.Option(min=1, help="Images in inference.png.")] = 24,
    log_y: Annotated[
        bool,
        typer.Option("--log-y/--linear-y", help="Log or linear y for losses and MAE (log: epoch 1 stays readable)."),
    ] = True,
    smooth: Annotated[
        float, typer.Option(min=0.0, max=0.999, help="Debiased EMA weight of the curves (0: as measured).")
    ] = 0.0,
    x: Annotated[XAxis, typer.Option("--x", help="The x axis: epoch, optimizer step, or minutes of training.")] = (
        XAxis.epoch
    ),
    ignore_outliers: Annotated[
        bool, typer.Option("--ignore-outliers", help="Fit the y range to the epochs after the first.")
    ] = False,
) -> None:
    """The report's figures as files: history.png, inference.png (best.pt on validation), history.csv."""
    from digitsum.curves import ChartView
    from digitsum.figures import write_report

    view = ChartView(log_y=log_y, smoothing=smooth, x_axis=x.value, fit=ignore_outliers)
    for path in write_report(run_dir, out, count, view):
        print(path)


@app.command()
def compare(
    run_dirs: Annotated[list[Path], typer.Argument(help="Two or more run folders.")],
    as_json: JsonOpt = False,
) -> None:
    """Best metrics, config differences and overlaid validation curves of several runs."""
    from digitsum.compare import comparison, load_run, overlay_chart

    runs = [load_run(path) for path in run_dirs]
    result = comparison(runs)
    if as_json:
        print(json.dumps(result))
        return
    from rich.console import Console
    from rich.table import Table

    console = Console(highlight=False)
    table = Table("run", "epochs", "best epoch", "val loss", "round acc", "MAE")
    for row in result["runs"]:
        b = row["best"]
        table.add_row(
            row["run"],
            str(row["epochs"]),
            str(b.get("epoch", "-")),
            number(b.get("val_loss"), ".4f"),
            number(b.get("round_acc"), ".1%"),
            number(b.get("mae"), ".3f"),
        )
    console.print(table)
    diffs = result["config_differences"]
    if diffs:
        diff_table = Table("setting", *[r.name for r in runs], title="config differences")
        for key, values in diffs.items():
            diff_table.add_row(key, *[f"[yellow]{v}[/]" for v in values])
        console.print(diff_table)
    from rich.text import Text

    width = min(console.width, 120)
    for key in ("val_loss", "round_acc", "mae"):
        console.print(Text.from_ansi(overlay_chart(runs, key, width=width)))


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def tui(ctx: typer.Context) -> None:
    """Open the Textual monitor (same options as `run`, plus --attach RUN_DIR and --browse)."""
    from tui.app import main as tui_main

    raise typer.Exit(tui_main(list(ctx.args)) or 0)


def main(argv: list[str] | None = None) -> int:
    """Entry point: user errors become one line on stderr and their exit code, never a traceback."""
    try:  # typer >= 0.2x vendors its own click, whose exceptions are not the click package's
        from typer._click import exceptions as click_exceptions
    except ImportError:
        from click import exceptions as click_exceptions

    try:
        code = app(args=argv, prog_name="digitsum", standalone_mode=False)  # typer.Exit(n) comes back as n here
    except DigitsumError as exc:
        print(f"digitsum: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except typer.Exit as exc:
        return exc.exit_code
    except click_exceptions.ClickException as exc:
        exc.show()
        return exc.exit_code
    except (typer.Abort, KeyboardInterrupt):
        print("digitsum: interrupted", file=sys.stderr)
        return 130
    return code if isinstance(code, int) else 0


if __name__ == "__main__":
    sys.exit(main())
