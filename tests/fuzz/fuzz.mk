# tests/fuzz/fuzz.mk — libFuzzer targets for the protocol decoder and the
# directory loader, included by the Makefile (tests/fuzz/README.md).
#
#   make fuzz          build, then run each fuzzer for FUZZ_SECONDS (default 60)
#                      on a working copy of its corpus in build/fuzz/corpus/;
#                      one line per target; fails if any fuzzer found something
#   make fuzz-build    build build/fuzz/fuzz_decode, fuzz_directory, mkcorpus
#   make fuzz-merge    minimise the committed corpus with what the runs found
#   make fuzz-seeds    rewrite the named seeds in tests/fuzz/corpus/
#
# Everything is built with clang under its own directory, so plain `make` and
# `make check` never see it.

CLANG ?= clang
PYTHON ?= python3
FUZZ_SECONDS ?= 60
# Extra libFuzzer flags for every target (e.g. -seed=1), and per target.
FUZZ_FLAGS ?=
FUZZ_DECODE_FLAGS ?= -max_len=8192 -dict=tests/fuzz/decode.dict
FUZZ_DIRECTORY_FLAGS ?= -max_len=8192 -dict=tests/fuzz/directory.dict

FUZZ_BUILD = build/fuzz
FUZZ_SAN = -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_CFLAGS = -std=c11 -D_GNU_SOURCE -g -O1 $(FUZZ_SAN) $(PKG_CFLAGS) -MMD -MP
FUZZ_LDLIBS = $(PKG_LIBS) -lpthread -lm
# The library is instrumented for coverage but has no fuzzer main; an archive,
# so each program links only the modules it uses (no socket code in either).
FUZZ_LIB = $(FUZZ_BUILD)/libgridline-fuzz.a
FUZZ_LIB_OBJ = $(patsubst %.c,$(FUZZ_BUILD)/obj/%.o,$(LIB_SRC))
FUZZ_BINS = $(FUZZ_BUILD)/fuzz_decode $(FUZZ_BUILD)/fuzz_directory $(FUZZ_BUILD)/mkcorpus

.PHONY: fuzz fuzz-build fuzz-merge fuzz-seeds

fuzz-build: $(FUZZ_BINS)

# Library sources get clang's default warnings only: -Werror is the gcc
# build's job, and clang warns about some things gcc does not.
$(FUZZ_BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_LIB): $(FUZZ_LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_LIB)
	$(CLANG) $(FUZZ_CFLAGS) $(WARN) -fsanitize=fuzzer -o $@ $< $(FUZZ_LIB) $(FUZZ_LDLIBS)

$(FUZZ_BUILD)/mkcorpus: tests/fuzz/mkcorpus.c $(FUZZ_LIB)
	$(CLANG) $(FUZZ_CFLAGS) $(WARN) -fsanitize=fuzzer-no-link -o $@ $< $(FUZZ_LIB) $(FUZZ_LDLIBS)

# Both targets run even when the first finds something; then the exit status says.
fuzz: fuzz-build
	@status=0; \
	sh tests/fuzz/fuzz.sh run decode $(FUZZ_SECONDS) $(FUZZ_FLAGS) $(FUZZ_DECODE_FLAGS) \
	  || status=1; \
	sh tests/fuzz/fuzz.sh run directory $(FUZZ_SECONDS) $(FUZZ_FLAGS) $(FUZZ_DIRECTORY_FLAGS) \
	  || status=1; \
	exit $$status

fuzz-merge: fuzz-build
	@sh tests/fuzz/fuzz.sh merge decode $(FUZZ_DECODE_FLAGS)
	@sh tests/fuzz/fuzz.sh merge directory $(FUZZ_DIRECTORY_FLAGS)

fuzz-seeds: $(FUZZ_BUILD)/mkcorpus
	@mkdir -p tests/fuzz/corpus/decode tests/fuzz/corpus/directory
	$(FUZZ_BUILD)/mkcorpus tests/fuzz/corpus/decode
	$(PYTHON) tests/fuzz/mkdircorpus.py data/demo-county.json tests/fuzz/corpus/directory
