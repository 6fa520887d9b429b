"""Builds the `futex` Python package: the binding with the libfutex core
compiled in (no separate install of the C library)."""
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
define_macros = [("_GNU_SOURCE", None)]
extra_compile_args = []
libraries = []
backend = os.environ.get("FUTEX_BACKEND", "auto").strip().lower()
if backend not in ("", "auto"):
    if not re.fullmatch(r"[a-z]+", backend):
        raise RuntimeError(f"FUTEX_BACKEND={backend!r}: expected a backend name such as posix")
    define_macros.append(("FUTEX_BACKEND_" + backend.upper(), None))
if sys.platform == "win32":
    define_macros.append(("FUTEX_EXTERN", ""))
    if backend in ("", "auto", "windows"):
        libraries.append("synchronization")
else:
    # Hide the core's symbols, public and futex__ internal alike: only
    # PyInit__futex (marked by PyMODINIT_FUNC) leaves the module.
    define_macros.append(("FUTEX_EXTERN", ""))
    extra_compile_args += ["-std=c11", "-fvisibility=hidden"]

setup(
    version=futex_version(),
    packages=["futex"],
    package_dir={"": "bindings/python"},
    package_data={"futex": ["py.typed", "*.pyi"]},
    ext_modules=[
        Extension(
            "futex._futex",
            sources=["bindings/python/_futex.c", "libfutex/futex.c", "libfutex/backend.c"],
            include_dirs=["libfutex"],
            define_macros=define_macros,
            extra_compile_args=extra_compile_args,
            libraries=libraries,
        )
    ],
)
