package dynamo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/lambdas/store"
)

// txn collects the items of one TransactWriteItems, each with the client
// error its failed condition means (nil: a concurrent change, retry). rev
// is the revision the transaction commits at, the version of every
// entity it stores.
type txn struct {
	table  string
	rev    int64
	items  []types.TransactWriteItem
	onFail []error
	// log collects the revision's change-log entry.
	log store.LogBuilder
}

// newTxn starts the transaction of a write that read st.
func (s *Store) newTxn(st state) *txn { return &txn{table: s.table, rev: st.rev + 1} }

// atVersion is the condition that the entity item exists at version ver
// (an item without a version is at version 0).
func atVersion(ver int64) (cond string, names map[string]string, vals item) {
	names = map[string]string{"#ver": attrVersion}
	if ver == 0 {
		return "attribute_exists(pk) AND attribute_not_exists(#ver)", names, nil
	}
	return "attribute_exists(pk) AND #ver = :ver", names, item{":ver": num(ver)}
}

func (t *txn) add(it types.TransactWriteItem, onFail error) {
	t.items = append(t.items, it)
	t.onFail = append(t.onFail, onFail)
}

func (t *txn) put(it item, cond string, vals item, onFail error) {
	p := &types.Put{TableName: aws.String(t.table), Item: it}
	if cond != "" {
		p.ConditionExpression = aws.String(cond)
		p.ExpressionAttributeValues = vals
	}
	t.add(types.TransactWriteItem{Put: p}, onFail)
}

func (t *txn) del(k item, cond string, vals item, onFail error) {
	d := &types.Delete{TableName: aws.String(t.table), Key: k}
	if cond != "" {
		d.ConditionExpression = aws.String(cond)
		d.ExpressionAttributeValues = vals
	}
	t.add(types.TransactWriteItem{Delete: d}, onFail)
}

func (t *txn) check(k item, cond string, onFail error) {
	t.add(types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{
		TableName: aws.String(t.table), Key: k, ConditionExpression: aws.String(cond),
	}}, onFail)
}

// insert adds e as a new entity of generation gen at version t.rev: the
// entity (its id must be free), its unique guards, checks that its
// references exist, and its reverse references.
func (t *txn) insert(gen string, e model.Entity) error {
	it, err := entityItem(gen, e, t.rev)
	if err != nil {
		return err
	}
	t.put(it, "attribute_not_exists(pk)", nil, store.PrimaryKeyViolation(e.Meta().ID))
	t.log.Upsert(e.Kind(), e.Meta().ID)
	for _, u := range e.UniqueKeys() {
		t.put(uniqueItem(gen, e, u), "attribute_not_exists(pk)", nil, store.UniqueViolation(e, u))
	}
	t.addRefs(gen, e, uniqueRefs(e))
	return nil
}

func (t *txn) addRefs(gen string, e model.Entity, refs []model.Reference) {
	checked := map[string]bool{}
	for _, r := range refs {
		if k := string(r.Kind) + "#" + r.ID; !checked[k] {
			checked[k] = true
			t.check(entityKey(gen, r.Kind, r.ID), "attribute_exists(pk)", store.ForeignKeyViolation(r))
		}
		t.put(refKey(gen, r, e), "", nil, nil)
	}
}

// replace adds the update of old, provided it is still at the version
// read, to e at version t.rev: the entity, the unique guards and reverse
// references that changed.
func (t *txn) replace(gen string, cur versioned, e model.Entity) error {
	it, err := entityItem(gen, e, t.rev)
	if err != nil {
		return err
	}
	old := cur.Entity
	id := e.Meta().ID
	owner := item{":id": str(id)}
	cond, names, vals := atVersion(cur.ver)
	t.add(types.TransactWriteItem{Put: &types.Put{TableName: aws.String(t.table), Item: it,
		ConditionExpression: aws.String(cond), ExpressionAttributeNames: names, ExpressionAttributeValues: vals}}, nil)
	t.log.Upsert(e.Kind(), id)
	oldKeys := map[string]bool{}
	for _, u := range old.UniqueKeys() {
		oldKeys[uniqueSK(u)] = true
	}
	newKeys := map[string]bool{}
	for _, u := range e.UniqueKeys() {
		newKeys[uniqueSK(u)] = true
		if !oldKeys[uniqueSK(u)] {
			t.put(uniqueItem(gen, e, u), "attribute_not_exists(pk) OR #owner = :id", owner, store.UniqueViolation(e, u))
		}
	}
	for _, u := range old.UniqueKeys() {
		if !newKeys[uniqueSK(u)] {
			t.del(uniqueKey(gen, e.Kind(), u), "#owner = :id", owner, nil)
		}
	}
	oldRefs := map[string]bool{}
	for _, r := range uniqueRefs(old) {
		oldRefs[refSK(r, old)] = true
	}
	newRefs := map[string]bool{}
	var added []model.Reference
	for _, r := range uniqueRefs(e) {
		newRefs[refSK(r, e)] = true
		if !oldRefs[refSK(r, e)] {
			added = append(added, r)
		}
	}
	t.addRefs(gen, e, added)
	for _, r := range uniqueRefs(old) {
		if !newRefs[refSK(r, old)] {
			t.del(refKey(gen, r, old), "", nil, nil)
		}
	}
	return nil
}

// remove adds the deletion of e, provided it is still at the version
// read: the entity, its guards, its references.
func (t *txn) remove(gen string, v versioned) {
	e := v.Entity
	owner := item{":id": str(e.Meta().ID)}
	cond, names, vals := atVersion(v.ver)
	t.add(types.TransactWriteItem{Delete: &types.Delete{TableName: aws.String(t.table), Key: entityKey(gen, e.Kind(), e.Meta().ID),
		ConditionExpression: aws.String(cond), ExpressionAttributeNames: names, ExpressionAttributeValues: vals}}, nil)
	t.log.Delete(e.Kind(), e.Meta().ID)
	for _, u := range e.UniqueKeys() {
		t.del(uniqueKey(gen, e.Kind(), u), "#owner = :id", owner, nil)
	}
	for _, r := range uniqueRefs(e) {
		t.del(refKey(gen, r, e), "", nil, nil)
	}
}

// commitItems is how many items commit adds to a write's own: the
// revision raise, the change record and the change-log entry.
const commitItems = 3

// commit writes t with the revision raise (guarded by st), the change
// record and the change-log entry (logItem). newGen, when set, becomes the
// current generation: the entry then says the configuration was replaced.
func (s *Store) commit(ctx context.Context, st state, t *txn, newGen string, summary []string, o store.Origin) (int64, error) {
	next := st.rev + 1
	gen := st.gen
	if newGen != "" {
		gen = newGen
	}
	vals := item{":next": &types.AttributeValueMemberN{Value: strconv.FormatInt(next, 10)}, ":gen": str(gen)}
	cond := "attribute_not_exists(pk)"
	if st.exists {
		cond = "#rev = :read"
		vals[":read"] = &types.AttributeValueMemberN{Value: strconv.FormatInt(st.rev, 10)}
	}
	revIndex := len(t.items)
	t.add(types.TransactWriteItem{Update: &types.Update{
		TableName:                 aws.String(t.table),
		Key:                       key(revisionKey, revisionKey),
		UpdateExpression:          aws.String("SET #rev = :next, #gen = :gen"),
		ConditionExpression:       aws.String(cond),
		ExpressionAttributeNames:  map[string]string{"#rev": attrRevision, "#gen": attrGen},
		ExpressionAttributeValues: vals,
	}}, nil)
	if newGen != "" {
		t.log.Replace()
	}
	ch, lg, err := revisionRecords(next, summary, o, t.log.Entry(), time.Now())
	if err != nil {
		return 0, err
	}
	t.put(ch, "", nil, nil)
	t.put(lg, "", nil, nil)
	if len(t.items) > maxItems {
		return 0, fmt.Errorf("committing revision %d (%s): %d items exceed a transaction's %d", next, summary[0], len(t.items), maxItems)
	}
	for i := range t.items {
		needsOwner(t.items[i])
	}
	_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: t.items})
	if err == nil {
		return next, nil
	}
	return 0, t.cause(err, revIndex, fmt.Sprintf("committing revision %d (%s)", next, summary[0]))
}

// revisionRecords are the items that record revision rev beside the
// entities it writes: its change record and its change-log entry e.
func revisionRecords(rev int64, summary []string, o store.Origin, e store.LogEntry, now time.Time) (change, log item, err error) {
	data, err := json.Marshal(store.Change{Revision: rev, Time: now.Unix(), Origin: o, Summary: summary})
	if err != nil {
		return nil, nil, fmt.Errorf("encoding change %d: %w", rev, err)
	}
	change = key(changePK, changeSK(rev))
	change[attrData] = str(string(data))
	if log, err = logItem(rev, e, now); err != nil {
		return nil, nil, err
	}
	return change, log, nil
}

// needsOwner declares #owner for the items whose conditions use it.
func needsOwner(it types.TransactWriteItem) {
	switch {
	case it.Put != nil && it.Put.ExpressionAttributeValues[":id"] != nil:
		it.Put.ExpressionAttributeNames = map[string]string{"#owner": attrOwner}
	case it.Delete != nil && it.Delete.ExpressionAttributeValues[":id"] != nil:
		it.Delete.ExpressionAttributeNames = map[string]string{"#owner": attrOwner}
	}
}

// cause maps a cancelled transaction to what failed: the revision
// condition or a transaction conflict (errConflict: retry), or the client
// error of the first failed guard or foreign key check.
func (t *txn) cause(err error, revIndex int, doing string) error {
	var tce *types.TransactionCanceledException
	if !errors.As(err, &tce) {
		var tc *types.TransactionConflictException
		if errors.As(err, &tc) {
			return errConflict
		}
		return fmt.Errorf("%s: %w", doing, err)
	}
	reasons := tce.CancellationReasons
	if len(reasons) != len(t.items) {
		// Without per-item reasons the write is retried; the next attempt
		// reads afresh and meets the same condition again if it is real.
		return errConflict
	}
	if code(reasons[revIndex]) == "ConditionalCheckFailed" {
		return errConflict
	}
	for i, r := range reasons {
		switch code(r) {
		case "ConditionalCheckFailed":
			if t.onFail[i] != nil {
				return t.onFail[i]
			}
			return errConflict
		case "TransactionConflict":
			return errConflict
		}
	}
	return fmt.Errorf("%s: %w", doing, err)
}

func code(r types.CancellationReason) string { return aws.ToString(r.Code) }
