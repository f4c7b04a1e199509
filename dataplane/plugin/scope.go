package plugin

import (
	"slices"

	"github.com/skyport-gw/skyport/internal/model"
)

// scopeKey identifies a plugin instance's scope: the ids it is attached
// to, empty when not scoped on that entity.
type scopeKey struct {
	route, service, consumer string
}

// Kong's precedence, most specific first. Each combination says which of
// route, service and consumer the scope names.
var precedence = [...]struct{ route, service, consumer bool }{
	{true, true, true},
	{true, false, true},
	{false, true, true},
	{true, true, false},
	{false, false, true},
	{true, false, false},
	{false, true, false},
	{false, false, false},
}

// byName holds every instance of one plugin name for one request scheme,
// indexed by scope, with a bit per precedence level that has any.
type byName struct {
	name     string
	priority int
	levels   uint8
	// consumerOnly is true when every instance is consumer-scoped, so
	// resolution before authentication can skip the name.
	consumerOnly bool
	// onView is true when every instance's phases run on the view
	// (ViewAccessor), consumerOnView when every consumer-scoped one's do.
	onView, consumerOnView bool
	instances              map[scopeKey]*instance
}

type instance struct {
	plugin  *model.Plugin
	handler Handler
	// onView: the handler's phases run on the view.
	onView bool
}

func keyOf(p *model.Plugin) scopeKey {
	var k scopeKey
	if p.Route != nil {
		k.route = p.Route.ID
	}
	if p.Service != nil {
		k.service = p.Service.ID
	}
	if p.Consumer != nil {
		k.consumer = p.Consumer.ID
	}
	return k
}

func levelOf(k scopeKey) int {
	for i, l := range precedence {
		if l.route == (k.route != "") && l.service == (k.service != "") && l.consumer == (k.consumer != "") {
			return i
		}
	}
	return len(precedence) - 1
}

func (b *byName) add(in *instance) {
	k := keyOf(in.plugin)
	if b.instances == nil {
		b.instances = map[scopeKey]*instance{}
		b.consumerOnly, b.onView, b.consumerOnView = true, true, true
	}
	in.onView = onView(in.handler)
	b.onView = b.onView && in.onView
	b.instances[k] = in
	b.levels |= 1 << levelOf(k)
	if k.consumer == "" {
		b.consumerOnly = false
	} else {
		b.consumerOnView = b.consumerOnView && in.onView
	}
}

// resolve returns the most specific instance for the request's route,
// service and consumer (any may be empty), or nil.
func (b *byName) resolve(route, service, consumer string) *instance {
	for i, l := range precedence {
		if b.levels&(1<<i) == 0 || (l.route && route == "") || (l.service && service == "") || (l.consumer && consumer == "") {
			continue
		}
		var k scopeKey
		if l.route {
			k.route = route
		}
		if l.service {
			k.service = service
		}
		if l.consumer {
			k.consumer = consumer
		}
		if in := b.instances[k]; in != nil {
			return in
		}
	}
	return nil
}

// proxies reports whether p runs on proxied requests: as Kong's
// plugins iterator (should_process_plugin) decides, when one of its
// protocols is served by the HTTP subsystem (http, https, grpc, grpcs,
// and Skyport's ws, wss), whatever the request's own protocol; no
// protocols means every protocol. A plugin only for tcp, tls, udp or
// tls_passthrough, which Skyport does not proxy, never runs.
func proxies(p *model.Plugin) bool {
	if len(p.Protocols) == 0 {
		return true
	}
	return slices.ContainsFunc(p.Protocols, func(proto string) bool {
		switch proto {
		case "http", "https", "grpc", "grpcs", "ws", "wss":
			return true
		}
		return false
	})
}
