"""The allocator setting: taken on glibc's main thread, never from a worker thread (it would slow that down)."""

from __future__ import annotations

import platform
import subprocess
import sys
import threading

import pytest

from digitsum.allocator import keep_freed_memory, release_freed_memory

glibc = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="a glibc setting")


@glibc
def test_the_main_thread_keeps_freed_memory_and_can_hand_it_back():
    code = (
        "from digitsum.allocator import keep_freed_memory as k, release_freed_memory as r\n"
        "import sys; ok = k(); r(); sys.exit(0 if ok else 1)"
    )
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_a_worker_thread_leaves_the_allocator_alone():
    answers = []

    def work() -> None:
        answers.append(keep_freed_memory())
        release_freed_memory()

    worker = threading.Thread(target=work)
    worker.start()
    worker.join()
    assert answers == [False]
