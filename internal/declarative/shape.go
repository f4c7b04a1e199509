package declarative

import (
	"reflect"
	"strings"

	"github.com/skyport-gw/skyport/internal/model"
)

// child is an entity list that may be nested inside another entity.
type child struct {
	key    string     // the key in the parent ("routes")
	kind   model.Kind // the nested entities' kind
	parent string     // the child's field that references the parent ("service")
}

// children lists the nesting Kong's declarative format allows.
var children = map[model.Kind][]child{
	model.KindService: {{"routes", model.KindRoute, "service"}, {"plugins", model.KindPlugin, "service"}},
	model.KindRoute:   {{"plugins", model.KindPlugin, "route"}},
	model.KindConsumer: {
		{"plugins", model.KindPlugin, "consumer"},
		{"keyauth_credentials", model.KindKeyAuth, "consumer"},
		{"basicauth_credentials", model.KindBasicAuth, "consumer"},
		{"jwt_secrets", model.KindJWT, "consumer"},
		{"acls", model.KindACL, "consumer"},
		{"hmacauth_credentials", model.KindHMACAuth, "consumer"},
		{"oauth2_credentials", model.KindOAuth2, "consumer"},
	},
	model.KindKeySet:      {{"keys", model.KindKey, "set"}},
	model.KindUpstream:    {{"targets", model.KindTarget, "upstream"}},
	model.KindCertificate: {{"snis", model.KindSNI, "certificate"}},
}

// refField is a reference an entity may hold, by id or by name.
type refField struct {
	field string
	kind  model.Kind
	list  bool // a list of ids (a service's ca_certificates)
}

var refFields = map[model.Kind][]refField{
	model.KindService: {
		{"client_certificate", model.KindCertificate, false},
		{"ca_certificates", model.KindCACertificate, true},
	},
	model.KindRoute:     {{"service", model.KindService, false}},
	model.KindUpstream:  {{"client_certificate", model.KindCertificate, false}},
	model.KindTarget:    {{"upstream", model.KindUpstream, false}},
	model.KindSNI:       {{"certificate", model.KindCertificate, false}},
	model.KindPlugin:    {{"service", model.KindService, false}, {"route", model.KindRoute, false}, {"consumer", model.KindConsumer, false}},
	model.KindKeyAuth:   {{"consumer", model.KindConsumer, false}},
	model.KindBasicAuth: {{"consumer", model.KindConsumer, false}},
	model.KindJWT:       {{"consumer", model.KindConsumer, false}},
	model.KindACL:       {{"consumer", model.KindConsumer, false}},
	model.KindHMACAuth:  {{"consumer", model.KindConsumer, false}},
	model.KindOAuth2:    {{"consumer", model.KindConsumer, false}},
	model.KindKey:       {{"set", model.KindKeySet, false}},
}

// setRef stores a resolved reference in e.
func setRef(e model.Entity, field, id string) {
	r := &model.Ref{ID: id}
	switch v := e.(type) {
	case *model.Service:
		if field == "ca_certificates" {
			v.CACertificates = append(v.CACertificates, id)
		} else {
			v.ClientCertificate = r
		}
	case *model.Route:
		v.Service = r
	case *model.Upstream:
		v.ClientCertificate = r
	case *model.Target:
		v.Upstream = r
	case *model.SNI:
		v.Certificate = r
	case *model.Plugin:
		switch field {
		case "service":
			v.Service = r
		case "route":
			v.Route = r
		default:
			v.Consumer = r
		}
	case *model.KeyAuth:
		v.Consumer = r
	case *model.BasicAuth:
		v.Consumer = r
	case *model.JWTSecret:
		v.Consumer = r
	case *model.ACL:
		v.Consumer = r
	case *model.HMACAuth:
		v.Consumer = r
	case *model.OAuth2Credential:
		v.Consumer = r
	case *model.Key:
		v.Set = r
	}
}

// names returns the values by which other entities may reference e
// besides its id.
func names(e model.Entity) []string {
	switch v := e.(type) {
	case *model.Service:
		return nonEmpty(v.Name)
	case *model.Route:
		return nonEmpty(v.Name)
	case *model.Consumer:
		return nonEmpty(v.Username)
	case *model.Upstream:
		return []string{v.Name}
	case *model.KeySet:
		return nonEmpty(v.Name)
	}
	return nil
}

func nonEmpty(s *string) []string {
	if s == nil || *s == "" {
		return nil
	}
	return []string{*s}
}

// knownFields holds each kind's JSON field names (jsonFields).
var knownFields = func() map[model.Kind]map[string]bool {
	out := map[model.Kind]map[string]bool{}
	for _, k := range model.Kinds {
		if e, err := model.New(k); err == nil {
			out[k] = jsonFields(e)
		}
	}
	return out
}()

// jsonFields returns the JSON field names of an entity's struct,
// including the embedded Base.
func jsonFields(e model.Entity) map[string]bool {
	out := map[string]bool{}
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for i := range t.NumField() {
			f := t.Field(i)
			if f.Anonymous {
				walk(f.Type)
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name != "" && name != "-" {
				out[name] = true
			}
		}
	}
	walk(reflect.TypeOf(e).Elem())
	return out
}
