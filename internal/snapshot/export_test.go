package snapshot

// DecodeMax is Decode with a bound small enough for a test.
var DecodeMax = decode

// DecodePackedMax is OpenPacked's decoding, with a bound small enough for
// a test.
var DecodePackedMax = decodePacked
