package model_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/model"
)

// TestMaxKeyLength checks the bound on every unique value a client
// chooses: at the bound it is valid, one byte past it gets Kong's len_max
// message, and lengths count bytes as Kong's do.
func TestMaxKeyLength(t *testing.T) {
	t.Parallel()
	at := strings.Repeat("é", model.MaxKeyLength/2)
	past := at + "a"
	consumer := &model.Ref{ID: uuidA}
	tests := []struct {
		desc  string
		field string
		build func(v string) model.Entity
	}{
		{"service name", "name", func(v string) model.Entity {
			s := model.NewService()
			s.Name, s.Host = model.String(v), "h.internal"
			return s
		}},
		{"route name", "name", func(v string) model.Entity {
			r := model.NewRoute()
			r.Name, r.Paths = model.String(v), []string{"/"}
			return r
		}},
		{"consumer username", "username", func(v string) model.Entity { return &model.Consumer{Username: model.String(v)} }},
		{"consumer custom_id", "custom_id", func(v string) model.Entity { return &model.Consumer{CustomID: model.String(v)} }},
		{"plugin instance_name", "instance_name", func(v string) model.Entity {
			p := model.NewPlugin()
			p.Name, p.InstanceName = "key-auth", model.String(v)
			return p
		}},
		{"key-auth key", "key", func(v string) model.Entity { return &model.KeyAuth{Key: v, Consumer: consumer} }},
		{"basic-auth username", "username", func(v string) model.Entity {
			return &model.BasicAuth{Username: v, Password: "pw", Consumer: consumer}
		}},
		{"jwt key", "key", func(v string) model.Entity {
			j := model.NewJWTSecret()
			j.Key, j.Consumer = v, consumer
			return j
		}},
		{"acl group", "group", func(v string) model.Entity { return &model.ACL{Group: v, Consumer: consumer} }},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			ok := tc.build(at)
			ok.Normalize()
			require.NoError(t, ok.Validate(), "%d bytes", len(at))
			long := tc.build(past)
			long.Normalize()
			got := fieldErrors(t, long.Validate())
			require.Equal(t, map[string]string{tc.field: "length must be at most 512"}, got)
		})
	}
}
