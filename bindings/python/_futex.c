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
#include <structmember.h> /* T_PYSSIZET, READONLY for __weaklistoffset__ (Limited API 3.11) */

#include "atomic.h"
#include "futex.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#if defined(__linux__)
#include <sys/syscall.h> /* SYS_get_robust_list: whether the core waits on a Mutex word process-shared */
#endif

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
    PyTypeObject *mutex_type, *sem_type, *event_type, *cond_type, *barrier_type;
    PyObject *owner_died;      /* futex.OwnerDiedError */
    PyObject *not_recoverable; /* futex.NotRecoverableError */
    double timeout_max;        /* threading.TIMEOUT_MAX, which Mutex.acquire's timeout obeys */
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
    int overflow = 0;
    long long v;
    if (PyLong_CheckExact(obj)) {
        v = PyLong_AsLongLongAndOverflow(obj, &overflow); /* an int, read as it is: no reference taken and dropped */
    } else {
        PyObject *idx = PyNumber_Index(obj); /* anything else through __index__, as int() does */
        if (idx == NULL)
            return -1;
        v = PyLong_AsLongLongAndOverflow(idx, &overflow);
        Py_DECREF(idx);
    }
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

/* multiprocessing.shared_memory.SharedMemory -> 1 (and *shm set), else 0.
 * Asked only for objects without the buffer protocol, and the module is
 * already imported wherever such an object exists. */
static int is_shared_memory(PyObject *obj)
{
    PyObject *mod = PyImport_ImportModule("multiprocessing.shared_memory");
    if (mod == NULL)
        return -1;
    PyObject *cls = PyObject_GetAttrString(mod, "SharedMemory");
    Py_DECREF(mod);
    if (cls == NULL)
        return -1;
    int r = PyObject_IsInstance(obj, cls);
    Py_DECREF(cls);
    return r;
}

/* Resolves `buffer`: a SharedMemory gives its .buf and is returned in *shm
 * (new reference) for pickling; anything else is itself, *shm = NULL.
 * Returns a new reference to the object to take the buffer from. */
static PyObject *resolve_buffer(PyObject *buffer, PyObject **shm)
{
    *shm = NULL;
    if (buffer == Py_None || PyObject_CheckBuffer(buffer))
        return Py_NewRef(buffer);
    int r = is_shared_memory(buffer);
    if (r < 0)
        return NULL;
    if (r == 0) {
        PyObject *name = PyType_GetName(Py_TYPE(buffer));
        if (name != NULL) {
            PyErr_Format(PyExc_TypeError,
                         "buffer must support the buffer protocol (bytearray, mmap, ...) or be a SharedMemory, not %U",
                         name);
            Py_DECREF(name);
        }
        return NULL;
    }
    PyObject *buf = PyObject_GetAttrString(buffer, "buf");
    if (buf == NULL)
        return NULL;
    if (buf == Py_None) { /* SharedMemory.close() sets buf to None */
        Py_DECREF(buf);
        PyErr_SetString(PyExc_ValueError, "the SharedMemory is closed");
        return NULL;
    }
    *shm = Py_NewRef(buffer);
    return buf;
}

/* __reduce__ of an object over a SharedMemory: rebuilt in the receiving
 * process by futex._attach(type, segment name, offset, args, kwargs), which
 * attaches the segment by name; so Cells and primitives pass to spawn and
 * forkserver children. Over any other buffer there is nothing to find the
 * memory by. */
static PyObject *reduce_over(PyObject *self, PyObject *shm, Py_ssize_t offset, PyObject *args, PyObject *kwargs)
{
    if (shm == NULL) {
        PyErr_SetString(PyExc_TypeError, "only an object made over a multiprocessing.shared_memory.SharedMemory "
                                         "can be pickled (it is found again by the segment's name)");
        return NULL;
    }
    PyObject *mod = PyImport_ImportModule("futex");
    PyObject *attach = mod == NULL ? NULL : PyObject_GetAttrString(mod, "_attach");
    Py_XDECREF(mod);
    PyObject *name = attach == NULL ? NULL : PyObject_GetAttrString(shm, "name");
    PyObject *res =
        name == NULL ? NULL : Py_BuildValue("O(OOnOO)", attach, (PyObject *)Py_TYPE(self), name, offset, args, kwargs);
    Py_XDECREF(attach);
    Py_XDECREF(name);
    return res;
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
    PyObject *shm;   /* the SharedMemory given as buffer (for pickling), or NULL */
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
static int guard_begin(CellObject *c)
{
    if (c->view.obj == NULL)
        return 0; /* the cell's own word: always mapped */
    if (futex__atomic_load(&c->broken, FUTEX__RELAXED) || futex_guard_begin(c->word) < 0) {
        futex__atomic_store(&c->broken, 1, FUTEX__RELAXED);
        raise_result(-EFAULT);
        return -1;
    }
    return 0;
}

/* 0, or -1 with the fault's error raised (the operation ran on zeros: its
 * result is meaningless). */
static int guard_end(CellObject *c)
{
    int rc = c->view.obj != NULL ? futex_guard_end() : 0;
    if (rc < 0) {
        futex__atomic_store(&c->broken, 1, FUTEX__RELAXED);
        raise_result(rc);
        return -1;
    }
    return 0;
}

static int begin_op(CellObject *c)
{
    if (enter(c) < 0)
        return -1;
    if (guard_begin(c) < 0) {
        leave(c);
        return -1;
    }
    return 0;
}

static int end_op(CellObject *c)
{
    int rc = guard_end(c);
    leave(c);
    return rc;
}

/* begin_op / end_op for an operation that holds the GIL from start to end
 * (load, store, the read-modify-writes, wake): release() needs the GIL too,
 * so it cannot come in between, and the in-use count -- two atomic
 * read-modify-writes, a third of a load's cost -- is left as it is; a
 * released cell is refused and the fault guard runs all the same. A
 * free-threaded build has no such GIL: there, the counted form. */
#if defined(Py_GIL_DISABLED)
#define begin_held begin_op
#define end_held end_op
#else
static int begin_held(CellObject *c)
{
    /* Relaxed: only release() sets RELEASED, under the GIL we now hold,
     * whose taking ordered us after it. A wait in another thread may move
     * the count meanwhile; that is not read here. */
    if (futex__atomic_load(&c->state, FUTEX__RELAXED) & RELEASED) {
        PyErr_SetString(PyExc_ValueError, "operation on a released futex.Cell");
        return -1;
    }
    return guard_begin(c);
}

static int end_held(CellObject *c) { return guard_end(c); }
#endif

static PyObject *cell_make(PyTypeObject *type, PyObject *buffer, PyObject *offset_obj, PyObject *shared_obj)
{
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
             * from other refusals: it gets a TypeError, as a bad argument type
             * does, since no value of that object could ever work. */
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

/* A SharedMemory buffer is replaced by its .buf and kept for pickling. */
static PyObject *cell_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"buffer", "offset", "shared", NULL};
    PyObject *buffer = Py_None, *offset_obj = NULL, *shared_obj = Py_None, *shm;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|OO$O:Cell", kwlist, &buffer, &offset_obj, &shared_obj))
        return NULL;
    PyObject *buf = resolve_buffer(buffer, &shm);
    if (buf == NULL)
        return NULL;
    PyObject *c = cell_make(type, buf, offset_obj, shared_obj);
    Py_DECREF(buf);
    if (c != NULL)
        ((CellObject *)c)->shm = shm;
    else
        Py_XDECREF(shm);
    return c;
}

static int cell_traverse(PyObject *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(((CellObject *)self)->view.obj);
    /* Not shm: it cannot refer back to the cell, and a collector that saw it
     * as garbage with the cell could run its __del__ (close()) while the
     * cell still holds its buffer (BufferError at shutdown). */
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
    Py_CLEAR(((CellObject *)self)->shm); /* after the export is dropped: close() then works */
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

/* The __exit__ methods are METH_FASTCALL: `with` passes three arguments, and
 * METH_VARARGS would pack them into a tuple on every exit. */
static PyObject *cell_exit(PyObject *self, PyObject *const *Py_UNUSED(args), Py_ssize_t Py_UNUSED(nargs))
{
    return cell_release(self, NULL);
}

static PyObject *cell_load(PyObject *self, PyObject *Py_UNUSED(ignored))
{
    CellObject *c = (CellObject *)self;
    if (begin_held(c) < 0)
        return NULL;
    uint32_t v = futex_load(c->word);
    if (end_held(c) < 0)
        return NULL;
    return PyLong_FromUnsignedLong(v);
}

static PyObject *cell_store(PyObject *self, PyObject *arg)
{
    CellObject *c = (CellObject *)self;
    uint32_t v;
    if (to_u32(arg, &v, "value") < 0 || begin_held(c) < 0)
        return NULL;
    futex_store(c->word, v);
    if (end_held(c) < 0)
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
        begin_held(c) < 0)
        return NULL;
    uint32_t old = futex_compare_exchange(c->word, expected, desired);
    if (end_held(c) < 0)
        return NULL;
    return PyLong_FromUnsignedLong(old);
}

/* The read-modify-write ops differ only in the core function they call. */
#define RMW_METHOD(name)                                                                                               \
    static PyObject *cell_##name(PyObject *self, PyObject *arg)                                                        \
    {                                                                                                                  \
        CellObject *c = (CellObject *)self;                                                                            \
        uint32_t v;                                                                                                    \
        if (to_u32(arg, &v, "value") < 0 || begin_held(c) < 0)                                                         \
            return NULL;                                                                                               \
        uint32_t old = futex_##name(c->word, v);                                                                       \
        if (end_held(c) < 0)                                                                                           \
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
 * that take a futex_deadline and return -EINTR reuse it through `call`;
 * `sliceable` ones (see the primitives' section) wait one
 * futex_deadline_slice at a time, so that a signal falling between the
 * core's sleeps is still seen within a slice.
 * Returns the core's result, or RAISED with an exception set (a handler
 * raised): not -1, which is -EPERM.
 * The caller has enter()ed the cell. */
#define RAISED INT_MIN
typedef int (*blocking_call)(void *arg, const futex_deadline *d, unsigned nospin);

static int block_until(blocking_call call, void *arg, const futex_deadline *d, int sliceable)
{
    unsigned nospin = 0;
    int rc;
    for (;;) {
        futex_deadline slice = *d;
        int sliced = 0;
        Py_BEGIN_ALLOW_THREADS
        if (sliceable)
            sliced = futex_deadline_slice(d, &slice);
        rc = call(arg, &slice, nospin);
        if (rc == -ETIMEDOUT && sliced)
            rc = -EINTR; /* only the core's slice ended: look at the signals, go on */
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
        rc = block_until(cell_wait_call, &a, d, 0);
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

/* The arguments of wait and wait_until: (a u32 named names[0], timeout=None,
 * spin=True), the timeout turned into a deadline that starts now. */
static int wait_args(const char *fname, const char *const names[3], PyObject *const *args, Py_ssize_t nargs,
                     PyObject *kwnames, uint32_t *value, futex_deadline *d, int *spin)
{
    PyObject *a[3];
    uint64_t timeout_ns;
    if (fast_args(fname, args, nargs, kwnames, names, 3, 2, 1, a) < 0 || to_u32(a[0], value, names[0]) < 0 ||
        to_timeout_ns(a[1] == NULL ? Py_None : a[1], &timeout_ns) < 0 || (*spin = parse_spin(a[2])) < 0)
        return -1;
    futex_deadline_init(d, timeout_ns);
    return 0;
}

static PyObject *cell_wait(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    static const char *const names[] = {"expected", "timeout", "spin"};
    CellObject *c = (CellObject *)self;
    uint32_t expected;
    int spin;
    futex_deadline d;
    if (wait_args("wait", names, args, nargs, kwnames, &expected, &d, &spin) < 0)
        return NULL;
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
    if (begin_held(c) < 0)
        return NULL;
    int rc = futex_wake(c->word, n, c->flags);
    if (end_held(c) < 0)
        return NULL;
    return wake_result(rc);
}

static PyObject *cell_wake_all(PyObject *self, PyObject *Py_UNUSED(ignored))
{
    CellObject *c = (CellObject *)self;
    if (begin_held(c) < 0)
        return NULL;
    int rc = futex_wake(c->word, FUTEX_ALL, c->flags);
    if (end_held(c) < 0)
        return NULL;
    return wake_result(rc);
}

static PyObject *cell_reduce(PyObject *self, PyObject *Py_UNUSED(ignored))
{
    CellObject *c = (CellObject *)self;
    PyObject *a = PyTuple_New(0);
    PyObject *kw = a == NULL ? NULL : Py_BuildValue("{sO}", "shared", (c->flags & FUTEX_SHARED) ? Py_True : Py_False);
    PyObject *res = kw == NULL ? NULL : reduce_over(self, c->shm, c->offset, a, kw);
    Py_XDECREF(a);
    Py_XDECREF(kw);
    return res;
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
    uint32_t want;
    int spin;
    futex_deadline d;
    if (wait_args("wait_until", names, args, nargs, kwnames, &want, &d, &spin) < 0)
        return NULL;
    if (begin_op(c) < 0)
        return NULL;
    cell_until_args u = {c, want, c->flags | (spin ? 0u : FUTEX_NOSPIN)};
    /* Holding the GIL, the word already there is the whole call; else the
     * core's loop runs with the GIL released, by the one blocking policy. */
    int rc = futex_load(c->word) == want ? 0 : block_until(cell_until_call, &u, &d, 0);
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
        to_u32(a[0], &v, add ? "delta" : "value") < 0 || to_wake_count(a[1], &n) < 0 || begin_held(c) < 0)
        return NULL;
    int rc = add ? futex_add_wake(c->word, v, n, c->flags, &old) : futex_store_wake(c->word, v, n, c->flags);
    if (end_held(c) < 0)
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
    if (begin_held(c) < 0)
        return NULL;
    unsigned long v = futex_load(c->word);
    if (end_held(c) < 0)
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

/* ---- asyncio waits --------------------------------------------------------
 * wait_async / acquire_async return what the function of the same name in
 * futex/_aio.py returns (a future for a Cell, a coroutine for the
 * primitives), which waits through one futex._Watcher per event loop. */
static PyObject *aio_call(const char *name, PyObject *self, PyObject *args, PyObject *kwds)
{
    PyObject *mod = PyImport_ImportModule("futex._aio");
    PyObject *fn = mod == NULL ? NULL : PyObject_GetAttrString(mod, name);
    Py_XDECREF(mod);
    if (fn == NULL)
        return NULL;
    Py_ssize_t n = PyTuple_Size(args);
    PyObject *all = n < 0 ? NULL : PyTuple_New(n + 1);
    if (all == NULL) {
        Py_DECREF(fn);
        return NULL;
    }
    Py_INCREF(self);
    PyTuple_SetItem(all, 0, self); /* steals */
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *a = PyTuple_GetItem(args, i);
        Py_INCREF(a);
        PyTuple_SetItem(all, i + 1, a);
    }
    PyObject *res = PyObject_Call(fn, all, kwds);
    Py_DECREF(all);
    Py_DECREF(fn);
    return res;
}

static PyObject *cell_wait_async(PyObject *self, PyObject *args, PyObject *kwds)
{
    return aio_call("cell_wait_async", self, args, kwds);
}
static PyObject *mutex_acquire_async(PyObject *self, PyObject *args, PyObject *kwds)
{
    return aio_call("mutex_acquire_async", self, args, kwds);
}
static PyObject *sem_acquire_async(PyObject *self, PyObject *args, PyObject *kwds)
{
    return aio_call("sem_acquire_async", self, args, kwds);
}
static PyObject *event_wait_async(PyObject *self, PyObject *args, PyObject *kwds)
{
    return aio_call("event_wait_async", self, args, kwds);
}
#define AIO_METHOD(name, fn, doc) {name, (PyCFunction)(void (*)(void))fn, METH_VARARGS | METH_KEYWORDS, doc}

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
    {"__exit__", (PyCFunction)(void (*)(void))cell_exit, METH_FASTCALL, NULL},
    {"__reduce__", cell_reduce, METH_NOARGS, NULL},
    /* asyncio */
    AIO_METHOD("wait_async", cell_wait_async,
               "wait_async(expected, timeout=None) -> awaitable bool\n\nwait() for asyncio: the same results, the loop free meanwhile.\n"
               "Registers at the call and returns a future; cancelling it unregisters."),
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
                       "`with` block, or garbage collection. buffer=None: the cell owns 4 private bytes. A\n"
                       "multiprocessing.shared_memory.SharedMemory as buffer: the cell pickles by its name.\n"
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

/* ---- synchronization primitives ------------------------------------------ */

/* Mutex, Semaphore, Event, Condition and Barrier share one object layout:
 * the primitive lives at `mem` (in the caller's buffer, or in `own` when no
 * buffer was given), and the object holds the buffer export for its whole
 * life, so the memory cannot be unmapped under a blocked call. Layouts,
 * waiting and every rule are the core's (futex_mutex_* and friends); these
 * types only convert arguments and map results.
 *
 * Written for the Limited API (abi3): slots only; the allocator comes from
 * PyType_GetSlot and module state from PyType_GetModuleState (the types are
 * final, so Py_TYPE(self) is always the defining class). */

typedef struct {
    PyObject_HEAD
    void *mem;       /* the primitive */
    Py_buffer view;  /* view.obj is NULL when the object owns its memory */
    PyObject *shm;   /* the SharedMemory given as buffer (pickling), or NULL */
    PyObject *mutex; /* a Condition's Mutex; NULL otherwise */
    PyObject *weakrefs;
    Py_ssize_t offset;
    unsigned flags;        /* FUTEX_SHARED or FUTEX_PRIVATE */
    PyObject *default_timeout; /* a Barrier's wait() default (None: forever); NULL otherwise */
    union { /* the memory when no buffer was given */
        futex_mutex m;
        futex_sem s;
        futex_event e;
        futex_cond c;
        futex_barrier b;
    } own;
} SyncObject;

#define MUTEX(o) ((futex_mutex *)((SyncObject *)(o))->mem)
#define SEM(o) ((futex_sem *)((SyncObject *)(o))->mem)
#define EVENT(o) ((futex_event *)((SyncObject *)(o))->mem)
#define COND(o) ((futex_cond *)((SyncObject *)(o))->mem)
#define BARRIER(o) ((futex_barrier *)((SyncObject *)(o))->mem)

static module_state *sync_state(PyObject *self) { return (module_state *)PyType_GetModuleState(Py_TYPE(self)); }

/* Every primitive call that can sleep goes through block_until, the one
 * blocking loop of Cell.wait (CPython's acquire_timed): the caller has tried
 * without releasing the GIL; the GIL is released around the one blocking
 * core call, and after -EINTR the signal handlers run and the same call is
 * made again on the SAME absolute deadline, so re-waits never stretch the
 * total time. The core leaves the primitive consistent for the call again
 * (not taken / mutex re-held / barrier ticket kept).
 *
 * A signal whose handler runs while the core is between two sleeps (its
 * spin, a Mutex's owner-liveness check every 100 ms) gives no -EINTR: the
 * next sleep starts after it. So calls that a timeout leaves unchanged
 * (sliceable: Mutex, Semaphore, Condition -- whose notifiers hold the
 * mutex, so none is lost between two slices) sleep one futex_deadline_slice at a
 * time and look at the handlers in between. Not an Event (a set and clear
 * between two slices would be missed: a wait must see every set since it
 * began) -- except on backends whose OS wait a signal does not end -- nor a
 * Barrier (a timeout breaks it): one call to the deadline, which -EINTR
 * ends; their sleeps have no gap but the short spin.
 * Returns the core's result, or RAISED when a handler raised (exception
 * set). */
typedef struct {
    SyncObject *s;
    uint32_t ticket; /* a Barrier's place across -EINTR: a re-call resumes, never arrives twice */
} sync_call;

static int block(SyncObject *s, blocking_call call, sync_call *a, const futex_deadline *d, int sliceable)
{
    a->s = s;
    return block_until(call, a, d, sliceable);
}

/* Core result -> exception for the primitives; the rest go to raise_result. */
static PyObject *raise_sync(PyObject *self, int rc)
{
    module_state *st = sync_state(self);
    switch (-rc) {
    case EOWNERDEAD:
        PyErr_SetString(st->owner_died, "the previous owner died holding the mutex; it is now held by this thread: "
                                        "repair what it protects, then call consistent()");
        return NULL;
    case ENOTRECOVERABLE:
        PyErr_SetString(st->not_recoverable, "the mutex was released without consistent() after its owner died; "
                                             "it is permanently unusable");
        return NULL;
    case EDEADLK:
        PyErr_SetString(PyExc_RuntimeError, "the mutex is already held by this thread (it is not recursive; EDEADLK)");
        return NULL;
    case EPERM:
        PyErr_SetString(PyExc_RuntimeError, "release of a mutex not held by this thread (EPERM)");
        return NULL;
    case EOVERFLOW:
        PyErr_SetString(PyExc_ValueError, "Semaphore released too many times (past its bound)");
        return NULL;
    case ECANCELED:
    case ETIMEDOUT: { /* a barrier wait that timed out broke the barrier */
        PyObject *threading = PyImport_ImportModule("threading");
        PyObject *exc = threading == NULL ? NULL : PyObject_GetAttrString(threading, "BrokenBarrierError");
        Py_XDECREF(threading);
        if (exc != NULL) {
            PyErr_SetNone(exc);
            Py_DECREF(exc);
        }
        return NULL;
    }
    case EAGAIN: /* futex_cond_wait: 65535 waiters already */
        return raise_oserror(EAGAIN, PyUnicode_FromString("too many waiters on this Condition"));
    default:
        return raise_result(rc);
    }
}

/* The common constructor: `size` bytes at `offset` of buffer (None: the
 * object's own zeroed memory), aligned to `align`. shared None: True with a
 * buffer, False without. */
static SyncObject *sync_alloc(PyTypeObject *type, PyObject *buffer_arg, PyObject *offset_obj, PyObject *shared_obj,
                              Py_ssize_t size, Py_ssize_t align)
{
    Py_ssize_t offset = 0;
    if (offset_obj != NULL) {
        PyObject *idx = PyNumber_Index(offset_obj);
        if (idx == NULL)
            return NULL;
        offset = PyNumber_AsSsize_t(idx, NULL); /* clamps: a huge offset is "out of range" below */
        Py_DECREF(idx);
        if (offset == -1 && PyErr_Occurred())
            return NULL;
    }
    PyObject *shm;
    PyObject *buffer = resolve_buffer(buffer_arg, &shm);
    if (buffer == NULL)
        return NULL;
    int shared = buffer != Py_None;
    if (shared_obj != NULL && shared_obj != Py_None && (shared = PyObject_IsTrue(shared_obj)) < 0)
        goto fail;
    Py_buffer view = {0};
    if (buffer != Py_None) {
        if (PyObject_GetBuffer(buffer, &view, PyBUF_WRITABLE) < 0) {
            Py_buffer probe;
            if (PyErr_ExceptionMatches(PyExc_BufferError) && PyObject_GetBuffer(buffer, &probe, PyBUF_SIMPLE) == 0) {
                PyBuffer_Release(&probe);
                PyErr_SetString(PyExc_TypeError, "buffer must be writable; this one is read-only");
            }
            goto fail;
        }
        const char *err = NULL;
        if (offset < 0)
            err = "offset must be >= 0";
        else if (offset % align != 0)
            err = "offset must be a multiple of ALIGN";
        else if (view.len < size || offset > view.len - size)
            err = "offset + SIZE must be <= len(buffer)";
        else if (((uintptr_t)((char *)view.buf + offset) & (uintptr_t)(align - 1)) != 0)
            err = "the address is not ALIGN-aligned (is the buffer a slice at an odd offset?)";
        if (err != NULL) {
            PyErr_Format(PyExc_ValueError, "%s (offset %zd, SIZE %zd, ALIGN %zd, buffer of %zd bytes)", err, offset,
                         size, align, view.len);
            PyBuffer_Release(&view);
            goto fail;
        }
    } else if (offset != 0) {
        PyErr_SetString(PyExc_ValueError, "offset needs a buffer");
        goto fail;
    }
    /* Refuse now rather than at the first wait: the backend is fixed. */
    if (shared && !(futex_capabilities() & FUTEX_CAP_SHARED)) {
        if (view.obj != NULL)
            PyBuffer_Release(&view);
        raise_result(-ENOTSUP);
        goto fail;
    }
    allocfunc alloc = (allocfunc)(uintptr_t)PyType_GetSlot(type, Py_tp_alloc); /* via uintptr_t: see SLOT */
    SyncObject *s = (SyncObject *)alloc(type, 0);
    if (s == NULL) {
        if (view.obj != NULL)
            PyBuffer_Release(&view);
        goto fail;
    }
    s->view = view;
    s->shm = shm;
    s->offset = offset;
    s->flags = shared ? FUTEX_SHARED : FUTEX_PRIVATE;
    memset(&s->own, 0, sizeof s->own); /* all zeros: the ready state of every primitive */
    s->mem = view.obj != NULL ? (void *)((char *)view.buf + offset) : (void *)&s->own;
    Py_DECREF(buffer);
    return s;
fail:
    Py_XDECREF(shm);
    Py_DECREF(buffer);
    return NULL;
}

static void sync_dealloc(PyObject *self)
{
    SyncObject *s = (SyncObject *)self;
    PyTypeObject *tp = Py_TYPE(self);
    if (s->weakrefs != NULL)
        PyObject_ClearWeakRefs(self);
    module_state *st = (module_state *)PyType_GetModuleState(tp);
    if (st != NULL && tp == st->mutex_type && futex_mutex_locked(MUTEX(s)) == 1) {
        /* A held mutex is linked into its holder thread's robust list (the
         * linux backend), which the core and the kernel write through: its
         * memory must outlive the hold. Dropped by its holder (lock_tests'
         * "acquire(); del lock"): release it, which unlinks it. */
        if (futex_mutex_is_owned(MUTEX(s)) == 1)
            (void)futex_mutex_unlock(MUTEX(s), s->flags);
        else if (s->view.obj == NULL)
            /* Our own private memory, held by another thread of this
             * process: keep the memory (leak the object) rather than let
             * that thread's list point into freed memory. */
            return;
    }
    if (s->view.obj != NULL)
        PyBuffer_Release(&s->view);
    Py_CLEAR(s->shm);
    Py_CLEAR(s->mutex);
    Py_CLEAR(s->default_timeout);
    freefunc tp_free = (freefunc)(uintptr_t)PyType_GetSlot(tp, Py_tp_free);
    tp_free(self);
    Py_DECREF(tp);
}

static PyObject *sync_reduce_with(PyObject *self, PyObject *args, PyObject *kwargs)
{
    SyncObject *s = (SyncObject *)self;
    return reduce_over(self, s->shm, s->offset, args, kwargs);
}

static PyObject *shared_kwargs(SyncObject *s)
{
    return Py_BuildValue("{sO}", "shared", (s->flags & FUTEX_SHARED) ? Py_True : Py_False);
}

static PyObject *sync_reduce(PyObject *self, PyObject *Py_UNUSED(ignored))
{
    PyObject *kw = shared_kwargs((SyncObject *)self);
    PyObject *empty = kw == NULL ? NULL : PyTuple_New(0);
    PyObject *res = empty == NULL ? NULL : sync_reduce_with(self, empty, kw);
    Py_XDECREF(kw);
    Py_XDECREF(empty);
    return res;
}

static PyObject *sync_get_offset(PyObject *self, void *Py_UNUSED(closure))
{
    return PyLong_FromSsize_t(((SyncObject *)self)->offset);
}

static PyObject *sync_get_shared(PyObject *self, void *Py_UNUSED(closure))
{
    return PyBool_FromLong(((SyncObject *)self)->flags & FUTEX_SHARED);
}

/* timeout for Lock.acquire(blocking, timeout): -1 forever, else >= 0 and
 * <= threading.TIMEOUT_MAX, exactly as threading.Lock parses it; then the
 * same conversion as Cell.wait. */
static int lock_timeout(PyObject *self, int blocking, PyObject *timeout_obj, uint64_t *ns)
{
    if (timeout_obj == NULL) {
        *ns = blocking ? FUTEX_FOREVER : 0;
        return 0;
    }
    double t = PyFloat_AsDouble(timeout_obj);
    if (t == -1.0 && PyErr_Occurred())
        return -1;
    if (!blocking && t != -1.0) {
        PyErr_SetString(PyExc_ValueError, "can't specify a timeout for a non-blocking call");
        return -1;
    }
    if (!blocking) {
        *ns = 0;
        return 0;
    }
    if (t == -1.0) {
        *ns = FUTEX_FOREVER;
        return 0;
    }
    if (t < 0 || isnan(t)) {
        PyErr_SetString(PyExc_ValueError, "timeout value must be a non-negative number");
        return -1;
    }
    if (t > sync_state(self)->timeout_max) {
        PyErr_SetString(PyExc_OverflowError, "timeout value is too large");
        return -1;
    }
    return to_timeout_ns(timeout_obj, ns);
}

/* ---- Mutex ---- */

static PyObject *mutex_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"buffer", "offset", "shared", NULL};
    PyObject *buffer = Py_None, *offset_obj = NULL, *shared_obj = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|OO$O:Mutex", kwlist, &buffer, &offset_obj, &shared_obj))
        return NULL;
    return (PyObject *)sync_alloc(type, buffer, offset_obj, shared_obj, FUTEX_MUTEX_SIZE, FUTEX_MUTEX_ALIGN);
}

static int call_mutex_lock(void *arg, const futex_deadline *d, unsigned nospin)
{
    SyncObject *s = ((sync_call *)arg)->s;
    return futex_mutex_timedlock((futex_mutex *)s->mem, d, s->flags | nospin);
}

/* Takes the mutex until d: 1 taken, 0 not (timeout or busy), -1 raised. */
static int mutex_take(PyObject *self, uint64_t timeout_ns)
{
    SyncObject *s = (SyncObject *)self;
    /* First without releasing the GIL: the uncontended path stays cheap. */
    int rc = futex_mutex_trylock(MUTEX(s), s->flags);
    if (rc == -EBUSY && timeout_ns != 0) {
        /* Held by another thread, or by us: then the core says -EDEADLK. */
        futex_deadline d;
        futex_deadline_init(&d, timeout_ns);
        rc = block(s, call_mutex_lock, &(sync_call){0}, &d, 1);
    }
    switch (rc) {
    case 0:
        return 1;
    case -EBUSY:     /* a try, as threading.Lock: False */
    case -ETIMEDOUT: /* the core checked that the deadline passed */
        return 0;
    case RAISED:
        return -1;
    default: /* -EOWNERDEAD (held now), -ENOTRECOVERABLE, -EDEADLK, ... */
        raise_sync(self, rc);
        return -1;
    }
}

/* acquire(blocking=True, timeout=-1), sem's acquire(blocking=True,
 * timeout=None): the arguments of a call on a hand-off's path, parsed as
 * fast_args does. */
static int acquire_args(PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames, int *blocking,
                        PyObject **timeout_obj)
{
    static const char *const names[] = {"blocking", "timeout"};
    PyObject *a[2];
    if (fast_args("acquire", args, nargs, kwnames, names, 2, 2, 0, a) < 0 ||
        (*blocking = a[0] == NULL ? 1 : PyObject_IsTrue(a[0])) < 0)
        return -1;
    *timeout_obj = a[1];
    return 0;
}

static PyObject *mutex_acquire(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    int blocking;
    PyObject *timeout_obj;
    uint64_t ns;
    if (acquire_args(args, nargs, kwnames, &blocking, &timeout_obj) < 0 ||
        lock_timeout(self, blocking, timeout_obj, &ns) < 0)
        return NULL;
    int r = mutex_take(self, ns);
    return r < 0 ? NULL : PyBool_FromLong(r);
}

static PyObject *mutex_enter(PyObject *self, PyObject *Py_UNUSED(ignored))
{
    int r = mutex_take(self, FUTEX_FOREVER);
    return r < 0 ? NULL : Py_NewRef(self);
}

static PyObject *mutex_release(PyObject *self, PyObject *Py_UNUSED(ignored))
{
    int rc = futex_mutex_unlock(MUTEX(self), ((SyncObject *)self)->flags);
    if (rc != 0)
        return raise_sync(self, rc); /* -ENOTRECOVERABLE: released, and now unusable */
    Py_RETURN_NONE;
}

static PyObject *mutex_exit(PyObject *self, PyObject *const *Py_UNUSED(args), Py_ssize_t Py_UNUSED(nargs))
{
    return mutex_release(self, NULL);
}

static PyObject *mutex_locked(PyObject *self, PyObject *Py_UNUSED(ignored))
{
    int r = futex_mutex_locked(MUTEX(self));
    return r < 0 ? raise_sync(self, r) : PyBool_FromLong(r);
}

static PyObject *mutex_is_owned(PyObject *self, PyObject *Py_UNUSED(ignored))
{
    int r = futex_mutex_is_owned(MUTEX(self));
    return r < 0 ? raise_sync(self, r) : PyBool_FromLong(r);
}

static PyObject *mutex_consistent(PyObject *self, PyObject *Py_UNUSED(ignored))
{
    int rc = futex_mutex_consistent(MUTEX(self));
    if (rc == -EINVAL) {
        PyErr_SetString(PyExc_RuntimeError, "consistent(): the mutex is not inconsistent (no OwnerDiedError was raised)");
        return NULL;
    }
    if (rc == -EPERM) {
        PyErr_SetString(PyExc_RuntimeError, "consistent(): the mutex is not held by this thread");
        return NULL;
    }
    return rc < 0 ? raise_sync(self, rc) : Py_NewRef(Py_None);
}

static PyObject *mutex_repr(PyObject *self)
{
    int r = futex_mutex_locked(MUTEX(self));
    /* As threading.Lock's, which lock_tests matches. */
    return PyUnicode_FromFormat("<%s futex.Mutex object at %p>", r > 0 ? "locked" : "unlocked", (void *)self);
}

static PyMethodDef mutex_methods[] = {
    {"acquire", (PyCFunction)(void (*)(void))mutex_acquire, METH_FASTCALL | METH_KEYWORDS,
     "acquire(blocking=True, timeout=-1) -> bool\n\n"
     "Take the mutex, as threading.Lock.acquire: True once taken, False if not taken by the timeout\n"
     "(or at once when blocking is False). Raises OwnerDiedError with the mutex HELD when its previous\n"
     "owner died holding it (repair, then consistent()); NotRecoverableError when it was released\n"
     "without consistent(); RuntimeError when this thread holds it already (EDEADLK)."},
    {"release", mutex_release, METH_NOARGS,
     "release()\n\nRelease the mutex held by this thread; RuntimeError if this thread does not hold it."},
    {"locked", mutex_locked, METH_NOARGS, "locked() -> bool\n\nTrue if some thread holds the mutex."},
    {"is_owned", mutex_is_owned, METH_NOARGS, "is_owned() -> bool\n\nTrue if this thread holds the mutex."},
    {"consistent", mutex_consistent, METH_NOARGS,
     "consistent()\n\nAfter OwnerDiedError: declare the protected state repaired, so the mutex stays usable."},
    {"__enter__", mutex_enter, METH_NOARGS, NULL},
    {"__exit__", (PyCFunction)(void (*)(void))mutex_exit, METH_FASTCALL, NULL},
    {"__reduce__", sync_reduce, METH_NOARGS, NULL},
    /* asyncio */
    AIO_METHOD("acquire_async", mutex_acquire_async,
               "acquire_async(timeout=None) -> awaitable bool\n\nacquire() for asyncio, for the loop's thread."),
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef sync_getset[] = {
    {"offset", sync_get_offset, NULL, "Byte offset of the primitive in its buffer.", NULL},
    {"shared", sync_get_shared, NULL, "True if it works across processes (FUTEX_SHARED).", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

/* lock_tests holds our types to weakref support, as threading's. */
static PyMemberDef sync_members[] = {
    {"__weaklistoffset__", T_PYSSIZET, offsetof(SyncObject, weakrefs), READONLY, NULL},
    {NULL, 0, 0, 0, NULL},
};

PyDoc_STRVAR(mutex_doc,
             "Mutex(buffer=None, offset=0, *, shared=None)\n\n"
             "A robust, non-recursive mutex owned by a thread, in SIZE bytes at offset (a multiple of ALIGN)\n"
             "of a writable buffer or a multiprocessing.shared_memory.SharedMemory (then it pickles by the\n"
             "segment's name). All-zero memory is an unlocked mutex. buffer=None: its own private memory.\n"
             "shared=None means True with a buffer, False without. Used as threading.Lock, except that only\n"
             "the holder may release it, re-acquiring it raises, and the death of its holder is reported\n"
             "to the next acquirer by OwnerDiedError (the mutex then held).");

#define SYNC_SLOTS(prefix)                                                                                           \
    SLOT(Py_tp_doc, prefix##_doc), SLOT(Py_tp_new, prefix##_new), SLOT(Py_tp_dealloc, sync_dealloc),                \
        SLOT(Py_tp_repr, prefix##_repr),                                                                              \
        SLOT(Py_tp_methods, prefix##_methods), SLOT(Py_tp_members, sync_members)

static PyType_Slot mutex_slots[] = {SYNC_SLOTS(mutex), SLOT(Py_tp_getset, sync_getset), {0, NULL}};

/* Not Py_TPFLAGS_IMMUTABLETYPE: module_exec sets SIZE and ALIGN on each
 * type, which the Limited API can only do through setattr.
 * Not Py_TPFLAGS_HAVE_GC: a primitive refers only to its buffer, its
 * SharedMemory, its Condition's Mutex and a timeout, none of which can
 * refer back, so it is never in a cycle. Were it tracked, the collector
 * could find it unreachable together with its SharedMemory and run that
 * one's __del__ (close()) while the primitive still holds the buffer:
 * "BufferError: memoryview has 1 exported buffer" at shutdown. */
#define SYNC_FLAGS Py_TPFLAGS_DEFAULT

static PyType_Spec mutex_spec = {
    .name = "futex.Mutex", .basicsize = sizeof(SyncObject), .flags = SYNC_FLAGS, .slots = mutex_slots};

/* ---- Semaphore ---- */

/* A non-negative int up to FUTEX_SEM_VALUE_MAX: ValueError otherwise (as
 * threading.Semaphore's "initial value must be >= 0"). */
static int to_sem_count(PyObject *obj, uint32_t *out, const char *what)
{
    PyObject *idx = PyNumber_Index(obj);
    if (idx == NULL)
        return -1;
    int overflow = 0;
    long long v = PyLong_AsLongLongAndOverflow(idx, &overflow);
    Py_DECREF(idx);
    if (v == -1 && PyErr_Occurred())
        return -1;
    if (overflow != 0 || v < 0 || v > (long long)FUTEX_SEM_VALUE_MAX) {
        PyErr_Format(PyExc_ValueError, "%s must be in [0, %lu], got %R", what, (unsigned long)FUTEX_SEM_VALUE_MAX,
                     obj);
        return -1;
    }
    *out = (uint32_t)v;
    return 0;
}

static PyObject *sem_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"buffer", "offset", "value", "bound", "shared", NULL};
    PyObject *buffer = Py_None, *offset_obj = NULL, *value_obj = Py_None, *bound_obj = Py_None, *shared_obj = NULL;
    uint32_t value = 1, bound = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|OO$OOO:Semaphore", kwlist, &buffer, &offset_obj, &value_obj,
                                     &bound_obj, &shared_obj))
        return NULL;
    if (value_obj != Py_None && to_sem_count(value_obj, &value, "value") < 0)
        return NULL;
    if (bound_obj != Py_None && to_sem_count(bound_obj, &bound, "bound") < 0)
        return NULL;
    if (bound_obj != Py_None && bound == 0) {
        PyErr_SetString(PyExc_ValueError, "bound must be >= 1 (None: unbounded)");
        return NULL;
    }
    /* value None over a buffer attaches: it stores nothing, so a bound
     * (stored by the creator with its value) would be ignored. */
    int create = value_obj != Py_None || buffer == Py_None;
    if (!create && bound_obj != Py_None) {
        PyErr_SetString(PyExc_ValueError, "bound is stored with value by the creator; pass value too");
        return NULL;
    }
    if (create && bound != 0 && value > bound) {
        PyErr_Format(PyExc_ValueError, "value %lu is past bound %lu", (unsigned long)value, (unsigned long)bound);
        return NULL;
    }
    SyncObject *s = sync_alloc(type, buffer, offset_obj, shared_obj, FUTEX_SEM_SIZE, FUTEX_SEM_ALIGN);
    if (s != NULL && create) {
        int rc = futex_sem_init(SEM(s), value, bound);
        if (rc < 0) {
            Py_DECREF(s);
            return raise_result(rc);
        }
    }
    return (PyObject *)s;
}

static int call_sem_wait(void *arg, const futex_deadline *d, unsigned nospin)
{
    SyncObject *s = ((sync_call *)arg)->s;
    return futex_sem_wait((futex_sem *)s->mem, d, s->flags | nospin);
}

static int sem_take(PyObject *self, uint64_t timeout_ns)
{
    SyncObject *s = (SyncObject *)self;
    int rc = futex_sem_trywait(SEM(s)); /* first without releasing the GIL */
    if (rc == -EAGAIN && timeout_ns != 0) {
        futex_deadline d;
        futex_deadline_init(&d, timeout_ns);
        rc = block(s, call_sem_wait, &(sync_call){0}, &d, 1);
    }
    switch (rc) {
    case 0:
        return 1;
    case -EAGAIN:    /* the value was 0 and we were not to wait */
    case -ETIMEDOUT: /* the core checked that the deadline passed */
        return 0;
    case RAISED:
        return -1;
    default:
        raise_sync(self, rc);
        return -1;
    }
}

static PyObject *sem_acquire(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    int blocking;
    PyObject *timeout_obj;
    uint64_t ns = 0;
    if (acquire_args(args, nargs, kwnames, &blocking, &timeout_obj) < 0)
        return NULL;
    if (timeout_obj == NULL)
        timeout_obj = Py_None;
    if (!blocking && timeout_obj != Py_None) {
        PyErr_SetString(PyExc_ValueError, "can't specify timeout for non-blocking acquire");
        return NULL;
    }
    if (blocking && to_timeout_ns(timeout_obj, &ns) < 0)
        return NULL;
    int r = sem_take(self, ns);
    return r < 0 ? NULL : PyBool_FromLong(r);
}

static PyObject *sem_enter(PyObject *self, PyObject *Py_UNUSED(ignored))
{
    int r = sem_take(self, FUTEX_FOREVER);
    return r < 0 ? NULL : Py_NewRef(self);
}

static PyObject *sem_post(PyObject *self, uint32_t n)
{
    int rc = futex_sem_post(SEM(self), n, ((SyncObject *)self)->flags);
    return rc < 0 ? raise_sync(self, rc) : Py_NewRef(Py_None);
}

static PyObject *sem_release(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    static const char *const names[] = {"n"};
    PyObject *n_obj;
    uint32_t n = 1;
    if (fast_args("release", args, nargs, kwnames, names, 1, 1, 0, &n_obj) < 0)
        return NULL;
    if (n_obj != NULL && to_sem_count(n_obj, &n, "n") < 0)
        return NULL;
    if (n < 1) {
        PyErr_SetString(PyExc_ValueError, "n must be one or more");
        return NULL;
    }
    return sem_post(self, n);
}

static PyObject *sem_exit(PyObject *self, PyObject *const *Py_UNUSED(args), Py_ssize_t Py_UNUSED(nargs))
{
    return sem_post(self, 1);
}

static PyObject *sem_get_value(PyObject *self, PyObject *Py_UNUSED(ignored))
{
    int v = futex_sem_getvalue(SEM(self));
    return v < 0 ? raise_sync(self, v) : PyLong_FromLong(v);
}

static PyObject *sem_get_bound(PyObject *self, void *Py_UNUSED(closure))
{
    int b = futex_sem_bound(SEM(self));
    if (b < 0)
        return raise_sync(self, b);
    if ((uint32_t)b == FUTEX_SEM_VALUE_MAX)
        Py_RETURN_NONE;
    return PyLong_FromLong(b);
}

static PyObject *sem_repr(PyObject *self)
{
    int v = futex_sem_getvalue(SEM(self)), b = futex_sem_bound(SEM(self));
    /* As threading.Semaphore's, with the bound where there is one. */
    if ((uint32_t)b == FUTEX_SEM_VALUE_MAX)
        return PyUnicode_FromFormat("<futex.Semaphore at %p: value=%d>", (void *)self, v);
    return PyUnicode_FromFormat("<futex.Semaphore at %p: value=%d/%d>", (void *)self, v, b);
}

static PyMethodDef sem_methods[] = {
    {"acquire", (PyCFunction)(void (*)(void))sem_acquire, METH_FASTCALL | METH_KEYWORDS,
     "acquire(blocking=True, timeout=None) -> bool\n\n"
     "Take one unit, as threading.Semaphore.acquire: True once taken, False if not by the timeout."},
    {"release", (PyCFunction)(void (*)(void))sem_release, METH_FASTCALL | METH_KEYWORDS,
     "release(n=1)\n\nAdd n units, waking up to n waiters. ValueError past the bound (nothing changes)."},
    {"get_value", sem_get_value, METH_NOARGS, "get_value() -> int\n\nThe value now (a snapshot)."},
    {"__enter__", sem_enter, METH_NOARGS, NULL},
    {"__exit__", (PyCFunction)(void (*)(void))sem_exit, METH_FASTCALL, NULL},
    {"__reduce__", sync_reduce, METH_NOARGS, NULL},
    /* asyncio */
    AIO_METHOD("acquire_async", sem_acquire_async,
               "acquire_async(timeout=None) -> awaitable bool\n\nacquire() for asyncio."),
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef sem_getset[] = {
    {"offset", sync_get_offset, NULL, "Byte offset of the primitive in its buffer.", NULL},
    {"shared", sync_get_shared, NULL, "True if it works across processes (FUTEX_SHARED).", NULL},
    {"bound", sem_get_bound, NULL, "The largest value release() may reach, or None (unbounded).", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

PyDoc_STRVAR(sem_doc,
             "Semaphore(buffer=None, offset=0, *, value=None, bound=None, shared=None)\n\n"
             "A counting semaphore in SIZE bytes at offset of a buffer or SharedMemory (see Mutex).\n"
             "value given: store it (and bound: the largest value a release may reach, None: unbounded),\n"
             "as the creator does; value None over a buffer: attach to what is there (all-zero memory:\n"
             "value 0, unbounded). Over its own memory (buffer=None) it starts at value or 1.\n"
             "bound=value makes a threading.BoundedSemaphore: releasing past it raises ValueError.");

static PyType_Slot sem_slots[] = {SYNC_SLOTS(sem), SLOT(Py_tp_getset, sem_getset), {0, NULL}};

static PyType_Spec sem_spec = {
    .name = "futex.Semaphore", .basicsize = sizeof(SyncObject), .flags = SYNC_FLAGS, .slots = sem_slots};

/* ---- Event ---- */

static PyObject *event_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"buffer", "offset", "shared", NULL};
    PyObject *buffer = Py_None, *offset_obj = NULL, *shared_obj = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|OO$O:Event", kwlist, &buffer, &offset_obj, &shared_obj))
        return NULL;
    return (PyObject *)sync_alloc(type, buffer, offset_obj, shared_obj, FUTEX_EVENT_SIZE, FUTEX_EVENT_ALIGN);
}

static int call_event_wait(void *arg, const futex_deadline *d, unsigned nospin)
{
    SyncObject *s = ((sync_call *)arg)->s;
    return futex_event_wait((futex_event *)s->mem, d, s->flags | nospin);
}

static PyObject *event_set(PyObject *self, PyObject *Py_UNUSED(ignored))
{
    int rc = futex_event_set(EVENT(self), ((SyncObject *)self)->flags);
    return rc < 0 ? raise_sync(self, rc) : Py_NewRef(Py_None);
}

static PyObject *event_clear(PyObject *self, PyObject *Py_UNUSED(ignored))
{
    int rc = futex_event_clear(EVENT(self));
    return rc < 0 ? raise_sync(self, rc) : Py_NewRef(Py_None);
}

static PyObject *event_is_set(PyObject *self, PyObject *Py_UNUSED(ignored))
{
    int r = futex_event_is_set(EVENT(self));
    return r < 0 ? raise_sync(self, r) : PyBool_FromLong(r);
}

static PyObject *event_wait(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    static const char *const names[] = {"timeout"};
    PyObject *timeout_obj;
    uint64_t ns;
    if (fast_args("wait", args, nargs, kwnames, names, 1, 1, 0, &timeout_obj) < 0 ||
        to_timeout_ns(timeout_obj == NULL ? Py_None : timeout_obj, &ns) < 0)
        return NULL;
    if (futex_event_is_set(EVENT(self)) == 1) /* set: no need to release the GIL */
        Py_RETURN_TRUE;
    futex_deadline d;
    futex_deadline_init(&d, ns);
    /* Sliced only where a signal cannot end the OS wait: there, a set and
     * clear in the gap between two slices may be missed, but Ctrl-C works. */
    int rc = block((SyncObject *)self, call_event_wait, &(sync_call){0}, &d,
                   !(futex_capabilities() & FUTEX_CAP_INTERRUPTIBLE));
    switch (rc) {
    case 0:
        Py_RETURN_TRUE;
    case -ETIMEDOUT:
        Py_RETURN_FALSE;
    case RAISED:
        return NULL;
    default:
        return raise_sync(self, rc);
    }
}

static PyObject *event_repr(PyObject *self)
{
    return PyUnicode_FromFormat("<futex.Event at %p: %s>", (void *)self,
                                futex_event_is_set(EVENT(self)) == 1 ? "set" : "unset");
}

static PyMethodDef event_methods[] = {
    {"set", event_set, METH_NOARGS, "set()\n\nSet the flag and wake every waiter."},
    {"clear", event_clear, METH_NOARGS, "clear()\n\nClear the flag."},
    {"is_set", event_is_set, METH_NOARGS, "is_set() -> bool"},
    {"wait", (PyCFunction)(void (*)(void))event_wait, METH_FASTCALL | METH_KEYWORDS,
     "wait(timeout=None) -> bool\n\nBlock until the flag is set (or was set since the call began): True;\n"
     "False once timeout seconds passed. None waits forever."},
    {"__reduce__", sync_reduce, METH_NOARGS, NULL},
    /* asyncio */
    AIO_METHOD("wait_async", event_wait_async,
               "wait_async(timeout=None) -> awaitable bool\n\nwait() for asyncio."),
    {NULL, NULL, 0, NULL},
};

PyDoc_STRVAR(event_doc, "Event(buffer=None, offset=0, *, shared=None)\n\n"
                        "threading.Event in SIZE bytes at offset of a buffer or SharedMemory (see Mutex).\n"
                        "All-zero memory is an unset event.");

static PyType_Slot event_slots[] = {SYNC_SLOTS(event), SLOT(Py_tp_getset, sync_getset), {0, NULL}};

static PyType_Spec event_spec = {
    .name = "futex.Event", .basicsize = sizeof(SyncObject), .flags = SYNC_FLAGS, .slots = event_slots};

/* ---- Condition ---- */

static PyObject *cond_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"buffer", "offset", "mutex", "shared", NULL};
    PyObject *buffer, *offset_obj, *mutex, *shared_obj = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OOO|$O:Condition", kwlist, &buffer, &offset_obj, &mutex,
                                     &shared_obj))
        return NULL;
    module_state *st = (module_state *)PyType_GetModuleState(type);
    if (st == NULL)
        return NULL;
    if (!PyObject_TypeCheck(mutex, st->mutex_type)) {
        PyErr_SetString(PyExc_TypeError, "mutex must be a futex.Mutex");
        return NULL;
    }
    /* The core takes one flags for both: the Condition follows its Mutex. */
    unsigned mflags = ((SyncObject *)mutex)->flags;
    if (shared_obj != Py_None) {
        int shared = PyObject_IsTrue(shared_obj);
        if (shared < 0)
            return NULL;
        if ((unsigned)shared != (mflags & FUTEX_SHARED)) {
            PyErr_SetString(PyExc_ValueError, "shared must be the mutex's");
            return NULL;
        }
    }
    SyncObject *s = sync_alloc(type, buffer, offset_obj, (mflags & FUTEX_SHARED) ? Py_True : Py_False,
                               FUTEX_COND_SIZE, FUTEX_COND_ALIGN);
    if (s != NULL)
        s->mutex = Py_NewRef(mutex);
    return (PyObject *)s;
}

static int call_cond_wait(void *arg, const futex_deadline *d, unsigned nospin)
{
    SyncObject *s = ((sync_call *)arg)->s;
    return futex_cond_wait((futex_cond *)s->mem, (futex_mutex *)((SyncObject *)s->mutex)->mem, d, s->flags | nospin);
}

/* One wait until d: 1 notified, 0 timed out, -1 raised. */
static int cond_wait_until(PyObject *self, const futex_deadline *d)
{
    SyncObject *s = (SyncObject *)self;
    if (futex_mutex_is_owned(MUTEX(s->mutex)) != 1) {
        PyErr_SetString(PyExc_RuntimeError, "cannot wait on un-acquired lock");
        return -1;
    }
    int rc = block(s, call_cond_wait, &(sync_call){0}, d, 1);
    switch (rc) {
    case 0:
        return 1;
    case -ETIMEDOUT: /* the mutex is held again */
        return 0;
    case RAISED: /* the mutex is held again, as after threading.Condition.wait */
        return -1;
    default: /* -EOWNERDEAD: held, tell; -ENOTRECOVERABLE: not held */
        raise_sync(self, rc);
        return -1;
    }
}

static PyObject *cond_wait(PyObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"timeout", NULL};
    PyObject *timeout_obj = Py_None;
    uint64_t ns;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|O:wait", kwlist, &timeout_obj) || to_timeout_ns(timeout_obj, &ns) < 0)
        return NULL;
    futex_deadline d;
    futex_deadline_init(&d, ns);
    int r = cond_wait_until(self, &d);
    return r < 0 ? NULL : PyBool_FromLong(r);
}

/* threading.Condition.wait_for, on one absolute deadline. */
static PyObject *cond_wait_for(PyObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"predicate", "timeout", NULL};
    PyObject *predicate, *timeout_obj = Py_None;
    uint64_t ns;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O|O:wait_for", kwlist, &predicate, &timeout_obj) ||
        to_timeout_ns(timeout_obj, &ns) < 0)
        return NULL;
    futex_deadline d;
    futex_deadline_init(&d, ns);
    for (;;) {
        PyObject *result = PyObject_CallNoArgs(predicate);
        if (result == NULL)
            return NULL;
        int truth = PyObject_IsTrue(result);
        if (truth != 0 || futex_deadline_remaining_ns(&d) == 0)
            return truth < 0 ? (Py_DECREF(result), NULL) : result;
        Py_DECREF(result);
        if (cond_wait_until(self, &d) < 0)
            return NULL;
    }
}

static PyObject *cond_notify_n(PyObject *self, uint32_t n, int all)
{
    SyncObject *s = (SyncObject *)self;
    if (futex_mutex_is_owned(MUTEX(s->mutex)) != 1) {
        PyErr_SetString(PyExc_RuntimeError, "cannot notify on un-acquired lock");
        return NULL;
    }
    int rc = all ? futex_cond_notify_all(COND(s), s->flags) : futex_cond_notify(COND(s), n, s->flags);
    return rc < 0 ? raise_sync(self, rc) : Py_NewRef(Py_None);
}

static PyObject *cond_notify(PyObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"n", NULL};
    PyObject *n_obj = NULL;
    uint32_t n = 1;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|O:notify", kwlist, &n_obj))
        return NULL;
    if (n_obj != NULL) {
        PyObject *idx = PyNumber_Index(n_obj);
        if (idx == NULL)
            return NULL;
        int overflow = 0;
        long long v = PyLong_AsLongLongAndOverflow(idx, &overflow);
        Py_DECREF(idx);
        if (v == -1 && PyErr_Occurred())
            return NULL;
        if (overflow < 0 || (overflow == 0 && v < 0)) {
            PyErr_Format(PyExc_ValueError, "n must be >= 0, got %R", n_obj);
            return NULL;
        }
        n = overflow > 0 || v >= (long long)UINT32_MAX ? UINT32_MAX : (uint32_t)v;
    }
    return cond_notify_n(self, n, 0);
}

static PyObject *cond_notify_all(PyObject *self, PyObject *Py_UNUSED(ignored)) { return cond_notify_n(self, 0, 1); }

/* acquire / release / with: the Mutex's own. */
static PyObject *cond_acquire(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    return mutex_acquire(((SyncObject *)self)->mutex, args, nargs, kwnames);
}

static PyObject *cond_release(PyObject *self, PyObject *Py_UNUSED(ignored))
{
    return mutex_release(((SyncObject *)self)->mutex, NULL);
}

static PyObject *cond_exit(PyObject *self, PyObject *const *Py_UNUSED(args), Py_ssize_t Py_UNUSED(nargs))
{
    return mutex_release(((SyncObject *)self)->mutex, NULL);
}

static PyObject *cond_enter(PyObject *self, PyObject *Py_UNUSED(ignored))
{
    int r = mutex_take(((SyncObject *)self)->mutex, FUTEX_FOREVER);
    return r < 0 ? NULL : Py_NewRef(self);
}

static PyObject *cond_get_mutex(PyObject *self, void *Py_UNUSED(closure))
{
    return Py_NewRef(((SyncObject *)self)->mutex);
}

static PyObject *cond_reduce(PyObject *self, PyObject *Py_UNUSED(ignored))
{
    PyObject *a = Py_BuildValue("(O)", ((SyncObject *)self)->mutex);
    PyObject *kw = a == NULL ? NULL : PyDict_New();
    PyObject *res = kw == NULL ? NULL : sync_reduce_with(self, a, kw);
    Py_XDECREF(a);
    Py_XDECREF(kw);
    return res;
}

static PyObject *cond_repr(PyObject *self)
{
    return PyUnicode_FromFormat("<futex.Condition at %p: %R>", (void *)self, ((SyncObject *)self)->mutex);
}

static PyMethodDef cond_methods[] = {
    {"wait", (PyCFunction)(void (*)(void))cond_wait, METH_VARARGS | METH_KEYWORDS,
     "wait(timeout=None) -> bool\n\nWith the mutex held: release it, sleep until notified (True) or timeout\n"
     "seconds passed (False), take it again. No spurious wakeups. RuntimeError without the mutex;\n"
     "OwnerDiedError (mutex held) if it was re-taken from a dead owner."},
    {"wait_for", (PyCFunction)(void (*)(void))cond_wait_for, METH_VARARGS | METH_KEYWORDS,
     "wait_for(predicate, timeout=None)\n\nwait() until predicate() is true; its last result."},
    {"notify", (PyCFunction)(void (*)(void))cond_notify, METH_VARARGS | METH_KEYWORDS,
     "notify(n=1)\n\nWake up to n waiters. RuntimeError without the mutex."},
    {"notify_all", cond_notify_all, METH_NOARGS, "notify_all()\n\nWake every waiter."},
    {"acquire", (PyCFunction)(void (*)(void))cond_acquire, METH_FASTCALL | METH_KEYWORDS,
     "acquire(blocking=True, timeout=-1) -> bool\n\nThe mutex's acquire."},
    {"release", cond_release, METH_NOARGS, "release()\n\nThe mutex's release."},
    {"__enter__", cond_enter, METH_NOARGS, NULL},
    {"__exit__", (PyCFunction)(void (*)(void))cond_exit, METH_FASTCALL, NULL},
    {"__reduce__", cond_reduce, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef cond_getset[] = {
    {"offset", sync_get_offset, NULL, "Byte offset of the primitive in its buffer.", NULL},
    {"shared", sync_get_shared, NULL, "True if it works across processes (FUTEX_SHARED).", NULL},
    {"mutex", cond_get_mutex, NULL, "The futex.Mutex it is used with.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

PyDoc_STRVAR(cond_doc, "Condition(buffer, offset, mutex, *, shared=None)\n\n"
                       "threading.Condition over a futex.Mutex, in SIZE bytes at offset of a buffer or\n"
                       "SharedMemory (buffer None: its own memory). It is shared as its mutex is.");

static PyType_Slot cond_slots[] = {SYNC_SLOTS(cond), SLOT(Py_tp_getset, cond_getset), {0, NULL}};

static PyType_Spec cond_spec = {
    .name = "futex.Condition", .basicsize = sizeof(SyncObject), .flags = SYNC_FLAGS, .slots = cond_slots};

/* ---- Barrier ---- */

static PyObject *barrier_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"buffer", "offset", "parties", "timeout", "shared", NULL};
    PyObject *buffer = Py_None, *offset_obj = NULL, *parties_obj = Py_None, *timeout_obj = Py_None,
             *shared_obj = NULL;
    uint32_t parties = 0;
    uint64_t ns;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|OOO$OO:Barrier", kwlist, &buffer, &offset_obj, &parties_obj,
                                     &timeout_obj, &shared_obj))
        return NULL;
    if (to_timeout_ns(timeout_obj, &ns) < 0)
        return NULL;
    if (parties_obj != Py_None) {
        /* ValueError for any count out of range, negative ones included,
         * as threading.Barrier. */
        PyObject *idx = PyNumber_Index(parties_obj);
        if (idx == NULL)
            return NULL;
        int overflow = 0;
        long long v = PyLong_AsLongLongAndOverflow(idx, &overflow);
        Py_DECREF(idx);
        if (v == -1 && PyErr_Occurred())
            return NULL;
        if (overflow != 0 || v < 1 || v > (long long)FUTEX_BARRIER_PARTIES_MAX) {
            PyErr_Format(PyExc_ValueError, "parties must be in [1, %u], got %R", FUTEX_BARRIER_PARTIES_MAX,
                         parties_obj);
            return NULL;
        }
        parties = (uint32_t)v;
    } else if (buffer == Py_None) {
        PyErr_SetString(PyExc_ValueError, "parties is needed for a Barrier over its own memory");
        return NULL;
    }
    SyncObject *s = sync_alloc(type, buffer, offset_obj, shared_obj, FUTEX_BARRIER_SIZE, FUTEX_BARRIER_ALIGN);
    if (s == NULL)
        return NULL;
    s->default_timeout = Py_NewRef(timeout_obj);
    /* The core sets up all-zero memory or attaches, atomically; parties
     * None only attaches. */
    int rc = parties != 0 ? futex_barrier_init(BARRIER(s), parties) : 0;
    int have = futex_barrier_parties(BARRIER(s));
    const char *err = NULL;
    if (rc == -EEXIST)
        err = "the barrier in this memory has another party count";
    else if (rc == 0 && have == 0)
        err = "the barrier is not initialised (all zeros): pass parties";
    else if (rc == -EINVAL || have < 0)
        err = "this memory holds no barrier (parties 0 with a state, or a party count past 65535)";
    else if (rc < 0) {
        Py_DECREF(s);
        return raise_result(rc);
    }
    if (err != NULL) {
        PyErr_Format(PyExc_ValueError, "%s (memory says %d, given %lu)", err, have, (unsigned long)parties);
        Py_DECREF(s);
        return NULL;
    }
    return (PyObject *)s;
}

static int call_barrier_wait(void *arg, const futex_deadline *d, unsigned nospin)
{
    sync_call *a = arg;
    return futex_barrier_wait((futex_barrier *)a->s->mem, &a->ticket, d, a->s->flags | nospin);
}

static PyObject *barrier_wait(PyObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"timeout", NULL};
    SyncObject *s = (SyncObject *)self;
    PyObject *timeout_obj = Py_None;
    uint64_t ns;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|O:wait", kwlist, &timeout_obj))
        return NULL;
    if (to_timeout_ns(timeout_obj == Py_None ? s->default_timeout : timeout_obj, &ns) < 0)
        return NULL;
    futex_deadline d;
    futex_deadline_init(&d, ns);
    sync_call call = {s, 0}; /* its ticket keeps our place across -EINTR */
    int rc = block(s, call_barrier_wait, &call, &d, 0);
    if (rc >= 0)
        return PyLong_FromLong(rc);
    if (rc == RAISED) {
        /* As threading.Barrier: an exception in wait breaks the barrier. */
        futex_barrier_abort(BARRIER(s), s->flags);
        return NULL;
    }
    return raise_sync(self, rc); /* -ECANCELED, -ETIMEDOUT: BrokenBarrierError */
}

static PyObject *barrier_reset(PyObject *self, PyObject *Py_UNUSED(ignored))
{
    SyncObject *s = (SyncObject *)self;
    int rc;
    /* reset waits for the broken generation's waiters to leave: not long,
     * but it may sleep, so without the GIL. */
    Py_BEGIN_ALLOW_THREADS
    rc = futex_barrier_reset(BARRIER(s), s->flags);
    Py_END_ALLOW_THREADS
    return rc < 0 ? raise_sync(self, rc) : Py_NewRef(Py_None);
}

static PyObject *barrier_abort(PyObject *self, PyObject *Py_UNUSED(ignored))
{
    int rc = futex_barrier_abort(BARRIER(self), ((SyncObject *)self)->flags);
    return rc < 0 ? raise_sync(self, rc) : Py_NewRef(Py_None);
}

static PyObject *barrier_int(PyObject *self, int v) { return v < 0 ? raise_sync(self, v) : PyLong_FromLong(v); }

static PyObject *barrier_get_parties(PyObject *self, void *Py_UNUSED(c))
{
    return barrier_int(self, futex_barrier_parties(BARRIER(self)));
}

static PyObject *barrier_get_n_waiting(PyObject *self, void *Py_UNUSED(c))
{
    return barrier_int(self, futex_barrier_n_waiting(BARRIER(self)));
}

static PyObject *barrier_get_broken(PyObject *self, void *Py_UNUSED(c))
{
    int b = futex_barrier_broken(BARRIER(self));
    return b < 0 ? raise_sync(self, b) : PyBool_FromLong(b);
}

static PyObject *barrier_reduce(PyObject *self, PyObject *Py_UNUSED(ignored))
{
    SyncObject *s = (SyncObject *)self;
    PyObject *a = PyTuple_New(0);
    PyObject *kw = a == NULL ? NULL
                             : Py_BuildValue("{sisOsO}", "parties", futex_barrier_parties(BARRIER(s)), "timeout",
                                             s->default_timeout, "shared",
                                             (s->flags & FUTEX_SHARED) ? Py_True : Py_False);
    PyObject *res = kw == NULL ? NULL : sync_reduce_with(self, a, kw);
    Py_XDECREF(a);
    Py_XDECREF(kw);
    return res;
}

static PyObject *barrier_repr(PyObject *self)
{
    if (futex_barrier_broken(BARRIER(self)) == 1)
        return PyUnicode_FromFormat("<futex.Barrier at %p: broken>", (void *)self);
    return PyUnicode_FromFormat("<futex.Barrier at %p: waiters=%d/%d>", (void *)self,
                                futex_barrier_n_waiting(BARRIER(self)), futex_barrier_parties(BARRIER(self)));
}

static PyMethodDef barrier_methods[] = {
    {"wait", (PyCFunction)(void (*)(void))barrier_wait, METH_VARARGS | METH_KEYWORDS,
     "wait(timeout=None) -> int\n\nArrive and wait for all parties: the arrival index (0 .. parties-1).\n"
     "threading.BrokenBarrierError if the barrier is or becomes broken (abort, reset, a timeout:\n"
     "a wait that times out breaks it for everyone). timeout None: the constructor's timeout."},
    {"reset", barrier_reset, METH_NOARGS, "reset()\n\nBack to empty and unbroken; current waiters get BrokenBarrierError."},
    {"abort", barrier_abort, METH_NOARGS, "abort()\n\nBreak the barrier: waits raise BrokenBarrierError until reset()."},
    {"__reduce__", barrier_reduce, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef barrier_getset[] = {
    {"offset", sync_get_offset, NULL, "Byte offset of the primitive in its buffer.", NULL},
    {"shared", sync_get_shared, NULL, "True if it works across processes (FUTEX_SHARED).", NULL},
    {"parties", barrier_get_parties, NULL, "The number of parties.", NULL},
    {"n_waiting", barrier_get_n_waiting, NULL, "The number waiting now.", NULL},
    {"broken", barrier_get_broken, NULL, "True if the barrier is broken.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

PyDoc_STRVAR(barrier_doc,
             "Barrier(buffer=None, offset=0, parties=None, *, timeout=None, shared=None)\n\n"
             "threading.Barrier (without action) in SIZE bytes at offset of a buffer or SharedMemory (see\n"
             "Mutex). parties initialises all-zero memory, or must match what is there; None attaches.\n"
             "timeout is wait()'s default. A party that dies inside wait is not noticed: use timeouts.");

static PyType_Slot barrier_slots[] = {SYNC_SLOTS(barrier), SLOT(Py_tp_getset, barrier_getset), {0, NULL}};

static PyType_Spec barrier_spec = {
    .name = "futex.Barrier", .basicsize = sizeof(SyncObject), .flags = SYNC_FLAGS, .slots = barrier_slots};

/* Adds a primitive type with its SIZE and ALIGN. */
static PyTypeObject *add_sync_type(PyObject *mod, PyType_Spec *spec, long size, long align)
{
    PyTypeObject *t = (PyTypeObject *)PyType_FromModuleAndSpec(mod, spec, NULL);
    if (t == NULL)
        return NULL;
    PyObject *sz = PyLong_FromLong(size), *al = PyLong_FromLong(align);
    int bad = sz == NULL || al == NULL || PyObject_SetAttrString((PyObject *)t, "SIZE", sz) < 0 ||
              PyObject_SetAttrString((PyObject *)t, "ALIGN", al) < 0 || PyModule_AddType(mod, t) < 0;
    Py_XDECREF(sz);
    Py_XDECREF(al);
    if (bad) {
        Py_DECREF(t);
        return NULL;
    }
    return t;
}

/* ---- Watcher: readiness of words through a file descriptor ---------------
 *
 * futex._Watcher wraps one futex_watcher for the asyncio layer in
 * futex/_aio.py (one per event loop; its fileno() goes to loop.add_reader).
 * It keeps every registered object alive (and a Cell marked in use, so
 * release() cannot unmap a word the helper thread still reads) until
 * the watcher has left its word (remove(), or the LEFT report of a dropped
 * one). A primitive's post/set/unlock makes a wake call only for an
 * announced waiter, so add_waiter announces through the core
 * (futex_*_announce) before it registers the word it is given. */

typedef struct {
    PyObject_HEAD
    futex_watcher *w;
    PyObject *targets; /* dict: id -> the registered Cell or primitive */
    uint32_t forks;    /* fork_count when made: a forked child has no helper thread */
} WatcherObject;

/* A forked child inherits the watcher but not its helper thread: it must
 * neither use nor destroy it, nor undo its registrations (the Semaphore
 * announcements in shared memory are the parent's). */
static int watcher_forked(const WatcherObject *o)
{
    return futex__atomic_load(&fork_count, FUTEX__RELAXED) != o->forks;
}

static WatcherObject *watcher_checked(PyObject *self)
{
    WatcherObject *o = (WatcherObject *)self;
    if (o->w == NULL) {
        PyErr_SetString(PyExc_ValueError, "operation on a closed futex watcher");
        return NULL;
    }
    if (watcher_forked(o)) {
        PyErr_SetString(PyExc_RuntimeError, "a futex watcher cannot be used in a forked child (make a new one)");
        return NULL;
    }
    return o;
}

static PyObject *watcher_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    if (!PyArg_ParseTuple(args, ":_Watcher") || (kwds != NULL && PyDict_Size(kwds) != 0)) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_TypeError, "_Watcher() takes no arguments");
        return NULL;
    }
    WatcherObject *o = (WatcherObject *)slot_alloc(type)(type, 0);
    if (o == NULL)
        return NULL;
    o->forks = futex__atomic_load(&fork_count, FUTEX__RELAXED);
    o->targets = PyDict_New();
    int rc = o->targets == NULL ? 0 : futex_watcher_create(&o->w);
    if (o->targets == NULL || rc < 0) {
        if (rc < 0)
            raise_result(rc);
        Py_DECREF(o);
        return NULL;
    }
    return (PyObject *)o;
}

/* Drops a removed registration's hold on its target: a Cell leaves its
 * in-use state; a primitive's announcement is withdrawn through the core
 * (how: 0 or FUTEX_WITHDRAW_PASS_ON). */
static void watcher_drop_target(WatcherObject *o, PyObject *target, unsigned how)
{
    module_state *st = (module_state *)PyType_GetModuleState(Py_TYPE((PyObject *)o));
    SyncObject *s = (SyncObject *)target;
    if (PyObject_TypeCheck(target, st->cell_type))
        leave((CellObject *)target);
    else if (PyObject_TypeCheck(target, st->sem_type))
        (void)futex_sem_withdraw(SEM(s), s->flags, how); /* flags checked by the announce: cannot fail */
    else if (how != 0 && PyObject_TypeCheck(target, st->mutex_type))
        (void)futex_mutex_withdraw(MUTEX(s), s->flags, how);
}

static void watcher_close_all(WatcherObject *o)
{
    if (o->w != NULL && watcher_forked(o)) {
        /* Not ours to stop (no helper thread here) nor to undo: leave it. */
        o->w = NULL;
        if (o->targets != NULL)
            PyDict_Clear(o->targets);
        return;
    }
    if (o->w != NULL) {
        futex_watcher_destroy(o->w); /* the helper thread is gone: no word is read any more */
        o->w = NULL;
    }
    if (o->targets != NULL) {
        PyObject *key, *value;
        Py_ssize_t pos = 0;
        while (PyDict_Next(o->targets, &pos, &key, &value))
            watcher_drop_target(o, value, 0);
        PyDict_Clear(o->targets);
    }
}

static int watcher_traverse(PyObject *self, visitproc visit, void *arg)
{
    Py_VISIT(((WatcherObject *)self)->targets);
    Py_VISIT(Py_TYPE(self));
    return 0;
}

static void watcher_dealloc(PyObject *self)
{
    PyTypeObject *type = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    watcher_close_all((WatcherObject *)self);
    Py_CLEAR(((WatcherObject *)self)->targets);
    slot_free(type)(self);
    Py_DECREF(type);
}

static PyObject *watcher_close(PyObject *self, PyObject *Py_UNUSED(ignored))
{
    watcher_close_all((WatcherObject *)self);
    Py_RETURN_NONE;
}

static PyObject *watcher_fileno(PyObject *self, PyObject *Py_UNUSED(ignored))
{
    WatcherObject *o = watcher_checked(self);
    return o == NULL ? NULL : PyLong_FromLong(futex_watcher_fd(o->w));
}

/* add(cell, expected) -> id: the watcher fires id once the cell's word no
 * longer holds expected, or is woken. */
static PyObject *watcher_add(PyObject *self, PyObject *args)
{
    PyObject *cell_obj, *expected_obj;
    uint32_t expected;
    WatcherObject *o = watcher_checked(self);
    if (o == NULL || !PyArg_ParseTuple(args, "OO:add", &cell_obj, &expected_obj))
        return NULL;
    module_state *st = (module_state *)PyType_GetModuleState(Py_TYPE(self));
    if (!PyObject_TypeCheck(cell_obj, st->cell_type)) {
        type_error("add() needs a futex.Cell, not %U", cell_obj);
        return NULL;
    }
    if (to_u32(expected_obj, &expected, "expected") < 0)
        return NULL;
    CellObject *c = (CellObject *)cell_obj;
    if (enter(c) < 0) /* in use until remove(): release() cannot drop the export meanwhile */
        return NULL;
    int id = futex_watcher_add(o->w, c->word, expected, c->flags);
    PyObject *key = id < 0 ? NULL : PyLong_FromLong(id);
    if (key == NULL || PyDict_SetItem(o->targets, key, cell_obj) < 0) {
        if (id >= 0)
            futex_watcher_remove(o->w, id);
        else
            raise_result(id);
        Py_XDECREF(key);
        leave(c);
        return NULL;
    }
    return key;
}

/* add_waiter(primitive[, since]) -> (id, word) or (None, word): announces
 * the caller as a waiter of a Mutex, Semaphore or Event (the core's
 * futex_*_announce) and registers the word it gives, so the next unlock /
 * post / set wakes the watcher. (None, word) when there is nothing to wait
 * for (the mutex is free, the event set, or set since `since`, the word a
 * first call returned): try again. */
static PyObject *watcher_add_waiter(PyObject *self, PyObject *args)
{
    PyObject *target, *since_obj = Py_None;
    WatcherObject *o = watcher_checked(self);
    if (o == NULL || !PyArg_ParseTuple(args, "O|O:add_waiter", &target, &since_obj))
        return NULL;
    module_state *st = (module_state *)PyType_GetModuleState(Py_TYPE(self));
    SyncObject *s = (SyncObject *)target;
    futex_waitv_item item = {NULL, 0, 0};
    uint32_t since = 0;
    int rc, is_sem = PyObject_TypeCheck(target, st->sem_type);
    if (since_obj != Py_None && to_u32(since_obj, &since, "since") < 0)
        return NULL;
    if (is_sem)
        rc = futex_sem_announce(SEM(s), s->flags, &item);
    else if (PyObject_TypeCheck(target, st->mutex_type))
        rc = futex_mutex_announce(MUTEX(s), s->flags, &item);
    else if (PyObject_TypeCheck(target, st->event_type))
        rc = futex_event_announce(EVENT(s), s->flags, since_obj == Py_None ? NULL : &since, &item);
    else {
        type_error("add_waiter() needs a futex.Mutex, Semaphore or Event, not %U", target);
        return NULL;
    }
    if (rc == -EAGAIN)
        return Py_BuildValue("(Ok)", Py_None, (unsigned long)item.expected); /* nothing to wait for */
    if (rc < 0)
        return raise_result(rc);
    int id = futex_watcher_add(o->w, item.word, item.expected, item.flags);
    if (id < 0) {
        if (is_sem)
            (void)futex_sem_withdraw(SEM(s), s->flags, 0);
        return raise_result(id);
    }
    PyObject *key = PyLong_FromLong(id);
    if (key == NULL || PyDict_SetItem(o->targets, key, target) < 0) {
        Py_XDECREF(key);
        futex_watcher_remove(o->w, id);
        if (is_sem)
            (void)futex_sem_withdraw(SEM(s), s->flags, 0);
        return NULL;
    }
    return Py_BuildValue("(Nk)", key, (unsigned long)item.expected);
}

/* Unregisters id (held in targets under key): its word is never read again,
 * and its target's hold is dropped (how: as watcher_drop_target). */
static int watcher_unregister(WatcherObject *o, PyObject *key, int id, unsigned how)
{
    PyObject *target = PyDict_GetItemWithError(o->targets, key);
    if (target == NULL) {
        if (!PyErr_Occurred())
            PyErr_Format(PyExc_KeyError, "no registration %d", id);
        return -1;
    }
    Py_INCREF(target);
    int rc = futex_watcher_remove(o->w, id);
    if (rc == 0 && PyDict_DelItem(o->targets, key) == 0)
        watcher_drop_target(o, target, how);
    Py_DECREF(target);
    if (rc < 0) {
        raise_result(rc);
        return -1;
    }
    return PyErr_Occurred() ? -1 : 0;
}

/* remove(id, pass_on=False): unregisters id (its word is never read again)
 * and withdraws its announcement. pass_on: the registration may have fired
 * but its waiter leaves without taking (cancelled, timed out): a wake of a
 * Mutex or Semaphore that the watcher consumed goes to the next sleeper, as
 * the core's waiters do when they leave. */
static PyObject *watcher_remove(PyObject *self, PyObject *args)
{
    int id, pass_on = 0;
    WatcherObject *o = watcher_checked(self);
    if (o == NULL || !PyArg_ParseTuple(args, "i|p:remove", &id, &pass_on))
        return NULL;
    PyObject *key = PyLong_FromLong(id);
    if (key == NULL)
        return NULL;
    int rc = watcher_unregister(o, key, id, pass_on ? FUTEX_WITHDRAW_PASS_ON : 0);
    Py_DECREF(key);
    if (rc < 0)
        return NULL;
    Py_RETURN_NONE;
}

/* took(mutex): the caller took the mutex after one of its registrations
 * fired: keep WAITERS in the word, as a core waiter that slept does, so the
 * release wakes the sleepers that the unlock which woke us left asleep. */
static PyObject *watcher_took(PyObject *self, PyObject *target)
{
    module_state *st = (module_state *)PyType_GetModuleState(Py_TYPE(self));
    if (!PyObject_TypeCheck(target, st->mutex_type)) {
        type_error("took() needs a futex.Mutex, not %U", target);
        return NULL;
    }
    SyncObject *s = (SyncObject *)target;
    int rc = futex_mutex_withdraw(MUTEX(s), s->flags, FUTEX_WITHDRAW_TOOK);
    if (rc < 0)
        return raise_result(rc);
    Py_RETURN_NONE;
}

/* resolve(futures, late, own): the fd reader of futex/_aio.py, in one C
 * loop (a batch may hold thousands of ids). A fired id's future in
 * `futures` gets set_result(True), or, if its timer resolved it already,
 * the id goes into the set `late`; ids without a future (removed meanwhile)
 * are skipped. A future of type `own` (a Cell wait, which has no coroutine
 * of its own to clean up after it) also leaves `futures` and is
 * unregistered here, before its result is set. Drains the fd
 * (futex_watcher_ready). */
static PyObject *watcher_resolve(PyObject *self, PyObject *args)
{
    PyObject *futures, *late, *own;
    WatcherObject *o = watcher_checked(self);
    if (o == NULL ||
        !PyArg_ParseTuple(args, "O!O!O!:resolve", &PyDict_Type, &futures, &PySet_Type, &late, &PyType_Type, &own))
        return NULL;
    PyObject *done_name = PyUnicode_InternFromString("done");
    PyObject *set_name = PyUnicode_InternFromString("set_result");
    int ids[256];
    int n = 0, failed = done_name == NULL || set_name == NULL;
    while (!failed && (n = futex_watcher_ready(o->w, ids, 256)) > 0) {
        for (int i = 0; i < n && !failed; i++) {
            PyObject *key = PyLong_FromLong(ids[i]);
            PyObject *fut = key == NULL ? NULL : PyDict_GetItemWithError(futures, key); /* borrowed */
            if (fut != NULL) {
                Py_INCREF(fut);
                int owned = PyObject_TypeCheck(fut, (PyTypeObject *)own);
                if (owned)
                    failed = PyDict_DelItem(futures, key) < 0 || watcher_unregister(o, key, ids[i], 0) < 0;
                PyObject *done = failed ? NULL : PyObject_CallMethodObjArgs(fut, done_name, NULL);
                int is_done = done == NULL ? -1 : PyObject_IsTrue(done);
                Py_XDECREF(done);
                PyObject *r = NULL;
                if (is_done == 0)
                    r = PyObject_CallMethodObjArgs(fut, set_name, Py_True, NULL);
                failed = is_done < 0 || (is_done == 0 && r == NULL) ||
                         (is_done == 1 && !owned && PySet_Add(late, key) < 0);
                Py_XDECREF(r);
                Py_DECREF(fut);
            } else {
                failed = PyErr_Occurred() != NULL;
            }
            Py_XDECREF(key);
        }
        if (n < 256)
            break;
    }
    Py_XDECREF(done_name);
    Py_XDECREF(set_name);
    if (failed)
        return NULL;
    if (n < 0)
        return raise_result(n);
    Py_RETURN_NONE;
}

static PyObject *watcher_len(PyObject *self, PyObject *Py_UNUSED(ignored))
{
    return PyLong_FromSsize_t(PyDict_Size(((WatcherObject *)self)->targets));
}

static PyMethodDef watcher_methods[] = {
    {"fileno", watcher_fileno, METH_NOARGS, "fileno() -> int\n\nThe fd that is readable while an id has fired."},
    {"add", watcher_add, METH_VARARGS, "add(cell, expected) -> id\n\nFire id once the word differs or is woken."},
    {"add_waiter", watcher_add_waiter, METH_VARARGS,
     "add_waiter(primitive, since=None) -> (id | None, word)\n\nAnnounce a Mutex/Semaphore/Event waiter and register its word."},
    {"remove", watcher_remove, METH_VARARGS,
     "remove(id, pass_on=False)\n\nUnregister id; pass_on hands a consumed wake to the next waiter."},
    {"took", watcher_took, METH_O, "took(mutex)\n\nAfter taking a mutex as a woken waiter: keep its WAITERS bit."},
    {"resolve", watcher_resolve, METH_VARARGS,
     "resolve(futures, late, own)\n\nset_result(True) on each fired id's future (ids whose future is done go into late;\n"
     "futures of type own are also unregistered)."},
    {"pending", watcher_len, METH_NOARGS, "pending() -> int\n\nHow many registrations are held."},
    {"close", watcher_close, METH_NOARGS, "close()\n\nStop the helper thread and drop every registration."},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot watcher_slots[] = {
    SLOT(Py_tp_new, watcher_new),
    SLOT(Py_tp_dealloc, watcher_dealloc),
    SLOT(Py_tp_traverse, watcher_traverse),
    SLOT(Py_tp_methods, watcher_methods),
    SLOT(Py_tp_doc, "_Watcher()\n\nA futex_watcher: readiness of words through a file descriptor (for futex._aio)."),
    {0, NULL},
};

static PyType_Spec watcher_spec = {
    .name = "futex._futex._Watcher",
    .basicsize = sizeof(WatcherObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .slots = watcher_slots,
};

/* The watcher needs threads and an fd: absent on Windows and the
 * single-threaded backend, where futex_watcher_create says -ENOTSUP. */
static int add_watcher_type(PyObject *mod)
{
    PyObject *t = PyType_FromModuleAndSpec(mod, &watcher_spec, NULL);
    if (t == NULL)
        return -1;
    int rc = PyModule_AddType(mod, (PyTypeObject *)t);
    Py_DECREF(t);
    return rc;
}

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
    if ((st->mutex_type = add_sync_type(mod, &mutex_spec, FUTEX_MUTEX_SIZE, FUTEX_MUTEX_ALIGN)) == NULL ||
        (st->sem_type = add_sync_type(mod, &sem_spec, FUTEX_SEM_SIZE, FUTEX_SEM_ALIGN)) == NULL ||
        (st->event_type = add_sync_type(mod, &event_spec, FUTEX_EVENT_SIZE, FUTEX_EVENT_ALIGN)) == NULL ||
        (st->cond_type = add_sync_type(mod, &cond_spec, FUTEX_COND_SIZE, FUTEX_COND_ALIGN)) == NULL ||
        (st->barrier_type = add_sync_type(mod, &barrier_spec, FUTEX_BARRIER_SIZE, FUTEX_BARRIER_ALIGN)) == NULL)
        return -1;
    if (add_watcher_type(mod) < 0)
        return -1;
    /* RuntimeError subclasses: like threading's errors, not an OSError that a
     * handler for I/O errors would swallow while the mutex stays held. */
    st->owner_died = PyErr_NewExceptionWithDoc(
        "futex.OwnerDiedError",
        "Raised by Mutex.acquire (and Condition.wait) with the mutex HELD: its previous owner died\n"
        "holding it. Repair what it protects, call consistent(), then release as usual.",
        PyExc_RuntimeError, NULL);
    if (st->owner_died == NULL || PyModule_AddObjectRef(mod, "OwnerDiedError", st->owner_died) < 0)
        return -1;
    st->not_recoverable = PyErr_NewExceptionWithDoc(
        "futex.NotRecoverableError",
        "The mutex was released without consistent() after its owner died: it is permanently unusable.",
        PyExc_RuntimeError, NULL);
    if (st->not_recoverable == NULL || PyModule_AddObjectRef(mod, "NotRecoverableError", st->not_recoverable) < 0)
        return -1;
    PyObject *thread = PyImport_ImportModule("_thread");
    PyObject *tmax = thread == NULL ? NULL : PyObject_GetAttrString(thread, "TIMEOUT_MAX");
    Py_XDECREF(thread);
    st->timeout_max = tmax == NULL ? -1.0 : PyFloat_AsDouble(tmax);
    Py_XDECREF(tmax);
    if (st->timeout_max == -1.0 && PyErr_Occurred())
        return -1;
    if (PyModule_AddStringConstant(mod, "__version__", FUTEX_VERSION) < 0 ||
        PyModule_AddStringConstant(mod, "backend", futex_backend()) < 0 ||
        PyModule_AddIntConstant(mod, "capabilities", (long)futex_capabilities()) < 0 ||
        PyModule_AddIntConstant(mod, "CAP_SHARED", FUTEX_CAP_SHARED) < 0 ||
        PyModule_AddIntConstant(mod, "CAP_WAKE_COUNT", FUTEX_CAP_WAKE_COUNT) < 0 ||
        PyModule_AddIntConstant(mod, "CAP_ABSOLUTE_DEADLINE", FUTEX_CAP_ABSOLUTE_DEADLINE) < 0 ||
        PyModule_AddIntConstant(mod, "CAP_INTERRUPTIBLE", FUTEX_CAP_INTERRUPTIBLE) < 0 ||
        PyModule_AddIntConstant(mod, "CAP_WAITV_NATIVE", FUTEX_CAP_WAITV_NATIVE) < 0 ||
        PyModule_AddIntConstant(mod, "CAP_WAITV_EXACT", FUTEX_CAP_WAITV_EXACT) < 0)
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
    Py_VISIT(st->mutex_type);
    Py_VISIT(st->sem_type);
    Py_VISIT(st->event_type);
    Py_VISIT(st->cond_type);
    Py_VISIT(st->barrier_type);
    Py_VISIT(st->owner_died);
    Py_VISIT(st->not_recoverable);
    return 0;
}

static int module_clear(PyObject *mod)
{
    module_state *st = PyModule_GetState(mod);
    Py_CLEAR(st->cell_type);
    Py_CLEAR(st->deadline_type);
    Py_CLEAR(st->mutex_type);
    Py_CLEAR(st->sem_type);
    Py_CLEAR(st->event_type);
    Py_CLEAR(st->cond_type);
    Py_CLEAR(st->barrier_type);
    Py_CLEAR(st->owner_died);
    Py_CLEAR(st->not_recoverable);
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
