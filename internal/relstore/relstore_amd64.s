//go:build !purego && !race

#include "textflag.h"

// func StoreUint64(addr *uint64, v uint64)
// On amd64 (TSO) an aligned MOV is a release store.
TEXT ·StoreUint64(SB), NOSPLIT, $0-16
	MOVQ	addr+0(FP), AX
	MOVQ	v+8(FP), BX
	MOVQ	BX, (AX)
	RET
