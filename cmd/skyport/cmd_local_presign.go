package main

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/skyport-gw/skyport/internal/objstore"
)

// snapshotPath is where the cluster listener serves presigned snapshot
// downloads in local mode.
const snapshotPath = "/_snapshots/"

// localPresigner is local mode's stand-in for S3 presigned GETs: it hands
// out expiring, HMAC-signed URLs of the snapshot directory and serves
// them, so a data plane with only --cp-url fetches snapshots as it does
// from S3 in AWS. The secret is random per process: a URL does not
// outlive a restart, as it would not outlive its expiry.
type localPresigner struct {
	base    string // http://host:port of the cluster listener
	objects objstore.Store
	secret  []byte
	// now is the clock URLs expire by.
	now func() time.Time
}

var (
	_ objstore.Presigner = (*localPresigner)(nil)
	_ http.Handler       = (*localPresigner)(nil)
)

func newLocalPresigner(base string, objects objstore.Store) *localPresigner {
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	return &localPresigner{base: base, objects: objects, secret: secret, now: time.Now}
}

// PresignGet returns a URL for key valid for ttl.
func (p *localPresigner) PresignGet(_ context.Context, key string, ttl time.Duration) (string, error) {
	if !presignable(key) {
		return "", fmt.Errorf("presigning %s: only snapshots and deltas are served", key)
	}
	exp := p.now().Add(ttl).Unix()
	return fmt.Sprintf("%s%s%s?expires=%d&signature=%s", p.base, snapshotPath, key, exp, p.sign(key, exp)), nil
}

// presignable reports whether key is a snapshot's or a delta's, the objects
// presigned URLs may name.
func presignable(key string) bool {
	return strings.HasPrefix(key, "snapshots/") || strings.HasPrefix(key, "deltas/")
}

func (p *localPresigner) sign(key string, exp int64) string {
	m := hmac.New(sha256.New, p.secret)
	fmt.Fprintf(m, "%s\n%d", key, exp)
	return hex.EncodeToString(m.Sum(nil))
}

// ServeHTTP serves a presigned URL: 403 when the signature does not match
// or has expired, 404 when the snapshot does not exist.
func (p *localPresigner) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	key := strings.TrimPrefix(r.URL.Path, snapshotPath)
	exp, err := strconv.ParseInt(r.URL.Query().Get("expires"), 10, 64)
	sig, _ := hex.DecodeString(r.URL.Query().Get("signature"))
	want, _ := hex.DecodeString(p.sign(key, exp))
	if err != nil || !hmac.Equal(sig, want) || p.now().Unix() > exp || !presignable(key) {
		http.Error(w, "request signature is invalid or expired", http.StatusForbidden)
		return
	}
	data, _, err := p.objects.Get(r.Context(), key)
	switch {
	case errors.Is(err, objstore.ErrNotFound):
		http.Error(w, "no such snapshot", http.StatusNotFound)
		return
	case err != nil:
		http.Error(w, "reading the snapshot failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/gzip")
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	if r.Method == http.MethodGet {
		_, _ = w.Write(data)
	}
}

// clusterHandler serves the cluster listener: presigned snapshot
// downloads when snapshots is set, and the WebSocket hub.
func clusterHandler(hub http.Handler, snapshots http.Handler) http.Handler {
	if snapshots == nil {
		return hub
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, snapshotPath) {
			snapshots.ServeHTTP(w, r)
			return
		}
		hub.ServeHTTP(w, r)
	})
}
