package sandbox

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// TestSTSAssumeRole: a role ARN of the sandbox's account gives temporary
// credentials whose caller identity is the assumed role; another account's
// role is AccessDenied.
func TestSTSAssumeRole(t *testing.T) {
	_, cfg := startSandbox(t, testConfig())
	ctx := ctxT(t)
	c := sts.NewFromConfig(cfg)
	out, err := c.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::000000000000:role/gameday-runner"), RoleSessionName: aws.String("rehearsal"), DurationSeconds: aws.Int32(900)})
	if err != nil {
		t.Fatal(err)
	}
	cr := out.Credentials
	if !strings.HasPrefix(aws.ToString(cr.AccessKeyId), "ASIA") || aws.ToString(cr.SecretAccessKey) == "" || aws.ToString(cr.SessionToken) == "" || cr.Expiration == nil {
		t.Fatalf("credentials %+v", cr)
	}
	if got := aws.ToString(out.AssumedRoleUser.Arn); got != "arn:aws:sts::000000000000:assumed-role/gameday-runner/rehearsal" {
		t.Fatalf("assumed role user %s", got)
	}
	role := cfg.Copy()
	role.Credentials = credentials.NewStaticCredentialsProvider(aws.ToString(cr.AccessKeyId), aws.ToString(cr.SecretAccessKey), aws.ToString(cr.SessionToken))
	id, err := sts.NewFromConfig(role).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil || aws.ToString(id.Arn) != aws.ToString(out.AssumedRoleUser.Arn) || aws.ToString(id.UserId) != aws.ToString(out.AssumedRoleUser.AssumedRoleId) {
		t.Fatalf("caller identity with the role's credentials: %+v %v", id, err)
	}
	_, err = c.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/elsewhere"), RoleSessionName: aws.String("x1")})
	wantAPIError(t, err, "AccessDenied", 403)
	_, err = c.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("not-an-arn"), RoleSessionName: aws.String("x1")})
	wantAPIError(t, err, "ValidationError", 400)
	_, err = c.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::000000000000:role/r"), RoleSessionName: aws.String("x1"), DurationSeconds: aws.Int32(60)})
	wantAPIError(t, err, "ValidationError", 400)
}

// TestCLIAssumeRole: by hand with the AWS CLI: assume-role, export the
// temporary credentials, call as the role. (A profile with role_arn makes
// the same AssumeRole call, but Debian's CLI 2.9 cannot point a profile's
// STS at another endpoint: endpoint_url in the config file needs CLI 2.13.)
func TestCLIAssumeRole(t *testing.T) {
	if testing.Short() {
		t.Skip("conformance suite: not in -short")
	}
	if _, err := os.Stat(debianAWS); err != nil {
		t.Skipf("conformance suite: %s absent (scripts/test-deps.sh installs awscli)", debianAWS)
	}
	s, env := conformanceSandbox(t)
	out, errOut, err := run(t, env, t.TempDir(), debianAWS, "--endpoint-url", s.Endpoint(), "--output", "json", "sts", "assume-role",
		"--role-arn", "arn:aws:iam::000000000000:role/gameday-runner", "--role-session-name", "rehearsal")
	if err != nil {
		t.Fatalf("aws sts assume-role: %v\n%s", err, errOut)
	}
	var ar struct {
		Credentials struct{ AccessKeyId, SecretAccessKey, SessionToken, Expiration string }
	}
	if err := json.Unmarshal([]byte(out), &ar); err != nil || !strings.HasPrefix(ar.Credentials.AccessKeyId, "ASIA") {
		t.Fatalf("assume-role output %q: %v", out, err)
	}
	var roleEnv []string
	for _, e := range env {
		if !strings.HasPrefix(e, "AWS_ACCESS_KEY_ID=") && !strings.HasPrefix(e, "AWS_SECRET_ACCESS_KEY=") {
			roleEnv = append(roleEnv, e)
		}
	}
	roleEnv = append(roleEnv, "AWS_ACCESS_KEY_ID="+ar.Credentials.AccessKeyId, "AWS_SECRET_ACCESS_KEY="+ar.Credentials.SecretAccessKey, "AWS_SESSION_TOKEN="+ar.Credentials.SessionToken)
	out, errOut, err = run(t, roleEnv, t.TempDir(), debianAWS, "--endpoint-url", s.Endpoint(), "--output", "text", "--query", "Arn", "sts", "get-caller-identity")
	if err != nil {
		t.Fatalf("aws sts get-caller-identity as the role: %v\n%s", err, errOut)
	}
	if got := strings.TrimSpace(out); got != "arn:aws:sts::000000000000:assumed-role/gameday-runner/rehearsal" {
		t.Fatalf("caller %q, want the assumed role", got)
	}
}
