# Thin wrapper: the real build is CMake, tests are CTest.
JOBS ?= $(shell nproc)
MAKEFLAGS += --no-print-directory

.PHONY: all build setup run demo test test-unit bench fuzz clean install

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
	ctest --preset default -j 2 --timeout 900
	ctest --preset asan -j 2 --timeout 900

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
