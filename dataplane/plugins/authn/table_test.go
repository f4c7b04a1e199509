package authn_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/plugins/authn"
)

// TestTableAgreesWithMap puts random keys, some of them again, into a
// Table and a map, and checks that every key put and a sample of keys
// never put answer alike.
func TestTableAgreesWithMap(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc     string
		hint     int // the size the table is made for
		puts     int
		distinct int // keys drawn from key-0 … key-(distinct-1)
	}{
		{"empty", 0, 0, 1},
		{"one key", 1, 1, 1},
		{"a key put again takes the later value", 4, 40, 3},
		{"sized exactly", 1000, 1000, 1_000_000},
		{"grows past its hint", 10, 5000, 3000},
		{"no hint", 0, 300, 200},
		{"empty key", 2, 2, 1},
	}
	for i, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewPCG(uint64(i), 15))
			tab := authn.NewTable[int](tc.hint)
			want := map[string]int{}
			for n := range tc.puts {
				key := fmt.Sprintf("key-%d", rng.IntN(tc.distinct))
				if tc.desc == "empty key" {
					key = ""
				}
				tab.Put(key, n)
				want[key] = n
			}
			require.Equal(t, len(want), tab.Len())
			for key, v := range want {
				got, ok := tab.Get(key)
				require.True(t, ok, key)
				require.Equal(t, v, got, key)
			}
			for n := range 100 {
				key := fmt.Sprintf("absent-%d", n)
				got, ok := tab.Get(key)
				require.False(t, ok, key)
				require.Zero(t, got)
			}
		})
	}
}

func BenchmarkTableGet(b *testing.B) {
	const n = 400_000
	tab := authn.NewTable[authn.Identity](n)
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("key-%016x", uint64(i)*0x9e3779b97f4a7c15)
		tab.Put(keys[i], authn.Identity{})
	}
	b.ResetTimer()
	for i := range b.N {
		if _, ok := tab.Get(keys[i%n]); !ok {
			b.Fatal("key not found")
		}
	}
}

func BenchmarkMapGet(b *testing.B) {
	const n = 400_000
	m := make(map[string]authn.Identity, n)
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("key-%016x", uint64(i)*0x9e3779b97f4a7c15)
		m[keys[i]] = authn.Identity{}
	}
	b.ResetTimer()
	for i := range b.N {
		if _, ok := m[keys[i%n]]; !ok {
			b.Fatal("key not found")
		}
	}
}
