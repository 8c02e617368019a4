package spec

import (
	"fmt"
	"net/mail"
	"sort"
	"strings"
	"time"

	"github.com/distribution/reference"
	"go.yaml.in/yaml/v3"
)

// email accepts a bare address, as pgAdmin wants for its login.
func (p *parser) email(s source) string {
	v, ok := p.str(s.node, s.field)
	if !ok {
		return ""
	}
	if a, err := mail.ParseAddress(v); err != nil || a.Address != v || a.Name != "" {
		p.errorf(s.node, s.field, ErrType, "must be an email address such as ops@example.org (pgAdmin's login), got %q", v)
		return ""
	}
	return v
}

// drain reads edge.drain: a duration from 0s (close at once) to an hour.
func (p *parser) drain(s source) time.Duration {
	v, ok := p.str(s.node, s.field)
	if !ok {
		return DefaultEdgeDrain
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 || d > MaxEdgeDrain {
		p.errorf(s.node, s.field, ErrType, "must be a duration from 0s (close at once) to %s, such as 30s, got %q", MaxEdgeDrain, v)
		return DefaultEdgeDrain
	}
	return d
}

func (p *parser) image(s source) string {
	ref, ok := p.str(s.node, s.field)
	if !ok {
		return ""
	}
	if ref == "" {
		p.errorf(s.node, s.field, ErrImage, "must be an image reference such as postgres:17.4, got an empty value")
		return ""
	}
	if _, err := reference.ParseNormalizedNamed(ref); err != nil {
		p.errorf(s.node, s.field, ErrImage, "invalid image reference %q: %v", ref, err)
		return ""
	}
	return ref
}

// composeKeywords begin compose's own healthcheck forms; wbd writes
// [CMD, ...] around the command itself, so a list that starts with one
// names a program called CMD, which no container has.
var composeKeywords = map[string]bool{"CMD": true, "CMD-SHELL": true, "NONE": true}

const commandExample = `e.g. [/app, healthcheck] or [/bin/sh, -c, "curl -fs http://localhost:8000/health"]`

func (p *parser) command(s source) []string {
	if len(s.node.Content) == 0 {
		p.errorf(s.node, s.field, ErrRequired, "must name a command, %s", commandExample)
		return nil
	}
	var argv []string
	for i, n := range s.node.Content {
		n = resolve(n)
		field := fmt.Sprintf("%s[%d]", s.field, i)
		arg, ok := p.str(n, field)
		switch {
		case !ok || i > 0:
		case strings.TrimSpace(arg) == "":
			p.errorf(n, field, ErrType, "must name the program to run, got an empty value; give the command itself, %s", commandExample)
		case composeKeywords[arg]:
			p.errorf(n, field, ErrType, "%s is compose's own keyword and wbd adds CMD itself; give the command itself, %s", arg, commandExample)
		}
		argv = append(argv, arg)
	}
	return argv
}

// portConflicts reports two instances publishing one host port on one host,
// whether as app or admin port.
func (p *parser) portConflicts(all []instanceSources) {
	type use struct {
		host string
		port int
	}
	type owner struct {
		name string
		src  source
	}
	first := map[use]owner{}
	check := func(name, host string, port int, s source) {
		if port == 0 {
			return
		}
		host = CanonicalHost(host)
		u := use{host, port}
		if prev, ok := first[u]; ok {
			p.errorf(s.node, s.field, ErrPortConflict, "instance %s: port %d on %s is already published by instance %s (%s, line %d)",
				name, port, host, prev.name, prev.src.field, prev.src.node.Line)
			return
		}
		first[u] = owner{name, s}
	}
	for _, s := range all {
		check(s.in.Name, s.in.Host, s.in.Port, s.port)
		if s.in.Admin != nil {
			check(s.in.Name, s.in.Host, s.in.Admin.Port, s.adminPort)
		}
	}
}

// sortErrors puts errors in file order; map walks must not change it.
func sortErrors(l ErrorList) {
	sort.SliceStable(l, func(i, j int) bool {
		if l[i].Line != l[j].Line {
			return l[i].Line < l[j].Line
		}
		return l[i].Col < l[j].Col
	})
}

// serviceSuffixes name an instance's other containers: NAME-postgres, ...
var serviceSuffixes = []string{"postgres", "redis", "admin"}

// nameConflicts reports an instance whose app container, named for it,
// would take the name of another instance's service container: instances
// x and x-redis cannot live on one host.
func (p *parser) nameConflicts(m *yaml.Node, all []instanceSources) {
	type key struct{ host, name string }
	hostOf := func(in *Instance) string { return CanonicalHost(in.Host) }
	owner := map[key]string{}
	for _, s := range all {
		for _, suffix := range serviceSuffixes {
			owner[key{hostOf(s.in), s.in.Name + "-" + suffix}] = s.in.Name + "'s " + suffix
		}
		if s.in.Edge != nil {
			owner[key{hostOf(s.in), s.in.Name + "-edge"}] = s.in.Name + "'s edge"
		}
	}
	for _, s := range all {
		if taken, ok := owner[key{hostOf(s.in), s.in.Name}]; ok {
			p.errorf(keyNode(m, s.in.Name), "instances."+s.in.Name, ErrName,
				"instance name %q is the container name of instance %s container; rename one of them", s.in.Name, taken)
		}
	}
}

// keyNode finds the key node naming an instance, for its position.
func keyNode(m *yaml.Node, name string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if k := resolve(m.Content[i]); k.Value == name {
			return k
		}
	}
	return m
}
