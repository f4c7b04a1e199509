package model_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/model"
)

// packFixture is a decoded configuration with every kind of field Pack
// handles (strings, *string, []string, *Ref, nil and empty lists), n
// consumers with a key each, so that the shared blocks fill and roll over.
func packFixture(t *testing.T, n int) *model.Config {
	t.Helper()
	var b strings.Builder
	b.WriteString(`{"services":[{"id":"a0000000-0000-4000-a000-000000000001","name":"svc-one","host":"upstream.internal","protocol":"http","port":80,"tags":["x","a-longer-tag-value"]}],`)
	b.WriteString(`"routes":[{"id":"c0000000-0000-4000-a000-000000000001","name":"r1","protocols":["http","https"],"hosts":["api.example.test"],"paths":["/a","/b"],"tags":[],"service":{"id":"a0000000-0000-4000-a000-000000000001"},"headers":{"X-A":["1"]}},`)
	b.WriteString(`{"id":"c0000000-0000-4000-a000-000000000002","protocols":["http","https"],"paths":["/c"],"service":{"id":"a0000000-0000-4000-a000-000000000001"}}],`)
	b.WriteString(`"consumers":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":"d0000000-0000-4000-a000-%012d","username":"user-%d","custom_id":"cid-%d"}`, i, i, i)
	}
	b.WriteString(`],"keyauth_credentials":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":"e0000000-0000-4000-a000-%012d","key":"key-%016x","consumer":{"id":"d0000000-0000-4000-a000-%012d"}}`, i, i*7919, i)
	}
	b.WriteString(`],"plugins":[{"id":"f0000000-0000-4000-a000-000000000001","name":"key-auth","config":{"key_names":["apikey"]}}],`)
	b.WriteString(`"acls":[{"id":"b0000000-0000-4000-a000-000000000001","group":"g","consumer":{"id":"not-a-consumer-of-this-config"}}]}`)
	var cfg model.Config
	require.NoError(t, json.Unmarshal([]byte(b.String()), &cfg))
	return &cfg
}

func TestConfigPackKeepsValues(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 1, 20000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			t.Parallel()
			cfg := packFixture(t, n)
			want, err := json.Marshal(cfg)
			require.NoError(t, err)
			lens := cfg.Len()
			cfg.Pack()
			got, err := json.Marshal(cfg)
			require.NoError(t, err)
			require.Equal(t, string(want), string(got))
			require.Equal(t, lens, cfg.Len())
		})
	}
}

func TestConfigPackSharesRefIDs(t *testing.T) {
	t.Parallel()
	cfg := packFixture(t, 3)
	cfg.Pack()
	for i, k := range cfg.KeyAuths {
		co := cfg.Consumers[i]
		require.Equal(t, co.ID, k.Consumer.ID)
		require.Same(t, unsafe.StringData(co.ID), unsafe.StringData(k.Consumer.ID), "credential %d's consumer id", i)
		// The ref is the consumer's id field itself, not a copy of it.
		require.Equal(t, unsafe.Pointer(&co.ID), unsafe.Pointer(k.Consumer), "credential %d's consumer ref", i)
	}
	require.Same(t, unsafe.StringData(cfg.Services[0].ID), unsafe.StringData(cfg.Routes[1].Service.ID))
	require.Same(t, cfg.Routes[0].Service, cfg.Routes[1].Service, "two routes of one service")
	// A ref to an entity the configuration lacks keeps its id.
	require.Equal(t, "not-a-consumer-of-this-config", cfg.ACLs[0].Consumer.ID)
}

func TestConfigPackFieldsStayApart(t *testing.T) {
	t.Parallel()
	cfg := packFixture(t, 3)
	cfg.Pack()
	r1, r2 := cfg.Routes[0], cfg.Routes[1]
	// An append to one route's list must not write into the next's.
	r1.Paths = append(r1.Paths, "/z")
	require.Equal(t, []string{"/a", "/b", "/z"}, r1.Paths)
	require.Equal(t, []string{"/c"}, r2.Paths)
	require.Equal(t, []string{"http", "https"}, r2.Protocols)
	// Equal lists are one array, which an append leaves alone.
	require.Same(t, unsafe.SliceData(r1.Protocols), unsafe.SliceData(r2.Protocols))
	r1.Protocols = append(r1.Protocols, "grpc")
	require.Equal(t, []string{"http", "https"}, r2.Protocols)
	require.Equal(t, []string{"http", "https", "grpc"}, r1.Protocols)
	// Changing one consumer leaves the others alone; a credential given
	// another ref leaves its consumer alone.
	*cfg.Consumers[0].Username = "changed"
	id := cfg.Consumers[0].ID
	cfg.KeyAuths[0].Consumer = &model.Ref{ID: "elsewhere"}
	require.Equal(t, "user-1", *cfg.Consumers[1].Username)
	require.Equal(t, cfg.Consumers[1].ID, cfg.KeyAuths[1].Consumer.ID)
	require.Equal(t, id, cfg.Consumers[0].ID)
	// Empty and nil lists stay as they were (JSON [] and null).
	require.NotNil(t, r1.Tags)
	require.Empty(t, r1.Tags)
	require.Nil(t, r2.Tags)
}

func TestPackerEqualsPack(t *testing.T) {
	t.Parallel()
	cfg := packFixture(t, 5000)
	want, err := json.Marshal(cfg)
	require.NoError(t, err)
	k := model.NewPacker()
	cfg.Each(k.Add)
	got := k.Config()
	raw, err := json.Marshal(got)
	require.NoError(t, err)
	require.Equal(t, string(want), string(raw))
	for i, cred := range got.KeyAuths {
		require.Same(t, unsafe.StringData(got.Consumers[i].ID), unsafe.StringData(cred.Consumer.ID), "credential %d's consumer id", i)
	}
	// The packed entities are copies: the decoded ones can go.
	require.NotSame(t, cfg.Consumers[0], got.Consumers[0])
}

func TestPackerResolvesRefsMetFirst(t *testing.T) {
	t.Parallel()
	cfg := packFixture(t, 3)
	k := model.NewPacker()
	// Credentials before their consumers: their refs wait for them.
	for _, cred := range cfg.KeyAuths {
		k.Add(cred)
	}
	for _, co := range cfg.Consumers {
		k.Add(co)
	}
	k.Add(cfg.ACLs[0])
	got := k.Config()
	for i, cred := range got.KeyAuths {
		require.Equal(t, unsafe.Pointer(&got.Consumers[i].ID), unsafe.Pointer(cred.Consumer), "credential %d's consumer ref", i)
	}
	require.Equal(t, "not-a-consumer-of-this-config", got.ACLs[0].Consumer.ID)
}

// TestConfigPackListsHaveNoSpareCapacity: every packed list's capacity is
// its length, the long ones kept in their own array too, so an append to
// one copies rather than writes past it.
func TestConfigPackListsHaveNoSpareCapacity(t *testing.T) {
	t.Parallel()
	for _, n := range []int{1, 3, 17, 5000} {
		hosts := make([]string, n, n+7)
		for i := range hosts {
			hosts[i] = fmt.Sprintf("host-%d.example.test", i)
		}
		cfg := &model.Config{Routes: []*model.Route{{Hosts: hosts}}}
		cfg.Pack()
		got := cfg.Routes[0].Hosts
		require.Equal(t, hosts[:n], got, "%d hosts", n)
		require.Equal(t, len(got), cap(got), "%d hosts", n)
	}
}
