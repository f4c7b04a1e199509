package objstore_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/objstore"
)

// down is a store whose every call fails, as a lost Region's bucket does.
type down struct{ objstore.Store }

var errDown = errors.New("dial tcp: connection refused")

func (down) GetMax(context.Context, string, int64) ([]byte, string, error) { return nil, "", errDown }
func (down) Get(context.Context, string) ([]byte, string, error)           { return nil, "", errDown }
func (down) List(context.Context, string) ([]string, error)                { return nil, errDown }

func newDirStore(t *testing.T, objects map[string]string) objstore.Store {
	t.Helper()
	d, err := objstore.NewDir(t.TempDir())
	require.NoError(t, err)
	for k, v := range objects {
		_, err := d.Put(context.Background(), k, []byte(v), objstore.Condition{})
		require.NoError(t, err)
	}
	return d
}

func TestFailover(t *testing.T) {
	t.Parallel()
	home := newDirStore(t, map[string]string{"latest.json": "home"})
	away := newDirStore(t, map[string]string{"latest.json": "away", "snapshots/9": "nine"})
	empty := newDirStore(t, nil)
	tests := []struct {
		desc    string
		stores  []objstore.Store
		key     string
		want    string
		wantErr error
	}{
		{desc: "home answers", stores: []objstore.Store{home, away}, key: "latest.json", want: "home"},
		{desc: "home lost: the other Region answers", stores: []objstore.Store{down{}, away}, key: "latest.json", want: "away"},
		{desc: "replica not caught up: the next one has it", stores: []objstore.Store{home, away}, key: "snapshots/9", want: "nine"},
		{desc: "nowhere", stores: []objstore.Store{empty, home}, key: "snapshots/9", wantErr: objstore.ErrNotFound},
		{desc: "every Region lost", stores: []objstore.Store{down{}, down{}}, key: "latest.json", wantErr: errDown},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			f := objstore.NewFailover(tt.stores...)
			data, _, err := f.Get(context.Background(), tt.key)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, string(data))
		})
	}
}

func TestFailoverConditionalAndReadOnly(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	away := newDirStore(t, map[string]string{"latest.json": "away"})
	f := objstore.NewFailover(down{}, away)
	_, etag, err := objstore.GetIfChanged(ctx, f, "latest.json", "", 64)
	require.NoError(t, err)
	_, _, err = objstore.GetIfChanged(ctx, f, "latest.json", etag, 64)
	require.ErrorIs(t, err, objstore.ErrNotModified)
	_, err = f.Put(ctx, "latest.json", []byte("x"), objstore.Condition{})
	require.ErrorIs(t, err, objstore.ErrReadOnly)
	require.ErrorIs(t, f.Delete(ctx, "latest.json"), objstore.ErrReadOnly)
}
