package objstore

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// OpenRegular opens the regular file at path for reading and returns it
// with its information. It never follows a final symbolic link and never
// blocks on a FIFO: the name is checked with Lstat (so a device or FIFO is
// not even opened), opened with O_NOFOLLOW|O_NONBLOCK, and the opened file
// must be a regular file too; anything else is refused with ErrNotRegular.
func OpenRegular(path string) (*os.File, fs.FileInfo, error) {
	before, err := os.Lstat(path)
	if err != nil {
		return nil, nil, err
	}
	if !before.Mode().IsRegular() {
		return nil, nil, fmt.Errorf("%s: %w (%s)", path, ErrNotRegular, before.Mode().Type())
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if errors.Is(err, syscall.ELOOP) {
		return nil, nil, fmt.Errorf("%s: %w (symbolic link)", path, ErrNotRegular)
	}
	if err != nil {
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	// The name may have been replaced between Lstat and open (an atomic
	// rename is how objects are written): what was opened must be a
	// regular file itself.
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, nil, fmt.Errorf("%s: %w (%s)", path, ErrNotRegular, fi.Mode().Type())
	}
	return f, fi, nil
}

// ReadRegularFile reads the regular file at path (see OpenRegular), at
// most max bytes: a larger file is refused with ErrTooLarge before
// anything is read, and so is one that grows while it is read.
func ReadRegularFile(path string, max int64) ([]byte, fs.FileInfo, error) {
	f, fi, err := OpenRegular(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	data, err := ReadExactly(f, fi.Size(), max)
	if err != nil {
		return nil, nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return data, fi, nil
}

// ReadExactly reads the n bytes r has left, refusing n over max with
// ErrTooLarge, and refusing r if it ends early or holds more.
func ReadExactly(r io.Reader, n, max int64) ([]byte, error) {
	if n > max {
		return nil, fmt.Errorf("%w (%d bytes, at most %d)", ErrTooLarge, n, max)
	}
	data := make([]byte, n)
	if _, err := io.ReadFull(r, data); err != nil {
		return nil, err
	}
	if k, _ := r.Read(make([]byte, 1)); k != 0 {
		return nil, fmt.Errorf("%w (grew past %d bytes while read)", ErrTooLarge, n)
	}
	return data, nil
}
