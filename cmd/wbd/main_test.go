package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
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
	testscript.Run(t, testscript.Params{Dir: "testdata/script", Cmds: map[string]func(*testscript.TestScript, bool, []string){
		"yamldocs": yamlDocs,
	}})
}

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
