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
	// Multipart is multipart/form-data with a valid boundary.
	Multipart
)

// KindOf returns r's body encoding.
func KindOf(r *http.Request) Kind {
	ct := r.Header.Get("Content-Type")
	mt, _, _ := mime.ParseMediaType(ct)
	switch mt {
	case "multipart/form-data":
		if boundary(ct) != "" {
			return Multipart
		}
		return Other
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

// Field is what a top-level body field holds, as Kong's key-auth tells
// the values of kong.request.get_body() apart.
type Field int

// The kinds of field.
const (
	// Absent: no such field, or a body that is not form, JSON or
	// multipart (or does not parse).
	Absent Field = iota
	// String: one string value.
	String
	// Multiple: a repeated form or multipart field, or a JSON array or
	// object (a Lua table).
	Multiple
	// Scalar: a JSON number, boolean or null.
	Scalar
)

// Lookup returns what the top-level form, JSON or multipart field name
// holds, and its value when that is one string.
func Lookup(r *http.Request, name string) (string, Field) {
	kind := KindOf(r)
	switch kind {
	case Other:
		return "", Absent
	case Multipart:
		m, ok := ReadParts(r)
		if !ok {
			return "", Absent
		}
		return m.Lookup(name)
	}
	b, err := Read(r)
	if err != nil || len(b) == 0 {
		return "", Absent
	}
	if kind == Form {
		vals, _ := url.ParseQuery(string(b))
		switch vs := vals[name]; len(vs) {
		case 0:
			return "", Absent
		case 1:
			return vs[0], String
		}
		return "", Multiple
	}
	var obj map[string]any
	if json.Unmarshal(b, &obj) != nil {
		return "", Absent
	}
	v, ok := obj[name]
	if !ok {
		return "", Absent
	}
	switch v := v.(type) {
	case string:
		return v, String
	case []any, map[string]any:
		return "", Multiple
	}
	return "", Scalar
}

// Remove deletes the top-level form or JSON field name, or the
// multipart parts of that name, from r's body, re-encoding the body when
// the field was there (a multipart body keeps its boundary and its other
// parts byte for byte).
func Remove(r *http.Request, name string) {
	kind := KindOf(r)
	switch kind {
	case Other:
		return
	case Multipart:
		if m, ok := ReadParts(r); ok && m.Delete(name) {
			Replace(r, m.Bytes())
		}
		return
	}
	b, err := Read(r)
	if err != nil || len(b) == 0 {
		return
	}
	if kind == Form {
		vals, _ := url.ParseQuery(string(b))
		if vals.Has(name) {
			vals.Del(name)
			Replace(r, []byte(vals.Encode()))
		}
		return
	}
	var obj map[string]any
	if json.Unmarshal(b, &obj) != nil {
		return
	}
	if _, ok := obj[name]; !ok {
		return
	}
	delete(obj, name)
	if nb, err := json.Marshal(obj); err == nil {
		Replace(r, nb)
	}
}
