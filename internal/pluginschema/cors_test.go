package pluginschema_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/pluginschema"
)

// TestCORSOrigins: the Admin API validates cors origins with the data
// plane's compiler (internal/corsorigin): "*" is accepted alone or among
// others, as kong/plugins/cors/schema.lua's validate_asterisk_or_regex
// does; an expression the data plane cannot compile is refused with
// Kong's message.
func TestCORSOrigins(t *testing.T) {
	t.Parallel()
	tests := []struct {
		origins []any
		want    map[string]string
	}{
		{origins: []any{"*"}},
		{origins: []any{"http://a.test", "*"}},
		{origins: []any{`(.*[./])?a\.test:9000`}},
		{origins: []any{"http://a.test", "(unclosed"}, want: map[string]string{"config.origins.2": "'(unclosed' is not a valid regex"}},
		{origins: []any{`(?<!x)a\.test`}, want: map[string]string{"config.origins.1": `'(?<!x)a\.test' is not a valid regex`}},
	}
	for _, tt := range tests {
		_, errs, known := pluginschema.Normalize("cors", map[string]any{"origins": tt.origins})
		require.True(t, known)
		if tt.want == nil {
			require.Empty(t, errs, tt.origins)
			continue
		}
		require.Equal(t, tt.want, errs, tt.origins)
	}
}
