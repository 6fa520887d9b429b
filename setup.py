"""Builds the `futex` Python package: the binding with the libfutex core
compiled in (no separate install of the C library)."""
import glob
import os
import re
import sys

from setuptools import Extension, setup

HERE = os.path.dirname(os.path.abspath(__file__))


def futex_version():
    # One version number: the C header's FUTEX_VERSION_MAJOR, _MINOR and _PATCH
    # (CMake reads the same three lines; the header's string is made of them).
    with open(os.path.join(HERE, "libfutex", "futex.h"), encoding="utf-8") as f:
        parts = dict(re.findall(r"^#define FUTEX_VERSION_(MAJOR|MINOR|PATCH) ([0-9]+)$", f.read(), re.M))
    if len(parts) != 3:
        raise RuntimeError("FUTEX_VERSION_MAJOR/MINOR/PATCH not found in libfutex/futex.h")
    return "{MAJOR}.{MINOR}.{PATCH}".format(**parts)


# The one source every build lists: libfutex/libfutex.c #includes the core
# (backend.c, which it includes, picks the OS backend).
# FUTEX_BACKEND=<name> in the environment forces one (as CMake's option does).
# FUTEX_EXTERN empty and hidden visibility: the core's symbols, public and
# futex__ internal alike, stay inside the module; only PyInit__futex
# (marked by PyMODINIT_FUNC) leaves it. Windows DLLs export nothing unasked.
define_macros = [("_GNU_SOURCE", None), ("FUTEX_EXTERN", "")]
extra_compile_args = [] if sys.platform == "win32" else ["-std=c11", "-fvisibility=hidden"]
libraries = []
backend = os.environ.get("FUTEX_BACKEND", "auto").strip().lower() or "auto"
if backend != "auto":
    # The backends are the files in libfutex/backend/: the one list of their names.
    if not re.fullmatch(r"[a-z]+", backend) or not os.path.exists(os.path.join(HERE, "libfutex", "backend", backend + ".c")):
        raise RuntimeError(f"FUTEX_BACKEND={backend!r}: no libfutex/backend/{backend}.c")
    define_macros.append(("FUTEX_BACKEND_" + backend.upper(), None))
if sys.platform == "win32" and backend in ("auto", "windows"):
    libraries.append("synchronization")  # WaitOnAddress

# One wheel for every CPython >= 3.11: the module keeps to the Limited API of
# 3.11 and is tagged abi3. FUTEX_LIMITED_API=0 builds a version-specific
# module instead (bench/ compares the two).
limited_api = os.environ.get("FUTEX_LIMITED_API", "1") != "0"
if limited_api:
    define_macros.append(("Py_LIMITED_API", "0x030B0000"))
# The release module carries no debug info: the linker drops it (-s), so
# neither `pip install .` nor the wheel ships it. macOS's ld has no -s.
extra_link_args = ["-s"] if sys.platform.startswith("linux") else []

# libfutex.c #includes the other core files, so name every one as a
# dependency: an edited core or backend file must rebuild the module.
depends = sorted(glob.glob("libfutex/*.[ch]") + glob.glob("libfutex/backend/*.c"))

setup(
    version=futex_version(),
    # One build directory per backend: setuptools decides "up to date" from
    # file times alone, so a posix build would otherwise reuse linux objects.
    options={
        "build": {"build_base": os.path.join("build", "python-" + backend + ("" if limited_api else "-full"))},
        "bdist_wheel": {"py_limited_api": "cp311"} if limited_api else {},
    },
    packages=["futex"],
    package_dir={"": "bindings/python"},
    package_data={"futex": ["py.typed", "*.pyi"]},
    ext_modules=[
        Extension(
            "futex._futex",
            sources=["bindings/python/_futex.c", "libfutex/libfutex.c"],
            include_dirs=["libfutex"],
            define_macros=define_macros,
            extra_compile_args=extra_compile_args,
            extra_link_args=extra_link_args,
            py_limited_api=limited_api,
            libraries=libraries,
            depends=depends,
        )
    ],
)
