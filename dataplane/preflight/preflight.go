// Package preflight compiles a configuration exactly as a data plane
// would before swapping it in (router, plugin chains and their configs,
// upstream pools, upstream TLS, certificates and SNIs), without serving
// it: the control plane's publisher refuses, before signing, a revision a
// data plane would reject.
package preflight

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/skyport-gw/skyport/dataplane/certs"
	"github.com/skyport-gw/skyport/dataplane/plugins"
	"github.com/skyport-gw/skyport/dataplane/proxy"
	"github.com/skyport-gw/skyport/internal/model"
)

// Checker compiles configurations with the data plane's compiler and
// every plugin the data plane ships. It is safe for concurrent use.
type Checker struct {
	px *proxy.Server
}

// New returns a Checker.
func New() *Checker {
	return &Checker{px: proxy.New(proxy.Options{
		Registry: plugins.Registry(), UpstreamTLS: certs.UpstreamTLS, Log: slog.New(slog.DiscardHandler),
	})}
}

// Check returns the error a data plane would refuse cfg with, nil when it
// would apply it.
func (c *Checker) Check(ctx context.Context, cfg *model.Config) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("checking configuration: %w", err)
	}
	if err := c.px.Check(cfg); err != nil {
		return err
	}
	return certs.Check(cfg)
}
