"""The module loads in an isolated subinterpreter (its own GIL on 3.12+).

The abi3 build compiles against 3.11's Limited API, whose headers lack the
Py_mod_multiple_interpreters slot; without it 3.12+ refuses the import with
"does not support loading in subinterpreters". The module declares the slot
at run time, and this checks that it does."""
import sys

CODE = "import futex\nc = futex.Cell()\nc.store(7)\nassert c.fetch_add(1) == 7 and c.load() == 8\n"


def run_isolated(code):
    """Runs code in a new isolated subinterpreter; returns the error text or None."""
    try:
        import _interpreters as interp  # 3.13+
    except ImportError:
        import _xxsubinterpreters as interp  # 3.11, 3.12

        cid = interp.create(isolated=True)
        try:
            interp.run_string(cid, code)
            return None
        except Exception as e:  # RunFailedError carries the subinterpreter's error text
            return str(e)
        finally:
            interp.destroy(cid)
    cid = interp.create(interp.new_config("isolated"))
    try:
        err = interp.run_string(cid, code)
        return None if err is None else err.formatted
    finally:
        interp.destroy(cid)


def test_loads_in_an_isolated_subinterpreter():
    err = run_isolated(CODE)
    assert err is None, f"CPython {sys.version.split()[0]}: {err}"
