package httplog

import (
	"io"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/require"
)

func TestBatchBody(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc  string
		batch []string
		array bool
		want  string
	}{
		{desc: "one entry, bare", batch: []string{`{"a":1}`}, want: `{"a":1}`},
		{desc: "one entry, array", batch: []string{`{"a":1}`}, array: true, want: `[{"a":1}]`},
		{desc: "three entries", batch: []string{`{"a":1}`, `{"b":2}`, `{}`}, array: true, want: `[{"a":1},{"b":2},{}]`},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			for _, read := range []func(io.Reader) io.Reader{
				func(r io.Reader) io.Reader { return r },
				iotest.OneByteReader,
				iotest.HalfReader,
			} {
				batch := make([][]byte, len(tt.batch))
				for i, e := range tt.batch {
					batch[i] = []byte(e)
				}
				body := newBatchBody(batch, tt.array)
				require.Equal(t, len(tt.want), body.size)
				got, err := io.ReadAll(read(body))
				require.NoError(t, err)
				require.Equal(t, tt.want, string(got))
				require.Equal(t, tt.batch[0], string(batch[0]), "the entries are left as they were")
				require.False(t, body.closed.Load())
				require.NoError(t, body.Close())
				require.True(t, body.closed.Load())
			}
		})
	}
}
