package tests

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/cfn"
	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/internal/motoserver"
	"github.com/skyport-gw/skyport/internal/objstore"
	"github.com/skyport-gw/skyport/internal/rie"
	"github.com/skyport-gw/skyport/internal/snapshot"
	"github.com/skyport-gw/skyport/lambdas/cluster"
	"github.com/skyport-gw/skyport/lambdas/keygen"
	"github.com/skyport-gw/skyport/lambdas/publisher"
	"github.com/skyport-gw/skyport/lambdas/store"
	"github.com/skyport-gw/skyport/lambdas/store/dynamo"
)

// awsFixture is the emulator shared by the Lambda tests, and clients to it.
type awsFixture struct {
	moto *motoserver.Server
	cfg  aws.Config
	ddb  *dynamodb.Client
	s3   *s3.Client
	sm   *secretsmanager.Client
}

func newAWSFixture(t *testing.T) *awsFixture {
	moto := motoserver.Start(t)
	cfg := moto.SerialConfig()
	return &awsFixture{
		moto: moto, cfg: cfg,
		ddb: dynamodb.NewFromConfig(cfg),
		s3:  s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }),
		sm:  secretsmanager.NewFromConfig(cfg),
	}
}

// env is the function's environment: the stack's variables and the
// emulator's AWS settings.
func (a *awsFixture) env(vars ...string) []string { return append(a.moto.Env(), vars...) }

func (a *awsFixture) tables(t *testing.T, name string) (*dynamo.Store, *cluster.Dynamo) {
	t.Helper()
	ctx := context.Background()
	st := dynamo.New(a.ddb, name)
	require.NoError(t, st.CreateTable(ctx))
	reg := cluster.NewDynamo(a.ddb, name+"-cluster", nil)
	require.NoError(t, reg.CreateTable(ctx))
	return st, reg
}

func (a *awsFixture) bucket(t *testing.T, name string) *objstore.S3 {
	t.Helper()
	objects := objstore.NewS3(a.s3, name, "cp")
	require.NoError(t, objects.CreateBucket(context.Background()))
	return objects
}

// signingSecret stores a signing key as the keygen custom resource does.
func (a *awsFixture) signingSecret(t *testing.T, name string) (string, ed25519.PublicKey, ed25519.PrivateKey) {
	t.Helper()
	pub, priv, err := snapshot.GenerateKey()
	require.NoError(t, err)
	pem, err := snapshot.MarshalPrivateKey(priv)
	require.NoError(t, err)
	out, err := a.sm.CreateSecret(context.Background(), &secretsmanager.CreateSecretInput{
		Name: aws.String(name), SecretString: aws.String((&keygen.Secret{Current: string(pem)}).String()),
	})
	require.NoError(t, err)
	return *out.ARN, pub, priv
}

// TestLambdaBinaries runs each Lambda binary the stack deploys under the
// Runtime Interface Emulator, with the environment the stack gives it,
// against the emulator, with the events its trigger sends.
func TestLambdaBinaries(t *testing.T) {
	lambdaBinaries(t)
	a := newAWSFixture(t)
	t.Run("admin", func(t *testing.T) { t.Parallel(); testAdminLambda(t, a) })
	t.Run("publisher", func(t *testing.T) { t.Parallel(); testPublisherLambda(t, a) })
	t.Run("cluster", func(t *testing.T) { t.Parallel(); testClusterLambda(t, a) })
	t.Run("authorizer", func(t *testing.T) { t.Parallel(); testAuthorizerLambda(t, a) })
	t.Run("keygen", func(t *testing.T) { t.Parallel(); testKeygenLambda(t, a) })
	t.Run("whole path", func(t *testing.T) { t.Parallel(); testLambdaPath(t, a) })
}

// testAdminLambda: API Gateway HTTP API (payload 2.0) events.
func testAdminLambda(t *testing.T, a *awsFixture) {
	a.tables(t, "admin")
	f := startFunction(t, "admin", a.env("SKYPORT_TABLE=admin", "SKYPORT_CLUSTER_TABLE=admin-cluster")...)
	call := func(name string, patch func(*events.APIGatewayV2HTTPRequest)) events.APIGatewayV2HTTPResponse {
		var ev events.APIGatewayV2HTTPRequest
		event(t, name, &ev)
		if patch != nil {
			patch(&ev)
		}
		var resp events.APIGatewayV2HTTPResponse
		invoke(t, f, ev, &resp)
		return resp
	}
	body := func(r events.APIGatewayV2HTTPResponse) string {
		if r.IsBase64Encoded {
			b, err := base64.StdEncoding.DecodeString(r.Body)
			require.NoError(t, err)
			return string(b)
		}
		return r.Body
	}

	created := call("admin_post_base64", nil)
	require.Equal(t, http.StatusCreated, created.StatusCode, body(created))
	require.Contains(t, body(created), `"username":"zürich"`)

	form := call("admin_post_form", nil)
	require.Equal(t, http.StatusCreated, form.StatusCode, body(form))
	var svc map[string]any
	require.NoError(t, json.Unmarshal([]byte(body(form)), &svc))
	require.Equal(t, "orders.internal", svc["host"])
	require.Equal(t, []any{"team-a", "billing"}, svc["tags"])

	// A caller authorized by API Gateway with IAM.
	list := call("admin_get_iam", nil)
	require.Equal(t, http.StatusOK, list.StatusCode, body(list))
	require.Contains(t, body(list), `"custom_id":"c-42"`)

	// A body over the entity limit, within Lambda's 6 MB payload: Kong's
	// 413. One over 6 MB never reaches the function: Lambda (here the
	// emulator) refuses the invocation, as API Gateway's integration
	// would. Neither writes anything.
	large := call("admin_post_large", func(ev *events.APIGatewayV2HTTPRequest) {
		ev.Body = `{"name":"` + strings.Repeat("x", 5<<20) + `"}`
	})
	require.Equal(t, http.StatusRequestEntityTooLarge, large.StatusCode)
	require.JSONEq(t, `{"message":"Request size limit exceeded"}`, body(large))
	var huge events.APIGatewayV2HTTPRequest
	event(t, "admin_post_large", &huge)
	huge.Body = `{"name":"` + strings.Repeat("x", 6<<20) + `"}`
	payload, err := json.Marshal(huge)
	require.NoError(t, err)
	_, err = f.Invoke(context.Background(), payload)
	require.ErrorIs(t, err, rie.ErrFunction)
	after := call("admin_get_iam", func(ev *events.APIGatewayV2HTTPRequest) {
		ev.RawPath, ev.RequestContext.HTTP.Path = "/services", "/services"
	})
	require.Equal(t, 1, strings.Count(body(after), `"name":`), body(after))
}

// testPublisherLambda: DynamoDB stream batches of the revision item.
func testPublisherLambda(t *testing.T, a *awsFixture) {
	ctx := context.Background()
	st, reg := a.tables(t, "pub")
	objects := a.bucket(t, "pub-snapshots")
	secret, pub, _ := a.signingSecret(t, "pub-signing")
	conns, endpoint := newConnectionsAPI(t, "gone=")
	exp := time.Now().Add(time.Hour).Unix()
	for _, id := range []string{"live=", "gone="} {
		require.NoError(t, reg.PutConnection(ctx, cluster.Connection{ID: id, ExpiresAt: exp}))
	}
	f := startFunction(t, "publisher", a.env(
		"SKYPORT_TABLE=pub", "SKYPORT_CLUSTER_TABLE=pub-cluster", "SKYPORT_BUCKET=s3://pub-snapshots/cp",
		"SKYPORT_SIGNING_KEY_SECRET="+secret, "SKYPORT_SIGNING_KEY_ID="+keygen.KeyID(pub), "SKYPORT_WS_ENDPOINT="+endpoint)...)

	var revs []int64
	for _, name := range []string{"orders", "billing"} {
		rev, err := st.Create(ctx, namedService(name), store.Origin{RequestID: "test"})
		require.NoError(t, err)
		revs = append(revs, rev)
	}
	batch := func(revisions ...int64) events.DynamoDBEvent {
		var ev events.DynamoDBEvent
		event(t, "publisher_batch", &ev)
		require.Len(t, ev.Records, len(revisions))
		for i, rev := range revisions {
			ev.Records[i].Change.NewImage["revision"] = events.NewNumberAttribute(fmt.Sprint(rev))
		}
		return ev
	}

	// The middle record names a revision the table has not reached (its
	// commit is not visible to the export yet): it and what follows are
	// retried, the first record is done.
	ev := batch(revs[0], revs[1]+5, revs[1])
	var resp events.DynamoDBEventResponse
	invoke(t, f, ev, &resp)
	require.Equal(t, []events.DynamoDBBatchItemFailure{{ItemIdentifier: ev.Records[1].Change.SequenceNumber}}, resp.BatchItemFailures)

	// The snapshot of the newest revision is in S3, signed with the key
	// in the secret; the live connection was notified, the gone one
	// forgotten.
	ptr := readPointer(t, objects)
	require.Equal(t, revs[1], ptr.Revision)
	require.Len(t, publishedConfig(t, objects, ptr, pub).Services, 2)
	notices := conns.notices("live=")
	require.NotEmpty(t, notices)
	require.Equal(t, revs[1], notices[len(notices)-1].Revision)
	_, err := reg.GetConnection(ctx, "gone=")
	require.ErrorIs(t, err, cluster.ErrNotFound)

	// Redelivered, the batch of committed revisions succeeds and changes
	// nothing.
	invoke(t, f, batch(revs[0], revs[1], revs[1]), &resp)
	require.Empty(t, resp.BatchItemFailures)
	require.Equal(t, ptr, readPointer(t, objects))
}

func namedService(name string) model.Entity {
	s := model.NewService()
	s.ID = uuid.NewString()
	s.Name = &name
	s.Host = name + ".internal"
	return s
}

func readPointer(t *testing.T, objects objstore.Store) snapshot.Pointer {
	t.Helper()
	data, _, err := objects.Get(context.Background(), snapshot.LatestKey)
	require.NoError(t, err)
	var p snapshot.Pointer
	require.NoError(t, json.Unmarshal(data, &p))
	return p
}

// testClusterLambda: the WebSocket API's route events.
func testClusterLambda(t *testing.T, a *awsFixture) {
	ctx := context.Background()
	st, reg := a.tables(t, "clu")
	objects := a.bucket(t, "clu-snapshots")
	_, priv, err := snapshot.GenerateKey()
	require.NoError(t, err)
	_, err = st.Create(ctx, namedService("orders"), store.Origin{RequestID: "test"})
	require.NoError(t, err)
	published, err := publisher.New(publisher.Options{Source: st, Objects: objects, Key: priv, Connections: reg}).Publish(ctx)
	require.NoError(t, err)
	conns, endpoint := newConnectionsAPI(t)
	f := startFunction(t, "cluster", a.env("SKYPORT_CLUSTER_TABLE=clu-cluster", "SKYPORT_BUCKET=s3://clu-snapshots/cp",
		"SKYPORT_WS_ENDPOINT="+endpoint)...)

	route := func(name string) events.APIGatewayProxyResponse {
		var ev events.APIGatewayWebsocketProxyRequest
		event(t, name, &ev)
		if name == "cluster_hello" {
			// A data plane that has applied nothing yet.
			var hello map[string]any
			require.NoError(t, json.Unmarshal([]byte(ev.Body), &hello))
			hello["revision"], hello["config_hash"] = 0, ""
			b, err := json.Marshal(hello)
			require.NoError(t, err)
			ev.Body = string(b)
		}
		var resp events.APIGatewayProxyResponse
		invoke(t, f, ev, &resp)
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s: %s", name, resp.Body)
		return resp
	}
	route("cluster_connect")
	const connID, nodeID = "BkHn3cXXIAMCJfw=", "0f6f3c3e-6a53-4d0e-9a43-3b1a4ff0c9a1"
	_, err = reg.GetConnection(ctx, connID)
	require.NoError(t, err, "$connect records the connection")

	// hello: the data plane is registered and told what to fetch.
	route("cluster_hello")
	node, err := reg.GetNode(ctx, nodeID)
	require.NoError(t, err)
	require.Equal(t, "dp-1.example.internal", node.Hostname)
	notices := conns.notices(connID)
	require.Len(t, notices, 1)
	require.Equal(t, published.Revision, notices[0].Revision)
	require.Equal(t, published.Signature, notices[0].Signature)
	require.NotEmpty(t, notices[0].URL, "a presigned URL for data planes without AWS credentials")

	route("cluster_status")
	route("cluster_disconnect")
	_, err = reg.GetConnection(ctx, connID)
	require.ErrorIs(t, err, cluster.ErrNotFound, "$disconnect forgets the connection")
}

// testAuthorizerLambda: REQUEST authorizer events on $connect.
func testAuthorizerLambda(t *testing.T, a *awsFixture) {
	out, err := a.sm.CreateSecret(context.Background(), &secretsmanager.CreateSecretInput{
		Name: aws.String("dp-token"), SecretString: aws.String("s3cr3t-dp-token\n"),
	})
	require.NoError(t, err)
	f := startFunction(t, "authorizer", a.env("SKYPORT_DP_TOKEN_SECRET="+*out.ARN)...)
	tests := []struct {
		desc, header string
		allow        bool
	}{
		{"the data-plane token", "Bearer s3cr3t-dp-token", true},
		{"another token", "Bearer guess", false},
		{"no token", "", false},
	}
	for _, tc := range tests {
		var ev events.APIGatewayCustomAuthorizerRequestTypeRequest
		event(t, "authorizer_connect", &ev)
		ev.Headers["Authorization"] = tc.header
		ev.MultiValueHeaders["Authorization"] = []string{tc.header}
		var resp events.APIGatewayCustomAuthorizerResponse
		payload, err := json.Marshal(ev)
		require.NoError(t, err)
		res, err := f.Invoke(context.Background(), payload)
		if !tc.allow && err != nil {
			require.Contains(t, err.Error(), "Unauthorized", tc.desc)
			continue
		}
		require.NoError(t, err, tc.desc)
		require.NoError(t, json.Unmarshal(res, &resp))
		effect := resp.PolicyDocument.Statement[0].Effect
		require.Equal(t, map[bool]string{true: "Allow", false: "Deny"}[tc.allow], effect, tc.desc)
		if tc.allow {
			require.Equal(t, []string{ev.MethodArn}, resp.PolicyDocument.Statement[0].Resource)
		}
	}
}

// cfnResponses records what a custom resource PUTs to its presigned
// response URL.
type cfnResponses struct {
	mu  sync.Mutex
	got []cfn.Response
}

func (c *cfnResponses) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	var resp cfn.Response
	if r.Method != http.MethodPut || json.Unmarshal(body, &resp) != nil {
		http.Error(w, "want a PUT of a JSON response", http.StatusBadRequest)
		return
	}
	c.mu.Lock()
	c.got = append(c.got, resp)
	c.mu.Unlock()
}

func (c *cfnResponses) last() cfn.Response {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.got) == 0 {
		return cfn.Response{}
	}
	return c.got[len(c.got)-1]
}

// testKeygenLambda: CloudFormation custom resource events, answered at
// the presigned URL.
func testKeygenLambda(t *testing.T, a *awsFixture) {
	out, err := a.sm.CreateSecret(context.Background(), &secretsmanager.CreateSecretInput{
		Name: aws.String("kg-signing"), SecretString: aws.String("generated-placeholder"),
	})
	require.NoError(t, err)
	responses := &cfnResponses{}
	srv := httptest.NewServer(responses)
	t.Cleanup(srv.Close)
	f := startFunction(t, "keygen", a.env()...)
	send := func(name, rotation string) cfn.Response {
		var ev cfn.Event
		event(t, name, &ev)
		ev.ResponseURL = srv.URL + "/cloudformation-custom-resource-response?X-Amz-Signature=test"
		ev.RequestID = uuid.NewString()
		ev.ResourceProperties["SecretId"] = *out.ARN
		ev.ResourceProperties["Rotation"] = rotation
		if ev.PhysicalResourceID != "" {
			ev.PhysicalResourceID = "skyport-signing-key:" + *out.ARN
		}
		invoke(t, f, ev, nil)
		r := responses.last()
		require.Equal(t, ev.RequestID, r.RequestID, "the answer reached the response URL")
		require.Equal(t, ev.LogicalResourceID, r.LogicalResourceID)
		require.Equal(t, ev.StackID, r.StackID)
		return r
	}
	keys := func(r cfn.Response) []string { return strings.Split(r.Data["VerifyKeys"].(string), ",") }

	created := send("keygen_create", "none")
	require.Equal(t, cfn.StatusSuccess, created.Status, created.Reason)
	require.Equal(t, "skyport-signing-key:"+*out.ARN, created.PhysicalResourceID)
	require.Equal(t, []string{created.Data["PublicKey"].(string)}, keys(created))

	prepared := send("keygen_update", "prepare")
	require.Equal(t, cfn.StatusSuccess, prepared.Status, prepared.Reason)
	require.Len(t, keys(prepared), 2)
	require.Equal(t, created.Data["PublicKey"], prepared.Data["PublicKey"], "the current key still signs")

	promoted := send("keygen_update", "promote")
	require.Equal(t, keys(prepared)[1], promoted.Data["PublicKey"], "the next key signs")
	require.Equal(t, []string{keys(prepared)[1], keys(prepared)[0]}, keys(promoted))

	retired := send("keygen_update", "none")
	require.Equal(t, []string{keys(prepared)[1]}, keys(retired))

	// A failure reaches CloudFormation as FAILED with its reason.
	failed := send("keygen_update", "promote")
	require.Equal(t, cfn.StatusFailed, failed.Status)
	require.Contains(t, failed.Reason, "promote needs a next key")

	deleted := send("keygen_delete", "none")
	require.Equal(t, cfn.StatusSuccess, deleted.Status, deleted.Reason)
	require.Equal(t, "skyport-signing-key:"+*out.ARN, deleted.PhysicalResourceID)
}
