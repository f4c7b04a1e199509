package snapshot_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/snapshot"
)

const clusterID = "6f1d2c3b-4a59-4e8f-9d0c-1b2a3c4d5e6f"

func TestIdentityCheckAndKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc string
		id   snapshot.Identity
		key  string
		ok   bool
	}{
		{desc: "unidentified", key: "snapshots/00000000000000000007.json.gz", ok: true},
		{desc: "identified", id: snapshot.Identity{ClusterID: clusterID, Epoch: 3},
			key: "snapshots/" + clusterID + "/3/00000000000000000007.json.gz", ok: true},
		{desc: "no epoch", id: snapshot.Identity{ClusterID: clusterID}},
		{desc: "an epoch without a cluster", id: snapshot.Identity{Epoch: 1}},
		{desc: "upper case", id: snapshot.Identity{ClusterID: "6F1D2C3B-4A59-4E8F-9D0C-1B2A3C4D5E6F", Epoch: 1}},
		{desc: "a path", id: snapshot.Identity{ClusterID: "../../../../latest.json/xxxxxxxxxxxxxxx", Epoch: 1}},
		{desc: "braces", id: snapshot.Identity{ClusterID: "{6f1d2c3b-4a59-4e8f-9d0c-1b2a3c4d5e}", Epoch: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			err := tt.id.Check()
			if !tt.ok {
				require.ErrorIs(t, err, snapshot.ErrIdentity)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.key, tt.id.Key(7))
		})
	}
}

// TestSealCarriesIdentity: the identity is in the signed document and the
// pointer; a pointer that claims another identity than its document's is
// refused, and so is one whose key is not its identity's.
func TestSealCarriesIdentity(t *testing.T) {
	t.Parallel()
	pub, priv, err := snapshot.GenerateKey()
	require.NoError(t, err)
	id := snapshot.Identity{ClusterID: clusterID, Epoch: 2}
	data, ptr, err := snapshot.Seal(&snapshot.Document{ClusterID: id.ClusterID, Epoch: id.Epoch, Revision: 9, Config: sampleConfig()}, priv, now)
	require.NoError(t, err)
	require.Equal(t, id, ptr.Identity())
	require.Equal(t, id.Key(9), ptr.Key)
	require.NoError(t, ptr.Check())
	doc, err := snapshot.Open(data, ptr, pub)
	require.NoError(t, err)
	require.Equal(t, id, doc.Identity())

	forged := ptr
	forged.Epoch = 3
	require.ErrorIs(t, forged.Check(), snapshot.ErrCorrupt, "the key names epoch 2")
	forged.Key = forged.Identity().Key(9)
	require.NoError(t, forged.Check())
	_, err = snapshot.Open(data, forged, pub)
	require.ErrorIs(t, err, snapshot.ErrIdentity, "the signed document is of epoch 2")

	_, _, err = snapshot.Seal(&snapshot.Document{ClusterID: "nope", Epoch: 1, Revision: 9}, priv, now)
	require.ErrorIs(t, err, snapshot.ErrIdentity)
}
