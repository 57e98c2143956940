package awsapi

// actions maps service → action → handler.
var actions = map[string]map[string]actionDef{
	ServiceEC2:         ec2Actions,
	ServiceAutoScaling: autoscalingActions,
	ServiceELBv2:       elbv2Actions,
	ServiceRDS:         rdsActions,
	ServiceSTS:         stsActions,
}

// Actions returns the actions the handler serves for a service (its
// SigV4 name, e.g. "ec2"), with whether each one changes state.
func Actions(service string) map[string]bool {
	out := map[string]bool{}
	for a, d := range actions[service] {
		out[a] = d.mutating
	}
	return out
}
