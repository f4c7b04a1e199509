package basicauth

import (
	"encoding/base64"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestParseBasicRaw: raw, which check caches the answer by, is the
// "user:pass" the patterns read, whatever they skip around it: one
// valid password makes one cache entry, not one per value a client can
// make of it.
func TestParseBasicRaw(t *testing.T) {
	t.Parallel()
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	for _, tc := range []struct {
		desc, decoded string
	}{
		{"plain", "alice:pw"},
		{"colons before the username", "::alice:pw"},
		{"after a newline in the password", "alice:pw\nanything"},
		{"both", ":alice:pw\n\nmore:x"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			raw, user, pass, ok := parseBasic("Basic " + b64(tc.decoded))
			require.True(t, ok)
			require.Equal(t, "alice", user)
			require.Equal(t, "pw", pass)
			require.Equal(t, "alice:pw", string(raw))
		})
	}
}
