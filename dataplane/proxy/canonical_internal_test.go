package proxy

import (
	"net/textproto"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestCanonicalToken: a token's canonical form, as net/http makes it,
// without a copy when the name is canonical already.
func TestCanonicalToken(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		same bool
	}{
		{"Host", true},
		{"User-Agent", true},
		{"X-Forwarded-For", true},
		{"X-Api-Key", true},
		{"user-agent", false},
		{"USER-AGENT", false},
		{"X-API-KEY", false},
		{"x", false},
		{"X", true},
		{"a-b-C", false},
		{"-x", false},
		{"Te", true},
		{"content-length", false},
		{"X_Under", false},
		{"X_under", true},
		{"9-lives", false},
		{"9-Lives", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			name := []byte(tc.name)
			var kb [64]byte
			got := canonicalToken(kb[:0], name)
			assert.Equal(t, textproto.CanonicalMIMEHeaderKey(tc.name), string(got))
			assert.Equal(t, string(appendCanonical(nil, name)), string(got))
			assert.Equal(t, tc.same, len(got) > 0 && &got[0] == &name[0], "the name itself")
		})
	}
}
