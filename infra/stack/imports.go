package stack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/jsii-runtime-go"

	"github.com/skyport-gw/skyport/infra/nag"
)

// ImporterMemoryMiB is the import function's memory.
const ImporterMemoryMiB = 4096

// grantImports gives the Admin API and the import function what import
// jobs use, and returns the ARN of the objects they live in
// (<prefix>/imports/*). The Admin API writes a job's record and signs its
// upload URL (the upload is made with its role), reads the record and
// lists the job's folder, and invokes the importer; the importer reads
// the upload, writes the record, keeps the rest of a job it hands on
// (imports/<id>/rest/…) and deletes the upload and that rest, writes the
// entity table (staged generations and the commit), and invokes itself
// to continue a job.
func grantImports(p *Props, d *data, admin awslambda.Function, importer *function) *string {
	folder := d.bucket.ArnForObjects(jsii.String(p.SnapshotPrefix + "/imports/*"))
	admin.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("s3:PutObject"),
		Resources: &[]*string{folder},
	}))
	admin.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("lambda:InvokeFunction"),
		Resources: &[]*string{importer.fn.FunctionArn()},
	}))
	importer.role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("s3:GetObject", "s3:PutObject", "s3:DeleteObject"),
		Resources: &[]*string{folder},
	}))
	d.entities.GrantReadWriteData(importer.role)
	// Its own ARN in a policy of its own: in the role's default policy it
	// would make the function depend on itself.
	self := awsiam.NewPolicy(importer.fn, jsii.String("InvokeSelf"), &awsiam.PolicyProps{
		Statements: &[]awsiam.PolicyStatement{awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions:   jsii.Strings("lambda:InvokeFunction"),
			Resources: &[]*string{importer.fn.FunctionArn()},
		})},
	})
	self.AttachToRole(importer.role)
	for _, r := range []awsiam.IRole{admin.Role(), importer.role} {
		nag.Suppress(r, "IAM5", "an import job's record and upload live under <prefix>/imports/<job id>/, the id chosen at creation; the grant covers that folder only",
			`/^Resource::<Snapshots[0-9A-F]{8}\.Arn>\/`+p.SnapshotPrefix+`\/imports\/\*$/`)
	}
	return folder
}
