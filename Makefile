# The two commands: `make run` (setup, build, serve on :8080) and `make test` (setup, build, every test).
PORT ?= 8080
DATA ?= ./data
JOBS ?= $(shell nproc)

.PHONY: setup build run test test-debug fuzz clean

setup:
	bash scripts/setup.sh

build: setup
	cmake --preset release >/dev/null
	cmake --build --preset release -j $(JOBS)
	bash scripts/web.sh

run: build
	./build/bin/fun-notes-server --port $(PORT) --data $(DATA)

test: build
	bash scripts/test.sh build

# The same suites under AddressSanitizer + UBSan.
test-debug: setup
	cmake --preset debug >/dev/null
	cmake --build --preset debug -j $(JOBS)
	bash scripts/web.sh
	bash scripts/test.sh build-debug

# Only the fuzz targets (clang, build-fuzz/), for FUZZ_SECONDS each; `make test` runs them too.
fuzz: setup
	bash scripts/fuzz.sh

clean:
	rm -rf build build-debug build-fuzz
