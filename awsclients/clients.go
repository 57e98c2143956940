package awsclients

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// Clients are the service clients of one target.
type Clients struct {
	EC2 *ec2.Client
	ASG *autoscaling.Client
	ELB *elbv2.Client
	RDS *rds.Client
	STS *sts.Client
	// CW is CloudWatch (alarm and metric probes, alarm stop conditions). It
	// speaks Smithy RPC v2 CBOR, which the sandbox serves too.
	CW *cloudwatch.Client
	// ECS starts and stops load-generator workers (load.generators engine
	// ecs). It speaks awsJson1_1.
	ECS *ecs.Client
}

// New builds every client from one configuration.
func New(cfg aws.Config) *Clients {
	return &Clients{
		EC2: ec2.NewFromConfig(cfg),
		ASG: autoscaling.NewFromConfig(cfg),
		ELB: elbv2.NewFromConfig(cfg),
		RDS: rds.NewFromConfig(cfg),
		STS: sts.NewFromConfig(cfg),
		CW:  cloudwatch.NewFromConfig(cfg),
		ECS: ecs.NewFromConfig(cfg),
	}
}

// LoadAWS loads the default credential chain for a real account: region,
// optional shared-config profile and optional endpoint URL.
func LoadAWS(ctx context.Context, region, profile, endpoint string) (aws.Config, error) {
	opts := []func(*config.LoadOptions) error{config.WithRegion(region)}
	if profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(profile))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS configuration: %w", err)
	}
	if endpoint != "" {
		cfg.BaseEndpoint = aws.String(endpoint)
	}
	return cfg, nil
}
