package awsapi

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/gameday-dev/gameday/sandbox/sim"
)

// STS AssumeRole, so AWS CLI and SDK profiles with role_arn work against
// the sandbox (STS API reference, AssumeRole; shapes from botocore's sts
// 2011-06-15 model). The sandbox has no IAM: any role of its own account
// can be assumed; a role of another account is AccessDenied, as a role
// without a trust policy for the caller is. The temporary credentials are
// remembered so GetCallerIdentity made with them answers the assumed-role
// identity; like every credential the sandbox sees, they are not checked
// on other calls (and their expiry is reported, not enforced).

func init() {
	stsActions["AssumeRole"] = actionDef{fn: (*handler).stsAssumeRole}
	actionNotes[ServiceSTS]["AssumeRole"] = "A role ARN of the sandbox's account in, temporary credentials (ASIA…) and the assumed-role user out; GetCallerIdentity with them answers the assumed-role ARN, so profiles with role_arn work where the client can point STS at the sandbox (endpoint_url in the profile: AWS CLI 2.13+, botocore 1.31+, the Go SDK's BaseEndpoint). Another account's role is AccessDenied. No IAM: policies, ExternalId and MFA are not evaluated, and expiry is not enforced."
	actionNotes[ServiceSTS]["GetCallerIdentity"] = "The sandbox account and a fixed user ARN, or the assumed-role ARN for AssumeRole's credentials."
}

type stsSession struct {
	roleID, session, arn string
}

type stsSessions struct {
	mu   sync.Mutex
	keys map[string]stsSession // access key id → session
}

func (s *stsSessions) get(key string) (stsSession, bool) {
	if key == "" {
		return stsSession{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	x, ok := s.keys[key]
	return x, ok
}

func (s *stsSessions) put(key string, x stsSession) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.keys == nil || len(s.keys) >= 10000 {
		s.keys = map[string]stsSession{} // bounded
	}
	s.keys[key] = x
}

// accessKeyOf returns the access key id of a SigV4-signed request.
func accessKeyOf(r *http.Request) string {
	cred := ""
	if a := r.Header.Get("Authorization"); a != "" {
		if i := strings.Index(a, "Credential="); i >= 0 {
			cred = a[i+len("Credential="):]
		}
	}
	if cred == "" {
		cred = r.URL.Query().Get("X-Amz-Credential")
	}
	k, _, _ := strings.Cut(cred, "/")
	return k
}

// The role name (at most 64) and the session name (2 to 64) have their
// lengths checked apart: a bounded repetition ({1,64}) compiles to one
// instruction per repetition at every start of the binary.
var (
	roleARNRE     = regexp.MustCompile(`^arn:aws:iam::(\d{12}):role/((?:[\x21-\x7e]+/)*)([\w+=,.@-]+)$`)
	sessionNameRE = regexp.MustCompile(`^[\w+=,.@-]*$`)
)

func randomUpper(n int) string {
	const alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alpha[int(b[i])%len(alpha)]
	}
	return string(b)
}

func (h *handler) stsAssumeRole(r *request) (any, error) {
	arn, session := r.p.get("RoleArn"), r.p.get("RoleSessionName")
	if arn == "" {
		return nil, errMissing(r.service, "RoleArn")
	}
	if session == "" {
		return nil, errMissing(r.service, "RoleSessionName")
	}
	if len(session) < 2 || len(session) > 64 || !sessionNameRE.MatchString(session) {
		return nil, &sim.APIError{Code: "ValidationError", Message: fmt.Sprintf("1 validation error detected: Value '%s' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]* and have length between 2 and 64", session), Status: http.StatusBadRequest}
	}
	m := roleARNRE.FindStringSubmatch(arn)
	if m == nil || len(m[3]) > 64 {
		return nil, &sim.APIError{Code: "ValidationError", Message: fmt.Sprintf("%s is invalid", arn), Status: http.StatusBadRequest}
	}
	acct := h.b.AccountID()
	caller := fmt.Sprintf("arn:aws:iam::%s:user/%s", acct, SandboxUser)
	if s, ok := h.roles.get(r.accessKey); ok {
		caller = s.arn
	}
	if m[1] != acct {
		return nil, &sim.APIError{Code: "AccessDenied", Message: fmt.Sprintf("User: %s is not authorized to perform: sts:AssumeRole on resource: %s (gameday sandbox: only roles of account %s)", caller, arn, acct), Status: http.StatusForbidden}
	}
	dur := 3600
	if r.p.has("DurationSeconds") {
		d, _, err := r.p.int32("DurationSeconds")
		if err != nil || d < 900 || d > 43200 {
			return nil, &sim.APIError{Code: "ValidationError", Message: fmt.Sprintf("1 validation error detected: Value '%s' at 'durationSeconds' failed to satisfy constraint: Member must have value between 900 and 43200", r.p.get("DurationSeconds")), Status: http.StatusBadRequest}
		}
		dur = int(d)
	}
	role := m[3]
	roleID := "AROA" + upperHash(acct+"/role/"+role, 17)
	key := "ASIA" + randomUpper(16)
	secret := make([]byte, 30)
	_, _ = rand.Read(secret)
	token := make([]byte, 96)
	_, _ = rand.Read(token)
	assumed := fmt.Sprintf("arn:aws:sts::%s:assumed-role/%s/%s", acct, role, session)
	h.roles.put(key, stsSession{roleID: roleID, session: session, arn: assumed})
	type creds struct {
		AccessKeyID     string `xml:"AccessKeyId"`
		SecretAccessKey string `xml:"SecretAccessKey"`
		SessionToken    string `xml:"SessionToken"`
		Expiration      string `xml:"Expiration"`
	}
	type user struct {
		AssumedRoleID string `xml:"AssumedRoleId"`
		Arn           string `xml:"Arn"`
	}
	type out struct {
		Credentials      creds `xml:"Credentials"`
		AssumedRoleUser  user  `xml:"AssumedRoleUser"`
		PackedPolicySize int   `xml:"PackedPolicySize,omitempty"`
	}
	return out{
		Credentials: creds{AccessKeyID: key, SecretAccessKey: base64.StdEncoding.EncodeToString(secret), SessionToken: base64.StdEncoding.EncodeToString(token),
			Expiration: iso(h.now().Add(time.Duration(dur) * time.Second))},
		AssumedRoleUser: user{AssumedRoleID: roleID + ":" + session, Arn: assumed},
	}, nil
}
