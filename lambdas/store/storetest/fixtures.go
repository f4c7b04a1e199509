package storetest

import (
	"github.com/google/uuid"

	"github.com/skyport-gw/skyport/internal/model"
)

// Entity builders: Kong's defaults from model.New, a fresh id and fixed
// timestamps (the store keeps what it is given).

const stamp = 1700000000

func newEntity[T model.Entity](k model.Kind) T {
	e, err := model.New(k)
	if err != nil {
		panic(err)
	}
	b := e.Meta()
	b.ID = uuid.NewString()
	b.CreatedAt, b.UpdatedAt = stamp, stamp
	return e.(T)
}

func ref(e model.Entity) *model.Ref { return &model.Ref{ID: e.Meta().ID} }

func service(name string, tags ...string) *model.Service {
	s := newEntity[*model.Service](model.KindService)
	if name != "" {
		s.Name = model.String(name)
	}
	s.Host = "backend.internal"
	s.Tags = tags
	return s
}

func route(name string, svc *model.Service, tags ...string) *model.Route {
	r := newEntity[*model.Route](model.KindRoute)
	if name != "" {
		r.Name = model.String(name)
	}
	r.Paths = []string{"/" + name}
	if svc != nil {
		r.Service = ref(svc)
	}
	r.Tags = tags
	return r
}

func consumer(username string) *model.Consumer {
	c := newEntity[*model.Consumer](model.KindConsumer)
	c.Username = model.String(username)
	return c
}

func consumerCustomID(customID string) *model.Consumer {
	c := newEntity[*model.Consumer](model.KindConsumer)
	c.CustomID = model.String(customID)
	return c
}

func plugin(name string, svc *model.Service, rt *model.Route, c *model.Consumer) *model.Plugin {
	p := newEntity[*model.Plugin](model.KindPlugin)
	p.Name = name
	p.Config = map[string]any{"minute": float64(5), "policy": "local"}
	if svc != nil {
		p.Service = ref(svc)
	}
	if rt != nil {
		p.Route = ref(rt)
	}
	if c != nil {
		p.Consumer = ref(c)
	}
	return p
}

func upstream(name string) *model.Upstream {
	u := newEntity[*model.Upstream](model.KindUpstream)
	u.Name = name
	return u
}

func target(addr string, u *model.Upstream) *model.Target {
	t := newEntity[*model.Target](model.KindTarget)
	t.Target = addr
	t.Upstream = ref(u)
	return t
}

func certificate() *model.Certificate {
	c := newEntity[*model.Certificate](model.KindCertificate)
	c.Cert = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
	c.Key = "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n"
	return c
}

func sni(name string, c *model.Certificate) *model.SNI {
	s := newEntity[*model.SNI](model.KindSNI)
	s.Name = name
	s.Certificate = ref(c)
	return s
}

func caCertificate(digest string) *model.CACertificate {
	c := newEntity[*model.CACertificate](model.KindCACertificate)
	c.Cert = "-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----\n"
	c.CertDigest = digest
	return c
}

func keyAuth(key string, c *model.Consumer) *model.KeyAuth {
	k := newEntity[*model.KeyAuth](model.KindKeyAuth)
	k.Key = key
	k.Consumer = ref(c)
	return k
}

func basicAuth(username string, c *model.Consumer) *model.BasicAuth {
	b := newEntity[*model.BasicAuth](model.KindBasicAuth)
	b.Username = username
	b.Password = "$2a$10$hashhashhash"
	b.Consumer = ref(c)
	return b
}

func jwtSecret(key string, c *model.Consumer) *model.JWTSecret {
	j := newEntity[*model.JWTSecret](model.KindJWT)
	j.Key = key
	j.Secret = "s3cr3t"
	j.Consumer = ref(c)
	return j
}

func acl(group string, c *model.Consumer) *model.ACL {
	a := newEntity[*model.ACL](model.KindACL)
	a.Group = group
	a.Consumer = ref(c)
	return a
}

func hmacAuth(username string, c *model.Consumer) *model.HMACAuth {
	h := newEntity[*model.HMACAuth](model.KindHMACAuth)
	h.Username = username
	h.Secret = "hmac-secret"
	h.Consumer = ref(c)
	return h
}

func oauth2(clientID string, c *model.Consumer) *model.OAuth2Credential {
	o := newEntity[*model.OAuth2Credential](model.KindOAuth2)
	o.Name = "app"
	o.ClientID = clientID
	o.ClientSecret = "client-secret"
	o.ClientType = "confidential"
	o.RedirectURIs = []string{"https://app.example.com/cb"}
	o.Consumer = ref(c)
	return o
}

func keySet(name string) *model.KeySet {
	s := newEntity[*model.KeySet](model.KindKeySet)
	s.Name = model.String(name)
	return s
}

func key(name, kid string, set *model.KeySet) *model.Key {
	k := newEntity[*model.Key](model.KindKey)
	k.Name = model.String(name)
	k.KID = kid
	k.JWK = model.String(`{"kty":"oct","kid":"` + kid + `","k":"c2VjcmV0"}`)
	if set != nil {
		k.Set = ref(set)
	}
	return k
}

func vault(prefix string) *model.Vault {
	v := newEntity[*model.Vault](model.KindVault)
	v.Prefix = prefix
	v.Name = "env"
	v.Config = &model.VaultConfig{Prefix: model.String("SKYPORT_")}
	return v
}

// graph is one entity of every kind, wired together, in dependency order.
func graph() []model.Entity {
	ca := caCertificate("0f1e2d")
	cert := certificate()
	sn := sni("example.com", cert)
	svc := service("orders", "team-a")
	svc.ClientCertificate = ref(cert)
	svc.CACertificates = []string{ca.ID}
	svc.TLSVerify = model.Bool(true)
	svc.Path = model.String("/v1")
	rt := route("orders-route", svc)
	rt.Methods = []string{"GET", "POST"}
	rt.Headers = map[string][]string{"x-version": {"1"}}
	c := consumer("alice")
	c.CustomID = model.String("alice-1")
	up := upstream("orders.upstream")
	up.ClientCertificate = ref(cert)
	up.Healthchecks.Active.Headers = map[string][]string{"x-probe": {"yes"}}
	tg := target("10.0.0.1:8000", up)
	pl := plugin("rate-limiting", svc, rt, c)
	pl.InstanceName = model.String("orders-rl")
	ttl := 3600
	ka := keyAuth("alice-key", c)
	ka.TTL = &ttl
	ks := keySet("signing")
	return []model.Entity{ca, cert, sn, svc, rt, c, up, tg, pl, ka,
		basicAuth("alice", c), jwtSecret("alice-iss", c), acl("admins", c),
		hmacAuth("alice-hmac", c), oauth2("alice-app", c), ks, key("signing-1", "kid-1", ks), vault("secrets")}
}
