//go:build !purego && !race

#include "textflag.h"

// func StoreUint64(addr *uint64, v uint64)
// STLR is arm64's store-release.
TEXT ·StoreUint64(SB), NOSPLIT, $0-16
	MOVD	addr+0(FP), R0
	MOVD	v+8(FP), R1
	STLR	R1, (R0)
	RET
