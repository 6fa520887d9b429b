# The two README commands, and a few more. Each installs what it needs
# (scripts/need.sh) on a fresh Debian machine, then builds and runs.
.PHONY: all build demo test bench install clean

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

# Every test in the repository; ends with one "N passed, N failed" line.
test:
	@bash tests/run-all.sh

# Benchmarks against the peers, in one run (not part of `make test`).
bench:
	@bash bench/run.sh

install: build
	cmake --install build/release --prefix $(PREFIX)

clean:
	rm -rf build
