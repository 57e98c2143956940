// Package kubefake is a loopback stand-in for a Kubernetes cluster, for
// tests of the kubernetes load-generator engine with the real kubectl: an
// API server that speaks the REST endpoints kubectl uses for apply, get and
// delete of pods, secrets and jobs (discovery, create, get, list with label
// and field selectors, delete; JSON only), and a "kubelet" that runs each
// completion index of an Indexed Job as a process on this machine with the
// pod's environment (downward-API annotations, secret keys) resolved.
//
// It is a fake, and says so: no scheduling, no admission, no patch or
// update, no watch events, no ttlSecondsAfterFinished, no pod failure
// policy beyond backoffLimit 0 (a failed pod fails the Job and ends the
// others) and activeDeadlineSeconds. It listens on 127.0.0.1 only.
package kubefake
