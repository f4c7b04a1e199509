package storetest

import (
	"context"

	"github.com/skyport-gw/skyport/internal/model"
	snap "github.com/skyport-gw/skyport/internal/snapshot"
	"github.com/skyport-gw/skyport/lambdas/store"
)

// ExportOnly is a store without its change log (store.ChangedSince) or
// anything but what a publisher reads: a publisher of it exports the
// whole configuration for every revision, as one did before the log.
type ExportOnly struct{ Store store.Store }

// Export implements store.Store's.
func (e ExportOnly) Export(ctx context.Context) (*model.Config, int64, error) {
	return e.Store.Export(ctx)
}

// Revision implements store.Store's.
func (e ExportOnly) Revision(ctx context.Context) (int64, error) { return e.Store.Revision(ctx) }

// Identity implements store.Store's.
func (e ExportOnly) Identity(ctx context.Context) (store.Identity, error) {
	return e.Store.Identity(ctx)
}

// NewEpoch implements store.Store's.
func (e ExportOnly) NewEpoch(ctx context.Context, from snap.Identity, to int64) (snap.Identity, error) {
	return e.Store.NewEpoch(ctx, from, to)
}
