"""One-file checkpoints: atomic writes, safe loads (weights_only), clear refusals, the listing."""

from __future__ import annotations

import json
import os
import pickle
import re
import shutil
from pathlib import Path

import pytest
import torch

from digitsum import checkpoints
from digitsum.checkpoints import list_checkpoints, load_checkpoint, model_from_checkpoint, save_checkpoint
from digitsum.errors import BadInput
from digitsum.models import build_model


def payload(epoch: int = 3, model: str = "seed", **extra) -> dict:
    net = build_model(model)
    return {
        "model": {"name": model, "kwargs": dict(net.init_kwargs)},
        "state_dict": net.state_dict(),
        "epoch": epoch,
        "metrics": {"val_loss": 1.5, "round_acc": 0.25, "mae": 0.75},
        "history": [{"epoch": 1, "val_loss": 2.0}],
        "created": "2024-01-01T00:00:00+00:00",
        **extra,
    }


def names(path: Path) -> str:
    return re.escape(str(path))


class Hostile:
    """Unpickling this would call open(marker, 'w'): the marker file proves code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


# --- writing and reading back -----------------------------------------------------------------
def test_save_then_load_round_trips_weights_and_metadata_with_format_tag(tmp_path):
    original = payload()
    path = save_checkpoint(original, tmp_path / "best.pt")

    loaded = load_checkpoint(path)

    assert loaded["format"] == "digitsum-checkpoint" and loaded["version"] == checkpoints.VERSION
    assert loaded["epoch"] == 3 and loaded["metrics"] == original["metrics"]
    assert loaded["history"] == original["history"] and loaded["model"] == original["model"]
    for key, tensor in original["state_dict"].items():
        torch.testing.assert_close(loaded["state_dict"][key], tensor)


def test_load_uses_torch_load_with_weights_only_on_the_cpu(tmp_path, monkeypatch):
    path = save_checkpoint(payload(), tmp_path / "x.pt")
    calls = []
    real_load = torch.load

    def spy(*args, **kwargs):
        calls.append(kwargs)
        return real_load(*args, **kwargs)

    monkeypatch.setattr(torch, "load", spy)
    load_checkpoint(path)
    assert calls and calls[0].get("weights_only") is True and str(calls[0].get("map_location")) == "cpu"


def test_a_saved_checkpoint_rebuilds_the_same_model_with_no_other_file(tmp_path):
    original = payload(model="sumnet")
    path = save_checkpoint(original, tmp_path / "x.pt")
    model = model_from_checkpoint(load_checkpoint(path), path)
    assert not model.training
    for key, tensor in model.state_dict().items():
        torch.testing.assert_close(tensor, original["state_dict"][key])


def test_a_failed_write_leaves_the_previous_checkpoint_intact_and_no_temp_file(tmp_path, monkeypatch):
    path = save_checkpoint(payload(epoch=1), tmp_path / "last.pt")
    before = path.read_bytes()
    temp_files = []

    def crash_midway(obj, fh, *args, **kwargs):
        fh.write(b"PK\x03\x04 half a checkpoint")
        fh.flush()
        temp_files.extend(p for p in tmp_path.iterdir() if p != path)
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(torch, "save", crash_midway)
    with pytest.raises(RuntimeError, match="disk on fire"):
        save_checkpoint(payload(epoch=2), path)
    monkeypatch.undo()

    assert len(temp_files) == 1  # the half-written temp file sat beside the target...
    assert path.read_bytes() == before
    assert load_checkpoint(path)["epoch"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.pt"]  # ...and is gone


def test_saving_replaces_the_old_file_in_one_step(tmp_path, monkeypatch):
    path = save_checkpoint(payload(epoch=1), tmp_path / "last.pt")
    replaced = []
    real_replace = os.replace

    def spy(src, dst):
        replaced.append((Path(src), Path(dst)))
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    save_checkpoint(payload(epoch=2), path)
    assert [dst for _, dst in replaced] == [path] and replaced[0][0].parent == path.parent
    assert load_checkpoint(path)["epoch"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.pt"]


def test_saving_into_a_missing_folder_is_bad_input(tmp_path):
    target = tmp_path / "no" / "such" / "x.pt"
    with pytest.raises(BadInput, match=names(target)):
        save_checkpoint(payload(), target)


# --- refusals ---------------------------------------------------------------------------------
def test_a_missing_checkpoint_is_bad_input_naming_it(tmp_path):
    with pytest.raises(BadInput, match=names(tmp_path / "gone.pt") + ": no such checkpoint"):
        load_checkpoint(tmp_path / "gone.pt")


def test_a_folder_is_not_a_checkpoint(tmp_path):
    with pytest.raises(BadInput, match=names(tmp_path)):
        load_checkpoint(tmp_path)


@pytest.mark.parametrize("keep", [0.1, 0.5, 0.99])
def test_a_truncated_checkpoint_is_bad_input_naming_it(tmp_path, keep):
    path = save_checkpoint(payload(), tmp_path / "x.pt")
    raw = path.read_bytes()
    path.write_bytes(raw[: int(len(raw) * keep)])
    with pytest.raises(BadInput, match=names(path)):
        load_checkpoint(path)


@pytest.mark.parametrize("content", [b"", os.urandom(4096), b"not a checkpoint\n"], ids=["empty", "random", "text"])
def test_random_bytes_named_pt_are_bad_input_naming_the_file(tmp_path, content):
    path = tmp_path / "x.pt"
    path.write_bytes(content)
    with pytest.raises(BadInput, match=names(path)):
        load_checkpoint(path)


def test_a_plain_torch_state_dict_is_refused_as_not_a_digitsum_checkpoint(tmp_path):
    path = tmp_path / "weights.pt"
    torch.save(build_model("seed").state_dict(), path)
    with pytest.raises(BadInput, match=names(path) + r": not a digitsum checkpoint"):
        load_checkpoint(path)


def test_a_newer_format_version_is_refused(tmp_path):
    path = tmp_path / "future.pt"
    torch.save({**payload(), "format": "digitsum-checkpoint", "version": checkpoints.VERSION + 1}, path)
    with pytest.raises(BadInput, match=names(path) + r".*version 2 is newer"):
        load_checkpoint(path)


@pytest.mark.parametrize("missing", ["model", "state_dict", "epoch"])
def test_a_checkpoint_lacking_a_required_entry_is_refused(tmp_path, missing):
    content = {**payload(), "format": "digitsum-checkpoint", "version": 1}
    del content[missing]
    path = tmp_path / "x.pt"
    torch.save(content, path)
    with pytest.raises(BadInput, match=names(path) + f".*lacks '{missing}'"):
        load_checkpoint(path)


def test_an_unknown_model_name_is_bad_input_when_rebuilding(tmp_path):
    path = save_checkpoint({**payload(), "model": {"name": "resnet9000", "kwargs": {}}}, tmp_path / "x.pt")
    with pytest.raises(BadInput, match="unknown model 'resnet9000'"):
        model_from_checkpoint(load_checkpoint(path), path)


def test_weights_that_do_not_fit_the_model_are_bad_input_naming_the_file(tmp_path):
    content = payload(model="seed")
    content["model"] = {"name": "sumnet", "kwargs": {}}
    path = save_checkpoint(content, tmp_path / "x.pt")
    with pytest.raises(BadInput, match=names(path) + r": weights do not fit model 'sumnet'"):
        model_from_checkpoint(load_checkpoint(path), path)


@pytest.mark.parametrize("writer", ["torch.save", "pickle.dump"])
def test_a_hostile_pickle_is_refused_and_never_runs_its_code(tmp_path, writer):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    content = {
        "format": "digitsum-checkpoint",
        "version": 1,
        "model": {"name": "seed"},
        "state_dict": {},
        "epoch": 1,
        "surprise": Hostile(marker),
    }
    if writer == "torch.save":
        torch.save(content, path)
    else:
        with open(path, "wb") as fh:
            pickle.dump(content, fh, protocol=2)
    assert not marker.exists()

    with pytest.raises(BadInput, match=names(path) + r": refused to load"):
        load_checkpoint(path)
    assert not marker.exists()


def test_the_hostile_fixture_really_would_run_code_if_unpickled(tmp_path):
    # guards the test above: plain pickle.loads does create the marker
    marker = tmp_path / "pwned"
    pickle.loads(pickle.dumps(Hostile(marker))).close()
    assert marker.exists()


def test_a_checkpoint_whose_model_entry_is_not_a_mapping_is_bad_input(tmp_path):
    path = tmp_path / "odd.pt"
    torch.save({**payload(), "format": "digitsum-checkpoint", "version": 1, "model": "seed"}, path)
    with pytest.raises(BadInput, match=names(path)):
        model_from_checkpoint(load_checkpoint(path), path)


def test_list_checkpoints_skips_a_tagged_file_whose_model_entry_is_not_a_mapping(tmp_path):
    save_checkpoint(payload(), tmp_path / "good.pt")
    torch.save({**payload(), "format": "digitsum-checkpoint", "version": 1, "model": "seed"}, tmp_path / "odd.pt")
    assert [Path(row.path).name for row in list_checkpoints(tmp_path)] == ["good.pt"]


# --- listing --------------------------------------------------------------------------------
LISTING_FIELDS = {"path", "run", "kind", "model", "epoch", "val_loss", "round_acc", "mae", "created"}  # DESIGN.md


@pytest.fixture
def run_copy(tiny_run, tmp_path) -> Path:
    """A private copy of the session's tiny run folder, safe to add files to."""
    return Path(shutil.copytree(tiny_run.run_dir, tmp_path / "runs" / tiny_run.run_dir.name))


def test_list_checkpoints_rows_have_exactly_the_fields_of_checkpoints_json(run_copy, tiny_run):
    rows = list_checkpoints(run_copy.parent)
    assert {Path(r.path).name for r in rows} == {"best.pt", "last.pt"}
    for row in rows:
        as_json = json.loads(json.dumps(row.to_dict()))
        assert set(as_json) == LISTING_FIELDS
        assert as_json["run"] == run_copy.name and as_json["model"] == tiny_run.config.model
        assert as_json["kind"] == Path(row.path).stem  # best or last
    last = next(r for r in rows if r.path.endswith("last.pt"))
    history = load_checkpoint(run_copy / "last.pt")["history"]
    assert last.epoch == 2
    assert last.val_loss == pytest.approx(history[-1]["val_loss"])
    assert last.round_acc == pytest.approx(history[-1]["round_acc"])
    assert last.mae == pytest.approx(history[-1]["mae"])


def test_list_checkpoints_skips_unreadable_files_and_sorts_newest_first(run_copy):
    (run_copy / "broken.pt").write_bytes(b"garbage")
    older = payload(created="2000-01-01T00:00:00+00:00")
    save_checkpoint(older, run_copy.parent / "old.pt")
    rows = list_checkpoints(run_copy.parent)
    assert "broken.pt" not in {Path(r.path).name for r in rows}
    assert Path(rows[-1].path).name == "old.pt"
    created = [r.created for r in rows]
    assert created == sorted(created, reverse=True)


def test_list_checkpoints_of_a_missing_folder_is_bad_input(tmp_path):
    with pytest.raises(BadInput, match=names(tmp_path / "none")):
        list_checkpoints(tmp_path / "none")
