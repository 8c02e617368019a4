package spec

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"

	"go.yaml.in/yaml/v3"
)

// ParseFile parses data read from the file at path: as Parse, with a
// relative templates directory taken relative to the file's own directory.
func ParseFile(path string, data []byte) (*Config, error) {
	cfg, err := Parse(path, data)
	if err != nil {
		return nil, err
	}
	if cfg.Templates != "" && !filepath.IsAbs(cfg.Templates) {
		abs, err := filepath.Abs(filepath.Join(filepath.Dir(path), cfg.Templates))
		if err != nil {
			return nil, fmt.Errorf("%s: templates: %w", path, err)
		}
		cfg.Templates = abs
	}
	return cfg, nil
}

// Parse parses data as an instances.yaml. name only appears in messages. On
// failure the error is an ErrorList holding every problem in the file.
func Parse(name string, data []byte) (*Config, error) {
	p := &parser{file: name}
	cfg := p.parse(data)
	if len(p.errs) > 0 {
		sortErrors(p.errs)
		return nil, p.errs
	}
	return cfg, nil
}

type parser struct {
	file string
	errs ErrorList
	seen map[Error]bool // errs by value, to say each once
}

func (p *parser) errorf(n *yaml.Node, field string, sentinel error, format string, args ...any) {
	e := &Error{File: p.file, Field: field, Err: sentinel, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line, e.Col = n.Line, n.Column
	}
	// A bad value under defaults is met once per instance; say it once.
	if p.seen[*e] {
		return
	}
	if p.seen == nil {
		p.seen = map[Error]bool{}
	}
	p.seen[*e] = true
	p.errs = append(p.errs, e)
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

func (p *parser) parse(data []byte) *Config {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		e := &Error{File: p.file, Err: ErrSyntax, Msg: err.Error()}
		if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
			e.Line, _ = strconv.Atoi(m[1])
			e.Col, e.Msg = 1, m[2]
		}
		p.errs = append(p.errs, e)
		return nil
	}
	if len(doc.Content) == 0 {
		p.errorf(nil, "", ErrRequired, "file is empty; it needs version: %d, root and instances", Version)
		return nil
	}
	top := resolve(doc.Content[0])
	if top.Kind != yaml.MappingNode {
		p.errorf(top, "", ErrType, "must be a mapping with version, root and instances")
		return nil
	}

	cfg := &Config{File: p.file}
	var version, defaults, instances *yaml.Node
	p.eachPair(top, "", func(key, val *yaml.Node, field string) {
		switch key.Value {
		case "version":
			version = val
		case "root":
			cfg.Root = p.root(val, field)
		case "templates":
			cfg.Templates = p.str(val, field)
			if cfg.Templates == "" {
				p.errorf(val, field, ErrPath, "must name a directory")
			}
		case "defaults":
			defaults = val
		case "instances":
			instances = val
		default:
			p.unknown(key, field, "version, root, templates, defaults, instances")
		}
	})
	p.version(top, version)
	if cfg.Root == "" && !p.has(top, "root") {
		p.errorf(top, "root", ErrRequired, "required: the absolute directory that holds one directory per instance")
	}
	var def layer
	if defaults != nil {
		def = p.layer(defaults, "defaults")
		p.decode(def, nil, "defaults") // report bad defaults even with no instance
	}
	if instances == nil {
		p.errorf(top, "instances", ErrRequired, "required: a mapping of instance name to its fields")
		return cfg
	}
	cfg.Instances = p.instances(instances, def, cfg.Root)
	return cfg
}

// eachPair walks a mapping's keys, reporting duplicates and non-string keys.
func (p *parser) eachPair(m *yaml.Node, path string, fn func(key, val *yaml.Node, field string)) {
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		key, val := resolve(m.Content[i]), resolve(m.Content[i+1])
		field := join(path, key.Value)
		if key.Kind != yaml.ScalarNode {
			p.errorf(key, path, ErrType, "keys must be plain strings")
			continue
		}
		if key.Value == "<<" {
			p.errorf(key, field, ErrUnknownField, "YAML merge keys are not supported; put shared fields under defaults")
			continue
		}
		if first, ok := seen[key.Value]; ok {
			p.errorf(key, field, ErrDuplicate, "duplicate key, first set at line %d", first.Line)
			continue
		}
		seen[key.Value] = key
		fn(key, val, field)
	}
}

func (p *parser) has(m *yaml.Node, key string) bool {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return true
		}
	}
	return false
}

func (p *parser) unknown(key *yaml.Node, field, known string) {
	p.errorf(key, field, ErrUnknownField, "unknown field %q (known: %s)", key.Value, known)
}

func (p *parser) version(top, n *yaml.Node) {
	if n == nil {
		p.errorf(top, "version", ErrRequired, "required: this wbd reads version: %d", Version)
		return
	}
	if n.Kind != yaml.ScalarNode || n.Value != strconv.Itoa(Version) {
		p.errorf(n, "version", ErrVersion, "unsupported version %q: this wbd reads version: %d", n.Value, Version)
	}
}

func (p *parser) root(n *yaml.Node, field string) string {
	root := p.str(n, field)
	switch {
	case root == "":
		p.errorf(n, field, ErrPath, "must be an absolute directory, got an empty value")
	case !filepath.IsAbs(root):
		p.errorf(n, field, ErrPath, "must be an absolute directory, got %q", root)
	case filepath.Clean(root) != root:
		p.errorf(n, field, ErrPath, "must be a clean path, got %q (did you mean %q?)", root, filepath.Clean(root))
	}
	return root
}

// str returns a scalar's text; null is "".
func (p *parser) str(n *yaml.Node, field string) string {
	if n.Kind != yaml.ScalarNode {
		p.errorf(n, field, ErrType, "must be a string, got %s", kind(n))
		return ""
	}
	if n.Tag == "!!null" {
		return ""
	}
	return n.Value
}

// port returns a port number, reporting anything outside 1-65535.
func (p *parser) port(n *yaml.Node, field string) int {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
		p.errorf(n, field, ErrPort, "must be a port number 1-65535, got %s", describe(n))
		return 0
	}
	v, err := strconv.ParseInt(n.Value, 0, 64)
	if err != nil || v < 1 || v > 65535 {
		p.errorf(n, field, ErrPort, "must be 1-65535, got %s", n.Value)
		return 0
	}
	return int(v)
}

// resolve follows an alias to the node it names.
func resolve(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func kind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "nothing"
		}
		switch n.Tag {
		case "!!int", "!!float":
			return "a number"
		case "!!bool":
			return "a boolean"
		}
		return "a string"
	}
	return "unknown YAML"
}

func describe(n *yaml.Node) string {
	if n.Kind == yaml.ScalarNode && n.Tag != "!!null" {
		return strconv.Quote(n.Value)
	}
	return kind(n)
}
