"""Builds the `futex` Python package: the binding with the libfutex core
compiled in (no separate install of the C library)."""
import glob
import os
import re
import sys

from setuptools import Extension, setup

HERE = os.path.dirname(os.path.abspath(__file__))


def futex_version():
    # One version number: the C header's.
    with open(os.path.join(HERE, "libfutex", "futex.h"), encoding="utf-8") as f:
        m = re.search(r'^#define FUTEX_VERSION "([0-9.]+)"', f.read(), re.M)
    if m is None:
        raise RuntimeError("FUTEX_VERSION not found in libfutex/futex.h")
    return m.group(1)


# The same two sources every build lists: backend.c picks the OS backend.
# FUTEX_BACKEND=<name> in the environment forces one (as CMake's option does).
# FUTEX_EXTERN empty and hidden visibility: the core's symbols, public and
# futex__ internal alike, stay inside the module; only PyInit__futex
# (marked by PyMODINIT_FUNC) leaves it. Windows DLLs export nothing unasked.
define_macros = [("_GNU_SOURCE", None), ("FUTEX_EXTERN", "")]
extra_compile_args = [] if sys.platform == "win32" else ["-std=c11", "-fvisibility=hidden"]
libraries = []
backend = os.environ.get("FUTEX_BACKEND", "auto").strip().lower() or "auto"
if backend != "auto":
    if not re.fullmatch(r"[a-z]+", backend):
        raise RuntimeError(f"FUTEX_BACKEND={backend!r}: expected a backend name such as posix")
    define_macros.append(("FUTEX_BACKEND_" + backend.upper(), None))
if sys.platform == "win32" and backend in ("auto", "windows"):
    libraries.append("synchronization")  # WaitOnAddress

# backend.c #includes backend/<os>.c, so name every core file as a
# dependency: an edited backend must rebuild the module.
depends = sorted(glob.glob("libfutex/*.h") + glob.glob("libfutex/backend/*.c"))

setup(
    version=futex_version(),
    # One build directory per backend: setuptools decides "up to date" from
    # file times alone, so a posix build would otherwise reuse linux objects.
    options={"build": {"build_base": os.path.join("build", "python-" + backend)}},
    packages=["futex"],
    package_dir={"": "bindings/python"},
    package_data={"futex": ["py.typed", "*.pyi"]},
    ext_modules=[
        Extension(
            "futex._futex",
            sources=["bindings/python/_futex.c", "libfutex/futex.c", "libfutex/backend.c", "libfutex/sync.c"],
            include_dirs=["libfutex"],
            define_macros=define_macros,
            extra_compile_args=extra_compile_args,
            libraries=libraries,
            depends=depends,
        )
    ],
)
