# spillring: `make test` is the one test command; `make bench` prints the
# side-by-side comparison. Needs only Go (1.26) and gcc.

GO       ?= go
ifeq ($(origin CC),default)
CC       := gcc
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

.PHONY: test bench fuzz csan check tidy staticcheck vet386 cwarn gotest gotest-purego gotest-race gotest-cgocheck benchtest

# Everything: static checks, the C core under sanitizers, the Go suite on
# both backends (default cgo build, CGO_ENABLED=0, purego tag), under the
# race detector and with cgocheck2, the fuzz seed corpus (part of go test),
# and the benchmark module's own tests.
test: check cwarn csan gotest gotest-purego gotest-race gotest-cgocheck benchtest

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
	$(CC) $(CWARN) -c csrc/example/consumer.c -o /dev/null

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

bench:
	cd bench && $(GO) run ./cmd/sidebyside

# go test -fuzz takes one target per run: each gets the same budget.
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzOps -fuzztime $(FUZZTIME) .
	$(GO) test -run '^$$' -fuzz FuzzFrameDecoder -fuzztime $(FUZZTIME) .
	$(GO) test -run '^$$' -fuzz FuzzSpillRing -fuzztime $(FUZZTIME) .
