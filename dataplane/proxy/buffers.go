package proxy

import "sync"

// bufferPool recycles the 32 KiB buffers ReverseProxy copies bodies with.
type bufferPool struct{ p sync.Pool }

// Get implements httputil.BufferPool.
func (b *bufferPool) Get() []byte {
	if v, ok := b.p.Get().(*[]byte); ok {
		return *v
	}
	return make([]byte, 32*1024)
}

// Put implements httputil.BufferPool.
func (b *bufferPool) Put(buf []byte) { b.p.Put(&buf) }

// get returns a buffer as a pointer, which put takes back without
// allocating.
func (b *bufferPool) get() *[]byte {
	if v, ok := b.p.Get().(*[]byte); ok {
		return v
	}
	buf := make([]byte, 32*1024)
	return &buf
}

// put returns a buffer get gave.
func (b *bufferPool) put(buf *[]byte) { b.p.Put(buf) }
