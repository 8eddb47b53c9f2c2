package spillring_test

import (
	"fmt"

	"github.com/spillring/spillring"
)

// A producer that builds items (parses a packet, fills a struct) can build
// them in the channel's own slots: Claim hands out up to n free slots as
// two spans (the second one only when the run wraps around the end of the
// ring), and Commit publishes the first k of them with one store. The
// consumer reads them where they lie with ReadClaim and gives the slots
// back with Release. Nothing is copied in between.
func ExampleProducer_Claim() {
	type reading struct {
		Sensor uint32
		Milli  int32
		Seq    uint64
	}
	p, c, err := spillring.New[reading](spillring.Config{Capacity: 8})
	if err != nil {
		panic(err)
	}

	// Build three readings in place; the third turns out bad (say its
	// packet failed a check), so only two are committed.
	first, second, err := p.Claim(3)
	if err != nil {
		panic(err)
	}
	built := 0
	for _, span := range [][]reading{first, second} {
		for i := range span {
			span[i] = reading{Sensor: 7, Milli: int32(1000 * built), Seq: uint64(built)}
			built++
		}
	}
	n, err := p.Commit(2)
	fmt.Println("committed", n, err)

	// Read them in place, and give the slots back.
	first, second, err = c.ReadClaim(10)
	if err != nil {
		panic(err)
	}
	for _, span := range [][]reading{first, second} {
		for _, r := range span {
			fmt.Printf("sensor %d: %d m°C (#%d)\n", r.Sensor, r.Milli, r.Seq)
		}
	}
	fmt.Println(c.Release(len(first) + len(second)))

	// A claim must end in Commit or Abort; the handle refuses pushes until
	// it does.
	_, _, _ = p.Claim(1)
	fmt.Println(p.Push(reading{}))
	fmt.Println(p.Abort())
	// Output:
	// committed 2 <nil>
	// sensor 7: 0 m°C (#0)
	// sensor 7: 1000 m°C (#1)
	// <nil>
	// spillring: a claim is pending on this handle
	// <nil>
}
