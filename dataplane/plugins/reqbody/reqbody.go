// Package reqbody reads and rewrites request bodies for the plugins that
// look inside them (key-auth's key_in_body, request-transformer): it
// buffers the body once, within a size bound, and puts it back so the
// upstream still receives it.
package reqbody

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
)

// MaxSize bounds how much of a body is buffered for inspection; larger
// bodies are left untouched.
const MaxSize = 8 << 20

// ErrTooLarge reports a body over MaxSize.
var ErrTooLarge = errors.New("request body too large to inspect")

// Kind is a body's encoding, from its Content-Type.
type Kind int

// The encodings the plugins understand.
const (
	Other Kind = iota
	Form
	JSON
)

// KindOf returns r's body encoding.
func KindOf(r *http.Request) Kind {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mt {
	case "application/x-www-form-urlencoded":
		return Form
	case "application/json":
		return JSON
	}
	if len(mt) > 5 && mt[len(mt)-5:] == "+json" {
		return JSON
	}
	return Other
}

// Read buffers r's body and replaces it with a fresh reader over the same
// bytes, so later readers see it whole.
func Read(r *http.Request) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading request body: %w", err)
	}
	if len(b) > MaxSize {
		r.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(b), r.Body), r.Body}
		return nil, ErrTooLarge
	}
	_ = r.Body.Close()
	Replace(r, b)
	return b, nil
}

// Replace sets r's body to b, with a matching Content-Length.
func Replace(r *http.Request, b []byte) {
	r.Body = io.NopCloser(bytes.NewReader(b))
	r.ContentLength = int64(len(b))
	r.Header.Set("Content-Length", strconv.Itoa(len(b)))
	r.TransferEncoding = nil
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
}

// Take returns the value of a top-level form or JSON string field named
// name, removing it from the body when remove is true.
func Take(r *http.Request, name string, remove bool) (string, bool) {
	kind := KindOf(r)
	if kind == Other {
		return "", false
	}
	b, err := Read(r)
	if err != nil || len(b) == 0 {
		return "", false
	}
	switch kind {
	case Form:
		vals, err := url.ParseQuery(string(b))
		if err != nil || !vals.Has(name) {
			return "", false
		}
		v := vals.Get(name)
		if remove {
			vals.Del(name)
			Replace(r, []byte(vals.Encode()))
		}
		return v, true
	default:
		var obj map[string]any
		if json.Unmarshal(b, &obj) != nil {
			return "", false
		}
		v, ok := obj[name].(string)
		if !ok {
			return "", false
		}
		if remove {
			delete(obj, name)
			if nb, err := json.Marshal(obj); err == nil {
				Replace(r, nb)
			}
		}
		return v, true
	}
}
