package proxy_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/plugins"
	"github.com/skyport-gw/skyport/dataplane/plugins/reqbody"
	"github.com/skyport-gw/skyport/dataplane/proxy"
	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/internal/pluginschema"
)

// framedEcho is what the framing upstream answers: the body it read and
// how the request framed it. A body past echoWhole comes as its length
// and SHA-256 alone: decoding megabytes of JSON under -race costs seconds
// a subtest, and the digest checks the body as exactly.
type framedEcho struct {
	Body             string   `json:"body"`
	Size             int      `json:"size"`
	SHA256           string   `json:"sha256"`
	ContentLength    int64    `json:"content_length"`
	LengthField      []string `json:"length_field"`
	TransferEncoding []string `json:"transfer_encoding"`
	Expect           string   `json:"expect"`
}

// echoWhole is the largest body the framing upstream echoes whole.
const echoWhole = 1 << 20

// echoBody is what framedEcho holds for body: itself up to echoWhole,
// otherwise its length and SHA-256 alone.
func echoBody(body []byte) (text string, size int, digest string) {
	sum := sha256.Sum256(body)
	if len(body) > echoWhole {
		return "", len(body), hex.EncodeToString(sum[:])
	}
	return string(body), len(body), hex.EncodeToString(sum[:])
}

// TestBodyPluginsFraming sends request bodies through plugins that read
// and rewrite them in the access phase (key-auth's key_in_body, with and
// without hide_credentials; request-transformer) to an upstream that
// reads bodies as net/http does: the upstream gets exactly the rewritten
// body with framing that matches it, whether the client sent it with a
// Content-Length, chunked, or after "100 Continue", over HTTP/1.1 or
// HTTP/2, buffered or streamed, and no request waits for bytes that are
// not coming.
func TestBodyPluginsFraming(t *testing.T) {
	t.Parallel()
	up := newBackend(t, "framing", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		text, size, digest := echoBody(body)
		_ = json.NewEncoder(w).Encode(framedEcho{Body: text, Size: size, SHA256: digest, ContentLength: r.ContentLength,
			LengthField: r.Header["Content-Length"], TransferEncoding: r.TransferEncoding, Expect: r.Header.Get("Expect")})
	}))
	n := 0
	plug := func(name, route string, conf map[string]any) *model.Plugin {
		out, errs, _ := pluginschema.Normalize(name, conf)
		require.Empty(t, errs, name)
		n++
		p := &model.Plugin{Base: model.Base{ID: name + "-" + strconv.Itoa(n)}, Name: name, Enabled: true, Config: out}
		p.Route = &model.Ref{ID: route}
		return p
	}
	svc := service("svc", up.host(), up.port(), "")
	var routes []*model.Route
	var plugs []*model.Plugin
	// Each route comes buffered (Kong's default) and streamed
	// (request_buffering off): /x and /x-stream.
	for _, r := range []struct {
		id    string
		plugs []*model.Plugin
	}{
		{"plain", nil},
		{"body", []*model.Plugin{plug("key-auth", "", map[string]any{"key_in_body": true})}},
		{"hide", []*model.Plugin{plug("key-auth", "", map[string]any{"key_in_body": true, "hide_credentials": true})}},
		{"rt", []*model.Plugin{plug("request-transformer", "", map[string]any{
			"add": map[string]any{"body": []any{"added:yes"}}, "remove": map[string]any{"body": []any{"drop"}}})}},
		{"hidert", []*model.Plugin{plug("key-auth", "", map[string]any{"key_in_body": true, "hide_credentials": true}),
			plug("request-transformer", "", map[string]any{"add": map[string]any{"body": []any{"added:yes"}}})}},
	} {
		for _, stream := range []bool{false, true} {
			id := r.id
			if stream {
				id += "-stream"
			}
			rt := route(id, svc.ID, "/"+id)
			rt.RequestBuffering = !stream
			routes = append(routes, rt)
			for _, p := range r.plugs {
				cp := *p
				cp.ID = p.ID + "-" + id
				cp.Route = &model.Ref{ID: id}
				plugs = append(plugs, &cp)
			}
		}
	}
	cfg := &model.Config{
		Consumers: []*model.Consumer{{Base: model.Base{ID: "alice-id"}, Username: ptr("alice")}},
		KeyAuths: []*model.KeyAuth{{Base: model.Base{ID: "alice-key-id"}, Key: "alice-key",
			Consumer: &model.Ref{ID: "alice-id"}}},
		Services: []*model.Service{svc}, Routes: routes, Plugins: plugs,
	}
	px, front := newProxy(t, cfg, func(o *proxy.Options) { o.Registry = plugins.Registry() })
	addr := strings.TrimPrefix(front.URL, "http://")
	h2l := serveProxy(t, px, false)
	h2c := h2l.client(t, false, false, true)

	const form, js = "application/x-www-form-urlencoded", "application/json"
	const mp = "multipart/form-data; boundary=fB"
	// mpart is a multipart body (boundary "fB") of name, value pairs.
	mpart := func(nv ...string) string {
		var b strings.Builder
		for i := 0; i+1 < len(nv); i += 2 {
			b.WriteString("--fB\r\nContent-Disposition: form-data; name=\"" + nv[i] + "\"\r\n\r\n" + nv[i+1] + "\r\n")
		}
		return b.String() + "--fB--\r\n"
	}
	big := strings.Repeat("z", 40<<10)
	// huge is past what the plugins read (reqbody.MaxSize): they leave it
	// as it came.
	huge := strings.Repeat("z", reqbody.MaxSize)
	for _, tc := range []struct {
		name, path, ctype, body string
		// chunked sends the body chunked; expect sends the head alone
		// with "Expect: 100-continue" and the body after "100 Continue".
		chunked, expect bool
		status          int
		// want is the body the upstream reads.
		want string
	}{
		{name: "plain form", path: "/plain", ctype: form, body: "a=1&apikey=alice-key", status: 200,
			want: "a=1&apikey=alice-key"},
		{name: "plain chunked", path: "/plain", ctype: form, body: "a=1&apikey=alice-key", chunked: true, status: 200,
			want: "a=1&apikey=alice-key"},
		{name: "plain expect", path: "/plain", ctype: form, body: "a=1", expect: true, status: 200, want: "a=1"},
		{name: "plain large", path: "/plain", ctype: form, body: big, status: 200, want: big},
		{name: "key form", path: "/body", ctype: form, body: "a=1&apikey=alice-key", status: 200,
			want: "a=1&apikey=alice-key"},
		{name: "key form chunked", path: "/body", ctype: form, body: "a=1&apikey=alice-key", chunked: true,
			status: 200, want: "a=1&apikey=alice-key"},
		{name: "key form expect", path: "/body", ctype: form, body: "apikey=alice-key", expect: true, status: 200,
			want: "apikey=alice-key"},
		{name: "key form expect chunked", path: "/body", ctype: form, body: "apikey=alice-key", expect: true,
			chunked: true, status: 200, want: "apikey=alice-key"},
		{name: "key json", path: "/body", ctype: js, body: `{"apikey":"alice-key","n":1}`, status: 200,
			want: `{"apikey":"alice-key","n":1}`},
		{name: "key json chunked", path: "/body", ctype: js, body: `{"apikey":"alice-key"}`, chunked: true,
			status: 200, want: `{"apikey":"alice-key"}`},
		{name: "key large", path: "/body", ctype: form, body: "apikey=alice-key&z=" + big, status: 200,
			want: "apikey=alice-key&z=" + big},
		{name: "key large chunked", path: "/body", ctype: form, body: "apikey=alice-key&z=" + big, chunked: true,
			status: 200, want: "apikey=alice-key&z=" + big},
		{name: "key wrong", path: "/body", ctype: form, body: "apikey=nobody", status: 401},
		{name: "key absent", path: "/body", ctype: form, body: "a=1", chunked: true, status: 401},
		{name: "key text body", path: "/body", ctype: "text/plain", body: "apikey=alice-key", status: 401},
		{name: "hide form", path: "/hide", ctype: form, body: "a=1&apikey=alice-key&b=2", status: 200,
			want: "a=1&b=2"},
		{name: "hide form chunked", path: "/hide", ctype: form, body: "a=1&apikey=alice-key", chunked: true,
			status: 200, want: "a=1"},
		{name: "hide only field", path: "/hide", ctype: form, body: "apikey=alice-key", status: 200, want: ""},
		{name: "hide only field chunked", path: "/hide", ctype: form, body: "apikey=alice-key", chunked: true,
			status: 200, want: ""},
		{name: "hide form expect", path: "/hide", ctype: form, body: "apikey=alice-key&a=1", expect: true,
			status: 200, want: "a=1"},
		{name: "hide json", path: "/hide", ctype: js, body: `{"apikey":"alice-key","n":1}`, status: 200,
			want: `{"n":1}`},
		{name: "hide json chunked expect", path: "/hide", ctype: js, body: `{"apikey":"alice-key","n":1}`,
			chunked: true, expect: true, status: 200, want: `{"n":1}`},
		{name: "hide large", path: "/hide", ctype: form, body: "apikey=alice-key&z=" + big, status: 200,
			want: "z=" + big},
		{name: "transformer form", path: "/rt", ctype: form, body: "drop=1&keep=2", status: 200,
			want: "added=yes&keep=2"},
		{name: "transformer form chunked", path: "/rt", ctype: form, body: "drop=1&keep=2", chunked: true,
			status: 200, want: "added=yes&keep=2"},
		{name: "transformer json expect", path: "/rt", ctype: js, body: `{"drop":1}`, expect: true, status: 200,
			want: `{"added":"yes"}`},
		{name: "transformer large", path: "/rt", ctype: form, body: "drop=1&z=" + big, status: 200,
			want: "added=yes&z=" + big},
		{name: "transformer too large", path: "/rt", ctype: form, body: "drop=1&z=" + huge, status: 200,
			want: "drop=1&z=" + huge},
		{name: "transformer too large chunked", path: "/rt", ctype: form, body: "drop=1&z=" + huge, chunked: true,
			status: 200, want: "drop=1&z=" + huge},
		{name: "key too large", path: "/body", ctype: form, body: "apikey=alice-key&z=" + huge, status: 401},
		{name: "key multipart chunked", path: "/body", ctype: mp, body: mpart("a", "1", "apikey", "alice-key"), chunked: true,
			status: 200, want: mpart("a", "1", "apikey", "alice-key")},
		{name: "key multipart absent", path: "/body", ctype: mp, body: mpart("a", "1"), status: 401},
		{name: "hide multipart", path: "/hide", ctype: mp, body: mpart("a", "1", "apikey", "alice-key", "b", big),
			status: 200, want: mpart("a", "1", "b", big)},
		{name: "hide multipart chunked expect", path: "/hide", ctype: mp, body: mpart("apikey", "alice-key", "a", "1"),
			chunked: true, expect: true, status: 200, want: mpart("a", "1")},
		{name: "transformer multipart", path: "/rt", ctype: mp, body: mpart("drop", "1", "keep", "2"), status: 200,
			want: mpart("keep", "2", "added", "yes")},
		{name: "hide then transform multipart", path: "/hidert", ctype: mp, body: mpart("apikey", "alice-key"),
			chunked: true, status: 200, want: mpart("added", "yes")},
		{name: "hide then transform", path: "/hidert", ctype: form, body: "apikey=alice-key", chunked: true,
			status: 200, want: "added=yes"},
	} {
		// A query with ';' goes through ReverseProxy rather than forward.
		for _, v := range []string{"", "-stream", "-h2", "-stream-h2", "-semicolon", "-stream-semicolon"} {
			stream, h2 := strings.CutSuffix(v, "-h2")
			stream, semicolon := strings.CutSuffix(stream, "-semicolon")
			if h2 && tc.expect {
				continue
			}
			t.Run(tc.name+v, func(t *testing.T) {
				path := tc.path + stream + "/x"
				if semicolon {
					path += "?a=1;b=2"
				}
				var status int
				var got string
				if h2 {
					status, got = postH2(t, h2c, h2l.url()+path, tc.ctype, tc.body, tc.chunked)
				} else {
					status, got = postRaw(t, addr, path, tc.ctype, tc.body, tc.chunked, tc.expect)
				}
				require.Equal(t, tc.status, status, got)
				if tc.status != 200 {
					return
				}
				var e framedEcho
				require.NoError(t, json.Unmarshal([]byte(got), &e), got)
				text, size, digest := echoBody([]byte(tc.want))
				assert.Equal(t, text, e.Body, "body")
				assert.Equal(t, size, e.Size, "body size")
				assert.Equal(t, digest, e.SHA256, "body SHA-256")
				// A chunked body streams on chunked; a body read whole,
				// buffered or read by a plugin, goes with its length.
				unread := tc.path == "/plain" || len(tc.body) > reqbody.MaxSize
				if tc.chunked && unread && stream != "" {
					assert.Equal(t, []string{"chunked"}, e.TransferEncoding, "Transfer-Encoding")
					assert.Empty(t, e.LengthField, "Content-Length with chunked")
				} else {
					assert.Empty(t, e.TransferEncoding, "Transfer-Encoding")
					assert.Equal(t, []string{strconv.Itoa(len(tc.want))}, e.LengthField, "Content-Length")
				}
			})
		}
	}
}

// hangGuard bounds one exchange of postRaw or postH2: only an answer that
// never comes, not a slow one on a loaded machine under -race, fails on it.
const hangGuard = 3 * time.Minute

// postRaw POSTs body to path on addr over a new connection, as written:
// chunked or with a Content-Length; with expect, the head goes first and
// the body after "100 Continue". It returns the final status and body. A
// generous deadline bounds the exchange: an answer that never comes fails
// the test instead of hanging it.
func postRaw(t *testing.T, addr, path, ctype, body string, chunked, expect bool) (int, string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.SetDeadline(time.Now().Add(hangGuard)))
	head := "POST " + path + " HTTP/1.1\r\nHost: h\r\nContent-Type: " + ctype + "\r\n"
	if chunked {
		head += "Transfer-Encoding: chunked\r\n"
	} else {
		head += "Content-Length: " + strconv.Itoa(len(body)) + "\r\n"
	}
	if expect {
		head += "Expect: 100-continue\r\n"
	}
	head += "\r\n"
	payload := body
	if chunked {
		// Two chunks, to show the body is read to its end.
		half := len(body) / 2
		payload = ""
		for _, p := range []string{body[:half], body[half:]} {
			if p != "" {
				payload += strconv.FormatInt(int64(len(p)), 16) + "\r\n" + p + "\r\n"
			}
		}
		payload += "0\r\n\r\n"
	}
	br := bufio.NewReader(c)
	if expect {
		_, err = io.WriteString(c, head)
		require.NoError(t, err)
		res, err := http.ReadResponse(br, nil)
		require.NoError(t, err)
		if res.StatusCode != http.StatusContinue {
			got, err := io.ReadAll(res.Body)
			require.NoError(t, err)
			return res.StatusCode, string(got)
		}
		head = ""
	}
	_, err = io.WriteString(c, head+payload)
	require.NoError(t, err)
	res, err := http.ReadResponse(br, nil)
	require.NoError(t, err)
	got, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res.StatusCode, string(got)
}

// postH2 POSTs body to url with c (HTTP/2): with its length, or without
// (chunked), the body then going in DATA frames of unannounced length.
func postH2(t *testing.T, c *http.Client, url, ctype, body string, chunked bool) (int, string) {
	t.Helper()
	var rd io.Reader = strings.NewReader(body)
	if chunked {
		rd = io.MultiReader(rd) // hides the length
	}
	ctx, cancel := context.WithTimeout(t.Context(), hangGuard)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, rd)
	require.NoError(t, err)
	req.Header.Set("Content-Type", ctype)
	res, err := c.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, 2, res.ProtoMajor)
	got, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res.StatusCode, string(got)
}
