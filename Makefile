# gridline — one hand-written Makefile.
#   make            build bin/gridline-broker, bin/gridline-worker, bin/gridline
#   make check      build and run every TAP test with prove
#   make run        install missing packages, build, run the demo county
#   make bench      build and run the benchmarks
#   make bench-peer the throughput benchmark next to Redis Streams
#   make SANITIZE=address,undefined check   the same under sanitizers

PKG_CONFIG ?= pkg-config
CC ?= cc
PREFIX ?= /usr/local
DESTDIR ?=
PROVE ?= prove
PROVE_FLAGS ?= -j2

PKGS = libzmq lmdb msgpack jansson libmicrohttpd
PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)
ifeq ($(strip $(PKG_LIBS)),)
PKG_LIBS := -lzmq -llmdb -lmsgpackc -ljansson -lmicrohttpd
endif

WARN = -Wall -Wextra -Werror -Wformat=2 -Wshadow -Wstrict-prototypes
CFLAGS ?= -O2 -g
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) $(PKG_CFLAGS) -MMD -MP
LDLIBS = $(PKG_LIBS) -lpthread -lm

ifneq ($(SANITIZE),)
ALL_CFLAGS += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer
LDFLAGS += -fsanitize=$(SANITIZE)
BUILD = build/san
else
BUILD = build/rel
endif

LIB_SRC = $(wildcard common/*.c) $(wildcard proto/*.c)
BROKER_SRC = $(wildcard broker/*.c)
WORKER_SRC = $(wildcard workers/*.c)
CLI_SRC = $(wildcard tools/cli/*.c)
SIM_SRC = $(wildcard tools/sim/*.c)
TEST_SUPPORT_SRC = tests/support/testlib.c
TEST_SRC = $(wildcard tests/t_*.c)
BENCH_SRC = $(wildcard bench/*.c)

obj = $(patsubst %.c,$(BUILD)/%.o,$(1))
LIB = $(BUILD)/libgridline.a
BINS = bin/gridline-broker bin/gridline-worker bin/gridline bin/gridline-sim
TESTS = $(patsubst tests/%.c,$(BUILD)/tests/%,$(TEST_SRC))
BENCHES = $(patsubst bench/%.c,$(BUILD)/bench/%,$(BENCH_SRC))

.PHONY: all check run bench install clean deps crashtest
# Keep objects of test programs: they are intermediate, but rebuilding is waste.
.SECONDARY:
all: $(BINS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(LIB): $(call obj,$(LIB_SRC))
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

# Binaries go to bin/ for the plain build; a sanitizer build keeps its own
# copies under $(BUILD)/bin so the two never mix.
ifneq ($(SANITIZE),)
BINDIR = $(BUILD)/bin
else
BINDIR = bin
endif
REAL_BINS = $(BINDIR)/gridline-broker $(BINDIR)/gridline-worker $(BINDIR)/gridline $(BINDIR)/gridline-sim

ifneq ($(SANITIZE),)
bin/gridline-broker bin/gridline-worker bin/gridline bin/gridline-sim: $(REAL_BINS)
endif

$(BINDIR)/gridline-broker: $(call obj,$(BROKER_SRC)) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(BINDIR)/gridline-worker: $(call obj,$(WORKER_SRC)) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(BINDIR)/gridline: $(call obj,$(CLI_SRC)) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(BINDIR)/gridline-sim: $(call obj,$(SIM_SRC)) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/tests/%.o $(call obj,$(TEST_SUPPORT_SRC)) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/bench/%: $(BUILD)/bench/%.o $(call obj,$(TEST_SUPPORT_SRC)) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Tests find the binaries under test through GRIDLINE_BIN.
check: $(REAL_BINS) $(TESTS)
	GRIDLINE_BIN=$(abspath $(BINDIR)) GRIDLINE_DATA=$(abspath data) \
	  $(PROVE) $(PROVE_FLAGS) --exec '' $(TESTS)

# make run installs what is missing (tools/install-deps), builds, runs the demo.
run:
	@tools/install-deps
	@$(MAKE) --no-print-directory all
	@tools/demo

deps:
	@tools/install-deps

# bench_scale's default sizes go to 10M events, a store of about 22 GB that
# takes minutes to fill: make bench stops at 3M. The full run, on a quiet
# machine: make bench BENCH_SCALE_ARGS= (bench/README.md, bench_scale).
BENCH_SCALE_ARGS ?= --store-sizes 0,1000000,3000000
bench: $(REAL_BINS) $(BENCHES)
	@for b in $(filter-out %/bench_scale %/floor_broker,$(BENCHES)); do GRIDLINE_BIN=$(abspath $(BINDIR)) GRIDLINE_DATA=$(abspath data) $$b || exit 1; done
	@GRIDLINE_BIN=$(abspath $(BINDIR)) GRIDLINE_DATA=$(abspath data) $(BUILD)/bench/bench_scale $(BENCH_SCALE_ARGS)

# make crashtest: the crash test's long form — a random process SIGKILLed at
# a random moment CRASH_CYCLES times under load; every filed event must be
# stored once, every dispatch delivered, and the store must pass fsck.
CRASH_CYCLES ?= 200
crashtest: $(REAL_BINS) $(BUILD)/tests/t_e2e_chaos
	GRIDLINE_BIN=$(abspath $(BINDIR)) GRIDLINE_DATA=$(abspath data) \
	  GRIDLINE_CRASH_CYCLES=$(CRASH_CYCLES) $(PROVE) -v --exec '' $(BUILD)/tests/t_e2e_chaos

install: $(BINS)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/gridline
	install -m 0755 $(BINS) $(DESTDIR)$(PREFIX)/bin/
	install -m 0644 data/demo-county.json $(DESTDIR)$(PREFIX)/share/gridline/

clean:
	rm -rf build bin

-include $(shell find build -name '*.d' 2>/dev/null)

# make fuzz: libFuzzer targets (clang) for the protocol decoder and the
# directory loader, run for a bounded time each (tests/fuzz/fuzz.mk).
-include tests/fuzz/fuzz.mk

# make bench-peer: gridline next to Redis Streams (appendfsync always) under
# the same load, in one run (bench/peer/bench_peer.c, bench/README.md). It
# installs redis-server and libhiredis-dev first (tools/install-deps --bench).
# BENCH_PEER_ARGS passes options, e.g. BENCH_PEER_ARGS="--rounds 3".
.PHONY: bench-peer
BENCH_PEER = $(BUILD)/bench/bench_peer
BENCH_PEER_ARGS ?=
HIREDIS_CFLAGS = $(shell $(PKG_CONFIG) --cflags hiredis 2>/dev/null)
HIREDIS_LIBS = $(shell $(PKG_CONFIG) --libs hiredis 2>/dev/null || echo -lhiredis)
$(BUILD)/bench/peer/bench_peer.o: bench/peer/bench_peer.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(HIREDIS_CFLAGS) -c -o $@ $<
$(BENCH_PEER): $(BUILD)/bench/peer/bench_peer.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(HIREDIS_LIBS) $(LDLIBS)
bench-peer:
	@tools/install-deps --bench
	@$(MAKE) --no-print-directory $(REAL_BINS) $(BUILD)/bench/bench_throughput $(BENCH_PEER)
	GRIDLINE_BIN=$(abspath $(BINDIR)) GRIDLINE_DATA=$(abspath data) $(BENCH_PEER) $(BENCH_PEER_ARGS)
# make valgrind: end-to-end tests with the broker and the workers under
# valgrind's memcheck (tests/valgrind.sh): every process must exit with no
# memory error and no definite leak. Slow (about 2 minutes), so not part of
# check; the tests that SIGKILL a process are left out (a killed process
# writes no report). Needs valgrind (tools/install-deps --valgrind).
VALGRIND_TESTS ?= t_e2e_badinput t_e2e_cancel t_e2e_claims t_e2e_deadlines t_e2e_followup \
  t_e2e_property t_e2e_restart t_e2e_routing t_e2e_status t_e2e_storage t_e2e_workflows
.PHONY: valgrind
valgrind: $(REAL_BINS) $(patsubst %,$(BUILD)/tests/%,$(VALGRIND_TESTS))
	GRIDLINE_BIN=$(abspath $(BINDIR)) GRIDLINE_DATA=$(abspath data) PROVE=$(PROVE) \
	  tests/valgrind.sh $(abspath $(BUILD))/valgrind $(patsubst %,$(BUILD)/tests/%,$(VALGRIND_TESTS))

# t_e2e_syncfail preloads tests/support/failsync.c into a worker to make the
# flush after a commit fail (a shared library, so built on its own).
$(BUILD)/tests/failsync.so: tests/support/failsync.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) -fPIC -shared -o $@ $< -ldl
$(BUILD)/tests/t_e2e_syncfail: | $(BUILD)/tests/failsync.so

# t_e2e_jobpack_reconnect preloads tests/support/slowsync.c into a worker to
# make its commits slow (a shared library, so built on its own).
$(BUILD)/tests/slowsync.so: tests/support/slowsync.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) -fPIC -shared -o $@ $< -ldl
$(BUILD)/tests/t_e2e_jobpack_reconnect: | $(BUILD)/tests/slowsync.so

# The floor of the message topology (bench/floor_broker.c, bench/README.md
# "Session 9"): bench_throughput's defaults three ways, one after another,
# --floor direct, --floor hop and the real gridline, then side by side.
# BENCH_FLOOR_ARGS passes more bench_throughput options to all three.
.PHONY: bench-floor
BENCH_FLOOR_ARGS ?=
bench-floor: $(REAL_BINS) $(BUILD)/bench/bench_throughput $(BUILD)/bench/floor_broker
	GRIDLINE_BIN=$(abspath $(BINDIR)) GRIDLINE_DATA=$(abspath data) \
	  $(BUILD)/bench/bench_throughput --floor compare $(BENCH_FLOOR_ARGS)
# t_bench_floor runs bench_throughput --floor hop, built next to the tests.
$(BUILD)/tests/t_bench_floor: | $(BUILD)/bench/bench_throughput $(BUILD)/bench/floor_broker
# t_e2e_outbody_fail preloads failsync.so, as t_e2e_syncfail does.
$(BUILD)/tests/t_e2e_outbody_fail: | $(BUILD)/tests/failsync.so
