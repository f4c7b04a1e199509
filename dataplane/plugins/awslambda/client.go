package awslambda

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// maxClients bounds the Lambda clients kept (Kong's LRU of 1000).
const maxClients = 1000

// AWS is what the data plane gives the plugin: its Region and its own
// credentials (the task role), used when a plugin has no aws_key.
type AWS struct {
	Region      string
	Credentials aws.CredentialsProvider
}

// clients caches one Lambda client per connection configuration, so
// instances and snapshots share connection pools and credentials.
type clients struct {
	env AWS

	mu     sync.Mutex
	byConf map[string]*lambda.Client
}

func newClients(env AWS) *clients { return &clients{env: env, byConf: map[string]*lambda.Client{}} }

// clientKey lists the fields that make a client, as Kong's cache key.
func clientKey(c *Config, region string) string {
	return fmt.Sprintf("%v|%v|%s|%s|%s|%s|%s|%s|%s|%v|%v|%s", c.Timeout, c.Keepalive, str(c.AWSKey), str(c.AWSSecret),
		str(c.AWSAssumeRoleARN), c.AWSRoleSessionName, str(c.AWSSTSEndpointURL), region, str(c.Host),
		c.Port, c.DisableHTTPS, str(c.ProxyURL))
}

// get returns the client for c in region.
func (cs *clients) get(c *Config, region string) (*lambda.Client, error) {
	key := clientKey(c, region)
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cl, ok := cs.byConf[key]; ok {
		return cl, nil
	}
	cl, err := cs.build(c, region)
	if err != nil {
		return nil, err
	}
	if len(cs.byConf) >= maxClients {
		clear(cs.byConf)
	}
	cs.byConf[key] = cl
	return cl, nil
}

func (cs *clients) build(c *Config, region string) (*lambda.Client, error) {
	hc, err := httpClient(c)
	if err != nil {
		return nil, err
	}
	creds := cs.env.Credentials
	if c.AWSKey != nil {
		creds = credentials.NewStaticCredentialsProvider(*c.AWSKey, str(c.AWSSecret), "")
	}
	if creds == nil {
		creds = aws.AnonymousCredentials{}
	}
	if c.AWSAssumeRoleARN != nil {
		stsClient := sts.New(sts.Options{Region: region, Credentials: creds, HTTPClient: hc,
			BaseEndpoint: c.AWSSTSEndpointURL})
		creds = stscreds.NewAssumeRoleProvider(stsClient, *c.AWSAssumeRoleARN, func(o *stscreds.AssumeRoleOptions) {
			o.RoleSessionName = c.AWSRoleSessionName
		})
	}
	opts := lambda.Options{Region: region, Credentials: aws.NewCredentialsCache(creds), HTTPClient: hc,
		RetryMaxAttempts: 1}
	if c.Host != nil {
		scheme := "https"
		if c.DisableHTTPS {
			scheme = "http"
		}
		port := 443
		if c.Port != nil {
			port = *c.Port
		}
		ep := scheme + "://" + net.JoinHostPort(*c.Host, strconv.Itoa(port))
		opts.BaseEndpoint = &ep
	}
	return lambda.New(opts), nil
}

// httpClient is the transport of one configuration: its timeout,
// keepalive and proxy.
func httpClient(c *Config) (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.IdleConnTimeout = time.Duration(c.Keepalive) * time.Millisecond
	if c.ProxyURL != nil {
		u, err := url.Parse(*c.ProxyURL)
		if err != nil {
			return nil, fmt.Errorf("parsing proxy_url: %w", err)
		}
		tr.Proxy = http.ProxyURL(u)
	}
	return &http.Client{Transport: tr, Timeout: time.Duration(c.Timeout) * time.Millisecond}, nil
}

// invokeContext bounds one invocation by the configured timeout.
func invokeContext(ctx context.Context, c *Config) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, time.Duration(c.Timeout)*time.Millisecond)
}
