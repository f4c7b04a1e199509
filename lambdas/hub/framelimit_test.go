package hub

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/require"
)

// frame returns a masked client frame header for a payload of n bytes,
// followed by the payload.
func frame(n int) []byte {
	h := []byte{0x81, 0x80}
	switch {
	case n < 126:
		h[1] |= byte(n)
	case n <= 0xffff:
		h[1] |= 126
		h = binary.BigEndian.AppendUint16(h, uint16(n))
	default:
		h[1] |= 127
		h = binary.BigEndian.AppendUint64(h, uint64(n))
	}
	h = append(h, 1, 2, 3, 4)
	return append(h, make([]byte, n)...)
}

func TestFrameWatcher(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc    string
		frames  []int
		tooBig  bool
		chunked bool
	}{
		{desc: "small frames", frames: []int{0, 5, 125, 126, 1000}},
		{desc: "frame at the limit", frames: []int{FrameLimit}},
		{desc: "frame over the limit", frames: []int{FrameLimit + 1}, tooBig: true},
		{desc: "64-bit length", frames: []int{70000}, tooBig: true},
		{desc: "big frame after small ones, byte by byte", frames: []int{3, 200, FrameLimit + 1}, tooBig: true, chunked: true},
		{desc: "small frames byte by byte", frames: []int{3, 200, 125, 126}, chunked: true},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			var stream []byte
			for _, n := range tt.frames {
				stream = append(stream, frame(n)...)
			}
			w := &frameWatcher{limit: FrameLimit}
			if tt.chunked {
				for i := range stream {
					w.observe(stream[i : i+1])
				}
			} else {
				w.observe(stream)
			}
			require.Equal(t, tt.tooBig, w.tooBig())
			require.Empty(t, w.header, "the stream ends on a frame boundary")
			require.Zero(t, w.remaining)
		})
	}
}
