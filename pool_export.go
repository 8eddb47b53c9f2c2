//go:build cgo && linux && !purego

package spillring

/*
#include <stdint.h>
*/
import "C"

import "unsafe"

// spillringPoolWork is the one callback a worker thread makes per round of
// a Go work function (pool_callback.c): it finds the pool by its index in
// poolTable and runs the worker's round (out is its active ring, which the
// pool knows).
//
//export spillringPoolWork
func spillringPoolWork(ctx C.uintptr_t, worker C.uint, out unsafe.Pointer) C.int {
	e := poolTable[ctx].Load()
	return C.int(e.run(int(worker)))
}
