package plugins_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/skyport-gw/skyport/dataplane/plugin"
	"github.com/skyport-gw/skyport/dataplane/plugins"
	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/internal/pluginschema"
)

// A snapshot's plugins are built once with the registry, then run per
// request: here key-auth refuses a request without a key.
func ExampleRegistry() {
	conf, _, _ := pluginschema.Normalize("key-auth", map[string]any{"key_names": []any{"x-api-key"}})
	p := model.NewPlugin()
	p.ID, p.Name, p.Config = "p1", "key-auth", conf
	set, err := plugin.Build(plugins.Registry(), &model.Config{Plugins: []*model.Plugin{p}})
	if err != nil {
		fmt.Println(err)
		return
	}
	pc := plugin.NewContext(nil, nil, nil, "192.0.2.1")
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	resp := set.Access(pc, r)
	// The proxy renders Kong's error body for the request, with its id.
	resp.Render(r, "5c1e7d0f9a2b4c6d8e0f1a2b3c4d5e6f")
	fmt.Println(resp.Status, resp.Header.Get("WWW-Authenticate"), resp.Header.Get("Content-Type"))
	fmt.Println(string(resp.Body))
	// Output:
	// 401 Key application/json; charset=utf-8
	// {
	//   "message":"No API key found in request",
	//   "request_id":"5c1e7d0f9a2b4c6d8e0f1a2b3c4d5e6f"
	// }
}
