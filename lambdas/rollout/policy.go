// Package rollout is the staged rollout: a policy of waves (label
// selectors with a bake time) and halt conditions, and the controller
// that releases each published revision to one wave after another,
// halts on a condition and rolls the waves back to the last revision
// every wave ran.
//
// Everything lives in the object store beside latest.json: the policy
// (rollout/policy.json, written by the Admin API), the controller's state
// (rollout/state.json: the rollouts, current and past) and released.json
// (package wave), which data planes read. Every write is conditional on
// the ETag read. The controller is a Step function, run after every
// publication, on a timer (every second locally, every minute in AWS)
// and after the Admin API's promote and halt.
package rollout

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/skyport-gw/skyport/internal/wave"
)

// Keys of the rollout's objects below the prefix.
const (
	PolicyKey = "rollout/policy.json"
	StateKey  = "rollout/state.json"
)

// Bounds of a policy.
const (
	maxBakeSeconds = 7 * 24 * 3600
	maxAckTimeout  = 24 * 3600
	maxPolicyBytes = 64 << 10
)

// Policy is the body of PUT /config/rollout-policy.
type Policy struct {
	// Waves are released in order; a data plane belongs to the first
	// whose selector matches its labels, else to the last.
	Waves []WaveSpec `json:"waves"`
	// HaltOn are the conditions that stop a rollout.
	HaltOn HaltOn `json:"halt_on"`
}

// WaveSpec is one wave of a policy.
type WaveSpec struct {
	// Selector is "key:value" (a data-plane label) or "*".
	Selector string `json:"selector"`
	// BakeSeconds is how long the wave runs a revision, without a halt
	// condition, before the next wave gets it.
	BakeSeconds int64 `json:"bake_seconds"`
}

// HaltOn are a policy's halt conditions.
type HaltOn struct {
	// Rejected halts when any data plane of a released wave rejects the
	// revision.
	Rejected bool `json:"rejected"`
	// ErrorRatio5xx halts when a released wave's proxied requests answered
	// 5xx since it applied the revision exceed this share (0 disables it);
	// read once the wave served MinRequests.
	ErrorRatio5xx float64 `json:"error_ratio_5xx"`
	// MinAckShare is the share of a wave's data planes that must run the
	// revision before the next wave gets it; fewer after AckTimeoutSeconds
	// halts the rollout.
	MinAckShare       float64 `json:"min_ack_share"`
	AckTimeoutSeconds int64   `json:"ack_timeout_seconds"`
}

// MinRequests is how many requests a wave must have served since it
// applied a revision before its 5xx ratio is read.
const MinRequests = 10

// ErrPolicy reports a policy that does not hold together.
var ErrPolicy = errors.New("invalid rollout policy")

// PolicyError lists a policy's problems by field, as Kong's schema
// violations do.
type PolicyError struct {
	Fields map[string]string
}

func (e *PolicyError) Error() string { return fmt.Sprintf("%s: %v", ErrPolicy, e.Fields) }

// Unwrap makes errors.Is(err, ErrPolicy) hold.
func (e *PolicyError) Unwrap() error { return ErrPolicy }

// ParsePolicy decodes and checks a policy: strict JSON (unknown fields
// refused), at most wave.MaxWaves waves with distinct, well-formed
// selectors, bake times of 0 to 7 days, ratios and shares of 0 to 1, an
// acknowledgement timeout of 0 to 1 day.
func ParsePolicy(r io.Reader) (Policy, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxPolicyBytes+1))
	if err != nil {
		return Policy{}, fmt.Errorf("reading the policy: %w", err)
	}
	if len(data) > maxPolicyBytes {
		return Policy{}, &PolicyError{Fields: map[string]string{"@entity": "the policy is larger than 64 KiB"}}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var p Policy
	if err := dec.Decode(&p); err != nil {
		return Policy{}, &PolicyError{Fields: map[string]string{"@entity": "cannot parse the policy: " + err.Error()}}
	}
	return p, p.Check()
}

// Check validates the policy.
func (p Policy) Check() error {
	f := map[string]string{}
	switch {
	case len(p.Waves) == 0:
		f["waves"] = "at least one wave is required"
	case len(p.Waves) > wave.MaxWaves:
		f["waves"] = fmt.Sprintf("at most %d waves", wave.MaxWaves)
	}
	seen := map[string]bool{}
	for i, w := range p.Waves {
		key := fmt.Sprintf("waves.%d", i+1)
		if err := wave.CheckSelector(w.Selector); err != nil {
			f[key+".selector"] = `expected "key:value" or "*"`
		} else if seen[w.Selector] {
			f[key+".selector"] = "selector " + w.Selector + " appears twice"
		}
		seen[w.Selector] = true
		if w.BakeSeconds < 0 || w.BakeSeconds > maxBakeSeconds {
			f[key+".bake_seconds"] = fmt.Sprintf("value should be between 0 and %d", maxBakeSeconds)
		}
	}
	share := func(name string, v float64) {
		if math.IsNaN(v) || v < 0 || v > 1 {
			f["halt_on."+name] = "value should be between 0 and 1"
		}
	}
	share("error_ratio_5xx", p.HaltOn.ErrorRatio5xx)
	share("min_ack_share", p.HaltOn.MinAckShare)
	if p.HaltOn.AckTimeoutSeconds < 0 || p.HaltOn.AckTimeoutSeconds > maxAckTimeout {
		f["halt_on.ack_timeout_seconds"] = fmt.Sprintf("value should be between 0 and %d", maxAckTimeout)
	}
	if len(f) > 0 {
		return &PolicyError{Fields: f}
	}
	return nil
}

// selectors lists the policy's selectors in order.
func (p Policy) selectors() []string {
	out := make([]string, len(p.Waves))
	for i, w := range p.Waves {
		out[i] = w.Selector
	}
	return out
}

// PolicyFromEnv reads a default policy from its JSON text, as the
// Lambdas' environment carries it; nil for an empty text.
func PolicyFromEnv(text string) (*Policy, error) {
	if text == "" {
		return nil, nil
	}
	p, err := ParsePolicy(strings.NewReader(text))
	if err != nil {
		return nil, fmt.Errorf("SKYPORT_ROLLOUT_POLICY: %w", err)
	}
	return &p, nil
}
