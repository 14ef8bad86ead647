# wsgate — WebSocket reverse proxy daemon.
#
#   make          build ./wsgate (needs the -dev packages; see make deps)
#   make run      install missing packages, build, run on conf/wsgate.yaml
#   make check    install missing packages, build, run unit + integration tests
#   make install  install binary, man pages, config example, systemd unit
#   make bench    compare wsgate with nginx and HAProxy (tests/bench/README.md)
#   make bench-smoke  a short run of every wsgate-bench mode against wsgate
#   make check SANITIZE=1  the same tests with ASan + UBSan (in build-san/)
#   make fuzz     run each libFuzzer target for FUZZ_SECONDS (60) seconds
#   make fuzz-smoke   the same for 5 seconds each (part of make check)
#   make valgrind the integration tests with the daemon under memcheck
#                 (an -O1 build in build-vg/); errors or leaks fail

PREFIX ?= /usr/local
SBINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
UNITDIR ?= $(PREFIX)/lib/systemd/system
VERSION := 0.1.0

CC ?= cc
PKGS := libevent libevent_openssl openssl yaml-0.1
WARN := -Wall -Wextra -Wshadow -Wmissing-prototypes -Wstrict-prototypes \
	-Wpointer-arith -Wcast-qual -Wformat=2 -Werror
CFLAGS ?= -O2 -g

# SANITIZE=1: AddressSanitizer (with LeakSanitizer) and UBSan, every
# undefined behaviour fatal; objects and binaries apart in build-san/.
ifeq ($(SANITIZE),1)
SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	-fno-omit-frame-pointer
BUILD := build-san
WSGATE_BIN := $(BUILD)/wsgate
else ifeq ($(VALGRIND),1)
# VALGRIND=1: a plain -O1 -g build for memcheck, in build-vg/.
SAN :=
BUILD := build-vg
WSGATE_BIN := $(BUILD)/wsgate
CFLAGS := -O1 -g
else
SAN :=
BUILD := build
WSGATE_BIN := wsgate
endif

ALL_CFLAGS := -std=c11 -D_GNU_SOURCE -pthread $(WARN) $(CFLAGS) $(SAN) \
	-DWSGATE_VERSION='"$(VERSION)"' $(shell pkg-config --cflags $(PKGS))
LIBS := $(shell pkg-config --libs $(PKGS)) -pthread
CHECK_CFLAGS := $(shell pkg-config --cflags check 2>/dev/null)
CHECK_LIBS := $(shell pkg-config --libs check 2>/dev/null)

MODULES := admin admission backend cidr config conn entropy frame handshake http listener \
	log metrics notify privdrop proxyproto route \
	session session_relay session_upgrade tls tls_client units utf8 worker
OBJS := $(MODULES:%=$(BUILD)/%.o)
UNIT_SUITES := units utf8 frame http handshake route config backend conn \
	proxyproto tls tls_client cidr metrics admission
UNIT_BINS := $(UNIT_SUITES:%=$(BUILD)/check_%)
BENCH_BINS := $(BUILD)/wsgate-bench $(BUILD)/echo-backend
BENCH_LIBS := $(shell pkg-config --libs libssl libcrypto) -lm

.PHONY: all run check unit integration deps deps-test install uninstall clean lint \
	bench bench-bins bench-smoke fuzz fuzz-bins fuzz-smoke valgrind \
	deps-valgrind

all: $(WSGATE_BIN)

$(BUILD):
	mkdir -p $(BUILD)

$(BUILD)/%.o: src/%.c | $(BUILD)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(WSGATE_BIN): $(OBJS) $(BUILD)/main.o
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LIBS)

CHECK_COMMON := tests/unit/check_main.c tests/unit/check_util.c
$(BUILD)/check_%: tests/unit/check_%.c $(CHECK_COMMON) \
    tests/unit/check_main.h tests/unit/check_util.h $(OBJS) | $(BUILD)
	$(CC) $(ALL_CFLAGS) $(CHECK_CFLAGS) -Isrc -o $@ $< \
	    $(CHECK_COMMON) $(OBJS) $(LIBS) $(CHECK_LIBS)

$(BUILD)/benchws.o: tests/bench/benchws.c tests/bench/benchws.h | $(BUILD)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/wsgate-bench: tests/bench/wsgate-bench.c tests/bench/benchws.h \
    $(BUILD)/benchws.o | $(BUILD)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(BUILD)/benchws.o $(BENCH_LIBS)

$(BUILD)/echo-backend: tests/bench/echo-backend.c tests/bench/benchws.h \
    $(BUILD)/benchws.o | $(BUILD)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(BUILD)/benchws.o $(BENCH_LIBS)

bench-bins: $(BENCH_BINS)

bench: deps
	$(MAKE) wsgate bench-bins
	tests/bench/compare.sh

bench-smoke: $(WSGATE_BIN) $(BENCH_BINS)
	WSGATE=$(abspath $(WSGATE_BIN)) WSGATE_BUILD=$(abspath $(BUILD)) \
	    tests/bench/smoke.sh

deps:
	scripts/install-deps.sh run

deps-test:
	scripts/install-deps.sh test

deps-valgrind:
	scripts/install-deps.sh valgrind

run: deps
	$(MAKE) $(WSGATE_BIN)
	./$(WSGATE_BIN) -c conf/wsgate.yaml

check: deps-test
	$(MAKE) $(WSGATE_BIN) unit-bins bench-bins
	$(MAKE) lint unit bench-smoke integration fuzz-smoke

unit-bins: $(UNIT_BINS)

unit: $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do echo "== $$t"; $$t; done

integration: $(WSGATE_BIN)
	WSGATE=$(abspath $(WSGATE_BIN)) tests/integration/run.sh

lint:
	mandoc -Tlint -W warning man/wsgate.8 man/wsgate.yaml.5
	./$(WSGATE_BIN) -t -c conf/wsgate.yaml
	for f in tests/bench/*.sh tests/integration/run.sh tests/fuzz/run.sh \
	    scripts/*.sh; do \
	    bash -n "$$f" || exit 1; done

# The unit gets the paths of this installation; an existing
# configuration file is never overwritten (nor removed by uninstall).
install: $(WSGATE_BIN)
	install -D -m 0755 $(WSGATE_BIN) $(DESTDIR)$(SBINDIR)/wsgate
	install -D -m 0644 man/wsgate.8 $(DESTDIR)$(MANDIR)/man8/wsgate.8
	install -D -m 0644 man/wsgate.yaml.5 \
	    $(DESTDIR)$(MANDIR)/man5/wsgate.yaml.5
	install -d $(DESTDIR)$(UNITDIR)
	sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
	    systemd/wsgate.service.in >$(DESTDIR)$(UNITDIR)/wsgate.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/wsgate.service
	test -e $(DESTDIR)$(SYSCONFDIR)/wsgate/wsgate.yaml || install -D \
	    -m 0644 conf/wsgate.yaml $(DESTDIR)$(SYSCONFDIR)/wsgate/wsgate.yaml

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/wsgate $(DESTDIR)$(MANDIR)/man8/wsgate.8 \
	    $(DESTDIR)$(MANDIR)/man5/wsgate.yaml.5 \
	    $(DESTDIR)$(UNITDIR)/wsgate.service

clean:
	rm -rf build build-san build-fuzz build-vg wsgate

# make valgrind: the integration tests with every daemon they start run
# under memcheck (harness.py: WSGATE_WRAPPER); a test fails when its
# daemon's log shows an error or definitely/indirectly lost memory
# ("still reachable" at exit is fine: OpenSSL and libevent globals).
# VALGRIND_TESTS (default: all but those named below) picks the files.
VALGRIND_FLAGS := --tool=memcheck --leak-check=full \
	--show-leak-kinds=definite,indirect \
	--errors-for-leak-kinds=definite,indirect --error-exitcode=99 \
	--track-fds=no --num-callers=30
# Left out: test_backpressure.py and test_ws_lifecycle.py bound the
# daemon's RSS (64 MiB while a peer stops reading), and under memcheck
# RSS is mostly valgrind's own shadow memory, so the bound says nothing
# about wsgate.  Everything else runs (about 7 minutes on 2 cores).
VALGRIND_SKIP := test_backpressure.py test_ws_lifecycle.py
VALGRIND_TESTS ?= $(filter-out $(VALGRIND_SKIP), \
	$(notdir $(wildcard tests/integration/test_*.py)))

valgrind: deps-valgrind
	$(MAKE) VALGRIND=1 build-vg/wsgate
	rm -f build-vg/valgrind-summary
	WSGATE=$(abspath build-vg/wsgate) \
	    WSGATE_WRAPPER="valgrind $(VALGRIND_FLAGS)" \
	    WSGATE_VALGRIND_SUMMARY=$(abspath build-vg/valgrind-summary) \
	    WSGATE_TEST_TIMEOUT=600 WSGATE_FILE_TIMEOUT=1800 \
	    tests/integration/run.sh $(VALGRIND_TESTS)
	@awk '{ n++; if ($$1 != "killed") e += $$1; else k++; \
	    d += $$2; i += $$3 } END { printf "valgrind: %d wsgate runs " \
	    "checked, %d errors, %d bytes definitely lost, %d indirectly, " \
	    "%d killed before the summary\n", n, e, d, i, k }' \
	    build-vg/valgrind-summary

# libFuzzer targets (tests/fuzz/): clang builds the pure modules each one
# needs into build-fuzz/, instrumented for coverage, ASan and UBSan.
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_BUILD := build-fuzz
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	-fno-omit-frame-pointer
# clang's -Wformat=2 also flags vprintf-style calls on a va_list (log.c),
# which gcc does not: not a finding, so it is off here.
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -pthread $(WARN) \
	-Wno-format-nonliteral -g -O1 \
	$(shell pkg-config --cflags yaml-0.1 openssl)
FUZZ_TARGETS := http_request http_response frame proxyproto config
FUZZ_BINS := $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/fuzz_%)
FUZZ_MODS_http_request := http
FUZZ_MODS_http_response := http
FUZZ_MODS_frame := frame utf8
FUZZ_MODS_proxyproto := proxyproto
FUZZ_MODS_config := config cidr units log tls_client
# config.c resolves backend servers: the wrapper in fuzz_config.c keeps
# getaddrinfo() numeric, so the fuzzer never asks DNS.
FUZZ_LIBS_config := -Wl,--wrap=getaddrinfo \
	$(shell pkg-config --libs yaml-0.1 openssl)

$(FUZZ_BUILD):
	mkdir -p $(FUZZ_BUILD)

$(FUZZ_BUILD)/%.o: src/%.c | $(FUZZ_BUILD)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link $(FUZZ_SAN) \
	    -MMD -MP -c -o $@ $<

# OpenSSL's SSL_set_tlsext_host_name() macro casts away const; clang
# warns about it inside a system header's macro, gcc does not.
$(FUZZ_BUILD)/tls_client.o: FUZZ_CFLAGS += -Wno-cast-qual

define FUZZ_RULE
$(FUZZ_BUILD)/fuzz_$(1): tests/fuzz/fuzz_$(1).c tests/fuzz/fuzz_http.h \
    $$(FUZZ_MODS_$(1):%=$(FUZZ_BUILD)/%.o) | $(FUZZ_BUILD)
	$$(FUZZ_CC) $$(FUZZ_CFLAGS) -fsanitize=fuzzer $$(FUZZ_SAN) -Isrc \
	    -o $$@ $$< $$(FUZZ_MODS_$(1):%=$(FUZZ_BUILD)/%.o) \
	    $$(FUZZ_LIBS_$(1)) -pthread
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call FUZZ_RULE,$(t))))

fuzz-bins: $(FUZZ_BINS)

fuzz: fuzz-bins
	tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_BUILD) $(FUZZ_TARGETS)

fuzz-smoke:
	$(MAKE) fuzz FUZZ_SECONDS=5

-include $(OBJS:.o=.d) $(BUILD)/main.d $(wildcard $(FUZZ_BUILD)/*.d)
