package publisher_test

import (
	"context"
	"fmt"
	"os"

	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/internal/objstore"
	"github.com/skyport-gw/skyport/internal/snapshot"
	"github.com/skyport-gw/skyport/lambdas/publisher"
	"github.com/skyport-gw/skyport/lambdas/store"
)

// staticSource is a store frozen at one revision, of one cluster.
type staticSource struct {
	rev int64
	cfg model.Config
}

func (s staticSource) Revision(context.Context) (int64, error) { return s.rev, nil }

func (s staticSource) Identity(context.Context) (store.Identity, error) {
	return store.Identity{Identity: snapshot.Identity{ClusterID: "6f1d2c3b-4a59-4e8f-9d0c-1b2a3c4d5e6f", Epoch: 1}}, nil
}

func (s staticSource) NewEpoch(context.Context, snapshot.Identity, int64) (snapshot.Identity, error) {
	return snapshot.Identity{}, store.ErrEpochMoved
}

func (s staticSource) Export(context.Context) (*model.Config, int64, error) {
	cfg := s.cfg
	return &cfg, s.rev, nil
}

func ExamplePublisher_Publish() {
	dir, _ := os.MkdirTemp("", "snapshots")
	defer os.RemoveAll(dir)
	objects, _ := objstore.NewDir(dir)
	_, key, _ := snapshot.GenerateKey()

	p := publisher.New(publisher.Options{Source: staticSource{rev: 7}, Objects: objects, Key: key})
	ptr, err := p.Publish(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(ptr.Revision, ptr.Key)
	keys, _ := objects.List(context.Background(), "")
	fmt.Println(keys)
	// Output:
	// 7 snapshots/6f1d2c3b-4a59-4e8f-9d0c-1b2a3c4d5e6f/1/00000000000000000007.json.gz
	// [latest.json snapshots/6f1d2c3b-4a59-4e8f-9d0c-1b2a3c4d5e6f/1/00000000000000000007.json.gz]
}
