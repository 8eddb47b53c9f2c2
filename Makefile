# spillring: `make test` is the one test command; `make bench` prints the
# side-by-side comparison. Needs only Go (1.26) and gcc.
# `make lib` builds the C core as build/lib/libspillring.a and .so (soname
# libspillring.so.1); `make install [PREFIX=/usr/local]` installs them with
# the headers (PREFIX/include/spillring/) and spillring.pc. `make ckit` (part
# of `make test`) checks that kit from C and C++ (it installs pkg-config and
# g++ with apt-get if they are missing).

GO       ?= go
ifeq ($(origin CC),default)
CC       := gcc
endif
ifeq ($(origin CXX),default)
CXX      := g++
endif
# A count, not a duration: Go 1.26's fuzz coordinator can report its own
# -fuzztime deadline as a failure ("context deadline exceeded", no crasher;
# golang/go#75804, fixed in 1.27). ~2M execs is a few minutes here.
FUZZTIME ?= 2000000x
CWARN    := -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror
# Go's build cache keys a cgo package on its own files, not on the C it
# #includes from csrc/ (csrc.c, internal/cpeer, bench's c11-loop): after a
# change to csrc/ring.c it would link stale objects. A hash of csrc/ in
# CGO_CFLAGS keys them on the core's source too.
CSRC_HASH := $(shell cat csrc/*.c csrc/*.h | cksum | cut -d' ' -f1)
export CGO_CFLAGS ?= -g -O2
export CGO_CFLAGS += -DSR_CSRC_HASH=$(CSRC_HASH)
# Pinned: the newest release that works with Go 1.26. `go run pkg@version`
# keeps it out of both go.mod files.
STATICCHECK_VERSION := v0.8.2
STATICCHECK := $(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

.PHONY: test bench fuzz csan check tidy staticcheck vet386 cwarn ckit ckit-tools lib install gotest gotest-purego gotest-race gotest-cgocheck benchtest

# Everything: static checks, the C library and its C and C++ users (ckit),
# the C core under sanitizers, the Go suite on
# both backends (default cgo build, CGO_ENABLED=0, purego tag), under the
# race detector and with cgocheck2, the fuzz seed corpus (part of go test),
# and the benchmark module's own tests.
test: check cwarn ckit csan gotest gotest-purego gotest-race gotest-cgocheck benchtest

check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
		if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	cd bench && $(GO) vet ./...
	CGO_ENABLED=0 $(GO) vet ./...
	$(MAKE) --no-print-directory tidy staticcheck vet386

# go mod tidy must leave go.mod and go.sum as they are, in this module and in
# bench/ (its own module). A difference fails, and the files are restored.
tidy:
	@set -e; for d in . bench; do \
		tmp=$$(mktemp -d); cp $$d/go.mod $$d/go.sum $$tmp/; \
		(cd $$d && $(GO) mod tidy); \
		if ! diff -u $$tmp/go.mod $$d/go.mod || ! diff -u $$tmp/go.sum $$d/go.sum; then \
			cp $$tmp/go.mod $$tmp/go.sum $$d/; rm -r $$tmp; \
			echo "go mod tidy changes $$d/go.mod or $$d/go.sum (restored): run it and commit"; exit 1; \
		fi; \
		rm -r $$tmp; \
	done

# staticcheck (config: staticcheck.conf). U1000 (unused code) is judged per
# build, and the C backend's helpers are unused without cgo: the -matrix run
# checks the cgo build and the purego build (the CGO_ENABLED=0 file set) and
# reports only what neither uses. The CGO_ENABLED=0 run checks the rest.
staticcheck:
	printf 'cgo:\npurego: -tags=purego\n' | $(STATICCHECK) -matrix ./...
	CGO_ENABLED=0 $(STATICCHECK) -checks inherit,-U1000 ./...
	cd bench && $(STATICCHECK) ./...

# The package and its tests build on 32-bit (64-bit atomics need 8-byte
# alignment there). No 386 C toolchain: the Go backend only. (bench/ needs
# cgo for its C11 peer, so it is not part of this.)
vet386:
	GOARCH=386 CGO_ENABLED=0 $(GO) vet ./...

# The C core on its own, as a C program would build it, and the README's C
# snippet against the public header.
cwarn:
	$(CC) $(CWARN) -c csrc/ring.c -o /dev/null
	$(CC) $(CWARN) -c csrc/spill.c -o /dev/null
	$(CC) $(CWARN) -c csrc/pool.c -o /dev/null
	$(CC) $(CWARN) -c csrc/example/consumer.c -o /dev/null

# The C library. The version is the library's, not the Go module's: the
# soname's major (1) changes when the ABI does (struct layout, SR_VERSION,
# a changed function).
LIB_VERSION := 1.0.0
LIB_SOMAJOR := 1
LIB_BUILD   := build/lib
LIB_SO      := libspillring.so.$(LIB_VERSION)
LIB_CFLAGS  := -std=c11 -O2 -g -fPIC -Wall -Wextra -Werror
PREFIX      ?= /usr/local
LIBDIR      ?= $(PREFIX)/lib
INCLUDEDIR  ?= $(PREFIX)/include

lib: $(LIB_BUILD)/libspillring.a $(LIB_BUILD)/$(LIB_SO)

$(LIB_BUILD)/%.o: csrc/%.c csrc/spillring.h csrc/spill.h csrc/pool.h csrc/block.h csrc/copy.h csrc/park.h
	@mkdir -p $(LIB_BUILD)
	$(CC) $(LIB_CFLAGS) -c $< -o $@

$(LIB_BUILD)/libspillring.a: $(LIB_BUILD)/ring.o $(LIB_BUILD)/spill.o $(LIB_BUILD)/pool.o
	rm -f $@
	$(AR) rcs $@ $^

$(LIB_BUILD)/$(LIB_SO): $(LIB_BUILD)/ring.o $(LIB_BUILD)/spill.o $(LIB_BUILD)/pool.o
	$(CC) -shared -pthread -Wl,-soname,libspillring.so.$(LIB_SOMAJOR) -o $@ $^
	ln -sf $(LIB_SO) $(LIB_BUILD)/libspillring.so.$(LIB_SOMAJOR)
	ln -sf libspillring.so.$(LIB_SOMAJOR) $(LIB_BUILD)/libspillring.so

# Headers go to INCLUDEDIR/spillring/, and spillring.pc puts that directory
# on the include path: `#include <spillring.h>` with pkg-config, or
# <spillring/spillring.h> without it. DESTDIR is for staging (packages).
# A shared library in a system directory needs `ldconfig` afterwards.
install: lib
	install -d $(DESTDIR)$(INCLUDEDIR)/spillring $(DESTDIR)$(LIBDIR)/pkgconfig
	install -m 644 csrc/spillring.h csrc/spill.h csrc/pool.h $(DESTDIR)$(INCLUDEDIR)/spillring/
	install -m 644 $(LIB_BUILD)/libspillring.a $(DESTDIR)$(LIBDIR)/
	install -m 755 $(LIB_BUILD)/$(LIB_SO) $(DESTDIR)$(LIBDIR)/
	ln -sf $(LIB_SO) $(DESTDIR)$(LIBDIR)/libspillring.so.$(LIB_SOMAJOR)
	ln -sf libspillring.so.$(LIB_SOMAJOR) $(DESTDIR)$(LIBDIR)/libspillring.so
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
		-e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@VERSION@|$(LIB_VERSION)|' \
		csrc/spillring.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/spillring.pc

# A fresh machine may have only Go and gcc.
APT := $(if $(filter 0,$(shell id -u)),,sudo) env DEBIAN_FRONTEND=noninteractive apt-get
ckit-tools:
	@command -v pkg-config >/dev/null || { $(APT) update && $(APT) install -y pkg-config; }
	@command -v $(CXX) >/dev/null || { $(APT) update && $(APT) install -y g++; }

# The kit as an integrator uses it: install into a temporary prefix, then
# build against it through pkg-config only, and run:
#   - c_pingpong: C11, two pthreads, the shared library (its NEEDED entry
#     must be the soname); quickstart: the README's C example;
#   - cpp_pingpong: C++11, 17 and 20, two std::threads, the static library,
#     plus layout_c.c built as C to compare the C and C++ layouts field by
#     field.
# Also: the soname, and that the shared library exports only sr_* symbols.
CKIT      := $(CURDIR)/build/ckit
CKIT_WARN := -O2 -Wall -Wextra -Werror -pedantic
CKIT_PC   := env PKG_CONFIG_PATH=$(CKIT)/prefix/lib/pkgconfig pkg-config
ckit: ckit-tools
	rm -rf $(CKIT)
	$(MAKE) --no-print-directory install PREFIX=$(CKIT)/prefix
	readelf -d $(CKIT)/prefix/lib/$(LIB_SO) | grep -q 'SONAME.*\[libspillring.so.$(LIB_SOMAJOR)\]'
	@bad=$$(nm -D --defined-only $(CKIT)/prefix/lib/$(LIB_SO) | awk '$$3 !~ /^sr_/ {print $$3}'); \
		if [ -n "$$bad" ]; then echo "libspillring.so exports non-sr_ symbols:"; echo "$$bad"; exit 1; fi
	$(CC) -std=c11 $(CKIT_WARN) -o $(CKIT)/c_pingpong csrc/example/c_pingpong.c \
		$$($(CKIT_PC) --cflags --libs spillring) -pthread
	readelf -d $(CKIT)/c_pingpong | grep -q 'NEEDED.*\[libspillring.so.$(LIB_SOMAJOR)\]'
	LD_LIBRARY_PATH=$$($(CKIT_PC) --variable=libdir spillring) $(CKIT)/c_pingpong
	$(CC) -std=c11 $(CKIT_WARN) -o $(CKIT)/quickstart csrc/example/quickstart.c \
		$$($(CKIT_PC) --cflags --libs spillring) -pthread
	test "$$(LD_LIBRARY_PATH=$$($(CKIT_PC) --variable=libdir spillring) $(CKIT)/quickstart)" = 499999500000
	$(CC) -std=c11 $(CKIT_WARN) -o $(CKIT)/pool_quickstart csrc/example/pool_quickstart.c \
		$$($(CKIT_PC) --cflags --libs spillring) -pthread
	test "$$(LD_LIBRARY_PATH=$$($(CKIT_PC) --variable=libdir spillring) $(CKIT)/pool_quickstart)" = 199990000
	$(CC) -std=c11 $(CKIT_WARN) $$($(CKIT_PC) --cflags spillring) -c csrc/example/layout_c.c -o $(CKIT)/layout_c.o
	for std in c++11 c++17 c++20; do \
		$(CXX) -std=$$std $(CKIT_WARN) -pthread $$($(CKIT_PC) --cflags spillring) \
			-o $(CKIT)/cpp_pingpong-$$std csrc/example/cpp_pingpong.cpp $(CKIT)/layout_c.o \
			$$($(CKIT_PC) --variable=libdir spillring)/libspillring.a && \
		$(CKIT)/cpp_pingpong-$$std || exit 1; \
	done

# The pthread stress harness, plain, under ThreadSanitizer and under
# AddressSanitizer + UndefinedBehaviorSanitizer.
csan:
	$(MAKE) -C csrc/test all

gotest:
	$(GO) test -count=1 ./...

gotest-purego:
	CGO_ENABLED=0 $(GO) test -count=1 ./...
	$(GO) test -count=1 -tags purego ./...

# -short keeps the property tests' item counts down: the race detector slows
# them 10x. The C backend runs with its race shadows (race.go).
gotest-race:
	$(GO) test -count=1 -short -race ./...

# Full cgo pointer checking: catches a Go pointer stored into C memory.
gotest-cgocheck:
	GOEXPERIMENT=cgocheck2 $(GO) test -count=1 -short ./...

benchtest:
	cd bench && $(GO) test -count=1 ./...

# PROFILE=1 also writes a CPU profile of every pair (bench/results/profiles,
# not committed) and prints each one's top frames.
bench:
	cd bench && $(GO) run ./cmd/sidebyside $(if $(PROFILE),-profile results/profiles)

# go test -fuzz takes one target per run: each gets the same budget.
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzOps -fuzztime $(FUZZTIME) .
	$(GO) test -run '^$$' -fuzz FuzzFrameDecoder -fuzztime $(FUZZTIME) .
	$(GO) test -run '^$$' -fuzz FuzzSpillRing -fuzztime $(FUZZTIME) .
	$(GO) test -run '^$$' -fuzz FuzzClaim -fuzztime $(FUZZTIME) .
