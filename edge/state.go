package edge

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// StateDir is where the edge keeps its target and its control socket in
// its container. The image makes it, owned by the user the edge runs as.
const StateDir = "/var/lib/wbd-edge"

// Files in StateDir.
const (
	stateFile  = "target.json"
	SocketFile = "ctl.sock"
)

// StatePath is the file that keeps the edge's target in its container:
// wbd reads it through the engine's API, running or not.
const StatePath = StateDir + "/" + stateFile

// State is what the edge keeps in StatePath.
type State struct {
	// Target is host:port; "" sends requests to the default target.
	Target string    `json:"target"`
	Since  time.Time `json:"since"`
}

// ParseState reads the content of StatePath.
func ParseState(data []byte) (State, error) {
	var s State
	if err := json.Unmarshal(data, &s); err != nil {
		return State{}, fmt.Errorf("edge state: %w", err)
	}
	return s, nil
}

// loadState reads the target kept in dir; none when the file is missing.
func loadState(dir string) (State, error) {
	data, err := os.ReadFile(filepath.Join(dir, stateFile))
	if errors.Is(err, fs.ErrNotExist) {
		return State{}, nil
	}
	if err != nil {
		return State{}, err
	}
	return ParseState(data)
}

// saveState keeps target in dir, replacing the file at once (a rename), so
// that a reader or a crash never sees half of it.
func saveState(dir, target string) error {
	data, err := json.Marshal(State{Target: target, Since: time.Now().UTC()})
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, stateFile+".*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(append(data, '\n')); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), filepath.Join(dir, stateFile))
}

// Duration is a time.Duration that reads and writes as "1.5s" in JSON.
type Duration time.Duration

func (d Duration) String() string { return time.Duration(d).String() }

func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}
