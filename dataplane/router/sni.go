package router

import "strings"

// sniKey is one compiled route SNI. As in kong/router/transform.lua
// (sni_op_transform, sni_val_transform), "*.example.com" matches names
// ending with ".example.com" (at any depth), "example.*" names starting
// with "example.", and any other SNI the name itself; a trailing dot is
// not part of the name.
type sniKey struct {
	kind hostKind
	key  string // lower case, without the wildcard
}

func parseSNIKey(s string) sniKey {
	s = trimDot(strings.ToLower(s))
	switch {
	case strings.HasPrefix(s, "*"):
		return sniKey{kind: hostSuffix, key: s[1:]}
	case strings.HasSuffix(s, "*"):
		return sniKey{kind: hostPrefix, key: s[:len(s)-1]}
	}
	return sniKey{kind: hostPlain, key: s}
}

// matchSNI reports whether the request's server name matches one of keys.
func matchSNI(keys []sniKey, sni string) bool {
	sni = lowerASCII(trimDot(sni))
	for _, k := range keys {
		switch k.kind {
		case hostSuffix:
			if strings.HasSuffix(sni, k.key) {
				return true
			}
		case hostPrefix:
			if strings.HasPrefix(sni, k.key) {
				return true
			}
		default:
			if sni == k.key {
				return true
			}
		}
	}
	return false
}

// trimDot drops the trailing dot of a fully qualified name.
func trimDot(s string) string {
	if len(s) > 1 && s[len(s)-1] == '.' {
		return s[:len(s)-1]
	}
	return s
}
