package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi/types"

	"github.com/skyport-gw/skyport/internal/objstore"
	"github.com/skyport-gw/skyport/internal/protocol"
	"github.com/skyport-gw/skyport/internal/snapshot"
	"github.com/skyport-gw/skyport/internal/wave"
)

// ErrGone is returned by a Notifier when the connection no longer exists
// (API Gateway's 410 GoneException); its row should be deleted.
var ErrGone = errors.New("connection gone")

// ErrThrottled is returned by a Notifier when API Gateway throttles the
// @connections API (429 TooManyRequests or LimitExceeded): the notice was
// not delivered and may be posted again after a pause.
var ErrThrottled = errors.New("connection api throttled")

// PresignTTL is how long the URL in a config notice stays valid.
const PresignTTL = 15 * time.Minute

// Notifier posts a message to one WebSocket connection.
type Notifier interface {
	// Post sends payload to the connection; ErrGone when it is gone.
	Post(ctx context.Context, connectionID string, payload []byte) error
}

// ManagementAPI is the part of the API Gateway management client a
// ManagementNotifier uses.
type ManagementAPI interface {
	PostToConnection(ctx context.Context, in *apigatewaymanagementapi.PostToConnectionInput, opts ...func(*apigatewaymanagementapi.Options)) (*apigatewaymanagementapi.PostToConnectionOutput, error)
}

var _ Notifier = (*ManagementNotifier)(nil)

// ManagementNotifier posts through API Gateway's @connections API (or the
// local hub that serves the same API).
type ManagementNotifier struct {
	client ManagementAPI
}

// NewManagementNotifier returns a Notifier on client, whose BaseEndpoint
// is the stage's https management endpoint.
func NewManagementNotifier(client ManagementAPI) *ManagementNotifier {
	return &ManagementNotifier{client: client}
}

// Post implements Notifier.
func (n *ManagementNotifier) Post(ctx context.Context, connectionID string, payload []byte) error {
	_, err := n.client.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{
		ConnectionId: &connectionID,
		Data:         payload,
	})
	var gone *types.GoneException
	var limit *types.LimitExceededException
	var status interface{ HTTPStatusCode() int }
	switch {
	case errors.As(err, &gone):
		return fmt.Errorf("posting to connection %s: %w", connectionID, ErrGone)
	case errors.As(err, &limit),
		errors.As(err, &status) && status.HTTPStatusCode() == http.StatusTooManyRequests:
		return fmt.Errorf("posting to connection %s: %w: %w", connectionID, ErrThrottled, err)
	case err != nil:
		return fmt.Errorf("posting to connection %s: %w", connectionID, err)
	}
	return nil
}

// Notice returns the config notice for p, with a presigned URL when
// presigner is not nil.
func Notice(ctx context.Context, p snapshot.Pointer, presigner objstore.Presigner) ([]byte, error) {
	n := protocol.ConfigNotice{
		Type:      protocol.TypeConfig,
		Revision:  p.Revision,
		Key:       p.Key,
		SHA256:    p.SHA256,
		Size:      p.Size,
		Signature: p.Signature,
		Format:    p.Format,
		ClusterID: p.ClusterID,
		Epoch:     p.Epoch,
	}
	if d := p.Delta; d.Key != "" {
		n.Delta = &protocol.DeltaNotice{Base: d.Base, Revision: p.Revision, Key: d.Key, SHA256: d.SHA256,
			Size: d.Size, Signature: d.Signature, Format: d.Format}
	}
	if p.Full != 0 {
		n.Full = p.Full
		for _, d := range p.Chain {
			n.Chain = append(n.Chain, protocol.DeltaNotice{Base: d.Base, Revision: d.Revision, Key: d.Key, SHA256: d.SHA256,
				Size: d.Size, Signature: d.Signature, Format: d.Format})
		}
	}
	if presigner != nil {
		url, err := presigner.PresignGet(ctx, p.Key, PresignTTL)
		if err != nil {
			return nil, fmt.Errorf("presigning %s: %w", p.Key, err)
		}
		n.URL = url
		if n.Delta != nil {
			if n.Delta.URL, err = presigner.PresignGet(ctx, n.Delta.Key, PresignTTL); err != nil {
				return nil, fmt.Errorf("presigning %s: %w", n.Delta.Key, err)
			}
		}
		for i := range n.Chain {
			if n.Chain[i].URL, err = presigner.PresignGet(ctx, n.Chain[i].Key, PresignTTL); err != nil {
				return nil, fmt.Errorf("presigning %s: %w", n.Chain[i].Key, err)
			}
		}
	}
	data, err := json.Marshal(n)
	if err != nil {
		return nil, fmt.Errorf("encoding config notice: %w", err)
	}
	return data, nil
}

// Behind reports whether node should be told about p: it runs an older
// revision, or another cluster or epoch (whatever the revision), and has
// not rejected this revision. A node not yet known (zero value) is behind
// any published revision.
func Behind(n Node, p snapshot.Pointer) bool {
	if p.Revision < 1 || n.RejectedRevision == p.Revision {
		return false
	}
	return n.Revision < p.Revision || n.ClusterID != p.ClusterID || n.Epoch != p.Epoch
}

// ReadLatest returns the pointer in latest.json and its ETag; a zero
// pointer and objstore.ErrNotFound when nothing is published yet. It
// reads at most snapshot.MaxPointer bytes, as data planes do.
func ReadLatest(ctx context.Context, objects objstore.Store) (snapshot.Pointer, string, error) {
	data, etag, err := objstore.GetMax(ctx, objects, snapshot.LatestKey, snapshot.MaxPointer)
	if err != nil {
		return snapshot.Pointer{}, "", fmt.Errorf("reading %s: %w", snapshot.LatestKey, err)
	}
	var p snapshot.Pointer
	if err := json.Unmarshal(data, &p); err != nil {
		return snapshot.Pointer{}, "", fmt.Errorf("decoding %s: %w", snapshot.LatestKey, err)
	}
	return p, etag, nil
}

// ReadReleased returns released.json (package wave), false when no
// rollout policy is in force.
func ReadReleased(ctx context.Context, objects objstore.Store) (wave.Released, bool, error) {
	data, _, err := objstore.GetMax(ctx, objects, wave.ReleasedKey, wave.MaxReleased)
	if errors.Is(err, objstore.ErrNotFound) {
		return wave.Released{}, false, nil
	}
	if err != nil {
		return wave.Released{}, false, fmt.Errorf("reading %s: %w", wave.ReleasedKey, err)
	}
	r, err := wave.Parse(data)
	if err != nil {
		return wave.Released{}, false, err
	}
	return r, true, nil
}

// Released returns the pointer a data plane with labels may run: its
// wave's in released.json, else latest (no rollout policy).
func Released(r wave.Released, staged bool, latest snapshot.Pointer, labels map[string]string) snapshot.Pointer {
	if !staged {
		return latest
	}
	if p, ok := r.For(labels); ok {
		return p
	}
	return latest
}
