package sandbox

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gameday-dev/gameday/sandbox/sim"
)

// TestConformanceInstanceRefresh: the AWS CLI and boto3 see an instance
// refresh as the harness does (describe-instance-refreshes shows its
// progress). Each client gets a sandbox of its own: a refresh replaces the
// whole group.
func TestConformanceInstanceRefresh(t *testing.T) {
	if testing.Short() {
		t.Skip("conformance suite: not in -short")
	}
	env := func(t *testing.T) (*Sandbox, []string) {
		s, _ := startSandbox(t, refreshConfig(sim.ReleaseGood))
		dir := t.TempDir()
		sumFile := filepath.Join(dir, "summary.json")
		b, err := json.Marshal(s.Summary())
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(sumFile, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return s, []string{
			"PATH=/usr/bin:/bin", "HOME=" + dir,
			"AWS_ACCESS_KEY_ID=gameday", "AWS_SECRET_ACCESS_KEY=gameday",
			"AWS_DEFAULT_REGION=" + s.Summary().Region,
			"AWS_CONFIG_FILE=" + filepath.Join(dir, "config"),
			"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(dir, "credentials"),
			"AWS_EC2_METADATA_DISABLED=true", "AWS_PAGER=", "NO_PROXY=*", "PYTHONDONTWRITEBYTECODE=1",
			"GAMEDAY_ENDPOINT=" + s.Endpoint(), "GAMEDAY_SUMMARY=" + sumFile,
		}
	}
	t.Run("boto3", func(t *testing.T) {
		if err := exec.Command(debianPython3, "-c", "import boto3").Run(); err != nil {
			t.Skipf("conformance suite: boto3 not importable by %s (scripts/test-deps.sh installs python3-boto3)", debianPython3)
		}
		_, e := env(t)
		dir, err := filepath.Abs("testdata/conformance")
		if err != nil {
			t.Fatal(err)
		}
		out, errOut, err := run(t, e, dir, debianPython3, "instancerefresh.py")
		t.Logf("instancerefresh.py:\n%s", out)
		if err != nil {
			t.Fatalf("instancerefresh.py: %v\n%s", err, errOut)
		}
	})
	t.Run("aws-cli", func(t *testing.T) {
		if _, err := os.Stat(debianAWS); err != nil {
			t.Skipf("conformance suite: %s absent (scripts/test-deps.sh installs awscli)", debianAWS)
		}
		s, e := env(t)
		group := s.Summary().AutoScalingGroup
		cli := func(args ...string) string {
			t.Helper()
			out, errOut, err := run(t, e, t.TempDir(), debianAWS, append([]string{"--endpoint-url", s.Endpoint(), "--output", "text"}, args...)...)
			if err != nil {
				t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, errOut)
			}
			return strings.TrimSpace(out)
		}
		id := cli("autoscaling", "start-instance-refresh", "--auto-scaling-group-name", group,
			"--desired-configuration", `{"LaunchTemplate":{"LaunchTemplateName":"`+group+`-lt","Version":"2"}}`,
			"--preferences", `{"MinHealthyPercentage":66,"InstanceWarmup":2}`, "--query", "InstanceRefreshId")
		// Each CLI call starts a Python interpreter (about a second here):
		// the refresh is watched through the CLI until it ends, and the
		// progress it showed on the way is kept.
		var seen []string
		deadline := time.Now().Add(2 * time.Minute)
		for {
			row := cli("autoscaling", "describe-instance-refreshes", "--auto-scaling-group-name", group, "--instance-refresh-ids", id,
				"--query", "InstanceRefreshes[0].[Status,PercentageComplete,InstancesToUpdate]")
			if len(seen) == 0 || seen[len(seen)-1] != row {
				seen = append(seen, row)
			}
			if strings.HasPrefix(row, "Successful") || strings.HasPrefix(row, "Failed") || time.Now().After(deadline) {
				break
			}
		}
		if last := seen[len(seen)-1]; strings.Join(strings.Fields(last), " ") != "Successful 100 0" {
			t.Fatalf("describe-instance-refreshes ended at %q; saw %q", last, seen)
		}
		t.Logf("describe-instance-refreshes showed %q", seen)
		// A 2 s warm-up per batch: the CLI sees the refresh part-way.
		partway := false
		for _, row := range seen {
			f := strings.Fields(row)
			partway = partway || (len(f) == 3 && f[0] == "InProgress" && f[1] != "0" && f[1] != "100")
		}
		if !partway {
			t.Errorf("describe-instance-refreshes never showed the refresh part-way: %q", seen)
		}
		if g := s.Region().AutoScalingGroups(); len(g) != 1 || g[0].LaunchTemplateVersion != "2" {
			t.Errorf("the group after the CLI's refresh: %+v", g)
		}
	})
}
