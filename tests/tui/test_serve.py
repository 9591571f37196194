"""`digitsum-tui --serve`: the command each browser session runs, the missing-extra message, a live server."""

from __future__ import annotations

import asyncio
import http.server
import importlib.util
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from tuihelpers import RUN_ID, recorded_events, until, write_log

from tui.app import DigitsumApp, build_parser, main
from tui.serve import INSTALL_HINT, child_argv, serve_command

ROOT = Path(__file__).resolve().parents[2]
HAS_SERVE = importlib.util.find_spec("textual_serve") is not None
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def test_each_browser_session_runs_the_same_options_without_the_serving_ones():
    parser = build_parser()
    args = parser.parse_args(
        ["--serve", "--port", "9000", "--host", "0.0.0.0", "--epochs", "3", "--out", "my runs", "--browse"]
    )
    assert child_argv(parser, args) == ["--epochs", "3", "--out", "my runs", "--browse"]
    command = serve_command(parser, args)
    assert command == shlex.join([sys.executable, "-m", "tui.app", "--epochs", "3", "--out", "my runs", "--browse"])


def test_serve_without_textual_serve_says_how_to_install_it_and_exits_2(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "textual_serve", None)  # makes the import fail, installed or not
    monkeypatch.setitem(sys.modules, "textual_serve.server", None)
    assert main(["--serve", "--browse"]) == 2
    err = capsys.readouterr().err
    assert err == INSTALL_HINT + "\n" and "pip install 'digitsum[serve]'" in err


def test_bad_port_is_one_line_and_exit_2(capsys):
    assert main(["--serve", "--port", "70000", "--browse"]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int, *options: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tui.app", "--serve", "--port", str(port), *options],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def stop_server(server: subprocess.Popen) -> str:
    server.terminate()  # textual-serve exits gracefully on SIGTERM
    try:
        out, _ = server.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        server.kill()
        out, _ = server.communicate()
    return out.decode(errors="replace")


def get(url: str, timeout: float = 30.0) -> tuple[int, str]:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.status, response.read().decode()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@pytest.mark.skipif(not HAS_SERVE, reason="needs textual-serve (pip install 'digitsum[serve]')")
def test_serve_answers_http_200_on_localhost(tmp_path):
    port = free_port()
    server = start_server(port, "--browse", "--out", str(tmp_path))
    try:
        status, page = get(f"http://127.0.0.1:{port}/")
        assert status == 200
        assert f"ws://127.0.0.1:{port}/ws" in page, "the page's websocket points back at this server"
    finally:
        stop_server(server)


def screenshot(url: str, png: Path, wait_s: float = 8.0, size: tuple[int, int] = (1200, 800)) -> None:
    """Headless Chromium's picture of `url` after `wait_s` seconds of real time.

    `--screenshot` fires at the page's load event, and the served page loads before its app
    process has even started (the app arrives later, over the websocket); virtual time does not
    wait for that. So the app is framed in a page that also loads an image which takes `wait_s`
    to arrive: the load event, and the screenshot, come after the app has drawn.
    """

    class Slow(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            if self.path == "/slow.gif":
                time.sleep(wait_s)
                body, kind = GIF, "image/gif"
            else:
                body, kind = (
                    (
                        f'<html><body style="margin:0"><iframe src="{url}" style="border:0;width:100%;'
                        f'height:100vh"></iframe><img src="/slow.gif"></body></html>'
                    ).encode(),
                    "text/html",
                )
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    frame = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    threading.Thread(target=frame.serve_forever, daemon=True).start()
    try:
        with tempfile.TemporaryDirectory() as profile:
            subprocess.run(
                [
                    CHROMIUM,
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-quic",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    f"--user-data-dir={profile}",
                    f"--window-size={size[0]},{size[1]}",
                    f"--screenshot={png}",
                    f"http://127.0.0.1:{frame.server_address[1]}/",
                ],
                capture_output=True,
                timeout=60 + wait_s,
                check=False,
            )
    finally:
        frame.shutdown()


GIF = bytes.fromhex("47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b")


@pytest.mark.slow
@pytest.mark.skipif(not HAS_SERVE or CHROMIUM is None, reason="needs textual-serve and chromium")
def test_headless_chromium_shows_the_served_training_screen(tmp_path):
    """A screenshot much larger than the bare page (~10 KB: a dark background and a title card)
    means a session started over the websocket and drew the training screen."""
    run_dir = tmp_path / "checkpoints" / RUN_ID
    write_log(run_dir, recorded_events())
    port = free_port()
    server = start_server(port, "--attach", str(run_dir))
    shot = tmp_path / "serve.png"
    try:
        assert get(f"http://127.0.0.1:{port}/")[0] == 200
        screenshot(f"http://127.0.0.1:{port}/", shot)
    finally:
        stop_server(server)
    assert shot.is_file() and shot.stat().st_size > 20_000, f"blank or missing screenshot {shot}"


@pytest.mark.slow
def test_closing_the_app_under_a_live_run_stops_it_cleanly(tiny_config):
    """What a closed browser tab does to its session (textual-serve asks the app to exit): the run
    is told to stop, finishes its batch and writes last.pt and an `end` line, not an orphan thread."""
    tiny_config.train_size, tiny_config.epochs = 1024, 500

    async def scenario() -> DigitsumApp:
        app = DigitsumApp(tiny_config)
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: app.bridge is not None and app.bridge.batches_seen >= 1)
            app.exit(0)  # no confirmation: that is the terminal's q, not a closing tab
        return app

    app = asyncio.run(scenario())
    assert app.control.stop_requested, "closing the app must stop the run"
    log = Path(app.training.state.run_dir) / "metrics.jsonl"
    deadline = time.monotonic() + 60
    while '"event":"end"' not in log.read_text():
        assert time.monotonic() < deadline, "the engine never finished after the app closed"
        time.sleep(0.2)
    assert (log.parent / "last.pt").exists()
