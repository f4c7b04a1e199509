package storetest

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/lambdas/store"
)

// testListUnique: a listing by a unique value (a consumer's custom_id)
// holds the one entity holding it, and nothing for a value nobody holds,
// for a holder the other filters exclude or before the offset.
func testListUnique(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	var consumers []model.Entity
	for i := range 5 {
		c := consumer(fmt.Sprintf("user-%d", i))
		c.CustomID = model.String(fmt.Sprintf("cid-%d", i))
		c.Tags = []string{"t"}
		consumers = append(consumers, c)
	}
	mustCreate(t, s, consumers...)
	want := consumers[3].(*model.Consumer)
	byCustomID := func(v string) *model.UniqueKey { return &model.UniqueKey{Field: "custom_id", Value: v} }

	page, err := s.List(ctx, model.KindConsumer, store.ListOptions{Unique: byCustomID("cid-3")})
	require.NoError(t, err)
	require.Len(t, page.Items, 1)
	require.Equal(t, want.ID, page.Items[0].Meta().ID)
	require.Empty(t, page.Next)

	tests := []struct {
		desc string
		opts store.ListOptions
	}{
		{"nobody holds it", store.ListOptions{Unique: byCustomID("cid-9")}},
		{"another field's value", store.ListOptions{Unique: &model.UniqueKey{Field: "custom_id", Value: "user-3"}}},
		{"excluded by tags", store.ListOptions{Unique: byCustomID("cid-3"), Tags: []string{"other"}}},
		{"before the offset", store.ListOptions{Unique: byCustomID("cid-3"), Offset: store.EncodeOffset(want.ID)}},
	}
	for _, tc := range tests {
		page, err := s.List(ctx, model.KindConsumer, tc.opts)
		require.NoError(t, err, tc.desc)
		require.Empty(t, page.Items, tc.desc)
	}
}
