package snapshot

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
)

// Decode decompresses and parses stored bytes without verifying them; use
// Open for anything received from elsewhere. A document that decompresses
// to more than MaxDecompressed bytes is refused with ErrCorrupt.
func Decode(data []byte) (*Document, error) {
	return decode(data, MaxDecompressed)
}

// decode is Decode with the decompressed size bounded by max.
func decode(data []byte, max int64) (*Document, error) {
	raw, err := inflate(data, max)
	if err != nil {
		return nil, err
	}
	var head struct {
		Format string `json:"format"`
	}
	if err := json.Unmarshal(raw, &head); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	if err := checkFormat(head.Format); err != nil {
		return nil, err
	}
	var doc Document
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	return &doc, nil
}

// inflate returns the decompressed bytes of data, refusing more than max.
// It decompresses twice: first as a stream that only counts, with the
// bound checked as it goes, so a compression bomb is refused in the
// memory of the decompressor's window whatever it expands to; then, the
// size known and within the bound, into one buffer of exactly that size,
// so a document near the bound costs its size once and never a multiple
// of it in buffer growth. Decompressing is a few percent of decoding.
func inflate(data []byte, max int64) ([]byte, error) {
	size, err := inflatedSize(data, max)
	if err != nil {
		return nil, err
	}
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	raw := make([]byte, size)
	if _, err := io.ReadFull(zr, raw); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	return raw, nil
}

// inflatedSize decompresses data into nothing and returns its size,
// stopping with ErrCorrupt as soon as it passes max.
func inflatedSize(data []byte, max int64) (int64, error) {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	n, err := io.Copy(io.Discard, io.LimitReader(zr, max+1))
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	if n > max {
		return 0, fmt.Errorf("%w: decompresses to more than %d bytes", ErrCorrupt, max)
	}
	return n, nil
}
