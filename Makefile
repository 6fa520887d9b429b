# The two README commands, and a few more. Each installs the Debian packages it
# needs (scripts/need.sh); Python packages go into build/venv and Lua rocks into
# build/rocks, never outside the checkout.
.PHONY: all build demo test bench mutants install clean

PREFIX ?= /usr/local

all: build

build:
	@bash scripts/need.sh apt cmake
	@bash scripts/need.sh apt gcc make
	cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DFUTEX_BUILD_TESTS=OFF -DFUTEX_BUILD_LUA=OFF
	cmake --build build/release -j2

# The main job: processes (C, Python, Lua) coordinating over shared memory.
demo:
	@bash demo/run.sh

# Every test in the repository, through CTest (the test preset: every family
# and the asan, tsan and mingw variants); ends with ctest's summary and one
# "N passed, N failed" line. `ctest --preset test -L <label>` runs one family.
TEST_APT = gcc g++ make cmake pkg-config binutils linux-libc-dev python3-venv python3-dev \
           lua5.4 liblua5.4-dev lua-busted luarocks nodejs gcc-mingw-w64-x86-64 wine64
test:
	@bash scripts/need.sh apt $(TEST_APT)
	cmake --preset test
	cmake --build --preset test
	@bash tests/ctest.sh

# Benchmarks against the peers, in one run (not part of `make test`).
bench:
	@bash bench/run.sh

# Named mutations of the core and backends, each in a scratch copy, each
# caught by the tests that concern it (tests/mutants/; not part of `make test`).
mutants:
	@python3 tests/mutants/run.py

install: build
	cmake --install build/release --prefix $(PREFIX)

clean:
	rm -rf build
