package model

// Consumer is a user or application of the proxied APIs.
type Consumer struct {
	Base
	// Username is unique; at least one of Username and CustomID is required.
	Username *string `json:"username"`
	// CustomID is unique; an id from another system.
	CustomID *string `json:"custom_id"`
}

// Kind implements Entity.
func (*Consumer) Kind() Kind { return KindConsumer }

// References implements Entity.
func (*Consumer) References() []Reference { return nil }

// UniqueKeys implements Entity.
func (c *Consumer) UniqueKeys() []UniqueKey {
	return uniques("username", deref(c.Username), "custom_id", deref(c.CustomID))
}
