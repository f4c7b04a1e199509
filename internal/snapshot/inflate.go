package snapshot

// Inflate returns the decompressed bytes of gzip data, refusing with
// ErrCorrupt more than max bytes (checked as it decompresses, so a
// compression bomb costs the decompressor's window only). The formats
// stored like a snapshot (internal/delta) decode through it.
func Inflate(data []byte, max int64) ([]byte, error) { return inflate(data, max) }

// CheckFormat refuses a "major.minor" format whose major this build does
// not read, with ErrFormat.
func CheckFormat(f string) error { return checkFormat(f) }
