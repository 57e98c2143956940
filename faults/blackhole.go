package faults

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/gameday-dev/gameday/sandbox/truth"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/gameday-dev/gameday/awsclients"
	"github.com/gameday-dev/gameday/experiments"
	"github.com/gameday-dev/gameday/topology"
)

func init() {
	Register(Kind{
		Name: KindAZBlackhole,
		Doc: "Moves the subnets of `targets.az` (`subnets: all | private | public`) to a " +
			"new deny-all network ACL, tagged so it can be found again, for `duration`. " +
			"Rollback moves every subnet still on it back to its original ACL (the VPC's " +
			"default ACL if the original is gone, with a note) and deletes it.",
		New: newBlackhole,
		Truth: func(_ []string, spec experiments.Fault) Truth {
			az := spec.Targets.AZ
			return Truth{
				CausedBy: func(b Failure) bool {
					switch b.Reason {
					case truth.FailNodeBlackholed:
						return b.AZ == az
					case truth.FailTargetUnreachable, truth.FailTargetTimeout, truth.FailDBUnreachable, truth.FailDBDelayed, truth.FailTargetDelayed:
						return b.AZ == az || b.PeerAZ == az
					case truth.FailNoHealthyTarget:
						return true
					}
					return false
				},
				Context: func(e Change) string {
					if (e.Kind == truth.EventTargetHealth && e.AZ == az && e.From == truth.TargetHealthy) || e.Kind == truth.EventDNS {
						return fmt.Sprintf("%s %s %s → %s", e.Kind, e.Resource, e.From, e.To)
					}
					return ""
				},
			}
		},
		Restore: func(c *awsclients.Clients, name string, dec func(any) error) (Fault, error) {
			f := &blackholeFault{c: c, name: name}
			return f, restoreState(dec, &f.st, &f.st.Applying)
		},
		Fields:   []string{"subnets"},
		Validate: validateBlackhole,
		Guards: func(g experiments.Guards, f *experiments.Fault, add func(field, msg string)) {
			if g.MaxBlackholeDuration > 0 && f.Duration > g.MaxBlackholeDuration {
				add("duration", fmt.Sprintf("%s exceeds guards.max_blackhole_duration (%s); set guards.max_blackhole_duration explicitly to allow it", f.Duration, g.MaxBlackholeDuration))
			}
		},
	})
}

// blackholeSpec is az-blackhole's own YAML.
type blackholeSpec struct {
	Subnets string `mapstructure:"subnets"` // all | private | public
}

func validateBlackhole(x *experiments.Experiment, f *experiments.Fault, add func(field, msg string)) {
	if f.Targets.AZ == "" {
		add("targets.az", "is required: the Availability Zone to blackhole")
	}
	if f.Duration <= 0 {
		add("duration", "must be positive: how long to hold the blackhole")
	}
	var s blackholeSpec
	if validateParams(f, &s, add) {
		switch s.Subnets {
		case "", "all", "private", "public":
		default:
			add("subnets", fmt.Sprintf("unknown %q (all, private, public)", s.Subnets))
		}
	}
	if msg := HeldPastVerify(x, f, "the blackhole"); msg != "" {
		add("duration", msg)
	}
}

// HeldPastVerify says, when a fault held for f.Duration from f.At would
// still be held in the verify period (or after the load), why that is
// refused; "" when it is not. A hold ends before the verify period (and
// so before the load ends); an `after: recovered` hold, whose start is
// only known during the run, is cut there instead (the run says so).
func HeldPastVerify(x *experiments.Experiment, f *experiments.Fault, what string) string {
	if vs := x.Load.Duration - max(x.SteadyState.Verify, 0); f.After == "" && x.Load.Duration > 0 && f.Duration > 0 && f.At+f.Duration > vs {
		end := "the verify period"
		if x.SteadyState.Verify <= 0 {
			end = "the end of the load"
		}
		return fmt.Sprintf("%s would be held until %s, past %s at %s (load.duration %s - steady_state.verify %s): no fault is held after the load or into the verify period",
			what, f.At+f.Duration, end, vs, x.Load.Duration, max(x.SteadyState.Verify, 0))
	}
	return ""
}

// Tags put on the deny-all ACL an az-blackhole creates. TagToken is unique
// per fault, so a rollback can find the clone even if its id was never
// recorded (a crash between CreateNetworkAcl and the journal).
const (
	TagExperiment  = "gameday:experiment" // the run id (experiment name and start time)
	TagFault       = "gameday:fault"
	TagToken       = "gameday:token"
	TagSubnet      = "gameday:subnet"       // comma list, parallel to TagOriginalACL
	TagOriginalACL = "gameday:original-acl" // comma list
)

// BlackholeUndo is the undo record of an az-blackhole fault.
type BlackholeUndo struct {
	VPC          string         `json:"vpc"`
	AZ           string         `json:"az"`
	Tier         string         `json:"tier"` // all | private | public
	Token        string         `json:"token"`
	Run          string         `json:"run,omitempty"`
	Subnets      []SubnetRecord `json:"subnets"`
	Clone        string         `json:"clone_acl,omitempty"` // the deny-all ACL, once created
	Applying     bool           `json:"applying,omitempty"`
	CloneDeleted bool           `json:"clone_deleted,omitempty"`
	Notes        []string       `json:"notes,omitempty"`
}

// SubnetRecord is one subnet of the blackhole: its ACL before Apply, and
// whether Apply moved it to the clone.
type SubnetRecord struct {
	ID          string `json:"id"`
	Public      bool   `json:"public,omitempty"`
	OriginalACL string `json:"original_acl,omitempty"`
	// OriginalAssociation is the association id seen before the replace;
	// association ids change on every replace, so rollback looks the
	// current one up by subnet.
	OriginalAssociation string `json:"original_association,omitempty"`
	Moved               bool   `json:"moved,omitempty"`
	Restored            bool   `json:"restored,omitempty"`
	RestoredTo          string `json:"restored_to,omitempty"`
}

type blackholeFault struct {
	c    *awsclients.Clients
	name string

	op sync.Mutex
	mu sync.Mutex
	st BlackholeUndo
}

func newBlackhole(ctx context.Context, c *awsclients.Clients, topo *topology.Topology, spec experiments.Fault) (Fault, error) {
	az := spec.Targets.AZ
	if az == "" {
		return nil, specErr(spec, "targets.az", "must name the Availability Zone to blackhole (one of %s)", strings.Join(topo.AZs, ", "))
	}
	if !slices.Contains(topo.AZs, az) {
		return nil, specErr(spec, "targets.az", "%q is not an AZ of the target (have %s)", az, strings.Join(topo.AZs, ", "))
	}
	var bs blackholeSpec
	if err := DecodeParams(spec, &bs); err != nil {
		return nil, err
	}
	tier := bs.Subnets
	switch tier {
	case "":
		tier = "all"
	case "all", "private", "public":
	default:
		return nil, specErr(spec, "subnets", "%q is not all, private or public", bs.Subnets)
	}
	if topo.VPCID == "" {
		return nil, specErr(spec, "targets", "the target has no VPC (set target.vpc)")
	}
	var subs []SubnetRecord
	for _, s := range topo.Subnets {
		if s.AZ != az || (tier == "private" && s.Public) || (tier == "public" && !s.Public) {
			continue
		}
		if slices.ContainsFunc(subs, func(r SubnetRecord) bool { return r.ID == s.ID }) {
			continue
		}
		subs = append(subs, SubnetRecord{ID: s.ID, Public: s.Public})
	}
	if len(subs) == 0 {
		return nil, specErr(spec, "subnets", "no %s subnet of the target in %s", tier, az)
	}
	// Another live run's lease first, then leftovers of a run that did not
	// finish (a subnet on a gameday deny-all clone): either way the ACLs
	// read now are not the originals, so refuse before reading them.
	var rs []Resource
	for _, s := range subs {
		rs = append(rs, Resource{ResSubnet, s.ID})
	}
	if err := CheckHeld(ctx, c, rs, ""); err != nil {
		return nil, fmt.Errorf("fault %q: %w", spec.Name, err)
	}
	// Read the current associations: proves the subnets exist and gives
	// the plan the ACLs that will be restored.
	cur, err := currentAssociations(ctx, c, ids(subs))
	if err != nil {
		return nil, fmt.Errorf("fault %q: %w", spec.Name, err)
	}
	for i := range subs {
		a, ok := cur[subs[i].ID]
		if !ok {
			return nil, specErr(spec, "subnets", "subnet %s has no network ACL association", subs[i].ID)
		}
		if a.cloneToken != "" {
			return nil, fmt.Errorf("fault %q: %w", spec.Name, &LeftoverError{Resource: Resource{ResSubnet, subs[i].ID},
				What: fmt.Sprintf("it is on gameday's deny-all network ACL %s (run %s)", a.acl, cmpOr(a.cloneRun, "unknown"))})
		}
		subs[i].OriginalACL, subs[i].OriginalAssociation = a.acl, a.assoc
	}
	var tok [8]byte
	if _, err := rand.Read(tok[:]); err != nil {
		return nil, err
	}
	return &blackholeFault{c: c, name: spec.Name, st: BlackholeUndo{
		VPC: topo.VPCID, AZ: az, Tier: tier, Token: hex.EncodeToString(tok[:]), Subnets: subs,
	}}, nil
}

func ids(subs []SubnetRecord) []string {
	out := make([]string, len(subs))
	for i, s := range subs {
		out[i] = s.ID
	}
	return out
}

// association is a subnet's current ACL; cloneToken and cloneRun are set
// when that ACL is a gameday deny-all clone (tagged gameday:token).
type association struct{ acl, assoc, cloneToken, cloneRun string }

// currentAssociations returns subnet id → its current ACL and association.
func currentAssociations(ctx context.Context, c *awsclients.Clients, subnets []string) (map[string]association, error) {
	out := map[string]association{}
	p := ec2.NewDescribeNetworkAclsPaginator(c.EC2, &ec2.DescribeNetworkAclsInput{
		Filters: []ec2types.Filter{{Name: aws.String("association.subnet-id"), Values: subnets}},
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("describe network ACLs of %s: %w", strings.Join(subnets, ", "), err)
		}
		for _, a := range page.NetworkAcls {
			for _, as := range a.Associations {
				sid := aws.ToString(as.SubnetId)
				if slices.Contains(subnets, sid) {
					as := association{acl: aws.ToString(a.NetworkAclId), assoc: aws.ToString(as.NetworkAclAssociationId)}
					for _, t := range a.Tags {
						switch aws.ToString(t.Key) {
						case TagToken:
							as.cloneToken = aws.ToString(t.Value)
						case TagExperiment:
							as.cloneRun = aws.ToString(t.Value)
						}
					}
					out[sid] = as
				}
			}
		}
	}
	return out, nil
}

func (f *blackholeFault) Name() string { return f.name }

// Leases: the blackholed subnets.
func (f *blackholeFault) Leases() []Resource {
	f.mu.Lock()
	defer f.mu.Unlock()
	var rs []Resource
	for _, s := range f.st.Subnets {
		rs = append(rs, Resource{ResSubnet, s.ID})
	}
	return rs
}

// SetRun names the run the fault belongs to, for the clone's tags.
func (f *blackholeFault) SetRun(id string) { f.update(func(s *BlackholeUndo) { s.Run = id }) }

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
func (f *blackholeFault) Kind() string { return KindAZBlackhole }

func (f *blackholeFault) Resources() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return ids(f.st.Subnets)
}

func (f *blackholeFault) Describe() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	parts := make([]string, len(f.st.Subnets))
	for i, s := range f.st.Subnets {
		tier := "private"
		if s.Public {
			tier = "public"
		}
		parts[i] = fmt.Sprintf("%s (%s, %s)", s.ID, tier, s.OriginalACL)
	}
	return fmt.Sprintf("blackhole %s: move %s subnets %s to a deny-all network ACL in %s", f.st.AZ, f.st.Tier, strings.Join(parts, ", "), f.st.VPC)
}

func (f *blackholeFault) Undo() any {
	f.mu.Lock()
	defer f.mu.Unlock()
	u := f.st
	u.Subnets = slices.Clone(u.Subnets)
	u.Notes = slices.Clone(u.Notes)
	return u
}

// Notes returns what Rollback noticed (an original ACL gone, so the VPC's
// default ACL was used).
func (f *blackholeFault) Notes() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.st.Notes)
}

func (f *blackholeFault) update(fn func(st *BlackholeUndo)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(&f.st)
}

func (f *blackholeFault) subnet(id string, fn func(s *SubnetRecord)) {
	f.update(func(st *BlackholeUndo) {
		for i := range st.Subnets {
			if st.Subnets[i].ID == id {
				fn(&st.Subnets[i])
			}
		}
	})
}

func (f *blackholeFault) Apply(ctx context.Context) error {
	f.op.Lock()
	defer f.op.Unlock()
	st, err := beginApply(&f.mu, f.name, &f.st, &f.st.Applying)
	if err != nil {
		return err
	}
	st.Subnets = slices.Clone(st.Subnets)
	fail := func(format string, args ...any) error {
		return fmt.Errorf("fault %q: "+format, append([]any{f.name}, args...)...)
	}

	// The ACLs as they are now, for the clone's tags (recovery by tag).
	cur, err := currentAssociations(ctx, f.c, ids(st.Subnets))
	if err != nil {
		return fail("%w", err)
	}
	origs := make([]string, len(st.Subnets))
	for i, s := range st.Subnets {
		origs[i] = s.OriginalACL
		if a, ok := cur[s.ID]; ok {
			if a.cloneToken != "" && a.cloneToken != st.Token {
				return fail("subnet %s is on another gameday run's deny-all network ACL %s (run %s); not recording it as the original", s.ID, a.acl, cmpOr(a.cloneRun, "unknown"))
			}
			origs[i] = a.acl
		}
	}
	tags := []ec2types.Tag{
		{Key: aws.String("Name"), Value: aws.String(fmt.Sprintf("gameday-blackhole-%s-%s", st.AZ, st.Token[:8]))},
		{Key: aws.String(TagExperiment), Value: aws.String(cmpOr(st.Run, f.name))},
		{Key: aws.String(TagFault), Value: aws.String(f.name)},
		{Key: aws.String(TagToken), Value: aws.String(st.Token)},
	}
	if sl, ol := strings.Join(ids(st.Subnets), ","), strings.Join(origs, ","); len(sl) <= 256 && len(ol) <= 256 {
		tags = append(tags, ec2types.Tag{Key: aws.String(TagSubnet), Value: aws.String(sl)}, ec2types.Tag{Key: aws.String(TagOriginalACL), Value: aws.String(ol)})
	}
	out, err := f.c.EC2.CreateNetworkAcl(ctx, &ec2.CreateNetworkAclInput{
		VpcId:             aws.String(st.VPC),
		TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeNetworkAcl, Tags: tags}},
	})
	if err != nil {
		return fail("create deny-all network ACL in %s: %w", st.VPC, err)
	}
	clone := aws.ToString(out.NetworkAcl.NetworkAclId)
	f.update(func(s *BlackholeUndo) { s.Clone = clone })

	for _, egress := range []bool{false, true} {
		_, err := f.c.EC2.CreateNetworkAclEntry(ctx, &ec2.CreateNetworkAclEntryInput{
			NetworkAclId: aws.String(clone), RuleNumber: aws.Int32(100), Protocol: aws.String("-1"),
			RuleAction: ec2types.RuleActionDeny, Egress: aws.Bool(egress), CidrBlock: aws.String("0.0.0.0/0"),
		})
		if err != nil {
			return fail("add deny-all entry to %s: %w", clone, err)
		}
	}

	for _, s := range st.Subnets {
		// Look the association up right before replacing it, and record the
		// original ACL first.
		cur, err := currentAssociations(ctx, f.c, []string{s.ID})
		if err != nil {
			return fail("%w", err)
		}
		a, ok := cur[s.ID]
		if !ok {
			return fail("subnet %s has no network ACL association", s.ID)
		}
		if a.acl == clone {
			continue
		}
		if a.cloneToken != "" && a.cloneToken != st.Token {
			// Another run's deny-all clone is not an original: moving on
			// would record it as one (and "restore" the AZ to dark).
			return fail("subnet %s is on another gameday run's deny-all network ACL %s (run %s); not recording it as the original", s.ID, a.acl, cmpOr(a.cloneRun, "unknown"))
		}
		f.subnet(s.ID, func(r *SubnetRecord) { r.OriginalACL, r.OriginalAssociation = a.acl, a.assoc })
		if _, err := f.c.EC2.ReplaceNetworkAclAssociation(ctx, &ec2.ReplaceNetworkAclAssociationInput{
			AssociationId: aws.String(a.assoc), NetworkAclId: aws.String(clone),
		}); err != nil {
			return fail("move subnet %s to %s: %w", s.ID, clone, err)
		}
		f.subnet(s.ID, func(r *SubnetRecord) { r.Moved = true })
	}
	return nil
}

// Rollback moves every planned subnet that is on the clone (looked up
// now, by subnet) back to its original ACL, then deletes the clone. It
// finds the clone by id and by its token tag, so it also works when the
// clone's id was never recorded, and it is a no-op when nothing is left.
func (f *blackholeFault) Rollback(ctx context.Context) error {
	f.op.Lock()
	defer f.op.Unlock()
	st := snapshot(&f.mu, &f.st, func(s *BlackholeUndo) { s.Subnets = slices.Clone(s.Subnets) })
	if !st.Applying || st.CloneDeleted {
		return nil
	}
	fail := func(format string, args ...any) error {
		return fmt.Errorf("fault %q: rollback: "+format, append([]any{f.name}, args...)...)
	}

	// The clones: the recorded one and any tagged with this fault's token.
	clones := map[string]map[string]string{} // clone id → subnet → original ACL (from tags)
	if st.Clone != "" {
		clones[st.Clone] = nil
	}
	if st.Token != "" {
		out, err := f.c.EC2.DescribeNetworkAcls(ctx, &ec2.DescribeNetworkAclsInput{Filters: []ec2types.Filter{
			{Name: aws.String("tag:" + TagToken), Values: []string{st.Token}},
		}})
		if err != nil {
			return fail("find the deny-all ACL: %w", err)
		}
		for _, a := range out.NetworkAcls {
			clones[aws.ToString(a.NetworkAclId)] = originalsFromTags(a.Tags)
		}
	}
	if len(clones) == 0 {
		f.update(func(s *BlackholeUndo) { s.CloneDeleted = true })
		return nil
	}

	cur, err := currentAssociations(ctx, f.c, ids(st.Subnets))
	if err != nil {
		return fail("%w", err)
	}
	var errs []error
	var defACL string
	if len(cur) < len(st.Subnets) {
		// A subnet without an association is gone, or this is not the
		// account (another sandbox behind the same endpoint, another
		// region): every VPC has a default ACL, so if the VPC has none
		// the target cannot be confirmed, and nothing is marked done.
		if defACL, err = f.defaultACL(ctx, st.VPC); err != nil {
			return fail("cannot confirm this is the account the fault was applied in (%v); not marking it rolled back", err)
		}
	}
	for _, s := range st.Subnets {
		a, ok := cur[s.ID]
		if !ok {
			// No association means no subnet: it was deleted meanwhile.
			if s.Moved && !s.Restored {
				f.update(func(u *BlackholeUndo) {
					u.Notes = append(u.Notes, fmt.Sprintf("subnet %s is gone (no network ACL association); nothing to restore", s.ID))
				})
				f.subnet(s.ID, func(r *SubnetRecord) { r.Restored = true })
			}
			continue
		}
		tagged, onClone := clones[a.acl]
		if !onClone {
			continue
		}
		orig := s.OriginalACL
		if _, isClone := clones[orig]; orig == "" || isClone {
			orig = tagged[s.ID]
		}
		to := orig
		var note string
		var err error
		if to != "" {
			_, err = f.c.EC2.ReplaceNetworkAclAssociation(ctx, &ec2.ReplaceNetworkAclAssociationInput{AssociationId: aws.String(a.assoc), NetworkAclId: aws.String(to)})
		}
		if to == "" || errCode(err) == "InvalidNetworkAclID.NotFound" {
			if defACL == "" {
				if defACL, err = f.defaultACL(ctx, st.VPC); err != nil {
					errs = append(errs, fail("subnet %s: %w", s.ID, err))
					continue
				}
			}
			note = fmt.Sprintf("subnet %s: original network ACL %q is gone; moved it to the VPC's default ACL %s", s.ID, orig, defACL)
			to = defACL
			_, err = f.c.EC2.ReplaceNetworkAclAssociation(ctx, &ec2.ReplaceNetworkAclAssociationInput{AssociationId: aws.String(a.assoc), NetworkAclId: aws.String(to)})
		}
		if err != nil {
			errs = append(errs, fail("move subnet %s back to %s: %w", s.ID, to, err))
			continue
		}
		f.update(func(u *BlackholeUndo) {
			if note != "" {
				u.Notes = append(u.Notes, note)
			}
		})
		f.subnet(s.ID, func(r *SubnetRecord) { r.Restored, r.RestoredTo = true, to })
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}

	for id := range clones {
		_, err := f.c.EC2.DeleteNetworkAcl(ctx, &ec2.DeleteNetworkAclInput{NetworkAclId: aws.String(id)})
		if err != nil && errCode(err) != "InvalidNetworkAclID.NotFound" {
			errs = append(errs, fail("delete deny-all ACL %s: %w", id, err))
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	f.update(func(s *BlackholeUndo) { s.CloneDeleted = true })
	return nil
}

func originalsFromTags(tags []ec2types.Tag) map[string]string {
	var subs, origs []string
	for _, t := range tags {
		switch aws.ToString(t.Key) {
		case TagSubnet:
			subs = strings.Split(aws.ToString(t.Value), ",")
		case TagOriginalACL:
			origs = strings.Split(aws.ToString(t.Value), ",")
		}
	}
	out := map[string]string{}
	for i := range min(len(subs), len(origs)) {
		out[subs[i]] = origs[i]
	}
	return out
}

func (f *blackholeFault) defaultACL(ctx context.Context, vpc string) (string, error) {
	out, err := f.c.EC2.DescribeNetworkAcls(ctx, &ec2.DescribeNetworkAclsInput{Filters: []ec2types.Filter{
		{Name: aws.String("vpc-id"), Values: []string{vpc}},
		{Name: aws.String("default"), Values: []string{"true"}},
	}})
	if err != nil {
		return "", fmt.Errorf("find the default ACL of %s: %w", vpc, err)
	}
	if len(out.NetworkAcls) == 0 {
		return "", fmt.Errorf("VPC %s has no default network ACL", vpc)
	}
	return aws.ToString(out.NetworkAcls[0].NetworkAclId), nil
}

// Touches: the subnets it moves to the deny-all ACL.
func (f *blackholeFault) Touches() []Touched {
	return []Touched{{Type: TouchSubnet, IDs: f.Resources()}}
}

// CutsAZ: the AZ whose subnets it blackholes.
func (f *blackholeFault) CutsAZ() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.st.AZ
}
