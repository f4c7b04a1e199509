package store

import "github.com/skyport-gw/skyport/internal/model"

// CheckConfig validates a whole configuration as one set, the way a
// ReplaceAll must: ids unique per kind (CodePrimaryKeyViolation), unique
// keys unique per kind (CodeUniqueViolation) and every reference to an
// entity of the set (CodeForeignKeyViolation). Entities are checked in
// dependency order, so the first error is the one an entity-by-entity
// insert would meet.
func CheckConfig(cfg *model.Config) error {
	ids := map[model.Kind]map[string]bool{}
	uniques := map[model.Kind]map[string]bool{}
	for _, k := range model.Kinds {
		ids[k], uniques[k] = map[string]bool{}, map[string]bool{}
	}
	var err error
	cfg.Each(func(e model.Entity) {
		if err != nil {
			return
		}
		k, id := e.Kind(), e.Meta().ID
		if ids[k][id] {
			err = PrimaryKeyViolation(id)
			return
		}
		ids[k][id] = true
		for _, u := range e.UniqueKeys() {
			key := u.Field + "\x00" + u.Value
			if uniques[k][key] {
				err = UniqueViolation(e, u)
				return
			}
			uniques[k][key] = true
		}
		for _, r := range e.References() {
			if !ids[r.Kind][r.ID] {
				err = ForeignKeyViolation(r)
				return
			}
		}
	})
	return err
}
