package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
	"go.yaml.in/yaml/v3"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"wbd": func() { os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr)) },
	})
}

// TestScripts runs the command-line stories in testdata/script: what an
// operator types and what wbd answers.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:       "testdata/script",
		Cmds:      map[string]func(*testscript.TestScript, bool, []string){"yamldocs": yamlDocs},
		Condition: engineCondition,
	})
}

// engineCondition is [engine]: a Docker engine answers. Under CI a story
// that needs one fails without it rather than skip.
func engineCondition(cond string) (bool, error) {
	if cond != "engine" {
		return false, fmt.Errorf("unknown condition %q", cond)
	}
	engineOnce.Do(func() {
		out, err := exec.Command("docker", "version", "--format", "{{.Server.Version}}").CombinedOutput()
		if err != nil {
			engineErr = fmt.Errorf("no docker engine answers: %v: %s", err, bytes.TrimSpace(out))
		}
	})
	if engineErr != nil && os.Getenv("CI") != "" {
		return false, fmt.Errorf("%w (CI is set: a story that needs the engine fails without it)", engineErr)
	}
	return engineErr == nil, nil
}

var (
	engineOnce sync.Once
	engineErr  error
)

// yamlDocs checks that the last command's stdout is a YAML stream of
// exactly the documents named: `yamldocs testing nigeria` wants two
// mappings whose name is testing, then nigeria, as a YAML reader sees them.
func yamlDocs(ts *testscript.TestScript, neg bool, want []string) {
	if neg {
		ts.Fatalf("unsupported: ! yamldocs")
	}
	dec := yaml.NewDecoder(strings.NewReader(ts.ReadFile("stdout")))
	var got []string
	for {
		var doc struct {
			Name string `yaml:"name"`
		}
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			ts.Fatalf("stdout is not a YAML stream: document %d: %v", len(got)+1, err)
		}
		got = append(got, doc.Name)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		ts.Fatalf("stdout holds %s documents named %q, want %q", strconv.Itoa(len(got)), got, want)
	}
}
