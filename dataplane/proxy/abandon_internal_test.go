package proxy

import (
	"context"
	"errors"
	"net"
	"net/http"
	"testing"

	"github.com/skyport-gw/skyport/dataplane/router"
	"github.com/skyport-gw/skyport/internal/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// failingDial is an attempt whose connection is refused, after the
// client went away (abort) on the first.
type failingDial struct {
	sends int
	abort func()
}

func (a *failingDial) send(addr, _ string) (*http.Response, error) {
	a.sends++
	if a.sends == 1 {
		a.abort()
	}
	return nil, &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
}

// A request whose client went away while it connected (the native
// path's guard, which has no context) is not retried: it ends with the
// abort's cause, not after every retry's connect.
func TestAttemptsStopWhenAbandoned(t *testing.T) {
	x, g := &nativeExchange{}, &nativeGuard{}
	ex := &x.exchange
	ex.guard = g
	ex.svc = &service{m: &model.Service{Retries: 5}, hostPort: "127.0.0.1:9"}
	ex.match = &router.Match{Route: &model.Route{}}
	a := &failingDial{abort: func() { g.Abort(errors.New("client closed")) }}
	_, err := (&Server{}).attempts(context.Background(), ex, "GET", "", nil, a)
	require.Error(t, err)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, 1, a.sends)
}
