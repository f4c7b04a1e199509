// Package wave is what data planes and the control plane agree on for a
// staged rollout: a wave's label selector, and released.json, the
// pointer each wave may run, which the control plane writes beside
// latest.json and data planes read when they fall back to the object
// store or boot from it.
//
// A data plane belongs to the first wave whose selector its labels
// match, and to the last wave when none matches. Without released.json
// (no rollout policy), every data plane follows latest.json.
package wave

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/skyport-gw/skyport/internal/snapshot"
)

// ReleasedKey is released.json's key below the prefix.
const ReleasedKey = "released.json"

// MaxReleased bounds released.json when read.
const MaxReleased = 64 << 10

// MaxWaves bounds a policy's waves.
const MaxWaves = 16

// Any is the selector every data plane matches.
const Any = "*"

// ErrSelector reports a selector that is not "*" nor "key:value".
var ErrSelector = errors.New("invalid wave selector")

// CheckSelector refuses a selector that is not "*" nor "key:value" with
// a non-empty key and value (Kong's cluster_dp_labels format).
func CheckSelector(s string) error {
	if s == Any {
		return nil
	}
	k, v, ok := strings.Cut(s, ":")
	if !ok || k == "" || v == "" || strings.ContainsAny(s, ", \t") {
		return fmt.Errorf("%w: %q (want \"key:value\" or \"*\")", ErrSelector, s)
	}
	return nil
}

// Matches reports whether labels match selector s.
func Matches(s string, labels map[string]string) bool {
	if s == Any {
		return true
	}
	k, v, ok := strings.Cut(s, ":")
	return ok && labels[k] == v
}

// Index returns the wave of selectors that labels belong to: the first
// that matches, else the last; -1 when there are no waves.
func Index(selectors []string, labels map[string]string) int {
	for i, s := range selectors {
		if Matches(s, labels) {
			return i
		}
	}
	return len(selectors) - 1
}

// Released is released.json: for each wave of the policy in order, its
// selector and the pointer its data planes may run.
type Released struct {
	Waves []Wave `json:"waves"`
}

// Wave is one wave's entry in released.json.
type Wave struct {
	Selector string           `json:"selector"`
	Pointer  snapshot.Pointer `json:"pointer"`
}

// For returns the pointer released to a data plane with labels; false
// when there are no waves.
func (r Released) For(labels map[string]string) (snapshot.Pointer, bool) {
	sel := make([]string, len(r.Waves))
	for i, w := range r.Waves {
		sel[i] = w.Selector
	}
	i := Index(sel, labels)
	if i < 0 {
		return snapshot.Pointer{}, false
	}
	return r.Waves[i].Pointer, true
}

// Parse reads released.json, refusing a malformed one.
func Parse(data []byte) (Released, error) {
	var r Released
	if err := json.Unmarshal(data, &r); err != nil {
		return Released{}, fmt.Errorf("reading %s: %w: %w", ReleasedKey, snapshot.ErrCorrupt, err)
	}
	if len(r.Waves) == 0 || len(r.Waves) > MaxWaves {
		return Released{}, fmt.Errorf("reading %s: %w: %d waves", ReleasedKey, snapshot.ErrCorrupt, len(r.Waves))
	}
	for _, w := range r.Waves {
		if err := CheckSelector(w.Selector); err != nil {
			return Released{}, fmt.Errorf("reading %s: %w: %w", ReleasedKey, snapshot.ErrCorrupt, err)
		}
	}
	return r, nil
}
