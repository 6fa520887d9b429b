/*
 * futex._futex — the CPython binding of libfutex.
 *
 * Thin by design: argument conversion, GIL and signal handling, and one
 * switch that maps core results to exceptions. Atomics, timeouts, deadlines
 * and error messages all come from the core (libfutex/futex.h), which
 * setup.py compiles into this module with hidden visibility.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "atomic.h"
#include "futex.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>

#ifndef ENOTSUP
#define ENOTSUP EOPNOTSUPP
#endif

/* PyType_Slot and PyModuleDef_Slot hold every slot as a void *. ISO C has
 * no conversion between function and object pointers, so go through
 * uintptr_t, which holds either on every platform CPython supports. */
#define SLOT(id, p) {(id), (void *)(uintptr_t)(p)}

/* A type's tp_alloc and tp_free through PyType_GetSlot, as the Limited API
 * has no struct fields; the same uintptr_t detour back to a function. */
static allocfunc slot_alloc(PyTypeObject *type) { return (allocfunc)(uintptr_t)PyType_GetSlot(type, Py_tp_alloc); }
static freefunc slot_free(PyTypeObject *type) { return (freefunc)(uintptr_t)PyType_GetSlot(type, Py_tp_free); }

typedef struct {
    PyTypeObject *cell_type;
    PyTypeObject *deadline_type;
} module_state;

static struct PyModuleDef futex_module;

/* The types are not subclassable (no Py_TPFLAGS_BASETYPE), so the type of
 * self is the one the module made, and PyType_GetModule (in the Limited
 * API, unlike PyType_GetModuleByDef before 3.13) finds the module. */
static module_state *state_of_type(PyTypeObject *type)
{
    PyObject *mod = PyType_GetModule(type);
    return mod == NULL ? NULL : (module_state *)PyModule_GetState(mod);
}

/* ---- errors ------------------------------------------------------------- */

/* TypeError(format % type(obj).__name__), format holding one %U: tp_name is
 * not in the Limited API. */
static void type_error(const char *format, PyObject *obj)
{
    PyObject *name = PyType_GetName(Py_TYPE(obj));
    if (name != NULL) {
        PyErr_Format(PyExc_TypeError, format, name);
        Py_DECREF(name);
    }
}

/* OSError(err, text): the errno attribute set, and the subclass (e.g.
 * TimeoutError) chosen by err as for any OS call. Steals text. */
static PyObject *raise_oserror(int err, PyObject *text)
{
    if (text == NULL)
        return NULL;
    PyObject *args = Py_BuildValue("(iN)", err, text);
    if (args != NULL) {
        PyErr_SetObject(PyExc_OSError, args);
        Py_DECREF(args);
    }
    return NULL;
}

/* The one place a core result becomes a Python exception (pygit2's
 * error.c). Messages are the core's own (futex_strerror). */
static PyObject *raise_result(int rc)
{
    const char *msg = futex_strerror(rc);
    switch (-rc) {
    case EINVAL:
        PyErr_SetString(PyExc_ValueError, msg);
        return NULL;
    case ENOTSUP:
        /* Only FUTEX_SHARED leads here: tell the caller the way out. */
        return raise_oserror(ENOTSUP, PyUnicode_FromFormat("%s (%s); pass shared=False", msg, futex_backend()));
    case EAGAIN:
    case ETIMEDOUT:
    case EINTR:
        /* Results, not errors: every caller handles them before coming here. */
        PyErr_Format(PyExc_SystemError, "futex: unhandled result %d (%s)", rc, msg);
        return NULL;
    default:
        /* -EDEADLK (single backend), -EFAULT, -ENOSYS and anything new: an OS
         * error, with the errno the core gave. */
        return raise_oserror(-rc, PyUnicode_FromString(msg));
    }
}

/* ---- argument conversion ------------------------------------------------ */

/* An int in [0, 2**32): TypeError for non-ints, OverflowError otherwise. */
static int to_u32(PyObject *obj, uint32_t *out, const char *what)
{
    PyObject *idx = PyNumber_Index(obj);
    if (idx == NULL)
        return -1;
    int overflow = 0;
    long long v = PyLong_AsLongLongAndOverflow(idx, &overflow);
    Py_DECREF(idx);
    if (v == -1 && PyErr_Occurred())
        return -1;
    if (overflow != 0 || v < 0 || v > 0xFFFFFFFFll) {
        /* No %R: the repr of a huge int is itself an error (the int-to-str
         * digit limit), and a message need not print 5000 digits. */
        PyErr_Format(PyExc_OverflowError, "%s must be in [0, 2**32), got %s", what,
                     overflow > 0 ? "a larger int" : overflow < 0 || v < 0 ? "a negative int" : "a larger int");
        return -1;
    }
    *out = (uint32_t)v;
    return 0;
}

/* Seconds (int or float, None: forever) to the core's nanoseconds, by the
 * core's one rule (futex_seconds_to_ns); parsed like Lock.acquire: negative
 * or NaN -> ValueError. */
static int to_timeout_ns(PyObject *obj, uint64_t *out)
{
    if (obj == Py_None) {
        *out = FUTEX_FOREVER;
        return 0;
    }
    if (!PyFloat_Check(obj) && !PyLong_Check(obj)) {
        type_error("timeout must be a number of seconds or None, not %U", obj);
        return -1;
    }
    double s = PyFloat_AsDouble(obj);
    if (s == -1.0 && PyErr_Occurred()) {
        /* An int past the float range is an infinity of its sign. */
        if (!PyLong_Check(obj) || !PyErr_ExceptionMatches(PyExc_OverflowError))
            return -1;
        PyErr_Clear();
        PyObject *zero = PyLong_FromLong(0);
        int negative = zero == NULL ? -1 : PyObject_RichCompareBool(obj, zero, Py_LT);
        Py_XDECREF(zero);
        if (negative < 0)
            return -1;
        s = negative ? -INFINITY : INFINITY;
    }
    if (futex_seconds_to_ns(s, out) != 0) {
        PyErr_SetString(PyExc_ValueError, "timeout must be >= 0 seconds or None (not negative, not NaN)");
        return -1;
    }
    return 0;
}

/* ---- Cell ----------------------------------------------------------------- */

/* state: RELEASED plus the number of calls using the word right now. The
 * buffer export is dropped by whoever leaves state at exactly RELEASED, so a
 * release() while another thread blocks in wait() cannot unmap its word:
 * the export goes when that wait returns. Atomic because the module
 * declares Py_MOD_GIL_NOT_USED. */
#define RELEASED 0x80000000u

typedef struct {
    PyObject_HEAD
    uint32_t *word;
    Py_buffer view; /* view.obj is NULL when the cell owns its word */
    Py_ssize_t offset;
    unsigned flags; /* FUTEX_SHARED or FUTEX_PRIVATE */
    uint32_t state;
    uint32_t own;    /* the word when no buffer was given */
    uint32_t broken; /* atomic: the word's page lost its file (futex_guard_*) */
    uint32_t forks;  /* atomic: fork_count when `state` last belonged to this process */
} CellObject;

/* ---- fork ---------------------------------------------------------------
 * A child forked while another thread waited on a cell inherits that wait's
 * in-use count, but not the thread: the count would never drop, release()
 * could never drop the export, and the buffer could never close. So each
 * fork bumps a counter, and the first use of a cell in a new process drops
 * the counts of threads that stayed behind in the parent. */
static uint32_t fork_count; /* process-wide: a fork copies every interpreter */

#if !defined(_WIN32)
#include <pthread.h>
static void count_fork(void) { futex__atomic_fetch_add(&fork_count, 1, FUTEX__RELAXED); }
#endif

/* Makes the cell's state this process's: right after a fork only the
 * forking thread exists, so the first of its calls to get here resets the
 * count to what it owns (nothing) and keeps RELEASED. */
static void adopt(CellObject *c)
{
    uint32_t now = futex__atomic_load(&fork_count, FUTEX__RELAXED);
    uint32_t seen = futex__atomic_load(&c->forks, FUTEX__RELAXED);
    if (seen != now && futex__atomic_cas(&c->forks, &seen, now, FUTEX__ACQ_REL))
        futex__atomic_fetch_and(&c->state, RELEASED, FUTEX__ACQ_REL);
}

static void drop_export(CellObject *c)
{
    if (c->view.obj != NULL) {
        /* The mapping may go with the export; a new one may reuse the address. */
        if (futex__atomic_load(&c->broken, FUTEX__RELAXED))
            futex_guard_forget(c->word, sizeof *c->word);
        PyBuffer_Release(&c->view);
    }
    c->word = NULL;
}

/* Marks the word in use; ValueError once released. */
static int enter(CellObject *c)
{
    adopt(c);
    uint32_t s = futex__atomic_load(&c->state, FUTEX__ACQUIRE);
    do {
        if (s & RELEASED) {
            PyErr_SetString(PyExc_ValueError, "operation on a released futex.Cell");
            return -1;
        }
    } while (!futex__atomic_cas(&c->state, &s, s + 1, FUTEX__ACQ_REL));
    return 0;
}

static void leave(CellObject *c)
{
    if (futex__atomic_fetch_sub(&c->state, 1, FUTEX__ACQ_REL) - 1 == RELEASED)
        drop_export(c); /* a release() came while we used the word: finish it */
}

/* Every operation on the word runs between begin_op and end_op: enter(),
 * and a fault guard (futex_guard_begin), so a buffer whose file another
 * process shrank raises OSError(EFAULT) instead of killing the process with
 * a SIGBUS. Once broken, the cell stays broken. */
static int begin_op(CellObject *c)
{
    if (enter(c) < 0)
        return -1;
    if (c->view.obj == NULL)
        return 0; /* the cell's own word: always mapped */
    if (futex__atomic_load(&c->broken, FUTEX__RELAXED) || futex_guard_begin(c->word) < 0) {
        futex__atomic_store(&c->broken, 1, FUTEX__RELAXED);
        leave(c);
        raise_result(-EFAULT);
        return -1;
    }
    return 0;
}

static int end_op(CellObject *c)
{
    int rc = c->view.obj != NULL ? futex_guard_end() : 0;
    if (rc < 0)
        futex__atomic_store(&c->broken, 1, FUTEX__RELAXED);
    leave(c);
    if (rc < 0) {
        raise_result(rc); /* the operation ran on zeros: its result is meaningless */
        return -1;
    }
    return 0;
}

static PyObject *cell_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"buffer", "offset", "shared", NULL};
    PyObject *buffer = Py_None, *offset_obj = NULL, *shared_obj = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|OO$O:Cell", kwlist, &buffer, &offset_obj, &shared_obj))
        return NULL;

    Py_ssize_t offset = 0;
    int offset_huge = 0; /* past Py_ssize_t: -1 or +1, reported as such, not as a clamped number */
    if (offset_obj != NULL) {
        PyObject *idx = PyNumber_Index(offset_obj);
        if (idx == NULL)
            return NULL;
        long long v = PyLong_AsLongLongAndOverflow(idx, &offset_huge);
        Py_DECREF(idx);
        if (v == -1 && PyErr_Occurred())
            return NULL;
        if (offset_huge == 0 && (v > PY_SSIZE_T_MAX || v < PY_SSIZE_T_MIN))
            offset_huge = v < 0 ? -1 : 1;
        offset = offset_huge == 0 ? (Py_ssize_t)v : 0;
    }
    int shared = buffer != Py_None;
    if (shared_obj != Py_None && (shared = PyObject_IsTrue(shared_obj)) < 0)
        return NULL;

    Py_buffer view = {0};
    if (buffer != Py_None) {
        if (!PyObject_CheckBuffer(buffer)) {
            type_error("buffer must support the buffer protocol (bytearray, mmap, ...), not %U", buffer);
            return NULL;
        }
        if (PyObject_GetBuffer(buffer, &view, PyBUF_WRITABLE) < 0) {
            /* Tell a read-only buffer (bytes, a read-only memoryview or mmap)
             * from other refusals: it gets a TypeError. */
            Py_buffer probe;
            if (PyErr_ExceptionMatches(PyExc_BufferError) && PyObject_GetBuffer(buffer, &probe, PyBUF_SIMPLE) == 0) {
                PyBuffer_Release(&probe);
                type_error("buffer must be writable; %U is read-only", buffer);
            } else if (PyErr_ExceptionMatches(PyExc_BufferError)) {
                /* Writable but not one block of memory: say what would do. */
                PyErr_Clear();
                if (PyObject_GetBuffer(buffer, &probe, PyBUF_WRITABLE | PyBUF_STRIDES) == 0) {
                    PyBuffer_Release(&probe);
                    PyErr_SetString(PyExc_BufferError,
                                    "buffer must be one contiguous block of memory, and this one is not (a "
                                    "memoryview slice with a step?): pass the object it views, or a contiguous copy");
                } else {
                    PyErr_Clear();
                    PyErr_SetString(PyExc_BufferError, "the buffer refused to export itself as writable memory");
                }
            }
            return NULL;
        }
        const char *err = NULL;
        if (offset_huge != 0) {
            PyErr_Format(PyExc_ValueError, "offset must be %s (buffer of %zd bytes)",
                         offset_huge < 0 ? ">= 0" : "<= len(buffer) - 4", view.len);
            PyBuffer_Release(&view);
            return NULL;
        }
        if (offset < 0)
            err = "offset must be >= 0";
        else if (offset % 4 != 0)
            err = "offset must be a multiple of 4";
        else if (view.len < 4 || offset > view.len - 4)
            err = "offset + 4 must be <= len(buffer)";
        else if (((uintptr_t)((char *)view.buf + offset) & 3u) != 0)
            /* The atomics do not check (the core's fast path): we must. */
            err = "the word's address is not 4-byte aligned (is the buffer a slice at an odd offset?)";
        if (err != NULL) {
            PyErr_Format(PyExc_ValueError, "%s (offset %zd, buffer of %zd bytes)", err, offset, view.len);
            PyBuffer_Release(&view);
            return NULL;
        }
    } else if (offset != 0 || offset_huge != 0) {
        PyErr_SetString(PyExc_ValueError, "offset needs a buffer");
        return NULL;
    }
    /* Refuse now rather than at the first wait: the backend is fixed. */
    if (shared && !(futex_capabilities() & FUTEX_CAP_SHARED)) {
        if (view.obj != NULL)
            PyBuffer_Release(&view);
        return raise_result(-ENOTSUP);
    }

    CellObject *c = (CellObject *)slot_alloc(type)(type, 0);
    if (c == NULL) {
        if (view.obj != NULL)
            PyBuffer_Release(&view);
        return NULL;
    }
    c->view = view;
    c->offset = offset;
    c->flags = shared ? FUTEX_SHARED : FUTEX_PRIVATE;
    c->state = 0;
    c->own = 0;
    c->broken = 0;
    c->forks = futex__atomic_load(&fork_count, FUTEX__RELAXED);
    c->word = view.obj != NULL ? (uint32_t *)((char *)view.buf + offset) : &c->own;
    return (PyObject *)c;
}

static int cell_traverse(PyObject *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(((CellObject *)self)->view.obj);
    return 0;
}

static int cell_clear(PyObject *self)
{
    CellObject *c = (CellObject *)self;
    /* The GC only clears an object no running call holds, so no wait uses
     * the word: mark released and drop the export now. */
    if (!(futex__atomic_fetch_or(&c->state, RELEASED, FUTEX__ACQ_REL) & RELEASED))
        drop_export(c);
    return 0;
}

static void cell_dealloc(PyObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    cell_clear(self);
    slot_free(tp)(self);
    Py_DECREF(tp);
}

static PyObject *cell_release(PyObject *self, PyObject *Py_UNUSED(ignored))
{
    CellObject *c = (CellObject *)self;
    adopt(c);
    uint32_t old = futex__atomic_fetch_or(&c->state, RELEASED, FUTEX__ACQ_REL);
    if (old == 0)
        drop_export(c); /* nobody is using the word; else the last leave() drops it */
    Py_RETURN_NONE;
}

static PyObject *cell_enter(PyObject *self, PyObject *Py_UNUSED(ignored))
{
    if (futex__atomic_load(&((CellObject *)self)->state, FUTEX__ACQUIRE) & RELEASED) {
        PyErr_SetString(PyExc_ValueError, "operation on a released futex.Cell");
        return NULL;
    }
    return Py_NewRef(self);
}

static PyObject *cell_exit(PyObject *self, PyObject *Py_UNUSED(args)) { return cell_release(self, NULL); }

static PyObject *cell_load(PyObject *self, PyObject *Py_UNUSED(ignored))
{
    CellObject *c = (CellObject *)self;
    if (begin_op(c) < 0)
        return NULL;
    uint32_t v = futex_load(c->word);
    if (end_op(c) < 0)
        return NULL;
    return PyLong_FromUnsignedLong(v);
}

static PyObject *cell_store(PyObject *self, PyObject *arg)
{
    CellObject *c = (CellObject *)self;
    uint32_t v;
    if (to_u32(arg, &v, "value") < 0 || begin_op(c) < 0)
        return NULL;
    futex_store(c->word, v);
    if (end_op(c) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *cell_compare_exchange(PyObject *self, PyObject *args)
{
    CellObject *c = (CellObject *)self;
    PyObject *expected_obj, *desired_obj;
    uint32_t expected, desired;
    if (!PyArg_ParseTuple(args, "OO:compare_exchange", &expected_obj, &desired_obj))
        return NULL;
    if (to_u32(expected_obj, &expected, "expected") < 0 || to_u32(desired_obj, &desired, "desired") < 0 ||
        begin_op(c) < 0)
        return NULL;
    uint32_t old = futex_compare_exchange(c->word, expected, desired);
    if (end_op(c) < 0)
        return NULL;
    return PyLong_FromUnsignedLong(old);
}

/* The read-modify-write ops differ only in the core function they call. */
#define RMW_METHOD(name)                                                                                               \
    static PyObject *cell_##name(PyObject *self, PyObject *arg)                                                        \
    {                                                                                                                  \
        CellObject *c = (CellObject *)self;                                                                            \
        uint32_t v;                                                                                                    \
        if (to_u32(arg, &v, "value") < 0 || begin_op(c) < 0)                                                           \
            return NULL;                                                                                               \
        uint32_t old = futex_##name(c->word, v);                                                                       \
        if (end_op(c) < 0)                                                                                             \
            return NULL;                                                                                               \
        return PyLong_FromUnsignedLong(old);                                                                           \
    }
RMW_METHOD(exchange)
RMW_METHOD(fetch_add)
RMW_METHOD(fetch_sub)
RMW_METHOD(fetch_and)
RMW_METHOD(fetch_or)
RMW_METHOD(fetch_xor)

/* The one blocking loop behind Cell.wait and Deadline.wait: the core's
 * interruptible wait (futex_deadline_wait_intr, CPython's acquire_timed
 * shape) with the GIL released, and after each -EINTR the signal handlers,
 * then the same call again on the same absolute deadline. Blocking calls
 * that take a futex_deadline and return -EINTR reuse it through `call`.
 * Returns the core's result, or RAISED with an exception set (a handler
 * raised): not -1, which is -EPERM.
 * The caller has enter()ed the cell. */
#define RAISED INT_MIN
typedef int (*blocking_call)(void *arg, const futex_deadline *d, unsigned nospin);

static int block_until(blocking_call call, void *arg, const futex_deadline *d)
{
    unsigned nospin = 0;
    int rc;
    for (;;) {
        Py_BEGIN_ALLOW_THREADS
        rc = call(arg, d, nospin);
        Py_END_ALLOW_THREADS
        if (rc != -EINTR)
            return rc;
        if (PyErr_CheckSignals() < 0) /* a handler raised (KeyboardInterrupt) */
            return RAISED;
        nospin = FUTEX_NOSPIN; /* we spun once already; go straight back to sleep */
    }
}

typedef struct {
    CellObject *c;
    uint32_t expected;
    unsigned flags;
} cell_wait_args;

static int cell_wait_call(void *arg, const futex_deadline *d, unsigned nospin)
{
    cell_wait_args *a = arg;
    return futex_deadline_wait_intr(d, a->c->word, a->expected, a->flags | nospin);
}

static PyObject *wait_until(CellObject *c, uint32_t expected, const futex_deadline *d, int spin)
{
    cell_wait_args a = {c, expected, c->flags | (spin ? 0u : FUTEX_NOSPIN)};
    /* Try holding the GIL first: a zero timeout is the core's check-only
     * path, which validates the flags and compares the word in place. */
    int rc = futex_timed_wait(c->word, expected, 0, a.flags);
    if (rc == -ETIMEDOUT && futex_deadline_remaining_ns(d) != 0)
        rc = block_until(cell_wait_call, &a, d);
    switch (rc) {
    case RAISED: return NULL;    /* a signal handler raised */
    case 0:                      /* woken, or a spurious wakeup: the caller re-checks */
    case -EAGAIN:                /* the word no longer holds expected */
        Py_RETURN_TRUE;
    case -ETIMEDOUT:             /* the core has checked the deadline really passed */
        Py_RETURN_FALSE;
    default:
        return raise_result(rc);
    }
}

static int parse_spin(PyObject *obj)
{
    return obj == NULL ? 1 : PyObject_IsTrue(obj);
}

/* The arguments of a METH_FASTCALL | METH_KEYWORDS method (wait, wake and the
 * helpers sit on a ping-pong's hot path, where tuple-and-dict parsing is a
 * good part of a call): out[i] is the argument named names[i], or NULL if not given; the
 * first `required` must be given; those past `npos` are keyword-only. */
static int fast_args(const char *fname, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames,
                     const char *const *names, int n, int npos, int required, PyObject **out)
{
    for (int i = 0; i < n; i++)
        out[i] = i < nargs ? args[i] : NULL;
    if (nargs > npos) {
        PyErr_Format(PyExc_TypeError, "%s() takes at most %d positional arguments (%zd given)", fname, npos, nargs);
        return -1;
    }
    Py_ssize_t nkw = kwnames == NULL ? 0 : PyTuple_Size(kwnames);
    for (Py_ssize_t k = 0; k < nkw; k++) {
        PyObject *key = PyTuple_GetItem(kwnames, k);
        int found = -1;
        for (int i = 0; i < n && found < 0; i++)
            if (PyUnicode_CompareWithASCIIString(key, names[i]) == 0)
                found = i;
        if (found < 0) {
            PyErr_Format(PyExc_TypeError, "%s() got an unexpected keyword argument '%U'", fname, key);
            return -1;
        }
        if (out[found] != NULL) {
            PyErr_Format(PyExc_TypeError, "%s() got multiple values for argument '%s'", fname, names[found]);
            return -1;
        }
        out[found] = args[nargs + k];
    }
    for (int i = 0; i < required; i++)
        if (out[i] == NULL) {
            PyErr_Format(PyExc_TypeError, "%s() missing required argument '%s'", fname, names[i]);
            return -1;
        }
    return 0;
}

static PyObject *cell_wait(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    static const char *const names[] = {"expected", "timeout", "spin"};
    CellObject *c = (CellObject *)self;
    PyObject *a[3];
    uint32_t expected;
    uint64_t timeout_ns;
    int spin;
    if (fast_args("wait", args, nargs, kwnames, names, 3, 2, 1, a) < 0 || to_u32(a[0], &expected, "expected") < 0 ||
        to_timeout_ns(a[1] == NULL ? Py_None : a[1], &timeout_ns) < 0 || (spin = parse_spin(a[2])) < 0)
        return NULL;
    futex_deadline d;
    futex_deadline_init(&d, timeout_ns);
    if (begin_op(c) < 0)
        return NULL;
    PyObject *res = wait_until(c, expected, &d, spin);
    if (end_op(c) < 0)
        Py_CLEAR(res);
    return res;
}

/* A wake count: NULL (not given) is 1; n >= 0, and n >= 2**32 - 1 means
 * everyone (FUTEX_ALL); negative -> ValueError. */
static int to_wake_count(PyObject *n_obj, uint32_t *n)
{
    *n = 1;
    if (n_obj == NULL)
        return 0;
    PyObject *idx = PyNumber_Index(n_obj);
    if (idx == NULL)
        return -1;
    int overflow = 0;
    long long v = PyLong_AsLongLongAndOverflow(idx, &overflow);
    Py_DECREF(idx);
    if (v == -1 && PyErr_Occurred())
        return -1;
    if (overflow < 0 || (overflow == 0 && v < 0)) {
        PyErr_Format(PyExc_ValueError, "n must be >= 0, got %R", n_obj);
        return -1;
    }
    *n = overflow > 0 || v >= (long long)FUTEX_ALL ? FUTEX_ALL : (uint32_t)v;
    return 0;
}

/* wake(n): n >= 0; n >= 2**32 - 1 means everyone. None where the OS does
 * not say how many it woke. */
static PyObject *wake_result(int rc)
{
    if (rc == FUTEX_UNCOUNTED)
        Py_RETURN_NONE;
    if (rc < 0)
        return raise_result(rc);
    return PyLong_FromLong(rc);
}

static PyObject *cell_wake(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    static const char *const names[] = {"n"};
    CellObject *c = (CellObject *)self;
    PyObject *n_obj;
    uint32_t n;
    if (fast_args("wake", args, nargs, kwnames, names, 1, 1, 0, &n_obj) < 0 || to_wake_count(n_obj, &n) < 0)
        return NULL;
    if (begin_op(c) < 0)
        return NULL;
    int rc = futex_wake(c->word, n, c->flags);
    if (end_op(c) < 0)
        return NULL;
    return wake_result(rc);
}

static PyObject *cell_wake_all(PyObject *self, PyObject *Py_UNUSED(ignored))
{
    CellObject *c = (CellObject *)self;
    if (begin_op(c) < 0)
        return NULL;
    int rc = futex_wake(c->word, FUTEX_ALL, c->flags);
    if (end_op(c) < 0)
        return NULL;
    return wake_result(rc);
}

/* ---- waits whose loop runs in C, and store/add-then-wake ----------------- */

typedef struct {
    CellObject *c;
    uint32_t want;
    unsigned flags;
} cell_until_args;

static int cell_until_call(void *arg, const futex_deadline *d, unsigned nospin)
{
    cell_until_args *a = arg;
    return futex_wait_until(d, a->c->word, a->want, a->flags | nospin);
}

static PyObject *cell_wait_until(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    static const char *const names[] = {"value", "timeout", "spin"};
    CellObject *c = (CellObject *)self;
    PyObject *a[3];
    uint32_t want;
    uint64_t timeout_ns;
    int spin;
    if (fast_args("wait_until", args, nargs, kwnames, names, 3, 2, 1, a) < 0 || to_u32(a[0], &want, "value") < 0 ||
        to_timeout_ns(a[1] == NULL ? Py_None : a[1], &timeout_ns) < 0 || (spin = parse_spin(a[2])) < 0)
        return NULL;
    futex_deadline d;
    futex_deadline_init(&d, timeout_ns);
    if (begin_op(c) < 0)
        return NULL;
    cell_until_args u = {c, want, c->flags | (spin ? 0u : FUTEX_NOSPIN)};
    /* Holding the GIL, the word already there is the whole call; else the
     * core's loop runs with the GIL released, by the one blocking policy. */
    int rc = futex_load(c->word) == want ? 0 : block_until(cell_until_call, &u, &d);
    PyObject *res;
    switch (rc) {
    case RAISED: res = NULL; break;                    /* a signal handler raised */
    case 0: res = Py_NewRef(Py_True); break;           /* the word was seen holding value */
    case -ETIMEDOUT: res = Py_NewRef(Py_False); break; /* the core checked the deadline passed */
    default: res = raise_result(rc); break;
    }
    if (end_op(c) < 0)
        Py_CLEAR(res);
    return res;
}

/* store_and_wake(value, n=1) and add_and_wake(delta, n=1): one core call. */
static PyObject *cell_change_and_wake(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames,
                                      int add)
{
    static const char *const store_names[] = {"value", "n"}, *const add_names[] = {"delta", "n"};
    CellObject *c = (CellObject *)self;
    PyObject *a[2];
    uint32_t v, n, old = 0;
    if (fast_args(add ? "add_and_wake" : "store_and_wake", args, nargs, kwnames, add ? add_names : store_names, 2, 2,
                  1, a) < 0 ||
        to_u32(a[0], &v, add ? "delta" : "value") < 0 || to_wake_count(a[1], &n) < 0 || begin_op(c) < 0)
        return NULL;
    int rc = add ? futex_add_wake(c->word, v, n, c->flags, &old) : futex_store_wake(c->word, v, n, c->flags);
    if (end_op(c) < 0)
        return NULL;
    if (rc < 0 && rc != FUTEX_UNCOUNTED)
        return raise_result(rc);
    return add ? PyLong_FromUnsignedLong(old) : wake_result(rc);
}

static PyObject *cell_store_and_wake(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    return cell_change_and_wake(self, args, nargs, kwnames, 0);
}

static PyObject *cell_add_and_wake(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    return cell_change_and_wake(self, args, nargs, kwnames, 1);
}

static PyObject *cell_repr(PyObject *self)
{
    CellObject *c = (CellObject *)self;
    if (futex__atomic_load(&c->state, FUTEX__ACQUIRE) & RELEASED)
        return PyUnicode_FromFormat("<futex.Cell released>");
    if (begin_op(c) < 0)
        return NULL;
    unsigned long v = futex_load(c->word);
    if (end_op(c) < 0)
        return NULL;
    return PyUnicode_FromFormat("<futex.Cell offset=%zd value=%lu shared=%s>", c->offset, v,
                                (c->flags & FUTEX_SHARED) ? "True" : "False");
}

static PyObject *cell_get_offset(PyObject *self, void *Py_UNUSED(closure))
{
    return PyLong_FromSsize_t(((CellObject *)self)->offset);
}

static PyObject *cell_get_shared(PyObject *self, void *Py_UNUSED(closure))
{
    return PyBool_FromLong(((CellObject *)self)->flags & FUTEX_SHARED);
}

static PyObject *cell_get_released(PyObject *self, void *Py_UNUSED(closure))
{
    return PyBool_FromLong((futex__atomic_load(&((CellObject *)self)->state, FUTEX__ACQUIRE) & RELEASED) != 0);
}

static PyMethodDef cell_methods[] = {
    {"load", cell_load, METH_NOARGS, "load() -> int\n\nThe current value (sequentially consistent)."},
    {"store", cell_store, METH_O, "store(value)\n\nStore value, an int in [0, 2**32)."},
    {"exchange", cell_exchange, METH_O, "exchange(value) -> old\n\nStore value; return the previous one."},
    {"compare_exchange", cell_compare_exchange, METH_VARARGS,
     "compare_exchange(expected, desired) -> old\n\nStore desired if the cell holds expected; return the "
     "previous value (== expected on success)."},
    {"fetch_add", cell_fetch_add, METH_O, "fetch_add(v) -> old\n\nAdd v modulo 2**32; return the previous value."},
    {"fetch_sub", cell_fetch_sub, METH_O, "fetch_sub(v) -> old\n\nSubtract v modulo 2**32; return the previous value."},
    {"fetch_and", cell_fetch_and, METH_O, "fetch_and(v) -> old\n\nBitwise and; return the previous value."},
    {"fetch_or", cell_fetch_or, METH_O, "fetch_or(v) -> old\n\nBitwise or; return the previous value."},
    {"fetch_xor", cell_fetch_xor, METH_O, "fetch_xor(v) -> old\n\nBitwise xor; return the previous value."},
    {"wait", (PyCFunction)(void (*)(void))cell_wait, METH_FASTCALL | METH_KEYWORDS,
     "wait(expected, timeout=None, *, spin=True) -> bool\n\n"
     "Return True at once if the cell does not hold expected; else block until woken (or a spurious\n"
     "wakeup): True, or until timeout seconds passed: False. timeout None waits forever, 0 only checks.\n"
     "Signals run their handlers during the wait; one that raises ends it with that exception.\n"
     "spin=False skips the short spin before sleeping."},
    {"wake", (PyCFunction)(void (*)(void))cell_wake, METH_FASTCALL | METH_KEYWORDS,
     "wake(n=1) -> int | None\n\nWake up to n waiters: the number woken, or None where the OS does not say."},
    {"wake_all", cell_wake_all, METH_NOARGS, "wake_all() -> int | None\n\nWake every waiter."},
    {"wait_until", (PyCFunction)(void (*)(void))cell_wait_until, METH_FASTCALL | METH_KEYWORDS,
     "wait_until(value, timeout=None, *, spin=True) -> bool\n\n"
     "Block until the cell holds value: True (at once if it does), or until timeout seconds passed:\n"
     "False. The whole loop -- look, wait on what the cell holds, look again -- runs in C, so spurious\n"
     "wakeups and passing values never return. timeout and signals as wait()."},
    {"store_and_wake", (PyCFunction)(void (*)(void))cell_store_and_wake, METH_FASTCALL | METH_KEYWORDS,
     "store_and_wake(value, n=1) -> int | None\n\n"
     "store(value), then wake(n), in one call: the number woken, or None where the OS does not say."},
    {"add_and_wake", (PyCFunction)(void (*)(void))cell_add_and_wake, METH_FASTCALL | METH_KEYWORDS,
     "add_and_wake(delta, n=1) -> old\n\n"
     "fetch_add(delta), then wake(n), in one call: the previous value."},
    {"release", cell_release, METH_NOARGS,
     "release()\n\nDrop the buffer export; every later call raises ValueError. A wait blocked in another\n"
     "thread keeps the export until it returns. Calling it again does nothing."},
    {"__enter__", cell_enter, METH_NOARGS, NULL},
    {"__exit__", cell_exit, METH_VARARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef cell_getset[] = {
    {"offset", cell_get_offset, NULL, "Byte offset of the word in the buffer.", NULL},
    {"shared", cell_get_shared, NULL, "True if waits and wakes reach other processes.", NULL},
    {"released", cell_get_released, NULL, "True after release().", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

PyDoc_STRVAR(cell_doc, "Cell(buffer=None, offset=0, *, shared=None)\n\n"
                       "An atomic 32-bit unsigned word at `offset` (a multiple of 4) of a writable buffer, with\n"
                       "futex wait and wake. The cell holds the buffer export until release(), the end of a\n"
                       "`with` block, or garbage collection. buffer=None: the cell owns 4 private bytes.\n"
                       "shared=None means True with a buffer, False without.");

static PyType_Slot cell_slots[] = {
    SLOT(Py_tp_doc, cell_doc),
    SLOT(Py_tp_new, cell_new),
    SLOT(Py_tp_dealloc, cell_dealloc),
    SLOT(Py_tp_traverse, cell_traverse),
    SLOT(Py_tp_clear, cell_clear),
    SLOT(Py_tp_repr, cell_repr),
    SLOT(Py_tp_methods, cell_methods),
    SLOT(Py_tp_getset, cell_getset),
    {0, NULL},
};

static PyType_Spec cell_spec = {
    .name = "futex.Cell",
    .basicsize = sizeof(CellObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_IMMUTABLETYPE,
    .slots = cell_slots,
};

/* ---- Deadline ------------------------------------------------------------ */

typedef struct {
    PyObject_HEAD
    futex_deadline d;
} DeadlineObject;

static PyObject *deadline_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"timeout", NULL};
    PyObject *timeout_obj = Py_None;
    uint64_t ns;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|O:Deadline", kwlist, &timeout_obj) ||
        to_timeout_ns(timeout_obj, &ns) < 0)
        return NULL;
    DeadlineObject *self = (DeadlineObject *)slot_alloc(type)(type, 0);
    if (self != NULL)
        futex_deadline_init(&self->d, ns);
    return (PyObject *)self;
}

static int deadline_traverse(PyObject *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    return 0;
}

static void deadline_dealloc(PyObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    slot_free(tp)(self);
    Py_DECREF(tp);
}

static PyObject *deadline_wait(PyObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"cell", "expected", "spin", NULL};
    PyObject *cell_obj, *expected_obj, *spin_obj = NULL;
    uint32_t expected;
    int spin;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OO|$O:wait", kwlist, &cell_obj, &expected_obj, &spin_obj))
        return NULL;
    module_state *st = state_of_type(Py_TYPE(self));
    if (st == NULL)
        return NULL;
    if (!PyObject_TypeCheck(cell_obj, st->cell_type)) {
        type_error("cell must be a futex.Cell, not %U", cell_obj);
        return NULL;
    }
    if (to_u32(expected_obj, &expected, "expected") < 0 || (spin = parse_spin(spin_obj)) < 0)
        return NULL;
    CellObject *c = (CellObject *)cell_obj;
    if (begin_op(c) < 0)
        return NULL;
    PyObject *res = wait_until(c, expected, &((DeadlineObject *)self)->d, spin);
    if (end_op(c) < 0)
        Py_CLEAR(res);
    return res;
}

static PyObject *deadline_get_remaining(PyObject *self, void *Py_UNUSED(closure))
{
    uint64_t ns = futex_deadline_remaining_ns(&((DeadlineObject *)self)->d);
    if (ns == FUTEX_FOREVER)
        Py_RETURN_NONE;
    return PyFloat_FromDouble((double)ns / 1e9);
}

static PyObject *deadline_get_expired(PyObject *self, void *Py_UNUSED(closure))
{
    return PyBool_FromLong(futex_deadline_remaining_ns(&((DeadlineObject *)self)->d) == 0);
}

static PyObject *deadline_repr(PyObject *self)
{
    uint64_t ns = futex_deadline_remaining_ns(&((DeadlineObject *)self)->d);
    if (ns == FUTEX_FOREVER)
        return PyUnicode_FromString("<futex.Deadline never>");
    /* %f is not supported by PyUnicode_FromFormat: format milliseconds. */
    return PyUnicode_FromFormat("<futex.Deadline remaining=%llu.%03llus>", (unsigned long long)(ns / 1000000000u),
                                (unsigned long long)(ns / 1000000u % 1000u));
}

static PyMethodDef deadline_methods[] = {
    {"wait", (PyCFunction)(void (*)(void))deadline_wait, METH_VARARGS | METH_KEYWORDS,
     "wait(cell, expected, *, spin=True) -> bool\n\n"
     "cell.wait(expected) until this deadline: True if the cell does not hold expected or a wake came\n"
     "(spurious ones included), False once the deadline has passed. Call it in a loop: the deadline is\n"
     "absolute, so re-waits never add up to more than the timeout."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef deadline_getset[] = {
    {"remaining", deadline_get_remaining, NULL, "Seconds left (0.0 once expired), or None for never.", NULL},
    {"expired", deadline_get_expired, NULL, "True once the deadline has passed.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

PyDoc_STRVAR(deadline_doc, "Deadline(timeout=None)\n\n"
                           "An absolute deadline on the monotonic clock, timeout seconds from now (None or\n"
                           "math.inf: never), for a loop of waits. Timeouts past 2**64 ns (~584 years)\n"
                           "never expire either.");

static PyType_Slot deadline_slots[] = {
    SLOT(Py_tp_doc, deadline_doc),
    SLOT(Py_tp_new, deadline_new),
    SLOT(Py_tp_dealloc, deadline_dealloc),
    SLOT(Py_tp_traverse, deadline_traverse),
    SLOT(Py_tp_repr, deadline_repr),
    SLOT(Py_tp_methods, deadline_methods),
    SLOT(Py_tp_getset, deadline_getset),
    {0, NULL},
};

static PyType_Spec deadline_spec = {
    .name = "futex.Deadline",
    .basicsize = sizeof(DeadlineObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_IMMUTABLETYPE,
    .slots = deadline_slots,
};

/* ---- module -------------------------------------------------------------- */

static PyObject *mod_set_spin(PyObject *Py_UNUSED(mod), PyObject *arg)
{
    uint32_t n;
    if (to_u32(arg, &n, "iterations") < 0)
        return NULL;
    futex_set_spin(n);
    Py_RETURN_NONE;
}

static PyObject *mod_get_spin(PyObject *Py_UNUSED(mod), PyObject *Py_UNUSED(ignored))
{
    return PyLong_FromUnsignedLong(futex_get_spin());
}

static PyMethodDef module_methods[] = {
    {"set_spin", mod_set_spin, METH_O,
     "set_spin(iterations)\n\nHow many times a wait re-checks the word before sleeping in the OS\n"
     "(process-wide; 0 turns spinning off). SPIN_ADAPTIVE, the default, spins for a time learned\n"
     "from how long partners take to answer, at most 10 microseconds of CPU per wait."},
    {"get_spin", mod_get_spin, METH_NOARGS,
     "get_spin() -> int\n\nThe spin count set_spin() set (SPIN_ADAPTIVE by default)."},
    {NULL, NULL, 0, NULL},
};

static int module_exec(PyObject *mod)
{
#if !defined(_WIN32)
    static uint32_t atfork_done; /* once per process, whichever interpreter comes first */
    if (!futex__atomic_exchange(&atfork_done, 1, FUTEX__ACQ_REL) && pthread_atfork(NULL, NULL, count_fork) != 0) {
        PyErr_NoMemory();
        return -1;
    }
#endif
    module_state *st = PyModule_GetState(mod);
    st->cell_type = (PyTypeObject *)PyType_FromModuleAndSpec(mod, &cell_spec, NULL);
    if (st->cell_type == NULL || PyModule_AddType(mod, st->cell_type) < 0)
        return -1;
    st->deadline_type = (PyTypeObject *)PyType_FromModuleAndSpec(mod, &deadline_spec, NULL);
    if (st->deadline_type == NULL || PyModule_AddType(mod, st->deadline_type) < 0)
        return -1;
    if (PyModule_AddStringConstant(mod, "__version__", FUTEX_VERSION) < 0 ||
        PyModule_AddStringConstant(mod, "backend", futex_backend()) < 0 ||
        PyModule_AddIntConstant(mod, "capabilities", (long)futex_capabilities()) < 0 ||
        PyModule_AddIntConstant(mod, "CAP_SHARED", FUTEX_CAP_SHARED) < 0 ||
        PyModule_AddIntConstant(mod, "CAP_WAKE_COUNT", FUTEX_CAP_WAKE_COUNT) < 0 ||
        PyModule_AddIntConstant(mod, "CAP_ABSOLUTE_DEADLINE", FUTEX_CAP_ABSOLUTE_DEADLINE) < 0 ||
        PyModule_AddIntConstant(mod, "CAP_INTERRUPTIBLE", FUTEX_CAP_INTERRUPTIBLE) < 0)
        return -1;
    /* Not AddIntConstant: UINT32_MAX does not fit a C long on Windows. */
    PyObject *adaptive = PyLong_FromUnsignedLong(FUTEX_SPIN_ADAPTIVE);
    int added = adaptive == NULL ? -1 : PyModule_AddObjectRef(mod, "SPIN_ADAPTIVE", adaptive);
    Py_XDECREF(adaptive);
    if (added < 0)
        return -1;
    return 0;
}

static int module_traverse(PyObject *mod, visitproc visit, void *arg)
{
    module_state *st = PyModule_GetState(mod);
    Py_VISIT(st->cell_type);
    Py_VISIT(st->deadline_type);
    return 0;
}

static int module_clear(PyObject *mod)
{
    module_state *st = PyModule_GetState(mod);
    Py_CLEAR(st->cell_type);
    Py_CLEAR(st->deadline_type);
    return 0;
}

static void module_free(void *mod) { module_clear((PyObject *)mod); }

static PyModuleDef_Slot module_slots[] = {
    SLOT(Py_mod_exec, module_exec),
#ifdef Py_mod_multiple_interpreters
    {Py_mod_multiple_interpreters, Py_MOD_PER_INTERPRETER_GIL_SUPPORTED},
#endif
#ifdef Py_mod_gil
    /* Cells are safe without the GIL: the word is atomic and the export's
     * lifetime is guarded by the atomic state counter. */
    {Py_mod_gil, Py_MOD_GIL_NOT_USED},
#endif
    {0, NULL},
};

/* One definition per slot list (below); everything else is shared. */
#define MODULE_DEF(slots)                                                                        \
    {                                                                                            \
        PyModuleDef_HEAD_INIT,                                                                   \
        .m_name = "futex._futex",                                                                \
        .m_doc = "Futex wait/wake on 32-bit words in any writable buffer (libfutex " FUTEX_VERSION \
                 ").",                                                                           \
        .m_size = sizeof(module_state),                                                          \
        .m_methods = module_methods,                                                             \
        .m_slots = (slots),                                                                      \
        .m_traverse = module_traverse,                                                           \
        .m_clear = module_clear,                                                                 \
        .m_free = module_free,                                                                   \
    }

static struct PyModuleDef futex_module = MODULE_DEF(module_slots);

#if defined(Py_LIMITED_API) && !defined(Py_mod_multiple_interpreters)
/* The abi3 build sees 3.11's headers, which lack the slot 3.12 added, so
 * 3.12+ would refuse the module in an isolated subinterpreter. The slot's id
 * (3) and value (2: per-interpreter GIL supported) are stable ABI; 3.11
 * rejects unknown slots, so a second definition carries it, chosen by the
 * running version (no shared state is written at import). */
static PyModuleDef_Slot module_slots_312[] = {
    SLOT(Py_mod_exec, module_exec),
    {3 /* Py_mod_multiple_interpreters */, (void *)2 /* Py_MOD_PER_INTERPRETER_GIL_SUPPORTED */},
    {0, NULL},
};
static struct PyModuleDef futex_module_312 = MODULE_DEF(module_slots_312);
#endif

PyMODINIT_FUNC PyInit__futex(void); /* the one exported symbol */
PyMODINIT_FUNC PyInit__futex(void)
{
#if defined(Py_LIMITED_API) && !defined(Py_mod_multiple_interpreters)
    if (Py_Version >= 0x030C0000)
        return PyModuleDef_Init(&futex_module_312);
#endif
    return PyModuleDef_Init(&futex_module);
}
