package proxy

import (
	"net/http"
	"slices"
	"strings"

	"github.com/skyport-gw/skyport/dataplane/plugin"
	"github.com/skyport-gw/skyport/dataplane/router"
)

// Kong's answers to requests a gRPC route does not take
// (kong/runloop/handler.lua).
const (
	msgNotGRPC   = "Non-gRPC request matched gRPC route"
	msgUseHTTP2  = "Please use HTTP2 protocol"
	typeGRPC     = "application/grpc"
	schemeHTTPS  = "https"
	protoGRPC    = "grpc"
	protoGRPCS   = "grpcs"
	upgradeHTTP2 = "HTTP/2"
)

// allowsGRPC reports whether route protocols ps take a request on scheme
// as gRPC: grpc on the plain listener, grpcs on the TLS one (Kong's router
// reads them as http and https).
func allowsGRPC(ps []string, scheme string) bool {
	if scheme == schemeHTTPS {
		return slices.Contains(ps, protoGRPCS)
	}
	return slices.Contains(ps, protoGRPC)
}

// grpcAllowed applies Kong's checks to a request a gRPC route matched: a
// request that is not gRPC (by its Content-Type) is answered 415, one
// that is not HTTP/2 426; what passes is proxied as gRPC.
func (s *Server) grpcAllowed(w http.ResponseWriter, r *http.Request, ex *exchange, m *router.Match) bool {
	var resp *plugin.Response
	switch ct := r.Header["Content-Type"]; {
	case len(ct) == 0 || !strings.HasPrefix(ct[0], typeGRPC):
		resp = plugin.Error(http.StatusUnsupportedMediaType, msgNotGRPC)
	case r.ProtoMajor != 2:
		resp = plugin.Error(http.StatusUpgradeRequired, msgUseHTTP2)
		resp.Header["Connection"] = []string{"Upgrade"}
		resp.Header["Upgrade"] = []string{upgradeHTTP2}
	default:
		ex.grpc = true
		return true
	}
	ex.match = m
	s.globals(r, ex, m)
	s.exit(w, r, ex, resp)
	return false
}
