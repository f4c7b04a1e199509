// Package authorizer checks the bearer token a data plane presents when it
// opens the WebSocket connection: as API Gateway's REQUEST authorizer on
// $connect in AWS, and through Check in the local hub.
//
// Tokens are kept only as SHA-256 digests and compared in constant time.
package authorizer

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-lambda-go/events"
)

// ErrNoTokens is returned by NewFromHashes when no digest is given: an
// authorizer that admits nobody is a configuration mistake.
var ErrNoTokens = errors.New("no data plane token configured")

// PrincipalID is the principal an allowed data plane is reported as.
const PrincipalID = "dataplane"

// Authorizer admits the holders of a set of tokens.
type Authorizer struct {
	digests [][sha256.Size]byte
}

// New returns an authorizer for tokens; empty tokens are ignored.
func New(tokens ...string) *Authorizer {
	a := &Authorizer{}
	for _, t := range tokens {
		if t != "" {
			a.digests = append(a.digests, sha256.Sum256([]byte(t)))
		}
	}
	return a
}

// NewFromHashes returns an authorizer for tokens given as hex SHA-256
// digests.
func NewFromHashes(hexDigests ...string) (*Authorizer, error) {
	a := &Authorizer{}
	for i, h := range hexDigests {
		raw, err := hex.DecodeString(strings.TrimSpace(h))
		if err != nil || len(raw) != sha256.Size {
			return nil, fmt.Errorf("parsing token digest %d: not 64 hex characters", i)
		}
		a.digests = append(a.digests, [sha256.Size]byte(raw))
	}
	if len(a.digests) == 0 {
		return nil, ErrNoTokens
	}
	return a, nil
}

// Check reports whether token is one of the authorizer's tokens. Every
// digest is compared, in constant time, whatever matches.
func (a *Authorizer) Check(token string) bool {
	if token == "" {
		return false
	}
	sum := sha256.Sum256([]byte(token))
	ok := 0
	for _, d := range a.digests {
		ok |= subtle.ConstantTimeCompare(sum[:], d[:])
	}
	return ok == 1
}

// TokenFrom extracts the bearer token of an upgrade request's
// Authorization header (any case). The token is accepted in that header
// only: a query string ends up in access logs and proxies' caches.
func TokenFrom(headers map[string]string) string {
	for k, v := range headers {
		if !strings.EqualFold(k, "Authorization") {
			continue
		}
		scheme, tok, ok := strings.Cut(strings.TrimSpace(v), " ")
		if ok && strings.EqualFold(scheme, "Bearer") {
			return strings.TrimSpace(tok)
		}
	}
	return ""
}

// allowed reports whether an upgrade carries a valid token in its
// Authorization header and none in its query string: a token in the URL
// is refused even alongside a good header, so a data plane configured
// that way fails at once rather than leaking its token on every connect.
func (a *Authorizer) allowed(headers, query map[string]string) bool {
	for k := range query {
		if strings.EqualFold(k, "token") {
			return false
		}
	}
	return a.Check(TokenFrom(headers))
}

// CheckRequest reports whether a WebSocket $connect request carries a
// valid token, for a hub that authorizes upgrades itself.
func (a *Authorizer) CheckRequest(req events.APIGatewayWebsocketProxyRequest) bool {
	return a.allowed(req.Headers, req.QueryStringParameters)
}

// Handle is the Lambda REQUEST authorizer: it allows execute-api:Invoke on
// the method ARN for a valid token and denies it otherwise.
func (a *Authorizer) Handle(_ context.Context, req events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
	effect := "Deny"
	if a.allowed(req.Headers, req.QueryStringParameters) {
		effect = "Allow"
	}
	return events.APIGatewayCustomAuthorizerResponse{
		PrincipalID: PrincipalID,
		PolicyDocument: events.APIGatewayCustomAuthorizerPolicy{
			Version: "2012-10-17",
			Statement: []events.IAMPolicyStatement{{
				Action:   []string{"execute-api:Invoke"},
				Effect:   effect,
				Resource: []string{req.MethodArn},
			}},
		},
	}, nil
}
