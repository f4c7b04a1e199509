package history_test

import (
	"reflect"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/lambdas/history"
)

// walk counts cfg's entities by kind one by one, as Each visits them.
func walk(cfg *model.Config) map[string]int {
	out := map[string]int{}
	if cfg != nil {
		cfg.Each(func(e model.Entity) { out[string(e.Kind())]++ })
	}
	return out
}

// everyKind returns a configuration whose i-th list (every field of
// model.Config, those added later too) holds i+1 entities.
func everyKind(t *testing.T) *model.Config {
	t.Helper()
	cfg := &model.Config{}
	v := reflect.ValueOf(cfg).Elem()
	for i := range v.NumField() {
		f := v.Field(i)
		require.Equal(t, reflect.Slice, f.Kind(), "model.Config.%s", v.Type().Field(i).Name)
		for range i + 1 {
			f.Set(reflect.Append(f, reflect.New(f.Type().Elem().Elem())))
		}
	}
	return cfg
}

// TestCountIsTheWalk: Count, which counts the lists' lengths, equals the
// walk over every entity, for every kind of the configuration.
func TestCountIsTheWalk(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  *model.Config
	}{
		{"nil", nil},
		{"empty", &model.Config{}},
		{"some kinds", &model.Config{Services: []*model.Service{model.NewService()}, Routes: []*model.Route{{}, {}}}},
		{"every kind", everyKind(t)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, walk(tt.cfg), history.Count(tt.cfg))
		})
	}
	require.Len(t, history.Count(everyKind(t)), reflect.TypeOf(model.Config{}).NumField(), "every kind counted")
}
