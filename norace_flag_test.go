//go:build !race

package spillring

// raceEnabled: this test binary runs under the race detector.
const raceEnabled = false
