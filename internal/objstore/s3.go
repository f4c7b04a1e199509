package objstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// MaxObjectSize bounds what Get reads.
const MaxObjectSize = 512 << 20

// S3 is a Store on a bucket and key prefix. Conditional writes use S3's
// If-None-Match and If-Match on PutObject.
type S3 struct {
	client  *s3.Client
	presign *s3.PresignClient
	bucket  string
	prefix  string
}

var (
	_ Store        = (*S3)(nil)
	_ Limiter      = (*S3)(nil)
	_ Presigner    = (*S3)(nil)
	_ PutPresigner = (*S3)(nil)
	_ Tagger       = (*S3)(nil)
)

// NewS3 returns a Store on bucket below prefix ("" or "a/b").
func NewS3(client *s3.Client, bucket, prefix string) *S3 {
	return &S3{client: client, presign: s3.NewPresignClient(client), bucket: bucket,
		prefix: strings.Trim(prefix, "/")}
}

// ParseS3URL splits s3://bucket/prefix.
func ParseS3URL(raw string) (bucket, prefix string, err error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "s3" || u.Host == "" {
		return "", "", fmt.Errorf("invalid S3 URL %q: want s3://bucket/prefix", raw)
	}
	return u.Host, strings.Trim(u.Path, "/"), nil
}

func (s *S3) key(k string) string {
	if s.prefix == "" {
		return k
	}
	return path.Join(s.prefix, k)
}

// Get implements Store: GetMax bounded by MaxObjectSize.
func (s *S3) Get(ctx context.Context, key string) ([]byte, string, error) {
	return s.GetMax(ctx, key, MaxObjectSize)
}

// GetMax implements Limiter: an object whose Content-Length is over max
// is refused before its body is read, and no more than max+1 bytes of a
// body are ever read.
func (s *S3) GetMax(ctx context.Context, key string, max int64) ([]byte, string, error) {
	return s.GetIfChanged(ctx, key, "", max)
}

// GetIfChanged implements ChangeGetter with GetObject's If-None-Match: S3
// answers 304 Not Modified, without a body, while the ETag is etag.
func (s *S3) GetIfChanged(ctx context.Context, key, etag string, max int64) ([]byte, string, error) {
	in := &s3.GetObjectInput{Bucket: &s.bucket, Key: aws.String(s.key(key))}
	if etag != "" {
		in.IfNoneMatch = aws.String(etag)
	}
	out, err := s.client.GetObject(ctx, in)
	if err != nil {
		return nil, "", fmt.Errorf("getting s3://%s/%s: %w", s.bucket, s.key(key), mapErr(err))
	}
	defer out.Body.Close()
	if n := aws.ToInt64(out.ContentLength); n > max {
		return nil, "", fmt.Errorf("reading s3://%s/%s: %w (%d bytes, at most %d)", s.bucket, s.key(key), ErrTooLarge, n, max)
	}
	data, err := io.ReadAll(io.LimitReader(out.Body, max+1))
	if err != nil {
		return nil, "", fmt.Errorf("reading s3://%s/%s: %w", s.bucket, s.key(key), err)
	}
	if int64(len(data)) > max {
		return nil, "", fmt.Errorf("reading s3://%s/%s: %w (more than %d bytes)", s.bucket, s.key(key), ErrTooLarge, max)
	}
	return data, aws.ToString(out.ETag), nil
}

// Put implements Store.
func (s *S3) Put(ctx context.Context, key string, data []byte, cond Condition) (string, error) {
	in := &s3.PutObjectInput{
		Bucket: &s.bucket, Key: aws.String(s.key(key)), Body: bytes.NewReader(data),
		ContentLength: aws.Int64(int64(len(data))),
	}
	if strings.HasSuffix(key, ".gz") {
		in.ContentType = aws.String("application/gzip")
	} else if strings.HasSuffix(key, ".json") {
		in.ContentType = aws.String("application/json")
	}
	if cond.IfNoneMatch {
		in.IfNoneMatch = aws.String("*")
	}
	if cond.IfMatch != "" {
		in.IfMatch = aws.String(cond.IfMatch)
	}
	out, err := s.client.PutObject(ctx, in)
	if err != nil {
		return "", fmt.Errorf("putting s3://%s/%s: %w", s.bucket, s.key(key), mapErr(err))
	}
	return aws.ToString(out.ETag), nil
}

// Delete implements Store.
func (s *S3) Delete(ctx context.Context, key string) error {
	_, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &s.bucket, Key: aws.String(s.key(key))})
	if err != nil && !errors.Is(mapErr(err), ErrNotFound) {
		return fmt.Errorf("deleting s3://%s/%s: %w", s.bucket, s.key(key), err)
	}
	return nil
}

// List implements Store.
func (s *S3) List(ctx context.Context, prefix string) ([]string, error) {
	return s.list(ctx, prefix, "", 0)
}

// ListPage implements Pager: one ListObjectsV2 request, more only when
// max passes the 1,000 keys of a request.
func (s *S3) ListPage(ctx context.Context, prefix, after string, max int) ([]string, error) {
	if max <= 0 {
		return []string{}, nil
	}
	return s.list(ctx, prefix, after, max)
}

// list returns the keys below prefix that sort after after ("": all),
// sorted, stopping at max keys (0: no bound).
func (s *S3) list(ctx context.Context, prefix, after string, max int) ([]string, error) {
	full := s.key(prefix)
	if prefix == "" && s.prefix != "" {
		full = s.prefix + "/"
	}
	in := &s3.ListObjectsV2Input{Bucket: &s.bucket, Prefix: aws.String(full)}
	if after != "" {
		in.StartAfter = aws.String(s.key(after))
	}
	if max > 0 {
		in.MaxKeys = aws.Int32(int32(min(max, 1000)))
	}
	p := s3.NewListObjectsV2Paginator(s.client, in)
	var keys []string
	for p.HasMorePages() && (max == 0 || len(keys) < max) {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("listing s3://%s/%s: %w", s.bucket, full, mapErr(err))
		}
		for _, o := range page.Contents {
			k := aws.ToString(o.Key)
			if s.prefix != "" {
				k = strings.TrimPrefix(k, s.prefix+"/")
			}
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	if max > 0 && len(keys) > max {
		keys = keys[:max]
	}
	return keys, nil
}

// PresignGet implements Presigner.
func (s *S3) PresignGet(ctx context.Context, key string, ttl time.Duration) (string, error) {
	req, err := s.presign.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: &s.bucket, Key: aws.String(s.key(key))},
		s3.WithPresignExpires(ttl))
	if err != nil {
		return "", fmt.Errorf("presigning s3://%s/%s: %w", s.bucket, s.key(key), err)
	}
	return req.URL, nil
}

// PresignPut implements PutPresigner: a URL that uploads key with a plain
// PUT (no headers required), valid for ttl.
func (s *S3) PresignPut(ctx context.Context, key string, ttl time.Duration) (string, error) {
	req, err := s.presign.PresignPutObject(ctx, &s3.PutObjectInput{Bucket: &s.bucket, Key: aws.String(s.key(key))},
		s3.WithPresignExpires(ttl))
	if err != nil {
		return "", fmt.Errorf("presigning an upload to s3://%s/%s: %w", s.bucket, s.key(key), err)
	}
	return req.URL, nil
}

// Tag implements Tagger: it replaces the object's tags.
func (s *S3) Tag(ctx context.Context, key string, tags map[string]string) error {
	set := make([]types.Tag, 0, len(tags))
	for k, v := range tags {
		set = append(set, types.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	sort.Slice(set, func(i, j int) bool { return *set[i].Key < *set[j].Key })
	_, err := s.client.PutObjectTagging(ctx, &s3.PutObjectTaggingInput{
		Bucket: &s.bucket, Key: aws.String(s.key(key)), Tagging: &types.Tagging{TagSet: set},
	})
	if err != nil {
		return fmt.Errorf("tagging s3://%s/%s: %w", s.bucket, s.key(key), mapErr(err))
	}
	return nil
}

// CreateBucket creates the bucket if it does not exist (for local use and tests).
func (s *S3) CreateBucket(ctx context.Context) error {
	_, err := s.client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &s.bucket})
	var api smithy.APIError
	if err != nil && errors.As(err, &api) &&
		(api.ErrorCode() == "BucketAlreadyOwnedByYou" || api.ErrorCode() == "BucketAlreadyExists") {
		return nil
	}
	if err != nil {
		return fmt.Errorf("creating bucket %s: %w", s.bucket, err)
	}
	return nil
}

// mapErr turns S3's not-found and precondition answers into the package's
// sentinels, keeping the original in the chain.
func mapErr(err error) error {
	var api smithy.APIError
	if errors.As(err, &api) {
		switch api.ErrorCode() {
		case "NoSuchKey", "NotFound", "NoSuchBucket":
			return fmt.Errorf("%w: %w", ErrNotFound, err)
		case "PreconditionFailed", "ConditionalRequestConflict":
			return fmt.Errorf("%w: %w", ErrPrecondition, err)
		}
	}
	var resp *smithyhttp.ResponseError
	if errors.As(err, &resp) {
		switch resp.HTTPStatusCode() {
		case http.StatusNotFound:
			return fmt.Errorf("%w: %w", ErrNotFound, err)
		case http.StatusPreconditionFailed, http.StatusConflict:
			return fmt.Errorf("%w: %w", ErrPrecondition, err)
		case http.StatusNotModified:
			return fmt.Errorf("%w: %w", ErrNotModified, err)
		}
	}
	return err
}
