package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"reflect"
	"strings"

	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/internal/pluginschema"
)

// httpError is a client error answered with Kong's plain {"message"} body.
type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return e.msg }

var errCannotParse = &httpError{status: http.StatusBadRequest, msg: "Cannot parse JSON body"}

// readBody reads the request body as parseBody does.
func (h *Handler) readBody(r *http.Request, k model.Kind, plugin string) (map[string]any, error) {
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, fmt.Errorf("reading request body: %w", err)
	}
	return h.decodeBody(r.Context(), raw, r.Header.Get("Content-Type"), k, plugin)
}

// parseBody parses a request body as a JSON object, a form or a multipart
// form. Form values are coerced to the types of kind k's fields (plugin is
// the plugin name, for typing config.* fields of a PATCH).
func parseBody(raw []byte, contentType string, k model.Kind, plugin string) (map[string]any, error) {
	values, isForm, err := formValues(contentType, raw)
	if err != nil {
		return nil, err
	}
	var body map[string]any
	switch {
	case isForm:
		if plugin == "" {
			plugin = values.Get("name")
		}
		if body, err = formToMap(values, newReflectNode(k, plugin)); err != nil {
			return nil, err
		}
	case len(bytes.TrimSpace(raw)) == 0:
		return map[string]any{}, nil
	default:
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&body); err != nil || dec.More() || body == nil {
			return nil, errCannotParse
		}
	}
	return body, nil
}

// decodeBody parses raw as parseBody does and reduces the foreign keys it
// holds as whole objects to their primary keys (foreignKeys).
func (h *Handler) decodeBody(ctx context.Context, raw []byte, contentType string, k model.Kind, plugin string) (map[string]any, error) {
	body, err := parseBody(raw, contentType, k, plugin)
	if err != nil {
		return nil, err
	}
	if err := h.foreignKeys(ctx, k, body); err != nil {
		return nil, err
	}
	return body, nil
}

// formValues parses a url-encoded or multipart body; isForm is false for
// any other content type. Multipart files are read as values.
func formValues(contentType string, raw []byte) (url.Values, bool, error) {
	mt, params, _ := mime.ParseMediaType(contentType)
	switch mt {
	case "application/x-www-form-urlencoded":
		v, err := url.ParseQuery(string(raw))
		if err != nil {
			return nil, true, &httpError{status: http.StatusBadRequest, msg: "Cannot parse form body"}
		}
		return v, true, nil
	case "multipart/form-data":
		form, err := multipart.NewReader(bytes.NewReader(raw), params["boundary"]).ReadForm(int64(len(raw)) + 1)
		if err != nil {
			return nil, true, &httpError{status: http.StatusBadRequest, msg: "Cannot parse multipart body"}
		}
		defer func() { _ = form.RemoveAll() }()
		v := url.Values(form.Value)
		for name, files := range form.File {
			for _, fh := range files {
				f, err := fh.Open()
				if err != nil {
					return nil, true, fmt.Errorf("opening multipart file: %w", err)
				}
				data, err := io.ReadAll(f)
				_ = f.Close()
				if err != nil {
					return nil, true, fmt.Errorf("reading multipart file: %w", err)
				}
				v.Add(name, string(data))
			}
		}
		return v, true, nil
	}
	return nil, false, nil
}

// build decodes body strictly into a new entity of kind k (Kong's
// defaults first), then normalizes, completes and validates it.
func (h *Handler) build(k model.Kind, body map[string]any) (model.Entity, error) {
	e, err := model.New(k)
	if err != nil {
		return nil, fmt.Errorf("building %s: %w", k, err)
	}
	if k == model.KindPlugin && body["protocols"] == nil {
		// Each plugin has its own default protocols (ip-restriction
		// also runs for tcp and tls).
		if s, ok := pluginschema.Lookup(fmt.Sprint(body["name"])); ok && len(s.DefaultProtocols) > 0 {
			body["protocols"] = s.DefaultProtocols
		}
	}
	raw, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("encoding %s body: %w", k, err)
	}
	if err := decodeStrict(raw, e); err != nil {
		return nil, err
	}
	e.Normalize()
	if err := h.complete(e); err != nil {
		return nil, err
	}
	if err := e.Validate(); err != nil {
		return nil, err
	}
	return e, nil
}

// decodeStrict decodes raw into v, turning unknown fields and type
// mismatches into schema violations with Kong's field messages.
func decodeStrict(raw []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		return nil
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := te.Field
		if field == "" {
			return errCannotParse
		}
		return fieldError(field, expected(te.Type))
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return fieldError(strings.Trim(name, `"`), "unknown field")
	}
	return errCannotParse
}

// expected is Kong's message for a value of the wrong type.
func expected(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "expected an integer"
	case reflect.Float32, reflect.Float64:
		return "expected a number"
	case reflect.String:
		return "expected a string"
	case reflect.Bool:
		return "expected a boolean"
	case reflect.Slice, reflect.Array:
		return "expected an array"
	case reflect.Map:
		return "expected a map"
	}
	return "expected a record"
}

// toMap returns the JSON object form of e.
func toMap(e model.Entity) (map[string]any, error) {
	raw, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("encoding %s: %w", e.Kind(), err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("decoding %s: %w", e.Kind(), err)
	}
	return m, nil
}

// mergeInto merges a PATCH body into dst: records merge recursively,
// anything else (arrays, scalars, null) replaces. A foreign key merges as
// a replacement: readBody has reduced it to its primary key.
func mergeInto(dst, src map[string]any) {
	for k, v := range src {
		sm, ok := v.(map[string]any)
		dm, ok2 := dst[k].(map[string]any)
		if ok && ok2 && k != "headers" {
			mergeInto(dm, sm)
			continue
		}
		dst[k] = v
	}
}

// jsonNumber keeps a form number's text as a JSON number.
func jsonNumber(v string) json.Number { return json.Number(v) }

func isJSONNumber(v string) bool {
	return v != "" && (v[0] == '-' || (v[0] >= '0' && v[0] <= '9')) && json.Valid([]byte(v))
}
