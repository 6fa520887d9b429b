/*
 * The whole library as one translation unit: every build (CMake, setup.py,
 * the rockspec, the wasm and cross-compile checks, the bench) compiles this
 * file and only this file, so a new core source is one #include here and
 * nowhere else. The parts keep their own file-local (static) names, which
 * therefore must not clash across them.
 */
#include "futex.c"
#include "backend.c"
#include "waitv.c"
#include "watcher.c"
#include "sync.c"
