// Package awsclients builds the aws-sdk-go-v2 clients gameday uses, from one
// aws.Config, so the sandbox and a real account differ only in endpoint and
// credentials.
package awsclients
