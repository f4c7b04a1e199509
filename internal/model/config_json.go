package model

import (
	"bytes"
	"encoding/json"
	"io"
	"reflect"
	"strings"
)

// configLists are Config's lists in field order with their JSON names;
// every one is omitempty.
var configLists = func() []configList {
	t := reflect.TypeFor[Config]()
	out := make([]configList, 0, t.NumField())
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		quoted, _ := json.Marshal(name)
		out = append(out, configList{i, quoted})
	}
	return out
}()

type configList struct {
	index int
	name  []byte // the JSON name, quoted
}

// WriteJSON writes the bytes json.Marshal(c) gives to w (with
// escapeHTML false, those of an Encoder with SetEscapeHTML(false), less
// its newline), an entity at a time: a configuration of a million
// entities never sits in one buffer, which encoding/json would also keep
// pooled afterwards. w should be buffered.
func (c *Config) WriteJSON(w io.Writer, escapeHTML bool) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(escapeHTML)
	v := reflect.ValueOf(c).Elem()
	sep := byte('{')
	for _, f := range configLists {
		list := v.Field(f.index)
		if list.Len() == 0 {
			continue
		}
		if err := writeAll(w, []byte{sep}, f.name, []byte(":[")); err != nil {
			return err
		}
		sep = ','
		for i := range list.Len() {
			buf.Reset()
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := enc.Encode(list.Index(i).Interface()); err != nil {
				return err
			}
			if _, err := w.Write(bytes.TrimSuffix(buf.Bytes(), []byte{'\n'})); err != nil {
				return err
			}
		}
		if _, err := w.Write([]byte{']'}); err != nil {
			return err
		}
	}
	end := []byte{'}'}
	if sep == '{' {
		end = []byte("{}")
	}
	_, err := w.Write(end)
	return err
}

func writeAll(w io.Writer, parts ...[]byte) error {
	for _, p := range parts {
		if _, err := w.Write(p); err != nil {
			return err
		}
	}
	return nil
}
