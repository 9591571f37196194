"""The inference screen reads each digit (sumnet) and opens the user's own images (`o`)."""

from __future__ import annotations

import asyncio

import numpy as np
from PIL import Image  # pulled in by matplotlib, a test dependency
from tuihelpers import screen_text, until

from tui.app import DigitsumApp
from tui.screens.inference import InferenceScreen
from tui.screens.modals import OpenImageModal


def test_a_wrong_answer_shows_the_reading_and_names_the_misread_digit(trained_run):
    async def scenario() -> None:
        app = DigitsumApp()
        async with app.run_test(size=(100, 30)) as pilot:
            screen = InferenceScreen(str(trained_run / "best.pt"))
            await app.push_screen(screen)
            await until(pilot, lambda: screen.evaluation is not None)
            await pilot.pause()
            assert "reading " in screen_text(app) and " → " in screen_text(app)
            await pilot.press("v")  # only the wrong answers (a 2-epoch model has plenty)
            await pilot.pause()
            ev, i = screen.evaluation, screen.order[0]
            shown = screen_text(app)
            assert "WRONG" in shown and "read the " in shown and "[" in shown.split("reading ", 1)[1]
            truth, parts = ev.true_digits(i), ev.reading(i).parts
            worst = max(range(4), key=lambda k: abs(parts[k] - truth[k]))
            assert f"read the {truth[worst]} as " in shown

    asyncio.run(scenario())


def test_the_seed_model_shows_the_sum_only(fixed_checkpoints):
    async def scenario() -> None:
        app = DigitsumApp()
        async with app.run_test(size=(100, 30)) as pilot:
            screen = InferenceScreen(str(fixed_checkpoints / "20260102-090000-seed" / "best.pt"))
            await app.push_screen(screen)
            await until(pilot, lambda: screen.evaluation is not None)
            await pilot.pause()
            assert "true " in screen_text(app) and "reading " not in screen_text(app)

    asyncio.run(scenario())


async def open_image_dialog(app: DigitsumApp, pilot, checkpoint) -> InferenceScreen:
    """The inference screen of `checkpoint`, evaluated, with `o`'s dialog open over it."""
    screen = InferenceScreen(str(checkpoint))
    await app.push_screen(screen)
    await until(pilot, lambda: screen.evaluation is not None)
    await pilot.press("o")
    await until(pilot, lambda: isinstance(app.screen, OpenImageModal))
    return screen


def test_o_opens_an_image_file_shows_its_prediction_and_reading_and_escape_returns(trained_run, tmp_path):
    photo = np.full((90, 300), 225, np.uint8)  # dark strokes on light paper
    photo[20:70, 30:40] = 20
    photo[20:70, 120:160] = 20
    Image.fromarray(photo).save(tmp_path / "mine.png")

    async def scenario() -> None:
        app = DigitsumApp()
        async with app.run_test(size=(100, 30)) as pilot:
            screen = await open_image_dialog(app, pilot, trained_run / "best.pt")
            await pilot.press("enter")
            assert "type the path" in screen_text(app), "an empty path is refused in the dialog"
            for char in str(tmp_path / "mine.png"):
                await pilot.press(char)
            await pilot.press("enter")
            await until(pilot, lambda: screen.opened is not None)
            await pilot.pause()
            text = screen_text(app)
            assert "your image: " in text and "mine.png" in text and "predicted " in text and "reading " in text
            assert "true " not in text, "an image file has no truth to judge it by"
            assert screen.opened.image.shape == (40, 168) and screen.opened.image[0].max() == 0
            await pilot.press("escape")
            await pilot.pause()
            assert screen.opened is None and app.screen is screen and "true " in screen_text(app)

    asyncio.run(scenario())


def test_opening_a_file_that_is_not_an_image_is_a_toast(trained_run, tmp_path):
    (tmp_path / "notes.txt").write_text("7 + 3")

    async def scenario() -> None:
        app = DigitsumApp()
        async with app.run_test(size=(100, 30)) as pilot:
            screen = await open_image_dialog(app, pilot, trained_run / "best.pt")
            app.screen.query_one("#image-path").value = str(tmp_path / "notes.txt")
            await pilot.press("enter")
            await until(pilot, lambda: any("not an image" in n.message for n in app._notifications))
            assert screen.opened is None and app.screen is screen

    asyncio.run(scenario())
