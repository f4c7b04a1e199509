package model

import (
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Kong's messages for the field checks shared by several entities
// (kong/db/schema/typedefs.lua and kong/db/schema/init.lua).
const (
	msgRequired = "required field missing"
	msgUUID     = "expected a valid UUID"
	msgEmpty    = "length must be at least 1"
	msgTooLong  = "length must be at most %d"
)

// MaxKeyLength bounds, in bytes as Kong counts lengths, every unique value
// a client chooses: names, usernames, custom ids, credential keys, acl
// groups. Stores index these values: DynamoDB's sort keys hold at most
// 1024 bytes and bbolt's keys 32 KiB, and the index key adds the field
// and, for scoped values, an id. Kong's schemas set no bound on these
// fields (its PostgreSQL unique indexes fail past about 2.7 KB with a
// database error); Skyport refuses longer values with Kong's len_max
// message (kong/db/schema/init.lua) before any store sees them. Hostnames
// (upstream names, snis, targets) are bounded at 253 already.
const MaxKeyLength = 512

// checkMaxLength reports a value longer than MaxKeyLength; ok is false
// when it did.
func checkMaxLength(f FieldErrors, field, v string) (ok bool) {
	if len(v) > MaxKeyLength {
		f.Add(field, fmt.Sprintf(msgTooLong, MaxKeyLength))
		return false
	}
	return true
}

// checkBase validates the id and tags every entity has.
func checkBase(f FieldErrors, b *Base) {
	if b.ID != "" {
		if !validUUID(b.ID) {
			f.Add("id", msgUUID)
		}
	}
	for i, t := range b.Tags {
		if !validTag(t) {
			f.Add(fmt.Sprintf("tags.%d", i+1), fmt.Sprintf(
				"invalid tag '%s': expected printable ascii (except `,` and `/`) or valid utf-8 sequences", t))
		}
	}
}

func validTag(t string) bool {
	if t == "" || !utf8.ValidString(t) {
		return false
	}
	for _, r := range t {
		if r == ',' || r == '/' || (r < 0x80 && (r < 0x21 || r == 0x7f)) {
			return false
		}
	}
	return true
}

// validUUID reports whether s is a UUID in its canonical 36-character form.
func validUUID(s string) bool {
	_, err := uuid.Parse(s)
	return err == nil && len(s) == 36
}

// checkName validates Kong's utf8_name typedef (service, route names).
func checkName(f FieldErrors, field string, name *string) {
	if name == nil {
		return
	}
	if *name == "" {
		f.Add(field, msgEmpty)
		return
	}
	if !checkMaxLength(f, field, *name) {
		return
	}
	if !utf8.ValidString(*name) {
		f.Add(field, "invalid value: not a valid utf-8 string")
		return
	}
	for _, r := range *name {
		if r >= 0x80 || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
			strings.ContainsRune(".-_~", r) {
			continue
		}
		f.Add(field, fmt.Sprintf("invalid value '%s': the only accepted ascii characters are "+
			"alphanumerics or ., -, _, and ~", *name))
		return
	}
}

// checkBetween reports v outside lo..hi with Kong's message.
func checkBetween(f FieldErrors, field string, v, lo, hi int) {
	if v < lo || v > hi {
		f.Add(field, fmt.Sprintf("value should be between %d and %d", lo, hi))
	}
}

// checkOneOf reports v not among allowed with Kong's message.
func checkOneOf[T comparable](f FieldErrors, field string, v T, allowed ...T) {
	for _, a := range allowed {
		if v == a {
			return
		}
	}
	parts := make([]string, len(allowed))
	for i, a := range allowed {
		parts[i] = fmt.Sprint(a)
	}
	f.Add(field, "expected one of: "+strings.Join(parts, ", "))
}

// checkRequired reports an empty string field as missing.
func checkRequired(f FieldErrors, field, v string) bool {
	if v == "" {
		f.Add(field, msgRequired)
		return false
	}
	return true
}

// checkRef reports a reference without an id as missing.
func checkRef(f FieldErrors, field string, r *Ref) {
	if r == nil || r.ID == "" {
		f.Add(field, msgRequired)
		return
	}
	if !validUUID(r.ID) {
		f.Add(field+".id", msgUUID)
	}
}

var hostLabel = regexp.MustCompile(`^[a-zA-Z0-9]([a-zA-Z0-9_-]*[a-zA-Z0-9])?$`)

// validHostname reports whether h is a DNS name or an IP address (an IPv6
// address may be bracketed).
func validHostname(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
		return net.ParseIP(h[1:len(h)-1]) != nil
	}
	if net.ParseIP(h) != nil {
		return true
	}
	for _, l := range strings.Split(strings.TrimSuffix(h, "."), ".") {
		if len(l) > 63 || !hostLabel.MatchString(l) {
			return false
		}
	}
	return true
}

// splitHostPort splits "host", "host:port", "[v6]" or "[v6]:port"; port is
// -1 when absent and ok is false for malformed input.
func splitHostPort(s string) (host string, port int, ok bool) {
	if strings.HasPrefix(s, "[") {
		end := strings.Index(s, "]")
		if end < 0 {
			return "", 0, false
		}
		host, rest := s[:end+1], s[end+1:]
		if rest == "" {
			return host, -1, true
		}
		if !strings.HasPrefix(rest, ":") {
			return "", 0, false
		}
		p, err := strconv.Atoi(rest[1:])
		return host, p, err == nil && rest[1:] != ""
	}
	if strings.Count(s, ":") > 1 {
		if net.ParseIP(s) != nil {
			return "[" + s + "]", -1, true
		}
		return "", 0, false
	}
	h, p, found := strings.Cut(s, ":")
	if !found {
		return h, -1, true
	}
	n, err := strconv.Atoi(p)
	return h, n, err == nil && p != "" && !strings.HasPrefix(p, "+")
}
