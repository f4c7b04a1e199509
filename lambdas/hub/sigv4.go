package hub

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Signature V4 as API Gateway checks it on its @connections API.
const (
	sigAlgorithm = "AWS4-HMAC-SHA256"
	sigService   = "execute-api"
	amzDate      = "20060102T150405Z"
	// MaxSignatureAge is how far a request's X-Amz-Date may be from the
	// hub's clock, either way.
	MaxSignatureAge = 5 * time.Minute
)

// authError is a refused management call: API Gateway's error type and
// message.
type authError struct{ errType, msg string }

// authenticate checks r's Signature Version 4 against the hub's
// management credentials: the same access key, the execute-api service,
// a date within MaxSignatureAge, and the signature the SDK's signer
// computes over the same method, path, query, signed headers and body.
func (h *Hub) authenticate(ctx context.Context, r *http.Request, body []byte) *authError {
	creds := h.opts.ManagementCredentials
	if creds.AccessKeyID == "" || creds.SecretAccessKey == "" {
		return &authError{"ForbiddenException", "the management API has no credentials configured"}
	}
	header := r.Header.Get("Authorization")
	if header == "" {
		return &authError{"MissingAuthenticationTokenException", "Missing Authentication Token"}
	}
	sig, ok := parseAuthorization(header)
	if !ok {
		return &authError{"IncompleteSignatureException", "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders'"}
	}
	if !hmac.Equal([]byte(sig.accessKey), []byte(creds.AccessKeyID)) {
		return &authError{"UnrecognizedClientException", "The security token included in the request is invalid."}
	}
	at, err := time.Parse(amzDate, r.Header.Get("X-Amz-Date"))
	if err != nil || sig.service != sigService || sig.date != at.Format("20060102") {
		return &authError{"IncompleteSignatureException", "the credential scope or X-Amz-Date is invalid"}
	}
	if skew := h.now().Sub(at); skew > MaxSignatureAge || skew < -MaxSignatureAge {
		return &authError{"InvalidSignatureException", "Signature expired"}
	}
	want, err := resign(ctx, r, body, creds, sig, at)
	if err != nil || !hmac.Equal([]byte(want), []byte(sig.signature)) {
		return &authError{"InvalidSignatureException", "The request signature we calculated does not match the signature you provided."}
	}
	return nil
}

// resign signs a copy of r holding only the headers sig names, as the
// client's signer did, and returns the signature.
func resign(ctx context.Context, r *http.Request, body []byte, creds aws.Credentials, sig authorization, at time.Time) (string, error) {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	c := &http.Request{
		Method: r.Method,
		URL:    &url.URL{Scheme: scheme, Host: r.Host, Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery},
		Host:   r.Host,
		Header: http.Header{},
	}
	for _, name := range sig.signedHeaders {
		switch name {
		case "host":
		case "content-length":
			c.ContentLength = r.ContentLength
		default:
			c.Header[http.CanonicalHeaderKey(name)] = r.Header.Values(name)
		}
	}
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(ctx, creds, c, hex.EncodeToString(sum[:]), sig.service, sig.region, at); err != nil {
		return "", err
	}
	again, ok := parseAuthorization(c.Header.Get("Authorization"))
	if !ok || !slices.Equal(again.signedHeaders, sig.signedHeaders) {
		return "", errSignedHeaders
	}
	return again.signature, nil
}

// errSignedHeaders: the request did not sign the headers a signer must.
var errSignedHeaders = errors.New("signed headers incomplete")

// authorization is a parsed Signature V4 Authorization header.
type authorization struct {
	accessKey, date, region, service string
	signedHeaders                    []string
	signature                        string
}

// parseAuthorization reads "AWS4-HMAC-SHA256 Credential=AKID/date/region/
// service/aws4_request, SignedHeaders=a;b, Signature=hex".
func parseAuthorization(h string) (authorization, bool) {
	rest, ok := strings.CutPrefix(h, sigAlgorithm+" ")
	if !ok {
		return authorization{}, false
	}
	var a authorization
	var credential, signed string
	for _, part := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "Credential":
			credential = v
		case "SignedHeaders":
			signed = v
		case "Signature":
			a.signature = v
		}
	}
	scope := strings.Split(credential, "/")
	if len(scope) != 5 || scope[4] != "aws4_request" || signed == "" || a.signature == "" {
		return authorization{}, false
	}
	a.accessKey, a.date, a.region, a.service = scope[0], scope[1], scope[2], scope[3]
	a.signedHeaders = strings.Split(signed, ";")
	return a, true
}
