package spillring

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Goroutines share a Collect through Locked: every item arrives once, and
// each SendBatch arrives whole, not interleaved with another goroutine's.
func TestSpoutLocked(t *testing.T) {
	col := Collect[int]()
	s, err := Locked[int](col)
	require.NoError(t, err)
	const senders, per, size = 4, 200, 8
	var wg sync.WaitGroup
	for g := range senders {
		wg.Go(func() {
			for i := range per {
				base := (g*per + i) * size
				n, err := s.SendBatch(seqInts(base, size))
				assert.NoError(t, err)
				assert.Equal(t, size, n)
			}
			assert.NoError(t, s.Flush())
		})
	}
	wg.Wait()
	got := col.Items()
	require.Len(t, got, senders*per*size)
	seen := make([]bool, len(got))
	for i := 0; i < len(got); i += size {
		assert.Equal(t, seqInts(got[i], size), got[i:i+size], "a batch arrives whole")
		for _, v := range got[i : i+size] {
			require.False(t, seen[v])
			seen[v] = true
		}
	}

	require.NoError(t, s.Send(-1))
	assert.Equal(t, -1, col.Items()[col.Len()-1])
}
