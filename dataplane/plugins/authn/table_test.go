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
			tab := authn.NewTable[keyed](tc.hint)
			want := map[string]int{}
			for n := range tc.puts {
				key := fmt.Sprintf("key-%d", rng.IntN(tc.distinct))
				if tc.desc == "empty key" {
					key = ""
				}
				tab.Put(keyed{key: key, n: n})
				want[key] = n
			}
			require.Equal(t, len(want), tab.Len())
			for key, v := range want {
				got, ok := tab.Get(key)
				require.True(t, ok, key)
				require.Equal(t, keyed{key: key, n: v}, got, key)
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

// keyed is a test value: a key and a number.
type keyed struct {
	key string
	n   int
}

func (k keyed) Key() string { return k.key }

// credRef is a value as the plugins hold them: a pointer to a credential
// elsewhere in the heap, which holds the key.
type credRef struct{ c *keyed }

func (r credRef) Key() string { return r.c.key }

// BenchmarkTableGet looks up 400k keys whose values point to credentials
// (the key read through the value, as key-auth's table does).
func BenchmarkTableGet(b *testing.B) {
	const n = 400_000
	tab := authn.NewTable[credRef](n)
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("key-%016x", uint64(i)*0x9e3779b97f4a7c15)
		tab.Put(credRef{&keyed{key: keys[i], n: i}})
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
	m := make(map[string]credRef, n)
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("key-%016x", uint64(i)*0x9e3779b97f4a7c15)
		m[keys[i]] = credRef{&keyed{key: keys[i], n: i}}
	}
	b.ResetTimer()
	for i := range b.N {
		if _, ok := m[keys[i%n]]; !ok {
			b.Fatal("key not found")
		}
	}
}
