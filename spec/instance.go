package spec

import (
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// A layer is one mapping of instance fields, the defaults section or one
// instance, flattened to keys such as "port", "images.app" and "env.TZ" so
// that an instance overrides defaults field by field and maps merge key by key.
type layer map[string]source

// source is where a value came from: its node and its field path in the file.
type source struct {
	key, node *yaml.Node
	field     string
}

// instanceFields are the fields of defaults and of every instance.
const instanceFields = "host, images, port, app_port, admin, env, secret_env, healthcheck, pull, edge"

var imageKeys = map[string]bool{"app": true, "postgres": true, "redis": true, "admin": true}

func (p *parser) layer(m *yaml.Node, path string) layer {
	l := layer{}
	if m.Kind != yaml.MappingNode {
		if m.Tag != "!!null" {
			p.errorf(m, path, ErrType, "must be a mapping of instance fields (%s), got %s", instanceFields, kind(m))
		}
		return l
	}
	p.eachPair(m, path, func(key, val *yaml.Node, field string) {
		if isNull(val) && nullIsNone[key.Value] {
			return // every entry commented out: none, as if left out
		}
		switch key.Value {
		case "host", "port", "app_port":
			l[key.Value] = source{key, val, field}
		case "healthcheck":
			if val.Kind != yaml.SequenceNode {
				p.errorf(val, field, ErrType, "must be a command as a list, e.g. [/app, healthcheck], got %s", kind(val))
				return
			}
			l[key.Value] = source{key, val, field}
		case "images":
			p.submap(l, val, field, "images", func(k *yaml.Node, f string) bool {
				if !imageKeys[k.Value] {
					p.unknown(k, f, "app, postgres, redis, admin")
					return false
				}
				return true
			})
		case "pull":
			p.pullList(l, key, val, field)
		case "env":
			p.submap(l, val, field, "env", nil)
		case "secret_env":
			p.submap(l, val, field, "secret_env", nil)
		case "admin":
			if val.Kind == yaml.ScalarNode && val.Tag == "!!bool" && strings.EqualFold(val.Value, "false") {
				l["admin"] = source{key, val, field} // explicitly off, even if defaults turn it on
				return
			}
			if val.Kind != yaml.MappingNode {
				p.errorf(val, field, ErrType, "must be {port: N} to run the admin container, or false, got %s", kind(val))
				return
			}
			l["admin"] = source{key, val, field}
			p.submap(l, val, field, "admin", func(k *yaml.Node, f string) bool {
				if k.Value != "port" && k.Value != "email" {
					p.unknown(k, f, "port, email")
					return false
				}
				return true
			})
		case "edge":
			switch {
			case val.Kind == yaml.ScalarNode && val.Tag == "!!bool":
				l["edge"] = source{key, val, field}
			case val.Kind == yaml.MappingNode:
				l["edge"] = source{key, val, field}
				p.submap(l, val, field, "edge", func(k *yaml.Node, f string) bool {
					if k.Value != "drain" {
						p.unknown(k, f, "drain")
						return false
					}
					return true
				})
			default:
				p.errorf(val, field, ErrType, "must be true, false or {drain: 30s}, got %s", kind(val))
			}
		default:
			p.unknown(key, field, instanceFields)
		}
	})
	return l
}

// nullIsNone are the fields whose entries an operator may comment out
// one by one: with none left, YAML reads the field as null, which means
// no entries, as if the field were left out.
var nullIsNone = map[string]bool{"images": true, "admin": true, "env": true, "secret_env": true, "healthcheck": true, "pull": true, "edge": true}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

// submap flattens a nested mapping into l under prefix, keeping the keys ok accepts.
func (p *parser) submap(l layer, m *yaml.Node, field, prefix string, ok func(key *yaml.Node, field string) bool) {
	if m.Kind != yaml.MappingNode {
		p.errorf(m, field, ErrType, "must be a mapping, got %s", kind(m))
		return
	}
	p.eachPair(m, field, func(key, val *yaml.Node, f string) {
		if ok == nil || ok(key, f) {
			l[prefix+"."+key.Value] = source{key, val, f}
		}
	})
}

// merge overlays an instance's layer on the defaults.
func merge(def, inst layer) layer {
	out := layer{}
	for k, v := range def {
		out[k] = v
	}
	if a, ok := inst["admin"]; ok && a.node.Kind == yaml.ScalarNode {
		dropPrefix(out, "admin")
	}
	// edge: false turns off an edge the defaults turn on; edge: true keeps
	// their drain.
	if e, ok := inst["edge"]; ok && e.node.Kind == yaml.ScalarNode && !isTrue(e.node) {
		dropPrefix(out, "edge")
	}
	for k, v := range inst {
		out[k] = v
	}
	return out
}

// dropPrefix deletes field and its subfields from l.
func dropPrefix(l layer, field string) {
	for k := range l {
		if k == field || strings.HasPrefix(k, field+".") {
			delete(l, k)
		}
	}
}

func isTrue(n *yaml.Node) bool { return n.Tag == "!!bool" && strings.EqualFold(n.Value, "true") }

// nameRE is the plan's rule with compose's own on top: a container_name
// has at least two characters.
var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,62}$`)

// ValidName reports whether name can name an instance: it becomes container,
// network and directory names.
func ValidName(name string) bool { return nameRE.MatchString(name) }

// InstanceDir is the directory of instance name under root: its data, its
// compose file and its revisions. A command that reads an instance of a
// root whose file does not parse finds it there too.
func InstanceDir(root, name string) string { return filepath.Join(root, name) }

// instanceSources remembers where an instance's published ports came from.
type instanceSources struct {
	in        *Instance
	port      source
	adminPort source
}

func (p *parser) instances(m *yaml.Node, def layer, root string) []*Instance {
	if m.Kind != yaml.MappingNode {
		if m.Tag != "!!null" {
			p.errorf(m, "instances", ErrType, "must be a mapping of instance name to its fields, got %s", kind(m))
		}
		return nil
	}
	var all []instanceSources
	p.eachPair(m, "instances", func(key, val *yaml.Node, field string) {
		if !nameRE.MatchString(key.Value) {
			p.errorf(key, field, ErrName, "invalid instance name %q: it names containers, a network and a directory, so use 2-63 lowercase letters, digits and '-', starting with a letter or digit", key.Value)
		}
		own := p.layer(val, field)
		in, srcs := p.decode(merge(def, own), own, key, field)
		in.Dir = InstanceDir(root, key.Value)
		all = append(all, srcs)
	})
	p.portConflicts(all)
	p.nameConflicts(m, all)
	out := make([]*Instance, len(all))
	for i, s := range all {
		out[i] = s.in
	}
	return out
}

// decode turns one merged layer into an Instance; own is the instance's
// own layer and key its name in the file, both nil when decoding defaults
// alone, where nothing is required.
func (p *parser) decode(l, own layer, key *yaml.Node, field string) (*Instance, instanceSources) {
	in := &Instance{Env: map[string]string{}, SecretEnv: map[string]string{}}
	if key != nil {
		in.Name, in.Line = key.Value, key.Line
	}
	srcs := instanceSources{in: in}
	if s, ok := l["host"]; ok {
		in.Host = p.host(s)
	}
	if s, ok := l["port"]; ok {
		in.Port, srcs.port = p.port(s.node, s.field), s
	} else if key != nil {
		p.errorf(key, field+".port", ErrRequired, "required: the host port published for the app (set it here or in defaults)")
	}
	if s, ok := l["app_port"]; ok {
		in.AppPort = p.port(s.node, s.field)
	}
	if adminOn(l, own) {
		in.Admin = &Admin{}
		if s, ok := l["admin.port"]; ok {
			in.Admin.Port, srcs.adminPort = p.port(s.node, s.field), s
		} else {
			p.errorf(l["admin"].node, l["admin"].field+".port", ErrRequired, "required: the host port published for the admin container")
		}
		in.Admin.Email = DefaultAdminEmail
		if s, ok := l["admin.email"]; ok {
			in.Admin.Email = p.email(s)
		}
	} else if s, ok := l["admin.email"]; ok && key == nil {
		p.email(s) // a default for instances that turn the admin on
	}
	for _, k := range []string{"app", "postgres", "redis", "admin"} {
		s, ok := l["images."+k]
		if !ok {
			continue
		}
		ref := p.image(s)
		switch k {
		case "app":
			in.Images.App = ref
		case "postgres":
			in.Images.Postgres = ref
		case "redis":
			in.Images.Redis = ref
		case "admin":
			in.Images.Admin = ref
		}
	}
	if _, ok := l["images.app"]; !ok && key != nil {
		p.errorf(key, field+".images.app", ErrRequired, "required: the app image has no default; set it here or in defaults.images.app")
	}
	if e, ok := l["edge"]; ok && (e.node.Kind == yaml.MappingNode || isTrue(e.node)) {
		in.Edge = &Edge{Drain: DefaultEdgeDrain}
		if s, ok := l["edge.drain"]; ok {
			in.Edge.Drain = p.drain(s)
		}
	}
	p.envs(in, l)
	if s, ok := l["healthcheck"]; ok {
		in.Healthcheck = p.command(s)
	}
	in.Pull = p.pulls(l)
	fillDefaults(in)
	return in, srcs
}

// adminOn says whether an instance runs the admin container. Its own
// admin mapping turns it on; the defaults' only with a port, since an
// email alone is not a switch: defaults.admin: {email: ...} gives the
// login of every instance that turns the admin on.
func adminOn(l, own layer) bool {
	if a, ok := l["admin"]; !ok || a.node.Kind != yaml.MappingNode {
		return false // unset, or false
	}
	if o, ok := own["admin"]; ok && o.node.Kind == yaml.MappingNode {
		return true
	}
	_, ok := l["admin.port"]
	return ok
}

func sortedKeys(l layer, prefix string) []string {
	var keys []string
	for k := range l {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}
