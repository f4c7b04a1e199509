package imports

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"

	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/internal/objstore"
	"github.com/skyport-gw/skyport/internal/snapshot"
)

// DefaultPartSize is how many entities one part of a job's rest holds.
const DefaultPartSize = 50_000

// maxPartBytes bounds a part when read back: 50,000 entities of the
// largest kinds compress far below it.
const maxPartBytes = 256 << 20

// part is one object of a job's rest: the entities left to stage when an
// invocation handed the job on, parsed and checked, so that the next
// invocations stage them without parsing the upload again.
type part struct {
	// Len is the number of entities it holds.
	Len int `json:"len"`
	// Size and SHA256 are its bytes', checked when it is read back.
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// partKey is the object of part k of the rest from entity from of job
// id's attempt that stages generation gen: an attempt never reads
// another's parts, and two runners of one attempt (a retried invocation
// beside the one it retries) that stopped at different entities never
// write over each other's.
func partKey(id, gen string, from, k int) string {
	return "imports/" + id + "/rest/" + gen + "/" + strconv.Itoa(from) + "-" + strconv.Itoa(k) + ".json.gz"
}

// keepRest writes entities, the rest of the job from rec.Written on, as
// parts, and records them in rec (saved by the caller). A failure leaves
// rec as it was: the next invocation parses the upload again.
func (x *run) keepRest(ctx context.Context, entities []model.Entity) error {
	var parts []part
	for k := 0; len(entities) > 0; k++ {
		n := min(x.opts.PartSize, len(entities))
		cfg := &model.Config{}
		for _, e := range entities[:n] {
			cfg.Add(e)
		}
		data, err := snapshot.Encode(&snapshot.Document{Format: snapshot.Format, Revision: int64(k), Config: *cfg})
		if err != nil {
			return fmt.Errorf("encoding part %d of the rest: %w", k, err)
		}
		key := partKey(x.rec.ID, x.rec.Generation, x.rec.Written, k)
		if _, err := x.opts.Objects.Put(ctx, key, data, objstore.Condition{}); err != nil {
			return fmt.Errorf("writing %s: %w", key, err)
		}
		sum := sha256.Sum256(data)
		parts = append(parts, part{Len: n, Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:])})
		entities = entities[n:]
	}
	x.rec.RestFrom, x.rec.Rest = x.rec.Written, parts
	return nil
}

// readPart returns the entities of part k of the job's rest, in the
// order they are staged, after checking its bytes against the record.
func (x *run) readPart(ctx context.Context, k int) ([]model.Entity, error) {
	p := x.rec.Rest[k]
	key := partKey(x.rec.ID, x.rec.Generation, x.rec.RestFrom, k)
	data, _, err := objstore.GetMax(ctx, x.opts.Objects, key, min(p.Size, maxPartBytes))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", key, err)
	}
	if sum := sha256.Sum256(data); int64(len(data)) != p.Size || hex.EncodeToString(sum[:]) != p.SHA256 {
		return nil, fmt.Errorf("reading %s: %w", key, errPartChanged)
	}
	doc, err := snapshot.Decode(data)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", key, err)
	}
	entities := make([]model.Entity, 0, p.Len)
	doc.Config.Each(func(e model.Entity) { entities = append(entities, e) })
	if len(entities) != p.Len || doc.Revision != int64(k) {
		return nil, fmt.Errorf("reading %s: %w", key, errPartChanged)
	}
	return entities, nil
}

// errPartChanged reports a part whose bytes are not the ones recorded.
var errPartChanged = errors.New("the part is not the one recorded")

// dropRest deletes the parts of the job's rest; they also expire with
// the job's folder.
func (x *run) dropRest(ctx context.Context) {
	for k := range x.rec.Rest {
		key := partKey(x.rec.ID, x.rec.Generation, x.rec.RestFrom, k)
		if err := x.opts.Objects.Delete(ctx, key); err != nil && !errors.Is(err, objstore.ErrNotFound) {
			x.log.WarnContext(ctx, "removing an import's part", "job", x.rec.ID, "key", key, "error", err)
		}
	}
}
