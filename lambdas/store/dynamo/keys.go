package dynamo

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/lambdas/store"
)

type item = map[string]types.AttributeValue

func str(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }

func key(pk, sk string) item { return item{attrPK: str(pk), attrSK: str(sk)} }

func stringAttr(it item, name string) string {
	if v, ok := it[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

func entityPK(gen string, k model.Kind) string { return "G#" + gen + "#E#" + string(k) }
func uniquePK(gen string, k model.Kind) string { return "G#" + gen + "#U#" + string(k) }
func refPK(gen string, k model.Kind) string    { return "G#" + gen + "#R#" + string(k) }

func uniqueSK(u model.UniqueKey) string { return u.Field + "#" + u.Value }

// refSK is "<referenced id>#<referrer kind>#<referrer id>#<field>".
func refSK(r model.Reference, e model.Entity) string {
	return r.ID + "#" + string(e.Kind()) + "#" + e.Meta().ID + "#" + r.Field
}

func changeSK(rev int64) string { return fmt.Sprintf("%020d", rev) }

func entityKey(gen string, k model.Kind, id string) item { return key(entityPK(gen, k), id) }

func uniqueKey(gen string, k model.Kind, u model.UniqueKey) item {
	return key(uniquePK(gen, k), uniqueSK(u))
}

func refKey(gen string, r model.Reference, e model.Entity) item {
	return key(refPK(gen, r.Kind), refSK(r, e))
}

// generationPKs lists every partition of generation gen.
func generationPKs(gen string) []string {
	var out []string
	for _, k := range model.Kinds {
		out = append(out, entityPK(gen, k), uniquePK(gen, k), refPK(gen, k))
	}
	return out
}

// entityItem is the stored form of e in generation gen at version ver
// (the revision of the write; 0, no attribute, for a generation written
// aside).
func entityItem(gen string, e model.Entity, ver int64) (item, error) {
	b, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("encoding %s %s: %w", e.Kind(), e.Meta().ID, err)
	}
	it := entityKey(gen, e.Kind(), e.Meta().ID)
	it[attrData] = str(string(b))
	if ver > 0 {
		it[attrVersion] = num(ver)
	}
	return it, nil
}

func num(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}

// versioned is an entity as stored, with its version within its generation.
type versioned struct {
	model.Entity
	ver int64
}

func decodeItem(k model.Kind, it item) (model.Entity, error) {
	return store.DecodeEntity(k, []byte(stringAttr(it, attrData)))
}

// decodeVersioned decodes an entity item and its version.
func decodeVersioned(k model.Kind, it item) (versioned, error) {
	e, err := decodeItem(k, it)
	if err != nil {
		return versioned{}, err
	}
	v := versioned{Entity: e}
	if n, ok := it[attrVersion].(*types.AttributeValueMemberN); ok {
		if v.ver, err = strconv.ParseInt(n.Value, 10, 64); err != nil {
			return versioned{}, fmt.Errorf("reading the version of %s %s: %w", k, e.Meta().ID, err)
		}
	}
	return v, nil
}

// encodeVersion is the version a caller holds, "<generation>:<ver>": an
// entity read in a generation that a ReplaceAll has since replaced is out
// of date whatever its ver.
func encodeVersion(gen string, ver int64) store.Version {
	return store.Version(gen + ":" + strconv.FormatInt(ver, 10))
}

func uniqueItem(gen string, e model.Entity, u model.UniqueKey) item {
	it := uniqueKey(gen, e.Kind(), u)
	it[attrOwner] = str(e.Meta().ID)
	return it
}

// referrer is one entity pointing at another, parsed from a reference sk.
type referrer struct {
	kind  model.Kind
	id    string
	field string
}

// parseRefSK reads a reverse reference to refID; the referrer's id sits
// between its kind and the field, neither of which holds a '#'.
func parseRefSK(refID, sk string) (referrer, bool) {
	rest, ok := strings.CutPrefix(sk, refID+"#")
	if !ok {
		return referrer{}, false
	}
	kind, rest, ok := strings.Cut(rest, "#")
	if !ok {
		return referrer{}, false
	}
	i := strings.LastIndex(rest, "#")
	if i < 0 {
		return referrer{}, false
	}
	return referrer{model.Kind(kind), rest[:i], rest[i+1:]}, true
}

// uniqueRefs returns e's references without duplicates (a service may
// list a CA certificate twice); one transaction may touch an item once.
func uniqueRefs(e model.Entity) []model.Reference {
	seen := map[string]bool{}
	var out []model.Reference
	for _, r := range e.References() {
		k := string(r.Kind) + "#" + r.ID + "#" + r.Field
		if !seen[k] {
			seen[k] = true
			out = append(out, r)
		}
	}
	return out
}
