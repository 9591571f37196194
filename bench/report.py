"""Rich tables for the terminal; the JSON form is the same dict with objects left out."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table


def training_table(models: dict, device: str = "cpu") -> Table:
    table = Table(
        title=f"Training throughput on {device} (images/s, median of interleaved repeats; "
        "ratios = median of paired repeats)"
    )
    for column in ("model", "variant", "images/s", "min–max", "× (a)", "× (b)", "× (d)"):
        table.add_column(column, justify="left" if column in ("model", "variant") else "right")
    for name, result in models.items():
        train = result["train"]
        ratios = train["ratios"]
        for label, v in train["variants"].items():
            way = label[0]
            vs = [_ratio(ratios.get(f"{way}/{base}")) or ("1.00" if way == base else "") for base in "abd"]
            table.add_row(name, label, f"{v['images_per_s']:.1f}", f"{v['min']:.0f}–{v['max']:.0f}", *vs)
        table.add_row(
            name,
            f"  on {train.get('device', device)}: (c) {train['precision']}; "
            f"(a), (b), (d) {train.get('baseline_precision', 'fp32')}",
            "",
            "",
            "",
            "",
            "",
            end_section=True,
        )
    return table


def _ratio(r: dict | None) -> str:
    if not r:
        return ""
    return f"{r['median']:.2f} ({r['min']:.2f}–{r['max']:.2f})"


def eval_table(models: dict, device: str = "cpu") -> Table:
    table = Table(title=f"Evaluation throughput on {device} (digitsum.engine.evaluate, images/s)")
    for column in ("model", "fp32", "auto", "auto precision", "auto / fp32"):
        table.add_column(column, justify="left" if column == "model" else "right")
    for name, result in models.items():
        ev = result["eval"]
        table.add_row(
            name,
            f"{ev['images_per_s']['fp32']:.0f}",
            f"{ev['images_per_s']['auto']:.0f}",
            ev["auto_precision"],
            f"{ev['ratio_auto_over_fp32']:.2f} ({ev['ratio_min']:.2f}–{ev['ratio_max']:.2f})",
        )
    return table


def agreement_table(models: dict) -> Table:
    table = Table(title="Mixed precision: same trained model, fp32 vs auto (bf16 autocast) predictions")
    for column in (
        "model",
        "steps",
        "n",
        "pred std",
        "max |Δ|",
        "mean |Δ|",
        "round() agree",
        "round acc fp32 / bf16",
        "MAE fp32 / bf16",
    ):
        table.add_column(column, justify="left" if column == "model" else "right")
    for name, result in models.items():
        ag = result["eval"]["agreement"]
        table.add_row(
            name,
            str(result["trained_steps"]),
            str(ag["n"]),
            f"{ag['prediction_std_fp32']:.2f}",
            f"{ag['max_abs_diff']:.4f}",
            f"{ag['mean_abs_diff']:.4f}",
            f"{ag['round_agree']:.2%}",
            f"{ag['fp32']['round_acc']:.2%} / {ag['auto']['round_acc']:.2%}",
            f"{ag['fp32']['mae']:.4f} / {ag['auto']['mae']:.4f}",
        )
    return table


def breakdown_table(models: dict, device: str = "cpu") -> Table:
    synced = "; on a GPU each phase is synchronized" if device.startswith("cuda") else ""
    table = Table(title=f"Where a training batch goes on {device} (phases timed over the same batches{synced})")
    for column in ("model", "path", "ms / batch", "share of the batch (ms)"):
        table.add_column(column, justify="right" if column == "ms / batch" else "left")
    for name, result in models.items():
        paths = [("engine (c)", result["breakdown"]["engine"])]
        if result["breakdown"].get("assignment"):
            paths.append(("assignment (a)", result["breakdown"]["assignment"]))
        for i, (path, phases) in enumerate(paths):
            ms = phases["ms_per_batch"]
            shares = ", ".join(f"{k} {phases['share'][k]:.0%} ({v:.1f})" for k, v in ms.items())
            table.add_row(
                name,
                f"{path}, batch {phases['batch_size']}",
                f"{sum(ms.values()):.1f}",
                shares,
                end_section=i == len(paths) - 1 and "adam_ms_per_step" not in result["breakdown"],
            )
        adam = result["breakdown"].get("adam_ms_per_step")
        if adam:
            base = adam.get("default")
            cells = ", ".join(
                f"{k} {v:.1f} ms" + (f" (×{base / v:.1f})" if base and v else "") for k, v in adam.items()
            )
            table.add_row(
                name,
                "AdamW step alone (× vs default)",
                f"{adam.get('fused (engine)', base or 0):.1f}",
                cells,
                end_section="thread_probe" not in result["breakdown"],
            )
        probe = result["breakdown"].get("thread_probe")
        if probe:
            table.add_row(
                name,
                "engine step, torch threads",
                "",
                f"1 thread {probe['images_per_s_1_thread']:.0f} img/s vs {probe['threads']} threads "
                f"{probe['images_per_s_default']:.0f} img/s: ×{probe['ratio_1_over_default']:.2f}",
                end_section=True,
            )
    return table


def startup_table(startup: dict) -> Table:
    table = Table(title=f"Start-up and memory (CLI: {startup['command']})")
    for column in ("what", "median", "min–max"):
        table.add_column(column, justify="left" if column == "what" else "right")
    for what in ("python -c pass", "python -c 'import digitsum.cli'", "digitsum --help"):
        t = startup[what]
        table.add_row(
            f"{what} (wall, {t['runs']} runs)", f"{t['median_s']:.3f} s", f"{t['min_s']:.3f}–{t['max_s']:.3f} s"
        )
    table.add_row("digitsum --help peak RSS", f"{startup['digitsum --help peak RSS MiB']:.0f} MiB", "")
    table.add_row(
        "python -c 'import torch' peak RSS (floor of any run)", f"{startup['import torch peak RSS MiB']:.0f} MiB", ""
    )
    run = startup["short run"]
    table.add_row(
        f"{run['args']} peak RSS",
        f"{run['peak_rss_mib']:.0f} MiB",
        f"wall {run['wall_s']:.1f} s, exit {run['exit_code']}",
    )
    return table


def all_tables(result: dict) -> Group:
    models = result["models"]
    device = result.get("device", "cpu")
    if result.get("device_name"):
        device = f"{device} ({result['device_name']})"
    parts = [training_table(models, device)]
    if any("eval" in r for r in models.values()):
        parts += [eval_table(models, device), agreement_table(models)]
    if any("breakdown" in r for r in models.values()):
        parts.append(breakdown_table(models, device))
    if "startup" in result:
        parts.append(startup_table(result["startup"]))
    return Group(*parts)


def to_json(value):
    """Drop live objects (the engine, the pipelines) so the result is one JSON object."""
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items() if _plain(v)}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    return value


def _plain(value) -> bool:
    return value is None or isinstance(value, (dict, list, tuple, str, int, float, bool))
