"""`digitsum-tui`: the Textual app that trains, watches, browses and tries out digitsum models.

The app owns the one engine run (a thread worker) and its Control; screens only display
records and call the app's actions. torch is imported inside the worker, so `--help` and
`--browse` start quickly. `--serve` hands the same command line to textual-serve (tui.serve).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterable
from functools import partial
from pathlib import Path
from typing import Any

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.message import Message
from textual.worker import Worker

from digitsum.alerts import BELL, Alert, Alerts, notification
from digitsum.config import MODEL_NAMES, RunConfig
from digitsum.control import Control
from digitsum.errors import BadInput
from digitsum.options import cli_scalar_type, option_name, run_option_fields
from digitsum.runlog import LOG_NAME, LogFollower
from tui.bridge import EventBridge
from tui.messages import RunRequested
from tui.screens.help import HelpScreen
from tui.screens.modals import ConfirmModal, NewRunModal
from tui.screens.training import TrainingScreen


class EngineRecords(Message):
    """Event dicts from the engine thread, already batched by the bridge."""

    def __init__(self, records: list[dict[str, Any]]) -> None:
        super().__init__()
        self.records = records


class DigitsumApp(App[int]):
    """One app, three ways in: train now (default), `--attach RUN_DIR`, `--browse`."""

    CSS_PATH = "app.tcss"
    TITLE = "digitsum"
    BINDINGS = [
        Binding("ctrl+q", "quit", "Quit", show=False, priority=True),
        Binding("question_mark,f1", "help", "Help", show=False),
    ]

    def __init__(
        self,
        config: RunConfig | None = None,
        *,
        attach: str | Path | None = None,
        browse: bool = False,
        checkpoints: str | Path | None = None,
        poll_s: float = 0.5,
    ) -> None:
        super().__init__()
        self.config = config
        self.attach = Path(attach) if attach else None
        self.browse_only = browse
        self.checkpoints_root = Path(checkpoints or (config.out if config else "checkpoints"))
        self.poll_s = poll_s
        self.training = TrainingScreen(read_only=self.attach is not None)
        self.control: Control | None = None
        self.bridge: EventBridge | None = None
        self.engine_worker: Worker | None = None
        self._pending: RunConfig | None = None
        self._follower: LogFollower | None = None
        settings = config or RunConfig()
        self.alerts = Alerts(self.show_alert, settings.patience) if settings.notify == "on" else None
        self.started_at = time.time()

    def get_system_commands(self, screen: Any) -> Iterable[SystemCommand]:
        """The palette (ctrl+p) offers every action the screen's keys offer, found by its footer name."""
        yield from super().get_system_commands(screen)
        seen = set()
        for active in screen.active_bindings.values():
            binding = active.binding
            if not binding.description or not active.enabled or (active.node, binding.action) in seen:
                continue
            seen.add((active.node, binding.action))
            shown_key = binding.key_display or self.get_key_display(binding)
            yield SystemCommand(
                f"{binding.description} ({shown_key})",
                binding.tooltip or f"key {shown_key}",
                partial(self.run_action, binding.action, active.node),
            )

    # --- start-up -----------------------------------------------------------------------
    async def on_mount(self) -> None:
        if self.browse_only:
            self.action_browse()
            return
        await self.push_screen(self.training)
        if self.attach is not None:
            self._follower = LogFollower(self.attach / LOG_NAME)
            self.training.note(f"attached read-only to {self.attach}")
            self.set_interval(self.poll_s, self.poll_log)
            self.poll_log()
        elif self.config is not None:
            self.start_run(self.config)

    def poll_log(self) -> None:
        """Attach mode: new lines of the followed run's metrics.jsonl."""
        records = self._follower.poll() if self._follower else []
        if records:
            self.training.feed(records)
            self.raise_alerts(records)

    # --- the engine ---------------------------------------------------------------------
    @property
    def training_live(self) -> bool:
        return self.engine_worker is not None and not self.engine_worker.is_finished

    def start_run(self, config: RunConfig) -> None:
        """Train `config` in a thread; if a run is going, stop it first and start this one after."""
        self.config = config
        if self.training_live:
            self._pending = config
            self.control.stop()
            self.training.note("stopping the current run first (it saves last.pt)...")
            return
        self.control = self.training.control = Control()
        self.bridge = EventBridge(lambda records: self.post_message(EngineRecords(records)))
        self.training.new_run()
        self.engine_worker = self.run_worker(
            partial(self._train, config, self.control, self.bridge),
            thread=True,
            group="engine",
            name="engine",
            exit_on_error=False,
        )

    @staticmethod
    def _train(config: RunConfig, control: Control, bridge: EventBridge) -> None:
        """Worker thread: the engine, the run log and the bridge; the engine tells every failure as an 'error'."""
        from digitsum.engine import Engine  # imports torch: only once training really starts
        from digitsum.runlog import RunLog

        log = RunLog()
        try:
            Engine(config, control=control, subscribers=[log, bridge]).run()
        except Exception:
            pass  # already told: the engine's failure funnel sent one 'error' record before raising
        finally:
            log.close()

    def on_unmount(self) -> None:
        """The app closes under a live run (a browser tab closed under --serve, a test ending): stop it.

        The engine thread then finishes its batch and writes last.pt before the process exits.
        """
        self._pending = None
        if self.control is not None:  # not `training_live`: by now the app has cancelled its workers' state
            self.control.stop()

    def on_engine_records(self, message: EngineRecords) -> None:
        self.training.feed(message.records)
        self.raise_alerts(message.records)

    def raise_alerts(self, records: list[dict[str, Any]]) -> None:
        """Finished, failed or stalled: records written after the app started (not an old log's replay)."""
        if self.alerts is None:
            return
        for record in records:
            if record.get("time", self.started_at) >= self.started_at:
                self.alerts(record)

    def show_alert(self, alert: Alert) -> None:
        """A toast, the bell, and the desktop notification sequence on the app's own terminal (over SSH too)."""
        self.notify(alert.body, title=alert.title, severity=alert.severity, timeout=15)
        self.bell()
        terminal = getattr(sys, "__stderr__", None)  # where Textual's Linux driver draws
        if terminal is not None and terminal.isatty():
            terminal.write(notification(alert).removeprefix(BELL))
            terminal.flush()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker is self.engine_worker and event.worker.is_finished and self._pending:
            config, self._pending = self._pending, None
            self.start_run(config)

    # --- actions (keys) -----------------------------------------------------------------
    def action_new_run(self) -> None:
        if self.attach is not None:
            self.notify("read-only: attached to a run", severity="warning")
            return
        base = self.config or RunConfig()
        values = {"model": base.model, "epochs": base.epochs, "data": base.data, "lr": base.lr}
        self.push_screen(
            NewRunModal(values), lambda chosen: self.post_message(RunRequested(chosen)) if chosen else None
        )

    def on_run_requested(self, message: RunRequested) -> None:
        """A run from the new-run form or the browser's `c`: the app's settings with the chosen ones over them."""
        values = message.values
        base = self.config or RunConfig()
        budget = None if values.get("epochs") is not None else base.budget  # --epochs and --budget exclude each other
        config = RunConfig.from_dict({**base.to_dict(), **values, "budget": budget, "resume": values.get("resume")})
        try:
            config.validate()
        except BadInput as exc:
            self.notify(str(exc), severity="error")
            return
        self.call_after_refresh(self.show_training)  # after the form has left the stack
        self.start_run(config)

    def show_training(self) -> None:
        """Bring the training screen to the front, whatever is stacked above it."""
        stack = self.screen_stack
        if self.training not in stack:
            self.push_screen(self.training)
            return
        for _ in range(len(stack) - 1 - stack.index(self.training)):
            self.pop_screen()

    def action_browse(self) -> None:
        from tui.screens.browser import BrowserScreen

        self.push_screen(BrowserScreen(self.checkpoints_root, data=self.config.data if self.config else None))

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    async def action_quit(self) -> None:
        """Quit at once, unless a run trains: then ask, stop it, and wait for its last.pt."""
        if not self.training_live:
            self.exit(0)
            return
        self.push_screen(
            ConfirmModal("A run is training. Stop it and quit?\nlast.pt keeps the last finished epoch."),
            self._quit_confirmed,
        )

    def _quit_confirmed(self, yes: bool | None) -> None:
        if yes:
            self.run_worker(self._stop_and_exit(), group="quit", exclusive=True)

    async def _stop_and_exit(self) -> None:
        self._pending = None
        self.control.stop()
        self.training.note("stopping: waiting for the engine to finish this batch...")
        if self.engine_worker is not None:
            try:
                await self.engine_worker.wait()
            except Exception:
                pass
        self.exit(0)


# --- command line ---------------------------------------------------------------------------
class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one clear line, exit 2 (not argparse's usage block)
        print(f"digitsum-tui: {message} (see digitsum-tui --help)", file=sys.stderr)
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="digitsum-tui",
        description="Train, watch and browse digitsum runs in the terminal. "
        "With no option, a default run starts at once.",
    )
    for f in run_option_fields():  # the one list of run options, shared with `digitsum run`
        p.add_argument(option_name(f), type=cli_scalar_type(f), default=f.default, help=f.metadata["help"])
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--attach", metavar="RUN_DIR", help="watch a run's metrics.jsonl (read-only)")
    mode.add_argument("--browse", action="store_true", help="open the checkpoint browser without training")
    web = p.add_argument_group("browser mode (needs textual-serve: pip install 'digitsum[serve]')")
    web.add_argument(
        "--serve",
        action="store_true",
        help="serve this app to web browsers instead of the terminal (one app per connection)",
    )
    web.add_argument("--port", type=int, default=8000, help="port for --serve (default %(default)s)")
    web.add_argument(
        "--host",
        default="127.0.0.1",
        help="address for --serve (default %(default)s: this machine only; use an SSH tunnel)",
    )
    return p


def app_from_args(argv: list[str] | None = None) -> DigitsumApp:
    """Parse and check options; BadInput carries the one line to print."""
    return app_from_namespace(build_parser().parse_args(argv))


def app_from_namespace(args: argparse.Namespace) -> DigitsumApp:
    if not 0 < args.port < 65536:
        raise BadInput(f"--port {args.port}: expected 1-65535")
    config = RunConfig(**{f.name: getattr(args, f.name) for f in run_option_fields()}).validate()
    if args.attach:  # watches, never trains: of the run options only --notify and --patience apply
        if not Path(args.attach).is_dir():
            raise BadInput(f"--attach {args.attach}: no such run folder")
        return DigitsumApp(config, attach=args.attach, checkpoints=Path(args.attach).parent)
    if args.browse:
        return DigitsumApp(browse=True, checkpoints=args.out)
    if config.resume and not Path(config.resume).is_file():
        raise BadInput(f"--resume {config.resume}: no such checkpoint file")
    if config.data != "builtin" and not config.data.startswith("mnist") and not Path(config.data).is_dir():
        raise BadInput(
            f"--data {config.data}: expected 'builtin', 'mnist[:ROOT]' or a folder of .npy or MNIST IDX files"
        )
    _check_model(config.model)
    return DigitsumApp(config)


def _check_model(name: str) -> None:
    """Unknown names fail here (exit 2), without importing torch."""
    if name not in MODEL_NAMES:
        raise BadInput(f"unknown model {name!r}; known models: {', '.join(sorted(MODEL_NAMES))}")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        app = app_from_namespace(args)  # with --serve too: bad options fail here, not in each browser tab
    except BadInput as exc:
        print(f"digitsum-tui: {exc}", file=sys.stderr)
        return 2
    if args.serve:
        from tui.serve import serve

        return serve(parser, args)
    app.run()
    return int(app.return_code or 0)


if __name__ == "__main__":
    raise SystemExit(main())
