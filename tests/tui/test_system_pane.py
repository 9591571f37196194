"""The system readings (SystemStats / `system` log lines) on the training screen, live and attached."""

from __future__ import annotations

import asyncio

from tuihelpers import recorded_events, screen_text, system_record, until, write_log

from tui.app import DigitsumApp
from tui.runstate import RunState, describe, fmt_system

GPU = dict(gpu_mem_mb=1234.0, gpu_mem_reserved_mb=2048.0, gpu_util=45)


def test_fmt_system_shows_cpu_of_all_cores_rss_threads_and_gpu_only_when_reported():
    assert fmt_system({}) == ""
    cpu_only = system_record(1, 1, 0.0)["stats"]
    assert fmt_system(cpu_only) == "CPU 187%/200%  RSS 812M  9 thr"
    assert fmt_system({**cpu_only, **GPU}) == "CPU 187%/200%  RSS 812M  9 thr  GPU 1.2G/2.0G 45%"
    assert fmt_system({**cpu_only, "gpu_mem_mb": 300.0}).endswith("GPU 300M"), "no NVML: memory alone"
    assert len(fmt_system({**cpu_only, **GPU})) <= 50, "must leave room for the run folder at 80 columns"


def test_runstate_keeps_the_latest_reading_and_skips_unknown_or_malformed_records():
    state = RunState()
    state.apply(
        [
            system_record(1, 2, 10.0),
            {"event": "from-a-newer-engine", "x": 1},
            {"event": "epoch", "epoch": 1},
            {"no": "event"},
            "not a dict",
            {"event": "system", "stats": "garbage"},
            system_record(1, 3, 12.0, **GPU),
        ]
    )
    assert state.system["gpu_util"] == 45 and state.system["rss_mb"] == 812.3
    assert state.history == [], "an epoch line without its metrics is skipped, not half-applied"
    assert state.last_time == 12.0
    for record in ({"event": "epoch", "epoch": 1}, {"event": "system", "stats": {}}, {"event": "unknown"}):
        assert describe(record) is None


def test_training_screen_shows_cpu_and_rss_after_a_system_record():
    async def scenario() -> None:
        app = DigitsumApp()
        async with app.run_test(size=(80, 24)) as pilot:
            app.training.feed(recorded_events()[:1])
            await pilot.pause(0.6)
            assert "RSS" not in screen_text(app), "nothing to show before the first reading"
            app.training.feed([system_record(1, 1, 1_767_268_801.0)])
            await until(pilot, lambda: "RSS" in screen_text(app), timeout=10)
            line = screen_text(app).splitlines()[2]
            assert "CPU 187%/200%" in line and "RSS 812M" in line and "9 thr" in line
            assert "checkpoints/" in line, "the run folder keeps the rest of the line"

    asyncio.run(scenario())


def test_attach_shows_the_system_reading_of_a_log_line_gpu_included(tmp_path):
    run_dir = tmp_path / "run"
    records = recorded_events()[:5]
    write_log(
        run_dir,
        records
        + [system_record(1, 4, records[-1]["time"], **GPU), {"event": "something-new", "time": records[-1]["time"]}],
    )

    async def scenario() -> None:
        app = DigitsumApp(attach=run_dir, poll_s=0.05)
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: "GPU" in screen_text(app), timeout=10)
            line = screen_text(app).splitlines()[2]
            assert "CPU 187%/200%  RSS 812M  9 thr  GPU 1.2G/2.0G 45%" in line
            assert app.training.state.batch == 4, "the unknown line after it did no harm"

    asyncio.run(scenario())
