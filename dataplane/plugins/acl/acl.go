// Package acl is Kong's acl plugin: it lets through, or refuses, the
// authenticated consumer by the groups it belongs to.
package acl

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/skyport-gw/skyport/dataplane/exchange"
	"github.com/skyport-gw/skyport/dataplane/plugin"
	"github.com/skyport-gw/skyport/internal/model"
)

// Name is the plugin's name.
const Name = "acl"

// HeaderGroups carries the consumer's groups upstream.
const HeaderGroups = "X-Consumer-Groups"

// Kong's messages.
const (
	msgForbidden    = "You cannot consume this service"
	msgUnauthorized = "Unauthorized"
)

// Config is acl's configuration.
type Config struct {
	// Allow lets only members of these groups through.
	Allow []string `json:"allow"`
	// Deny refuses members of these groups.
	Deny []string `json:"deny"`
	// HideGroupsHeader stops X-Consumer-Groups from being sent upstream.
	HideGroupsHeader bool `json:"hide_groups_header"`
}

// ACL is the handler built for one plugin instance of one snapshot: each
// consumer's verdict and groups header computed once.
type ACL struct {
	conf     Config
	verdicts map[string]verdict
	// anyone is the verdict for a consumer in no group.
	anyone verdict
	// from is the list of groups the verdicts came from (plugin.Reuser).
	from []*model.ACL
}

type verdict struct {
	allowed bool
	// grouped says the consumer belongs to some group: Kong refuses a
	// consumer in none differently (see Access).
	grouped bool
	groups  string
}

var (
	_ plugin.Handler      = (*ACL)(nil)
	_ plugin.Accessor     = (*ACL)(nil)
	_ plugin.ViewAccessor = (*ACL)(nil)
	_ plugin.Reuser       = (*ACL)(nil)
)

// New builds the handler.
func New(env plugin.Env) (plugin.Handler, error) {
	var c Config
	if err := plugin.DecodeConfig(env.Plugin.Config, &c); err != nil {
		return nil, fmt.Errorf("building acl: %w", err)
	}
	groups := map[string][]string{}
	for _, a := range env.Config.ACLs {
		if a.Consumer != nil {
			groups[a.Consumer.ID] = append(groups[a.Consumer.ID], a.Group)
		}
	}
	a := &ACL{conf: c, verdicts: make(map[string]verdict, len(groups)), from: env.Config.ACLs}
	a.anyone = a.judge(nil)
	for id, gs := range groups {
		a.verdicts[id] = a.judge(gs)
	}
	return a, nil
}

// Reusable implements plugin.Reuser: the same groups.
func (a *ACL) Reusable(env plugin.Env) bool { return plugin.Unchanged(a.from, env.Config.ACLs) }

func (a *ACL) judge(groups []string) verdict {
	member := func(list []string) bool {
		for _, g := range groups {
			if slices.Contains(list, g) {
				return true
			}
		}
		return false
	}
	// A deny list makes the plugin a deny list whatever allow holds
	// (kong/plugins/acl/handler.lua: `(conf.deny or EMPTY)[1] and DENY`).
	var allowed bool
	if len(a.conf.Deny) > 0 {
		allowed = !member(a.conf.Deny)
	} else {
		allowed = member(a.conf.Allow)
	}
	return verdict{allowed: allowed, grouped: len(groups) > 0, groups: strings.Join(groups, ", ")}
}

// Name implements plugin.Handler.
func (a *ACL) Name() string { return Name }

// Access implements plugin.Accessor.
func (a *ACL) Access(pc *plugin.Context, r *http.Request) *plugin.Response {
	return access(a, pc, plugin.HeaderFields(r.Header))
}

// OnView implements plugin.ViewAccessor: acl reads the consumer and sets
// one field.
func (a *ACL) OnView() bool { return true }

// AccessView implements plugin.ViewAccessor.
func (a *ACL) AccessView(pc *plugin.Context, r exchange.Request) *plugin.Response {
	return access(a, pc, plugin.ViewFields{H: r.Header()})
}

// access is both access phases: the verdict on pc's consumer, and its
// groups in X-Consumer-Groups.
func access[F plugin.Fields](a *ACL, pc *plugin.Context, h F) *plugin.Response {
	if pc.Consumer == nil {
		if pc.Credential != nil {
			return plugin.Error(http.StatusForbidden, msgForbidden)
		}
		return plugin.Error(http.StatusUnauthorized, msgUnauthorized)
	}
	v, ok := a.verdicts[pc.Consumer.ID]
	if !ok {
		v = a.anyone
	}
	if !v.allowed {
		// A consumer in no group facing an allow list is refused as an
		// unauthenticated caller when no credential identified it (the
		// anonymous consumer): 401, else 403 (kong/plugins/acl/handler.lua).
		if !v.grouped && pc.Credential == nil {
			return plugin.Error(http.StatusUnauthorized, msgUnauthorized)
		}
		return plugin.Error(http.StatusForbidden, msgForbidden)
	}
	if !a.conf.HideGroupsHeader && v.groups != "" {
		h.Set(HeaderGroups, v.groups)
	} else {
		h.Del(HeaderGroups)
	}
	return nil
}
