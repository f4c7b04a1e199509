package model

// Normalize and Validate of every entity. The foundation work fills these
// in with Kong's rules; their signatures are the contract.

// Normalize implements Entity.
func (s *Service) Normalize() {}

// Validate implements Entity.
func (s *Service) Validate() error { return nil }

// Normalize implements Entity.
func (r *Route) Normalize() {}

// Validate implements Entity.
func (r *Route) Validate() error { return nil }

// Normalize implements Entity.
func (c *Consumer) Normalize() {}

// Validate implements Entity.
func (c *Consumer) Validate() error { return nil }

// Normalize implements Entity.
func (p *Plugin) Normalize() {}

// Validate implements Entity.
func (p *Plugin) Validate() error { return nil }

// Normalize implements Entity.
func (u *Upstream) Normalize() {}

// Validate implements Entity.
func (u *Upstream) Validate() error { return nil }

// Normalize implements Entity.
func (t *Target) Normalize() {}

// Validate implements Entity.
func (t *Target) Validate() error { return nil }

// Normalize implements Entity.
func (c *Certificate) Normalize() {}

// Validate implements Entity.
func (c *Certificate) Validate() error { return nil }

// Normalize implements Entity.
func (s *SNI) Normalize() {}

// Validate implements Entity.
func (s *SNI) Validate() error { return nil }

// Normalize implements Entity.
func (c *CACertificate) Normalize() {}

// Validate implements Entity.
func (c *CACertificate) Validate() error { return nil }

// Normalize implements Entity.
func (c *KeyAuth) Normalize() {}

// Validate implements Entity.
func (c *KeyAuth) Validate() error { return nil }

// Normalize implements Entity.
func (c *BasicAuth) Normalize() {}

// Validate implements Entity.
func (c *BasicAuth) Validate() error { return nil }

// Normalize implements Entity.
func (c *JWTSecret) Normalize() {}

// Validate implements Entity.
func (c *JWTSecret) Validate() error { return nil }

// Normalize implements Entity.
func (c *ACL) Normalize() {}

// Validate implements Entity.
func (c *ACL) Validate() error { return nil }
