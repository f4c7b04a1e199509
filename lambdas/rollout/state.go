package rollout

import (
	"github.com/skyport-gw/skyport/internal/snapshot"
)

// States of a rollout.
const (
	StateInProgress = "in_progress"
	StateCompleted  = "completed"
	StateHalted     = "halted"
	// StateSuperseded: a newer revision started its own rollout first.
	StateSuperseded = "superseded"
)

// States of a wave within a rollout.
const (
	WavePending  = "pending"
	WaveBaking   = "baking"
	WaveReleased = "released"
	// WaveHalted: the wave had the revision when the rollout halted; it
	// is rolled back by the rollback revision.
	WaveHalted = "halted"
)

// maxRollouts bounds the rollouts the state keeps.
const maxRollouts = 50

// State is rollout/state.json.
type State struct {
	// Selectors are the policy's waves the state was made for; another
	// policy starts over from the newest revision.
	Selectors []string `json:"selectors"`
	// Released is, per wave, the pointer its data planes may run.
	Released []snapshot.Pointer `json:"released"`
	// Good is the newest revision every wave ran (the rollback target),
	// and GoodHash its config hash.
	Good     snapshot.Pointer `json:"good"`
	GoodHash string           `json:"good_hash"`
	// Rollouts, newest first.
	Rollouts []Rollout `json:"rollouts"`
}

// Rollout is one revision's way through the waves.
type Rollout struct {
	Revision   int64            `json:"revision"`
	ConfigHash string           `json:"config_hash"`
	Pointer    snapshot.Pointer `json:"pointer"`
	State      string           `json:"state"`
	StartedAt  int64            `json:"started_at"`
	EndedAt    int64            `json:"ended_at,omitempty"`
	// HaltReason says which condition halted it.
	HaltReason string `json:"halt_reason,omitempty"`
	// RollbackTo is the revision whose configuration a halt restored, and
	// RollbackRevision the revision that restored it (0 until committed).
	RollbackTo       int64 `json:"rollback_to,omitempty"`
	RollbackRevision int64 `json:"rollback_revision,omitempty"`
	// Rollback marks a revision equal to the last one every wave ran: it
	// goes to every wave at once.
	Rollback bool `json:"rollback,omitempty"`
	// PromoteRequested and HaltRequested are the Admin API's requests,
	// acted on at the next step.
	PromoteRequested bool        `json:"promote_requested,omitempty"`
	HaltRequested    string      `json:"halt_requested,omitempty"`
	Waves            []WaveState `json:"waves"`
}

// WaveState is one wave of a rollout.
type WaveState struct {
	Selector    string `json:"selector"`
	BakeSeconds int64  `json:"bake_seconds"`
	State       string `json:"state"`
	ReleasedAt  int64  `json:"released_at,omitempty"`
	BakedAt     int64  `json:"baked_at,omitempty"`
	// DataPlanes in the wave when last counted; Acked run the revision
	// (or a newer one), Rejected refused it.
	DataPlanes int `json:"data_planes"`
	Acked      int `json:"acked"`
	Rejected   int `json:"rejected"`
	// Reported counts the acked data planes whose last report came after
	// the bake ended: the wave is promoted once all have, so the verdict
	// covers the whole bake.
	Reported int `json:"reported"`
	// Requests and Errors5xx are the wave's traffic on the revision.
	Requests  int64 `json:"requests"`
	Errors5xx int64 `json:"errors_5xx"`
}

// current returns the rollout in progress, nil when none is.
func (s *State) current() *Rollout {
	if len(s.Rollouts) > 0 && s.Rollouts[0].State == StateInProgress {
		return &s.Rollouts[0]
	}
	return nil
}

// find returns the rollout of revision rev, nil when there is none.
func (s *State) find(rev int64) *Rollout {
	for i := range s.Rollouts {
		if s.Rollouts[i].Revision == rev {
			return &s.Rollouts[i]
		}
	}
	return nil
}

func (s *State) push(r Rollout) {
	s.Rollouts = append([]Rollout{r}, s.Rollouts...)
	if len(s.Rollouts) > maxRollouts {
		s.Rollouts = s.Rollouts[:maxRollouts]
	}
}

func sameSelectors(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
