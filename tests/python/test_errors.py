"""An errno the OS was not documented to return (a seccomp filter's EACCES)
is an OSError with that errno, never an abort() of the interpreter."""
import ctypes
import errno
import os
import platform
import struct

import futex
import pytest

# x86-64 and aarch64 syscall numbers of futex(2); the filter needs the number.
FUTEX_NR = {"x86_64": 202, "aarch64": 98}.get(platform.machine())


def _seccomp_futex_fails_with(err):
    """In this (forked, single-threaded) process: every futex(2) fails with err."""
    libc = ctypes.CDLL(None, use_errno=True)
    PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 38, 22, 2
    BPF_LD_W_ABS, BPF_JEQ_K, BPF_RET_K = 0x20, 0x15, 0x06
    SECCOMP_RET_ERRNO, SECCOMP_RET_ALLOW = 0x00050000, 0x7FFF0000
    insns = [(BPF_LD_W_ABS, 0, 0, 0),  # seccomp_data.nr
             (BPF_JEQ_K, 0, 1, FUTEX_NR),
             (BPF_RET_K, 0, 0, SECCOMP_RET_ERRNO | err),
             (BPF_RET_K, 0, 0, SECCOMP_RET_ALLOW)]
    code = ctypes.create_string_buffer(b"".join(struct.pack("HBBI", *i) for i in insns))

    class Prog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    prog = Prog(len(insns), ctypes.cast(code, ctypes.c_void_p))
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        os._exit(90)
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(prog)) != 0:
        os._exit(91)


@pytest.mark.skipif(futex.backend != "linux" or FUTEX_NR is None,
                    reason="only the linux backend calls futex(2) itself; the filter needs its number")
@pytest.mark.parametrize("err", [errno.EACCES, errno.ENOMEM])
def test_filtered_futex_raises_oserror(err):
    # Shared: a private word's wake asks the OS only while some thread of the process
    # sleeps, and the child has none (other tests' watcher threads may be asleep in the
    # parent as it forks: the child starts without their counts).
    c, mine = futex.Cell(shared=True), futex.Cell(shared=False)
    pid = os.fork()
    if pid == 0:  # the child touches nothing but the cells and _exit
        code = 0
        try:
            _seccomp_futex_fails_with(err)
            # A private word nobody in this process sleeps on: its wake knows that without the OS.
            if mine.wake(1) != 0:
                code = 13
            # A timeout far past the spin: a spin descheduled past a 1 ms deadline would time out
            # before the filtered OS wait could refuse.
            for call in (lambda: c.wake(1), lambda: c.wait(0, 5.0), lambda: c.wait(0)):
                try:
                    call()
                    code = 10
                except OSError as e:
                    if e.errno != err:
                        code = 11
        except BaseException:
            code = 12
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status), f"child killed by signal {os.WTERMSIG(status)}"
    assert os.WEXITSTATUS(status) == 0
