package declarative

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/skyport-gw/skyport/internal/model"
)

// idNamespace is the UUID v5 namespace of generated ids.
var idNamespace = uuid.MustParse("4a1c8f52-6d3b-5e0a-9c77-2b8e51f0d6a3")

// resolve processes kinds in dependency order: references (already
// resolvable, since they point to earlier kinds) are set, the entity is
// normalized and gets its id, then every entity is validated and the
// cross-entity rules are checked.
func (p *parser) resolve() *model.Config {
	index := map[model.Kind]map[string]string{}
	for _, k := range model.Kinds {
		idx := map[string]string{}
		index[k] = idx
		for _, it := range p.items[k] {
			for _, r := range it.refs {
				if id, ok := p.lookup(index, it, r); ok {
					setRef(it.e, r.field, id)
				}
			}
			key := naturalKey(it)
			it.e.Normalize()
			if it.e.Meta().ID == "" {
				it.e.Meta().ID = uuid.NewSHA1(idNamespace, []byte(string(k)+"\x00"+key)).String()
			}
			idx[it.e.Meta().ID] = it.e.Meta().ID
		}
		for _, it := range p.items[k] {
			for _, n := range names(it.e) {
				if _, taken := idx[n]; !taken {
					idx[n] = it.e.Meta().ID
				}
			}
		}
	}
	cfg := &model.Config{}
	for _, k := range model.Kinds {
		p.checkUnique(k)
		for _, it := range p.items[k] {
			p.validate(it)
			cfg.Add(it.e)
		}
	}
	return cfg
}

// lookup resolves one reference, reporting it when dangling.
func (p *parser) lookup(index map[model.Kind]map[string]string, it *item, r pendingRef) (string, bool) {
	if r.value == "" {
		if r.parent == nil {
			return "", false
		}
		return r.parent.e.Meta().ID, true
	}
	id, ok := index[r.kind][r.value]
	if !ok {
		p.errs.add(r.path(it), "invalid reference '%s: %s' (no such entry in '%s')", r.field, r.value, r.kind)
		return "", false
	}
	if r.parent != nil && id != r.parent.e.Meta().ID {
		p.errs.add(r.path(it), "does not match the enclosing %s", strings.TrimSuffix(string(r.kind), "s"))
		return "", false
	}
	return id, true
}

// naturalKey is what a generated id derives from: the entity's unique
// keys when it has any that the document gave, its path otherwise.
func naturalKey(it *item) string {
	switch v := it.e.(type) {
	case *model.KeyAuth:
		if v.Key == "" {
			return "@" + it.path()
		}
	case *model.JWTSecret:
		if v.Key == "" {
			return "@" + it.path()
		}
	case *model.CACertificate:
		sum := sha256.Sum256([]byte(v.Cert))
		return hex.EncodeToString(sum[:])
	}
	var parts []string
	for _, u := range it.e.UniqueKeys() {
		parts = append(parts, u.Field+"="+u.Value)
	}
	if len(parts) == 0 {
		return "@" + it.path()
	}
	return strings.Join(parts, "\x00")
}

// validate runs the entity's own checks, reporting each field at its path.
func (p *parser) validate(it *item) {
	if c, ok := it.e.(*model.BasicAuth); ok && len(c.Password) > 72 && !model.IsPasswordHash(c.Password) {
		p.errs.add(it.path()+".password", "length must be at most 72")
	}
	err := it.e.Validate()
	if err == nil {
		return
	}
	var me *model.Error
	if !errors.As(err, &me) {
		p.errs.add(it.path(), "%s", err.Error())
		return
	}
	for field, msg := range flatten("", me.Fields) {
		if field == "@entity" || field == "@entity.0" {
			field = ""
		}
		p.errs.add(fieldPath(it.path(), field), "%s", msg)
	}
}

// flatten turns nested model error fields back into dotted paths. The
// model reports array elements as arrays (Kong's format); their indices
// become 0-based, as the declarative paths count them ("paths[0]").
func flatten(prefix string, fields map[string]any) map[string]string {
	out := map[string]string{}
	for k, v := range fields {
		key := k
		if prefix != "" {
			key = prefix + "." + k
		}
		switch t := v.(type) {
		case map[string]any:
			for kk, vv := range flatten(key, t) {
				out[kk] = vv
			}
		case []any:
			elems := make(map[string]any, len(t))
			for i, el := range t {
				if el != nil {
					elems[strconv.Itoa(i)] = el
				}
			}
			for kk, vv := range flatten(key, elems) {
				out[kk] = vv
			}
		default:
			out[key] = fmt.Sprint(t)
		}
	}
	return out
}

// checkUnique reports duplicate ids and unique-key collisions among the
// entities of kind k.
func (p *parser) checkUnique(k model.Kind) {
	ids := map[string]bool{}
	keys := map[string]bool{}
	for _, it := range p.items[k] {
		id := it.e.Meta().ID
		if ids[id] && it.explicitID {
			p.errs.add(it.path()+".id", "uniqueness violation: '%s' entity with primary key set to '%s' already declared", k, id)
		}
		ids[id] = true
		for _, u := range it.e.UniqueKeys() {
			full := u.Field + "\x00" + u.Value
			if keys[full] {
				field, shown := displayKey(it.e, u)
				if k == model.KindKeyAuth {
					// An API key is a secret: never echo it.
					p.errs.add(it.path()+"."+field, "uniqueness violation: '%s' entity with the same %s already declared", k, field)
					continue
				}
				p.errs.add(it.path()+"."+field, "uniqueness violation: '%s' entity with %s set to '%s' already declared", k, field, shown)
			}
			keys[full] = true
		}
	}
}

// displayKey names a unique key by a field of the entity and its
// unscoped value.
func displayKey(e model.Entity, u model.UniqueKey) (string, string) {
	switch v := e.(type) {
	case *model.Target:
		return "target", v.Target
	case *model.ACL:
		return "group", v.Group
	case *model.Plugin:
		if u.Field == "scope" {
			return "name", v.Name
		}
	}
	return u.Field, u.Value
}

// hashPasswords replaces plain basic-auth passwords, and oauth2 client
// secrets of credentials with hash_secret, by their hash.
func hashPasswords(cfg *model.Config) error {
	for _, c := range cfg.BasicAuths {
		if model.IsPasswordHash(c.Password) {
			continue
		}
		h, err := model.HashPassword(c.Password)
		if err != nil {
			return fmt.Errorf("basic-auth credential %s: %w", c.ID, err)
		}
		c.Password = h
	}
	for _, c := range cfg.OAuth2s {
		if !c.HashSecret || model.IsPasswordHash(c.ClientSecret) {
			continue
		}
		h, err := model.HashPassword(c.ClientSecret)
		if err != nil {
			return fmt.Errorf("oauth2 credential %s: %w", c.ID, err)
		}
		c.ClientSecret = h
	}
	return nil
}
