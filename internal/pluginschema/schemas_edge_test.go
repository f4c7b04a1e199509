package pluginschema_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/pluginschema"
)

// TestEdgeChecks: the entity checks of the caching, redirection,
// bot-detection and serverless plugins answer Kong's messages.
func TestEdgeChecks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc, plugin string
		cfg          map[string]any
		errs         map[string]string
	}{
		{desc: "redirect without scheme", plugin: "redirect", cfg: map[string]any{"location": "//example.com/x"},
			errs: map[string]string{"config.location": "missing scheme in url"}},
		{desc: "redirect without host", plugin: "redirect", cfg: map[string]any{"location": "example.com/x"},
			errs: map[string]string{"config.location": "missing host in url"}},
		{desc: "redirect status out of range", plugin: "redirect", cfg: map[string]any{"location": "https://e.x", "status_code": 600},
			errs: map[string]string{"config.status_code": "value should be between 100 and 599"}},
		{desc: "bot-detection bad regex", plugin: "bot-detection", cfg: map[string]any{"deny": []any{"ok", "(unclosed"}},
			errs: map[string]string{"config.deny.2": "not a valid regex: (unclosed"}},
		{desc: "bot-detection fine", plugin: "bot-detection", cfg: map[string]any{"allow": []any{`^curl/\d`}}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			_, errs, known := pluginschema.Normalize(tc.plugin, tc.cfg)
			require.True(t, known)
			if tc.errs == nil {
				require.Empty(t, errs)
				return
			}
			require.Equal(t, tc.errs, errs)
		})
	}
}
