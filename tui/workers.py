"""One way for thread workers to fail: a toast that says what failed, and the app keeps running."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from digitsum.errors import failure_text


def toast_failures(what: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Wrap a widget's or screen's thread worker (under @work): any exception becomes one error toast."""

    def wrap(worker: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(worker)
        def guarded(self, *args: Any, **kwargs: Any) -> Any:
            try:
                return worker(self, *args, **kwargs)
            except Exception as exc:
                self.app.call_from_thread(
                    self.notify, f"{what} failed: {failure_text(exc)}", severity="error", timeout=10
                )
                return None

        return guarded

    return wrap
