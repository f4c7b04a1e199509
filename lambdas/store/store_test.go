package store_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/lambdas/store"
)

func TestErrors(t *testing.T) {
	t.Parallel()
	up := &model.Target{Target: "10.0.0.1:80", Upstream: &model.Ref{ID: "u-1"}}
	tests := []struct {
		desc    string
		err     *model.Error
		code    model.Code
		message string
		fields  map[string]any
	}{
		{"unique", store.UniqueViolation(&model.Service{}, model.UniqueKey{Field: "name", Value: "foo"}),
			model.CodeUniqueViolation, `UNIQUE violation detected on '{name="foo"}'`, map[string]any{"name": "foo"}},
		{"scoped unique", store.UniqueViolation(up, up.UniqueKeys()[0]),
			model.CodeUniqueViolation, `UNIQUE violation detected on '{target="10.0.0.1:80",upstream={id="u-1"}}'`,
			map[string]any{"target": "10.0.0.1:80", "upstream": map[string]any{"id": "u-1"}}},
		{"foreign key", store.ForeignKeyViolation(model.Reference{Field: "service", Kind: model.KindService, ID: "s-1"}),
			model.CodeForeignKeyViolation, `the foreign key '{id="s-1"}' does not reference an existing 'services' entity.`,
			map[string]any{"service": map[string]any{"id": "s-1"}}},
		{"restricted", store.ReferencedBy(model.KindService, "s-1", model.KindRoute, "r-1", "service"),
			model.CodeForeignKeyViolation, "an existing 'routes' entity references this 'services' entity",
			map[string]any{"@referenced_by": "routes"}},
		{"ca certificate in use", store.ReferencedBy(model.KindCACertificate, "ca-1", model.KindService, "s-1", "ca_certificates"),
			model.CodeReferencedByOthers, "ca certificate ca-1 is still referenced by services (id = s-1)", nil},
		{"primary key", store.PrimaryKeyViolation("x"),
			model.CodePrimaryKeyViolation, `primary key violation on key '{id="x"}'`, map[string]any{"id": "x"}},
		{"not found by name", store.NotFound(model.KindConsumer, "alice"),
			model.CodeNotFound, `could not find the entity with '{username="alice"}'`, map[string]any{"username": "alice"}},
		{"invalid offset", store.InvalidOffset("zz", "bad base64 encoding"),
			model.CodeInvalidOffset, "'zz' is not a valid offset: bad base64 encoding", nil},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.code, tc.err.Code)
			require.Equal(t, tc.code.Name(), tc.err.Name)
			require.Equal(t, tc.message, tc.err.Message)
			require.Equal(t, tc.fields, tc.err.Fields)
			require.True(t, errors.Is(tc.err, &model.Error{Code: tc.code}))
		})
	}
}

func TestOffset(t *testing.T) {
	t.Parallel()
	id, err := store.DecodeOffset(store.EncodeOffset("5b5c2c4e-1111"))
	require.NoError(t, err)
	require.Equal(t, "5b5c2c4e-1111", id)
	for _, bad := range []string{"", "***", "a"} {
		_, err := store.DecodeOffset(bad)
		require.ErrorIs(t, err, &model.Error{Code: model.CodeInvalidOffset}, "offset %q", bad)
	}
}

func TestMatches(t *testing.T) {
	t.Parallel()
	r := &model.Route{Base: model.Base{Tags: []string{"a", "b"}}, Service: &model.Ref{ID: "s-1"}}
	tests := []struct {
		desc string
		opts store.ListOptions
		want bool
	}{
		{"no filter", store.ListOptions{}, true},
		{"all tags", store.ListOptions{Tags: []string{"a", "b"}}, true},
		{"missing tag", store.ListOptions{Tags: []string{"a", "c"}}, false},
		{"any tag", store.ListOptions{Tags: []string{"c", "b"}, TagsAny: true}, true},
		{"no tag of any", store.ListOptions{Tags: []string{"c", "d"}, TagsAny: true}, false},
		{"parent", store.ListOptions{Parent: &model.Reference{Field: "service", Kind: model.KindService, ID: "s-1"}}, true},
		{"other parent", store.ListOptions{Parent: &model.Reference{Field: "service", Kind: model.KindService, ID: "s-2"}}, false},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, tc.opts.Matches(r))
		})
	}
}

func TestPageSize(t *testing.T) {
	t.Parallel()
	for size, want := range map[int]int{0: 100, -1: 100, 1: 1, 1000: 1000, 5000: 1000} {
		require.Equal(t, want, store.ListOptions{Size: size}.PageSize(), "size %d", size)
	}
}
