"""pytest reads this before any test module here. It puts this directory on
sys.path on purpose, so that the tests, and the child processes they start
(which inherit sys.path), import the helper modules _util and _procs by name
under any import mode and from any working directory: the driver (ctest, see
tests/python/CMakeLists.txt) runs pytest from the build tree, never from the
repository's root."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)
