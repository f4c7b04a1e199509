package exchange_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/exchange"
)

func TestFieldNameIs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		b, name string
		want    bool
	}{
		{"apikey", "apikey", true},
		{"ApiKey", "APIKEY", true},
		{"X-Who", "x-who", true},
		{"", "", true},
		{"apikey", "apikeys", false},
		{"api_key", "api-key", false},
		{"[", "{", false}, // 0x5B and 0x7B differ by the case bit but are not letters
		{"\xc4", "\xe4", false},
	}
	for _, tc := range tests {
		require.Equal(t, tc.want, exchange.FieldNameIs([]byte(tc.b), tc.name), "%q %q", tc.b, tc.name)
	}
}
