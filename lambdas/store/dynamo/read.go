package dynamo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/lambdas/store"
)

// exportAttempts bounds how often Export starts over because a write
// committed while it read.
const exportAttempts = 20

// maxSortKey is DynamoDB's limit on a sort key, in bytes: no item has a
// longer one, and asking for one is a validation error.
const maxSortKey = 1024

// get returns the entity of kind k with id in generation gen and its
// version; a nil Entity if absent.
func (s *Store) get(ctx context.Context, gen string, k model.Kind, id string) (versioned, error) {
	if id == "" || len(id) > maxSortKey {
		return versioned{}, nil
	}
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.table),
		Key:            entityKey(gen, k, id),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return versioned{}, fmt.Errorf("reading %s %s: %w", k, id, err)
	}
	if out.Item == nil {
		return versioned{}, nil
	}
	return decodeVersioned(k, out.Item)
}

// query calls fn for every item of partition pk whose sort key is after
// `after` (or begins with prefix), in order, until fn returns false.
func (s *Store) query(ctx context.Context, pk, after, prefix string, fn func(it item) (bool, error)) error {
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		KeyConditionExpression:    aws.String("pk = :pk"),
		ExpressionAttributeValues: item{":pk": str(pk)},
		ConsistentRead:            aws.Bool(true),
	}
	switch {
	case prefix != "":
		in.KeyConditionExpression = aws.String("pk = :pk AND begins_with(sk, :p)")
		in.ExpressionAttributeValues[":p"] = str(prefix)
	case after != "":
		in.KeyConditionExpression = aws.String("pk = :pk AND sk > :after")
		in.ExpressionAttributeValues[":after"] = str(after)
	}
	p := dynamodb.NewQueryPaginator(s.db, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("querying %s: %w", pk, err)
		}
		for _, it := range page.Items {
			more, err := fn(it)
			if err != nil || !more {
				return err
			}
		}
	}
	return nil
}

// referrers lists the entities pointing at (k, id).
func (s *Store) referrers(ctx context.Context, gen string, k model.Kind, id string) ([]referrer, error) {
	var out []referrer
	err := s.query(ctx, refPK(gen, k), "", id+"#", func(it item) (bool, error) {
		if r, ok := parseRefSK(id, stringAttr(it, attrSK)); ok {
			out = append(out, r)
		}
		return true, nil
	})
	return out, err
}

// generationAttempts bounds how often a read starts over because a
// ReplaceAll made another generation current while it read.
const generationAttempts = 3

// Get implements store.Store. For targets, idOrKey may also be
// "<upstream id>:<target>" or a bare target (the first by id).
func (s *Store) Get(ctx context.Context, k model.Kind, idOrKey string) (model.Entity, error) {
	e, _, err := s.GetVersioned(ctx, k, idOrKey)
	return e, err
}

// GetVersioned implements store.Store.
func (s *Store) GetVersioned(ctx context.Context, k model.Kind, idOrKey string) (model.Entity, store.Version, error) {
	if !k.Valid() {
		return nil, "", fmt.Errorf("getting %s: unknown kind", k)
	}
	for range generationAttempts {
		st, err := s.state(ctx)
		if err != nil {
			return nil, "", err
		}
		v, err := s.lookup(ctx, st.gen, k, idOrKey)
		if err != nil {
			return nil, "", err
		}
		if v.Entity != nil {
			return v.Entity, encodeVersion(st.gen, v.ver), nil
		}
		// Absent, unless the generation read was replaced meanwhile.
		now, err := s.state(ctx)
		if err != nil {
			return nil, "", err
		}
		if now.gen == st.gen {
			return nil, "", store.NotFound(k, idOrKey)
		}
	}
	return nil, "", store.NotFound(k, idOrKey)
}

// lookup finds an entity by id, endpoint key or, for targets, bare target
// in generation gen; a nil Entity if there is none.
func (s *Store) lookup(ctx context.Context, gen string, k model.Kind, idOrKey string) (versioned, error) {
	v, err := s.get(ctx, gen, k, idOrKey)
	if err != nil || v.Entity != nil {
		return v, err
	}
	if field := k.Info().EndpointKey; field != "" && len(uniqueSK(model.UniqueKey{Field: field, Value: idOrKey})) <= maxSortKey {
		out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
			TableName:      aws.String(s.table),
			Key:            uniqueKey(gen, k, model.UniqueKey{Field: field, Value: idOrKey}),
			ConsistentRead: aws.Bool(true),
		})
		if err != nil {
			return versioned{}, fmt.Errorf("reading %s %s: %w", k, idOrKey, err)
		}
		if owner := stringAttr(out.Item, attrOwner); owner != "" {
			if v, err = s.get(ctx, gen, k, owner); err != nil || v.Entity != nil {
				return v, err
			}
		}
	}
	if k != model.KindTarget || store.QualifiedTarget(idOrKey) {
		return versioned{}, nil
	}
	err = s.query(ctx, entityPK(gen, k), "", "", func(it item) (bool, error) {
		t, err := decodeVersioned(k, it)
		if err == nil && t.Entity.(*model.Target).Target == idOrKey {
			v = t
		}
		return v.Entity == nil, err
	})
	return v, err
}

// List implements store.Store: entities in id order.
func (s *Store) List(ctx context.Context, k model.Kind, opts store.ListOptions) (store.Page, error) {
	if !k.Valid() {
		return store.Page{}, fmt.Errorf("listing %s: unknown kind", k)
	}
	after := ""
	if opts.Offset != "" {
		var err error
		if after, err = store.DecodeOffset(opts.Offset); err != nil {
			return store.Page{}, err
		}
	}
	for range generationAttempts {
		st, err := s.state(ctx)
		if err != nil {
			return store.Page{}, err
		}
		page, err := s.list(ctx, st.gen, k, after, opts)
		if err != nil {
			return store.Page{}, err
		}
		// The page is whole unless the generation read was replaced meanwhile.
		now, err := s.state(ctx)
		if err != nil {
			return store.Page{}, err
		}
		if now.gen == st.gen {
			return page, nil
		}
	}
	return store.Page{}, fmt.Errorf("listing %s: %w", k, store.ErrUnstable)
}

func (s *Store) list(ctx context.Context, gen string, k model.Kind, after string, opts store.ListOptions) (store.Page, error) {
	if opts.Unique != nil {
		return s.listUnique(ctx, gen, k, after, opts)
	}
	if opts.Parent != nil && opts.Parent.Kind != "" {
		return s.listChildren(ctx, gen, k, after, opts)
	}
	size := opts.PageSize()
	var page store.Page
	err := s.query(ctx, entityPK(gen, k), after, "", func(it item) (bool, error) {
		e, err := decodeItem(k, it)
		if err != nil || !opts.Matches(e) {
			return true, err
		}
		if len(page.Items) == size {
			page.Next = store.EncodeOffset(page.Items[size-1].Meta().ID)
			return false, nil
		}
		page.Items = append(page.Items, e)
		return true, nil
	})
	if err != nil {
		return store.Page{}, fmt.Errorf("listing %s: %w", k, err)
	}
	return page, nil
}

// listUnique returns the page of the one entity holding opts.Unique, by
// the unique guard item.
func (s *Store) listUnique(ctx context.Context, gen string, k model.Kind, after string, opts store.ListOptions) (store.Page, error) {
	if len(uniqueSK(*opts.Unique)) > maxSortKey {
		return store.Page{}, nil
	}
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.table),
		Key:            uniqueKey(gen, k, *opts.Unique),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return store.Page{}, fmt.Errorf("listing %s by %s: %w", k, opts.Unique.Field, err)
	}
	owner := stringAttr(out.Item, attrOwner)
	if owner == "" || (after != "" && owner <= after) {
		return store.Page{}, nil
	}
	v, err := s.get(ctx, gen, k, owner)
	if err != nil || v.Entity == nil || !opts.Matches(v.Entity) {
		return store.Page{}, err
	}
	return store.Page{Items: []model.Entity{v.Entity}}, nil
}

// listChildren pages through the entities of kind k that reference
// opts.Parent by the parent's reverse references, whose sort keys for
// one parent and kind are in referrer id order: a page costs its own
// entities, not a read of every entity of the kind.
func (s *Store) listChildren(ctx context.Context, gen string, k model.Kind, after string, opts store.ListOptions) (store.Page, error) {
	parent := opts.Parent
	prefix := parent.ID + "#" + string(k) + "#"
	// Every sort key of a referrer whose id is after `after` sorts after
	// prefix+after+"$" ('$' follows the '#' that ends an id), and every
	// other one before it.
	from := prefix
	if after != "" {
		from = prefix + after + "$"
	}
	size := opts.PageSize()
	var page store.Page
	err := s.query(ctx, refPK(gen, parent.Kind), from, "", func(it item) (bool, error) {
		sk := stringAttr(it, attrSK)
		if !strings.HasPrefix(sk, prefix) {
			return false, nil
		}
		r, ok := parseRefSK(parent.ID, sk)
		if !ok || r.field != parent.Field {
			return true, nil
		}
		v, err := s.get(ctx, gen, k, r.id)
		if err != nil || v.Entity == nil {
			// A reference without its entity is one a concurrent
			// replace left behind in a generation no longer current:
			// List's generation check starts over.
			return err == nil, err
		}
		if !opts.Matches(v.Entity) {
			return true, nil
		}
		if len(page.Items) == size {
			page.Next = store.EncodeOffset(page.Items[size-1].Meta().ID)
			return false, nil
		}
		page.Items = append(page.Items, v.Entity)
		return true, nil
	})
	if err != nil {
		return store.Page{}, fmt.Errorf("listing %s of %s %s: %w", k, parent.Kind, parent.ID, err)
	}
	return page, nil
}

// Export implements store.Store: read the revision, every entity, the
// revision again, and start over if it moved.
func (s *Store) Export(ctx context.Context) (*model.Config, int64, error) {
	for attempt := range exportAttempts {
		if attempt > 0 {
			if err := s.pause(ctx, attempt); err != nil {
				return nil, 0, err
			}
		}
		st, err := s.state(ctx)
		if err != nil {
			return nil, 0, err
		}
		cfg, rev, err := s.exportAt(ctx, st)
		if err == nil && rev == st.rev {
			return cfg, rev, nil
		}
		if err != nil && !errors.Is(err, errConflict) {
			return nil, 0, err
		}
	}
	return nil, 0, fmt.Errorf("exporting after %d attempts: %w", exportAttempts, store.ErrUnstable)
}

// exportAt reads every entity of st's generation and returns the revision
// read after it; the set is st's only if that equals st.rev.
func (s *Store) exportAt(ctx context.Context, st state) (*model.Config, int64, error) {
	cfg := &model.Config{}
	for _, k := range model.Kinds {
		err := s.query(ctx, entityPK(st.gen, k), "", "", func(it item) (bool, error) {
			e, err := decodeItem(k, it)
			if err == nil {
				cfg.Add(e)
			}
			return true, err
		})
		if err != nil {
			return nil, 0, fmt.Errorf("exporting %s: %w", k, err)
		}
	}
	after, err := s.state(ctx)
	if err != nil {
		return nil, 0, err
	}
	return cfg, after.rev, nil
}

// Changes implements store.Store; limit 0 means 100.
func (s *Store) Changes(ctx context.Context, since int64, limit int) ([]store.Change, error) {
	if limit <= 0 {
		limit = 100
	}
	var out []store.Change
	err := s.query(ctx, changePK, changeSK(since), "", func(it item) (bool, error) {
		var c store.Change
		if err := json.Unmarshal([]byte(stringAttr(it, attrData)), &c); err != nil {
			return false, fmt.Errorf("decoding change %s: %w", stringAttr(it, attrSK), err)
		}
		out = append(out, c)
		return len(out) < limit, nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading changes since %d: %w", since, err)
	}
	return out, nil
}
