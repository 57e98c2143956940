package generators

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/gameday-dev/gameday/faults"
	"github.com/gameday-dev/gameday/internal/procalive"
)

// Leftovers configures StopLeftoversWith.
type Leftovers struct {
	// ConnectECS builds an ECS client for a journaled location (the
	// sandbox's endpoint or an AWS account); nil: ECS workers cannot be
	// stopped (an error that keeps them in the journal).
	ConnectECS func(ctx context.Context, loc faults.Location) (*ecs.Client, error)
	// Wait bounds the wait for one worker's task to reach STOPPED
	// (default 3 min).
	Wait time.Duration
	// Force stops the workers of a run whose coordinator still seems
	// alive (by default they are left to it, and reported).
	Force bool
}

// coordinatorAlive reports whether the process that journaled e still
// runs: on this host, a live gameday process started before e was
// written; on another host nothing can tell, and it counts as alive (as
// faults.ProcessAlive judges a fault journal's).
func coordinatorAlive(e JournalEntry) bool {
	return faults.ProcessAlive(e.PID, e.Host, e.Time)
}

// CoordinatorTag is the TagCoordinator value for this process.
func CoordinatorTag(started time.Time) string {
	host, _ := os.Hostname()
	return fmt.Sprintf("host=%s;pid=%d;start=%d", host, os.Getpid(), started.Unix())
}

// coordinatorLive reports whether a TagCoordinator value names a live
// process on this host (false for another host, where nothing can tell).
func coordinatorLive(v string) bool {
	var host string
	var pid int
	var start int64
	for _, kv := range strings.Split(v, ";") {
		k, val, _ := strings.Cut(kv, "=")
		switch k {
		case "host":
			host = val
		case "pid":
			pid, _ = strconv.Atoi(val)
		case "start":
			start, _ = strconv.ParseInt(val, 10, 64)
		}
	}
	if h, _ := os.Hostname(); host == "" || host != h {
		return false
	}
	return procalive.Local(pid, time.Unix(start, 0))
}

// stopECSLeftover stops a journaled ECS worker: its task by ARN if the
// journal has it, and whatever ListTasks finds under its startedBy.
func stopECSLeftover(ctx context.Context, o Leftovers, clients map[string]*ecs.Client, raw json.RawMessage) (string, error) {
	var ref ECSRef
	if len(raw) == 0 {
		return "", errors.New("no reference journaled (a journal from before engine ecs journaled one)")
	}
	if err := json.Unmarshal(raw, &ref); err != nil {
		return "", err
	}
	if ref.Location.InProcess {
		return "ended with the in-process sandbox that ran it", nil
	}
	if ref.Cluster == "" || ref.StartedBy == "" {
		return "", fmt.Errorf("reference without cluster or startedBy: %s", raw)
	}
	if o.ConnectECS == nil {
		return "", errors.New("this command cannot reach ECS")
	}
	key := ref.Location.Kind + "|" + ref.Location.Region + "|" + ref.Location.Profile + "|" + ref.Location.EndpointURL + "|" + ref.Location.Account
	c := clients[key]
	if c == nil {
		var err error
		if c, err = o.ConnectECS(ctx, ref.Location); err != nil {
			return "", fmt.Errorf("connect to %s %s: %w", ref.Location.Kind, strings.TrimSpace(ref.Location.Region+" "+ref.Location.EndpointURL), err)
		}
		clients[key] = c
	}
	wait := o.Wait
	if wait <= 0 {
		wait = 3 * time.Minute
	}
	sctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	stopped, err := stopECSTasks(sctx, c, ref, "gameday rollback: a worker its run left running", nil)
	if err != nil {
		return "", err
	}
	if len(stopped) == 0 {
		return fmt.Sprintf("no task running (cluster %s, startedBy %s)", ref.Cluster, ref.StartedBy), nil
	}
	return fmt.Sprintf("stopped task %s (cluster %s)", strings.Join(stopped, ", "), ref.Cluster), nil
}

// ECSSwept is one task SweepECS found.
type ECSSwept struct {
	Task, Run, Worker string
	// Skipped says why it was left alone (its coordinator is alive here).
	Skipped string
}

// maxSweepPages bounds ListTasks paging in a sweep (100 tasks a page).
const maxSweepPages = 100

// SweepECS stops every task in cluster that ECS wants running and that
// carries TagManaged=true: workers no journal accounts for (a coordinator
// whose run folder is gone). A task whose TagCoordinator names a live
// process on this host is a live run's and is left alone; one from
// another host is stopped (nothing here can tell whether its coordinator
// lives, and a worker never outlives an unreachable coordinator by more
// than its --give-up anyway). It waits, within ctx, until each is STOPPED.
func SweepECS(ctx context.Context, c *ecs.Client, cluster string) ([]ECSSwept, error) {
	var arns []string
	var token *string
	for page := 0; page < maxSweepPages; page++ {
		var out *ecs.ListTasksOutput
		err := retryAWS(ctx, 5, func() (err error) {
			out, err = c.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String(cluster), DesiredStatus: ecstypes.DesiredStatusRunning, NextToken: token})
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("ListTasks %s: %w", cluster, err)
		}
		arns = append(arns, out.TaskArns...)
		if token = out.NextToken; token == nil {
			break
		}
	}
	var res []ECSSwept
	byARN := map[string]int{}
	skip := func(t ecstypes.Task) bool {
		tags := map[string]string{}
		for _, tg := range t.Tags {
			tags[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
		}
		if tags[TagManaged] != "true" {
			return true // not gameday's
		}
		s := ECSSwept{Task: aws.ToString(t.TaskArn), Run: tags[TagRun], Worker: tags[TagWorker]}
		live := coordinatorLive(tags[TagCoordinator])
		if live {
			s.Skipped = "its coordinator (" + tags[TagCoordinator] + ") is still running"
		}
		if _, seen := byARN[s.Task]; !seen {
			byARN[s.Task] = len(res)
			res = append(res, s)
		}
		return live
	}
	_, err := stopAndWait(ctx, c, cluster, arns, "gameday rollback --sweep: a gameday worker no journal accounts for", skip)
	return res, err
}
