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
