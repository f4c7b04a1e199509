package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/skyport-gw/skyport/internal/model"
)

// ErrLogGap is returned by ChangedSince when the change log cannot tell
// what changed after a revision: a ReplaceAll (or a generation swap) lies
// in between, the entries have expired (past LogRetention), or they were
// never written (revisions older than the log). The caller reads the whole
// configuration instead (Export).
var ErrLogGap = errors.New("the change log does not cover the revisions asked for")

// LogRetention is how many revisions the embedded store's change log
// keeps; on DynamoDB an entry expires by TTL after LogTTL.
const LogRetention = 100_000

// MaxLoggedRefs bounds the entities one change-log entry names; a write
// touching more (a cascade of thousands of credentials) logs itself as a
// whole replacement, as ReplaceAll does.
const MaxLoggedRefs = 2_000

// EntityRef names one entity.
type EntityRef struct {
	Kind model.Kind `json:"kind"`
	ID   string     `json:"id"`
}

// LogEntry is the change-log entry of one revision, written in the
// transaction that commits it: the entities the revision stored and those
// it deleted (their tombstones), or Full when it replaced the whole
// configuration (ChangedSince across it is ErrLogGap).
type LogEntry struct {
	Full    bool        `json:"full,omitempty"`
	Upserts []EntityRef `json:"upserts,omitempty"`
	Deletes []EntityRef `json:"deletes,omitempty"`
}

// LogBuilder collects a transaction's writes into its LogEntry: the last
// operation on an entity wins (an update is a removal and an insert).
type LogBuilder struct {
	full bool
	ops  map[EntityRef]bool // true: stored, false: deleted
}

// Upsert records that e was stored.
func (b *LogBuilder) Upsert(k model.Kind, id string) { b.op(EntityRef{k, id}, true) }

// Delete records that the entity was deleted.
func (b *LogBuilder) Delete(k model.Kind, id string) { b.op(EntityRef{k, id}, false) }

// Replace records that the whole configuration was replaced.
func (b *LogBuilder) Replace() { b.full, b.ops = true, nil }

func (b *LogBuilder) op(r EntityRef, stored bool) {
	if b.full {
		return
	}
	if b.ops == nil {
		b.ops = make(map[EntityRef]bool)
	}
	b.ops[r] = stored
	if len(b.ops) > MaxLoggedRefs {
		b.Replace()
	}
}

// Entry returns the collected entry, its lists sorted.
func (b *LogBuilder) Entry() LogEntry {
	if b.full {
		return LogEntry{Full: true}
	}
	var e LogEntry
	for r, stored := range b.ops {
		if stored {
			e.Upserts = append(e.Upserts, r)
		} else {
			e.Deletes = append(e.Deletes, r)
		}
	}
	sortRefs(e.Upserts)
	sortRefs(e.Deletes)
	return e
}

func sortRefs(rs []EntityRef) {
	slices.SortFunc(rs, func(a, b EntityRef) int {
		if a.Kind != b.Kind {
			if a.Kind < b.Kind {
				return -1
			}
			return 1
		}
		switch {
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	})
}

// EncodeLogEntry and DecodeLogEntry are the stored form of an entry.
func EncodeLogEntry(e LogEntry) ([]byte, error) {
	b, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("encoding a change-log entry: %w", err)
	}
	return b, nil
}

// DecodeLogEntry decodes an entry EncodeLogEntry wrote.
func DecodeLogEntry(data []byte) (LogEntry, error) {
	var e LogEntry
	if err := json.Unmarshal(data, &e); err != nil {
		return LogEntry{}, fmt.Errorf("decoding a change-log entry: %w", err)
	}
	return e, nil
}

// ChangeSet is what changed after revision Base up to Revision, read
// consistently at Revision: every entity a revision in (Base, Revision]
// stored or deleted, as it is at Revision.
type ChangeSet struct {
	Base     int64
	Revision int64
	// Upserts holds the entities written after Base that exist at
	// Revision, whole.
	Upserts model.Config
	// Deletes lists, by kind, the ids of the entities deleted after Base
	// that are absent at Revision (sorted). An entity created and deleted
	// within the range is listed too: deleting an absent id is harmless.
	Deletes map[model.Kind][]string
}

// Touched is the set of entities a run of log entries names.
type Touched map[EntityRef]struct{}

// Add adds the entities e names; a Full entry is ErrLogGap.
func (t Touched) Add(rev int64, e LogEntry) error {
	if e.Full {
		return fmt.Errorf("revision %d replaced the configuration: %w", rev, ErrLogGap)
	}
	for _, r := range e.Upserts {
		t[r] = struct{}{}
	}
	for _, r := range e.Deletes {
		t[r] = struct{}{}
	}
	return nil
}

// Assemble builds the change set of the touched entities from their state
// at rev: get returns an entity, nil when it is absent.
func (t Touched) Assemble(base, rev int64, get func(EntityRef) (model.Entity, error)) (*ChangeSet, error) {
	cs := &ChangeSet{Base: base, Revision: rev}
	for r := range t {
		e, err := get(r)
		if err != nil {
			return nil, err
		}
		if e != nil {
			cs.Upserts.Add(e)
			continue
		}
		if cs.Deletes == nil {
			cs.Deletes = make(map[model.Kind][]string)
		}
		cs.Deletes[r.Kind] = append(cs.Deletes[r.Kind], r.ID)
	}
	cs.Upserts.Sort()
	for _, ids := range cs.Deletes {
		slices.Sort(ids)
	}
	return cs, nil
}
