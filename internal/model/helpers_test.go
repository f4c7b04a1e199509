package model_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/model"
)

// validCase is one validation table row: a change to a valid entity and
// the fields it makes invalid, each with a part of its message.
type validCase[T model.Entity] struct {
	desc   string
	mutate func(T)
	want   map[string]string
}

// runValid applies each case to a fresh valid entity, normalizes and
// validates it, and compares the reported fields.
func runValid[T model.Entity](t *testing.T, fresh func() T, cases []validCase[T]) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			e := fresh()
			if tc.mutate != nil {
				tc.mutate(e)
			}
			e.Normalize()
			err := e.Validate()
			if len(tc.want) == 0 {
				require.NoError(t, err)
				return
			}
			got := fieldErrors(t, err)
			for field, msg := range tc.want {
				require.Contains(t, got, field, "errors: %v", got)
				require.Contains(t, got[field], msg)
			}
			require.Len(t, got, len(tc.want), "errors: %v", got)
		})
	}
}

// fieldErrors flattens a schema violation's fields into dotted paths.
func fieldErrors(t *testing.T, err error) map[string]string {
	t.Helper()
	var me *model.Error
	require.True(t, errors.As(err, &me), "want *model.Error, got %v", err)
	require.Equal(t, model.CodeSchemaViolation, me.Code)
	require.True(t, errors.Is(err, &model.Error{Code: model.CodeSchemaViolation}))
	out := map[string]string{}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, sub := range x {
				walk(path+"."+k, sub)
			}
		case []any: // array positions count from 1, as in Kong's messages
			for i, sub := range x {
				if sub != nil {
					walk(fmt.Sprintf("%s.%d", path, i+1), sub)
				}
			}
		default:
			out[path[1:]] = fmt.Sprint(v)
		}
	}
	walk("", me.Fields)
	if msg, ok := out["@entity.1"]; ok { // Kong lists the failed entity checks
		delete(out, "@entity.1")
		out["@entity"] = msg
	}
	return out
}
