package cache

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/snapshot"
)

// TestSaveInterruptedLeavesUsableCache replays a crash at each point of
// a Save that replaces revision 4 with 5: the cache always loads, at 4 or
// at 5. (The first layout's two renames left, when a crash fell between
// them, a snapshot and a pointer that disagreed: no cache at all.)
func TestSaveInterruptedLeavesUsableCache(t *testing.T) {
	t.Parallel()
	pub, priv, err := snapshot.GenerateKey()
	require.NoError(t, err)
	seal := func(rev int64) ([]byte, snapshot.Pointer) {
		data, p, err := snapshot.Seal(&snapshot.Document{Revision: rev}, priv, time.Now())
		require.NoError(t, err)
		return data, p
	}
	data4, p4 := seal(4)
	data5, p5 := seal(5)

	tests := []struct {
		desc  string
		crash func(t *testing.T, c *Cache)
		want  int64
	}{
		{
			desc: "before the rename: a partial temporary file",
			crash: func(t *testing.T, c *Cache) {
				tmp := filepath.Join(c.dir, "."+File+".tmp-123")
				require.NoError(t, os.WriteFile(tmp, data5[:len(data5)/2], 0o600))
			},
			want: 4,
		},
		{
			desc: "between the cache file and the mark",
			crash: func(t *testing.T, c *Cache) {
				require.NoError(t, c.write(data5, p5))
			},
			want: 5,
		},
		{
			desc:  "after both",
			crash: func(t *testing.T, c *Cache) { require.NoError(t, c.Save(data5, p5)) },
			want:  5,
		},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			c := New(t.TempDir(), pub)
			require.NoError(t, c.Save(data4, p4))
			tt.crash(t, c)
			doc, _, err := New(c.dir, pub).Load()
			require.NoError(t, err)
			require.Equal(t, tt.want, doc.Revision)
		})
	}
}
