package awslambda

// Config is aws-lambda's configuration.
type Config struct {
	// Timeout bounds an invocation and Keepalive an idle connection, in
	// milliseconds.
	Timeout   float64 `json:"timeout"`
	Keepalive float64 `json:"keepalive"`
	// AWSKey and AWSSecret are static credentials; without them the data
	// plane's own (its task role) are used. AWSAssumeRoleARN, when set,
	// is assumed with them, as AWSRoleSessionName, through
	// AWSSTSEndpointURL when set.
	AWSKey             *string `json:"aws_key"`
	AWSSecret          *string `json:"aws_secret"`
	AWSAssumeRoleARN   *string `json:"aws_assume_role_arn"`
	AWSRoleSessionName string  `json:"aws_role_session_name"`
	AWSSTSEndpointURL  *string `json:"aws_sts_endpoint_url"`
	// AWSRegion is the function's Region; the data plane's when unset.
	AWSRegion *string `json:"aws_region"`
	// FunctionName (name or ARN) and Qualifier (version or alias) name
	// the function.
	FunctionName *string `json:"function_name"`
	Qualifier    *string `json:"qualifier"`
	// InvocationType is RequestResponse, Event or DryRun; LogType Tail or
	// None.
	InvocationType string `json:"invocation_type"`
	LogType        string `json:"log_type"`
	// Host, Port and DisableHTTPS replace the Lambda endpoint.
	Host         *string `json:"host"`
	Port         *int    `json:"port"`
	DisableHTTPS bool    `json:"disable_https"`
	// UnhandledStatus is the status answered when the function failed
	// with an unhandled error.
	UnhandledStatus *int `json:"unhandled_status"`
	// The Forward* flags add the request's method, URI, headers and body
	// to the payload.
	ForwardRequestMethod  bool `json:"forward_request_method"`
	ForwardRequestURI     bool `json:"forward_request_uri"`
	ForwardRequestHeaders bool `json:"forward_request_headers"`
	ForwardRequestBody    bool `json:"forward_request_body"`
	// IsProxyIntegration reads the function's result as an API Gateway
	// proxy response (statusCode, headers, body).
	IsProxyIntegration bool `json:"is_proxy_integration"`
	// AWSGatewayCompatible sends an API Gateway (REST, version 1.0) proxy
	// event as the payload.
	AWSGatewayCompatible bool `json:"awsgateway_compatible"`
	// ProxyURL is an HTTP proxy to reach Lambda through.
	ProxyURL *string `json:"proxy_url"`
	// SkipLargeBodies leaves out bodies too large to buffer.
	SkipLargeBodies bool `json:"skip_large_bodies"`
	// Base64EncodeBody encodes binary request bodies.
	Base64EncodeBody bool `json:"base64_encode_body"`
	// AWSIMDSProtocolVersion is accepted for compatibility; the SDK's
	// credential chain picks the metadata protocol itself.
	AWSIMDSProtocolVersion string `json:"aws_imds_protocol_version"`
	// EmptyArraysMode "legacy" sends empty JSON arrays of the function's
	// result as {}, as Kong long did; "correct" as [].
	EmptyArraysMode string `json:"empty_arrays_mode"`
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
