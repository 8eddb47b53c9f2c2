// Package relstore provides a release-only 64-bit store.
//
// Go's atomic.StoreUint64 is sequentially consistent: on amd64 it compiles to
// XCHG, a full barrier that waits for the store buffer to drain. A ring's
// publish only needs release ordering (earlier writes to the slots become
// visible no later than the new index), which amd64 gives any plain MOV and
// arm64 gives STLR. This package is that one instruction, in assembly because
// the Go compiler may reorder or merge a plain store; an assembly call is
// opaque to the compiler, so no earlier store can be moved past it.
//
// It lives in its own package because a package that uses cgo cannot also
// contain Go assembly.
package relstore
