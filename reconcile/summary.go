package reconcile

import "fmt"

// Summary is the state of the daemon in a few numbers.
type Summary struct {
	Passes    int // passes over the instances so far
	Instances int
	InSync    int
	Failing   []string // failed or held
	Waiting   []string // pending, locked, unreachable or interrupted
	HostsDown []string
	// ConfigErr: the file as it is now is not in force.
	ConfigErr string
	// Valid: a configuration is in force.
	Valid bool
}

func summarize(s *Status, passes int) Summary {
	sum := Summary{Passes: passes, ConfigErr: s.Config.Error, Valid: !s.Config.Loaded.IsZero()}
	for _, in := range s.Instances {
		if !in.InFile {
			continue
		}
		sum.Instances++
		switch {
		case in.InSync:
			sum.InSync++
		case in.Result == ResultFailed || in.Result == ResultHeld:
			sum.Failing = append(sum.Failing, in.Instance)
		default:
			sum.Waiting = append(sum.Waiting, in.Instance)
		}
	}
	for _, h := range s.Hosts {
		if h.Known && !h.Up {
			sum.HostsDown = append(sum.HostsDown, hostName(h.Host))
		}
	}
	return sum
}

// String is the one line systemd shows as the unit's status.
func (s Summary) String() string {
	if !s.Valid {
		if s.ConfigErr != "" {
			return "no valid configuration: " + s.ConfigErr
		}
		return "waiting for a valid configuration"
	}
	msg := fmt.Sprintf("%d instances, %d in sync", s.Instances, s.InSync)
	if len(s.Failing) > 0 {
		msg += fmt.Sprintf(", %d failing (%s)", len(s.Failing), joinShort(s.Failing))
	}
	if len(s.Waiting) > 0 {
		msg += fmt.Sprintf(", %d waiting (%s)", len(s.Waiting), joinShort(s.Waiting))
	}
	if len(s.HostsDown) > 0 {
		msg += fmt.Sprintf("; engine not answering: %s", joinShort(s.HostsDown))
	}
	if s.ConfigErr != "" {
		msg += "; file invalid, last valid configuration in force"
	}
	return msg
}
