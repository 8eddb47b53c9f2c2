//go:build spillring_vendor

package spillring

// Never built (no build uses the tag): the import tells `go mod vendor`,
// which follows imports under every tag, to copy csrc/ (csrc/vendor.go).
import _ "github.com/spillring/spillring/csrc"
