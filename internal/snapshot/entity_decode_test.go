package snapshot

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/model"
)

// TestFastDecodersTakeWhatTheEncoderWrites: each hand-written decoder
// decodes the encoder's bytes of its kind itself (it does not give them
// to encoding/json), into what encoding/json decodes; and gives up on a
// form it does not know rather than decode it differently.
func TestFastDecodersTakeWhatTheEncoderWrites(t *testing.T) {
	t.Parallel()
	ttl := 3600
	co := &model.Consumer{Username: model.String("alice"), CustomID: nil}
	co.ID, co.CreatedAt, co.UpdatedAt, co.Tags = "d0000000-0000-4000-a000-000000000004", 1795239000, 1795239001, []string{}
	key := &model.KeyAuth{Key: "s\u00e9cret", TTL: &ttl, Consumer: &model.Ref{ID: co.ID}}
	key.ID, key.Tags = "e0000000-0000-4000-a000-000000000005", []string{"a", "b"}
	svc := model.NewService()
	svc.ID, svc.Name, svc.Host, svc.Path = "b0000000-0000-4000-a000-000000000001", model.String("b"), "b.local", model.String("/v1")
	svc.ClientCertificate, svc.CACertificates = &model.Ref{ID: "c"}, []string{"ca-1"}
	rt := model.NewRoute()
	rt.ID, rt.Paths, rt.Hosts, rt.Methods, rt.Service = "c0000000-0000-4000-a000-000000000003", []string{"/a", "/b"}, []string{"x.example"}, []string{"GET"}, &model.Ref{ID: svc.ID}
	rt.RegexPriority = -3
	for _, e := range []model.Entity{co, &model.Consumer{}, key, &model.KeyAuth{}, svc, model.NewService(), rt, model.NewRoute()} {
		raw, err := json.Marshal(e)
		require.NoError(t, err)
		list := documentLists[listName(t, e)]
		require.NotNil(t, list.fast, "%T has a hand-written decoder", e)
		got, ok := list.fast(raw)
		require.True(t, ok, "%T: %s", e, raw)
		want := reflect.New(reflect.TypeOf(e).Elem()).Interface()
		require.NoError(t, json.Unmarshal(raw, want))
		require.Equal(t, want, got, "%s", raw)
	}
	for _, raw := range []string{
		`{"id":"a","ID":"b"}`, `{"id":"a","id":"b"}`, `{"id":"a\u0062"}`, `{"tags":["x",]}`, `{"created_at":1.5}`,
		`{"created_at":01}`, `{"created_at":1e3}`, `{"username":"\xff"}`, `{"custom_id":1}`, `{"unknown":null}`,
		`{"id":"a"} x`, `{"id":"a",}`, `{"id":"a"`, `{"created_at":1234567890123456789}`, `[]`, `null`,
	} {
		_, ok := decodeConsumer([]byte(raw))
		require.False(t, ok, raw)
	}
	for _, raw := range []string{`{"headers":{"x":["y"]}}`, `{"strip_path":null}`, `{"service":{"id":"a","x":1}}`, `{"tls_verify":true}`} {
		_, okRoute := decodeRoute([]byte(raw))
		_, okService := decodeService([]byte(raw))
		require.False(t, okRoute || okService, raw)
	}
}

// listName is the JSON name of e's list in a document.
func listName(t *testing.T, e model.Entity) string {
	t.Helper()
	for name, list := range documentLists {
		if list.elem == reflect.TypeOf(e) {
			return name
		}
	}
	t.Fatalf("no list of %T", e)
	return ""
}
