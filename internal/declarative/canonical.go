package declarative

import (
	"reflect"

	"github.com/skyport-gw/skyport/internal/model"
)

// canonical sets an entity's empty top-level lists and maps to nil (a
// plugin's config excepted), so that an absent field and an empty one
// parse to the same value and the export, which omits both, re-parses
// to the same configuration.
func canonical(e model.Entity) {
	v := reflect.ValueOf(e).Elem()
	var walk func(v reflect.Value)
	walk = func(v reflect.Value) {
		t := v.Type()
		for i := range t.NumField() {
			f, fv := t.Field(i), v.Field(i)
			switch {
			case f.Anonymous && fv.Kind() == reflect.Struct:
				walk(fv)
			case f.Name == "Config":
			case (fv.Kind() == reflect.Slice || fv.Kind() == reflect.Map) && fv.Len() == 0:
				fv.SetZero()
			}
		}
	}
	walk(v)
}
