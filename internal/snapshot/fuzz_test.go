package snapshot_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/internal/snapshot"
)

// gzipped compresses doc as a snapshot is stored.
func gzipped(f *testing.F, doc string) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write([]byte(doc)); err != nil {
		f.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		f.Fatal(err)
	}
	return buf.Bytes()
}

// FuzzDecode checks that Decode and DecodePacked never panic on
// arbitrary bytes, and that when both accept a document they decode the
// same configuration (DecodePacked refuses a null entity, which Decode
// keeps as a nil entry, and a list met twice, of which Decode keeps the
// last). The seeds are sealed documents and the forms
// DecodePacked's hand-written entity decoders give up on (escapes, keys
// in another case or met twice, null fields, numbers that are not plain
// integers), gzipped.
func FuzzDecode(f *testing.F) {
	_, priv, err := snapshot.GenerateKey()
	if err != nil {
		f.Fatal(err)
	}
	cfg := sampleConfig()
	co := &model.Consumer{Username: model.String("alice"), CustomID: model.String("c-1")}
	co.ID, co.Tags = "d0000000-0000-4000-a000-000000000004", []string{}
	ttl := 60
	cred := &model.KeyAuth{Key: "k\u00e9y-of-alice", TTL: &ttl, Consumer: &model.Ref{ID: co.ID}}
	cred.ID, cred.Tags, cred.CreatedAt = "e0000000-0000-4000-a000-000000000005", []string{"team-a", "x"}, 1795239000
	cfg.Consumers, cfg.KeyAuths = []*model.Consumer{co}, []*model.KeyAuth{cred}
	data, _, err := snapshot.Seal(&snapshot.Document{Revision: 1, Config: cfg}, priv, time.Unix(0, 0))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add([]byte{0x1f, 0x8b})
	f.Add([]byte("{}"))
	for _, doc := range []string{
		`{"format":"1.0","revision":2,"consumers":[{"id":"a","created_at":1,"updated_at":2,"tags":null,"username":"u","custom_id":null}]}`,
		`{"format":"1.0","revision":2,"consumers":[{"id":"a\u0062","tags":["x\n"],"username":"\u00e9"}],"keyauth_credentials":null}`,
		`{"format":"1.0","revision":2,"consumers":[{"ID":"a","Username":"u"},{"id":"b","id":"c"}]}`,
		`{"format":"1.0","revision":2,"keyauth_credentials":[{"id":"k","key":"s","ttl":1.5,"consumer":{"id":"a"}}]}`,
		`{"format":"1.0","revision":2,"keyauth_credentials":[{"id":"k","key":"s","ttl":null,"consumer":null,"x":[1,{"y":"]"}]}]}`,
		`{"format":"1.0","revision":2,"keyauth_credentials":[{"id":"k","created_at":-0,"ttl":007,"consumer":{}}]}`,
		`{"format":"1.0","revision":2,"keyauth_credentials":[{"id":"k","created_at":99999999999999999999}]}`,
		`{"format":"1.0","revision":2,"consumers":[null]}`,
		`{"format":"1.0","revision":2,"consumers":[{"id":"a"},]}`,
		`{"format":"1.0","revision":2,"consumers":[{"id":"a"}] , "Epoch" : 3 , "x":{"y":[true,false,null]}}  `,
		`{"format":"1.0","revision":2,"consumers":{"id":"a"}}`,
		`{"format":"1.0","revision":2,"consumers":[{"id":"a"}],"Consumers":[{"id":"b"}]}`,
		`{"format":"1.0","revision":2,"services":[{"id":"s","host":"h","port":80,"protocol":"http"}]}x`,
	} {
		f.Add(gzipped(f, doc))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := snapshot.Decode(data)
		if err == nil && doc == nil {
			t.Fatal("nil document without an error")
		}
		packed, perr := snapshot.DecodePacked(data)
		if perr == nil && packed == nil {
			t.Fatal("nil packed document without an error")
		}
		if err == nil && perr != nil && !hasNullEntity(&doc.Config) && !strings.Contains(perr.Error(), "the list appears twice") {
			t.Fatalf("DecodePacked refuses what Decode accepts: %v", perr)
		}
		if err != nil || perr != nil {
			return
		}
		want, err := json.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		got, err := json.Marshal(packed)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(want, got) {
			t.Fatalf("DecodePacked decoded\n%s\nDecode\n%s", got, want)
		}
	})
}

// hasNullEntity reports whether a list of cfg holds a nil entity.
func hasNullEntity(cfg *model.Config) bool {
	v := reflect.ValueOf(cfg).Elem()
	for i := range v.NumField() {
		for j := range v.Field(i).Len() {
			if v.Field(i).Index(j).IsNil() {
				return true
			}
		}
	}
	return false
}

// TestDecodePackedListTwice: a document holding one of its entity lists
// twice (in any case), which encoding/json decodes to the last, is
// refused by DecodePacked, which cannot take back the first's entities,
// rather than decoded to both.
func TestDecodePackedListTwice(t *testing.T) {
	t.Parallel()
	for _, doc := range []string{
		`{"format":"1.0","revision":2,"consumers":[{"id":"a","username":"a"}],"consumers":[{"id":"b","username":"b"}]}`,
		`{"format":"1.0","revision":2,"consumers":[{"id":"a","username":"a"}],"Consumers":null}`,
		`{"format":"1.0","revision":2,"consumers":null,"CONSUMERS":[]}`,
	} {
		_, err := snapshot.DecodePacked(gzippedT(t, doc))
		if err == nil || !strings.Contains(err.Error(), "the list appears twice") {
			t.Errorf("%s: DecodePacked answered %v, want the list refused", doc, err)
		}
	}
	// Once each, in any case, is a document.
	doc, err := snapshot.DecodePacked(gzippedT(t, `{"format":"1.0","revision":2,"Consumers":[{"id":"a","username":"a"}],"keyauth_credentials":null}`))
	if err != nil || len(doc.Consumers) != 1 {
		t.Fatalf("DecodePacked: %v", err)
	}
}

// gzippedT is gzipped for a test.
func gzippedT(t *testing.T, doc string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write([]byte(doc)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
