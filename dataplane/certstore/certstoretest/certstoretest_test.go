package certstoretest_test

import (
	"testing"

	"github.com/caddyserver/certmagic"

	"github.com/skyport-gw/skyport/dataplane/certstore/certstoretest"
)

// TestFileStorage checks the suite against certmagic's reference
// implementation.
func TestFileStorage(t *testing.T) {
	t.Parallel()
	certstoretest.Run(t, func(t *testing.T) (certmagic.Storage, certmagic.Storage) {
		dir := t.TempDir()
		return &certmagic.FileStorage{Path: dir}, &certmagic.FileStorage{Path: dir}
	})
}
