//go:build !race

package spillring

// raceShadow is empty outside race builds; see race.go.
type raceShadow struct{}

func (*raceShadow) releaseTail() {}
func (*raceShadow) acquireTail() {}
func (*raceShadow) releaseHead() {}
func (*raceShadow) acquireHead() {}
