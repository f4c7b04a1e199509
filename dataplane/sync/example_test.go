package sync_test

import (
	"context"
	"log"

	dpsync "github.com/skyport-gw/skyport/dataplane/sync"
	"github.com/skyport-gw/skyport/dataplane/sync/cache"
	"github.com/skyport-gw/skyport/internal/objstore"
	"github.com/skyport-gw/skyport/internal/snapshot"
)

// A data plane joined to a local control plane, with the snapshot
// directory as its fallback and a disk cache.
func Example() {
	ctx := context.Background()
	key, err := snapshot.LoadPublicKey(".skyport/publisher.pub")
	if err != nil {
		log.Fatal(err)
	}
	fallback, err := objstore.NewDir(".skyport/snapshots")
	if err != nil {
		log.Fatal(err)
	}
	var proxy dpsync.Applier // the proxy's compile-and-swap
	client, err := dpsync.New(dpsync.Config{
		CPURL:     "wss://cp.example.com",
		Fallback:  fallback,
		Cache:     cache.New("./dp-cache", key),
		VerifyKey: key,
		NodeID:    "dp-2",
	}, proxy)
	if err != nil {
		log.Fatal(err)
	}
	go client.Run(ctx)
}
