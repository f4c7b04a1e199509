package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/skyport-gw/skyport/internal/model"
)

// Kong's clients send foreign keys as whole objects: decK and go-kong
// send a route's service as {"id": …, "name": …, "host": …}. Kong keeps
// the primary key of such an object (kong/db/schema/init.lua validates
// only it, validate_primary_key); an object without a valid id is
// resolved by the referenced entity's unique fields on writes
// (kong/db/dao/init.lua resolve_foreign), and otherwise validated as an
// entity of the referenced kind, its errors named by path
// ("service.name").

// noResolveKey marks a request whose foreign keys are validated but not
// looked up in the store (schema validation reads nothing, as Kong's).
type noResolveKey struct{}

func withoutResolving(r *http.Request) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), noResolveKey{}, true))
}

// foreignKeys rewrites the foreign keys of body, an entity of kind k, to
// their primary keys.
func (h *Handler) foreignKeys(ctx context.Context, k model.Kind, body map[string]any) error {
	resolve := ctx.Value(noResolveKey{}) == nil
	errs := model.FieldErrors{}
	unresolved := map[string]string{}
	for _, ff := range k.Foreign() {
		v := body[ff.Name]
		if ff.Many {
			if list, ok := v.([]any); ok {
				for i, el := range list {
					if obj, ok := el.(map[string]any); ok {
						if id, ok := obj["id"].(string); ok {
							list[i] = id
						}
					}
				}
			}
			continue
		}
		obj, ok := v.(map[string]any)
		if !ok {
			continue // null, or a type the strict decoding reports
		}
		if id, ok := obj["id"].(string); ok && isUUID(id) {
			body[ff.Name] = map[string]any{"id": id}
			continue
		}
		if resolve {
			id, tried, err := h.resolveForeign(ctx, ff.Kind, obj)
			if err != nil {
				return err
			}
			if id != "" {
				body[ff.Name] = map[string]any{"id": id}
				continue
			}
			for field, value := range tried {
				unresolved[ff.Name+"."+field] = fmt.Sprintf(
					"the foreign key cannot be resolved with '{%s=%q}' for an existing '%s' entity", field, value, ff.Kind)
			}
			if len(tried) > 0 {
				continue
			}
		}
		msgs := validateForeign(ff.Kind, obj)
		if len(msgs) == 0 {
			msgs = map[string]string{"id": "missing primary key"}
		}
		for sub, msg := range msgs {
			errs.Add(ff.Name+"."+sub, msg)
		}
	}
	if len(unresolved) > 0 {
		return foreignUnresolved(unresolved)
	}
	return errs.Err()
}

// resolveForeign finds the entity of kind k that obj names by one of k's
// unique fields; tried lists the values that found none.
func (h *Handler) resolveForeign(ctx context.Context, k model.Kind, obj map[string]any) (string, map[string]string, error) {
	tried := map[string]string{}
	for _, field := range k.UniqueFields() {
		value, ok := obj[field].(string)
		if !ok || value == "" || len(validateForeign(k, map[string]any{field: value})) > 0 {
			continue // Kong tries only values its schema accepts
		}
		var e model.Entity
		var err error
		switch {
		case field == k.Info().EndpointKey:
			e, err = h.opts.Store.Get(ctx, k, value)
			if isNotFound(err) {
				e, err = nil, nil
			}
		case k == model.KindConsumer && field == "custom_id":
			e, err = h.findConsumer(ctx, value)
		default:
			continue
		}
		if err != nil {
			return "", nil, err
		}
		if e != nil {
			return e.Meta().ID, nil, nil
		}
		tried[field] = value
	}
	return "", tried, nil
}

// validateForeign validates obj as an entity of kind k, reporting only the
// fields obj has (Kong validates a foreign object without a full check).
func validateForeign(k model.Kind, obj map[string]any) map[string]string {
	e, err := model.New(k)
	if err != nil {
		return map[string]string{"@entity": err.Error()}
	}
	raw, err := json.Marshal(obj)
	if err == nil {
		err = decodeStrict(raw, e)
		if err == nil {
			e.Normalize()
			err = e.Validate()
		}
	}
	var me *model.Error
	if !errors.As(err, &me) {
		return nil
	}
	out := map[string]string{}
	flattenFields("", me.Fields, out)
	for path := range out {
		top, _, _ := strings.Cut(path, ".")
		if _, present := obj[top]; !present {
			delete(out, path)
		}
	}
	return out
}

// flattenFields turns a Kong error's nested fields into dotted paths,
// array positions counted from 1.
func flattenFields(prefix string, v any, out map[string]string) {
	join := func(k string) string {
		if prefix == "" {
			return k
		}
		return prefix + "." + k
	}
	switch x := v.(type) {
	case map[string]any:
		for k, sub := range x {
			flattenFields(join(k), sub, out)
		}
	case []any:
		for i, sub := range x {
			if sub != nil {
				flattenFields(join(strconv.Itoa(i+1)), sub, out)
			}
		}
	default:
		out[prefix] = fmt.Sprint(x)
	}
}

// foreignUnresolved is Kong's foreign keys unresolved error
// (kong/db/errors.lua).
func foreignUnresolved(msgs map[string]string) error {
	paths := make([]string, 0, len(msgs))
	for p := range msgs {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	parts := make([]string, len(paths))
	f := model.FieldErrors{}
	for i, p := range paths {
		parts[i] = p + ": " + msgs[p]
		f.Add(p, msgs[p])
	}
	msg := "foreign key unresolved (" + parts[0] + ")"
	if len(parts) > 1 {
		msg = fmt.Sprintf("%d foreign keys unresolved (%s)", len(parts), strings.Join(parts, "; "))
	}
	var fields map[string]any
	var me *model.Error
	if errors.As(f.Err(), &me) {
		fields = me.Fields
	}
	return &model.Error{Code: model.CodeForeignKeysUnresolved, Name: model.CodeForeignKeysUnresolved.Name(), Message: msg, Fields: fields}
}
