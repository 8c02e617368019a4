package spec

import "time"

// Defaults for fields neither an instance nor the defaults section sets; the
// images are the plan's IMAGES_TO_PULL.
const (
	DefaultPostgresImage = "postgres:17.4"
	DefaultRedisImage    = "redis:7-alpine"
	DefaultAdminImage    = "dpage/pgadmin4"
	// DefaultAdminEmail is the admin's login when admin.email is not set.
	DefaultAdminEmail = "admin@example.com"
	DefaultAppPort    = 8000
	// DefaultEdgeDrain is edge.drain when edge is on without one.
	DefaultEdgeDrain = 30 * time.Second
	// MaxEdgeDrain bounds edge.drain: a rollout waits that long.
	MaxEdgeDrain = time.Hour
)

// fillDefaults sets what is still unset after defaults and instance merged.
func fillDefaults(in *Instance) {
	if in.Images.Postgres == "" {
		in.Images.Postgres = DefaultPostgresImage
	}
	if in.Images.Redis == "" {
		in.Images.Redis = DefaultRedisImage
	}
	if in.Images.Admin == "" {
		in.Images.Admin = DefaultAdminImage
	}
	if in.AppPort == 0 {
		in.AppPort = DefaultAppPort
	}
	if in.Env == nil {
		in.Env = map[string]string{}
	}
	if in.SecretEnv == nil {
		in.SecretEnv = map[string]string{}
	}
}
