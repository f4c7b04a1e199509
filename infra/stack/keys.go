package stack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/jsii-runtime-go"

	"github.com/skyport-gw/skyport/infra/nag"
)

// keys holds the publisher's signing key and the generated tokens.
type keys struct {
	signing awssecretsmanager.Secret
	// verifyKeys are the public keys data planes trust (comma-separated
	// base64; two during a rotation); keyID names the signing key.
	verifyKeys, keyID *string
	admin             awssecretsmanager.Secret
	dataPlane         awssecretsmanager.Secret
}

// newKeys creates the signing-key secret, filled with an Ed25519 private
// key at deploy time by the keygen custom resource (CloudFormation invokes
// the function, which answers at the presigned URL), and the admin and
// data-plane tokens.
func newKeys(s awscdk.Stack, p *Props) *keys {
	k := &keys{}
	k.signing = awssecretsmanager.NewSecret(s, jsii.String("SigningKey"), &awssecretsmanager.SecretProps{
		Description:   jsii.String("Skyport publisher Ed25519 signing key, written by the keygen custom resource"),
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	nag.Suppress(k.signing, "SMG4", "the signing key rotates by the documented procedure (README: Rotating the signing key): "+
		"deploys with SKYPORT_KEY_ROTATION=prepare, then promote, then none, so data planes trust the next key before it signs "+
		"and the old one until its snapshots are superseded; a Secrets Manager schedule could not give data planes the new public key first")
	keygen := newFunction(s, "KeygenFunction", "keygen", p, map[string]*string{}, 30)
	k.signing.GrantRead(keygen.fn, nil)
	k.signing.GrantWrite(keygen.fn)
	cr := awscdk.NewCustomResource(s, jsii.String("SigningKeyPair"), &awscdk.CustomResourceProps{
		ServiceToken: keygen.fn.FunctionArn(),
		ResourceType: jsii.String("Custom::SkyportSigningKey"),
		Properties: &map[string]interface{}{
			"SecretId": k.signing.SecretArn(),
			"Rotation": p.SigningKeyRotation,
		},
	})
	k.verifyKeys = cr.GetAttString(jsii.String("VerifyKeys"))
	k.keyID = cr.GetAttString(jsii.String("KeyId"))

	token := func(id, desc string) awssecretsmanager.Secret {
		t := awssecretsmanager.NewSecret(s, jsii.String(id), &awssecretsmanager.SecretProps{
			Description: jsii.String(desc),
			GenerateSecretString: &awssecretsmanager.SecretStringGenerator{
				ExcludePunctuation: jsii.Bool(true),
				PasswordLength:     jsii.Number(48),
			},
		})
		nag.Suppress(t, "SMG4", "a bearer token shared with clients outside AWS: it is rotated by the operator, "+
			"who hands the new value to every client (cdk deploy replaces it when the secret is recreated)")
		return t
	}
	if p.AdminAuth == AuthToken {
		k.admin = token("AdminToken", "Skyport Admin API bearer token")
	}
	if p.DataPlaneAuth == AuthToken {
		k.dataPlane = token("DataPlaneToken", "Skyport data-plane connection token")
	}
	return k
}
