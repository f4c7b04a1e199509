// Package iprestriction is Kong's ip-restriction plugin: it allows or
// denies clients by IP address or CIDR range.
package iprestriction

import (
	"fmt"
	"net/http"
	"net/netip"

	"github.com/skyport-gw/skyport/dataplane/exchange"
	"github.com/skyport-gw/skyport/dataplane/plugin"
	"github.com/skyport-gw/skyport/internal/pluginschema"
)

// Name is the plugin's name.
const Name = "ip-restriction"

// Config is ip-restriction's configuration.
type Config struct {
	// Allow and Deny are IPs or CIDR ranges; deny is checked first.
	Allow []string `json:"allow"`
	Deny  []string `json:"deny"`
	// Status and Message override the 403 answer.
	Status  *int    `json:"status"`
	Message *string `json:"message"`
}

// IPRestriction is the handler built for one plugin instance of one
// snapshot, its ranges parsed once.
type IPRestriction struct {
	allow, deny []netip.Prefix
	status      int
	// message is the configured answer; "" for Kong's default, which
	// names the client's address.
	message string
}

var (
	_ plugin.Handler      = (*IPRestriction)(nil)
	_ plugin.Accessor     = (*IPRestriction)(nil)
	_ plugin.ViewAccessor = (*IPRestriction)(nil)
)

// New builds the handler.
func New(env plugin.Env) (plugin.Handler, error) {
	var c Config
	if err := plugin.DecodeConfig(env.Plugin.Config, &c); err != nil {
		return nil, fmt.Errorf("building ip-restriction: %w", err)
	}
	h := &IPRestriction{status: http.StatusForbidden}
	if c.Status != nil {
		h.status = *c.Status
	}
	if c.Message != nil {
		h.message = *c.Message
	}
	var err error
	if h.allow, err = parse(c.Allow); err != nil {
		return nil, fmt.Errorf("building ip-restriction: %w", err)
	}
	if h.deny, err = parse(c.Deny); err != nil {
		return nil, fmt.Errorf("building ip-restriction: %w", err)
	}
	return h, nil
}

func parse(list []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(list))
	for _, s := range list {
		p, err := pluginschema.ParseIPOrCIDR(s)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// Name implements plugin.Handler.
func (h *IPRestriction) Name() string { return Name }

// Access implements plugin.Accessor, as kong/plugins/ip-restriction/handler.lua:
// an address that cannot be read is always 403, whatever status is
// configured.
func (h *IPRestriction) Access(pc *plugin.Context, _ *http.Request) *plugin.Response {
	return h.access(pc)
}

// OnView implements plugin.ViewAccessor: the decision reads the
// client's address only.
func (h *IPRestriction) OnView() bool { return true }

// AccessView implements plugin.ViewAccessor.
func (h *IPRestriction) AccessView(pc *plugin.Context, _ exchange.Request) *plugin.Response {
	return h.access(pc)
}

// access is both access phases: the client's address (pc.ClientIP)
// against the lists.
func (h *IPRestriction) access(pc *plugin.Context) *plugin.Response {
	ip, err := netip.ParseAddr(pc.ClientIP)
	if err != nil {
		return plugin.Error(http.StatusForbidden, "Cannot identify the client IP address, unix domain sockets are not supported.")
	}
	ip = ip.Unmap()
	if contains(h.deny, ip) || (len(h.allow) > 0 && !contains(h.allow, ip)) {
		return h.refuse(pc.ClientIP)
	}
	return nil
}

func (h *IPRestriction) refuse(ip string) *plugin.Response {
	msg := h.message
	if msg == "" {
		msg = "IP address not allowed: " + ip
	}
	return plugin.Error(h.status, msg)
}

func contains(list []netip.Prefix, ip netip.Addr) bool {
	for _, p := range list {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}
