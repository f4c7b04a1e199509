package cache

import (
	"fmt"
	"io/fs"
	"os"
	"syscall"

	"github.com/skyport-gw/skyport/internal/objstore"
)

// openOwned opens the regular file at path (never through a symbolic
// link, never blocking on a FIFO) and refuses it unless it belongs to this
// process's user and no one else may write it.
func openOwned(path string) (*os.File, fs.FileInfo, error) {
	f, fi, err := objstore.OpenRegular(path)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, nil, err
		}
		return nil, nil, fmt.Errorf("%w: %w", ErrUnsafe, err)
	}
	if err := checkOwned(path, fi); err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, fi, nil
}

// checkDir refuses a cache directory that is not a directory owned by
// this process's user and writable by it alone: anyone else who may write
// it could plant or swap the cache.
func checkDir(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%w: %s is not a directory", ErrUnsafe, dir)
	}
	return checkOwned(dir, fi)
}

// checkOwned refuses fi unless its owner is this process's user and
// neither its group nor others may write it.
func checkOwned(path string, fi fs.FileInfo) error {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fmt.Errorf("%w: %s: owner unknown", ErrUnsafe, path)
	}
	if uid := os.Getuid(); int(st.Uid) != uid {
		return fmt.Errorf("%w: %s is owned by uid %d, not %d", ErrUnsafe, path, st.Uid, uid)
	}
	if perm := fi.Mode().Perm(); perm&0o022 != 0 {
		return fmt.Errorf("%w: %s is writable by group or others (mode %04o)", ErrUnsafe, path, perm)
	}
	return nil
}
