"""`digitsum-tui --serve`: the same app in a web browser, through textual-serve.

textual-serve runs `python -m tui.app <options>` once per browser connection and relays its
screen over a websocket; this module only builds that command and starts the server. It
binds to 127.0.0.1 by default: reach it from elsewhere through an SSH tunnel, not an open port.
"""

from __future__ import annotations

import argparse
import shlex
import sys

SERVE_OPTIONS = {"serve", "port", "host", "help"}
INSTALL_HINT = "digitsum-tui: --serve needs textual-serve: pip install 'digitsum[serve]'"


def child_argv(parser: argparse.ArgumentParser, args: argparse.Namespace) -> list[str]:
    """The parsed options again, minus the serving ones and the defaults: what each browser session runs."""
    argv: list[str] = []
    for action in parser._actions:  # argparse has no public iterator over its options
        if not action.option_strings or action.dest in SERVE_OPTIONS:
            continue
        value = getattr(args, action.dest, None)
        if value is None or value is False or value == action.default:
            continue
        option = action.option_strings[-1]
        argv += [option] if value is True else [option, str(value)]
    return argv


def serve_command(parser: argparse.ArgumentParser, args: argparse.Namespace) -> str:
    return shlex.join([sys.executable, "-m", "tui.app", *child_argv(parser, args)])


def serve(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    """Serve until Ctrl+C; exit 2 with one line when textual-serve is not installed."""
    try:
        from textual_serve.server import Server
    except ImportError:
        print(INSTALL_HINT, file=sys.stderr)
        return 2
    command = serve_command(parser, args)
    Server(command, host=args.host, port=args.port, title="digitsum").serve()
    return 0
