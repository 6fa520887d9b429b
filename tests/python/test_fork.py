"""After fork() the child owns its cells: a wait another thread was blocked
in stays behind in the parent, so release() in the child drops the export
and the buffer closes."""
import mmap
import os
import threading
import time

import futex
from _util import PATIENCE, store_and_wake
import pytest


# Python 3.12 warns about fork() with threads running: that is the case here.
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_child_releases_a_cell_a_parent_thread_waits_on():
    m = mmap.mmap(-1, 4096)
    c = futex.Cell(m, 0, shared=bool(futex.capabilities & futex.CAP_SHARED))
    started = threading.Event()

    def waiter():
        started.set()
        c.wait(0, PATIENCE)

    t = threading.Thread(target=waiter, daemon=True)
    t.start()
    started.wait()
    time.sleep(0.1)  # in the wait, holding the cell in use
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            c.release()
            m.close()  # BufferError while an export exists
            code = 0 if c.released and m.closed else 2
        except BaseException:
            code = 3
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status
    # The parent's wait is untouched by the child's release.
    assert t.is_alive() and not c.released
    store_and_wake(c, 1)
    t.join(PATIENCE)
    assert not t.is_alive()
    c.release()
    m.close()


def test_child_uses_an_inherited_cell_normally():
    m = mmap.mmap(-1, 4096)
    c = futex.Cell(m, 0, shared=bool(futex.capabilities & futex.CAP_SHARED))
    c.store(41)
    pid = os.fork()
    if pid == 0:
        ok = c.fetch_add(1) == 41 and c.load() == 42
        c.release()
        m.close()
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    assert c.load() == 42  # mmap(-1, ...) is MAP_SHARED: the child's add is ours too
    c.release()
    m.close()
