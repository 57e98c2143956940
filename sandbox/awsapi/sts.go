package awsapi

import "fmt"

var stsActions = map[string]actionDef{
	"GetCallerIdentity": {fn: (*handler).stsGetCallerIdentity},
}

// SandboxUser is the IAM user name the sandbox's callers appear as.
const SandboxUser = "gameday-sandbox"

func (h *handler) stsGetCallerIdentity(r *request) (any, error) {
	acct := h.b.AccountID()
	type out struct {
		UserID  string `xml:"UserId"`
		Account string `xml:"Account"`
		Arn     string `xml:"Arn"`
	}
	if s, ok := h.roles.get(r.accessKey); ok {
		// Temporary credentials from AssumeRole: the assumed-role identity.
		return out{UserID: s.roleID + ":" + s.session, Account: acct, Arn: s.arn}, nil
	}
	return out{
		UserID:  "AIDA" + upperHash(acct+"/"+SandboxUser, 17),
		Account: acct,
		Arn:     fmt.Sprintf("arn:aws:iam::%s:user/%s", acct, SandboxUser),
	}, nil
}

func upperHash(s string, n int) string {
	const alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	h := shortHash(s, 40)
	out := make([]byte, n)
	for i := range out {
		out[i] = alpha[(int(h[i%len(h)])+i*7)%len(alpha)]
	}
	return string(out)
}
