package model

// ForeignField is one foreign key of an entity: a field holding a
// reference ({"id": …}) to an entity of another kind, or, when Many, an
// array of ids (a service's ca_certificates).
type ForeignField struct {
	// Name is the field name ("service").
	Name string
	// Kind is the referenced kind.
	Kind Kind
	// Many is true for an array of ids.
	Many bool
}

var foreignFields = map[Kind][]ForeignField{
	KindService:   {{Name: "client_certificate", Kind: KindCertificate}, {Name: "ca_certificates", Kind: KindCACertificate, Many: true}},
	KindRoute:     {{Name: "service", Kind: KindService}},
	KindPlugin:    {{Name: "route", Kind: KindRoute}, {Name: "service", Kind: KindService}, {Name: "consumer", Kind: KindConsumer}},
	KindUpstream:  {{Name: "client_certificate", Kind: KindCertificate}},
	KindTarget:    {{Name: "upstream", Kind: KindUpstream}},
	KindSNI:       {{Name: "certificate", Kind: KindCertificate}},
	KindKeyAuth:   {{Name: "consumer", Kind: KindConsumer}},
	KindBasicAuth: {{Name: "consumer", Kind: KindConsumer}},
	KindJWT:       {{Name: "consumer", Kind: KindConsumer}},
	KindACL:       {{Name: "consumer", Kind: KindConsumer}},
	KindHMACAuth:  {{Name: "consumer", Kind: KindConsumer}},
	KindOAuth2:    {{Name: "consumer", Kind: KindConsumer}},
	KindKey:       {{Name: "set", Kind: KindKeySet}},
}

// Foreign lists the foreign keys of kind k, in Kong's schema order.
func (k Kind) Foreign() []ForeignField { return foreignFields[k] }

// UniqueFields are the fields of kind k besides the id that identify one
// entity, in Kong's schema order: Kong resolves a foreign key given
// without an id by the first of them that finds an entity.
func (k Kind) UniqueFields() []string {
	switch k {
	case KindService, KindRoute, KindUpstream, KindSNI, KindKeySet:
		return []string{"name"}
	case KindConsumer:
		return []string{"username", "custom_id"}
	case KindCACertificate:
		return []string{"cert_digest"}
	}
	return nil
}
