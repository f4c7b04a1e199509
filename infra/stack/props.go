// Package stack is Skyport's CDK stack: the serverless control plane
// (DynamoDB, S3, the admin, publisher, cluster and authorizer Lambdas, the
// HTTP and WebSocket APIs, the signing key) and, optionally, a fleet of
// data planes on ECS Fargate built with package fleet.
//
// The stack takes every value through Props; nothing in it reads the
// environment (main.go does).
package stack

import "github.com/aws/aws-cdk-go/awscdk/v2"

// Auth modes for the Admin API and for data planes' WebSocket connections.
const (
	AuthIAM   = "iam"
	AuthToken = "token"
)

// Props configures the stack.
type Props struct {
	awscdk.StackProps
	// LambdaDir holds one directory per Lambda (admin, publisher, cluster,
	// authorizer, keygen), each with a `bootstrap` built by `make build`.
	LambdaDir string
	// AdminAuth is "iam" (API Gateway IAM authorization, the default) or
	// "token" (a bearer token from a generated secret, checked by the admin
	// function).
	AdminAuth string
	// DataPlaneAuth is how data planes authenticate the WebSocket $connect:
	// "iam" (SigV4, the default) or "token" (a Lambda REQUEST authorizer
	// over a generated secret).
	DataPlaneAuth string
	// SnapshotPrefix is the key prefix of snapshots in the bucket; default "cp".
	SnapshotPrefix string
	// SupersededSnapshotDays is how long a snapshot that is no longer the
	// latest, and a delta, are kept (counted from when they were written);
	// default and least HistoryMaxDays+ChainMarginDays, so a revision
	// within the history outlives neither the full snapshot nor the deltas
	// it is rebuilt from (docs/contracts.md, "Full snapshots and delta
	// chains").
	SupersededSnapshotDays float64
	// HistoryMaxRevisions and HistoryMaxDays bound the configuration
	// history (GET /config/revisions, rollback): revisions past either
	// answer 410 and are pruned; defaults 1000 and 90.
	HistoryMaxRevisions float64
	HistoryMaxDays      float64
	// RolloutPolicy is the staged rollout's policy as JSON (the body of
	// PUT /config/rollout-policy), in force until one is set through the
	// Admin API; empty means everything at once.
	RolloutPolicy string
	// DataPlane, when set, adds an ECS Fargate fleet of data planes.
	DataPlane *DataPlaneProps
	// AlarmEmail is unused unless set: reserved for an SNS subscription.
	AlarmEmail string
	// SigningKeyRotation is the signing key's rotation phase: "none" (the
	// default), "prepare" or "promote" (package keygen, README "Rotating
	// the signing key").
	SigningKeyRotation string
	// ExistingAPIGatewayLogRole, when true, leaves API Gateway's
	// account-level CloudWatch Logs role (which WebSocket access logs
	// need) to the one the account already has; by default the stack sets
	// its own.
	ExistingAPIGatewayLogRole bool
}

// DataPlaneProps configures the stack's data-plane fleet.
type DataPlaneProps struct {
	// Image is the container image reference ("skyport:dev" pushed to a
	// registry) or empty to build the image asset from ImageDir.
	Image string
	// ImageDir is the arm64 image's build context, with its Dockerfile
	// (`make image-files ARCH=arm64` lays out bin/image/linux-arm64),
	// used when Image is empty.
	ImageDir string
	// DesiredCount, MinCount and MaxCount size the service; defaults 2, 2, 10.
	DesiredCount, MinCount, MaxCount float64
	// CPU (units) and MemoryMiB per task; defaults 512 and 1024.
	CPU, MemoryMiB float64
	// TargetCPUPercent is the scaling target; default 60.
	TargetCPUPercent float64
}

// ChainMarginDays is how much longer than a history record the full
// snapshot and the deltas a chained revision is rebuilt from are kept:
// they are written at most the publisher's FullMaxAge (6 h by default,
// SKYPORT_FULL_MAX_AGE) plus a reconciliation (a minute) before the
// revision, so a day covers a FullMaxAge below 23 hours.
const ChainMarginDays = 1

func (p *Props) defaults() {
	if p.AdminAuth == "" {
		p.AdminAuth = AuthIAM
	}
	if p.DataPlaneAuth == "" {
		p.DataPlaneAuth = AuthIAM
	}
	if p.SnapshotPrefix == "" {
		p.SnapshotPrefix = "cp"
	}
	if p.SigningKeyRotation == "" {
		p.SigningKeyRotation = "none"
	}
	if p.HistoryMaxRevisions == 0 {
		p.HistoryMaxRevisions = 1000
	}
	if p.HistoryMaxDays == 0 {
		p.HistoryMaxDays = 90
	}
	if p.SupersededSnapshotDays == 0 {
		p.SupersededSnapshotDays = p.HistoryMaxDays + ChainMarginDays
	}
}
