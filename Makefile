# λ-cntr top-level entry points. Everything works as root on a fresh Debian 12 machine:
#   make deps    install build/test packages (apt-get), configure podman   (scripts/install-deps.sh)
#   make build   configure and build into build/ (CMake + Ninja; static musl cntr in build/musl/)
#   make check   deps + container runtimes + build + all tests, then again with ASan/UBSan
#   make soak    the full soak test: 1000 attach cycles, 200 SIGKILLs      (tests/node/test_soak.py)
#   make fuzz    every libFuzzer target for FUZZ_SECONDS each (clang build in build-fuzz/)
#   make demo    debug a shell-less container with cntr                     (demo/run.sh)
#   make clean   remove the build directories
BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
CTEST_ARGS ?= --output-on-failure

.PHONY: all deps runtimes build build-asan check check-build check-asan soak build-fuzz fuzz demo clean

all: build

deps:
	scripts/install-deps.sh

# A runtime that cannot start is not fatal here: its tests say why (skip, or fail under CI=true).
runtimes: deps
	-scripts/runtimes.sh start

build:
	cmake -S . -B $(BUILD) -G Ninja
	ninja -C $(BUILD)

build-asan:
	cmake -S . -B $(ASAN_BUILD) -G Ninja -DCNTR_SANITIZE=ON
	ninja -C $(ASAN_BUILD)

# Both passes always run; check fails if either failed.
check: deps runtimes
	@status=0; \
	$(MAKE) --no-print-directory check-build || status=1; \
	$(MAKE) --no-print-directory check-asan || status=1; \
	exit $$status

check-build: build
	ctest --test-dir $(BUILD) $(CTEST_ARGS)

check-asan: build-asan
	ctest --test-dir $(ASAN_BUILD) $(CTEST_ARGS)

# The full soak (tests/node/test_soak.py): 1000 attach/exit cycles, 200 SIGKILLs of cntr.
SOAK_CYCLES ?= 1000
SOAK_KILLS  ?= 200
soak: runtimes build
	CNTR_SOAK_CYCLES=$(SOAK_CYCLES) CNTR_SOAK_KILLS=$(SOAK_KILLS) \
		ctest --test-dir $(BUILD) -R '^node/test_soak$$' $(CTEST_ARGS)

# The fuzz build: everything compiled by clang with libFuzzer's coverage, ASan and UBSan.
build-fuzz: deps
	cmake -S . -B $(FUZZ_BUILD) -G Ninja -DCMAKE_C_COMPILER=clang -DCNTR_FUZZ=ON
	ninja -C $(FUZZ_BUILD)

# Replay the seeds and regressions, then fuzz each target for FUZZ_SECONDS, one at a time
# (tests/fuzz/run: execs and execs/s per target; a crashing input lands in
# $(FUZZ_BUILD)/crashes/TARGET/). Fails when either step failed.
fuzz: build-fuzz
	@status=0; \
	ctest --test-dir $(FUZZ_BUILD) -L fuzz $(CTEST_ARGS) || status=1; \
	tests/fuzz/run $(FUZZ_BUILD) $(FUZZ_SECONDS) || status=1; \
	exit $$status

demo:  # demo/run.sh installs and builds what is missing itself
	demo/run.sh

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
