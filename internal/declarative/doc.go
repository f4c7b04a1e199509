// Package declarative reads and writes Kong's declarative configuration
// format (kong.yml, YAML or JSON, `_format_version: "3.0"`).
//
// Parse turns a document into a normalized model.Config: every entity gets
// Kong's defaults, is checked strictly (unknown fields are errors),
// normalized and validated; nested entities (routes under services,
// credentials under consumers, targets under upstreams, SNIs under
// certificates, plugins under any of their scopes) get their parent
// reference; references by name are resolved to ids; and entities without
// an id get a deterministic one (a UUID v5 of their kind and natural key,
// or of their position in the file), so the same file always yields the
// same ids and the same config hash. Every error is reported, each with the
// path of the offending field ("services[0].routes[1].paths[0]"), as an
// *Error.
//
// Export writes a model.Config back as a nested kong.yml with a
// deterministic order; Parse(Export(c)) yields c again.
//
// Values that are generated when absent (key-auth keys, jwt keys and
// secrets) and basic-auth password hashes are random, so a file that omits
// them parses to different values each time; an exported file carries them
// and parses to the same configuration.
package declarative
