package stack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/customresources"
	"github.com/aws/jsii-runtime-go"
)

// keys holds the publisher's signing key and the generated tokens.
type keys struct {
	signing   awssecretsmanager.Secret
	publicKey *string
	admin     awssecretsmanager.Secret
	dataPlane awssecretsmanager.Secret
}

// newKeys creates the signing-key secret, filled with an Ed25519 private key
// at deploy time by the keygen custom resource (which returns the public
// key, passed to data planes), and the admin and data-plane tokens.
func newKeys(s awscdk.Stack, p *Props) *keys {
	k := &keys{}
	k.signing = awssecretsmanager.NewSecret(s, jsii.String("SigningKey"), &awssecretsmanager.SecretProps{
		Description:   jsii.String("Skyport publisher Ed25519 signing key (PKCS #8 PEM), written by the keygen custom resource"),
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	keygen := newFunction(s, "KeygenFunction", "keygen", p, map[string]*string{}, 30)
	k.signing.GrantRead(keygen.fn, nil)
	k.signing.GrantWrite(keygen.fn)
	provider := customresources.NewProvider(s, jsii.String("KeygenProvider"), &customresources.ProviderProps{
		OnEventHandler: keygen.fn,
	})
	cr := awscdk.NewCustomResource(s, jsii.String("SigningKeyPair"), &awscdk.CustomResourceProps{
		ServiceToken: provider.ServiceToken(),
		ResourceType: jsii.String("Custom::SkyportSigningKey"),
		Properties:   &map[string]interface{}{"SecretId": k.signing.SecretArn()},
	})
	k.publicKey = cr.GetAttString(jsii.String("PublicKey"))

	token := func(id, desc string) awssecretsmanager.Secret {
		return awssecretsmanager.NewSecret(s, jsii.String(id), &awssecretsmanager.SecretProps{
			Description: jsii.String(desc),
			GenerateSecretString: &awssecretsmanager.SecretStringGenerator{
				ExcludePunctuation: jsii.Bool(true),
				PasswordLength:     jsii.Number(48),
			},
		})
	}
	if p.AdminAuth == AuthToken {
		k.admin = token("AdminToken", "Skyport Admin API bearer token")
	}
	if p.DataPlaneAuth == AuthToken {
		k.dataPlane = token("DataPlaneToken", "Skyport data-plane connection token")
	}
	return k
}
