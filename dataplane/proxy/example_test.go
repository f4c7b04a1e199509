package proxy_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"

	"github.com/skyport-gw/skyport/dataplane/proxy"
	"github.com/skyport-gw/skyport/internal/model"
)

func ExampleServer_Apply() {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "upstream saw %s", r.URL.Path)
	}))
	defer upstream.Close()
	host, p, _ := net.SplitHostPort(upstream.Listener.Addr().String())
	port, _ := strconv.Atoi(p)

	svc := model.NewService()
	svc.ID, svc.Host, svc.Port, svc.Path = "svc-1", host, port, ptr("/v1")
	rt := model.NewRoute()
	rt.ID, rt.Paths, rt.Service = "route-1", []string{"/api"}, &model.Ref{ID: svc.ID}

	px := proxy.New(proxy.Options{Version: "example"})
	defer px.Close()
	if err := px.Apply(context.Background(), &model.Config{Services: []*model.Service{svc}, Routes: []*model.Route{rt}}, 1, "example"); err != nil {
		fmt.Println(err)
		return
	}
	// The data plane's listener: HTTP/1.x on dataplane/h1, HTTP/2 on
	// net/http's server.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	front := px.Frontend(nil)
	go func() { _ = front.Serve(ln) }()
	defer front.Close()

	res, err := http.Get("http://" + ln.Addr().String() + "/api/users")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	rev, _ := px.Current()
	fmt.Println(res.StatusCode, string(body), "revision", rev)
	// Output: 200 upstream saw /v1/users revision 1
}
