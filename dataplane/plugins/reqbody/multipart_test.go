package reqbody

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// mpBody joins parts (each its header lines and value) into a body with
// boundary "xB".
func mpBody(parts ...string) string {
	var b strings.Builder
	for _, p := range parts {
		b.WriteString("--xB\r\n" + p + "\r\n")
	}
	b.WriteString("--xB--\r\n")
	return b.String()
}

func field(name, value string) string {
	return "Content-Disposition: form-data; name=\"" + name + "\"\r\n\r\n" + value
}

func mpRequest(ct, body string) *http.Request {
	r, _ := http.NewRequest(http.MethodPost, "http://x/", strings.NewReader(body))
	r.Header.Set("Content-Type", ct)
	return r
}

const mpType = "multipart/form-data; boundary=xB"

func TestMultipartLookup(t *testing.T) {
	many := make([]string, MaxParts+1)
	for i := range many {
		many[i] = field("f"+strconv.Itoa(i), "v")
	}
	for _, tc := range []struct {
		desc, ct, body string
		kind           Kind
		want           string
		field          Field
	}{
		{desc: "field", ct: mpType, body: mpBody(field("a", "1"), field("apikey", "k\r\nv")),
			kind: Multipart, want: "k\r\nv", field: String},
		{desc: "quoted boundary", ct: `multipart/form-data; boundary="xB"`, body: mpBody(field("apikey", "k")),
			kind: Multipart, want: "k", field: String},
		{desc: "preamble, padding, epilogue", ct: mpType,
			body: "ignored\r\n--xB \t\r\n" + field("apikey", "k") + "\r\n--xB--\r\nepilogue",
			kind: Multipart, want: "k", field: String},
		{desc: "file part counts by name", ct: mpType,
			body: mpBody("Content-Disposition: form-data; name=\"apikey\"; filename=\"k.txt\"\r\nContent-Type: text/plain\r\n\r\nk"),
			kind: Multipart, want: "k", field: String},
		{desc: "filename alone is no name", ct: mpType,
			body: mpBody("Content-Disposition: form-data; filename=\"apikey\"\r\n\r\nk"), kind: Multipart},
		{desc: "token name", ct: mpType, body: mpBody("Content-Disposition: form-data; name=apikey\r\n\r\nk"),
			kind: Multipart, want: "k", field: String},
		{desc: "boundary-like text in a value", ct: mpType, body: mpBody(field("apikey", "a\r\n--xBc")),
			kind: Multipart, want: "a\r\n--xBc", field: String},
		{desc: "empty part", ct: mpType, body: "--xB\r\n\r\n--xB\r\n" + field("apikey", "k") + "\r\n--xB--",
			kind: Multipart, want: "k", field: String},
		{desc: "duplicate names are a table", ct: mpType, body: mpBody(field("apikey", "k"), field("apikey", "k")),
			kind: Multipart, field: Multiple},
		{desc: "absent", ct: mpType, body: mpBody(field("a", "1")), kind: Multipart},
		{desc: "no boundary", ct: "multipart/form-data", body: mpBody(field("apikey", "k")), kind: Other},
		{desc: "empty boundary", ct: "multipart/form-data; boundary=", body: mpBody(field("apikey", "k")), kind: Other},
		{desc: "boundary too long", ct: "multipart/form-data; boundary=" + strings.Repeat("b", 71), kind: Other},
		{desc: "other multipart", ct: "multipart/mixed; boundary=xB", body: mpBody(field("apikey", "k")), kind: Other},
		{desc: "wrong boundary", ct: "multipart/form-data; boundary=yB", body: mpBody(field("apikey", "k")), kind: Multipart},
		{desc: "unterminated", ct: mpType, body: "--xB\r\n" + field("apikey", "k"), kind: Multipart},
		{desc: "unterminated header", ct: mpType, body: "--xB\r\nContent-Disposition: form-data; name=\"apikey\"\r\n--xB--", kind: Multipart},
		{desc: "bad header line", ct: mpType, body: mpBody("no colon\r\n\r\nk"), kind: Multipart},
		{desc: "too many parts", ct: mpType, body: mpBody(append(many, field("apikey", "k"))...), kind: Multipart},
		{desc: "huge part header", ct: mpType,
			body: mpBody("X-Pad: " + strings.Repeat("p", MaxPartHeader) + "\r\n" + field("apikey", "k")), kind: Multipart},
		{desc: "empty body", ct: mpType, kind: Multipart},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			r := mpRequest(tc.ct, tc.body)
			if k := KindOf(r); k != tc.kind {
				t.Fatalf("KindOf = %d, want %d", k, tc.kind)
			}
			v, f := Lookup(r, "apikey")
			if v != tc.want || f != tc.field {
				t.Fatalf("Lookup = %q, %d; want %q, %d", v, f, tc.want, tc.field)
			}
			// The body is put back whole, whatever Lookup made of it.
			if b, _ := io.ReadAll(r.Body); string(b) != tc.body {
				t.Fatalf("body after Lookup = %q", b)
			}
		})
	}
}

func TestMultipartRemove(t *testing.T) {
	file := "Content-Disposition: form-data; name=\"f\"; filename=\"a.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n\x00\r\n\xff"
	for _, tc := range []struct {
		desc, body, want string
	}{
		{desc: "middle", body: mpBody(field("a", "1"), field("apikey", "k"), file),
			want: mpBody(field("a", "1"), file)},
		{desc: "first, with preamble and padding",
			body: "pre\r\n--xB  \r\n" + field("apikey", "k") + "\r\n--xB\r\n" + file + "\r\n--xB--epi",
			want: "pre\r\n--xB\r\n" + file + "\r\n--xB--epi"},
		{desc: "last", body: mpBody(file, field("apikey", "k")), want: mpBody(file)},
		{desc: "every duplicate", body: mpBody(field("apikey", "k"), field("b", "2"), field("apikey", "j")),
			want: mpBody(field("b", "2"))},
		{desc: "only part", body: mpBody(field("apikey", "k")), want: "--xB--\r\n"},
		{desc: "absent: untouched", body: mpBody(field("a", "1")), want: mpBody(field("a", "1"))},
		{desc: "unterminated: untouched", body: "--xB\r\n" + field("apikey", "k"), want: "--xB\r\n" + field("apikey", "k")},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			r := mpRequest(mpType, tc.body)
			Remove(r, "apikey")
			b, _ := io.ReadAll(r.Body)
			if string(b) != tc.want {
				t.Fatalf("body = %q, want %q", b, tc.want)
			}
			if r.ContentLength != int64(len(tc.want)) || r.Header.Get("Content-Length") != strconv.Itoa(len(tc.want)) {
				t.Fatalf("Content-Length = %d, %q", r.ContentLength, r.Header.Get("Content-Length"))
			}
			if _, f := Lookup(r, "apikey"); f != Absent {
				t.Fatalf("apikey still there: %d", f)
			}
		})
	}
}

// TestPartsSet checks Set as lua-multipart's set_simple, and that the
// body it makes is one Go's mime/multipart reads.
func TestPartsSet(t *testing.T) {
	file := "Content-Disposition: form-data; name=\"a\"; filename=\"a.txt\"\r\n\r\nfile"
	for _, tc := range []struct {
		desc, body string
		set        [][2]string
		want       string
	}{
		{desc: "first of a name replaced in place, its headers simplified", body: mpBody(file, field("b", "2"), field("a", "3")),
			set: [][2]string{{"a", `x"y`}}, want: `a=x"y b=2 a=3`},
		{desc: "new name added last", body: mpBody(field("a", "1")), set: [][2]string{{"c", "3"}}, want: "a=1 c=3"},
		{desc: "empty body", set: [][2]string{{"c", "3"}, {"d", ""}}, want: "c=3 d="},
		{desc: "name with a line break refused", body: mpBody(field("a", "1")), set: [][2]string{{"b\r\nX-Evil: 1", "v"}}, want: "a=1"},
		{desc: "value holding the delimiter refused", body: mpBody(field("a", "1")), set: [][2]string{{"a", "v\r\n--xB--"}}, want: "a=1"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			m, ok := ReadParts(mpRequest(mpType, tc.body))
			if !ok {
				t.Fatal("ReadParts failed")
			}
			for _, nv := range tc.set {
				m.Set(nv[0], nv[1])
			}
			mr := multipart.NewReader(bytes.NewReader(m.Bytes()), "xB")
			var got []string
			for {
				p, err := mr.NextPart()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("NextPart: %v in %q", err, m.Bytes())
				}
				if p.FileName() != "" {
					t.Fatalf("part %q keeps its filename", p.FormName())
				}
				v, _ := io.ReadAll(p)
				got = append(got, p.FormName()+"="+string(v))
			}
			if strings.Join(got, " ") != tc.want {
				t.Fatalf("parts = %q, want %q", got, tc.want)
			}
		})
	}
}
