package proxycache_test

import (
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/plugins/proxycache"
)

func TestStoreBoundsAndExpiry(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_700_000_000, 0)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s := proxycache.NewStore(proxycache.WithCapacity(16<<10), proxycache.WithClock(clock))
	body := make([]byte, 1000)
	for i := range 40 {
		require.True(t, s.Set("k"+strconv.Itoa(i), &proxycache.Entry{Status: 200, Header: http.Header{}, Body: body}, 0))
	}
	require.LessOrEqual(t, s.Used(), int64(16<<10), "bounded")
	_, ok := s.Get("k0")
	require.False(t, ok, "the least recently used went first")
	_, ok = s.Get("k39")
	require.True(t, ok)
	require.False(t, s.Set("huge", &proxycache.Entry{Body: make([]byte, 4<<10)}, 0), "over an eighth of the capacity")
	require.False(t, s.Fits(4<<10))

	require.True(t, s.Set("ttl", &proxycache.Entry{Body: body}, 10))
	mu.Lock()
	now = now.Add(10 * time.Second)
	mu.Unlock()
	_, ok = s.Get("ttl")
	require.False(t, ok, "storage TTL over")

	require.True(t, s.Purge("k39"))
	require.False(t, s.Purge("k39"))
	s.Flush()
	require.Zero(t, s.Used())
}

func TestStoreConcurrent(t *testing.T) {
	t.Parallel()
	s := proxycache.NewStore(proxycache.WithCapacity(64 << 10))
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				k := strconv.Itoa((g*31 + i) % 97)
				s.Set(k, &proxycache.Entry{Body: make([]byte, 100)}, 0)
				s.Get(k)
				if i%50 == 0 {
					s.Purge(k)
				}
			}
		}()
	}
	wg.Wait()
	require.LessOrEqual(t, s.Used(), int64(64<<10))
}
