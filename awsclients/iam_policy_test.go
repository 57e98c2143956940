package awsclients_test

// TestIAMPolicy keeps configs/iam-policy.json in sync with the AWS calls the
// code makes, in both directions: every action the code needs is granted,
// and every granted action is needed (least privilege).
//
// How the calls are found: the test type-checks with go/types every
// non-test package of the module outside sandbox/ (the server side) that
// depends on an SDK service package. The module's own files are parsed and
// checked from source; everything outside the module comes from the
// compiler export data that `go list -export -deps` reports (the build
// cache, so the scan takes about a second; type-checking the SDK from
// source with the "source" importer would be far slower, ec2 alone is
// huge). With type information no naming convention is assumed: a call
// through the awsclients.Clients fields (c.EC2, c.ASG, c.ELB, c.RDS,
// c.STS), through a bare *ec2.Client, a method value, a paginator, a waiter
// or an interface over a client is recognised by its types, not its
// spelling. A file that imports an SDK service package or awsclients but
// was not type-checked (a build-tagged file, a directory go list does not
// see) fails the test, so nothing escapes the scan silently.
//
// A use of an SDK operation is recognised by its input type: every
// operation <Op> of service package <svc> takes a *<svc>.<Op>Input.
//
//   - a method of a type of a service package (*ec2.Client, a waiter's
//     Wait, an <Op>APIClient interface) with a *<svc>.<Op>Input parameter
//     uses <Op>;
//   - a method of any other type named <Op> with a *<svc>.<Op>Input
//     parameter (an interface wrapping the client) uses <Op>;
//   - a function of a service package with a *<svc>.<Op>Input or an
//     <svc>.<Op>APIClient parameter (New<Op>Paginator, New<X>Waiter) uses
//     <Op>: a paginator or waiter calls the operation when it runs;
//   - a TagSpecifications field of an ec2 input (tag-on-create) needs
//     ec2:CreateTags, although the code never calls CreateTags.
//
// Methods without an input (Client.Options) and NewFromConfig are not
// operations and are ignored.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/constant"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

const (
	sdkServicePrefix = "github.com/aws/aws-sdk-go-v2/service/"
	policyFile       = "configs/iam-policy.json" // relative to the module root
)

// iamPrefix maps an aws-sdk-go-v2 service package (the path element after
// service/) to its IAM service prefix. They differ for ELBv2: its API is
// elasticloadbalancingv2 but its IAM actions are elasticloadbalancing:*
// (elasticloadbalancing:DescribeTargetHealth). A service missing here fails
// the test, so its prefix is checked by a person rather than guessed.
var iamPrefix = map[string]string{
	"autoscaling":            "autoscaling",
	"cloudwatch":             "cloudwatch",
	"ec2":                    "ec2",
	"ecs":                    "ecs",
	"elasticloadbalancingv2": "elasticloadbalancing",
	"iam":                    "iam", // iam:PassRole, implied by role ARNs given to ECS (no iam client)
	"rds":                    "rds",
	"sts":                    "sts",
}

// actionRenames maps "<iam-prefix>:<SDK operation>" to the IAM action that
// authorizes it, for the operations whose IAM action is not named after the
// operation. Every operation gameday calls today is named like its action
// (only the ELBv2 prefix differs, above), so this is empty; an example of
// an entry would be "s3:ListObjectsV2": "s3:ListBucket".
var actionRenames = map[string]string{}

// use is one place the code needs an action.
type use struct {
	pos  token.Position
	kind string // call | paginator/waiter | tag-on-create
}

// scan is what the type-checked module reveals.
type scan struct {
	uses      map[string][]use // IAM action → where it is needed
	tagKeys   map[string]bool  // string constants "gameday:..." (tag keys)
	checked   map[string]bool  // absolute paths of the type-checked files
	unmapped  []string         // service packages missing from iamPrefix
	typeErrs  []string
	moduleDir string
	awsPkg    string // import path of awsclients
}

func TestIAMPolicy(t *testing.T) {
	s := scanModule(t)
	pol := loadPolicy(t, filepath.Join(s.moduleDir, policyFile))

	if len(s.unmapped) > 0 {
		t.Errorf("service packages with no IAM prefix in iamPrefix (add them): %s", strings.Join(s.unmapped, ", "))
	}

	// Not vacuous: the scan must see the calls we know are there, including
	// one made only through paginators and one only implied by tags.
	for _, a := range []string{
		"ec2:TerminateInstances",
		"rds:RebootDBInstance",
		"rds:FailoverDBCluster",
		"autoscaling:SetDesiredCapacity",
		"elasticloadbalancing:DescribeTargetHealth",
		"sts:GetCallerIdentity",
		"ec2:DescribeNetworkAcls", // also through NewDescribeNetworkAclsPaginator
		"ec2:CreateTags",          // CreateNetworkAcl with TagSpecifications
	} {
		if len(s.uses[a]) == 0 {
			t.Errorf("the scan did not find %s: the call detection is broken", a)
		}
	}

	var missing, unused []string
	for _, a := range sortedKeys(s.uses) {
		if !pol.actions[a] {
			var where []string
			for _, u := range s.uses[a] {
				where = append(where, fmt.Sprintf("%s:%d (%s)", u.pos.Filename, u.pos.Line, u.kind))
			}
			missing = append(missing, fmt.Sprintf("  %s  used at %s", a, strings.Join(where, ", ")))
		}
	}
	for _, a := range sortedKeys(pol.actions) {
		if len(s.uses[a]) == 0 {
			unused = append(unused, "  "+a)
		}
	}
	if len(missing) > 0 {
		t.Errorf("%s does not grant actions the code uses (add them to the statement for their purpose, see docs/iam.md):\n%s",
			policyFile, strings.Join(missing, "\n"))
	}
	if len(unused) > 0 {
		t.Errorf("%s grants actions no code uses (remove them: least privilege):\n%s", policyFile, strings.Join(unused, "\n"))
	}

	// Conditions on tags must name tag keys the code really sets, or the
	// conditioned calls would be denied.
	if len(s.tagKeys) == 0 {
		t.Errorf("found no \"gameday:\" tag-key constants in the module")
	}
	for _, k := range pol.tagConditionKeys {
		_, tag, _ := strings.Cut(k, "/")
		if !s.tagKeys[tag] {
			t.Errorf("%s: condition key %s names tag %q, which no gameday constant defines (have %s)",
				policyFile, k, tag, strings.Join(sortedKeys(s.tagKeys), ", "))
		}
	}

	if testing.Verbose() {
		for _, a := range sortedKeys(s.uses) {
			var where []string
			for _, u := range s.uses[a] {
				where = append(where, fmt.Sprintf("%s:%d", u.pos.Filename, u.pos.Line))
			}
			t.Logf("found %-46s %s", a, strings.Join(where, " "))
		}
	}
}

// TestIAMDetector checks the detection rules on a synthetic package, so a
// change in how the repository calls AWS cannot hide a blind spot.
func TestIAMDetector(t *testing.T) {
	const src = `package probe

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
)

type subnetsAPI interface {
	DescribeSubnets(context.Context, *ec2.DescribeSubnetsInput, ...func(*ec2.Options)) (*ec2.DescribeSubnetsOutput, error)
}

func f(ctx context.Context, c *ec2.Client, a subnetsAPI, api ec2.DescribeVpcsAPIClient, e *elb.Client) {
	_ = ec2.NewDescribeInstancesPaginator(c, &ec2.DescribeInstancesInput{})
	_ = ec2.NewVolumeAvailableWaiter(c)
	_, _ = a.DescribeSubnets(ctx, nil)
	_, _ = api.DescribeVpcs(ctx, nil)
	terminate := c.TerminateInstances
	_ = terminate
	_, _ = e.DescribeTargetHealth(ctx, nil)
	_ = c.Options()
	_ = &ec2.CreateVpcInput{TagSpecifications: nil}
	_ = &ecs.RegisterTaskDefinitionInput{Tags: nil, TaskRoleArn: nil}
	var task ecstypes.Task
	_ = task.Tags
}
`
	s := &scan{uses: map[string][]use{}, tagKeys: map[string]bool{}, checked: map[string]bool{}}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "probe.go", src, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	root := moduleRoot(t)
	exports := exportData(t, root, []string{
		sdkServicePrefix + "ec2", sdkServicePrefix + "elasticloadbalancingv2",
		sdkServicePrefix + "ecs", sdkServicePrefix + "ecs/types",
	})
	s.check(fset, newImporter(fset, exports), "probe", []*ast.File{f}, true)
	if len(s.typeErrs) > 0 {
		t.Fatalf("type errors:\n%s", strings.Join(s.typeErrs, "\n"))
	}
	got := sortedKeys(s.uses)
	want := []string{
		"ec2:CreateTags",         // TagSpecifications
		"ec2:DescribeInstances",  // paginator
		"ec2:DescribeSubnets",    // interface over the client
		"ec2:DescribeVolumes",    // waiter constructor
		"ec2:DescribeVpcs",       // the SDK's <Op>APIClient interface
		"ec2:TerminateInstances", // method value
		"ecs:TagResource",        // Tags of an ecs input, not of a Task
		"elasticloadbalancing:DescribeTargetHealth",
		"iam:PassRole", // TaskRoleArn given to ECS
	}
	if !slices.Equal(got, want) {
		t.Errorf("detected %v, want %v", got, want)
	}
}

// listed is one package as `go list -deps -export -json` reports it.
type listed struct {
	ImportPath string
	Dir        string
	GoFiles    []string
	CgoFiles   []string
	Export     string
	Deps       []string
	Module     *struct {
		Path string
		Main bool
	}
	Error *struct{ Err string }
}

// scanModule type-checks the module (minus sandbox/ and tests) and collects
// the AWS actions it uses.
//
// The module's packages are checked from source, in dependency order, each
// against the others' checked types; only the packages outside the module
// (the SDK, the standard library) come from export data. go/types keeps
// going past errors, so a package another engineer is halfway through
// editing costs only the expressions that do not type-check (logged), not
// the whole scan; the build itself (go vet, go build) catches those.
func scanModule(t *testing.T) *scan {
	t.Helper()
	root := moduleRoot(t)
	s := &scan{uses: map[string][]use{}, tagKeys: map[string]bool{}, checked: map[string]bool{}, moduleDir: root}

	// -deps lists every package after its dependencies.
	out := goCmd(t, root, "list", "-e", "-export", "-deps",
		"-json=ImportPath,Dir,GoFiles,CgoFiles,Export,Deps,Module,Error", "./...")
	var pkgs []listed
	byPath := map[string]*listed{}
	var modPath string
	for dec := json.NewDecoder(bytes.NewReader(out)); ; {
		var p listed
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("go list: %v", err)
		}
		if p.Module != nil && p.Module.Main {
			modPath = p.Module.Path
		}
		pkgs = append(pkgs, p)
	}
	for i := range pkgs {
		byPath[pkgs[i].ImportPath] = &pkgs[i]
	}
	if modPath == "" {
		t.Fatal("go list reported no package of the main module")
	}
	s.awsPkg = modPath + "/awsclients"
	inModule := func(p *listed) bool { return p.Module != nil && p.Module.Main }
	sandbox := modPath + "/sandbox"

	// Scanned: the module's packages outside sandbox/ that depend on an SDK
	// service package, directly or through awsclients (runner calls
	// c.STS.GetCallerIdentity without importing sts); no other package can
	// call AWS. Needed: those and every package they depend on.
	scanned, needed := map[string]bool{}, map[string]bool{}
	for i := range pkgs {
		p := &pkgs[i]
		if !inModule(p) || p.ImportPath == sandbox || strings.HasPrefix(p.ImportPath, sandbox+"/") ||
			!slices.ContainsFunc(p.Deps, func(d string) bool { return strings.HasPrefix(d, sdkServicePrefix) }) {
			continue
		}
		scanned[p.ImportPath], needed[p.ImportPath] = true, true
		for _, d := range p.Deps {
			needed[d] = true
		}
	}
	exports := map[string]string{}
	for path := range needed {
		p := byPath[path]
		if p == nil || inModule(p) {
			continue
		}
		if p.Error != nil {
			t.Fatalf("go list: dependency %s: %s", path, p.Error.Err)
		}
		exports[path] = p.Export
	}

	fset := token.NewFileSet()
	imp := &moduleImporter{checked: map[string]*types.Package{}, gc: newImporter(fset, exports)}
	for i := range pkgs {
		p := &pkgs[i]
		if !needed[p.ImportPath] || !inModule(p) {
			continue
		}
		var files []*ast.File
		for _, name := range slices.Concat(p.GoFiles, p.CgoFiles) {
			path := filepath.Join(p.Dir, name)
			f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
			if err != nil {
				s.typeErrs = append(s.typeErrs, err.Error())
			}
			if f != nil {
				files = append(files, f)
				s.checked[path] = true
			}
		}
		imp.checked[p.ImportPath] = s.check(fset, imp, p.ImportPath, files, scanned[p.ImportPath])
	}
	if len(s.typeErrs) > 0 {
		t.Logf("the module does not type-check right now (%d errors, e.g. %s): AWS calls inside the broken code are not seen until it builds",
			len(s.typeErrs), s.typeErrs[0])
	}
	for a, us := range s.uses {
		for i := range us {
			if rel, err := filepath.Rel(root, us[i].pos.Filename); err == nil {
				us[i].pos.Filename = filepath.ToSlash(rel)
			}
		}
		s.uses[a] = us
	}
	s.checkCoverage(t, root)
	return s
}

// moduleImporter imports the module's packages from the types checked
// here, the others from export data.
type moduleImporter struct {
	checked map[string]*types.Package
	gc      types.Importer
}

func (m *moduleImporter) Import(path string) (*types.Package, error) {
	if p, ok := m.checked[path]; ok {
		return p, nil
	}
	return m.gc.Import(path)
}

// checkCoverage fails for any non-test .go file outside sandbox/ that
// imports an SDK service package or awsclients but was not type-checked
// above.
func (s *scan) checkCoverage(t *testing.T, root string) {
	t.Helper()
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if path != root && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata" || name == "vendor" ||
				path == filepath.Join(root, "sandbox")) {
				return filepath.SkipDir
			}
			if path != root {
				if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil {
					return filepath.SkipDir // another module
				}
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") || s.checked[path] {
			return nil
		}
		f, _ := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if f == nil {
			return nil // unreadable, or removed meanwhile
		}
		for _, im := range f.Imports {
			if p, _ := strconv.Unquote(im.Path.Value); strings.HasPrefix(p, sdkServicePrefix) || p == s.awsPkg {
				rel, _ := filepath.Rel(root, path)
				t.Errorf("%s imports %s but was not type-checked (build constraints?): its AWS calls are not verified against %s", rel, p, policyFile)
				break
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walk %s: %v", root, err)
	}
}

// check type-checks one package and, if record, records its AWS uses and
// tag keys.
func (s *scan) check(fset *token.FileSet, imp types.Importer, path string, files []*ast.File, record bool) *types.Package {
	info := &types.Info{Uses: map[*ast.Ident]types.Object{}}
	conf := types.Config{
		Importer:    imp,
		FakeImportC: true,
		Error:       func(err error) { s.typeErrs = append(s.typeErrs, err.Error()) },
	}
	pkg, _ := conf.Check(path, fset, files, info)
	if !record {
		return pkg
	}
	if pkg != nil {
		for _, name := range pkg.Scope().Names() {
			if c, ok := pkg.Scope().Lookup(name).(*types.Const); ok && c.Val().Kind() == constant.String {
				if v := constant.StringVal(c.Val()); strings.HasPrefix(v, "gameday:") {
					s.tagKeys[v] = true
				}
			}
		}
	}
	for id, obj := range info.Uses {
		var ops []string
		var svc, kind string
		switch obj := obj.(type) {
		case *types.Func:
			sig, ok := obj.Type().(*types.Signature)
			if !ok {
				continue
			}
			if recv := sig.Recv(); recv != nil {
				inSvc, isSvc := servicePkg(namedPkg(recv.Type()))
				for _, op := range inputOps(sig) {
					if isSvc && op.svc == inSvc || op.name == obj.Name() {
						ops, svc, kind = append(ops, op.name), op.svc, "call"
					}
				}
			} else if name, ok := servicePkg(obj.Pkg()); ok {
				for _, op := range inputOps(sig) {
					if op.svc == name {
						ops, svc, kind = append(ops, op.name), name, "paginator/waiter"
					}
				}
			}
		case *types.Var:
			// Tags given at creation are authorized as ec2:CreateTags.
			if name, ok := servicePkg(obj.Pkg()); ok && name == "ec2" && obj.IsField() && obj.Name() == "TagSpecifications" {
				ops, svc, kind = []string{"CreateTags"}, "ec2", "tag-on-create"
			}
			// ECS authorizes the Tags of a creating request (RunTask,
			// RegisterTaskDefinition) as ecs:TagResource, and a role ARN
			// given to ECS as iam:PassRole; only fields of an <Op>Input
			// count (reading a described Task's Tags needs nothing).
			if name, ok := servicePkg(obj.Pkg()); ok && name == "ecs" && obj.IsField() && inputField(obj) {
				switch obj.Name() {
				case "Tags":
					ops, svc, kind = []string{"TagResource"}, "ecs", "tag-on-create"
				case "ExecutionRoleArn", "TaskRoleArn":
					ops, svc, kind = []string{"PassRole"}, "iam", "role passed to ECS"
				}
			}
		}
		for _, op := range slices.Compact(slices.Sorted(slices.Values(ops))) {
			prefix, ok := iamPrefix[svc]
			if !ok {
				if !slices.Contains(s.unmapped, svc) {
					s.unmapped = append(s.unmapped, svc)
				}
				continue
			}
			action := prefix + ":" + op
			if r, ok := actionRenames[action]; ok {
				action = r
			}
			s.uses[action] = append(s.uses[action], use{pos: fset.Position(id.Pos()), kind: kind})
		}
	}
	for _, us := range s.uses {
		sort.Slice(us, func(i, j int) bool {
			a, b := us[i].pos, us[j].pos
			return a.Filename < b.Filename || a.Filename == b.Filename && a.Line < b.Line
		})
	}
	return pkg
}

type op struct{ svc, name string }

// inputOps returns the operations whose input a signature takes: a
// *<svc>.<Op>Input parameter, or an <svc>.<Op>APIClient one (the client
// argument of paginator and waiter constructors).
func inputOps(sig *types.Signature) []op {
	var ops []op
	for i := range sig.Params().Len() {
		typ := sig.Params().At(i).Type()
		suffix := "APIClient"
		if p, ok := typ.(*types.Pointer); ok {
			typ, suffix = p.Elem(), "Input"
		}
		n, ok := typ.(*types.Named)
		if !ok {
			continue
		}
		svc, ok := servicePkg(n.Obj().Pkg())
		if name, found := strings.CutSuffix(n.Obj().Name(), suffix); ok && found && name != "" {
			ops = append(ops, op{svc, name})
		}
	}
	return ops
}

// servicePkg reports whether p is an SDK service package
// (github.com/aws/aws-sdk-go-v2/service/<svc>, not its types or internal
// subpackages) and its <svc>.
func servicePkg(p *types.Package) (string, bool) {
	if p == nil {
		return "", false
	}
	name, ok := strings.CutPrefix(p.Path(), sdkServicePrefix)
	if !ok || name == "" || strings.Contains(name, "/") {
		return "", false
	}
	return name, true
}

// namedPkg is the package of the named type t or *t points to, or nil.
func namedPkg(t types.Type) *types.Package {
	if p, ok := t.(*types.Pointer); ok {
		t = p.Elem()
	}
	if n, ok := t.(*types.Named); ok {
		return n.Obj().Pkg()
	}
	return nil
}

// moduleRoot is the directory of the main module's go.mod.
func moduleRoot(t *testing.T) string {
	t.Helper()
	out := strings.TrimSpace(string(goCmd(t, ".", "env", "GOMOD")))
	if out == "" || out == os.DevNull {
		t.Fatal("not in a module")
	}
	return filepath.Dir(out)
}

// exportData maps every dependency of pkgs to its compiler export data.
func exportData(t *testing.T, root string, pkgs []string) map[string]string {
	t.Helper()
	args := append([]string{"list", "-e", "-export", "-deps", "-json=ImportPath,Export,Error"}, pkgs...)
	out := goCmd(t, root, args...)
	m := map[string]string{}
	for dec := json.NewDecoder(bytes.NewReader(out)); ; {
		var p struct {
			ImportPath string
			Export     string
			Error      *struct{ Err string }
		}
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("go list -export: %v", err)
		}
		if p.Error != nil {
			t.Fatalf("go list -export: package %s: %s", p.ImportPath, p.Error.Err)
		}
		m[p.ImportPath] = p.Export
	}
	return m
}

// newImporter imports packages from the export data go list reported.
func newImporter(fset *token.FileSet, exports map[string]string) types.Importer {
	return importer.ForCompiler(fset, "gc", func(path string) (io.ReadCloser, error) {
		f, ok := exports[path]
		if !ok || f == "" {
			return nil, fmt.Errorf("no export data for %q", path)
		}
		return os.Open(f)
	})
}

func goCmd(t *testing.T, dir string, args ...string) []byte {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to list the module's packages: %v", err)
	}
	cmd := exec.Command(goBin, args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, stderr.Bytes())
	}
	return out
}

// policy is the parsed policy document.
type policy struct {
	actions          map[string]bool
	tagConditionKeys []string        // condition keys on tags: aws:ResourceTag/<key>, ...
	conditioned      map[string]bool // action → granted by a statement with a Condition
}

// stringList is an IAM policy value: a string or a list of strings.
type stringList []string

func (l *stringList) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*l = stringList{s}
		return nil
	}
	var ss []string
	if err := json.Unmarshal(b, &ss); err != nil {
		return fmt.Errorf("want a string or a list of strings: %w", err)
	}
	*l = ss
	return nil
}

var (
	actionRE = regexp.MustCompile(`^[a-z0-9-]+:[A-Za-z0-9]+$`) // no wildcards
	sidRE    = regexp.MustCompile(`^[A-Za-z0-9]+$`)
)

// loadPolicy parses and validates the policy document.
func loadPolicy(t *testing.T, path string) policy {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Version   string
		Statement []struct {
			Sid         string
			Effect      string
			Action      stringList
			NotAction   stringList
			Resource    stringList
			NotResource stringList
			Condition   map[string]map[string]stringList
		}
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields() // a misspelt element would be ignored silently
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("%s: %v", policyFile, err)
	}
	if doc.Version != "2012-10-17" {
		t.Errorf("%s: Version is %q, want 2012-10-17", policyFile, doc.Version)
	}
	if len(doc.Statement) == 0 {
		t.Fatalf("%s: no statements", policyFile)
	}
	p := policy{actions: map[string]bool{}, conditioned: map[string]bool{}}
	sids := map[string]bool{}
	for i, st := range doc.Statement {
		where := fmt.Sprintf("%s: Statement[%d] (%s)", policyFile, i, st.Sid)
		if !sidRE.MatchString(st.Sid) || sids[st.Sid] {
			t.Errorf("%s: want a unique alphanumeric Sid saying what the statement is for", where)
		}
		sids[st.Sid] = true
		if st.Effect != "Allow" {
			t.Errorf("%s: Effect %q, want Allow", where, st.Effect)
		}
		if len(st.NotAction) > 0 || len(st.NotResource) > 0 {
			t.Errorf("%s: NotAction/NotResource grant too much; list actions and resources", where)
		}
		if len(st.Action) == 0 || len(st.Resource) == 0 {
			t.Errorf("%s: needs Action and Resource", where)
		}
		for _, a := range st.Action {
			switch {
			case !actionRE.MatchString(a):
				t.Errorf("%s: action %q: want an exact service:Action, no wildcards", where, a)
			case p.actions[a] && (len(st.Condition) == 0 || !p.conditioned[a]):
				// IAM ORs statements: an action may appear in several
				// only when each one narrows it with its own condition
				// (ec2:CreateTags: tag-on-create of a clone, or a lease
				// tag on a subnet).
				t.Errorf("%s: action %s is granted by more than one statement (allowed only when every one has a Condition)", where, a)
			}
			p.actions[a] = true
			p.conditioned[a] = len(st.Condition) > 0
		}
		for _, kv := range st.Condition {
			for k := range kv {
				if strings.Contains(k, "ResourceTag/") || strings.Contains(k, "RequestTag/") {
					p.tagConditionKeys = append(p.tagConditionKeys, k)
				}
			}
		}
	}
	if dec.More() {
		t.Errorf("%s: trailing data after the policy document", policyFile)
	}
	return p
}

// inputField reports whether v is a field of one of its package's <Op>Input
// structs.
func inputField(v *types.Var) bool {
	sc := v.Pkg().Scope()
	for _, n := range sc.Names() {
		if !strings.HasSuffix(n, "Input") {
			continue
		}
		st, ok := sc.Lookup(n).Type().Underlying().(*types.Struct)
		if !ok {
			continue
		}
		for i := range st.NumFields() {
			if st.Field(i) == v {
				return true
			}
		}
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
