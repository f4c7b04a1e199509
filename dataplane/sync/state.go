package sync

import (
	"errors"
	stdsync "sync"
	"time"

	"github.com/skyport-gw/skyport/dataplane/status"
	"github.com/skyport-gw/skyport/internal/protocol"
	"github.com/skyport-gw/skyport/internal/snapshot"
)

// States of the control plane connection.
const (
	cpConnected    = "connected"
	cpConnecting   = "connecting"
	cpDisconnected = "disconnected"
	cpDisabled     = "disabled"
)

// States of the disk cache, as SyncState reports them.
const (
	cacheDisabled = "disabled"
	cacheEmpty    = "empty"
	cacheOK       = "ok"
	cacheLost     = "lost"
	cacheFailed   = "failed"
)

// maxRefused bounds how many refused snapshots are remembered.
const maxRefused = 8

// refusal names a refused snapshot: its revision and digest, so a forged
// announcement of a revision never keeps the genuine one out.
type refusal struct {
	revision int64
	sha256   string
}

// state is what SyncState reports, and the outcome heartbeats repeat.
type state struct {
	mu stdsync.Mutex
	s  status.SyncState
	// outcome is the last apply attempt's state, error and refused
	// revision, as a status message carries them.
	outcome protocol.Status
	// refused are the snapshots not to try again, newest last.
	refused []refusal
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

// applied records a successful apply from source of a snapshot of
// identity id.
func (s *state) applied(source string, at time.Time, id snapshot.Identity) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.s.Source = source
	s.s.LastApply = at
	s.s.LastError = ""
	s.s.Reason = ""
	s.s.ClusterID, s.s.Epoch = id.ClusterID, id.Epoch
	s.outcome = protocol.Status{State: protocol.StateApplied}
}

// delta counts a delta applied, or one that was not and sent the data
// plane to the full snapshot.
func (s *state) delta(applied bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if applied {
		s.s.Deltas++
	} else {
		s.s.DeltaFallbacks++
	}
}

// rejected records a refused snapshot; remember marks it as not to be
// tried again (the same revision with another digest still is).
func (s *state) rejected(p snapshot.Pointer, err error, remember bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.s.LastError = err.Error()
	if remember {
		s.s.RejectedRevision = p.Revision
		if len(s.refused) == maxRefused {
			s.refused = s.refused[1:]
		}
		s.refused = append(s.refused, refusal{p.Revision, p.SHA256})
	}
	s.outcome = protocol.Status{State: protocol.StateRejected, Error: err.Error(), RejectedRevision: p.Revision}
	s.s.Reason = ""
	if errors.Is(err, ErrClusterMismatch) {
		s.outcome.Reason = protocol.ReasonClusterMismatch
		s.s.Reason = protocol.ReasonClusterMismatch
	}
}

// isRefused reports whether the snapshot p names was refused and must not
// be tried again.
func (s *state) isRefused(p snapshot.Pointer) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.refused {
		if r.revision == p.Revision && r.sha256 == p.SHA256 {
			return true
		}
	}
	return false
}

// setCache records the disk cache's state and, for a lost or failed
// cache, why.
func (s *state) setCache(state string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.s.Cache, s.s.CacheError = state, ""
	if err != nil {
		s.s.CacheError = err.Error()
	}
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
