package main

import (
	"fmt"
	"slices"
)

// On a shared machine the same row moves by up to 2× from one pass to
// the next, so a ratio of two rows' medians (each over passes measured
// minutes apart) moves with it. The verdicts pair each pass of the row
// judged with the pass of its reference measured next to it, take the
// ratio per pair, and judge the median of those ratios; where the pairs
// fall on both sides of the limit, more pairs are measured, up to a cap.
const (
	pairsMin  = 3 // pairs every comparison gets
	pairsMax  = 7 // pairs at most, for one whose pairs disagree
	pairsStep = 2 // pairs added at a time, so that the count stays odd
)

// bound is a goal's limit on a ratio: at least or at most limit.
type bound struct {
	limit   float64
	atLeast bool
}

func (b bound) ok(v float64) bool {
	if b.atLeast {
		return v >= b.limit
	}
	return v <= b.limit
}

// pairRatios are the per-pair ratios of one comparison, in pass order.
type pairRatios []float64

// median is the middle ratio (the mean of the two middle ones for an
// even count); 0 without pairs.
func (p pairRatios) median() float64 {
	if len(p) == 0 {
		return 0
	}
	v := slices.Sorted(slices.Values(p))
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

// spread is the smallest and the largest ratio.
func (p pairRatios) spread() (lo, hi float64) {
	if len(p) == 0 {
		return 0, 0
	}
	return slices.Min(p), slices.Max(p)
}

// settled reports whether more pairs would not be worth measuring: the
// pairs agree on the verdict but for at most (n−3)/2 of them (all 3 of
// 3, 4 of 5), or there are pairsMax of them. Fewer than pairsMin pairs
// are never settled.
func (p pairRatios) settled(b bound) bool {
	n := len(p)
	if n < pairsMin {
		return false
	}
	if n >= pairsMax {
		return true
	}
	pass := 0
	for _, v := range p {
		if b.ok(v) {
			pass++
		}
	}
	return min(pass, n-pass) <= (n-pairsMin)/2
}

// describe is the median, the pair count and the spread, as the report
// states a paired verdict: "0.83× (median of 5 pairs, 0.78–0.91)".
func (p pairRatios) describe(unit string) string {
	lo, hi := p.spread()
	pairs := "pairs"
	if len(p) == 1 {
		pairs = "pair"
	}
	return fmt.Sprintf("%.2f%s (median of %d %s, %.2f–%.2f)", p.median(), unit, len(p), pairs, lo, hi)
}
