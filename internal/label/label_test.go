package label_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/label"
	"github.com/skyport-gw/skyport/internal/model"
)

func TestOf(t *testing.T) {
	t.Parallel()
	const id = "00000000-0000-4000-a000-000000000001"
	tests := []struct {
		desc string
		name *string
		want string
	}{
		{"no name: the id", nil, id},
		{"a name", model.String("orders"), "orders"},
		{"an empty name, which validation refuses, counts as none", model.String(""), id},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, label.Of(tt.name, id), tt.desc)
	}
}

func TestSetsKept(t *testing.T) {
	t.Parallel()
	s := model.NewService()
	s.ID, s.Name = "00000000-0000-4000-a000-000000000001", model.String("orders")
	r := &model.Route{}
	r.ID = "00000000-0000-4000-a000-000000000002"
	services, routes := label.Sets(&model.Config{Services: []*model.Service{s}, Routes: []*model.Route{r}})
	tests := []struct {
		set  label.Set
		v    string
		want bool
	}{
		{services, "orders", true},
		{services, s.ID, false},
		{services, "", true},
		{routes, r.ID, true},
		{routes, "gone", false},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, tt.set.Kept(tt.v), "%q", tt.v)
	}
}
