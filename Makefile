# The two set-up commands of the README:
#   make demo    install build dependencies, build, run cairn's main job
#   make check   install dependencies, build, run every test (plain + ASan/UBSan)
# Other targets: build, asan, tsan, check-tsan, format-check, bench-compare, clean.

JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CTEST_FLAGS ?= --output-on-failure -j$(JOBS)
WERROR ?= $(if $(CI),-DCAIRN_WERROR=ON,)

.PHONY: all deps build demo check check-plain check-asan asan tsan check-tsan format-check bench-compare clean

all: build

deps:
	@./scripts/deps.sh

build: deps
	cmake --preset release $(WERROR) >/dev/null
	cmake --build build/release -j$(JOBS)

demo: build
	./build/release/cairn demo

check: check-plain check-asan
	@echo "make check: all test suites passed (plain and ASan+UBSan)"

check-plain: build
	cd build/release && ctest $(CTEST_FLAGS)

asan: deps
	cmake --preset asan $(WERROR) >/dev/null
	cmake --build build/asan -j$(JOBS)

check-asan: asan
	cd build/asan && CAIRN_TEST_SCALE=0.3 ctest $(CTEST_FLAGS)

tsan: deps
	cmake --preset tsan $(WERROR) >/dev/null
	cmake --build build/tsan -j$(JOBS)

check-tsan: tsan
	cd build/tsan && CAIRN_TEST_SCALE=0.3 ctest $(CTEST_FLAGS)

# Engines x {fillrandom, fillsync} x {1, 4, 16, 64} threads, several runs
# each; writes docs/performance.md and docs/performance.png.
bench-compare: build
	./scripts/bench-compare.sh build/release/bench/cairn_bench

format-check: build
	cmake --build build/release --target format-check

clean:
	rm -rf build
