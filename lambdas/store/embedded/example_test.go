package embedded_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/lambdas/store"
	"github.com/skyport-gw/skyport/lambdas/store/embedded"
)

func ExampleOpen() {
	dir, err := os.MkdirTemp("", "skyport")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	s, err := embedded.Open(filepath.Join(dir, "cp.db"))
	if err != nil {
		panic(err)
	}
	defer s.Close()
	s.OnCommit(func(rev int64) { fmt.Println("committed revision", rev) })

	ctx := context.Background()
	svc := model.NewService()
	svc.ID = "0b6f1a44-5d8e-4a43-9c55-1f0d0c3b7a11"
	svc.Name = model.String("orders")
	svc.Host = "orders.internal"
	if _, err := s.Create(ctx, svc, store.Origin{Method: "POST", Path: "/services"}); err != nil {
		panic(err)
	}
	got, err := s.Get(ctx, model.KindService, "orders")
	if err != nil {
		panic(err)
	}
	fmt.Println(got.(*model.Service).Host)
	// Output:
	// committed revision 1
	// orders.internal
}
