# Thin wrapper: the real build is CMake, tests are CTest.
JOBS ?= $(shell nproc)
MAKEFLAGS += --no-print-directory

.PHONY: test-accuracy all build setup run demo test test-unit bench fuzz clean install

all: build

build:
	@cmake --preset default >/dev/null
	@cmake --build --preset default -j $(JOBS)

setup:
	@scripts/setup.sh

run: setup build
	./build/agentline run $(ARGS)

# agentline calling agentline: a scripted caller leaves a message
demo: setup build
	@python3 scripts/demo.py build/agentline $(ARGS)

test: setup build
	@cmake --preset asan >/dev/null
	@cmake --build --preset asan -j $(JOBS)
	ctest --preset default -j 2 --timeout 900 -LE accuracy
	ctest --preset asan -j 2 --timeout 900

# Speech-accuracy measurements on real calls (the offline receptionist's
# callback-number rate): slow and sensitive to machine load, so kept out of
# `make test`; see docs/playbooks.md.
test-accuracy: setup build
	ctest --preset default --timeout 1500 -L accuracy --output-on-failure

bench: setup build
	bench/run.sh

fuzz: setup
	@cmake --preset fuzz >/dev/null
	@cmake --build --preset fuzz -j $(JOBS)

# make install [PREFIX=/usr/local] [DESTDIR=/tmp/stage] (docs/install.md)
PREFIX ?= /usr/local
install: build
	DESTDIR="$(DESTDIR)" cmake --install build --prefix "$(PREFIX)"

clean:
	rm -rf build build-asan build-fuzz
