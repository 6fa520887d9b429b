"""Child-process halves of test_sync.py. Kept free of pytest so that
`spawn` children import only this, futex and the standard library. The
primitives arrive pickled (by SharedMemory name and offset) or, under fork,
inherited."""
import os
import signal


def count_under_mutex(m, counter_shm, rounds):
    """A non-atomic read-modify-write of a shared counter, made safe only by m."""
    buf = counter_shm.buf
    for _ in range(rounds):
        with m:
            v = int.from_bytes(buf[512:520], "little")
            buf[512:520] = (v + 1).to_bytes(8, "little")


def sem_pong(ping, pong, rounds, timeout):
    """Answers each release of the Semaphore ping with a release of pong."""
    for _ in range(rounds):
        if not ping.acquire(timeout=timeout):
            raise SystemExit("no ping")
        pong.release()


def event_pong(ping, pong, rounds, timeout):
    """Answers each set of the Event ping with a set of pong."""
    for _ in range(rounds):
        if not ping.wait(timeout):
            raise SystemExit("no ping")
        ping.clear()  # before answering: the next ping comes only after our pong
        pong.set()


def hold_and_die(m, held):
    """Takes m, says so, and is killed holding it (SIGKILL: no cleanup runs)."""
    m.acquire()
    held.set()
    os.kill(os.getpid(), signal.SIGKILL)


def hold_until_killed(m, held, never):
    """Takes m, says so, and waits to be killed by the parent."""
    m.acquire()
    held.set()
    never.wait(60)


def barrier_party(b, results, me):
    results.buf[me] = b.wait(20) + 1  # 1-based so 0 means "never arrived"


def cell_store(cell, value):
    """A Cell pickled by its SharedMemory's name: store through it and wake."""
    cell.store(value)
    cell.wake_all()
    cell.release()
