//go:build !linux

package embedded

import bolt "go.etcd.io/bbolt"

// releasePages is a no-op where the store does not give pages back
// (pages_linux.go).
func releasePages(*bolt.Tx) {}
