package objstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// ErrNoList: the store cannot list its keys (HTTP).
var ErrNoList = errors.New("store cannot list keys")

// HTTP reads the object layout from a static HTTP server or a CDN in
// front of a bucket (CloudFront before the snapshot bucket, a bucket's
// website endpoint, a directory served by any web server): read-only,
// bounded, with conditional reads on the ETag. Snapshots hold credentials,
// so it takes https://, or http:// on a loopback host only.
type HTTP struct {
	base   *url.URL
	client *http.Client
}

var (
	_ Store        = (*HTTP)(nil)
	_ Limiter      = (*HTTP)(nil)
	_ ChangeGetter = (*HTTP)(nil)
)

// NewHTTP returns a store reading below base with client (nil: one with
// a one-minute timeout).
func NewHTTP(base string, client *http.Client) (*HTTP, error) {
	if client == nil {
		client = &http.Client{Timeout: time.Minute}
	}
	u, err := url.Parse(base)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || u.RawQuery != "" || u.User != nil {
		return nil, fmt.Errorf("http store %q: want https://host/prefix", base)
	}
	if u.Scheme == "http" && !loopback(u.Hostname()) {
		return nil, fmt.Errorf("http store %q: plain http only on a loopback host; snapshots carry credentials, use https", base)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	return &HTTP{base: u, client: client}, nil
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// url is the object's URL; keys are relative paths without dot segments.
func (h *HTTP) url(key string) (string, error) {
	for _, seg := range strings.Split(key, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return "", fmt.Errorf("key %q: not a relative path", key)
		}
	}
	u := *h.base
	u.Path += "/" + key
	return u.String(), nil
}

// Get implements Store: GetMax bounded by MaxObjectSize.
func (h *HTTP) Get(ctx context.Context, key string) ([]byte, string, error) {
	return h.GetMax(ctx, key, MaxObjectSize)
}

// GetMax implements Limiter.
func (h *HTTP) GetMax(ctx context.Context, key string, max int64) ([]byte, string, error) {
	return h.GetIfChanged(ctx, key, "", max)
}

// GetIfChanged implements ChangeGetter with If-None-Match: 304 is
// ErrNotModified, 404 (and 403, which a bucket answers for an absent key
// to readers who may not list) ErrNotFound.
func (h *HTTP) GetIfChanged(ctx context.Context, key, etag string, max int64) ([]byte, string, error) {
	raw, err := h.url(key)
	if err != nil {
		return nil, "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, raw, nil)
	if err != nil {
		return nil, "", fmt.Errorf("reading %s: %w", key, err)
	}
	if etag != "" {
		req.Header.Set("If-None-Match", etag)
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return nil, "", fmt.Errorf("reading %s from %s: %w", key, h.base.Host, err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusNotModified:
		return nil, etag, fmt.Errorf("reading %s: %w", key, ErrNotModified)
	case http.StatusNotFound, http.StatusForbidden:
		return nil, "", fmt.Errorf("reading %s: %w (status %d)", key, ErrNotFound, resp.StatusCode)
	default:
		return nil, "", fmt.Errorf("reading %s from %s: status %d", key, h.base.Host, resp.StatusCode)
	}
	if resp.ContentLength > max {
		return nil, "", fmt.Errorf("reading %s: %w (%d bytes, at most %d)", key, ErrTooLarge, resp.ContentLength, max)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	if err != nil {
		return nil, "", fmt.Errorf("reading %s from %s: %w", key, h.base.Host, err)
	}
	if int64(len(data)) > max {
		return nil, "", fmt.Errorf("reading %s: %w (more than %d bytes)", key, ErrTooLarge, max)
	}
	return data, resp.Header.Get("ETag"), nil
}

// List implements Store: refused, HTTP has no listing.
func (h *HTTP) List(context.Context, string) ([]string, error) { return nil, ErrNoList }

// Put implements Store: refused.
func (h *HTTP) Put(context.Context, string, []byte, Condition) (string, error) {
	return "", ErrReadOnly
}

// Delete implements Store: refused.
func (h *HTTP) Delete(context.Context, string) error { return ErrReadOnly }
