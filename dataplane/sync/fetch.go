package sync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/skyport-gw/skyport/internal/objstore"
	"github.com/skyport-gw/skyport/internal/protocol"
	"github.com/skyport-gw/skyport/internal/snapshot"
	"github.com/skyport-gw/skyport/internal/wave"
)

// MaxSnapshot bounds the size an announcement may give a snapshot; every
// snapshot is read with the size its announcement gives as the bound.
const MaxSnapshot = snapshot.MaxStored

// errNoSource reports a notice without a URL on a data plane without a
// fallback store to read it from.
var errNoSource = errors.New("notice has no url and no fallback store is configured")

// fetch returns j's stored bytes: from its presigned URL when it has one,
// else from the fallback store. It reads at most the size j's pointer
// gives (checked against MaxSnapshot before); an object larger than that
// is refused with snapshot.ErrSize.
func (c *Client) fetch(ctx context.Context, j job) ([]byte, error) {
	if j.url != "" {
		return c.download(ctx, j.url, j.ptr.Size)
	}
	if c.cfg.Fallback == nil {
		return nil, errNoSource
	}
	data, _, err := objstore.GetMax(ctx, c.cfg.Fallback, j.ptr.Key, j.ptr.Size)
	if errors.Is(err, objstore.ErrTooLarge) {
		return nil, fmt.Errorf("reading %s: %w: %w", j.ptr.Key, snapshot.ErrSize, err)
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", j.ptr.Key, err)
	}
	return data, nil
}

// download GETs rawURL, reading at most one byte more than size (so a
// longer body fails verification rather than filling memory).
func (c *Client) download(ctx context.Context, rawURL string, size int64) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		// The URL is presigned: it is a credential, kept out of errors.
		return nil, errors.New("building download request: invalid url")
	}
	resp, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("downloading snapshot from %s: %w", req.URL.Host, redact(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("downloading snapshot from %s: status %d", req.URL.Host, resp.StatusCode)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, size+1))
	if err != nil {
		return nil, fmt.Errorf("downloading snapshot from %s: %w", req.URL.Host, redact(err))
	}
	return data, nil
}

// redact drops the URL (with its signature) from an HTTP client error.
func redact(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// noticeJob turns a control plane notice into a job.
func noticeJob(n protocol.ConfigNotice) job {
	var chain []snapshot.DeltaRef
	var urls []string
	if n.Full != 0 {
		for _, d := range n.Chain {
			chain = append(chain, snapshot.DeltaRef{Base: d.Base, Revision: d.Revision, Key: d.Key, SHA256: d.SHA256,
				Size: d.Size, Signature: d.Signature, Format: d.Format})
			urls = append(urls, d.URL)
		}
	}
	return job{
		ptr: snapshot.Pointer{
			ClusterID: n.ClusterID,
			Epoch:     n.Epoch,
			Revision:  n.Revision,
			Key:       n.Key,
			SHA256:    n.SHA256,
			Size:      n.Size,
			Signature: n.Signature,
			Format:    n.Format,
			Full:      n.Full,
			Chain:     chain,
		},
		url:       n.URL,
		source:    SourceCP,
		delta:     n.Delta,
		chainURLs: urls,
	}
}

// readPointerIfChanged reads the pointer this data plane may run from the
// fallback store: its wave's in released.json under a rollout policy,
// else latest.json, each bounded, unless the object it came from still
// has the ETag etag (objstore.ErrNotModified); an empty etag reads
// unconditionally. The ETag it returns names the object ("r:" released,
// "l:" latest), so a policy set or removed between polls is noticed.
func (c *Client) readPointerIfChanged(ctx context.Context, etag string) (snapshot.Pointer, string, error) {
	released, _ := strings.CutPrefix(etag, "r:")
	if !strings.HasPrefix(etag, "r:") {
		released = ""
	}
	raw, got, err := objstore.GetIfChanged(ctx, c.cfg.Fallback, wave.ReleasedKey, released, wave.MaxReleased)
	switch {
	case err == nil:
		r, err := wave.Parse(raw)
		if err != nil {
			return snapshot.Pointer{}, "", err
		}
		p, _ := r.For(c.cfg.Labels)
		return p, "r:" + got, nil
	case errors.Is(err, objstore.ErrNotModified):
		return snapshot.Pointer{}, etag, err
	case errors.Is(err, objstore.ErrTooLarge):
		return snapshot.Pointer{}, "", fmt.Errorf("reading %s: %w: %w", wave.ReleasedKey, snapshot.ErrCorrupt, err)
	case !errors.Is(err, objstore.ErrNotFound):
		return snapshot.Pointer{}, "", fmt.Errorf("reading %s: %w", wave.ReleasedKey, err)
	}
	latest, _ := strings.CutPrefix(etag, "l:")
	if !strings.HasPrefix(etag, "l:") {
		latest = ""
	}
	raw, got, err = objstore.GetIfChanged(ctx, c.cfg.Fallback, snapshot.LatestKey, latest, snapshot.MaxPointer)
	if errors.Is(err, objstore.ErrTooLarge) {
		return snapshot.Pointer{}, "", fmt.Errorf("reading %s: %w: %w", snapshot.LatestKey, snapshot.ErrCorrupt, err)
	}
	if err != nil {
		return snapshot.Pointer{}, "", fmt.Errorf("reading %s: %w", snapshot.LatestKey, err)
	}
	var p snapshot.Pointer
	if err := json.Unmarshal(raw, &p); err != nil {
		return snapshot.Pointer{}, "", fmt.Errorf("reading %s: %w: %w", snapshot.LatestKey, snapshot.ErrCorrupt, err)
	}
	return p, "l:" + got, nil
}
