//go:build !race

package spillring

// raceShadow is empty outside race builds; see race.go.
type raceShadow struct{}

func (*raceShadow) releaseTail() {}
func (*raceShadow) acquireTail() {}
func (*raceShadow) releaseHead() {}
func (*raceShadow) acquireHead() {}

// raceEnabled turns on the checks that only race builds make.
const raceEnabled = false

// owner is empty outside race builds; see race.go.
type owner struct{}

func (*owner) enter(string) {}
func (*owner) leave()       {}
