package main

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/skyport-gw/skyport/internal/objstore"
	"github.com/skyport-gw/skyport/internal/snapshot"
	"github.com/skyport-gw/skyport/lambdas/imports"
)

// snapshotPath is where the cluster listener serves presigned snapshot
// downloads in local mode, uploadPath where it takes presigned uploads
// (an import job's configuration).
const (
	snapshotPath = "/_snapshots/"
	uploadPath   = "/_uploads/"
)

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
	_ objstore.Presigner    = (*localPresigner)(nil)
	_ objstore.PutPresigner = (*localPresigner)(nil)
	_ http.Handler          = (*localPresigner)(nil)
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

// PresignPut returns a URL that uploads an import job's configuration to
// key with a PUT, valid for ttl.
func (p *localPresigner) PresignPut(_ context.Context, key string, ttl time.Duration) (string, error) {
	if !uploadable(key) {
		return "", fmt.Errorf("presigning an upload to %s: only import uploads are taken", key)
	}
	exp := p.now().Add(ttl).Unix()
	return fmt.Sprintf("%s%s%s?expires=%d&signature=%s", p.base, uploadPath, key, exp, p.sign(http.MethodPut+" "+key, exp)), nil
}

// uploadable reports whether key is an import job's upload, the only
// objects presigned uploads may write.
func uploadable(key string) bool {
	id, ok := strings.CutPrefix(key, "imports/")
	id, ok2 := strings.CutSuffix(id, "/config")
	return ok && ok2 && imports.ValidID(id) && key == imports.UploadKey(id)
}

func (p *localPresigner) sign(key string, exp int64) string {
	m := hmac.New(sha256.New, p.secret)
	fmt.Fprintf(m, "%s\n%d", key, exp)
	return hex.EncodeToString(m.Sum(nil))
}

// valid reports whether r carries a signature of what (the key, or the
// method and the key) that has not expired.
func (p *localPresigner) valid(r *http.Request, what string) bool {
	exp, err := strconv.ParseInt(r.URL.Query().Get("expires"), 10, 64)
	sig, _ := hex.DecodeString(r.URL.Query().Get("signature"))
	want, _ := hex.DecodeString(p.sign(what, exp))
	return err == nil && hmac.Equal(sig, want) && p.now().Unix() <= exp
}

// ServeHTTP serves a presigned URL: 403 when the signature does not match
// or has expired, 404 when the snapshot does not exist.
func (p *localPresigner) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, uploadPath) {
		p.upload(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	key := strings.TrimPrefix(r.URL.Path, snapshotPath)
	if !p.valid(r, key) || !presignable(key) {
		http.Error(w, "request signature is invalid or expired", http.StatusForbidden)
		return
	}
	data, _, err := objstore.GetMax(r.Context(), p.objects, key, snapshot.MaxStored)
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

// upload takes a presigned upload as S3 takes a presigned PUT: the body,
// at most imports.MaxUploadBytes, replaces the object; 403 when the
// signature does not match or has expired.
func (p *localPresigner) upload(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPut {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	key := strings.TrimPrefix(r.URL.Path, uploadPath)
	if !uploadable(key) || !p.valid(r, http.MethodPut+" "+key) {
		http.Error(w, "request signature is invalid or expired", http.StatusForbidden)
		return
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, imports.MaxUploadBytes))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		http.Error(w, fmt.Sprintf("the upload is larger than %d bytes", imports.MaxUploadBytes), http.StatusRequestEntityTooLarge)
		return
	case err != nil:
		http.Error(w, "reading the upload failed", http.StatusBadRequest)
		return
	}
	etag, err := p.objects.Put(r.Context(), key, data, objstore.Condition{})
	if err != nil {
		http.Error(w, "storing the upload failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("ETag", etag)
	w.WriteHeader(http.StatusOK)
}

// clusterHandler serves the cluster listener: presigned snapshot
// downloads when snapshots is set, and the WebSocket hub.
func clusterHandler(hub http.Handler, snapshots http.Handler) http.Handler {
	if snapshots == nil {
		return hub
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, snapshotPath) || strings.HasPrefix(r.URL.Path, uploadPath) {
			snapshots.ServeHTTP(w, r)
			return
		}
		hub.ServeHTTP(w, r)
	})
}
