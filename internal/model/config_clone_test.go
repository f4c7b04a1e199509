package model_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/model"
)

func TestConfigClone(t *testing.T) {
	t.Parallel()
	a := &model.Service{Base: model.Base{ID: "b"}}
	b := &model.Service{Base: model.Base{ID: "a"}}
	cfg := &model.Config{Services: []*model.Service{a, b}}
	c := cfg.Clone()
	c.Sort()
	require.Equal(t, []*model.Service{b, a}, c.Services)
	require.Equal(t, []*model.Service{a, b}, cfg.Services, "the original keeps its order")
	require.Equal(t, 2, c.Len())
}
