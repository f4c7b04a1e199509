package objstore_test

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/objstore"
)

// TestDirRefusesSpecialFiles plants, where the fallback's latest.json
// belongs, what once grew a data plane past 3 GB (a symbolic link to
// /dev/zero) or hung its sync (a FIFO): each is refused at once.
func TestDirRefusesSpecialFiles(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc  string
		plant func(t *testing.T, path string)
	}{
		{
			desc:  "symbolic link to /dev/zero",
			plant: func(t *testing.T, path string) { require.NoError(t, os.Symlink("/dev/zero", path)) },
		},
		{
			desc: "symbolic link to a regular file",
			plant: func(t *testing.T, path string) {
				target := filepath.Join(filepath.Dir(path), "elsewhere.json")
				require.NoError(t, os.WriteFile(target, []byte(`{"revision":1}`), 0o644))
				require.NoError(t, os.Symlink(target, path))
			},
		},
		{
			desc:  "FIFO",
			plant: func(t *testing.T, path string) { require.NoError(t, syscall.Mkfifo(path, 0o644)) },
		},
		{
			desc:  "directory",
			plant: func(t *testing.T, path string) { require.NoError(t, os.Mkdir(path, 0o755)) },
		},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			d, err := objstore.NewDir(dir)
			require.NoError(t, err)
			tt.plant(t, filepath.Join(dir, "latest.json"))

			done := make(chan error, 1)
			go func() {
				_, _, err := d.Get(context.Background(), "latest.json")
				done <- err
			}()
			select {
			case err := <-done:
				require.ErrorIs(t, err, objstore.ErrNotRegular)
			case <-time.After(time.Minute):
				t.Fatal("Get blocked on a special file")
			}
		})
	}
}

func TestReadRegularFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	require.NoError(t, os.WriteFile(path, []byte("12345"), 0o600))

	data, fi, err := objstore.ReadRegularFile(path, 5)
	require.NoError(t, err)
	require.Equal(t, "12345", string(data))
	require.EqualValues(t, 5, fi.Size())

	_, _, err = objstore.ReadRegularFile(path, 4)
	require.ErrorIs(t, err, objstore.ErrTooLarge)

	_, _, err = objstore.ReadRegularFile(filepath.Join(dir, "absent"), 4)
	require.ErrorIs(t, err, os.ErrNotExist)

	// A device reached by name, not through a link, is refused too.
	_, _, err = objstore.ReadRegularFile("/dev/zero", 1<<20)
	require.ErrorIs(t, err, objstore.ErrNotRegular)
}
