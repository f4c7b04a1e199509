package snapshot_test

import (
	"testing"
	"time"

	"github.com/skyport-gw/skyport/internal/snapshot"
)

// FuzzDecode checks that Decode never panics on arbitrary bytes.
func FuzzDecode(f *testing.F) {
	_, priv, err := snapshot.GenerateKey()
	if err != nil {
		f.Fatal(err)
	}
	cfg := sampleConfig()
	data, _, err := snapshot.Seal(&snapshot.Document{Revision: 1, Config: cfg}, priv, time.Unix(0, 0))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add([]byte{0x1f, 0x8b})
	f.Add([]byte("{}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := snapshot.Decode(data)
		if err == nil && doc == nil {
			t.Fatal("nil document without an error")
		}
	})
}
