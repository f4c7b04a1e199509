package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestBound(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		desc string
		b    bound
		v    float64
		ok   bool
	}{
		{"at least: inside", bound{0.8, true}, 0.9, true},
		{"at least: at", bound{0.8, true}, 0.8, true},
		{"at least: past", bound{0.8, true}, 0.799, false},
		{"at most: inside", bound{1.25, false}, 1.1, true},
		{"at most: at", bound{1.25, false}, 1.25, true},
		{"at most: past", bound{1.25, false}, 1.251, false},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tc.ok, tc.b.ok(tc.v))
		})
	}
}

func TestPairRatios(t *testing.T) {
	t.Parallel()
	atLeast := bound{0.85, true}
	for _, tc := range []struct {
		desc     string
		p        pairRatios
		median   float64
		settled  bool
		describe string
	}{
		{"none", nil, 0, false, ""},
		{"two are too few", pairRatios{0.9, 0.95}, 0.925, false, ""},
		{"three that agree", pairRatios{0.9, 0.95, 0.86}, 0.9, true, "0.90 (median of 3 pairs, 0.86–0.95)"},
		{"three that agree below", pairRatios{0.7, 0.8, 0.84}, 0.8, true, ""},
		{"three that disagree", pairRatios{0.9, 0.95, 0.84}, 0.9, false, ""},
		{"five, one dissenting", pairRatios{0.9, 0.95, 0.84, 0.88, 0.87}, 0.88, true, ""},
		{"five, two dissenting", pairRatios{0.9, 0.95, 0.84, 0.8, 0.87}, 0.87, false, ""},
		{"seven, however split", pairRatios{0.9, 0.95, 0.84, 0.8, 0.87, 0.7, 0.86}, 0.86, true, "0.86 (median of 7 pairs, 0.70–0.95)"},
		{"one", pairRatios{1.4}, 1.4, false, "1.40 (median of 1 pair, 1.40–1.40)"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			assert.InDelta(t, tc.median, tc.p.median(), 1e-9)
			assert.Equal(t, tc.settled, tc.p.settled(atLeast))
			if tc.describe != "" {
				assert.Equal(t, tc.describe, tc.p.describe(""))
			}
		})
	}
}
