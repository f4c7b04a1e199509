package authn_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/plugin"
	"github.com/skyport-gw/skyport/dataplane/plugins/authn"
	"github.com/skyport-gw/skyport/internal/model"
)

func TestIdentityApply(t *testing.T) {
	t.Parallel()
	full := &model.Consumer{Username: model.String("alice"), CustomID: model.String("c-1")}
	full.ID = "d0000000-0000-4000-9000-000000000001"
	bare := &model.Consumer{}
	bare.ID = "d0000000-0000-4000-9000-000000000002"
	empty := &model.Consumer{CustomID: model.String("")}
	empty.ID = "d0000000-0000-4000-9000-000000000003"
	cred := &model.KeyAuth{Key: "secret"}
	cred.ID = "e0000000-0000-4000-9000-000000000001"
	tests := []struct {
		desc       string
		co         *model.Consumer
		identifier *string
		want       http.Header
	}{
		{"every header", full, &cred.ID, http.Header{
			authn.HeaderConsumerID: {full.ID}, authn.HeaderConsumerCustomID: {"c-1"},
			authn.HeaderConsumerUsername: {"alice"}, authn.HeaderCredential: {cred.ID}, "Other": {"kept"}}},
		{"only the id", bare, nil, http.Header{authn.HeaderConsumerID: {bare.ID}, "Other": {"kept"}}},
		{"an empty identifier is none", bare, model.String(""), http.Header{authn.HeaderConsumerID: {bare.ID}, "Other": {"kept"}}},
		{"an empty custom id is sent", empty, &cred.Key, http.Header{
			authn.HeaderConsumerID: {empty.ID}, authn.HeaderConsumerCustomID: {""}, authn.HeaderCredential: {"secret"}, "Other": {"kept"}}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			id := authn.NewIdentity(tc.co, cred, tc.identifier)
			// What the client sent is replaced or removed.
			h := http.Header{authn.HeaderConsumerCustomID: {"forged"}, authn.HeaderConsumerUsername: {"forged"},
				authn.HeaderCredential: {"forged"}, authn.HeaderAnonymous: {"true"}, "Other": {"kept"}}
			var pc plugin.Context
			id.Apply(&pc, &http.Request{Header: h})
			require.Equal(t, tc.want, h)
			require.Same(t, tc.co, pc.Consumer)
			require.Equal(t, model.Entity(cred), pc.Credential)
			// An append to a header value copies: the next request sees the identity unchanged.
			h[authn.HeaderConsumerID] = append(h[authn.HeaderConsumerID], "more")
			next := http.Header{}
			id.Apply(&pc, &http.Request{Header: next})
			require.Equal(t, []string{tc.co.ID}, next[authn.HeaderConsumerID])
			require.Equal(t, "secret", cred.Key, "the entity a header value is cut from is unchanged")
		})
	}
}
