package embedded

import (
	"golang.org/x/sys/unix"

	bolt "go.etcd.io/bbolt"
)

// releasePages gives back the file's pages the process has read through
// bbolt's map, in tx: an export of a million entities touches every page
// of the configuration, and each page read stays counted in the
// process's resident memory (RssFile) until the kernel reclaims it.
// MADV_DONTNEED on the shared, read-only file mapping only unmaps them
// from the process: the data stays in the page cache and the next read
// maps it again. tx keeps the mapping in place (bbolt remaps only with
// no transaction open), so the range is the file's. A failure costs
// only the memory, and is ignored.
func releasePages(tx *bolt.Tx) {
	_, _, _ = unix.Syscall(unix.SYS_MADVISE, tx.DB().Info().Data, uintptr(tx.Size()), unix.MADV_DONTNEED)
}
