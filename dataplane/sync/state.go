package sync

import (
	stdsync "sync"
	"time"

	"github.com/skyport-gw/skyport/dataplane/status"
	"github.com/skyport-gw/skyport/internal/protocol"
)

// States of the control plane connection.
const (
	cpConnected    = "connected"
	cpConnecting   = "connecting"
	cpDisconnected = "disconnected"
	cpDisabled     = "disabled"
)

// state is what SyncState reports, and the outcome heartbeats repeat.
type state struct {
	mu stdsync.Mutex
	s  status.SyncState
	// outcome is the last apply attempt's state, error and refused
	// revision, as a status message carries them.
	outcome protocol.Status
}

func (s *state) get() status.SyncState {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.s
}

func (s *state) setCP(cp string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.s.CP = cp
}

func (s *state) setError(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.s.LastError = err.Error()
}

// applied records a successful apply from source.
func (s *state) applied(source string, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.s.Source = source
	s.s.LastApply = at
	s.s.LastError = ""
	s.outcome = protocol.Status{State: protocol.StateApplied}
}

// rejected records a refused revision; remember marks it as not to be
// tried again until a newer one is announced.
func (s *state) rejected(rev int64, err error, remember bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.s.LastError = err.Error()
	if remember {
		s.s.RejectedRevision = rev
	}
	s.outcome = protocol.Status{State: protocol.StateRejected, Error: err.Error(), RejectedRevision: rev}
}

// refused reports whether rev was rejected and must not be tried again.
func (s *state) refused(rev int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return rev != 0 && rev == s.s.RejectedRevision
}

// lastOutcome returns the last apply attempt's outcome; applied when there
// was none.
func (s *state) lastOutcome() protocol.Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.outcome.State == "" {
		return protocol.Status{State: protocol.StateApplied}
	}
	return s.outcome
}
