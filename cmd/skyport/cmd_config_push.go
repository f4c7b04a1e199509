package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/skyport-gw/skyport/internal/awsconfig"
	"github.com/skyport-gw/skyport/lambdas/imports"
)

// maxAnswerBytes bounds an Admin API answer the push reads.
const maxAnswerBytes = 1 << 20

// pushOptions are the flags of "skyport config push".
type pushOptions struct {
	AdminURL   string
	AdminAuth  string
	AdminToken string
	Poll       time.Duration
	Timeout    time.Duration
}

// runConfigPush implements "skyport config push FILE": an import job
// (create, upload, start, follow) through the Admin API.
func runConfigPush(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o pushOptions
	fs := flag.NewFlagSet("skyport config push", flag.ContinueOnError)
	fs.StringVar(&o.AdminURL, "admin-url", "http://127.0.0.1:8001", "the Admin API's base URL")
	fs.StringVar(&o.AdminAuth, "admin-auth", "token", "token (--admin-token, if any) or iam (Signature Version 4 for API Gateway's IAM authorization, with the AWS SDK's credentials and AWS_REGION)")
	fs.StringVar(&o.AdminToken, "admin-token", "", "the Admin API's token, sent as Authorization: Bearer")
	fs.DurationVar(&o.Poll, "poll", time.Second, "how often the job's progress is asked")
	fs.DurationVar(&o.Timeout, "timeout", 30*time.Minute, "how long to wait for the import to finish")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: skyport config push FILE [flags]\n\nLoads FILE (kong.yml, YAML or JSON, up to 256 MiB) as the whole configuration through an\n"+
			"import job: uploads it where the Admin API says, starts the job and shows its progress.\n\nFlags:")
		fs.PrintDefaults()
	}
	// FILE may come before the flags, as in `skyport config push kong.yml --admin-url …`.
	if err := parseOnlyFlags(fs, args, stderr); err != nil {
		return err
	}
	if fs.NArg() < 1 {
		fs.Usage()
		return errUsage
	}
	path := fs.Arg(0)
	if err := parseOnlyFlags(fs, fs.Args()[1:], stderr); err != nil {
		return err
	}
	if fs.NArg() != 0 || o.Poll <= 0 || o.Timeout <= 0 {
		fs.Usage()
		return errUsage
	}
	base, err := url.Parse(strings.TrimSuffix(o.AdminURL, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return fmt.Errorf("--admin-url %q: want http(s)://host[:port]", o.AdminURL)
	}
	p := &pusher{base: base.String(), token: o.AdminToken, poll: o.Poll, client: &http.Client{}, progress: newProgress(stdout)}
	switch o.AdminAuth {
	case "token":
	case "iam":
		cfg, err := awsconfig.Load(ctx, slog.New(slog.DiscardHandler))
		if err != nil {
			return err
		}
		if cfg.Region == "" {
			return errors.New("--admin-auth iam: no AWS Region (set AWS_REGION)")
		}
		p.sign = &sigv4{creds: cfg.Credentials, region: cfg.Region}
	default:
		return fmt.Errorf("--admin-auth %q: want token or iam", o.AdminAuth)
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	job, err := p.push(ctx, path)
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("the import did not finish within %s (job %s: %s, %d/%d entities)", o.Timeout, job.ID, job.State, job.Written, job.Total)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: %d %s loaded as revision %d (import %s)\n", path, job.Total, plural(job.Total, "entity", "entities"), job.Revision, job.ID)
	return nil
}

// pusher talks to the Admin API and the upload URL for one push.
type pusher struct {
	base, token string
	poll        time.Duration
	client      *http.Client
	progress    *progress
	// sign signs Admin API requests (--admin-auth iam); nil sends the token.
	sign *sigv4
}

// sigv4 signs Admin API requests for API Gateway's IAM authorization.
type sigv4 struct {
	creds  aws.CredentialsProvider
	region string
}

func (s *sigv4) signRequest(ctx context.Context, req *http.Request, body []byte) error {
	creds, err := s.creds.Retrieve(ctx)
	if err != nil {
		return fmt.Errorf("retrieving AWS credentials: %w", err)
	}
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "execute-api", s.region, time.Now()); err != nil {
		return fmt.Errorf("signing the request: %w", err)
	}
	return nil
}

func (p *pusher) push(ctx context.Context, path string) (imports.Job, error) {
	f, err := os.Open(path)
	if err != nil {
		return imports.Job{}, fmt.Errorf("reading %s: %w", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return imports.Job{}, fmt.Errorf("reading %s: %w", path, err)
	}
	if !st.Mode().IsRegular() || st.Size() == 0 || st.Size() > imports.MaxUploadBytes {
		return imports.Job{}, fmt.Errorf("%s: want a regular file of 1 byte to %d MiB", path, imports.MaxUploadBytes>>20)
	}
	var job imports.Job
	if err := p.admin(ctx, http.MethodPost, "/config/imports", http.StatusCreated, &job); err != nil {
		return job, fmt.Errorf("creating an import job: %w", err)
	}
	if job.Upload == nil || job.Upload.URL == "" {
		return job, errors.New("creating an import job: the answer has no upload url")
	}
	p.progress.show(job, "uploading")
	if err := p.upload(ctx, job.Upload, f, st.Size()); err != nil {
		return job, fmt.Errorf("uploading %s: %w", path, err)
	}
	if err := p.admin(ctx, http.MethodPost, "/config/imports/"+job.ID+"/start", http.StatusAccepted, &job); err != nil {
		return job, fmt.Errorf("starting import %s: %w", job.ID, err)
	}
	return p.follow(ctx, job)
}

// follow asks for the job's progress until it ends.
func (p *pusher) follow(ctx context.Context, job imports.Job) (imports.Job, error) {
	t := time.NewTicker(p.poll)
	defer t.Stop()
	for {
		p.progress.show(job, "")
		switch job.State {
		case imports.StateSucceeded:
			p.progress.done()
			return job, nil
		case imports.StateFailed:
			p.progress.done()
			return job, fmt.Errorf("import %s failed: %s", job.ID, job.Error)
		}
		select {
		case <-ctx.Done():
			p.progress.done()
			return job, ctx.Err()
		case <-t.C:
		}
		var next imports.Job
		if err := p.admin(ctx, http.MethodGet, "/config/imports/"+job.ID, http.StatusOK, &next); err != nil {
			p.progress.done()
			if ctx.Err() != nil {
				return job, ctx.Err()
			}
			return job, fmt.Errorf("following import %s: %w", job.ID, err)
		}
		job = next
	}
}

// admin makes one Admin API call and decodes its answer into out.
func (p *pusher) admin(ctx context.Context, method, path string, want int, out any) error {
	var payload []byte
	if method == http.MethodPost {
		payload = []byte("{}")
	}
	req, err := http.NewRequestWithContext(ctx, method, p.base+path, bytes.NewReader(payload))
	if err != nil {
		return err
	}
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	switch {
	case p.sign != nil:
		if err := p.sign.signRequest(ctx, req, payload); err != nil {
			return err
		}
	case p.token != "":
		req.Header.Set("Authorization", "Bearer "+p.token)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	if err != nil {
		return fmt.Errorf("reading the answer: %w", err)
	}
	if resp.StatusCode != want {
		return answerError(resp.StatusCode, data)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("decoding the answer: %w", err)
	}
	return nil
}

// upload PUTs the file to the presigned URL, as S3 takes it.
func (p *pusher) upload(ctx context.Context, up *imports.Upload, f *os.File, size int64) error {
	method := up.Method
	if method == "" {
		method = http.MethodPut
	}
	req, err := http.NewRequestWithContext(ctx, method, up.URL, f)
	if err != nil {
		return err
	}
	req.ContentLength = size
	resp, err := p.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
		return answerError(resp.StatusCode, data)
	}
	return nil
}

// answerError is an unexpected answer as one line: its status and its
// message (Kong's {"message"}, S3's <Message>, or the text).
func answerError(status int, data []byte) error {
	var kong struct {
		Message string `json:"message"`
	}
	msg := ""
	if json.Unmarshal(data, &kong) == nil && kong.Message != "" {
		msg = kong.Message
	} else if i, j := bytes.Index(data, []byte("<Message>")), bytes.Index(data, []byte("</Message>")); i >= 0 && j > i {
		msg = string(data[i+len("<Message>") : j])
	} else {
		msg = string(data)
	}
	msg = strings.Join(strings.Fields(msg), " ")
	if len(msg) > 300 {
		msg = msg[:300] + "…"
	}
	if msg == "" {
		return fmt.Errorf("HTTP %d", status)
	}
	return fmt.Errorf("HTTP %d: %s", status, msg)
}
