package dynamo_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/internal/motoserver"
	"github.com/skyport-gw/skyport/internal/snapshot"
	"github.com/skyport-gw/skyport/lambdas/store"
	"github.com/skyport-gw/skyport/lambdas/store/dynamo"
	"github.com/skyport-gw/skyport/lambdas/store/storetest"
)

var tables atomic.Int64

// emulator starts the emulator and returns a client of it.
func emulator(t *testing.T) *dynamodb.Client {
	// One request at a time: see motoserver.SerialConfig.
	return dynamodb.NewFromConfig(motoserver.Start(t).SerialConfig())
}

// newTable creates a fresh table and returns its name.
func newTable(t *testing.T, client *dynamodb.Client) string {
	t.Helper()
	name := fmt.Sprintf("skyport-test-%d", tables.Add(1))
	require.NoError(t, dynamo.New(client, name).CreateTable(context.Background()))
	return name
}

// pool spreads calls over several Store values on one table, as several
// Lambda instances would, so that concurrent writes race on the revision
// item across stores.
type pool struct {
	stores []*dynamo.Store
	next   atomic.Uint64
}

var _ store.Store = (*pool)(nil)

func (p *pool) pick() *dynamo.Store {
	return p.stores[p.next.Add(1)%uint64(len(p.stores))]
}

func (p *pool) Get(ctx context.Context, k model.Kind, idOrKey string) (model.Entity, error) {
	return p.pick().Get(ctx, k, idOrKey)
}

func (p *pool) List(ctx context.Context, k model.Kind, opts store.ListOptions) (store.Page, error) {
	return p.pick().List(ctx, k, opts)
}

func (p *pool) Create(ctx context.Context, e model.Entity, o store.Origin) (int64, error) {
	return p.pick().Create(ctx, e, o)
}

func (p *pool) GetVersioned(ctx context.Context, k model.Kind, idOrKey string) (model.Entity, store.Version, error) {
	return p.pick().GetVersioned(ctx, k, idOrKey)
}

func (p *pool) Update(ctx context.Context, e model.Entity, ver store.Version, o store.Origin) (int64, error) {
	return p.pick().Update(ctx, e, ver, o)
}

func (p *pool) Delete(ctx context.Context, k model.Kind, id string, ver store.Version, o store.Origin) (int64, error) {
	return p.pick().Delete(ctx, k, id, ver, o)
}

func (p *pool) ReplaceAll(ctx context.Context, cfg *model.Config, o store.Origin) (int64, error) {
	return p.pick().ReplaceAll(ctx, cfg, o)
}

func (p *pool) Revision(ctx context.Context) (int64, error) { return p.pick().Revision(ctx) }

func (p *pool) Export(ctx context.Context) (*model.Config, int64, error) {
	return p.pick().Export(ctx)
}

func (p *pool) Changes(ctx context.Context, since int64, limit int) ([]store.Change, error) {
	return p.pick().Changes(ctx, since, limit)
}

func (p *pool) ChangedSince(ctx context.Context, base int64) (*store.ChangeSet, error) {
	return p.pick().ChangedSince(ctx, base)
}

func (p *pool) ConfigHash(ctx context.Context) (string, int64, bool, error) {
	return p.pick().ConfigHash(ctx)
}

func (p *pool) RecordConfigHash(ctx context.Context, rev int64, hash string) error {
	return p.pick().RecordConfigHash(ctx, rev, hash)
}

func (p *pool) Identity(ctx context.Context) (store.Identity, error) { return p.pick().Identity(ctx) }

func (p *pool) NewEpoch(ctx context.Context, from snapshot.Identity, to int64) (snapshot.Identity, error) {
	return p.pick().NewEpoch(ctx, from, to)
}

// conformanceShards is how many emulator processes the conformance
// suite spreads its parallel subtests over. The emulator answers one
// request at a time per process (and each client here sends one at a
// time, see emulator), so a single process would run the whole suite on
// one core.
const conformanceShards = 3

// TestConformance runs the suite over four Store values per table: reads
// and writes of one test land on different stores, and concurrent writers
// race on the revision item both within a store and across stores. Each
// subtest's table lives on one of conformanceShards emulators.
func TestConformance(t *testing.T) {
	clients := make([]*dynamodb.Client, conformanceShards)
	for i := range clients {
		clients[i] = emulator(t)
	}
	var next atomic.Uint64
	storetest.Run(t, func(t *testing.T) store.Store {
		client := clients[next.Add(1)%uint64(len(clients))]
		name := newTable(t, client)
		p := &pool{}
		for range 4 {
			p.stores = append(p.stores, dynamo.New(client, name))
		}
		return p
	})
}

func TestCreateTableIdempotent(t *testing.T) {
	client := emulator(t)
	name := newTable(t, client)
	require.NoError(t, dynamo.New(client, name).CreateTable(context.Background()))
}
