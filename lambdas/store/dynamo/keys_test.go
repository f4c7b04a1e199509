package dynamo

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/model"
)

func TestRefSKRoundTrip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc string
		e    model.Entity
		ref  model.Reference
	}{
		{"route to service", &model.Route{Base: model.Base{ID: "r-1"}},
			model.Reference{Field: "service", Kind: model.KindService, ID: "s-1"}},
		{"id holding the separator", &model.Plugin{Base: model.Base{ID: "odd#id"}},
			model.Reference{Field: "consumer", Kind: model.KindConsumer, ID: "c#1"}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			got, ok := parseRefSK(tc.ref.ID, refSK(tc.ref, tc.e))
			require.True(t, ok)
			require.Equal(t, referrer{tc.e.Kind(), tc.e.Meta().ID, tc.ref.Field}, got)
		})
	}
	_, ok := parseRefSK("a", "b#routes#x#service")
	require.False(t, ok, "a reference to another id")
}
