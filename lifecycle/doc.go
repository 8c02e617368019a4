// Package lifecycle brings a rendered wbd instance — one compose project —
// to a Docker engine, through the docker/compose v5 Go library.
//
// One [Engine] talks to one Docker endpoint. Its steps are level-based: each
// reads what the engine reports now (containers and networks, found by label)
// and acts on the difference with the desired [types.Project]:
//
//   - [Engine.Apply] converges an instance like `docker compose up -d
//     --remove-orphans --wait`, leaving unchanged services untouched;
//   - [Engine.Plan] says what Apply would do, changing nothing;
//   - [Engine.Down] and [Engine.Restart] stop in the order app, admin, redis,
//     postgres (postgres with a 30 s grace);
//   - [Engine.Status], [Engine.Logs], [Engine.Projects] and [Engine.Pull]
//     read and fetch.
//
// # Ownership
//
// wbd acts only on containers and networks that carry both compose's project
// label (com.docker.compose.project=NAME) and wbd's label
// (io.wbd.managed=true). A resource with the project label but without wbd's
// label makes every mutating step refuse with a [*NotOwnedError]; anything
// else on the engine is never looked at twice. Volumes are never removed, and
// bind-mounted data is never touched.
//
// # Legacy instances
//
// The imperative CLI that wbd replaces ran containers named NAME,
// NAME-postgres, NAME-redis and NAME-admin without compose labels, on a
// network named NAME. [Engine.Apply] refuses to start over them with a
// [*LegacyError] unless [ApplyOptions.Adopt] is set; adoption stops and
// removes those containers (their data stays in the bind mounts) and the
// network when nothing else uses it.
//
// # The edge
//
// A project with wbd's edge service in front of its app (see package edge)
// has its app rolled out start-first: [Engine.Apply] starts the new app
// container beside the old one, waits until it is ready and steady, and
// switches the edge to it, which drains the old one, before compose stops
// the old one. A new container that is not ready never gets a request, and
// the error is a [*StartFirstError]. The target the edge keeps in its
// container tells Apply which of the two app containers an interrupted
// rollout left serves. The edge's image is made on each engine from the
// running wbd binary.
//
// # Optional services
//
// A service that others depend on only with `required: false` is optional:
// redis, and in render's default template also admin. When one fails to
// start, Apply and Restart start the others without it and report a warning
// instead of failing.
package lifecycle
