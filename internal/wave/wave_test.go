package wave_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/snapshot"
	"github.com/skyport-gw/skyport/internal/wave"
)

func TestSelectors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		desc, sel string
		labels    map[string]string
		bad, want bool
	}{
		{desc: "any", sel: "*", want: true},
		{desc: "match", sel: "ring:canary", labels: map[string]string{"ring": "canary"}, want: true},
		{desc: "other value", sel: "ring:canary", labels: map[string]string{"ring": "main"}},
		{desc: "no labels", sel: "ring:canary"},
		{desc: "no colon", sel: "canary", bad: true},
		{desc: "empty value", sel: "ring:", bad: true},
		{desc: "two labels", sel: "ring:a,zone:b", bad: true},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			if tc.bad {
				require.ErrorIs(t, wave.CheckSelector(tc.sel), wave.ErrSelector)
				return
			}
			require.NoError(t, wave.CheckSelector(tc.sel))
			require.Equal(t, tc.want, wave.Matches(tc.sel, tc.labels))
		})
	}
}

func TestReleasedFor(t *testing.T) {
	t.Parallel()
	r := wave.Released{Waves: []wave.Wave{
		{Selector: "ring:canary", Pointer: snapshot.Pointer{Revision: 7}},
		{Selector: "region:eu", Pointer: snapshot.Pointer{Revision: 6}},
	}}
	for _, tc := range []struct {
		labels map[string]string
		want   int64
	}{
		{map[string]string{"ring": "canary", "region": "eu"}, 7},
		{map[string]string{"region": "eu"}, 6},
		{nil, 6}, // no match: the last wave
	} {
		p, ok := r.For(tc.labels)
		require.True(t, ok)
		require.Equal(t, tc.want, p.Revision)
	}
	_, ok := wave.Released{}.For(nil)
	require.False(t, ok)
	_, err := wave.Parse([]byte(`{"waves":[]}`))
	require.ErrorIs(t, err, snapshot.ErrCorrupt)
	_, err = wave.Parse([]byte(`{"waves":[{"selector":"nope"}]}`))
	require.ErrorIs(t, err, snapshot.ErrCorrupt)
}
