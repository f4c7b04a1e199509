//go:build linux

package loop

// Rounds is how many rounds l went (each runs its ready tasks once, then
// looks for events, waiting when it has nothing to run).
func (l *Loop) Rounds() uint64 { return l.rounds.Load() }

// Loops are g's loops.
func (g *Group) Loops() []*Loop { return g.loops }

// ParkCapMin and ParkCapMax bound a loop's park (wait_linux.go).
const (
	ParkCapMin = parkCapMin
	ParkCapMax = parkCapMax
)
