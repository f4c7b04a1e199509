package model

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// HashPassword returns the bcrypt hash of a basic-auth password, as it is
// stored. The plain password never appears in the error.
func HashPassword(plain string) (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(plain), bcrypt.DefaultCost)
	if err != nil {
		if errors.Is(err, bcrypt.ErrPasswordTooLong) {
			return "", fmt.Errorf("hashing password: longer than 72 bytes")
		}
		return "", fmt.Errorf("hashing password: %w", err)
	}
	return string(h), nil
}

// IsPasswordHash reports whether s is already a bcrypt hash, so that a
// stored credential is not hashed twice.
func IsPasswordHash(s string) bool {
	if len(s) != 60 || !(strings.HasPrefix(s, "$2a$") || strings.HasPrefix(s, "$2b$") || strings.HasPrefix(s, "$2y$")) {
		return false
	}
	if _, err := bcrypt.Cost([]byte(s)); err != nil {
		return false
	}
	for _, r := range s[7:] {
		if !(r == '.' || r == '/' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// CheckPassword reports whether plain matches the stored hash, in
// constant time.
func CheckPassword(hash, plain string) bool {
	return bcrypt.CompareHashAndPassword([]byte(hash), []byte(plain)) == nil
}
