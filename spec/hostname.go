package spec

// LocalName is what wbd calls the default engine, the one an instance
// without host: runs on (DOCKER_HOST, else the local socket), wherever it
// names an engine for an operator: the metrics' host label, the status
// page and /status.json, wbd status (--json too), notifications. No host:
// of the file is spelled so, since it is no URL.
const LocalName = "local"

// HostName is host as wbd names it to an operator: LocalName for "", else
// the endpoint without its user or password.
func HostName(host string) string {
	if host == "" {
		return LocalName
	}
	return redactUserinfo(host)
}
