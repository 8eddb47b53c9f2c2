//go:build spillring_vendor

// Package csrc is spillring's C core (spillring.h, spill.h, ring.c, spill.c),
// not a Go package: this file, never built (no build uses the tag), only
// makes `go mod vendor` copy the directory, which it does for packages
// alone. The root package #includes these files (csrc.c), and cgo users of
// the module point -I at this directory (README, "C and C++ integrators").
package csrc
