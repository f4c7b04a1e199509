// Package nag applies cdk-nag's AwsSolutions pack to the app and records,
// in code beside the resource, why a rule does not apply where it does
// not. `make test-infra` fails on any finding left without a reason.
package nag

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// Check adds the AwsSolutions pack to scope; at synthesis it writes
// AwsSolutions-<stack>-NagReport.csv into the assembly and an error
// annotation per unsuppressed finding.
func Check(scope constructs.IConstruct) {
	awscdk.Aspects_Of(scope).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{
		Reports: jsii.Bool(true),
		Verbose: jsii.Bool(true),
	}), nil)
}

// Suppress records on c and its children why an AwsSolutions rule does not
// apply, with the evidence. appliesTo, when given, are regular expressions
// naming the exact findings (IAM4/IAM5 resources and actions) the reason
// covers; any other finding of the rule still fails.
func Suppress(c constructs.IConstruct, rule, reason string, appliesTo ...string) {
	s := &cdknag.NagPackSuppression{Id: jsii.String("AwsSolutions-" + rule), Reason: jsii.String(reason)}
	if len(appliesTo) > 0 {
		var at []interface{}
		for _, re := range appliesTo {
			at = append(at, &cdknag.RegexAppliesTo{Regex: jsii.String(re)})
		}
		s.AppliesTo = &at
	}
	cdknag.NagSuppressions_AddResourceSuppressions(c, &[]*cdknag.NagPackSuppression{s}, jsii.Bool(true))
}
