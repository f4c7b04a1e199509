package cache

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"

	"github.com/skyport-gw/skyport/internal/delta"
	"github.com/skyport-gw/skyport/internal/snapshot"
)

// The chain file (DeltaFile) is chainHeader, then one record per delta,
// appended in order: the delta's pointer as one JSON line, then its
// pointer.Size stored bytes. A record cut short (a crash while it was
// appended, before the mark moved) ends the chain: it is dropped on
// read, and cut off before the next append. A record that could not be
// read, or past the bounds, also ends the chain on read, but is not cut:
// the append is refused (chainFile.stop).
const chainHeader = "skyport-deltas 1\n"

// encodeRecord is one delta's record.
func encodeRecord(l link) ([]byte, error) {
	raw, err := json.Marshal(l.Pointer)
	if err != nil {
		return nil, fmt.Errorf("encoding cached delta: %w", err)
	}
	out := make([]byte, 0, len(raw)+1+len(l.Data))
	return append(append(append(out, raw...), '\n'), l.Data...), nil
}

// encodeChain is a whole chain file holding links.
func encodeChain(links []link) ([]byte, error) {
	out := []byte(chainHeader)
	for _, l := range links {
		rec, err := encodeRecord(l)
		if err != nil {
			return nil, err
		}
		out = append(out, rec...)
	}
	return out, nil
}

// chainFile is what a read of the chain file found: its whole records
// (their data only when asked for), where they end, the file's size,
// whether it is in the current format, or missing. stop says why the
// read ended before the file did, other than a record cut short (a torn
// tail, which the next append cuts off): a record past the bounds
// (ErrChainFull), or one that could not be read (ErrChainUnread); the
// records from valid on are then kept, never cut.
type chainFile struct {
	links            []link
	valid, size      int64
	current, missing bool
	stop             error
}

// readChain reads the chain file, each record bounded (MaxChain records,
// MaxChainBytes of deltas); without data, it reads the pointers only. A
// file that is missing, unsafe or unreadable holds no records; one in the
// format before chainHeader (a JSON list) is read whole.
func (c *Cache) readChain(data bool) chainFile {
	f, fi, err := openOwned(filepath.Join(c.dir, DeltaFile))
	if err != nil {
		return chainFile{missing: os.IsNotExist(err)}
	}
	defer f.Close()
	cf := chainFile{size: fi.Size()}
	head := make([]byte, len(chainHeader))
	if _, err := f.ReadAt(head, 0); err != nil || string(head) != chainHeader {
		cf.links = readListChain(f, fi.Size())
		return cf
	}
	cf.current, cf.valid = true, int64(len(chainHeader))
	var total int64
	for cf.valid < cf.size {
		if len(cf.links) == MaxChain {
			cf.stop = fmt.Errorf("%w: more than %d records", ErrChainFull, MaxChain)
			break
		}
		rest := cf.size - cf.valid
		br := bufio.NewReaderSize(io.NewSectionReader(f, cf.valid, min(rest, snapshot.MaxPointer+1)), 1024)
		line, err := br.ReadBytes('\n')
		switch {
		case err == io.EOF && rest <= snapshot.MaxPointer:
			return cf // the pointer line cut short: a torn tail
		case err == io.EOF:
			cf.stop = fmt.Errorf("%w: a pointer line longer than %d bytes at %d", ErrChainUnread, snapshot.MaxPointer, cf.valid)
			return cf
		case err != nil:
			cf.stop = fmt.Errorf("%w: %w", ErrChainUnread, err)
			return cf
		}
		var p delta.Pointer
		if err := json.Unmarshal(line, &p); err != nil || p.Check() != nil || p.Size < 0 {
			cf.stop = fmt.Errorf("%w: a damaged pointer line at %d", ErrChainUnread, cf.valid)
			return cf
		}
		end := cf.valid + int64(len(line)) + p.Size
		if end > cf.size {
			return cf // its bytes cut short: a torn tail
		}
		if total+p.Size > MaxChainBytes {
			cf.stop = fmt.Errorf("%w: more than %d bytes of deltas", ErrChainFull, MaxChainBytes)
			return cf
		}
		l := link{Pointer: p}
		if data {
			l.Data = make([]byte, p.Size)
			if _, err := f.ReadAt(l.Data, cf.valid+int64(len(line))); err != nil {
				cf.stop = fmt.Errorf("%w: %w", ErrChainUnread, err)
				return cf
			}
		}
		cf.links = append(cf.links, l)
		cf.valid, total = end, total+p.Size
	}
	return cf
}

// readListChain reads a chain file of the format before chainHeader.
func readListChain(f *os.File, size int64) []link {
	if size > 2*MaxChainBytes {
		return nil
	}
	raw := make([]byte, size)
	if _, err := f.ReadAt(raw, 0); err != nil || !bytes.HasPrefix(raw, []byte("[")) {
		return nil
	}
	var all []link
	if json.Unmarshal(raw, &all) != nil {
		return nil
	}
	return all
}

// appendRecord appends rec to the chain file at valid, the end of its
// whole records (a record cut short after it is cut off first; a missing
// file is created with chainHeader), and syncs it.
func (c *Cache) appendRecord(rec []byte, valid int64) error {
	path := filepath.Join(c.dir, DeltaFile)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE|syscall.O_NOFOLLOW, fileMode)
	if err != nil {
		return fmt.Errorf("opening %s: %w", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("opening %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%w: %s is not a regular file", ErrUnsafe, path)
	}
	if err := checkOwned(path, fi); err != nil {
		return err
	}
	switch {
	case fi.Size() == 0:
		rec = append([]byte(chainHeader), rec...)
	case fi.Size() != valid:
		if err := f.Truncate(valid); err != nil {
			return fmt.Errorf("cutting a torn record off %s: %w", path, err)
		}
	}
	if _, err := f.Write(rec); err != nil {
		return fmt.Errorf("appending to %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("syncing %s: %w", path, err)
	}
	return nil
}
