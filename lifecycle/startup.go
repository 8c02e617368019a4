package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/docker/compose/v5/pkg/api"
)

// defaultWaitTimeout bounds the wait for running and healthy containers.
const defaultWaitTimeout = 2 * time.Minute

// startResult is what bringing an instance's containers up found.
type startResult struct {
	states   []ServiceState // every service, in start order
	warnings []string
}

// startAll starts p's existing containers in stages, then waits for them:
//
//  1. each optional service (see optionalServices), in dependency order,
//     with what it requires; a failure is a warning;
//  2. every other service, in dependency order (compose waits for
//     service_healthy dependencies); a failure is an error;
//  3. a wait until each container runs, and is healthy when it has a
//     healthcheck; an optional service not ready is a warning.
//
// The error names the services and the state they are in.
func (e *Engine) startAll(ctx context.Context, s *session, p *types.Project, timeout time.Duration) (*startResult, error) {
	if timeout <= 0 {
		timeout = defaultWaitTimeout
	}
	deadline := time.Now().Add(timeout)
	optional := optionalServices(p)
	optErrs, err := startStages(ctx, s, p, optional, deadline)
	if err != nil {
		err = fmt.Errorf("start %s: %w", p.Name, err)
	}
	res := &startResult{}
	var failed []ServiceState
	waitErr := s.run(ctx, "wait", func(ctx context.Context) error {
		states, err := e.waitReady(ctx, s, p.Name, inStartOrder(p.ServiceNames()), max(time.Until(deadline), time.Second))
		res.states = states
		for _, st := range states {
			switch {
			case st.Ready():
			case slices.Contains(optional, st.Service):
				why := st.String()
				if optErrs[st.Service] != nil && st.Error == "" {
					why = fmt.Sprintf("%s: %v", why, optErrs[st.Service])
				}
				s.on(st.event(), api.Warning, "Not started ("+st.Condition()+"), the instance runs without it")
				res.warnings = append(res.warnings, "optional service did not start, the instance runs without it: "+why)
			default:
				s.on(st.event(), api.Error, "Not ready: "+st.Condition())
				failed = append(failed, st)
			}
		}
		return err
	})
	if waitErr != nil {
		return nil, waitErr
	}
	if len(failed) > 0 {
		return res, errors.Join(&NotReadyError{Instance: p.Name, Services: failed}, err)
	}
	return res, err
}

// startStages runs stages 1 and 2 of startAll. It returns why each optional
// service that failed did, and the error of stage 2.
func startStages(ctx context.Context, s *session, p *types.Project, optional []string, deadline time.Time) (map[string]error, error) {
	optErrs := map[string]error{}
	for _, svc := range optional {
		// those that failed are left out: depending on them is optional
		sub, err := p.WithServicesDisabled(keys(optErrs)...).WithSelectedServices([]string{svc})
		if err == nil {
			err = s.compose.Start(ctx, p.Name, api.StartOptions{Project: sub, WaitTimeout: time.Until(deadline)})
		}
		if err != nil {
			optErrs[svc] = err
		}
	}
	rest := p.WithServicesDisabled(optional...)
	return optErrs, s.compose.Start(ctx, p.Name, api.StartOptions{Project: rest, WaitTimeout: time.Until(deadline)})
}
