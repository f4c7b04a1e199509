package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// lockFile is the file in --data-dir that one "skyport local" at a time
// holds locked; it names the holder's process id.
const lockFile = "skyport.lock"

// errDataDirHeld: another process holds the data directory.
var errDataDirHeld = errors.New("another skyport process holds the data directory")

// lockDataDir takes the data directory for this process, at once or not
// at all: a second "skyport local" on the same directory is refused
// before it opens anything. The lock is the kernel's (flock), so it is
// released when the process ends, however it ends.
func lockDataDir(dir string) (unlock func(), err error) {
	path := filepath.Join(dir, lockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("locking the data directory: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder := readHolder(f)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w %s%s: stop it first, or choose another --data-dir", errDataDirHeld, dir, holder)
		}
		return nil, fmt.Errorf("locking the data directory %s: %w", dir, err)
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

// readHolder returns " (process N)" from the lock file, or "".
func readHolder(f *os.File) string {
	buf := make([]byte, 32)
	n, _ := f.ReadAt(buf, 0)
	pid := strings.TrimSpace(string(buf[:n]))
	if _, err := strconv.Atoi(pid); err != nil {
		return ""
	}
	return " (process " + pid + ")"
}
