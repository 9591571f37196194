"""Issue 4, item 4: every bad input is ONE clear line naming the file and the problem, exit 2,
no traceback, nothing written (no run folder in --out) and nothing executed.

Every case runs in-process through `digitsum.cli.main` (the console script's own entry point);
a representative subset also runs as real `python -m digitsum` subprocesses (started together).
"""

from __future__ import annotations

import errno
import gzip
import os
import struct
from pathlib import Path

import numpy as np
import pytest
from faultkit import (
    TINY,
    assert_one_line_error,
    good_images,
    good_labels,
    read_events,
    run_cli,
    snapshot,
    temp_leftovers,
    write_assignment,
    write_checkpoint,
    write_hostile_checkpoint,
)


def _run(tmp: Path, data, *extra):
    return ["run", "--data", data, "--model", "seed", "--epochs", "1", *TINY, "--out", tmp / "out", *extra]


def _data_case(make):
    """A case whose --data folder `tmp/data` is built by make(folder); returns (argv, needles)."""

    def build(tmp: Path):
        folder = tmp / "data"
        needles = make(folder)
        return _run(tmp, folder), [n.replace("{D}", str(folder)) for n in needles]

    return build


def _truncate(path: Path, keep: float = 0.5) -> None:
    raw = path.read_bytes()
    path.write_bytes(raw[: int(len(raw) * keep)])


def _idx_bytes(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(struct.pack(">I", d) for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


# --- the --data cases ------------------------------------------------------------------------
def d_missing(f):
    return ["{D}", "no such data folder"]


def d_is_file(f):
    f.write_text("not a folder")
    return ["{D}", "found a file"]


def d_empty(f):
    f.mkdir()
    return ["{D}", "empty folder"]


def d_unrelated(f):
    f.mkdir()
    (f / "notes.txt").write_text("hi")
    return ["{D}", "notes.txt", "expected data*.npy"]


def d_data_without_lab(f):
    write_assignment(f, good_images(), None)
    return ["data0.npy", "no matching lab0.npy"]


def d_second_pair_incomplete(f):
    write_assignment(f, good_images(), good_labels())
    write_assignment(f, good_images(), None, k=1)
    return ["data1.npy", "no matching lab1.npy"]


def d_lab_without_data(f):
    write_assignment(f, None, good_labels())
    return ["{D}", "no data*.npy files"]


def d_shape_28(f):
    write_assignment(f, np.zeros((12, 28, 28), np.uint8), good_labels())
    return ["data0.npy", "(N,40,168)", "(12, 28, 28)"]


def d_shape_flat(f):
    write_assignment(f, np.zeros((12, 40 * 168), np.uint8), good_labels())
    return ["data0.npy", "(12, 6720)"]


def d_dtype_str(f):
    write_assignment(f, np.full((12, 40, 168), "7", dtype="<U1"), good_labels())
    return ["data0.npy", "dtype <U1"]


def d_dtype_complex(f):
    write_assignment(f, good_images().astype(np.complex64), good_labels())
    return ["data0.npy", "complex64"]


def d_dtype_object(f):
    arr = np.empty((12, 40, 168), dtype=object)
    arr[...] = 1
    write_assignment(f, arr, good_labels())
    return ["data0.npy", "Python objects"]


def d_nan_pixels(f):
    imgs = good_images().astype(np.float32) / 255
    imgs[3, 5, 7] = np.nan
    write_assignment(f, imgs, good_labels())
    return ["data0.npy", "NaN"]


def d_inf_pixels(f):
    imgs = good_images().astype(np.float64)
    imgs[0, 0, 0] = np.inf
    write_assignment(f, imgs, good_labels())
    return ["data0.npy", "infinite"]


def d_pixels_out_of_range(f):
    imgs = good_images().astype(np.int16)
    imgs[0, 0, 0] = -4
    write_assignment(f, imgs, good_labels())
    return ["data0.npy", "0-255", "-4"]


def d_label_count(f):
    write_assignment(f, good_images(12), good_labels(11))
    return ["lab0.npy", "11 labels for 12 images"]


def d_label_too_big(f):
    labels = good_labels()
    labels[4] = 37
    write_assignment(f, good_images(), labels)
    return ["lab0.npy", "0-36", "37"]


def d_label_negative(f):
    labels = good_labels()
    labels[0] = -1
    write_assignment(f, good_images(), labels)
    return ["lab0.npy", "0-36", "-1"]


def d_label_fraction(f):
    write_assignment(f, good_images(), good_labels().astype(np.float32) + 0.5)
    return ["lab0.npy", "whole numbers"]


def d_label_nan(f):
    labels = good_labels().astype(np.float64)
    labels[2] = np.nan
    write_assignment(f, good_images(), labels)
    return ["lab0.npy", "whole numbers"]


def d_label_strings(f):
    write_assignment(f, good_images(), np.array(["3"] * 12))
    return ["lab0.npy", "dtype <U1"]


def d_label_shape(f):
    write_assignment(f, good_images(), np.zeros((12, 4), np.int64))
    return ["lab0.npy", "(12, 4)"]


def d_truncated_data(f):
    write_assignment(f, good_images(), good_labels())
    _truncate(f / "data0.npy")
    return ["data0.npy", "not a readable .npy"]


def d_truncated_lab(f):
    write_assignment(f, good_images(), good_labels())
    _truncate(f / "lab0.npy", 0.9)
    return ["lab0.npy", "not a readable .npy"]


def d_garbage_npy(f):
    write_assignment(f, None, good_labels())
    (f / "data0.npy").write_bytes(os.urandom(4096))
    return ["data0.npy", "not a readable .npy", "no .npy header"]


def d_empty_npy_file(f):
    write_assignment(f, None, good_labels())
    (f / "data0.npy").write_bytes(b"")
    return ["data0.npy"]


def d_zero_images(f):
    write_assignment(f, np.zeros((0, 40, 168), np.uint8), np.zeros(0, np.int64))
    return ["{D}", "no images"]


def d_one_image(f):
    write_assignment(f, good_images(1), good_labels(1))
    return ["{D}", "at least 2 images"]


def d_idx_without_labels(f):
    f.mkdir()
    (f / "train-images-idx3-ubyte").write_bytes(_idx_bytes(np.zeros((5, 28, 28))))
    return ["{D}", "labels file"]


def d_idx_bad_magic(f):
    f.mkdir()
    (f / "train-images-idx3-ubyte").write_bytes(b"\x12\x34" + os.urandom(100))
    (f / "train-labels-idx1-ubyte").write_bytes(_idx_bytes(np.zeros(5)))
    return ["train-images-idx3-ubyte", "bad magic"]


def d_idx_truncated(f):
    f.mkdir()
    (f / "train-images-idx3-ubyte").write_bytes(_idx_bytes(np.zeros((5, 28, 28)))[:-100])
    (f / "train-labels-idx1-ubyte").write_bytes(_idx_bytes(np.zeros(5)))
    return ["train-images-idx3-ubyte", "bytes of data"]


def d_idx_bad_gzip(f):
    f.mkdir()
    (f / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(_idx_bytes(np.zeros((5, 28, 28))))[:40])
    (f / "train-labels-idx1-ubyte").write_bytes(_idx_bytes(np.zeros(5)))
    return ["train-images-idx3-ubyte.gz", "cannot read IDX"]


def d_idx_label_count(f):
    f.mkdir()
    (f / "train-images-idx3-ubyte").write_bytes(_idx_bytes(np.zeros((5, 28, 28))))
    (f / "train-labels-idx1-ubyte").write_bytes(_idx_bytes(np.zeros(4)))
    return ["train-labels-idx1-ubyte", "expected 5 labels"]


def d_batch_larger_than_data(f):
    write_assignment(f, good_images(12), good_labels(12))  # 10 train / 2 val, batch 32
    return ["--batch-size 32", "10 training images"]


DATA_CASES = {name[2:]: _data_case(fn) for name, fn in dict(globals()).items() if name.startswith("d_")}


# --- checkpoint cases: (command, argv) -------------------------------------------------------
def _ck(make, commands=("eval", "resume")):
    def build(tmp: Path, command: str):
        path = tmp / "ck" / "model.pt"
        path.parent.mkdir(parents=True, exist_ok=True)
        needles = make(path, tmp)
        if command == "eval":
            argv = ["eval", path, "--device", "cpu"]
        elif command == "predict":
            argv = ["predict", path, "--count", "2", "--device", "cpu"]
        else:
            argv = ["run", "--resume", path, "--epochs", "3", "--device", "cpu", "--out", tmp / "out"]
        return argv, [n.replace("{P}", str(path)) for n in needles]

    build.commands = commands
    return build


def c_missing(p, tmp):
    return ["{P}", "no such checkpoint"]


def c_folder(p, tmp):
    p.mkdir()
    return ["{P}", "found a folder"]


def c_truncated(p, tmp):
    write_checkpoint(p)
    _truncate(p)
    return ["{P}", "not a readable checkpoint"]


def c_random_bytes(p, tmp):
    p.write_bytes(np.random.default_rng(1).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    return ["{P}", "not a readable checkpoint"]


def c_empty_file(p, tmp):
    p.write_bytes(b"")
    return ["{P}", "not a readable checkpoint"]


def c_text_file(p, tmp):
    p.write_text("hello, I am not a checkpoint\n")
    return ["{P}", "not a readable checkpoint"]


def c_state_dict(p, tmp):
    import torch

    from digitsum.models import build_model

    torch.save(build_model("seed").state_dict(), p)
    return ["{P}", "not a digitsum checkpoint"]


def c_whole_module(p, tmp):
    """torch.save(model): a pickled nn.Module, refused by weights_only loading."""
    import torch

    from digitsum.models import build_model

    torch.save(build_model("seed"), p)
    return ["{P}", "refused to load"]


def c_unknown_model(p, tmp):
    write_checkpoint(p, model={"name": "resnet9000", "kwargs": {}})
    return ["{P}", "unknown model 'resnet9000'"]


def c_bad_model_kwargs(p, tmp):
    write_checkpoint(p, model={"name": "seed", "kwargs": {"wings": 2}})
    return ["{P}", "'seed'", "does not take"]


def c_bad_model_kwarg_value(p, tmp):
    write_checkpoint(p, model={"name": "seed", "kwargs": {"height": -8}})
    return ["{P}", "cannot build model 'seed'"]


def c_model_not_a_dict(p, tmp):
    write_checkpoint(p, model="seed")
    return ["{P}", "no model name"]


def c_newer_version(p, tmp):
    import torch

    payload = {
        "format": "digitsum-checkpoint",
        "version": 99,
        "model": {"name": "seed", "kwargs": {}},
        "state_dict": {},
        "epoch": 0,
    }
    torch.save(payload, p)
    return ["{P}", "version 99", "newer"]


def c_lacks_state_dict(p, tmp):
    import torch

    torch.save({"format": "digitsum-checkpoint", "version": 1, "model": {"name": "seed"}, "epoch": 0}, p)
    return ["{P}", "lacks 'state_dict'"]


def c_weights_do_not_fit(p, tmp):
    write_checkpoint(p, model={"name": "sumnet", "kwargs": {}})  # seed weights labelled as sumnet
    return ["{P}", "weights do not fit", "sumnet"]


def c_data_gone(p, tmp):
    write_checkpoint(
        p,
        data={"spec": str(tmp / "gone"), "description": "x", "train_size": 8, "val_size": 8},
        config={"model": "seed", "data": str(tmp / "gone"), "train_size": 8, "val_size": 8},
    )
    return [str(tmp / "gone"), "no such data folder"]


CKPT_CASES = {name[2:]: _ck(fn) for name, fn in dict(globals()).items() if name.startswith("c_")}
CKPT_PARAMS = [
    pytest.param(name, cmd, id=f"{cmd}-{name}") for name, build in CKPT_CASES.items() for cmd in build.commands
]
CKPT_PARAMS += [pytest.param(name, "predict", id=f"predict-{name}") for name in ("missing", "truncated", "data_gone")]


# --- option cases ------------------------------------------------------------------------------
def _opt(*extra, needles, data="builtin"):
    def build(tmp: Path):
        argv = ["run", "--data", data, "--model", "seed", *TINY, "--epochs", "1", "--out", tmp / "out"]
        return argv + [str(e) for e in extra], needles

    return build


OPTION_CASES = {
    "epochs-0": _opt("--epochs", 0, needles=["--epochs", "at least 1", "0"]),
    "epochs-negative": _opt("--epochs", -3, needles=["--epochs", "-3"]),
    "batch-size-0": _opt("--batch-size", 0, needles=["--batch-size", "at least 1"]),
    "train-size-negative": _opt("--train-size", -5, needles=["--train-size", "positive", "-5"]),
    "val-size-0": _opt("--val-size", 0, needles=["--val-size", "positive"]),
    "lr-0": _opt("--lr", 0, needles=["--lr", "positive"]),
    "lr-nan": _opt("--lr", "nan", needles=["--lr", "positive", "nan"]),
    "device-bogus": _opt("--device", "tpu", needles=["--device", "'tpu'"]),
    "precision-bogus": _opt("--precision", "fp8", needles=["--precision", "'fp8'"]),
    "model-unknown": _opt("--model", "resnet9000", needles=["unknown model 'resnet9000'"]),
    "batch-larger-than-builtin": _opt(
        "--train-size", 16, "--batch-size", 32, needles=["--batch-size 32", "16 training images"]
    ),
}


# --- the tests --------------------------------------------------------------------------------
def _assert_nothing_written(tmp: Path, before: dict) -> None:
    assert not (tmp / "out").exists(), f"a run folder was created: {snapshot(tmp / 'out')}"
    after = snapshot(tmp)
    assert after == before, {k: after.get(k) for k in set(after) ^ set(before)}


@pytest.mark.parametrize("case", sorted(DATA_CASES))
def test_bad_data(case, cli, tmp_path):
    argv, needles = DATA_CASES[case](tmp_path)
    before = snapshot(tmp_path)
    res = cli(*argv)
    assert res.code == 2, (res.code, res.err)
    assert_one_line_error(res.err, *needles)
    _assert_nothing_written(tmp_path, before)


# batch size and the train/val split are training-only checks: eval takes all images of a folder
@pytest.mark.parametrize("case", sorted(set(DATA_CASES) - {"batch_larger_than_data", "one_image"}))
def test_bad_data_eval(case, cli, tmp_path):
    """The same folders given to `eval` (a valid checkpoint, bad --data): same one line, exit 2."""
    argv, needles = DATA_CASES[case](tmp_path)
    folder = argv[argv.index("--data") + 1]
    ckpt = write_checkpoint(tmp_path / "ck" / "ok.pt")
    before = snapshot(tmp_path)
    res = cli("eval", ckpt, "--data", folder, "--device", "cpu")
    assert res.code == 2, (res.code, res.err)
    assert_one_line_error(res.err, *needles)
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("case,command", CKPT_PARAMS)
def test_bad_checkpoint(case, command, cli, tmp_path):
    argv, needles = CKPT_CASES[case](tmp_path, command)
    before = snapshot(tmp_path)
    res = cli(*argv)
    assert res.code == 2, (res.code, res.out, res.err)
    assert_one_line_error(res.err, *needles)
    _assert_nothing_written(tmp_path, before)


@pytest.mark.parametrize("case", sorted(OPTION_CASES))
def test_bad_option(case, cli, tmp_path):
    argv, needles = OPTION_CASES[case](tmp_path)
    before = snapshot(tmp_path)
    res = cli(*argv)
    assert res.code == 2, (res.code, res.err)
    assert_one_line_error(res.err, *needles)
    _assert_nothing_written(tmp_path, before)


@pytest.mark.parametrize("command", ["eval", "resume", "predict", "checkpoints"])
@pytest.mark.parametrize("raw", [False, True], ids=["torch-zip", "raw-pickle"])
def test_hostile_pickle_never_runs(command, raw, cli, tmp_path):
    """A checkpoint whose pickle would run code: refused, the code's side effect never happens."""
    marker = tmp_path / "PWNED"
    path = write_hostile_checkpoint(tmp_path / "runs" / "r1" / "last.pt", marker, raw_pickle=raw)
    argv = {
        "eval": ["eval", path, "--device", "cpu"],
        "predict": ["predict", path, "--device", "cpu"],
        "resume": ["run", "--resume", path, "--epochs", "2", "--device", "cpu", "--out", tmp_path / "out"],
        "checkpoints": ["checkpoints", tmp_path / "runs", "--json"],
    }[command]
    res = cli(*argv)
    assert not marker.exists(), "the hostile pickle ran code"
    if command == "checkpoints":  # unreadable files are skipped from the listing
        assert res.code == 0 and res.out.strip() == "[]", res
        return
    assert res.code == 2, (res.code, res.err)
    assert_one_line_error(res.err, str(path), "refused to load")
    assert not (tmp_path / "out").exists()


def test_hostile_fixture_really_runs_code_on_an_unsafe_load(tmp_path):
    """Proves the hostile file is a real threat: a plain (unsafe) load would create the marker."""
    import torch

    marker = tmp_path / "PWNED-control"
    path = write_hostile_checkpoint(tmp_path / "h.pt", marker)
    torch.load(path, weights_only=False)
    assert marker.read_text() == "pwned"


@pytest.mark.parametrize("command", ["eval", "predict"])
def test_missing_data_folder_for_inference(command, cli, tmp_path):
    ckpt = write_checkpoint(tmp_path / "ck" / "ok.pt")
    res = cli(command, ckpt, "--data", tmp_path / "nowhere", "--device", "cpu")
    assert res.code == 2
    assert_one_line_error(res.err, str(tmp_path / "nowhere"), "no such data folder")


@pytest.mark.parametrize("target", ["missing", "file"])
def test_checkpoints_command_bad_folder(target, cli, tmp_path):
    folder = tmp_path / "nowhere"
    if target == "file":
        folder.write_text("x")
    res = cli("checkpoints", folder)
    assert res.code == 2
    assert_one_line_error(res.err, str(folder), "checkpoint folder")


def test_checkpoints_command_skips_corrupt_files(cli, tmp_path):
    good = write_checkpoint(tmp_path / "runs" / "a" / "best.pt")
    (tmp_path / "runs" / "a" / "junk.pt").write_bytes(b"\x00garbage")
    write_checkpoint(tmp_path / "runs" / "a" / "odd.pt", model="seed")
    res = cli("checkpoints", tmp_path / "runs", "--json")
    assert res.code == 0, res.err
    assert "Traceback" not in res.err
    import json

    assert [row["path"] for row in json.loads(res.out)] == [str(good)]


def test_out_under_a_file(cli, tmp_path):
    """An output folder that cannot be created (its parent is a regular file; chmod is moot as root)."""
    blocker = tmp_path / "somefile"
    blocker.write_text("I am a file")
    out = blocker / "sub"
    res = cli("run", "--model", "seed", *TINY, "--epochs", "1", "--out", out)
    assert res.code == 2, res.err
    assert_one_line_error(res.err, str(out), "cannot create output folder")


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
def test_out_read_only(cli, tmp_path):
    out = tmp_path / "ro"
    out.mkdir()
    out.chmod(0o555)
    try:
        res = cli("run", "--model", "seed", *TINY, "--epochs", "1", "--out", out)
    finally:
        out.chmod(0o755)
    assert res.code == 2
    assert_one_line_error(res.err, str(out), "not writable")
    assert list(out.iterdir()) == []


@pytest.mark.parametrize("where", ["torch.save", "os.replace"])
def test_disk_full(where, cli, tmp_path, monkeypatch):
    """ENOSPC while writing the first checkpoint: one line naming the file, no temp file left behind.

    The run had started (its `start` line is written), so this is a failed run (exit 1), not bad input,
    and its log ends with the one `error` line that says why."""
    import torch

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    if where == "torch.save":
        monkeypatch.setattr(torch, "save", full)
    else:
        monkeypatch.setattr(os, "replace", full)
    res = cli("run", "--model", "seed", *TINY, "--epochs", "1", "--out", tmp_path / "out")
    assert res.code == 1, (res.code, res.err)
    run_dir = next((tmp_path / "out").iterdir())
    assert_one_line_error(res.err, str(run_dir / "last.pt"), "No space left on device")
    events = read_events(run_dir / "metrics.jsonl")
    assert [e["event"] for e in events] == ["start", "error"]
    assert "No space left on device" in events[-1]["message"]
    assert temp_leftovers(run_dir) == []
    assert not (run_dir / "last.pt").exists()


# --- the same through real subprocesses (console entry point, fresh interpreter) ---------------
# Started together by one module fixture (each pays the torch import; on 2 cores they overlap).
def _hostile(command):
    def build(tmp: Path):
        path = write_hostile_checkpoint(tmp / "r" / "last.pt", tmp / "PWNED")
        if command == "eval":
            return ["eval", path, "--device", "cpu"], [str(path), "refused to load"]
        return ["run", "--resume", path, "--epochs", "2", "--device", "cpu", "--out", tmp / "out"], [
            str(path),
            "refused to load",
        ]

    return build


SUBPROCESS_CASES = {
    "missing-data-folder": lambda tmp: DATA_CASES["missing"](tmp),
    "truncated-npy": lambda tmp: DATA_CASES["truncated_data"](tmp),
    "truncated-checkpoint-eval": lambda tmp: CKPT_CASES["truncated"](tmp, "eval"),
    "hostile-pickle-eval": _hostile("eval"),
    "hostile-pickle-resume": _hostile("resume"),
    "epochs-0": lambda tmp: OPTION_CASES["epochs-0"](tmp),
}


@pytest.fixture(scope="module")
def subprocess_results(tmp_path_factory):
    from faultkit import start_cli

    started = {}
    for name, build in SUBPROCESS_CASES.items():
        tmp = tmp_path_factory.mktemp(name)
        argv, needles = build(tmp)
        started[name] = (tmp, needles, snapshot(tmp), start_cli(*argv, cwd=tmp))
    results = {}
    for name, (tmp, needles, before, proc) in started.items():
        out, err = proc.communicate(timeout=300)
        results[name] = (tmp, needles, before, proc.returncode, out, err)
    return results


@pytest.mark.parametrize("case", sorted(SUBPROCESS_CASES))
def test_subprocess_bad_inputs(case, subprocess_results):
    tmp, needles, before, code, out, err = subprocess_results[case]
    assert not (tmp / "PWNED").exists(), "the hostile pickle ran code"
    assert code == 2, (code, err)
    assert_one_line_error(err, *needles)
    assert out == ""
    _assert_nothing_written(tmp, before)


def test_subprocess_usage_error_is_not_a_traceback(tmp_path):
    """Options typer itself rejects: its usage message and exit 2, never a traceback (typer vendors click)."""
    res = run_cli("run", "--no-such-option", cwd=tmp_path)
    assert res.returncode == 2, res.stderr
    assert "Traceback" not in res.stderr and "No such option" in res.stderr
    assert list(tmp_path.iterdir()) == []
