package history

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/skyport-gw/skyport/internal/delta"
	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/internal/objstore"
	"github.com/skyport-gw/skyport/internal/snapshot"
)

// Errors of a Log's reads.
var (
	// ErrNotFound: no record of the revision exists (it was never
	// published, or is in the future).
	ErrNotFound = errors.New("revision not found in the history")
	// ErrExpired: the revision is past the retention and was, or is
	// about to be, pruned.
	ErrExpired = errors.New("revision expired from the history")
	// ErrNoSnapshot: the record exists but its snapshot does not (a
	// refused revision, or one pruned by a lifecycle rule).
	ErrNoSnapshot = errors.New("revision has no snapshot")
)

// Default retention: Kong has none; AWS AppConfig keeps 100 versions,
// API Gateway every deployment. A thousand revisions or 90 days, the
// first reached, keeps weeks of busy history and a quarter of a quiet one.
const (
	DefaultRetentionRevisions = 1000
	DefaultRetentionAge       = 90 * 24 * time.Hour
)

// maxRecord bounds a record's size when read.
const maxRecord = 64 << 10

// maxPruned bounds how many revisions one Prune removes, so a publication
// never waits on a large backlog; the next one continues.
const maxPruned = 100

// Retention is how much history is kept: at most Revisions revisions
// (counted back from the newest) and none older than Age.
type Retention struct {
	Revisions int
	Age       time.Duration
}

// DefaultRetention is DefaultRetentionRevisions or DefaultRetentionAge.
var DefaultRetention = Retention{Revisions: DefaultRetentionRevisions, Age: DefaultRetentionAge}

// expired reports whether revision rev, created at createdAt, is past r
// when newest is the newest revision, at now.
func (r Retention) expired(rev, createdAt, newest int64, now time.Time) bool {
	if r.Revisions > 0 && rev <= newest-int64(r.Revisions) {
		return true
	}
	return r.Age > 0 && createdAt > 0 && now.Sub(time.Unix(createdAt, 0)) > r.Age
}

// Log reads and writes the history in an object store.
type Log struct {
	objects   objstore.Store
	retention Retention
	now       func() time.Time
	// deltaPage is how many keys one listing of the deltas (or, for
	// Prune, of the records) asks for.
	deltaPage int
}

// New returns the history kept in objects; a zero retention field keeps
// its default, and now nil means time.Now.
func New(objects objstore.Store, r Retention, now func() time.Time) *Log {
	if r.Revisions == 0 {
		r.Revisions = DefaultRetentionRevisions
	}
	if r.Age == 0 {
		r.Age = DefaultRetentionAge
	}
	if now == nil {
		now = time.Now
	}
	return &Log{objects: objects, retention: r, now: now, deltaPage: 1000}
}

// Retention returns the log's retention.
func (l *Log) Retention() Retention { return l.retention }

// Put stores rec under its identity and revision, replacing a record of
// the same revision (a refused revision published after all).
func (l *Log) Put(ctx context.Context, rec Record) error {
	data, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encoding the record of revision %d: %w", rec.Revision, err)
	}
	key := Key(rec.Identity(), rec.Revision)
	if _, err := l.objects.Put(ctx, key, data, objstore.Condition{}); err != nil {
		return fmt.Errorf("writing %s: %w", key, err)
	}
	return nil
}

// Update rewrites revision rev's record of identity id with change,
// only over the record read (If-Match on its ETag): change reports
// whether it changed the record. A record gone or rewritten meanwhile (a
// Prune, another publisher) is left as it is: ErrNotFound or
// objstore.ErrPrecondition.
func (l *Log) Update(ctx context.Context, id snapshot.Identity, rev int64, change func(*Record) bool) error {
	key := Key(id, rev)
	rec, etag, err := l.readTagged(ctx, key)
	if errors.Is(err, objstore.ErrNotFound) {
		return fmt.Errorf("revision %d: %w", rev, ErrNotFound)
	}
	if err != nil {
		return err
	}
	if rec.Revision != rev || rec.Identity() != id {
		return fmt.Errorf("reading %s: it holds revision %d of %s", key, rec.Revision, rec.Identity())
	}
	if !change(&rec) {
		return nil
	}
	data, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encoding the record of revision %d: %w", rev, err)
	}
	if _, err := l.objects.Put(ctx, key, data, objstore.Condition{IfMatch: etag}); err != nil {
		if errors.Is(err, objstore.ErrNotFound) {
			err = objstore.ErrPrecondition // S3's answer to If-Match on a key gone
		}
		return fmt.Errorf("writing %s: %w", key, err)
	}
	return nil
}

// Get returns revision rev's record of identity id; ErrExpired when it is
// past the retention (newest is the newest revision), ErrNotFound when
// there is none.
func (l *Log) Get(ctx context.Context, id snapshot.Identity, rev, newest int64) (Record, error) {
	rec, err := l.read(ctx, Key(id, rev))
	if errors.Is(err, objstore.ErrNotFound) {
		if l.pruned(ctx, id, rev, newest) {
			return Record{}, fmt.Errorf("revision %d: %w", rev, ErrExpired)
		}
		return Record{}, fmt.Errorf("revision %d: %w", rev, ErrNotFound)
	}
	if err != nil {
		return Record{}, err
	}
	if l.retention.expired(rec.Revision, rec.CreatedAt, newest, l.now()) {
		return Record{}, fmt.Errorf("revision %d: %w", rev, ErrExpired)
	}
	return rec, nil
}

func (l *Log) read(ctx context.Context, key string) (Record, error) {
	rec, _, err := l.readTagged(ctx, key)
	return rec, err
}

// readTagged is read that also returns the record's ETag.
func (l *Log) readTagged(ctx context.Context, key string) (Record, string, error) {
	data, etag, err := objstore.GetMax(ctx, l.objects, key, maxRecord)
	if err != nil {
		return Record{}, "", err
	}
	var rec Record
	if err := json.Unmarshal(data, &rec); err != nil {
		return Record{}, "", fmt.Errorf("reading %s: %w", key, err)
	}
	return rec, etag, nil
}

// pruned reports whether revision rev, which has no record, had one
// removed: it is past the count, or older than the oldest record kept,
// which was not the first one published (its Since names an older one).
// Pruning (Prune, or a bucket's lifecycle rule) removes the oldest first.
func (l *Log) pruned(ctx context.Context, id snapshot.Identity, rev, newest int64) bool {
	if rev < 1 || rev > newest {
		return false
	}
	if rev <= newest-int64(l.retention.Revisions) {
		return true
	}
	revs, err := l.oldestRevisions(ctx, id, 1)
	if err != nil || len(revs) == 0 {
		return false
	}
	if rev > revs[0] {
		return false
	}
	oldest, err := l.read(ctx, Key(id, revs[0]))
	return err == nil && oldest.Since > 0
}

// List returns the records of identity id within the retention, newest
// first: at most size of them, starting below revision before (0: from
// the newest). next is the revision to pass as before for the following
// page, 0 on the last. The page's records are read concurrently.
func (l *Log) List(ctx context.Context, id snapshot.Identity, newest int64, before int64, size int) (recs []Record, next int64, err error) {
	revs, err := l.revisions(ctx, id)
	if err != nil {
		return nil, 0, err
	}
	var page []int64
	more := false
	for i := len(revs) - 1; i >= 0; i-- {
		if before > 0 && revs[i] >= before {
			continue
		}
		if len(page) == size {
			more = true
			break
		}
		page = append(page, revs[i])
	}
	read, err := l.readAll(ctx, id, page)
	if err != nil {
		return nil, 0, err
	}
	now := l.now()
	for _, rec := range read {
		if rec == nil {
			continue // pruned while listed
		}
		if l.retention.expired(rec.Revision, rec.CreatedAt, newest, now) {
			return recs, 0, nil
		}
		recs = append(recs, *rec)
	}
	if more && len(recs) > 0 {
		next = recs[len(recs)-1].Revision
	}
	return recs, next, nil
}

// listConcurrency bounds the records List reads at once.
const listConcurrency = 16

// readAll reads the records of revs, in order; nil for one gone.
func (l *Log) readAll(ctx context.Context, id snapshot.Identity, revs []int64) ([]*Record, error) {
	out := make([]*Record, len(revs))
	errs := make([]error, len(revs))
	sem := make(chan struct{}, listConcurrency)
	var wg sync.WaitGroup
	for i, rev := range revs {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			rec, err := l.read(ctx, Key(id, rev))
			switch {
			case errors.Is(err, objstore.ErrNotFound):
			case err != nil:
				errs[i] = err
			default:
				out[i] = &rec
			}
		})
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

// revisions lists the revisions identity id has records of, ascending.
func (l *Log) revisions(ctx context.Context, id snapshot.Identity) ([]int64, error) {
	p := prefix(id)
	keys, err := l.objects.List(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", p, err)
	}
	revs := recordRevisions(p, keys, nil)
	sort.Slice(revs, func(i, j int) bool { return revs[i] < revs[j] })
	return revs, nil
}

// oldestRevisions lists the n oldest revisions identity id has records
// of, ascending, a page at a time (objstore.ListPage): record keys sort
// by revision, 20 digits each.
func (l *Log) oldestRevisions(ctx context.Context, id snapshot.Identity, n int) ([]int64, error) {
	p := prefix(id)
	var revs []int64
	after := ""
	for len(revs) < n {
		keys, err := objstore.ListPage(ctx, l.objects, p, after, l.deltaPage)
		if err != nil {
			return nil, fmt.Errorf("listing %s: %w", p, err)
		}
		revs = recordRevisions(p, keys, revs)
		if len(keys) < l.deltaPage {
			break
		}
		after = keys[len(keys)-1]
	}
	return revs[:min(n, len(revs))], nil
}

// recordRevisions appends to revs the revisions of the record keys below
// prefix p, in the keys' order; other keys are skipped.
func recordRevisions(p string, keys []string, revs []int64) []int64 {
	for _, k := range keys {
		name := strings.TrimPrefix(k, p)
		if strings.Contains(name, "/") || !strings.HasSuffix(name, ".json") {
			continue
		}
		if rev, err := strconv.ParseInt(strings.TrimSuffix(name, ".json"), 10, 64); err == nil && len(name) == 25 {
			revs = append(revs, rev)
		}
	}
	return revs
}

// Config returns the configuration of revision rev of identity id, read
// from its snapshot (bounded as data planes bound it); for a revision
// published as deltas only, from the full snapshot its record names with
// the chain of deltas applied, each result's hash checked.
func (l *Log) Config(ctx context.Context, id snapshot.Identity, rev int64) (*model.Config, error) {
	cfg, err := l.snapshotConfig(ctx, id, rev)
	if !errors.Is(err, ErrNoSnapshot) {
		return cfg, err
	}
	rec, rerr := l.read(ctx, Key(id, rev))
	if rerr != nil || rec.Full == 0 || len(rec.Chain) == 0 {
		return nil, err
	}
	if cfg, err = l.snapshotConfig(ctx, id, rec.Full); err != nil {
		return nil, err
	}
	digest, err := snapshot.DigestOf(cfg)
	if err != nil {
		return nil, fmt.Errorf("revision %d: %w", rev, err)
	}
	at := rec.Full
	for _, ref := range rec.Chain {
		if ref.Key != snapshot.DeltaKey(id, ref.Base, ref.Revision) {
			return nil, fmt.Errorf("revision %d: %w: chained delta key %q", rev, snapshot.ErrCorrupt, ref.Key)
		}
		data, _, err := objstore.GetMax(ctx, l.objects, ref.Key, snapshot.MaxStored)
		if errors.Is(err, objstore.ErrNotFound) {
			return nil, fmt.Errorf("revision %d: %w (delta %s expired)", rev, ErrNoSnapshot, ref.Key)
		}
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", ref.Key, err)
		}
		if sum := sha256.Sum256(data); int64(len(data)) != ref.Size || hex.EncodeToString(sum[:]) != ref.SHA256 {
			return nil, fmt.Errorf("reading %s: %w: not the delta its record names", ref.Key, snapshot.ErrCorrupt)
		}
		doc, err := delta.Decode(data)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", ref.Key, err)
		}
		if doc.Identity() != id {
			return nil, fmt.Errorf("reading %s: %w", ref.Key, snapshot.ErrRevision)
		}
		if cfg, digest, err = delta.ApplyDigest(cfg, digest, at, doc); err != nil {
			return nil, fmt.Errorf("revision %d: %w", rev, err)
		}
		at = doc.Revision
	}
	if at != rev {
		return nil, fmt.Errorf("revision %d: %w: its chain ends at %d", rev, snapshot.ErrCorrupt, at)
	}
	return cfg, nil
}

// snapshotConfig returns the configuration of revision rev's own
// snapshot.
func (l *Log) snapshotConfig(ctx context.Context, id snapshot.Identity, rev int64) (*model.Config, error) {
	key := id.Key(rev)
	data, _, err := objstore.GetMax(ctx, l.objects, key, snapshot.MaxStored)
	if errors.Is(err, objstore.ErrNotFound) {
		return nil, fmt.Errorf("revision %d: %w", rev, ErrNoSnapshot)
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", key, err)
	}
	doc, err := snapshot.Decode(data)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", key, err)
	}
	if doc.Revision != rev || doc.Identity() != id {
		return nil, fmt.Errorf("reading %s: %w: document holds revision %d of %s", key, snapshot.ErrRevision, doc.Revision, doc.Identity())
	}
	return &doc.Config, nil
}

// Prune removes the records and snapshots of identity id past the
// retention, newest being the newest revision, at most maxPruned a call,
// and never the snapshot latest.json names (keep). A full snapshot that
// a revision still within the retention is rebuilt from (its record's
// Full) is kept, with the revisions after it, until no such revision is
// left; the deltas of the revisions removed go with them. It reports how
// many revisions it removed.
func (l *Log) Prune(ctx context.Context, id snapshot.Identity, newest, keep int64) (int, error) {
	// The oldest records: those it may remove, the ones needed reads
	// after them, and the first kept.
	revs, err := l.oldestRevisions(ctx, id, maxPruned+2*snapshot.MaxChain+4)
	if err != nil {
		return 0, err
	}
	now := l.now()
	var gone []int64
	for _, rev := range revs {
		if rev >= keep || len(gone) == maxPruned {
			break
		}
		expired := l.retention.Revisions > 0 && rev <= newest-int64(l.retention.Revisions)
		if !expired {
			rec, err := l.read(ctx, Key(id, rev))
			if err != nil && !errors.Is(err, objstore.ErrNotFound) {
				return 0, err
			}
			expired = err != nil || l.retention.expired(rec.Revision, rec.CreatedAt, newest, now)
		}
		if !expired {
			break // records are in revision order, so in time order
		}
		gone = append(gone, rev)
	}
	if len(gone) == 0 {
		return 0, nil
	}
	need, err := l.needed(ctx, id, revs[len(gone):], gone[len(gone)-1])
	if err != nil {
		return 0, err
	}
	// cut is the oldest revision kept: every delta below it is needed by
	// no chain that is kept.
	cut := keep
	if len(revs) > len(gone) {
		cut = min(cut, revs[len(gone)])
	}
	if need > 0 {
		cut = min(cut, need)
		for len(gone) > 0 && gone[len(gone)-1] >= need {
			gone = gone[:len(gone)-1]
		}
	}
	// The snapshot goes first: a record without one reads as expired.
	for _, rev := range gone {
		if err := l.objects.Delete(ctx, id.Key(rev)); err != nil {
			return 0, fmt.Errorf("deleting %s: %w", id.Key(rev), err)
		}
		if err := l.objects.Delete(ctx, Key(id, rev)); err != nil {
			return 0, fmt.Errorf("deleting %s: %w", Key(id, rev), err)
		}
	}
	if err := l.pruneDeltas(ctx, id, cut); err != nil {
		return 0, err
	}
	return len(gone), nil
}

// needed returns the oldest full snapshot, at or below last, that a
// revision of later (the records kept, ascending) is rebuilt from; 0 when
// none is. A chain holds at most snapshot.MaxChain deltas and chains
// follow one another, so the records after the first published full
// one need nothing older.
func (l *Log) needed(ctx context.Context, id snapshot.Identity, later []int64, last int64) (int64, error) {
	var need int64
	for i, rev := range later {
		if i > 2*snapshot.MaxChain+2 {
			break
		}
		rec, err := l.read(ctx, Key(id, rev))
		if errors.Is(err, objstore.ErrNotFound) {
			continue
		}
		if err != nil {
			return 0, err
		}
		if rec.State != StatePublished {
			continue
		}
		if rec.Full == 0 || len(rec.Chain) == 0 {
			break
		}
		if rec.Full <= last && (need == 0 || rec.Full < need) {
			need = rec.Full
		}
	}
	return need, nil
}

// maxPrunedDeltas bounds how many deltas one Prune removes.
const maxPrunedDeltas = 4 * maxPruned

// pruneDeltas removes identity id's deltas to revisions below cut. Their
// keys sort by base revision, and a delta's base is below its revision:
// the listing stops at the first base at or past cut, so a Prune lists
// the deltas it removes and those that straddle cut, not every delta.
func (l *Log) pruneDeltas(ctx context.Context, id snapshot.Identity, cut int64) error {
	p := snapshot.DeltaPrefix(id)
	n, after := 0, ""
	for {
		keys, err := objstore.ListPage(ctx, l.objects, p, after, l.deltaPage)
		if err != nil {
			return fmt.Errorf("listing %s: %w", p, err)
		}
		for _, k := range keys {
			base, rev, ok := parseDeltaName(strings.TrimPrefix(k, p))
			if ok && base >= cut {
				return nil
			}
			if !ok || rev >= cut || k != snapshot.DeltaKey(id, base, rev) {
				continue
			}
			if n == maxPrunedDeltas {
				return nil
			}
			if err := l.objects.Delete(ctx, k); err != nil {
				return fmt.Errorf("deleting %s: %w", k, err)
			}
			n++
		}
		if len(keys) < l.deltaPage {
			return nil
		}
		after = keys[len(keys)-1]
	}
}

// parseDeltaName reads "<base, 20 digits>-<rev, 20 digits>.json.gz".
func parseDeltaName(name string) (base, rev int64, ok bool) {
	b, r, found := strings.Cut(strings.TrimSuffix(name, ".json.gz"), "-")
	if !found || len(b) != 20 || len(r) != 20 || !strings.HasSuffix(name, ".json.gz") {
		return 0, 0, false
	}
	base, err1 := strconv.ParseInt(b, 10, 64)
	rev, err2 := strconv.ParseInt(r, 10, 64)
	return base, rev, err1 == nil && err2 == nil
}

// Latest returns the pointer latest.json holds (bounded as data planes
// bound it), the zero pointer when nothing is published yet.
func (l *Log) Latest(ctx context.Context) (snapshot.Pointer, error) {
	data, _, err := objstore.GetMax(ctx, l.objects, snapshot.LatestKey, snapshot.MaxPointer)
	if errors.Is(err, objstore.ErrNotFound) {
		return snapshot.Pointer{}, nil
	}
	if err != nil {
		return snapshot.Pointer{}, fmt.Errorf("reading %s: %w", snapshot.LatestKey, err)
	}
	var p snapshot.Pointer
	if err := json.Unmarshal(data, &p); err != nil {
		return snapshot.Pointer{}, fmt.Errorf("reading %s: %w", snapshot.LatestKey, err)
	}
	if err := p.Identity().Check(); err != nil {
		return snapshot.Pointer{}, fmt.Errorf("reading %s: %w", snapshot.LatestKey, err)
	}
	return p, nil
}

// ParseRetention reads a retention from its text forms (a count of
// revisions, a Go duration), as the Lambdas' environment carries them;
// an empty value keeps the default.
func ParseRetention(revisions, age string) (Retention, error) {
	r := DefaultRetention
	if revisions != "" {
		n, err := strconv.Atoi(revisions)
		if err != nil || n < 1 {
			return r, fmt.Errorf("history retention: %q is not a number of revisions of 1 or more", revisions)
		}
		r.Revisions = n
	}
	if age != "" {
		d, err := time.ParseDuration(age)
		if err != nil || d <= 0 {
			return r, fmt.Errorf("history retention: %q is not a positive duration", age)
		}
		r.Age = d
	}
	return r, nil
}
