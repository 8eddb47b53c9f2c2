//go:build cgo && linux && !purego

// cgo compiles only the C files in the package directory; this one brings in
// the C core, whose source stays in csrc/ next to its header.
#include "csrc/ring.c"
#include "csrc/spill.c"
#include "csrc/pool.c"
