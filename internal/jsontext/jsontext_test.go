package jsontext_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/jsontext"
)

func TestAppendString(t *testing.T) {
	t.Parallel()
	tests := []struct{ desc, in string }{
		{"plain", "/api/v1/items"},
		{"quotes and backslashes", `a"b\c`},
		{"control characters", "a\nb\tc\rd\x00e\x1f"},
		{"unicode", "/grüße/日本"},
		{"invalid UTF-8", "a\xffb\xc3"},
		{"empty", ""},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			b := jsontext.AppendString(nil, tc.in)
			var got string
			require.NoError(t, json.Unmarshal(b, &got), string(b))
			want := strings.ToValidUTF8(tc.in, "\ufffd")
			if tc.desc == "invalid UTF-8" {
				want = "a\ufffdb\ufffd"
			}
			assert.Equal(t, want, got)
		})
	}
}
