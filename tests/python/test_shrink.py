"""A Cell over a file another process shrinks: every operation raises
OSError(EFAULT) instead of the process dying of SIGBUS, and keeps raising;
a fault anywhere else is as fatal as before. Each case runs in a child
interpreter, so a regression fails the test instead of killing pytest."""
import os
import signal
import subprocess
import sys
import textwrap

import futex

SHARED = bool(futex.capabilities & futex.CAP_SHARED)

SETUP = textwrap.dedent(
    f"""
    import errno, mmap, os, tempfile, futex
    fd, path = tempfile.mkstemp()
    os.unlink(path)
    os.ftruncate(fd, 8192)
    m = mmap.mmap(fd, 8192)
    c = futex.Cell(m, 4100, shared={SHARED})
    c.store(5)
    assert c.load() == 5
    """
)


def run_child(body, before=""):
    return subprocess.run([sys.executable, "-c", before + SETUP + textwrap.dedent(body)], capture_output=True,
                          text=True, timeout=60)


def test_every_operation_raises_efault_and_keeps_raising():
    p = run_child(
        """
        os.ftruncate(fd, 0)  # any process that can write the file
        ops = [c.load, lambda: c.store(1), lambda: c.exchange(1), lambda: c.compare_exchange(0, 1),
               lambda: c.fetch_add(1), lambda: c.fetch_sub(1), lambda: c.fetch_and(1), lambda: c.fetch_or(1),
               lambda: c.fetch_xor(1), lambda: c.wait(0), lambda: c.wait(0, 0.01),
               lambda: futex.Deadline(1).wait(c, 0), c.wake, c.wake_all, lambda: repr(c)]
        for op in ops * 2:
            try:
                op()
            except OSError as e:
                assert e.errno == errno.EFAULT and "shrank" in str(e), e
            else:
                raise SystemExit("no error")
        # Another cell on the same dead page fails too.
        d = futex.Cell(m, 4104, shared=c.shared)
        try:
            d.load()
        except OSError as e:
            assert e.errno == errno.EFAULT
        else:
            raise SystemExit("no error from the second cell")
        c.release(); d.release(); m.close()
        print("alive")
        """
    )
    assert p.returncode == 0 and p.stdout == "alive\n", (p.returncode, p.stdout, p.stderr)


def test_a_fault_elsewhere_is_still_fatal():
    # The cell's guard is installed; mmap's own read of the dead page is no
    # cell operation, so it still dies of SIGBUS.
    p = run_child(
        """
        os.ftruncate(fd, 0)
        m[0]
        print("survived")
        """
    )
    assert p.returncode == -signal.SIGBUS and "survived" not in p.stdout, (p.returncode, p.stderr)


def test_a_fault_elsewhere_reaches_the_previous_handler():
    # faulthandler installed its SIGBUS handler before the first cell: a
    # cell's fault is still an OSError, mmap's own read reaches faulthandler.
    p = run_child(
        """
        os.ftruncate(fd, 0)
        try:
            c.load()
        except OSError:
            print("cell: OSError", flush=True)
        m[0]
        """,
        before="import faulthandler; faulthandler.enable()\n",
    )
    assert p.returncode == -signal.SIGBUS, (p.returncode, p.stderr)
    assert p.stdout == "cell: OSError\n" and "Bus error" in p.stderr, (p.stdout, p.stderr)
