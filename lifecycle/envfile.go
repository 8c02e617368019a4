package lifecycle

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/compose-spec/compose-go/v2/dotenv"
	"github.com/compose-spec/compose-go/v2/types"
)

// readFunc reads a file where the instance's bind mounts resolve; a
// missing file is an error wrapping fs.ErrNotExist.
type readFunc func(ctx context.Context, path string) ([]byte, error)

// missingEnvFile is a required env file that does not exist (yet): an
// instance is planned before it is prepared, and preparing writes its
// secret_env file.
type missingEnvFile struct {
	Service, Path string
}

// envFilesReader reads the env files of p's instance through the engine's
// Files for its root (the directory above the project's): on a Docker host
// that is not this machine, they are there. A read there costs a helper
// container, so what it found is kept in e.remoteEnv, and with kept a file
// read before is taken from there: wbd writes an env file only before an
// Apply, which reads it again.
func (e *Engine) envFilesReader(p *types.Project, kept bool) readFunc {
	return func(ctx context.Context, path string) ([]byte, error) {
		files, err := e.Files(ctx, filepath.Dir(p.WorkingDir))
		if err != nil {
			return nil, err
		}
		if _, remote := files.(*hostFiles); !remote {
			return files.ReadFile(ctx, path)
		}
		e.filesMu.Lock()
		r, ok := e.remoteEnv[path]
		e.filesMu.Unlock()
		if kept && ok {
			return r.data, r.err
		}
		data, err := files.ReadFile(ctx, path)
		if err == nil || errors.Is(err, fs.ErrNotExist) {
			e.filesMu.Lock()
			if e.remoteEnv == nil {
				e.remoteEnv = map[string]readResult{}
			}
			e.remoteEnv[path] = readResult{data, err}
			e.filesMu.Unlock()
		}
		return data, err
	}
}

type readResult struct {
	data []byte
	err  error
}

// withEnvFiles resolves each service's environment as docker compose up
// does (compose-go's WithServicesEnvironmentResolved, discarding env_file):
// variables without a value are looked up in the project's environment,
// each env file is parsed with compose's dotenv parser into the
// environment, and the service's own environment wins over them. render
// leaves env files unread, so that the same config hash comes out here as
// from docker compose run by hand on compose.yaml.
//
// The files' values never appear in an error: a file that does not parse
// is named with the line, not the text.
func withEnvFiles(ctx context.Context, p *types.Project, read readFunc) ([]missingEnvFile, error) {
	var missing []missingEnvFile
	for _, name := range p.ServiceNames() {
		s := p.Services[name]
		s.Environment = s.Environment.Resolve(p.Environment.Resolve)
		env := s.Environment.ToMapping()
		lookup := func(k string) (string, bool) {
			if v, ok := p.Environment.Resolve(k); ok {
				return v, true
			}
			if v, ok := s.Environment[k]; ok && v != nil {
				return *v, true
			}
			return "", false
		}
		for _, f := range s.EnvFiles {
			data, err := read(ctx, f.Path)
			switch {
			case errors.Is(err, fs.ErrNotExist):
				if f.Required {
					missing = append(missing, missingEnvFile{Service: name, Path: f.Path})
				}
				continue
			case err != nil:
				return nil, fmt.Errorf("service %s: env file: %w", name, err)
			}
			if err := dotenv.ParseWithFormat(bytes.NewReader(data), f.Path, env, lookup, f.Format); err != nil {
				return nil, fmt.Errorf("service %s: env file %s: %s", name, f.Path, withoutValues(err, f.Path))
			}
		}
		s.Environment = env.ToMappingWithEquals().OverrideBy(s.Environment)
		s.EnvFiles = nil
		p.Services[name] = s
	}
	return missing, nil
}

var dotenvLine = regexp.MustCompile(`^line \d+`)

// withoutValues is what may be said of a dotenv error: compose's parser
// quotes the offending text, which may be a secret.
func withoutValues(err error, path string) string {
	msg := strings.TrimPrefix(err.Error(), "failed to read "+path+": ")
	if l := dotenvLine.FindString(msg); l != "" {
		return l + ": not a valid env file line"
	}
	return "not a valid env file"
}

// unknownEnv is why a planned service whose container exists cannot be
// compared yet: a required env file of it is missing, so its environment is
// known only once apply has prepared the instance.
func unknownEnv(missing []missingEnvFile, service string) []Change {
	var out []Change
	for _, m := range missing {
		if m.Service == service {
			out = append(out, Change{Field: "env_file", Detail: m.Path + " does not exist yet; apply writes it, then compares"})
		}
	}
	return out
}

// missingError says which required env files do not exist.
func missingError(missing []missingEnvFile) error {
	var errs []error
	for _, m := range missing {
		errs = append(errs, fmt.Errorf("service %s: env file %s: %w", m.Service, m.Path, fs.ErrNotExist))
	}
	return errors.Join(errs...)
}

// nameOf is " NAME" for messages, or "" when the project has no name.
func nameOf(p *types.Project) string {
	if p == nil || p.Name == "" {
		return ""
	}
	return " " + p.Name
}
