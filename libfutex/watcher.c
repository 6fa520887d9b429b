/*
 * futex_watcher: futex readiness through a file descriptor, for event loops.
 *
 * One helper thread per watcher sleeps in futex__waitv over a private control
 * word (item 0) and every armed registration. Any change to the
 * registrations bumps the control word and wakes it, so it re-reads them;
 * when a registration's word is woken or differs, the helper disarms it,
 * queues its id, and makes the fd readable (eventfd on Linux, a pipe
 * elsewhere). The helper holds the watcher's mutex only while it builds its
 * item list and after it wakes, never while it sleeps.
 *
 * Static names carry a wt_ prefix so that a unity build has no clashes.
 */
#include "futex.h"

#include "atomic.h"
#include "backend.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#if defined(_WIN32) || defined(__wasm__) || defined(FUTEX_BACKEND_SINGLE)
/* Windows: no fd that every loop polls (sockets and events are apart);
 * wasm: no fd to poll; single: no thread to wait in. Said, not faked. */
struct futex_watcher {
    int unused;
};
int futex_watcher_create(futex_watcher **out) { return out == NULL ? -EINVAL : -ENOTSUP; }
void futex_watcher_destroy(futex_watcher *w) { (void)w; }
int futex_watcher_fd(const futex_watcher *w) { return w == NULL ? -EINVAL : -ENOTSUP; }
int futex_watcher_add(futex_watcher *w, const uint32_t *word, uint32_t expected, unsigned flags)
{
    (void)word, (void)expected, (void)flags;
    return w == NULL ? -EINVAL : -ENOTSUP;
}
int futex_watcher_rearm(futex_watcher *w, int id, uint32_t expected)
{
    (void)id, (void)expected;
    return w == NULL ? -EINVAL : -ENOTSUP;
}
int futex_watcher_remove(futex_watcher *w, int id)
{
    (void)id;
    return w == NULL ? -EINVAL : -ENOTSUP;
}
int futex_watcher_ready(futex_watcher *w, int *ids, uint32_t max)
{
    (void)ids, (void)max;
    return w == NULL ? -EINVAL : -ENOTSUP;
}
#else

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/eventfd.h>
#endif

/* WT_REMOVING: removed while the helper's wait reads the word; the remover
 * waits for that wait to end, then frees it. */
enum { WT_FREE, WT_ARMED, WT_FIRED, WT_REMOVING };

/* The helper's arrays, sized for `cap` registrations plus the control word. */
typedef struct wt_snapshot {
    futex_waitv_item *items;
    uint32_t *id, *gen;
    futex__waitv_node *nodes;
    uint32_t cap;
} wt_snapshot;

static void wt_snapshot_free(wt_snapshot *s)
{
    free(s->items), free(s->id), free(s->gen), free(s->nodes);
    memset(s, 0, sizeof *s);
}

static int wt_snapshot_alloc(wt_snapshot *s, uint32_t cap)
{
    s->items = malloc(cap * sizeof *s->items);
    s->id = malloc(cap * sizeof *s->id);
    s->gen = malloc(cap * sizeof *s->gen);
    s->nodes = malloc(cap * sizeof *s->nodes);
    s->cap = cap;
    if (s->items == NULL || s->id == NULL || s->gen == NULL || s->nodes == NULL) {
        wt_snapshot_free(s);
        return -ENOMEM;
    }
    return 0;
}

typedef struct wt_reg {
    const uint32_t *word;
    uint32_t expected;
    unsigned flags;
    uint32_t gen; /* bumped by every add, rearm and remove: a stale helper snapshot is ignored */
    int state;    /* WT_FREE, WT_ARMED, WT_FIRED or WT_REMOVING */
    int queued;   /* fired and in the ready queue until futex_watcher_ready reads it */
    uint64_t in_round; /* the helper's last round whose wait includes the word */
} wt_reg;

struct futex_watcher {
    pthread_mutex_t mu;
    pthread_t thread;
    uint32_t ctl; /* the control word: bumped (under mu) whenever the helper must re-read */
    int kicked;   /* mu: ctl was bumped since the helper last read the registrations */
    int stop;     /* mu: destroy asks the helper to leave */
    int rfd, wfd; /* eventfd (both the same) or a pipe's ends */
    int signalled; /* mu: the fd holds a token not yet drained */

    /* mu: the helper's rounds. `waiting` while it sleeps in a wait built in
     * round `round`; `left` is signalled when it wakes. remove() uses them
     * to return only once no wait still reads the removed word. */
    uint64_t round;
    int waiting;
    int kernel_only;   /* mu: the current wait is the OS's multi-wait alone (see wt_main) */
    int os_missing[2]; /* mu: futex__os_waitv said -ENOSYS for <= FUTEX_WAITV_LIMIT words [0], more [1] */
    pthread_cond_t left;

    wt_reg *regs; /* mu: by id */
    uint32_t nregs, cap;
    uint32_t *free_ids, nfree; /* mu: a stack of WT_FREE ids below nregs (cap entries): add is O(1) */

    int *ready; /* mu: fired ids in order, a ring of cap entries */
    uint32_t ready_head, ready_count;

    /* The helper's arrays: items[0] is the control word. Only the helper
     * touches `snap` (its nodes are linked into waitv.c's table while it
     * sleeps), so add() never reallocates them: it leaves larger ones in
     * `spare` (mu) for the helper to adopt before its next wait. */
    wt_snapshot snap, spare;
};

/* ---- the fd --------------------------------------------------------------- */

static int wt_open_fd(futex_watcher *w)
{
#if defined(__linux__)
    /* Nonblocking: the helper must never block writing, ready() never reading. */
    int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (fd < 0)
        return -errno; /* EMFILE/ENFILE: out of fds; ENOMEM */
    w->rfd = w->wfd = fd;
    return 0;
#else
    int p[2];
    if (pipe(p) != 0)
        return -errno; /* EMFILE/ENFILE: out of fds */
    for (int i = 0; i < 2; i++) {
        /* Close-on-exec and nonblocking, as eventfd's flags above. */
        if (fcntl(p[i], F_SETFD, FD_CLOEXEC) != 0 || fcntl(p[i], F_SETFL, O_NONBLOCK) != 0) {
            int e = errno;
            close(p[0]);
            close(p[1]);
            return -e;
        }
    }
    w->rfd = p[0];
    w->wfd = p[1];
    return 0;
#endif
}

static void wt_signal(futex_watcher *w)
{
    if (w->signalled)
        return; /* one token makes it readable; more would only need draining */
#if defined(__linux__)
    uint64_t one = 1;
    ssize_t r = write(w->wfd, &one, sizeof one);
#else
    char one = 1;
    ssize_t r = write(w->wfd, &one, 1);
#endif
    /* It cannot fail but for a full counter or pipe, which holds a token
     * already: readable either way. */
    (void)r;
    w->signalled = 1;
}

static void wt_drain(futex_watcher *w)
{
    char buf[64];
    /* Nonblocking: stops at EAGAIN once empty (an eventfd empties in one read). */
    while (read(w->rfd, buf, sizeof buf) > 0) {
    }
    w->signalled = 0;
}

/* ---- registrations (mu held) --------------------------------------------- */

/* The helper must re-read the registrations: bump the control word so that
 * its futex__waitv returns (-EAGAIN at index 0 if not yet asleep, woken if
 * asleep). SeqCst store before the wake, as futex_wake asks. */
static void wt_kick(futex_watcher *w)
{
    /* One bump per helper round is enough: the helper re-reads every
     * registration under mu when it builds its next wait, so later changes
     * made before that are seen too. Saves a syscall (and a wake-up of the
     * helper) per add when thousands arrive at once. */
    if (w->kicked)
        return;
    w->kicked = 1;
    futex__atomic_fetch_add(&w->ctl, 1, FUTEX__SEQ_CST);
    (void)futex_wake(&w->ctl, 1, FUTEX_PRIVATE); /* a private, aligned word: cannot fail */
}

static void wt_fire(futex_watcher *w, uint32_t id)
{
    w->regs[id].state = WT_FIRED;
    w->regs[id].queued = 1;
    w->ready[(w->ready_head + w->ready_count) % w->cap] = (int)id;
    w->ready_count++;
    wt_signal(w);
}

static void wt_free(futex_watcher *w, uint32_t id)
{
    w->regs[id].state = WT_FREE;
    w->free_ids[w->nfree++] = id;
}

/* Takes a fired id out of the ready queue (it was re-armed or removed). */
static void wt_unqueue(futex_watcher *w, uint32_t id)
{
    if (!w->regs[id].queued)
        return; /* already read by futex_watcher_ready: nothing to scan */
    w->regs[id].queued = 0;
    uint32_t k = 0;
    for (uint32_t i = 0; i < w->ready_count; i++) {
        int v = w->ready[(w->ready_head + i) % w->cap];
        if (v != (int)id)
            w->ready[(w->ready_head + k++) % w->cap] = v;
    }
    w->ready_count = k;
    if (k == 0 && w->signalled)
        wt_drain(w);
}

/* Arms id, or fires it at once if its word already differs. SeqCst load:
 * ordered after whatever the caller stored before arming. */
static void wt_arm(futex_watcher *w, uint32_t id, uint32_t expected)
{
    wt_reg *r = &w->regs[id];
    r->expected = expected;
    r->gen++;
    if (futex__atomic_load(r->word, FUTEX__SEQ_CST) != expected)
        wt_fire(w, id);
    else
        r->state = WT_ARMED;
    wt_kick(w);
}

/* ---- the helper thread ----------------------------------------------------- */

static void *wt_main(void *arg)
{
    futex_watcher *w = arg;
    wt_snapshot *s = &w->snap;
    pthread_mutex_lock(&w->mu);
    while (!w->stop) {
        if (w->spare.cap > s->cap) {
            /* add() made room for more registrations: adopt it, between waits. */
            wt_snapshot_free(s);
            *s = w->spare;
            memset(&w->spare, 0, sizeof w->spare);
        }
        /* s->cap >= nregs + 1: add() fails with -ENOMEM rather than register
         * a word that would not fit here. */
        w->round++;
        w->kicked = 0; /* every change from here on bumps ctl again */
        uint32_t n = 1;
        s->items[0].word = &w->ctl;
        s->items[0].expected = futex__atomic_load(&w->ctl, FUTEX__SEQ_CST); /* under mu: no bump in between */
        s->items[0].flags = FUTEX_PRIVATE;
        for (uint32_t id = 0; id < w->nregs; id++) {
            wt_reg *r = &w->regs[id];
            if (r->state != WT_ARMED)
                continue;
            s->items[n].word = r->word;
            s->items[n].expected = r->expected;
            s->items[n].flags = r->flags;
            s->id[n] = id;
            s->gen[n] = r->gen;
            r->in_round = w->round;
            n++;
        }
        /* Where the OS waits on all n words itself (Linux's FUTEX_WAITV, or
         * io_uring's past FUTEX_WAITV_LIMIT), nothing in this process reads
         * a word once mu is released: the kernel reads each one once, as it
         * enters the wait (an unmapped word is then -EFAULT, not a fault),
         * and which word changed is found by the scan below, under mu. So
         * remove() need not wait for such a wait to end. The library's own
         * multi-wait (futex__waitv's fallback) reads the words from user
         * space: there remove() waits. */
        int os_class = n > FUTEX_WAITV_LIMIT;
        w->kernel_only = !w->os_missing[os_class];
        w->waiting = 1;
        pthread_mutex_unlock(&w->mu);

        uint32_t which = 0;
        int rc;
        if (w->kernel_only) {
            rc = futex__os_waitv_until(s->items, n, FUTEX_FOREVER);
            if (rc >= 0)
                which = (uint32_t)rc;
        } else {
            rc = futex__waitv(s->items, n, FUTEX_FOREVER, s->nodes, &which);
        }

        pthread_mutex_lock(&w->mu);
        w->waiting = 0;
        if (w->kernel_only && rc == -ENOSYS) {
            /* No such wait in this OS (or none now: io_uring out of memory):
             * nothing was read, so build the round again for the library's
             * own wait, and keep to it for this size for the watcher's life. */
            w->os_missing[os_class] = 1;
            pthread_cond_broadcast(&w->left);
            continue;
        }
        pthread_cond_broadcast(&w->left); /* removers waiting for this wait to end */
        if (rc >= 0 || rc == -EAGAIN) {
            /* Woken (or found changed) at `which` (0 for the OS's -EAGAIN,
             * which names no word: the scan below finds it). A stale entry
             * (re-armed or removed since) is ignored. */
            if (which > 0 && which < n) {
                uint32_t id = s->id[which];
                if (w->regs[id].state == WT_ARMED && w->regs[id].gen == s->gen[which])
                    wt_fire(w, id); /* woken, whatever its value now */
            }
        } else if (rc != -EINTR) {
            /* -EFAULT (a registered word was unmapped) or another OS error
             * that names no word: fire them all, so the user re-checks and
             * meets the error, instead of the helper spinning on it. */
            for (uint32_t k = 1; k < n; k++) {
                uint32_t id = s->id[k];
                if (w->regs[id].state == WT_ARMED && w->regs[id].gen == s->gen[k])
                    wt_fire(w, id);
            }
        }
        /* Several words may have changed at once: fire every armed one that
         * differs. SeqCst, as the waits' own checks. */
        for (uint32_t id = 0; id < w->nregs; id++) {
            wt_reg *r = &w->regs[id];
            if (r->state == WT_ARMED && futex__atomic_load(r->word, FUTEX__SEQ_CST) != r->expected)
                wt_fire(w, id);
        }
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* ---- the API --------------------------------------------------------------- */

int futex_watcher_create(futex_watcher **out)
{
    if (out == NULL)
        return -EINVAL;
    futex_watcher *w = calloc(1, sizeof *w);
    if (w == NULL)
        return -ENOMEM;
    int rc = wt_snapshot_alloc(&w->snap, 64);
    if (rc == 0)
        rc = wt_open_fd(w);
    if (rc != 0) {
        wt_snapshot_free(&w->snap);
        free(w);
        return rc;
    }
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->left, NULL);
    /* The helper blocks every signal: they belong to the user's threads (a
     * Python or Lua handler runs there), and it never needs an EINTR. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int e = pthread_create(&w->thread, NULL, wt_main, w);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (e != 0) {
        close(w->rfd);
        if (w->wfd != w->rfd)
            close(w->wfd);
        pthread_cond_destroy(&w->left);
        pthread_mutex_destroy(&w->mu);
        wt_snapshot_free(&w->snap);
        free(w);
        return e == EAGAIN ? -EAGAIN : -e; /* EAGAIN: out of threads; EPERM/EINVAL cannot happen with NULL attrs */
    }
    *out = w;
    return 0;
}

void futex_watcher_destroy(futex_watcher *w)
{
    if (w == NULL)
        return;
    pthread_mutex_lock(&w->mu);
    w->stop = 1;
    wt_kick(w);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    close(w->rfd);
    if (w->wfd != w->rfd)
        close(w->wfd);
    pthread_cond_destroy(&w->left);
    pthread_mutex_destroy(&w->mu);
    free(w->regs), free(w->ready), free(w->free_ids);
    wt_snapshot_free(&w->snap);
    wt_snapshot_free(&w->spare);
    free(w);
}

int futex_watcher_fd(const futex_watcher *w) { return w == NULL ? -EINVAL : w->rfd; }

int futex_watcher_add(futex_watcher *w, const uint32_t *word, uint32_t expected, unsigned flags)
{
    if (w == NULL || word == NULL || ((uintptr_t)word & 3u) != 0 || (flags & ~FUTEX_SHARED) != 0)
        return -EINVAL;
    if ((flags & FUTEX_SHARED) && !(futex_capabilities() & FUTEX_CAP_SHARED))
        return -ENOTSUP;
    pthread_mutex_lock(&w->mu);
    uint32_t id = w->nregs;
    if (w->nfree > 0) {
        id = w->free_ids[--w->nfree];
    } else {
        if (w->nregs >= (uint32_t)INT32_MAX - 1) {
            pthread_mutex_unlock(&w->mu);
            return -ENOMEM; /* ids are ints */
        }
        if (w->nregs == w->cap) {
            uint32_t c = w->cap ? w->cap * 2 : 16;
            wt_reg *regs = realloc(w->regs, c * sizeof *regs);
            if (regs != NULL)
                w->regs = regs;
            int *ready = malloc(c * sizeof *ready);
            uint32_t *free_ids = regs == NULL ? NULL : realloc(w->free_ids, c * sizeof *free_ids);
            if (free_ids != NULL)
                w->free_ids = free_ids;
            wt_snapshot spare = {0};
            int room = w->snap.cap >= c + 1 || w->spare.cap >= c + 1 || wt_snapshot_alloc(&spare, 2 * c + 1) == 0;
            if (regs == NULL || ready == NULL || free_ids == NULL || !room) {
                free(ready);
                pthread_mutex_unlock(&w->mu);
                return -ENOMEM;
            }
            if (spare.cap > 0) {
                wt_snapshot_free(&w->spare); /* a smaller one the helper has not adopted yet */
                w->spare = spare;
            }
            /* Unroll the ready ring into the new, larger one. */
            for (uint32_t i = 0; i < w->ready_count; i++)
                ready[i] = w->ready[(w->ready_head + i) % w->cap];
            free(w->ready);
            w->ready = ready;
            w->ready_head = 0;
            w->cap = c;
        }
        w->regs[id].gen = 0;
        w->regs[id].in_round = 0;
        w->regs[id].queued = 0;
        w->nregs++;
    }
    w->regs[id].word = word;
    w->regs[id].flags = flags;
    wt_arm(w, id, expected);
    pthread_mutex_unlock(&w->mu);
    return (int)id;
}

static int wt_valid(const futex_watcher *w, int id)
{
    return id >= 0 && (uint32_t)id < w->nregs && (w->regs[id].state == WT_ARMED || w->regs[id].state == WT_FIRED);
}

int futex_watcher_rearm(futex_watcher *w, int id, uint32_t expected)
{
    if (w == NULL)
        return -EINVAL;
    pthread_mutex_lock(&w->mu);
    if (!wt_valid(w, id)) {
        pthread_mutex_unlock(&w->mu);
        return -EINVAL;
    }
    if (w->regs[id].state == WT_FIRED)
        wt_unqueue(w, (uint32_t)id);
    wt_arm(w, (uint32_t)id, expected);
    pthread_mutex_unlock(&w->mu);
    return 0;
}

int futex_watcher_remove(futex_watcher *w, int id)
{
    if (w == NULL)
        return -EINVAL;
    pthread_mutex_lock(&w->mu);
    if (!wt_valid(w, id)) {
        pthread_mutex_unlock(&w->mu);
        return -EINVAL;
    }
    wt_reg *r = &w->regs[id];
    /* Does the wait the helper sleeps in now read the word from user space?
     * (Armed, or fired by a re-arm that found it changed while that wait
     * still holds it.) A kernel-only wait does not: see wt_main. */
    int in_wait = w->waiting && r->in_round == w->round && !w->kernel_only;
    if (r->state == WT_FIRED)
        wt_unqueue(w, (uint32_t)id);
    r->gen++;
    /* A kernel-only wait may keep the word until the helper's next round
     * (a wake of it then wakes the helper, which finds the gen changed):
     * no kick, so that removing thousands costs no round each. */
    if (in_wait) {
        /* That wait reads the word (re-check slices over and over): kick
         * the helper and return only once the wait has ended, so that the
         * caller may unmap the word as soon as we return. Its next wait is
         * built under mu, without the word; WT_REMOVING keeps the id ours
         * meanwhile. */
        r->state = WT_REMOVING;
        wt_kick(w);
        uint64_t round = w->round;
        while (w->waiting && w->round == round)
            pthread_cond_wait(&w->left, &w->mu);
    }
    wt_free(w, (uint32_t)id);
    pthread_mutex_unlock(&w->mu);
    return 0;
}

int futex_watcher_ready(futex_watcher *w, int *ids, uint32_t max)
{
    if (w == NULL || (ids == NULL && max > 0))
        return -EINVAL;
    pthread_mutex_lock(&w->mu);
    uint32_t k = 0;
    for (; k < max && k < w->ready_count; k++) {
        ids[k] = w->ready[(w->ready_head + k) % w->cap];
        w->regs[ids[k]].queued = 0;
    }
    if (k > 0) {
        w->ready_head = (w->ready_head + k) % w->cap;
        w->ready_count -= k;
    }
    if (w->ready_count == 0 && w->signalled)
        wt_drain(w);
    pthread_mutex_unlock(&w->mu);
    return (int)k;
}

#endif
