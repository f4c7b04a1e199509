package certstore_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/skyport-gw/skyport/dataplane/certstore"
	"github.com/skyport-gw/skyport/internal/objstore"
)

// Data planes pointing certmagic at Storage values over one bucket (here
// a directory) share certificates and issuance locks.
func ExampleNew() {
	dir, err := os.MkdirTemp("", "certs")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	store, err := objstore.NewDir(dir)
	if err != nil {
		log.Fatal(err)
	}
	// One data plane sets certmagic.Config{Storage: a}, another
	// certmagic.Config{Storage: b}.
	a, b := certstore.New(store), certstore.New(store)
	defer a.Close()
	defer b.Close()

	ctx := context.Background()
	if err := a.Lock(ctx, "issue_cert_example.com"); err != nil {
		log.Fatal(err)
	}
	if err := a.Store(ctx, "certificates/ca/example.com/example.com.crt", []byte("PEM")); err != nil {
		log.Fatal(err)
	}
	if err := a.Unlock(ctx, "issue_cert_example.com"); err != nil {
		log.Fatal(err)
	}
	names, err := b.List(ctx, "certificates", true)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(names)
	// Output: [certificates/ca certificates/ca/example.com certificates/ca/example.com/example.com.crt]
}
