package store

import (
	"strings"

	"github.com/google/uuid"
)

// QualifiedTarget reports whether a target key is in the form
// "<upstream id>:<target>", which a store finds by its unique guard: such
// a key is not looked for as a bare target too, which would read every
// target of every upstream (a nested lookup of a target its upstream does
// not have).
func QualifiedTarget(key string) bool {
	up, _, ok := strings.Cut(key, ":")
	return ok && len(up) == 36 && uuid.Validate(up) == nil
}
