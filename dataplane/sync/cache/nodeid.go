package cache

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/uuid"

	"github.com/skyport-gw/skyport/internal/objstore"
	"github.com/skyport-gw/skyport/internal/snapshot"
)

// NodeIDFile is where a data plane's generated node id is kept.
const NodeIDFile = "node-id"

// maxNodeID bounds the node-id file.
const maxNodeID = 256

// NodeID returns the node id kept in dir, generating and storing one on
// first use. With no dir, it returns a new random id each time. The file
// must be a regular file of at most a few hundred bytes.
func NodeID(dir string) (string, error) {
	if dir == "" {
		return uuid.NewString(), nil
	}
	path := filepath.Join(dir, NodeIDFile)
	raw, _, err := objstore.ReadRegularFile(path, maxNodeID)
	if err == nil {
		if id := strings.TrimSpace(string(raw)); id != "" {
			return id, nil
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("reading node id: %w", err)
	}
	id := uuid.NewString()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("creating cache directory: %w", err)
	}
	if err := snapshot.WriteFileAtomic(path, []byte(id+"\n"), fileMode); err != nil {
		return "", fmt.Errorf("storing node id: %w", err)
	}
	return id, nil
}
