package model_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/model"
)

func TestConfigWriteJSON(t *testing.T) {
	t.Parallel()
	svc := model.NewService()
	svc.ID, svc.Name, svc.Host = "a0000000-0000-4000-a000-000000000001", model.String("a<b>&"), "a.local"
	svc2 := model.NewService()
	svc2.ID, svc2.Host = "a0000000-0000-4000-a000-000000000002", "b.local"
	route := model.NewRoute()
	route.ID, route.Paths, route.Service = "c0000000-0000-4000-a000-000000000003", []string{"/"}, &model.Ref{ID: svc.ID}
	consumer := &model.Consumer{}
	consumer.ID, consumer.Username = "d0000000-0000-4000-a000-000000000004", model.String("u")
	tests := []struct {
		desc string
		cfg  model.Config
	}{
		{"empty", model.Config{}},
		{"one list", model.Config{Services: []*model.Service{svc, svc2}}},
		{"several lists", model.Config{Services: []*model.Service{svc}, Routes: []*model.Route{route}, Consumers: []*model.Consumer{consumer}}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			want, err := json.Marshal(&tc.cfg)
			require.NoError(t, err)
			var got bytes.Buffer
			require.NoError(t, tc.cfg.WriteJSON(&got, true))
			require.Equal(t, string(want), got.String())

			var unescaped bytes.Buffer
			enc := json.NewEncoder(&unescaped)
			enc.SetEscapeHTML(false)
			require.NoError(t, enc.Encode(&tc.cfg))
			got.Reset()
			require.NoError(t, tc.cfg.WriteJSON(&got, false))
			require.Equal(t, unescaped.String(), got.String()+"\n")
		})
	}
}
