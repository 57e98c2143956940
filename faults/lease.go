package faults

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"os"
	"os/user"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	asgtypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	rdstypes "github.com/aws/aws-sdk-go-v2/service/rds/types"

	"github.com/gameday-dev/gameday/awsclients"
	"github.com/gameday-dev/gameday/internal/procalive"
)

// Leases: a run that faults a resource first puts a lease tag on it, so
// that another run (another pipeline, another team) neither faults it at
// the same time nor reads one of its faults as the resource's "original"
// state. The lease is a tag on the resource itself:
//
//	gameday:lease:<lease id> = run=<run id>;owner=<user>;host=<host>;pid=<pid>;acq=<unix>;exp=<unix>
//
// Subnets carry it through EC2 CreateTags/DeleteTags, Auto Scaling groups
// through autoscaling CreateOrUpdateTags/DeleteTags, DB instances and
// clusters through rds AddTagsToResource/RemoveTagsFromResource. Each run writes its
// own key, then reads every lease key back: if it sees a live lease of
// another run it deletes its own and refuses. Of two runs racing, the one
// that reads second sees both keys, so at most one goes on (both may
// refuse; the caller retries after a random pause). A lease is live until
// it expires; on this host it is also dead as soon as its process is.
const (
	TagLeasePrefix = "gameday:lease:"
	// TagDecrementPrefix + a terminate fault's token marks, on the group,
	// a decrementing terminate whose capacity has not been given back. It
	// is written before the first decrementing call and deleted after the
	// capacity is given back.
	TagDecrementPrefix = "gameday:decrement:"
)

// Resource is something a fault touches and a lease covers.
type Resource struct {
	Kind string // subnet | auto-scaling-group
	ID   string
}

func (r Resource) String() string { return r.Kind + " " + r.ID }

// Resource kinds.
const (
	ResSubnet     = "subnet"
	ResGroup      = "auto-scaling-group"
	ResDBInstance = "db-instance"
	ResDBCluster  = "db-cluster"
)

// Leaser is implemented by faults whose targets take a lease.
type Leaser interface {
	Leases() []Resource
}

// Lease is one run's claim on resources.
type Lease struct {
	ID       string
	Run      string
	Owner    string
	Host     string
	PID      int
	Acquired time.Time
	Expires  time.Time
}

// NewLease is a lease for run runID held by this process for ttl.
func NewLease(runID string, ttl time.Duration) Lease {
	var b [6]byte
	_, _ = rand.Read(b[:])
	host, _ := os.Hostname()
	owner := os.Getenv("USER")
	if u, err := user.Current(); err == nil && u.Username != "" {
		owner = u.Username
	}
	now := time.Now()
	return Lease{ID: hex.EncodeToString(b[:]), Run: runID, Owner: owner, Host: host, PID: os.Getpid(), Acquired: now, Expires: now.Add(ttl)}
}

// Key is the lease's tag key.
func (l Lease) Key() string { return TagLeasePrefix + l.ID }

// Value is the lease's tag value (at most 256 characters, the EC2 and Auto
// Scaling limit: long run ids, owners and hosts are cut).
func (l Lease) Value() string {
	cut := func(s string, n int) string {
		s = strings.NewReplacer(";", "_", "=", "_").Replace(s)
		if len(s) > n {
			return s[:n]
		}
		return s
	}
	return fmt.Sprintf("run=%s;owner=%s;host=%s;pid=%d;acq=%d;exp=%d",
		cut(l.Run, 96), cut(l.Owner, 32), cut(l.Host, 64), l.PID, l.Acquired.Unix(), l.Expires.Unix())
}

// String names the holder for messages.
func (l Lease) String() string {
	return fmt.Sprintf("run %s (owner %s, host %s, pid %d, lease expires %s)", l.Run, l.Owner, l.Host, l.PID, l.Expires.UTC().Format(time.RFC3339))
}

// ParseLease reads a lease tag; ok is false if key is not a lease key or
// the value is not a lease.
func ParseLease(key, value string) (Lease, bool) {
	id, ok := strings.CutPrefix(key, TagLeasePrefix)
	if !ok || id == "" {
		return Lease{}, false
	}
	l := Lease{ID: id}
	for _, kv := range strings.Split(value, ";") {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "run":
			l.Run = v
		case "owner":
			l.Owner = v
		case "host":
			l.Host = v
		case "pid":
			l.PID, _ = strconv.Atoi(v)
		case "acq":
			n, _ := strconv.ParseInt(v, 10, 64)
			l.Acquired = time.Unix(n, 0)
		case "exp":
			n, _ := strconv.ParseInt(v, 10, 64)
			l.Expires = time.Unix(n, 0)
		}
	}
	return l, !l.Expires.IsZero()
}

// Live reports whether the lease still holds: not expired, and, when it
// was taken on this host, its process still runs.
func (l Lease) Live(now time.Time) bool {
	if !now.Before(l.Expires) {
		return false
	}
	if h, _ := os.Hostname(); l.Host != "" && l.Host == h && l.PID > 0 {
		return l.PID == os.Getpid() || ProcessAlive(l.PID, l.Host, l.Acquired)
	}
	return true
}

// HeldError: a resource is leased by another live run (exit code 2).
type HeldError struct {
	Resource Resource
	Holder   Lease
}

func (e *HeldError) Error() string {
	return fmt.Sprintf("%s is leased by another live gameday run: %s; nothing was done (wait for it to end, or for its lease to expire)", e.Resource, e.Holder)
}

// LeftoverError: a resource still carries what an earlier gameday run
// left behind (a deny-all clone, a decrement not given back), so its
// current state is not its original state (exit code 2).
type LeftoverError struct {
	Resource Resource
	What     string
}

func (e *LeftoverError) Error() string {
	return fmt.Sprintf("%s: %s, left behind by a gameday run that did not finish; run `gameday rollback` (or `gameday rollback --sweep --target EXPERIMENT.yaml` if its journal is lost) first; nothing was done", e.Resource, e.What)
}

// Refused reports whether err is a lease or leftover refusal.
func Refused(err error) bool {
	var h *HeldError
	var l *LeftoverError
	return errors.As(err, &h) || errors.As(err, &l)
}

// ReadLeases returns the lease tags on each resource.
func ReadLeases(ctx context.Context, c *awsclients.Clients, rs []Resource) (map[Resource][]Lease, error) {
	tags, err := readTags(ctx, c, rs)
	if err != nil {
		return nil, err
	}
	out := map[Resource][]Lease{}
	for r, ts := range tags {
		for k, v := range ts {
			if l, ok := ParseLease(k, v); ok {
				out[r] = append(out[r], l)
			}
		}
		slices.SortFunc(out[r], func(a, b Lease) int { return strings.Compare(a.ID, b.ID) })
	}
	return out, nil
}

// readTags returns every tag of each resource; a resource that does not
// exist is an error.
func readTags(ctx context.Context, c *awsclients.Clients, rs []Resource) (map[Resource]map[string]string, error) {
	out := map[Resource]map[string]string{}
	var subnets, groups []string
	for _, r := range rs {
		switch r.Kind {
		case ResSubnet:
			subnets = append(subnets, r.ID)
		case ResGroup:
			groups = append(groups, r.ID)
		case ResDBInstance, ResDBCluster:
			_, tags, err := dbTags(ctx, c, r)
			if err != nil {
				return nil, err
			}
			out[r] = tags
		default:
			return nil, fmt.Errorf("lease: unknown resource kind %q", r.Kind)
		}
	}
	if len(subnets) > 0 {
		p := ec2.NewDescribeSubnetsPaginator(c.EC2, &ec2.DescribeSubnetsInput{SubnetIds: subnets})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return nil, fmt.Errorf("read lease tags of %s: %w", strings.Join(subnets, ", "), err)
			}
			for _, s := range page.Subnets {
				out[Resource{ResSubnet, aws.ToString(s.SubnetId)}] = ec2TagMap(s.Tags)
			}
		}
	}
	if len(groups) > 0 {
		g, err := c.ASG.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: groups})
		if err != nil {
			return nil, fmt.Errorf("read lease tags of group %s: %w", strings.Join(groups, ", "), err)
		}
		for _, x := range g.AutoScalingGroups {
			m := map[string]string{}
			for _, t := range x.Tags {
				m[aws.ToString(t.Key)] = aws.ToString(t.Value)
			}
			out[Resource{ResGroup, aws.ToString(x.AutoScalingGroupName)}] = m
		}
	}
	for _, r := range rs {
		if _, ok := out[r]; !ok {
			return nil, fmt.Errorf("lease: %s not found", r)
		}
	}
	return out, nil
}

// dbTags returns a DB instance's or cluster's ARN and tags.
func dbTags(ctx context.Context, c *awsclients.Clients, r Resource) (string, map[string]string, error) {
	m := map[string]string{}
	if r.Kind == ResDBCluster {
		out, err := c.RDS.DescribeDBClusters(ctx, &rds.DescribeDBClustersInput{DBClusterIdentifier: aws.String(r.ID)})
		if err != nil {
			return "", nil, fmt.Errorf("read lease tags of %s: %w", r, err)
		}
		if len(out.DBClusters) != 1 {
			return "", nil, fmt.Errorf("lease: %s not found", r)
		}
		for _, t := range out.DBClusters[0].TagList {
			m[aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
		return aws.ToString(out.DBClusters[0].DBClusterArn), m, nil
	}
	out, err := c.RDS.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(r.ID)})
	if err != nil {
		return "", nil, fmt.Errorf("read lease tags of %s: %w", r, err)
	}
	if len(out.DBInstances) != 1 {
		return "", nil, fmt.Errorf("lease: %s not found", r)
	}
	for _, t := range out.DBInstances[0].TagList {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return aws.ToString(out.DBInstances[0].DBInstanceArn), m, nil
}

func ec2TagMap(ts []ec2types.Tag) map[string]string {
	m := map[string]string{}
	for _, t := range ts {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return m
}

// CheckHeld returns a *HeldError for the first resource leased by a live
// run other than the lease self (its id; "" for none). It only reads.
func CheckHeld(ctx context.Context, c *awsclients.Clients, rs []Resource, self string) error {
	ls, err := ReadLeases(ctx, c, rs)
	if err != nil {
		return err
	}
	now := time.Now()
	for _, r := range rs {
		for _, l := range ls[r] {
			if l.ID != self && l.Live(now) {
				return &HeldError{Resource: r, Holder: l}
			}
		}
	}
	return nil
}

// Acquire writes l on every resource, then reads the leases back; if
// another live run holds one of them, it deletes its own and returns a
// *HeldError. It tries a few times, pausing a random while between tries,
// so that two runs that both backed off do not both give up.
func Acquire(ctx context.Context, c *awsclients.Clients, rs []Resource, l Lease) error {
	var err error
	for try := range 4 {
		if try > 0 {
			n, _ := rand.Int(rand.Reader, big.NewInt(400))
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Duration(100+n.Int64()) * time.Millisecond):
			}
		}
		if err = CheckHeld(ctx, c, rs, l.ID); err != nil {
			if Refused(err) {
				continue
			}
			return err
		}
		if err = writeLease(ctx, c, rs, l); err != nil {
			_ = Release(context.WithoutCancel(ctx), c, rs, l.ID)
			return err
		}
		if err = CheckHeld(ctx, c, rs, l.ID); err == nil {
			return nil
		}
		if rerr := Release(context.WithoutCancel(ctx), c, rs, l.ID); rerr != nil {
			return errors.Join(err, rerr)
		}
		if !Refused(err) {
			return err
		}
	}
	return err
}

// Renew writes l again (with its new expiry) on every resource.
func Renew(ctx context.Context, c *awsclients.Clients, rs []Resource, l Lease) error {
	return writeLease(ctx, c, rs, l)
}

func writeLease(ctx context.Context, c *awsclients.Clients, rs []Resource, l Lease) error {
	var subnets []string
	for _, r := range rs {
		switch r.Kind {
		case ResSubnet:
			subnets = append(subnets, r.ID)
		case ResGroup:
			if err := setGroupTag(ctx, c, r.ID, l.Key(), l.Value()); err != nil {
				return fmt.Errorf("lease %s: %w", r, err)
			}
		case ResDBInstance, ResDBCluster:
			arn, _, err := dbTags(ctx, c, r)
			if err == nil {
				_, err = c.RDS.AddTagsToResource(ctx, &rds.AddTagsToResourceInput{ResourceName: aws.String(arn), Tags: []rdstypes.Tag{{Key: aws.String(l.Key()), Value: aws.String(l.Value())}}})
			}
			if err != nil {
				return fmt.Errorf("lease %s: %w", r, err)
			}
		}
	}
	if len(subnets) > 0 {
		_, err := c.EC2.CreateTags(ctx, &ec2.CreateTagsInput{Resources: subnets, Tags: []ec2types.Tag{{Key: aws.String(l.Key()), Value: aws.String(l.Value())}}})
		if err != nil {
			return fmt.Errorf("lease subnets %s: %w", strings.Join(subnets, ", "), err)
		}
	}
	return nil
}

// Release deletes the lease id's tag from every resource; resources that
// are gone are skipped.
func Release(ctx context.Context, c *awsclients.Clients, rs []Resource, id string) error {
	if id == "" {
		return nil
	}
	key := TagLeasePrefix + id
	var subnets []string
	var errs []error
	for _, r := range rs {
		switch r.Kind {
		case ResSubnet:
			subnets = append(subnets, r.ID)
		case ResGroup:
			if err := deleteGroupTag(ctx, c, r.ID, key); err != nil {
				errs = append(errs, fmt.Errorf("release lease on %s: %w", r, err))
			}
		case ResDBInstance, ResDBCluster:
			arn, _, err := dbTags(ctx, c, r)
			if err == nil {
				_, err = c.RDS.RemoveTagsFromResource(ctx, &rds.RemoveTagsFromResourceInput{ResourceName: aws.String(arn), TagKeys: []string{key}})
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("release lease on %s: %w", r, err))
			}
		}
	}
	for _, s := range subnets {
		// One call per subnet, so that a deleted subnet does not keep the
		// lease on the others.
		_, err := c.EC2.DeleteTags(ctx, &ec2.DeleteTagsInput{Resources: []string{s}, Tags: []ec2types.Tag{{Key: aws.String(key)}}})
		if err != nil && errCode(err) != "InvalidSubnetID.NotFound" {
			errs = append(errs, fmt.Errorf("release lease on subnet %s: %w", s, err))
		}
	}
	return errors.Join(errs...)
}

func setGroupTag(ctx context.Context, c *awsclients.Clients, group, key, value string) error {
	_, err := c.ASG.CreateOrUpdateTags(ctx, &autoscaling.CreateOrUpdateTagsInput{Tags: []asgtypes.Tag{{
		ResourceId: aws.String(group), ResourceType: aws.String("auto-scaling-group"),
		Key: aws.String(key), Value: aws.String(value), PropagateAtLaunch: aws.Bool(false),
	}}})
	return err
}

func deleteGroupTag(ctx context.Context, c *awsclients.Clients, group, key string) error {
	_, err := c.ASG.DeleteTags(ctx, &autoscaling.DeleteTagsInput{Tags: []asgtypes.Tag{{
		ResourceId: aws.String(group), ResourceType: aws.String("auto-scaling-group"), Key: aws.String(key),
	}}})
	return err
}

// LeasesOf is every resource the faults touch, without repeats.
func LeasesOf(fs []Fault) []Resource {
	var out []Resource
	for _, f := range fs {
		if l, ok := f.(Leaser); ok {
			for _, r := range l.Leases() {
				if !slices.Contains(out, r) {
					out = append(out, r)
				}
			}
		}
	}
	return out
}

// ProcessAlive reports whether pid on host is a gameday process that was
// already running at since (zero: unknown), as procalive.Local judges it.
// A pid on another host counts as alive (nothing here can tell, and a
// lease must not be taken from a live run); this very process does not.
func ProcessAlive(pid int, host string, since time.Time) bool {
	if h, _ := os.Hostname(); host != "" && host != h {
		return true
	}
	return procalive.Local(pid, since)
}
