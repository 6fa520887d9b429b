"""Atomic operations against a pure-Python model, construction, and every
kind of bad input. Nothing outside the cell's 4 bytes may ever change."""
import array
import errno
import gc
import importlib.metadata
import mmap
import os
import sys
from multiprocessing import shared_memory

import futex
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

M = 2**32
u32 = st.integers(min_value=0, max_value=M - 1)

# (name, model) for every one-argument op; each returns the old value.
UNARY = {
    "exchange": lambda old, v: v,
    "fetch_add": lambda old, v: (old + v) % M,
    "fetch_sub": lambda old, v: (old - v) % M,
    "fetch_and": lambda old, v: old & v,
    "fetch_or": lambda old, v: old | v,
    "fetch_xor": lambda old, v: old ^ v,
}

# Values near the wraparound edges come up often, not just by luck.
edgy = st.one_of(u32, st.sampled_from([0, 1, 2, M - 2, M - 1, 2**31 - 1, 2**31]))
op = st.one_of(
    st.tuples(st.sampled_from(sorted(UNARY)), edgy),
    st.tuples(st.just("store"), edgy),
    st.tuples(st.just("load"), st.just(0)),
    st.tuples(st.just("compare_exchange"), edgy, edgy),
    st.tuples(st.just("cas_current"), edgy),  # compare_exchange with the right expected value
)


def word_of(buf, offset):
    return int.from_bytes(bytes(buf[offset : offset + 4]), sys.byteorder)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])  # shared, loaded CI machine
@given(initial=edgy, ops=st.lists(op, max_size=40), noise=st.binary(min_size=16, max_size=16))
def test_ops_match_the_model(initial, ops, noise):
    buf = bytearray(noise)
    with futex.Cell(buf, 8, shared=False) as c:
        c.store(initial)
        model = initial
        for name, *args in ops:
            if name == "load":
                assert c.load() == model
            elif name == "store":
                assert c.store(args[0]) is None
                model = args[0]
            elif name == "compare_exchange":
                expected, desired = args
                assert c.compare_exchange(expected, desired) == model
                if model == expected:
                    model = desired
            elif name == "cas_current":
                assert c.compare_exchange(model, args[0]) == model
                model = args[0]
            else:
                assert getattr(c, name)(args[0]) == model
                model = UNARY[name](model, args[0])
            assert c.load() == model
            assert word_of(buf, 8) == model  # native byte order, in place
        assert buf[:8] == noise[:8] and buf[12:] == noise[12:]


def test_wraparound_edges():
    c = futex.Cell()
    c.store(M - 1)
    assert c.fetch_add(1) == M - 1 and c.load() == 0
    assert c.fetch_sub(1) == 0 and c.load() == M - 1
    c.store(5)
    assert c.fetch_add(M - 1) == 5 and c.load() == 4


def test_buffer_kinds_and_offsets(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(bytes(64))
    with open(path, "r+b") as f:
        m = mmap.mmap(f.fileno(), 64)
    shm = shared_memory.SharedMemory(create=True, size=64)
    try:
        for buf in (bytearray(64), memoryview(bytearray(64)), m, shm.buf, array.array("I", [0] * 16)):
            for offset in (0, 4, 60):
                with futex.Cell(buf, offset, shared=False) as c:
                    c.store(0xA1B2C3D4)
                    assert word_of(memoryview(buf).cast("B"), offset) == 0xA1B2C3D4
                    c.store(0)
        with futex.Cell(m, 12, shared=False) as c:
            c.store(7)
        m.flush()
        assert word_of(path.read_bytes(), 12) == 7  # a file mapping really is the file
    finally:
        m.close()
        shm.close()
        shm.unlink()


def test_shared_defaults_and_repr():
    own = futex.Cell()
    assert own.shared is False and own.offset == 0 and own.load() == 0
    assert futex.Cell(bytearray(4), shared=False).shared is False
    can_share = bool(futex.capabilities & futex.CAP_SHARED)
    if can_share:
        assert futex.Cell(bytearray(4)).shared is True
    c = futex.Cell(bytearray(16), 8, shared=can_share)
    c.store(42)
    r = repr(c)
    assert "offset=8" in r and "value=42" in r and f"shared={can_share}" in r
    c.release()
    assert "released" in repr(c) and c.released


def test_shared_needs_the_capability():
    # On a backend that cannot reach other processes, asking for it fails
    # at construction and says what to do; elsewhere it just works.
    if futex.capabilities & futex.CAP_SHARED:
        assert futex.Cell(bytearray(4), shared=True).shared
        assert futex.Cell(shared=True).shared
    else:
        for make in (lambda: futex.Cell(bytearray(4)), lambda: futex.Cell(shared=True)):
            with pytest.raises(OSError) as e:
                make()
            assert e.value.errno == errno.ENOTSUP and "shared=False" in str(e.value)


def test_module_attributes():
    # The compiled-in FUTEX_VERSION and the package's version (setup.py reads
    # the header's numbers) agree; the backend is one of libfutex/backend/*.c.
    assert futex.__version__ == importlib.metadata.version("libfutex")
    root = os.path.join(os.path.dirname(__file__), "..", "..")
    assert os.path.exists(os.path.join(root, "libfutex", "backend", futex.backend + ".c")), futex.backend
    # The capabilities are the backend's, bit for bit (see README's table);
    # the two futex_waitv bits depend on the kernel (FUTEX_WAITV is 5.16+).
    expected_caps = {"linux": 15, "posix": 6, "single": 10}
    waitv_bits = futex.CAP_WAITV_NATIVE | futex.CAP_WAITV_EXACT
    assert futex.capabilities & ~(15 | waitv_bits) == 0
    if futex.backend in expected_caps:
        assert futex.capabilities & 15 == expected_caps[futex.backend]
    if futex.capabilities & futex.CAP_WAITV_NATIVE:
        assert futex.capabilities & futex.CAP_WAITV_EXACT  # the kernel's waitv sees every wake
    if not futex.capabilities & futex.CAP_SHARED:
        assert futex.capabilities & futex.CAP_WAITV_EXACT  # in-process only: every wake is ours to see
    assert (futex.CAP_WAITV_NATIVE, futex.CAP_WAITV_EXACT) == (16, 32)
    assert (futex.CAP_SHARED, futex.CAP_WAKE_COUNT, futex.CAP_ABSOLUTE_DEADLINE, futex.CAP_INTERRUPTIBLE) == (1, 2, 4, 8)
    want = os.environ.get("FUTEX_EXPECT_BACKEND")  # set by the suite when it builds a forced backend
    if want:
        assert futex.backend == want


def test_spin_setting():
    old = futex.get_spin()
    assert old == futex.SPIN_ADAPTIVE  # the default: a learned, timed spin
    try:
        futex.set_spin(0)
        assert futex.get_spin() == 0
        futex.set_spin(M - 1)
        assert futex.get_spin() == M - 1
        for bad, exc in ((-1, OverflowError), (M, OverflowError), (1.0, TypeError)):
            with pytest.raises(exc):
                futex.set_spin(bad)
            assert futex.get_spin() == M - 1
    finally:
        futex.set_spin(old)


# ---- bad input: a clear exception, and nothing touched -------------------

NOISE = bytes(range(0xA0, 0xB0))


@pytest.mark.parametrize(
    "offset, exc",
    [(-4, ValueError), (-1, ValueError), (2, ValueError), (13, ValueError), (16, ValueError),
     (20, ValueError), (2**70, ValueError), (-(2**70), ValueError), ("4", TypeError), (4.0, TypeError)],
)
def test_bad_offsets(offset, exc):
    buf = bytearray(NOISE)
    with pytest.raises(exc):
        futex.Cell(buf, offset)
    assert buf == NOISE
    buf.append(0)  # no export left behind: the bytearray can still resize


def test_misaligned_address():
    buf = bytearray(NOISE)
    view = memoryview(buf)[1:13]  # offset 0 of this view is an odd address
    with pytest.raises(ValueError, match="aligned"):
        futex.Cell(view, 0)
    with pytest.raises(ValueError):
        futex.Cell(view, 4)
    with futex.Cell(memoryview(buf)[4:], 4, shared=False) as c:  # aligned slices are fine
        c.store(0)
    assert buf[:8] == NOISE[:8] and buf[8:12] == bytes(4) and buf[12:] == NOISE[12:]


def test_offset_without_buffer():
    with pytest.raises(ValueError):
        futex.Cell(None, 4)


@pytest.mark.parametrize(
    "make",
    [lambda: b"abcd", lambda: memoryview(bytearray(8)).toreadonly(), lambda: "abcd", lambda: 5,
     lambda: object(), lambda: [0, 0, 0, 0]],
    ids=["bytes", "readonly-memoryview", "str", "int", "object", "list"],
)
def test_not_a_writable_buffer(make):
    with pytest.raises(TypeError):
        futex.Cell(make())


def test_read_only_mmap(tmp_path):
    path = tmp_path / "ro"
    path.write_bytes(bytes(8))
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 8, access=mmap.ACCESS_READ) as m:
        with pytest.raises(TypeError):
            futex.Cell(m)


def test_too_small_buffers():
    for n in (0, 1, 3):
        with pytest.raises(ValueError):
            futex.Cell(bytearray(n))


BAD_VALUES = [(-1, OverflowError), (M, OverflowError), (2**64, OverflowError), (-(2**70), OverflowError),
              (1.0, TypeError), ("1", TypeError), (None, TypeError)]


@pytest.mark.parametrize("value, exc", BAD_VALUES)
def test_bad_values_change_nothing(value, exc):
    buf = bytearray(NOISE)
    c = futex.Cell(buf, 4, shared=False)
    calls = [lambda: c.store(value), lambda: c.exchange(value), lambda: c.compare_exchange(value, 1),
             lambda: c.compare_exchange(word_of(NOISE, 4), value), lambda: c.wait(value, 0)]
    calls += [lambda name=name: getattr(c, name)(value) for name in UNARY]
    for call in calls:
        with pytest.raises(exc):
            call()
        assert buf == NOISE


@pytest.mark.parametrize("timeout, exc", [(-1, ValueError), (-0.001, ValueError), (float("nan"), ValueError),
                                          (float("-inf"), ValueError), (-(10**400), ValueError), ("1", TypeError), ([], TypeError)])
def test_bad_timeouts(timeout, exc):
    c = futex.Cell()
    with pytest.raises(exc):
        c.wait(0, timeout)
    with pytest.raises(exc):
        futex.Deadline(timeout)
    assert c.load() == 0


def test_bad_wake_counts():
    c = futex.Cell()
    with pytest.raises(ValueError):
        c.wake(-1)
    with pytest.raises(ValueError):
        c.wake(-(2**70))
    with pytest.raises(TypeError):
        c.wake(1.5)
    assert c.wake(2**70) == (0 if futex.capabilities & futex.CAP_WAKE_COUNT else None)  # "all"


def test_deadline_wait_needs_a_cell():
    with pytest.raises(TypeError):
        futex.Deadline(0).wait(bytearray(4), 0)


def test_use_after_release():
    buf = bytearray(NOISE)
    c = futex.Cell(buf, 4, shared=False)
    c.release()
    c.release()  # again: nothing to do
    for call in [c.load, lambda: c.store(1), lambda: c.exchange(1), lambda: c.compare_exchange(0, 1),
                 lambda: c.fetch_add(1), lambda: c.fetch_sub(1), lambda: c.fetch_and(1), lambda: c.fetch_or(1),
                 lambda: c.fetch_xor(1), lambda: c.wait(0, 0), lambda: c.wait(0), c.wake, c.wake_all,
                 lambda: c.wait_until(1, 0), lambda: c.store_and_wake(1), lambda: c.add_and_wake(1),
                 lambda: futex.Deadline(0).wait(c, 0), c.__enter__]:
        with pytest.raises(ValueError):
            call()
    assert buf == NOISE
    buf.append(0)  # the export is gone


def test_the_cell_pins_the_memory():
    m = mmap.mmap(-1, 4096)
    c = futex.Cell(m, 4092, shared=False)
    with pytest.raises(BufferError):
        m.close()
    c.store(3)  # still mapped
    c.release()
    m.close()

    m = mmap.mmap(-1, 4096)
    with futex.Cell(m, shared=False) as c:
        with pytest.raises(BufferError):
            m.close()
    m.close()  # the with block released it

    m = mmap.mmap(-1, 4096)
    c = futex.Cell(m, shared=False)
    del c
    gc.collect()
    m.close()  # garbage collection released it

    shm = shared_memory.SharedMemory(create=True, size=16)
    try:
        c = futex.Cell(shm.buf, 8, shared=False)
        with pytest.raises(BufferError):
            shm.close()
        c.release()
    finally:
        shm.close()
        shm.unlink()


def test_cells_cannot_be_pickled():
    import pickle

    with pytest.raises(TypeError):
        pickle.dumps(futex.Cell())


def test_package_ships_types_and_hides_the_core():
    import ctypes
    import importlib.resources

    files = importlib.resources.files("futex")
    assert (files / "py.typed").is_file() and (files / "__init__.pyi").is_file()
    # The core is compiled in with hidden visibility: it cannot clash with
    # a libfutex (or another binding) loaded into the same process.
    lib = ctypes.CDLL(futex._futex.__file__)
    assert hasattr(lib, "PyInit__futex")
    for name in ("futex_wait", "futex_wake", "futex_load", "futex__os_wait", "futex__os_name"):
        assert not hasattr(lib, name), name
