// Package spec is wbd's file format: instances.yaml, parsed strictly into the
// desired state of every instance, with errors that point at file, line and field.
package spec

import (
	"path/filepath"
	"time"
)

// Version is the only format version this wbd reads.
const Version = 1

// Config is a parsed and validated instances.yaml.
type Config struct {
	// File is the name the config was read from; it only appears in messages.
	File string
	// Root is the absolute directory under which instance NAME lives in Root/NAME.
	Root string
	// Templates is the directory of a user's own compose templates, or "" for
	// wbd's embedded default.
	Templates string
	// Networks is the pool instance networks get their subnets from.
	Networks Networks
	// Instances in file order, defaults already merged in.
	Instances []*Instance
}

// Instance returns the instance called name, or nil.
func (c *Config) Instance(name string) *Instance {
	for _, in := range c.Instances {
		if in.Name == name {
			return in
		}
	}
	return nil
}

// Names lists the instance names in file order.
func (c *Config) Names() []string {
	names := make([]string, len(c.Instances))
	for i, in := range c.Instances {
		names[i] = in.Name
	}
	return names
}

// Instance is the desired state of one instance: one compose project.
type Instance struct {
	Name string
	// Dir is Root/Name, the instance directory holding its bind-mounted data.
	Dir string
	// Host is the Docker endpoint; "" means the local engine.
	Host   string
	Images Images
	// Port is the host port published for the app.
	Port int
	// AppPort is the port the app listens on inside its container.
	AppPort int
	// Admin is nil when the admin container is off.
	Admin *Admin
	// Env is extra app environment.
	Env map[string]string
	// Healthcheck is the app's healthcheck command (exec form); empty keeps
	// the image's own.
	Healthcheck []string
	// SecretEnv maps app environment names to the generated secret each
	// carries (SecretPostgresPassword, SecretPostgresURL). The values never
	// pass through the file or the rendered project: wbd writes them into
	// an env file under the instance's secrets directory.
	SecretEnv map[string]string
	// Pull lists images the instance's app needs that none of its
	// containers runs: pulled with theirs, never run. The defaults' and
	// the instance's own, sorted, each once.
	Pull []string
	// Edge is nil when the app is published directly; otherwise the edge
	// owns the published port and app rollouts start the new container
	// before the old one stops.
	Edge *Edge
	// Line is where the instance is named in the file, for messages.
	Line int
	// Subnet is the subnet its network is created with, given by package
	// subnets from Config.Networks, never written in the file; "" leaves
	// it to Docker.
	Subnet string
}

// Edge runs the edge proxy in front of the app. Drain is how long the
// requests still in flight on an app container the edge switched away from
// get to end before they are closed.
type Edge struct {
	Drain time.Duration `json:"drain"`
}

// Secrets an instance's secret_env can name.
const (
	// SecretPostgresPassword is the generated postgres password.
	SecretPostgresPassword = "postgres_password"
	// SecretPostgresURL is a postgres:// URL to NAME-postgres with the
	// generated password.
	SecretPostgresURL = "postgres_url"
)

// Images are the image references of an instance's services.
type Images struct {
	App      string `json:"app"`
	Postgres string `json:"postgres"`
	Redis    string `json:"redis"`
	Admin    string `json:"admin"`
}

// Admin turns the admin container on and publishes it on Port. Email is
// the login of its first user (pgAdmin's PGADMIN_DEFAULT_EMAIL), whose
// password wbd generates.
type Admin struct {
	Port  int    `json:"port"`
	Email string `json:"email"`
}

// Path returns the absolute path of sub inside the instance directory.
func (in *Instance) Path(sub string) string { return filepath.Join(in.Dir, sub) }
