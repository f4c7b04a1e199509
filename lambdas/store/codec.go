package store

import (
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/skyport-gw/skyport/internal/model"
)

// DecodeEntity decodes the JSON of an entity of kind k exactly as stored:
// the value starts from the zero entity, not from Kong's defaults, so what
// was written is what is read.
func DecodeEntity(k model.Kind, b []byte) (model.Entity, error) {
	proto, err := model.New(k)
	if err != nil {
		return nil, err
	}
	e := reflect.New(reflect.TypeOf(proto).Elem()).Interface().(model.Entity)
	if err := json.Unmarshal(b, e); err != nil {
		return nil, fmt.Errorf("decoding %s entity: %w", k, err)
	}
	return e, nil
}

// Summary describes one entity change for the change history:
// "create services <id>".
func Summary(verb string, e model.Entity) string {
	return verb + " " + string(e.Kind()) + " " + e.Meta().ID
}
