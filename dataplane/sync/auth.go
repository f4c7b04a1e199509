package sync

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Auth adds credentials to the control plane's WebSocket upgrade request.
type Auth interface {
	// Header returns the headers to send when dialling rawURL.
	Header(ctx context.Context, rawURL string) (http.Header, error)
}

// Bearer authenticates with a token checked by the $connect authorizer.
type Bearer string

var _ Auth = Bearer("")

// Header returns "Authorization: Bearer <token>", or nothing for an empty
// token (the open local hub).
func (b Bearer) Header(context.Context, string) (http.Header, error) {
	h := http.Header{}
	if b != "" {
		h.Set("Authorization", "Bearer "+string(b))
	}
	return h, nil
}

// emptyPayloadHash is the SHA-256 of an empty body.
const emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// SigV4 signs the upgrade request for API Gateway's IAM authorization.
type SigV4 struct {
	// Credentials is the AWS credential chain.
	Credentials aws.CredentialsProvider
	// Region is used when the URL's host does not name one.
	Region string
	// Now is the signing clock; default time.Now.
	Now func() time.Time
}

var _ Auth = (*SigV4)(nil)

// Header signs an https GET of rawURL for service execute-api and returns
// the signed headers (Authorization, X-Amz-Date, X-Amz-Security-Token).
func (s *SigV4) Header(ctx context.Context, rawURL string) (http.Header, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("parsing control plane url: %w", err)
	}
	region := RegionFromHost(u.Hostname())
	if region == "" {
		region = s.Region
	}
	if region == "" {
		return nil, errors.New("signing control plane request: no region (set AWS_REGION)")
	}
	creds, err := s.Credentials.Retrieve(ctx)
	if err != nil {
		return nil, fmt.Errorf("retrieving AWS credentials: %w", err)
	}
	signed := *u
	switch u.Scheme {
	case "wss":
		signed.Scheme = "https"
	case "ws":
		signed.Scheme = "http"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, signed.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("signing control plane request: %w", err)
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, emptyPayloadHash, "execute-api", region, now()); err != nil {
		return nil, fmt.Errorf("signing control plane request: %w", err)
	}
	h := http.Header{}
	for _, k := range []string{"Authorization", "X-Amz-Date", "X-Amz-Security-Token"} {
		if v := req.Header.Get(k); v != "" {
			h.Set(k, v)
		}
	}
	return h, nil
}

// RegionFromHost returns the region in an API Gateway host name
// (<api>.execute-api.<region>.amazonaws.com), or "".
func RegionFromHost(host string) string {
	parts := strings.Split(host, ".")
	for i, p := range parts {
		if p == "execute-api" && i+2 < len(parts) && strings.HasPrefix(parts[i+2], "amazonaws") {
			return parts[i+1]
		}
	}
	return ""
}
