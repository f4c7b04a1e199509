package store

import "github.com/skyport-gw/skyport/internal/model"

// OnDelete is what deleting a referenced entity does to an entity that
// points to it.
type OnDelete int

const (
	// Restrict refuses the delete while the referrer exists.
	Restrict OnDelete = iota
	// Cascade deletes the referrer with the referenced entity.
	Cascade
)

// cascades lists Kong's cascading foreign keys as "<referrer kind>.<field>";
// every other reference restricts.
var cascades = map[string]bool{
	string(model.KindPlugin) + ".service":     true,
	string(model.KindPlugin) + ".route":       true,
	string(model.KindPlugin) + ".consumer":    true,
	string(model.KindKeyAuth) + ".consumer":   true,
	string(model.KindBasicAuth) + ".consumer": true,
	string(model.KindJWT) + ".consumer":       true,
	string(model.KindACL) + ".consumer":       true,
	string(model.KindHMACAuth) + ".consumer":  true,
	string(model.KindOAuth2) + ".consumer":    true,
	string(model.KindKey) + ".set":            true,
	string(model.KindTarget) + ".upstream":    true,
	string(model.KindSNI) + ".certificate":    true,
}

// OnDeleteOf says what happens to an entity of kind referrer whose field
// points to an entity being deleted.
func OnDeleteOf(referrer model.Kind, field string) OnDelete {
	if cascades[string(referrer)+"."+field] {
		return Cascade
	}
	return Restrict
}
