package spec

import (
	"net/url"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

var envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// reservedEnv are the variables the default template sets itself, in the
// app's environment or, for pgAdmin's, in the admin container's.
var reservedEnv = map[string]string{
	"REDIS_URL":                     "it is always redis://NAME-redis:6379",
	"PGHOST":                        "it is always NAME-postgres",
	"PGPORT":                        "it is always 5432",
	"PGUSER":                        "it is always postgres",
	"PGDATABASE":                    "it is always postgres",
	"PORT":                          "set app_port instead",
	"POSTGRES_PASSWORD_FILE":        "wbd generates the password into NAME/secrets/postgres-password",
	"PGADMIN_DEFAULT_EMAIL":         "it is pgAdmin's login, set admin.email instead",
	"PGADMIN_DEFAULT_PASSWORD":      "wbd generates pgAdmin's password into NAME/secrets/admin-password",
	"PGADMIN_DEFAULT_PASSWORD_FILE": "wbd generates pgAdmin's password into NAME/secrets/admin-password",
}

// passwordEnv are the variables that carry the postgres password by name:
// the file may not hold them, secret_env may fill them.
var passwordEnv = map[string]bool{"POSTGRES_PASSWORD": true, "PGPASSWORD": true}

// Secrets secret_env can name, in the order messages list them.
var secretNames = []string{SecretPostgresPassword, SecretPostgresURL}

func (p *parser) envName(name string, s source) bool {
	if !envNameRE.MatchString(name) {
		p.errorf(s.key, s.field, ErrEnv, "invalid variable name %q: use letters, digits and '_', not starting with a digit", name)
		return false
	}
	if why, ok := reservedEnv[name]; ok {
		p.errorf(s.key, s.field, ErrEnv, "%s is set by wbd: %s", name, why)
		return false
	}
	return true
}

func (p *parser) env(name string, s source) (string, bool) {
	if !p.envName(name, s) {
		return "", false
	}
	if passwordEnv[name] {
		p.errorf(s.key, s.field, ErrSecret, "%s is a secret, and secrets never belong in instances.yaml: use secret_env: {%s: %s}, filled from the password wbd generates", name, name, SecretPostgresPassword)
		return "", false
	}
	if s.node.Kind != yaml.ScalarNode {
		p.errorf(s.node, s.field, ErrType, "must be a string, got %s", kind(s.node))
		return "", false
	}
	if s.node.Tag == "!!null" {
		return "", true
	}
	if !p.text(s.node, s.field) {
		return "", false
	}
	if hasPassword(s.node.Value) {
		p.errorf(s.node, s.field, ErrSecret, "is a URL with a password, and secrets never belong in instances.yaml: use secret_env: {%s: %s} or keep the password out of the file", name, SecretPostgresURL)
		return "", false
	}
	return s.node.Value, true
}

// hasPassword reports a URL that carries a password in its userinfo.
func hasPassword(v string) bool {
	if !strings.Contains(v, "@") {
		return false
	}
	u, err := url.Parse(strings.TrimSpace(v))
	if err != nil || u.Scheme == "" || u.User == nil {
		return false
	}
	pw, ok := u.User.Password()
	return ok && pw != ""
}

// secretEnv reads one secret_env entry: a variable name and the generated
// secret it carries.
func (p *parser) secretEnv(name string, s source, env layer) (string, bool) {
	if !p.envName(name, s) {
		return "", false
	}
	if e, ok := env["env."+name]; ok {
		p.errorf(s.key, s.field, ErrEnv, "%s is also set under %s (line %d); set it in one of them", name, e.field, e.key.Line)
		return "", false
	}
	v, ok := p.str(s.node, s.field)
	if !ok {
		return "", false
	}
	if !slices.Contains(secretNames, v) {
		p.errorf(s.node, s.field, ErrSecret, "unknown secret %q: wbd generates %s", v, strings.Join(secretNames, ", "))
		return "", false
	}
	return v, true
}

func (p *parser) envs(in *Instance, l layer) {
	for _, k := range sortedKeys(l, "env.") {
		name := strings.TrimPrefix(k, "env.")
		if v, ok := p.env(name, l[k]); ok {
			in.Env[name] = v
		}
	}
	for _, k := range sortedKeys(l, "secret_env.") {
		name := strings.TrimPrefix(k, "secret_env.")
		if v, ok := p.secretEnv(name, l[k], l); ok {
			in.SecretEnv[name] = v
		}
	}
}
